"""TFLite reader: constant tensors, their quantization scheme with evidence, and dequantization.

The file is memory-mapped read-only and walked with a bounded flatbuffer reader of our own
(:mod:`qformat.readers._tflite.flatbuf`); nothing is executed and nothing is written. Every
index (buffer, tensor, operator code, metadata buffer), count (scales, zero points) and byte
range (inline data, ``Buffer.offset``/``size`` after the flatbuffer, 64-bit) is checked
before use. ``Model.keys()`` lists the constant tensors (weights, biases, scale tensors, other
constants); activations (tensors without data) are summarised in
``quantization()["activations"]`` and listed by :meth:`TFLiteModel.activations`.
User documentation: ``docs/tflite.md``.
"""

from __future__ import annotations

import mmap
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import limits
from ..dtypes import bf16_to_f32, to_float32
from ..errors import (
    HeaderError,
    IntegrityError,
    LayoutError,
    LimitError,
    QFormatError,
    UnsupportedError,
)
from ..model import Model, PartInfo, TensorInfo, bits_per_weight
from ._tflite.dequant import affine_dequantize, blockwise_dequantize, unpack_codes
from ._tflite.schema import (
    QUANTIZABLE,
    TYPES,
    WEIGHT_CODE_TYPES,
    TfBuffer,
    TfModel,
    TfOperator,
    TfQuant,
    TfTensor,
    parse_conversion_metadata,
    parse_model,
)

if TYPE_CHECKING:
    from ..layouts.qtensor import QTensor

__all__ = ["TFLiteModel", "read_tflite"]

#: Input slots holding a weight / bias, per operator (schema.fbs operator conventions).
ROLE_SLOTS: dict[str, dict[int, str]] = {
    "FULLY_CONNECTED": {1: "weight", 2: "bias"},
    "CONV_2D": {1: "weight", 2: "bias"},
    "DEPTHWISE_CONV_2D": {1: "weight", 2: "bias"},
    "CONV_3D": {1: "weight", 2: "bias"},
    "TRANSPOSE_CONV": {1: "weight", 3: "bias"},
    "CONV_3D_TRANSPOSE": {1: "weight", 3: "bias"},
    "BATCH_MATMUL": {1: "weight"},
    "EMBEDDING_LOOKUP": {1: "weight"},
    "GATHER": {0: "weight"},
}


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


