"""Hugging Face safetensors checkpoints: one file, a sharded index, or a directory.

Headers are parsed by our own strict parser (``_st/header.py``), shards and side files are
resolved safely (``_st/files.py``), and each quantized module (GPTQ, AWQ, bitsandbytes, HQQ,
quanto, compressed-tensors, AQLM, FP8, MLX; EXL2/Marlin/EETQ/SpQR detected) becomes one logical
tensor named as the unquantized checkpoint would name it, shaped ``[out, in]``. Data is
memory-mapped and decoded on ``get``. See ``docs/safetensors.md``.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import LayoutError, QFormatError, UnsupportedError
from ..model import Model, PartInfo, TensorInfo, bits_per_weight
from ._st.common import Logical, Source
from ._st.detect import decode_plain, detect_all, unsupported_error
from ._st.evidence import Evidence
from ._st.files import Checkpoint, open_checkpoint

if TYPE_CHECKING:
    from ..layouts.qtensor import QTensor

__all__ = ["SafetensorsModel", "read_safetensors"]


class _CheckpointSource(Source):
    def __init__(self, ckpt: Checkpoint, path: str) -> None:
        self.ckpt = ckpt
        self.path = path
        self.tensors = ckpt.tensors

    def array(self, name: str) -> np.ndarray:
        return self.ckpt.array(self.ckpt.tensors[name])


class SafetensorsModel(Model):
    """A safetensors checkpoint opened for reading; listing never touches tensor data."""

    format = "safetensors"

    def __init__(self, path: str | os.PathLike[str], *, follow_symlinks: bool = False) -> None:
        super().__init__(os.fspath(path))
        self._ckpt = open_checkpoint(self.path, follow_symlinks=follow_symlinks)
        try:
            self.file_size = self._ckpt.file_size
            first_meta = self._ckpt.shards[0].metadata if self._ckpt.shards else None
            self._evidence = Evidence(self._ckpt.sidecars, first_meta)
            self._source = _CheckpointSource(self._ckpt, self.path)
            logicals, detect_warnings = detect_all(self._ckpt.tensors, self._evidence,
                                                   self.path, self._source)
        except BaseException:
            self._ckpt.close()
            raise
        self._logicals: dict[str, Logical] = {lg.name: lg for lg in logicals}
        self._infos: dict[str, TensorInfo] = {}
        self.warnings = [*self._ckpt.warnings, *self._evidence.warnings, *detect_warnings]
        self.metadata = self._metadata()

    def _metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = {}
        shards = self._ckpt.shards
        if shards and shards[0].metadata is not None:
            meta["__metadata__"] = shards[0].metadata
        others = [s.name for s in shards[1:] if s.metadata != (shards[0].metadata if shards
                                                                 else None)]
        if others:
            meta["__metadata__ differs in"] = others
        if len(shards) > 1:
            meta["shards"] = [s.name for s in shards]
        if self._ckpt.index_metadata is not None:
            meta["index.metadata"] = self._ckpt.index_metadata
        ev = self._evidence
        cfg = ev.config
        for key in ("architectures", "model_type", "torch_dtype", "dtype"):
            if key in cfg:
                meta[f"config.{key}"] = cfg[key]
        if ev.qconfig:
            meta[ev.qsource.replace("config.json ", "config.")] = ev.qconfig
        if ev.mlx:
            meta["config.quantization"] = ev.mlx
        if ev.qmap:
            meta["quanto_qmap.json"] = ev.qmap
        return meta

    # -- listing -------------------------------------------------------------------------------
    def keys(self) -> list[str]:
        return list(self._logicals)

    def __contains__(self, name: object) -> bool:
        return name in self._logicals

    def logical(self, name: str) -> Logical:
        try:
            return self._logicals[name]
        except KeyError:
            raise QFormatError("no such tensor", path=self.path, tensor=name) from None

    def info(self, name: str) -> TensorInfo:
        cached = self._infos.get(name)
        if cached is not None:
            return cached
        lg = self.logical(name)
        tensors = self._ckpt.tensors
        parts = tuple([PartInfo(p, tensors[p].dtype, tensors[p].shape, tensors[p].nbytes)
                       for p in lg.parts])
        nbytes = sum([p.nbytes for p in parts])
        numel = 1
        for dim in lg.shape:
            numel *= dim
        extra = dict(lg.extra)
        if lg.decode is None and not lg.plain and lg.error is None:
            extra.setdefault("dequantize", f"unsupported: {lg.unsupported}")
        info = TensorInfo(
            name=lg.name, shape=tuple(lg.shape), dtype=lg.dtype, method=lg.method,
            bits=lg.bits, group_size=lg.group_size, symmetric=lg.symmetric,
            bits_per_weight=None if lg.error is not None else bits_per_weight(nbytes, numel),
            nbytes=nbytes, parts=parts, extra=extra)
        self._infos[name] = info
        return info

    def quantization(self) -> dict[str, Any]:
        infos = [self.info(k) for k in self.keys()]
        methods = sorted({i.method for i in infos if i.method != "none"})
        labels = Counter(lg.extra.get("label", lg.method) for lg in self._logicals.values()
                         if lg.method != "none")
        total_bytes = sum(i.nbytes for i in infos)
        total_elems = sum(i.numel for i in infos)
        quantized = [i for i in infos if i.method != "none" and i.bits_per_weight is not None]
        q_bytes = sum(i.nbytes for i in quantized)
        q_elems = sum(i.numel for i in quantized)
        return {
            "methods": methods,
            "label": "+".join(lb for lb, _ in labels.most_common()) if labels
            else "unquantized",
            "bits_per_weight": bits_per_weight(total_bytes, total_elems),
            "quantized_bits_per_weight": bits_per_weight(q_bytes, q_elems),
            "evidence": self._evidence.ordered(),
        }

    # -- data ----------------------------------------------------------------------------------
    def get(self, name: str) -> np.ndarray:
        """The tensor dequantized to float32 ``[out, in]`` (read-only view for plain F32)."""
        lg = self.logical(name)
        if lg.error is not None:
            raise lg.error
        if lg.decode is None and not lg.plain:
            raise unsupported_error(lg, self.path)
        try:
            out = decode_plain(lg, self._source) if lg.plain else lg.decode(self._source)
        except QFormatError as exc:
            raise exc.with_context(path=self.path, tensor=name) from None
        except (ValueError, IndexError, TypeError) as exc:
            raise LayoutError(f"stored parts cannot be decoded: {exc}", path=self.path,
                              tensor=name) from None
        if out.dtype != np.float32 or tuple(out.shape) != tuple(lg.shape):
            raise LayoutError("decoded tensor has the wrong shape or dtype", path=self.path,
                              tensor=name, expected=f"float32 {list(lg.shape)}",
                              found=f"{out.dtype} {list(out.shape)}")
        return out

    def raw(self, name: str) -> QTensor:
        """The stored tensor as a QTensor where a qformat layout holds it exactly."""
        lg = self.logical(name)
        if lg.error is not None:
            raise lg.error
        if lg.raw is None:
            raise UnsupportedError("no qformat layout holds this tensor exactly",
                                   path=self.path, tensor=name, field="method",
                                   found=lg.method)
        try:
            return lg.raw(self._source)
        except QFormatError as exc:
            raise exc.with_context(path=self.path, tensor=name) from None

    def close(self) -> None:
        self._ckpt.close()


def read_safetensors(path: str | os.PathLike[str], **options: Any) -> SafetensorsModel:
    """Open a safetensors checkpoint (file, ``*.safetensors.index.json`` or directory).

    Options: ``follow_symlinks=True`` lets shards be symlinks that lead outside the checkpoint
    folder (links into a Hugging Face cache's ``blobs`` folder are always followed).
    """
    unknown = set(options) - {"follow_symlinks"}
    if unknown:
        from ..errors import ArgumentError

        raise ArgumentError("unknown option for the safetensors reader", field="options",
                            expected=["follow_symlinks"], found=sorted(unknown))
    return SafetensorsModel(path, **options)
