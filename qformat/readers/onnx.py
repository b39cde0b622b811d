"""ONNX models: quantization found in the graph, weights decoded on demand.

``read_onnx(path)`` parses the protobuf with the ``onnx`` package (imported here, lazily, never
by ``qformat`` itself), without loading external data: external tensors are read only by
``get``, through :mod:`._onnx.extdata`, which refuses any location that could leave the model's
folder. The listing (``keys``/``info``/``quantization``) reads no weight payload; it reads the
small scale and zero-point tensors to decide symmetry.

Logical names and shapes: the name of the stored quantized tensor (``fc1.weight_quantized``,
the MatMulNBits ``B`` initializer ``fc1.weight_Q4``), in the float shape it dequantizes to
(``[K, N]`` for MatMulNBits). Scales and zero points are parts of their weight and are not
listed separately; quantized activations are reported in ``quantization()["activations"]``.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import numpy as np

from .. import limits
from ..errors import HeaderError, LimitError, QFormatError, UnsupportedError
from ..model import Model, PartInfo, TensorInfo, bits_per_weight
from ._onnx.detect import Affine, Analysis, Entry, GatherBQ, NBits, analyse, op_summary
from ._onnx.graph import Graph, build_graph

__all__ = ["OnnxModel", "read_onnx"]

_FLOAT_LABELS = {"FLOAT16": "onnx/fp16", "BFLOAT16": "onnx/bf16", "FLOAT": "fp32",
                 "DOUBLE": "fp64"}
_SCHEMES = {"onnx-qdq": "qdq", "onnx-qoperator": "qoperator-static",
            "onnx-dynamic": "qoperator-dynamic", "onnx-matmulnbits": "matmulnbits",
            "onnx-gatherblockquantized": "gatherblockquantized"}


def read_onnx(path: str | os.PathLike[str], **options: Any) -> OnnxModel:
    """Open an ONNX model (``.onnx``; external data is read lazily and safely)."""
    if options:
        from ..errors import ArgumentError

        raise ArgumentError("read_onnx takes no options", field="options",
                            found=sorted(options))
    return OnnxModel(path)


def _parse(path: str) -> tuple[Any, int]:
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise UnsupportedError(f"reading ONNX needs the 'onnx' package ({exc}); "
                               "pip install qformat[onnx]", path=path) from None
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > limits.ONNX_MAX_PROTO_BYTES:
                raise LimitError("ONNX protobuf is larger than protobuf's 2 GiB limit",
                                 path=path, field="file_size",
                                 expected=f"<= {limits.ONNX_MAX_PROTO_BYTES}", found=size)
            data = f.read(size + 1)
    except OSError as exc:
        raise UnsupportedError(f"cannot read file: {exc.strerror}", path=path) from None
    if len(data) != size:
        raise HeaderError("file changed while being read", path=path, field="file_size",
                          expected=size, found=len(data))
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as exc:
        raise HeaderError(f"malformed ONNX protobuf (truncated or corrupt): "
                          f"{type(exc).__name__}: {exc}", path=path, field="ModelProto"
                          ) from None
    return model, size


class OnnxModel(Model):
    """An ONNX model opened for reading."""

    format = "onnx"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(os.fspath(path))
        proto, self.file_size = _parse(self.path)
        self._base_dir = os.path.dirname(os.path.abspath(self.path))
        try:
            self._graph: Graph = build_graph(proto, path=self.path, base_dir=self._base_dir,
                                             file_size=self.file_size)
            self._analysis: Analysis = analyse(self._graph, self.path)
        except QFormatError as exc:
            raise exc.with_context(path=self.path) from None
        except (ValueError, TypeError, IndexError, KeyError, OverflowError,
                RecursionError) as exc:  # a safety net: every check above should come first
            raise HeaderError(f"inconsistent ONNX graph: {type(exc).__name__}: {exc}",
                              path=self.path) from None
        self._infos: dict[str, TensorInfo] = {}
        self.metadata = self._metadata(proto)
        for name, why in sorted(self._analysis.fake_quant.items()):
            self.warnings.append(f"{name}: stored as float and quantized in the graph by "
                                 f"{why} (fake quantization); get() returns the stored values")
        for e in self._analysis.entries.values():
            if e.unsupported and e.method == "none":
                self.warnings.append(f"{e.name}: {e.unsupported}")

    # -- the contract --------------------------------------------------------------------------
    def keys(self) -> list[str]:
        return list(self._analysis.entries)

    def close(self) -> None:
        """Drop the parsed model (its memory); the Model cannot be read afterwards."""
        self._closed = True
        self._graph = Graph()
        self._analysis = Analysis({}, {}, {})
        self._infos = {}

    def _entry(self, name: str) -> Entry:
        if getattr(self, "_closed", False):
            raise QFormatError("model is closed", path=self.path, tensor=name)
        e = self._analysis.entries.get(name)
        if e is None:
            raise QFormatError("no such tensor", path=self.path, tensor=name)
        return e

    def info(self, name: str) -> TensorInfo:
        info = self._infos.get(name)
        if info is None:
            try:
                info = self._infos[name] = self._make_info(self._entry(name))
            except QFormatError as exc:
                raise exc.with_context(path=self.path, tensor=name) from None
            except (ValueError, TypeError, IndexError, KeyError, OverflowError) as exc:
                raise HeaderError(f"inconsistent tensor description: {type(exc).__name__}: "
                                  f"{exc}", path=self.path, tensor=name) from None
        return info

    def get(self, name: str) -> np.ndarray:
        e = self._entry(name)
        try:
            return self._decode(e)
        except QFormatError as exc:
            raise exc.with_context(path=self.path, tensor=name) from None
        except (ValueError, TypeError, IndexError, KeyError, OverflowError) as exc:
            raise HeaderError(f"tensor data is inconsistent: {type(exc).__name__}: {exc}",
                              path=self.path, tensor=name) from None

    def raw(self, name: str) -> Any:
        e = self._entry(name)
        from ._onnx.lossless import to_qtensor

        try:
            return to_qtensor(e, self.path)
        except QFormatError as exc:
            raise exc.with_context(path=self.path, tensor=name) from None

    # -- decoding ------------------------------------------------------------------------------
    def _decode(self, e: Entry) -> np.ndarray:
        from ._onnx import dequant
        from ._onnx.types import to_float32

        if e.unsupported:
            raise UnsupportedError(f"cannot dequantize: {e.unsupported}", path=self.path,
                                   tensor=e.name)
        q = e.quant
        if isinstance(q, Affine):
            return dequant.dequant_affine(q)
        if isinstance(q, NBits):
            return dequant.dequant_nbits(q)
        if isinstance(q, GatherBQ):
            return dequant.dequant_gather(q)
        if e.sparse is not None:
            return self._densify(e)
        st = e.stored
        return np.ascontiguousarray(to_float32(st.values(), st.type).reshape(st.dims))

    def _densify(self, e: Entry) -> np.ndarray:
        from ._onnx.tensors import stored_from_proto
        from ._onnx.types import to_float32

        sp = e.sparse
        kw = {"origin": "sparse", "path": self.path, "base_dir": self._base_dir,
              "file_size": self.file_size}
        values = stored_from_proto(sp.values, name=e.name, **kw)
        indices = stored_from_proto(sp.indices, name=e.name + "/indices", **kw)
        shape = e.shape
        n = 1
        for d in shape:
            n *= d
        if n > limits.ONNX_MAX_SPARSE_DENSE_ELEMENTS:
            raise LimitError("sparse tensor is too large to densify", path=self.path,
                             tensor=e.name, field="dims",
                             expected=f"<= {limits.ONNX_MAX_SPARSE_DENSE_ELEMENTS} elements",
                             found=n)
        vals = to_float32(values.values(), values.type).reshape(-1)
        idx = indices.values().astype(np.int64)
        if idx.ndim == 2 and idx.shape[1] == len(shape) and len(shape) > 0:
            flat = np.ravel_multi_index(tuple(idx.T), shape) if idx.size else idx[:, 0]
        elif idx.ndim == 1:
            flat = idx
        else:
            raise HeaderError("sparse indices have the wrong shape", path=self.path,
                              tensor=e.name, field="indices", found=list(idx.shape))
        if flat.shape[0] != vals.shape[0] or (flat.size and (flat.min() < 0 or flat.max() >= n)):
            raise HeaderError("sparse indices out of range or count mismatch", path=self.path,
                              tensor=e.name, field="indices")
        out = np.zeros(n, dtype=np.float32)
        out[flat] = vals
        return out.reshape(shape)

    # -- description ---------------------------------------------------------------------------
    def _make_info(self, e: Entry) -> TensorInfo:
        from ._onnx.types import onnx_type

        parts = []
        for role, st in e.parts:
            parts.append(PartInfo(f"{role}:{st.name}" if role != "data" else st.name,
                                  st.type.short, st.dims, st.nbytes))
        numel = 1
        for d in e.shape:
            numel *= d
        nbytes = sum(p.nbytes for p in parts)
        extra: dict[str, Any] = {"role": e.role}
        if e.ops:
            extra["ops"] = e.ops
        q = e.quant
        if q is None:
            if e.sparse is not None:
                t = onnx_type(e.sparse.values.data_type, path=self.path, tensor=e.name)
                nbytes = t.nbytes(len(e.sparse.values.dims) and int(
                    np.prod(list(e.sparse.values.dims), dtype=np.int64)))
                extra.update(stored_dtype=t.name, sparse=True)
                return TensorInfo(e.name, e.shape, t.short, bits=t.bits, nbytes=nbytes,
                                  bits_per_weight=bits_per_weight(nbytes, numel), extra=extra)
            st = e.stored
            extra.update(stored_dtype=st.type.name, data_location=st.location)
            extra.update(e.notes)
            if e.unsupported:
                extra["unsupported"] = e.unsupported
            return TensorInfo(e.name, e.shape, st.type.short, "none", st.type.bits or None,
                              None, None, bits_per_weight(nbytes, numel), nbytes, tuple(parts),
                              extra)
        codes = q.codes
        extra.update(stored_dtype=codes.type.name, data_location=codes.location,
                     quant_op=e.quant_op, evidence=list(e.evidence))
        extra.update(e.notes)
        if e.unsupported:
            extra["unsupported"] = e.unsupported
        if isinstance(q, Affine):
            bits = codes.type.bits
            group = {"per-tensor": None, "per-channel": -1}.get(q.granularity, q.block_size)
            dtype = q.out_type.short
            extra.update(quantized_type=codes.type.label, granularity=q.granularity,
                         axis=q.axis, block_size=q.block_size)
            if q.scale is not None:
                extra.update(scale=q.scale.name, scale_dtype=q.scale.type.name)
            elif q.scale_factors:
                extra.update(scale="implicit: " + " * ".join(f.name for f in q.scale_factors))
            extra["zero_point"] = q.zero.name if q.zero is not None else None
        elif isinstance(q, NBits):
            bits, group, dtype = q.bits, q.block_size, q.scales.type.short
            extra.update(quantized_type=f"uint{q.bits}", granularity="blocked", axis=0,
                         block_size=q.block_size, K=q.K, N=q.N, k_blocks=q.k_blocks,
                         scale=q.scales.name, scale_dtype=q.scales.type.name,
                         zero_point=q.zero.name if q.zero is not None else None,
                         zero_point_dtype=q.zero.type.name if q.zero is not None else None,
                         g_idx=q.g_idx.name if q.g_idx is not None else None,
                         accuracy_level=q.accuracy_level)
        else:
            bits, group, dtype = q.bits, q.block_size, q.scales.type.short
            qt = codes.type.label if codes.type.name != "UINT8" else f"uint{q.bits}"
            extra.update(quantized_type=qt, granularity="blocked", axis=q.quantize_axis,
                         block_size=q.block_size, gather_axis=q.gather_axis,
                         scale=q.scales.name, scale_dtype=q.scales.type.name,
                         zero_point=q.zero.name if q.zero is not None else None)
        symmetric, negative = self._symmetry(e)
        if negative is not None:
            extra["negative_scales"] = negative
        return TensorInfo(e.name, e.shape, dtype, e.method, bits, group, symmetric,
                          bits_per_weight(nbytes, numel), nbytes, tuple(parts), extra)

    def _symmetry(self, e: Entry) -> tuple[bool | None, int | None]:
        """Symmetric = every zero point sits at the middle of the code range (0 if signed).

        Also counts negative scales (legal: ORT's symmetric 4-bit quantizers write them).
        """
        from ._onnx import dequant
        from ._onnx.types import to_float32

        q = e.quant
        try:
            if isinstance(q, Affine):
                t = q.codes.type
                if t.kind == "float":
                    sym = True
                else:
                    mid = 0 if t.kind == "int" else (1 << (t.bits - 1))
                    z = q.zero.values() if q.zero is not None else np.zeros(1, np.int64)
                    sym = bool(np.all(z.astype(np.int64) == mid))
                scales = q.scale
            elif isinstance(q, NBits):
                if q.codes.numel == 0:  # omitted projection: nothing to read, size by attrs
                    return q.zero is None, None
                z = dequant.effective_zero_points(q)
                sym = bool(np.all(z == (1 << (q.bits - 1))))
                scales = q.scales
            else:
                z = dequant.gather_zero_points(q)
                t = q.codes.type
                mid = 0 if t.kind == "int" else (1 << (q.bits - 1))
                sym = True if z is None else bool(np.all(z == mid))
                scales = q.scales
            neg = None
            if scales is not None:
                neg = int((to_float32(scales.values(), scales.type) < 0).sum())
            return sym, neg
        except QFormatError as exc:
            self.warnings.append(f"{e.name}: cannot read quantization parameters: {exc}")
            return None, None

    # -- model level ---------------------------------------------------------------------------
    def _metadata(self, proto: Any) -> dict[str, Any]:
        def s(value: Any) -> str:
            # invalid UTF-8 in a free-text field is shown escaped, not refused
            return value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) \
                else value

        meta: dict[str, Any] = {
            "ir_version": int(proto.ir_version),
            "producer_name": s(proto.producer_name),
            "producer_version": s(proto.producer_version),
            "domain": s(proto.domain),
            "model_version": int(proto.model_version),
            "doc_string": s(proto.doc_string),
            "graph_name": s(proto.graph.name),
            "opset_import": {("ai.onnx" if o.domain in ("", "ai.onnx") else s(o.domain)):
                             int(o.version) for o in proto.opset_import},
            "metadata_props": {s(p.key): s(p.value) for p in proto.metadata_props},
            "op_counts": dict(sorted(self._graph.op_counts.items())),
        }
        ext = sorted({"/".join(st.external.parts) for st in self._graph.stored.values()
                      if st.external is not None})
        if ext:
            meta["external_data_files"] = ext
        return {k: v for k, v in meta.items() if v not in ("", None, {}, 0) or k == "ir_version"}

    def quantization(self) -> dict[str, Any]:
        entries = self._analysis.entries
        infos = {name: self.info(name) for name in entries}
        methods = sorted({i.method for i in infos.values() if i.method != "none"})
        total_bytes = sum(i.nbytes for i in infos.values())
        total_elems = sum(i.numel for i in infos.values())
        quant = [e for e in entries.values() if e.method != "none"]
        weights = [e for e in quant if e.role == "weight"] or \
            [e for e in quant if e.role == "embedding"] or quant
        groups: dict[str, int] = {}
        first: dict[str, Entry] = {}
        for e in weights:
            lab = self._entry_label(e, infos[e.name])
            groups[lab] = groups.get(lab, 0) + infos[e.name].numel
            first.setdefault(lab, e)
        labels = sorted(groups, key=lambda k: -groups[k])
        for e in quant:  # labels of the other quantized tensors, after the weights'
            lab = self._entry_label(e, infos[e.name])
            if lab not in labels and e.role in ("weight", "embedding"):
                labels.append(lab)
        acts = list(self._analysis.activations.values())
        static = Counter(a.dtype.label for a in acts if not a.dynamic and a.dtype is not None)
        out: dict[str, Any] = {"methods": methods}
        if labels:
            lead = first[labels[0]]
            li = infos[lead.name]
            gran = li.extra.get("granularity")
            if gran == "blocked" and lead.method != "onnx-qdq":
                gran = "block"
            typed = isinstance(lead.quant, Affine)
            blocked = gran in ("blocked", "block")
            out.update(
                label=labels[0], labels=labels, is_quantized=True,
                scheme=_SCHEMES.get(lead.method, lead.method),
                # an ONNX element type names the codes (int8, uint4...); packed uint8 blobs
                # (MatMulNBits, GatherBlockQuantized) are described by their bit width instead
                weight_dtype=li.extra.get("quantized_type") if typed else None,
                weight_bits=None if typed else li.bits,
                granularity=gran, block_size=li.extra.get("block_size") if blocked else None,
                # sym/asym is part of the label only for blockwise schemes
                symmetric_weights=li.symmetric if blocked else None,
            )
        else:
            label = self._float_label(infos)
            out.update(label=label, labels=[label], is_quantized=False,
                       scheme={"onnx/fp16": "fp16", "onnx/bf16": "bf16"}.get(label, "none"),
                       weight_dtype=None, weight_bits=None, granularity=None, block_size=None,
                       symmetric_weights=None)
        out.update(
            activation_dtype=static.most_common(1)[0][0] if static else None,
            activations=[a.to_dict() for a in acts],
            bits_per_weight=bits_per_weight(total_bytes, total_elems),
            evidence=self._evidence(infos),
            tensor_counts=dict(Counter(f"{e.method}:{e.role}" for e in quant)),
        )
        return out

    @staticmethod
    def _entry_label(e: Entry, info: TensorInfo) -> str:
        x = info.extra
        qt = x.get("quantized_type")
        sym = "sym" if info.symmetric else "asym"
        if e.method == "onnx-matmulnbits":
            return f"onnx/matmulnbits-int{info.bits}-b{info.group_size}-{sym}"
        if e.method == "onnx-gatherblockquantized":
            return f"onnx/gatherblockquantized-{qt}-b{info.group_size}-{sym}"
        scheme = {"onnx-qdq": "qdq", "onnx-qoperator": "qoperator",
                  "onnx-dynamic": "dynamic"}.get(e.method, e.method)
        if x.get("granularity") == "blocked":
            return f"onnx/{scheme}-{qt}-blocked-b{info.group_size}-{sym}"
        return f"onnx/{scheme}-{qt}-{x.get('granularity')}"

    def _float_label(self, infos: dict[str, TensorInfo]) -> str:
        sizes: Counter = Counter()
        for info in infos.values():
            st = info.extra.get("stored_dtype")
            if (st in _FLOAT_LABELS and info.extra.get("role") != "other") or st in (
                    "FLOAT16", "BFLOAT16"):
                sizes[st] += info.numel
        if not sizes:
            for info in infos.values():
                st = info.extra.get("stored_dtype")
                if st in _FLOAT_LABELS:
                    sizes[st] += info.numel
        if not sizes:
            return "fp32"
        return _FLOAT_LABELS[sizes.most_common(1)[0][0]]

    def _evidence(self, infos: dict[str, TensorInfo]) -> list[str]:
        ev = [f"{n} x {op}" for op, n in sorted(op_summary(self._graph).items())]
        meta = self.metadata
        if meta.get("producer_name"):
            ev.append(f"producer {meta['producer_name']} {meta.get('producer_version', '')}"
                      .rstrip())
        for k, v in (meta.get("metadata_props") or {}).items():
            if k.startswith("onnx.") or "quant" in k.lower():
                ev.append(f"metadata {k}={v[:80]}")
        if "com.microsoft" in (meta.get("opset_import") or {}):
            ev.append(f"opset com.microsoft {meta['opset_import']['com.microsoft']}")
        dtypes = Counter(i.extra.get("stored_dtype") for i in infos.values()
                         if i.method == "none")
        for t in ("FLOAT16", "BFLOAT16"):
            if dtypes.get(t):
                ev.append(f"{dtypes[t]} {t} initializers")
        counts = Counter(i.method for i in infos.values() if i.method != "none")
        for m, n in sorted(counts.items()):
            ev.append(f"{n} tensors {m}")
        if self._analysis.fake_quant:
            ev.append(f"{len(self._analysis.fake_quant)} float weights fake-quantized by "
                      "QuantizeLinear")
        return ev