@dataclass
class _Const:
    """A constant tensor with its validated quantization plan (decided once, at open)."""

    key: str
    tensor: TfTensor
    buffer: TfBuffer
    method: str
    numel: int
    nbytes: int
    parts: tuple[PartInfo, ...]
    bits: float | None
    group_size: int | None = None
    symmetric: bool | None = None
    axis: int | None = None  # affine per-axis dimension
    block_shape: tuple[int, ...] | None = None
    scale_tensor: TfTensor | None = None
    zero_point_tensor: TfTensor | None = None
    role: str = "constant"
    consumers: list[str] = field(default_factory=list)
    via_dequantize_only: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class TFLiteModel(Model):
    """A ``.tflite`` flatbuffer opened for reading (see the module docstring)."""

    format = "tflite"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(os.fspath(path))
        self._mm: mmap.mmap | None = None
        try:
            with open(self.path, "rb") as f:
                self.file_size = os.fstat(f.fileno()).st_size
                if self.file_size < 8:
                    raise HeaderError("file too short for a TFLite flatbuffer", path=self.path,
                                      expected=">= 8 bytes", found=f"{self.file_size} bytes")
                self._mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except OSError as exc:
            raise UnsupportedError(f"cannot read file: {exc.strerror}", path=self.path) from None
        try:
            self._model: TfModel = parse_model(self._mm, self.file_size, self.path)
            self._consts: dict[str, _Const] = {}
            self._activations: list[TfTensor] = []
            self._plan()
            self._read_metadata()
        except BaseException:
            self.close()
            raise

    # -- opening -------------------------------------------------------------------------------
    def _bytes(self, start: int, length: int) -> bytes:
        if self._mm is None:
            raise QFormatError("model is closed", path=self.path)
        return self._mm[start:start + length]

    def _plan(self) -> None:
        used: set[str] = set()
        seen: dict[tuple[Any, ...], _Const] = {}
        for sg in self._model.subgraphs:
            consumers = self._consumers(sg.operators, len(sg.tensors))
            blockwise_scales: dict[int, TfTensor] = {}
            consts: list[_Const] = []
            for t in sg.tensors:
                buf = self._model.buffers[t.buffer]
                if buf.location == "empty" and not t.external_buffer:
                    self._check_activation(t)
                    self._activations.append(t)
                    continue
                ident = self._identity(t)
                first = seen.get(ident) if ident is not None else None
                if first is not None:  # the same constant again (subgraphs share weights)
                    first.extra["alias_count"] = first.extra.get("alias_count", 0) + 1
                    aliases = first.extra.setdefault("aliases", [])
                    if len(aliases) < 8:
                        aliases.append(f"s{t.subgraph}t{t.index}")
                    continue
                key = t.name
                if not key or key in used:
                    key = f"{t.name}#s{t.subgraph}t{t.index}"
                used.add(key)
                c = self._plan_const(key, t, buf, sg.tensors)
                if ident is not None:
                    seen[ident] = c
                c.consumers, c.role, c.via_dequantize_only = self._role(t.index, consumers)
                if c.scale_tensor is not None:
                    blockwise_scales[c.scale_tensor.index] = t
                    if c.zero_point_tensor is not None:
                        blockwise_scales[c.zero_point_tensor.index] = t
                consts.append(c)
            for c in consts:
                owner = blockwise_scales.get(c.tensor.index)
                if owner is not None and c.role == "constant":
                    c.role = "blockwise-params"
                    c.extra["params_of"] = owner.name
                c.extra["role"] = c.role
                if c.consumers:
                    c.extra["consumers"] = c.consumers
                self._consts[c.key] = c
        dup = [n for n, k in Counter(c.tensor.name for c in self._consts.values()).items()
               if k > 1]
        if dup:
            self.warnings.append(f"{len(dup)} tensor name(s) repeat; later ones are listed as "
                                 f"'<name>#s<subgraph>t<index>' (first: {dup[0]!r})")

    @staticmethod
    def _identity(t: TfTensor) -> tuple[Any, ...] | None:
        """What makes two tensor entries the same constant: name, buffer, type, shape and
        affine parameters (blockwise ones refer to tensors of their own subgraph: never
        merged)."""
        q = t.quant
        if q is not None and q.details_type:
            return None
        params = None if q is None else (
            None if q.scale is None else q.scale.tobytes(),
            None if q.zero_point is None else q.zero_point.tobytes(), q.quantized_dimension)
        return (t.name, t.buffer, t.type_code, t.shape, t.sparse, t.external_buffer, params)

    def _consumers(self, operators: list[TfOperator], n: int) -> list[list[tuple[TfOperator, int]]]:
        table: list[list[tuple[TfOperator, int]]] = [[] for _ in range(n)]
        for op in operators:
            for slot, t in enumerate(op.inputs):
                if t >= 0:
                    table[t].append((op, slot))
        return table

    @staticmethod
    def _role(index: int, consumers: list[list[tuple[TfOperator, int]]]
              ) -> tuple[list[str], str, bool]:
        """Consumers of a constant (following DEQUANTIZE), its role, DEQUANTIZE-only use."""
        names: list[str] = []
        role = "constant"
        via_dq = bool(consumers[index])
        for op, slot in consumers[index]:
            if op.op_name == "DEQUANTIZE" and op.outputs and op.outputs[0] >= 0:
                after = consumers[op.outputs[0]]
                if not after:
                    names.append("DEQUANTIZE")
                for o, s in after:
                    names.append(f"DEQUANTIZE->{o.op_name}:{s}")
                    role = ROLE_SLOTS.get(o.op_name, {}).get(s, role)
            else:
                via_dq = False
                names.append(f"{op.op_name}:{slot}")
                role = ROLE_SLOTS.get(op.op_name, {}).get(slot, role)
        return names, role, via_dq

    def _check_activation(self, t: TfTensor) -> None:
        q = t.quant
        if q is None or not q.scale_count:
            return
        if q.zero_point_count != q.scale_count:
            raise LayoutError("zero-point count differs from the scale count", path=self.path,
                              tensor=t.name, field=f"{t.where}.quantization.zero_point",
                              expected=q.scale_count, found=q.zero_point_count)
        if q.scale_count > 1 and t.shape and not 0 <= q.quantized_dimension < len(t.shape):
            raise LayoutError("quantized dimension out of range", path=self.path,
                              tensor=t.name, field=f"{t.where}.quantization.quantized_dimension",
                              expected=f"0..{len(t.shape) - 1}", found=q.quantized_dimension)

    def _fail(self, cls: type[QFormatError], message: str, t: TfTensor, fld: str,
              **facts: Any) -> QFormatError:
        return cls(message, path=self.path, tensor=t.name or t.where, field=f"{t.where}.{fld}",
                   **facts)

    def _plan_const(self, key: str, t: TfTensor, buf: TfBuffer,
                    tensors: list[TfTensor]) -> _Const:
        et = t.etype
        if any(d < 0 for d in t.shape):
            raise self._fail(HeaderError, "constant tensor has a negative dimension", t, "shape",
                             found=list(t.shape))
        numel = _numel(t.shape)
        if numel > limits.MAX_ELEMENTS:
            raise self._fail(LimitError, "tensor has too many elements", t, "shape",
                             expected=f"<= {limits.MAX_ELEMENTS}", found=numel)
        stored = buf.length
        if et.bits is not None and not t.sparse and not t.external_buffer:
            need = (numel * et.bits + 7) // 8
            if stored != need:
                raise self._fail(HeaderError, "buffer size does not match the tensor's shape "
                                 "and type", t, "buffer", expected=f"{need} bytes",
                                 found=f"{stored} bytes in buffer {buf.index}")
        data_part = PartInfo("data", et.code, t.shape, stored)
        extra: dict[str, Any] = {
            "tflite_type": t.type_name,
            "buffer": {"index": buf.index, "location": buf.location,
                       "offset": buf.start, "size": buf.length},
            "subgraph": t.subgraph,
            "tensor_index": t.index,
        }
        if t.sparse:
            extra["sparse"] = True
        if t.external_buffer:
            extra["external_buffer"] = t.external_buffer
            extra["buffer"]["location"] = "external"
        c = _Const(key, t, buf, "none", numel, stored, (data_part,), et.bits, extra=extra)
        q = t.quant
        if q is None:
            return c
        if q.details_name == "BlockwiseQuantization":
            return self._plan_blockwise(c, q, tensors)
        if q.details_type:
            if q.details_name.startswith("unknown"):
                raise self._fail(UnsupportedError, "unknown quantization details type", t,
                                 "quantization.details_type",
                                 expected="NONE, CustomQuantization, BlockwiseQuantization, "
                                          "MultiAxisQuantization", found=q.details_type)
            c.method = ("tflite-multiaxis" if q.details_name == "MultiAxisQuantization"
                        else "tflite-custom")
            c.extra["details"] = q.details_name
            return c
        if not q.scale_count:
            return c
        if t.type_name not in QUANTIZABLE:
            self.warnings.append(f"tensor {t.name!r}: quantization parameters on a "
                                 f"{t.type_name} tensor are ignored (as TFLite does)")
            return c
        return self._plan_affine(c, q)

    def _plan_affine(self, c: _Const, q: TfQuant) -> _Const:
        t = c.tensor
        n = q.scale_count
        if q.zero_point_count != n:
            raise self._fail(LayoutError, "zero-point count differs from the scale count", t,
                             "quantization.zero_point", expected=n, found=q.zero_point_count)
        if n > 1:
            qd = q.quantized_dimension
            if not 0 <= qd < len(t.shape):
                raise self._fail(LayoutError, "quantized dimension out of range", t,
                                 "quantization.quantized_dimension",
                                 expected=f"0..{len(t.shape) - 1}", found=qd)
            if t.shape[qd] != n:
                raise self._fail(LayoutError, "scale count does not match the quantized "
                                 "dimension", t, "quantization.scale",
                                 expected=f"{t.shape[qd]} (shape[{qd}] of {list(t.shape)})",
                                 found=n)
            c.axis, c.group_size = qd, -1
            c.extra["quantized_dimension"] = qd
        self._check_zero_points(t, q.zero_point, "quantization.zero_point")
        c.method = "tflite-affine"
        c.symmetric = bool(np.all(q.zero_point == 0))
        c.parts = (*c.parts, PartInfo("scale", "F32", (n,), 4 * n),
                   PartInfo("zero_point", "I64", (n,), 8 * n))
        c.nbytes += 12 * n
        c.extra["granularity"] = "per-axis" if c.axis is not None else "per-tensor"
        if q.min_count or q.max_count:
            c.extra["has_min_max"] = True
        return c

    def _check_zero_points(self, t: TfTensor, zp: np.ndarray, fld: str) -> None:
        et = TYPES[t.type_name]
        if et.bits is None or et.bits >= 64 or not zp.size:
            return
        if et.kind == "uint":
            lo, hi = 0, (1 << et.bits) - 1
        else:
            lo, hi = -(1 << (et.bits - 1)), (1 << (et.bits - 1)) - 1
        bad = (zp < lo) | (zp > hi)
        if bad.any():
            raise self._fail(LayoutError, f"zero point outside the range of {t.type_name}", t,
                             fld, expected=f"{lo}..{hi}", found=int(zp[np.argmax(bad)]))

    def _param_tensor(self, t: TfTensor, index: int | None, tensors: list[TfTensor],
                      fld: str) -> TfTensor:
        if index is None or not 0 <= index < len(tensors):
            raise self._fail(HeaderError, "blockwise parameter tensor index out of range", t,
                             fld, expected=f"0..{len(tensors) - 1}", found=index)
        p = tensors[index]
        pbuf = self._model.buffers[p.buffer]
        if pbuf.location == "empty" or p.external_buffer or p.sparse:
            raise self._fail(LayoutError, "blockwise parameter tensor has no inline or offset "
                             "data", t, fld, found=f"tensor {index} ({p.name!r})")
        if any(d < 0 for d in p.shape):
            raise self._fail(HeaderError, "blockwise parameter tensor has a negative dimension",
                             t, fld, found=list(p.shape))
        et = p.etype
        if et.bits is None or pbuf.length != (_numel(p.shape) * et.bits + 7) // 8:
            raise self._fail(HeaderError, "blockwise parameter buffer size does not match its "
                             "shape and type", t, fld, found=f"tensor {index} ({p.name!r})")
        return p

    def _plan_blockwise(self, c: _Const, q: TfQuant, tensors: list[TfTensor]) -> _Const:
        t = c.tensor
        if t.type_name not in WEIGHT_CODE_TYPES:
            raise self._fail(LayoutError, "blockwise quantization on a non-integer tensor", t,
                             "type", expected=list(WEIGHT_CODE_TYPES), found=t.type_name)
        st = self._param_tensor(t, q.block_scales, tensors, "quantization.details.scales")
        if st.type_name not in ("FLOAT16", "FLOAT32", "BFLOAT16"):
            raise self._fail(LayoutError, "blockwise scale tensor must hold floats", t,
                             "quantization.details.scales",
                             expected="FLOAT16, FLOAT32 or BFLOAT16", found=st.type_name)
        block_shape = self._block_shape(t, q, st.shape)
        zt = None
        if q.block_zero_points is not None and q.block_zero_points != -1:
            zt = self._param_tensor(t, q.block_zero_points, tensors,
                                    "quantization.details.zero_points")
            if TYPES[zt.type_name].kind not in ("int", "uint") or zt.type_name == "BOOL":
                raise self._fail(LayoutError, "blockwise zero-point tensor must hold integers",
                                 t, "quantization.details.zero_points",
                                 expected="an integer type", found=zt.type_name)
            if zt.shape != st.shape:
                raise self._fail(LayoutError, "blockwise zero points and scales differ in shape",
                                 t, "quantization.details.zero_points",
                                 expected=list(st.shape), found=list(zt.shape))
        c.method = "tflite-blockwise"
        c.block_shape = block_shape
        c.scale_tensor, c.zero_point_tensor = st, zt
        blocked = [a for a, b in enumerate(block_shape) if b != 1]
        c.group_size = block_shape[blocked[-1]] if blocked else 1
        sbuf = self._model.buffers[st.buffer]
        c.parts = (*c.parts, PartInfo("scales", TYPES[st.type_name].code, st.shape,
                                      sbuf.length))
        c.nbytes += sbuf.length
        if zt is None:
            c.symmetric = True
        else:
            zbuf = self._model.buffers[zt.buffer]
            zp = self._codes(zt)
            self._check_zero_points(t, zp.astype(np.int64).ravel(),
                                    "quantization.details.zero_points")
            c.symmetric = bool(np.all(zp == 0))
            c.parts = (*c.parts, PartInfo("zero_points", TYPES[zt.type_name].code, zt.shape,
                                          zbuf.length))
            c.nbytes += zbuf.length
        c.extra.update({
            "block_size": c.group_size,
            "block_shape": list(block_shape),
            "blocked_axes": blocked,
            "scales_tensor": st.name,
            "zero_points_tensor": None if zt is None else zt.name,
            "quantized_dimension": q.quantized_dimension,
            "granularity": "blockwise",
        })
        return c

    def _block_shape(self, t: TfTensor, q: TfQuant, scale_shape: tuple[int, ...]
                     ) -> tuple[int, ...]:
        fld = "quantization.details"
        if len(scale_shape) != len(t.shape):
            raise self._fail(LayoutError, "blockwise scale tensor rank differs from the "
                             "tensor's", t, f"{fld}.scales", expected=len(t.shape),
                             found=list(scale_shape))
        if q.block_shape is not None:
            bs = q.block_shape
            ok = (len(bs) == len(t.shape) and all(b > 0 for b in bs)
                  and all(d % b == 0 and d // b == s
                          for d, b, s in zip(t.shape, bs, scale_shape)))
            if not ok:
                raise self._fail(LayoutError, "block shape does not tile the tensor into the "
                                 "scale tensor's shape", t, f"{fld}.block_shape",
                                 expected=f"tensor {list(t.shape)} / block = scales "
                                          f"{list(scale_shape)}", found=list(bs))
            return bs
        b = q.block_size or 0
        if b <= 0:
            raise self._fail(LayoutError, "block size must be positive", t, f"{fld}.block_size",
                             found=b)
        differing = [a for a, (d, s) in enumerate(zip(t.shape, scale_shape)) if d != s]
        if not differing and b == 1:
            return (1,) * len(t.shape)
        if len(differing) == 1:
            a = differing[0]
            if scale_shape[a] * b == t.shape[a]:
                return tuple(b if i == a else 1 for i in range(len(t.shape)))
        raise self._fail(LayoutError, "blockwise scale tensor shape does not match the tensor "
                         "and block size", t, f"{fld}.scales",
                         expected=f"{list(t.shape)} with one axis divided by {b}",
                         found=list(scale_shape))

    def _read_metadata(self) -> None:
        m = self._model
        meta: dict[str, Any] = {"schema_version": m.version}
        if m.description:
            meta["description"] = m.description
        ops = Counter(op.op_name for sg in m.subgraphs for op in sg.operators)
        meta["subgraphs"] = len(m.subgraphs)
        meta["operators"] = dict(sorted(ops.items()))
        entries: dict[str, Any] = {}
        self._conversion: dict[str, Any] | None = None
        for name, index in m.metadata:
            buf = m.buffers[index]
            if buf.length > limits.TFLITE_MAX_METADATA_BYTES:
                entries[name] = f"<{buf.length} bytes>"
                continue
            raw = self._bytes(buf.start, buf.length)
            if name == "CONVERSION_METADATA":
                try:
                    self._conversion = parse_conversion_metadata(raw, self.path)
                    entries[name] = self._conversion
                except QFormatError as exc:
                    self.warnings.append(f"CONVERSION_METADATA unreadable: {exc.detail}")
                    entries[name] = f"<{buf.length} bytes, unreadable>"
            elif name in ("min_runtime_version", "reduced_precision_support",
                          "buffer_location") or raw.rstrip(b"\0").isascii():
                entries[name] = raw.split(b"\0", 1)[0].decode("utf-8", errors="replace")
            else:
                entries[name] = f"<{buf.length} bytes>"
        meta["metadata"] = entries
        self.metadata = meta

    # -- the contract --------------------------------------------------------------------------
    def keys(self) -> list[str]:
        return list(self._consts)

    def _const(self, name: str) -> _Const:
        c = self._consts.get(name)
        if c is None:
            raise QFormatError("no such tensor", path=self.path, tensor=name)
        return c

    def info(self, name: str) -> TensorInfo:
        c = self._const(name)
        extra = dict(c.extra)
        dtype = c.tensor.etype.code
        if c.method != "none":  # like every reader: the float type it stands for; codes in extra
            extra["stored_dtype"] = dtype
            dtype = "F32"
        return TensorInfo(
            name=c.key, shape=c.tensor.shape, dtype=dtype, method=c.method,
            bits=c.bits, group_size=c.group_size, symmetric=c.symmetric,
            bits_per_weight=bits_per_weight(c.nbytes, c.numel), nbytes=c.nbytes,
            parts=c.parts, extra=extra,
        )

    def _codes(self, t: TfTensor) -> np.ndarray:
        """The stored elements of a dense constant tensor, unpacked, in its shape."""
        et = t.etype
        buf = self._model.buffers[t.buffer]
        if self._mm is None:
            raise QFormatError("model is closed", path=self.path)
        n = _numel(t.shape)
        # a read-only view of the mapped file (bounds checked at open); callers derive new
        # arrays from it and never return it
        raw = np.frombuffer(self._mm, dtype=np.uint8, count=buf.length, offset=buf.start)
        if et.bits is not None and et.bits < 8:
            codes = unpack_codes(raw, et.bits, et.kind == "int", n)
        else:
            codes = raw.view(et.storage)
        return codes.reshape(t.shape)

    def _floats(self, t: TfTensor, values: np.ndarray) -> np.ndarray:
        if t.type_name == "BFLOAT16":
            return bf16_to_f32(values)
        if t.type_name in ("FLOAT8_E4M3FN", "FLOAT8_E5M2"):
            return to_float32(values, t.etype.code)
        return values.astype(np.float32)

    def _require_dense(self, c: _Const) -> None:
        t = c.tensor
        if t.external_buffer:
            raise UnsupportedError("tensor data lives in an external file (ExternalBuffer); "
                                   "qformat does not read other files", path=self.path,
                                   tensor=c.key, field=f"{t.where}.external_buffer",
                                   found=t.external_buffer)
        if t.sparse:
            raise UnsupportedError("sparse TFLite tensors (SparsityParameters) are not "
                                   "densified", path=self.path, tensor=c.key,
                                   field=f"{t.where}.sparsity")
        if t.etype.storage is None:
            raise UnsupportedError(f"{t.type_name} tensors have no float value", path=self.path,
                                   tensor=c.key, field=f"{t.where}.type", found=t.type_name)
        if c.method in ("tflite-multiaxis", "tflite-custom"):
            raise UnsupportedError(f"{t.quant.details_name if t.quant else ''} parameters are "
                                   "not decoded", path=self.path, tensor=c.key,
                                   field=f"{t.where}.quantization.details")

    def get(self, name: str) -> np.ndarray:
        c = self._const(name)
        self._require_dense(c)
        t = c.tensor
        codes = self._codes(t)
        if c.method == "none":
            out = self._floats(t, codes)
        elif c.method == "tflite-affine":
            out = self._dequantize_affine(c, codes)
        else:
            out = self._dequantize_blockwise(c, codes)
        return np.ascontiguousarray(out, dtype=np.float32).reshape(t.shape)

    def _finite_scales(self, c: _Const, scales: np.ndarray, fld: str) -> None:
        if not np.all(np.isfinite(scales)):
            raise IntegrityError("scale is NaN or infinite", path=self.path, tensor=c.key,
                                 field=f"{c.tensor.where}.{fld}")

    def _dequantize_affine(self, c: _Const, codes: np.ndarray) -> np.ndarray:
        q = c.tensor.quant
        if q is None or q.scale is None or q.zero_point is None:  # excluded by _plan_affine
            raise UnsupportedError("tensor has no affine parameters", path=self.path,
                                   tensor=c.key)
        self._finite_scales(c, q.scale, "quantization.scale")
        if c.tensor.etype.bits == 64 and q.zero_point.any() and codes.size:
            lo = int(codes.min()) - int(q.zero_point.max())
            hi = int(codes.max()) - int(q.zero_point.min())
            if lo < -(1 << 63) or hi >= 1 << 63:
                raise IntegrityError("q - zero_point overflows int64", path=self.path,
                                     tensor=c.key, field=f"{c.tensor.where}.quantization")
        return affine_dequantize(codes, q.scale, q.zero_point, c.axis)

    def _dequantize_blockwise(self, c: _Const, codes: np.ndarray) -> np.ndarray:
        if c.scale_tensor is None or c.block_shape is None:  # excluded by _plan_blockwise
            raise UnsupportedError("tensor has no blockwise parameters", path=self.path,
                                   tensor=c.key)
        scales = self._floats(c.scale_tensor, self._codes(c.scale_tensor))
        self._finite_scales(c, scales, "quantization.details.scales")
        zps = None if c.zero_point_tensor is None else self._codes(c.zero_point_tensor)
        return blockwise_dequantize(codes, scales, zps, c.block_shape)

    def raw(self, name: str, *, transpose: bool = False) -> QTensor:
        """The constant as an exact QTensor: ``raw(name).dequantize()`` equals ``get(name)``
        bit for bit, in the same shape (``bitpack`` for quantized constants, ``raw`` for
        plain ones; see ``docs/tflite.md``).

        ``transpose=True`` (2-D tensors): the transpose instead, ``dequantize()`` equal to
        ``get(name).T``, for weights quantized along their last axis. UnsupportedError names
        the reason where no layout holds the tensor exactly.
        """
        from ._bitpack_import import raw_qtensor
        from ._tflite.lossless import affine_qtensor, blockwise_qtensor

        c = self._const(name)
        if type(transpose) is not bool:
            from ..errors import ArgumentError

            raise ArgumentError("transpose must be True or False", path=self.path,
                                tensor=c.key, field="transpose", found=transpose)
        self._require_dense(c)
        t = c.tensor
        try:
            if c.method == "none":
                return raw_qtensor(self._codes(t), t.etype.code, transpose=transpose)
            if c.method == "tflite-affine":
                q = t.quant
                if q is None or q.scale is None or q.zero_point is None:  # excluded at open
                    raise UnsupportedError("tensor has no affine parameters")
                self._finite_scales(c, q.scale, "quantization.scale")
                return affine_qtensor(lambda: self._codes(t), t.shape, t.etype, q.scale,
                                      q.zero_point, c.axis, transpose=transpose)
            if c.scale_tensor is None or c.block_shape is None:  # excluded at open
                raise UnsupportedError("tensor has no blockwise parameters")
            st = c.scale_tensor
            scales = self._floats(st, self._codes(st))
            self._finite_scales(c, scales, "quantization.details.scales")
            zps = None if c.zero_point_tensor is None else self._codes(c.zero_point_tensor)
            return blockwise_qtensor(lambda: self._codes(t), t.shape, t.etype, scales,
                                     st.etype.code, zps, c.block_shape, transpose=transpose)
        except QFormatError as exc:
            raise exc.with_context(path=self.path, tensor=c.key) from None

    def activations(self) -> list[dict[str, Any]]:
        """Tensors without data (activations, inputs, outputs): name, shape, dtype only."""
        return [{"name": t.name, "subgraph": t.subgraph, "index": t.index,
                 "shape": list(t.shape), "dtype": t.type_name,
                 "quantized": bool(t.quant is not None and t.quant.scale_count)}
                for t in self._activations]

    def quantization(self) -> dict[str, Any]:
        from ._tflite.label import decide_label

        return decide_label(self)

    def close(self) -> None:
        mm, self._mm = self._mm, None
        if mm is not None:
            try:
                mm.close()
            except BufferError:  # a view is still alive (e.g. held by a traceback): let the
                pass  # garbage collector unmap it once the view goes


def read_tflite(path: str | os.PathLike[str], **options: Any) -> TFLiteModel:
    """Open a ``.tflite`` file (no options yet; unknown ones are refused)."""
    if options:
        from ..errors import ArgumentError

        raise ArgumentError("read_tflite takes no options", path=os.fspath(path),
                            field="options", found=sorted(options))
    return TFLiteModel(path)
