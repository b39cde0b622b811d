"""ONNX element types: sizes, where ``TensorProto`` keeps them, and conversion to float32.

The numeric type codes come from the installed ``onnx`` package (``TensorProto.DataType``);
this module only adds what qformat needs to know about each name. A code the installed
``onnx`` does not know, or that this table does not describe, is refused with
:class:`~qformat.errors.UnsupportedError` before anything is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from ...dtypes import to_float32 as _qf_to_float32
from ...errors import UnsupportedError

__all__ = ["OnnxType", "onnx_type", "to_float32", "unpack_bits", "values_per_int32"]


@dataclass(frozen=True)
class OnnxType:
    """One ``TensorProto.DataType``: how wide its elements are and how qformat shows them."""

    code: int
    name: str  # "INT8", as in TensorProto.DataType
    kind: str  # "float", "int", "uint", "bool", "string", "complex"
    bits: int  # bits of one element (4 for INT4, 6 for FLOAT6E2M3)
    storage: str | None  # numpy dtype of one whole-byte element; None for packed sub-byte types
    short: str  # qformat-style short code: "I8", "U4", "F8_E4M3"...

    @property
    def label(self) -> str:
        """Lower-case name used in labels and activation reports (``int8``, ``float8e4m3fn``)."""
        return self.name.lower()

    @property
    def packed(self) -> bool:
        return self.storage is None and self.kind != "string"

    def nbytes(self, numel: int) -> int:
        """Bytes of ``numel`` elements as ``raw_data`` stores them (sub-byte types packed)."""
        return (numel * self.bits + 7) // 8


# name -> (kind, bits, numpy storage, short code). Only names the installed onnx defines are used.
_TABLE: dict[str, tuple[str, int, str | None, str]] = {
    "FLOAT": ("float", 32, "<f4", "F32"),
    "UINT8": ("uint", 8, "u1", "U8"),
    "INT8": ("int", 8, "i1", "I8"),
    "UINT16": ("uint", 16, "<u2", "U16"),
    "INT16": ("int", 16, "<i2", "I16"),
    "INT32": ("int", 32, "<i4", "I32"),
    "INT64": ("int", 64, "<i8", "I64"),
    "STRING": ("string", 0, None, "STRING"),
    "BOOL": ("bool", 8, "u1", "BOOL"),
    "FLOAT16": ("float", 16, "<f2", "F16"),
    "DOUBLE": ("float", 64, "<f8", "F64"),
    "UINT32": ("uint", 32, "<u4", "U32"),
    "UINT64": ("uint", 64, "<u8", "U64"),
    "COMPLEX64": ("complex", 64, "<c8", "C64"),
    "COMPLEX128": ("complex", 128, "<c16", "C128"),
    "BFLOAT16": ("float", 16, "<u2", "BF16"),
    "FLOAT8E4M3FN": ("float", 8, "u1", "F8_E4M3"),
    "FLOAT8E4M3FNUZ": ("float", 8, "u1", "F8_E4M3FNUZ"),
    "FLOAT8E5M2": ("float", 8, "u1", "F8_E5M2"),
    "FLOAT8E5M2FNUZ": ("float", 8, "u1", "F8_E5M2FNUZ"),
    "FLOAT8E8M0": ("float", 8, "u1", "F8_E8M0"),
    "UINT4": ("uint", 4, None, "U4"),
    "INT4": ("int", 4, None, "I4"),
    "FLOAT4E2M1": ("float", 4, None, "F4_E2M1"),
    "UINT2": ("uint", 2, None, "U2"),
    "INT2": ("int", 2, None, "I2"),
    "FLOAT6E2M3": ("float", 6, None, "F6_E2M3"),
    "FLOAT6E3M2": ("float", 6, None, "F6_E3M2"),
}

# ml_dtypes names (onnx depends on ml_dtypes) for the float types qformat.dtypes has no table for
_ML_DTYPES = {
    "FLOAT8E4M3FNUZ": "float8_e4m3fnuz",
    "FLOAT8E5M2FNUZ": "float8_e5m2fnuz",
    "FLOAT8E8M0": "float8_e8m0fnu",
    "FLOAT4E2M1": "float4_e2m1fn",
    "FLOAT6E2M3": "float6_e2m3fn",
    "FLOAT6E3M2": "float6_e3m2fn",
}


@cache
def _types_by_code() -> dict[int, OnnxType]:
    import onnx

    out: dict[int, OnnxType] = {}
    for name, code in onnx.TensorProto.DataType.items():
        if name in _TABLE:
            kind, bits, storage, short = _TABLE[name]
            out[int(code)] = OnnxType(int(code), name, kind, bits, storage, short)
    return out


def onnx_type(code: int, *, path: str | None = None, tensor: str | None = None,
              field: str = "data_type") -> OnnxType:
    """The element type with ``TensorProto.DataType`` ``code``; UnsupportedError if unknown."""
    t = _types_by_code().get(int(code))
    if t is None:
        known = sorted(f"{v.name}={k}" for k, v in _types_by_code().items())
        raise UnsupportedError("unknown or unsupported ONNX element type", path=path,
                               tensor=tensor, field=field, expected=", ".join(known),
                               found=code)
    return t


def values_per_int32(t: OnnxType) -> int:
    """Elements per ``int32_data`` entry: packed 4-bit and 2-bit types keep one byte per entry."""
    if t.bits in (2, 4):
        return 8 // t.bits
    return 1


def unpack_bits(packed: np.ndarray, bits: int, count: int) -> np.ndarray:
    """The first ``count`` ``bits``-wide codes of a little-endian bit stream, as uint8.

    Element ``i`` occupies bits ``[i*bits, (i+1)*bits)`` counting from bit 0 of byte 0; this is
    the ONNX INT4/INT2/FLOAT6 packing and the MatMulNBits blob packing for every width 1..8.
    """
    packed = np.ascontiguousarray(packed, dtype=np.uint8).reshape(-1)
    if count == 0:
        return np.zeros(0, dtype=np.uint8)
    if bits == 8:
        return packed[:count].copy()
    mask = np.uint8((1 << bits) - 1)
    if 8 % bits == 0:
        per = 8 // bits
        nbytes = (count + per - 1) // per
        src = packed[:nbytes]
        out = np.empty((nbytes, per), dtype=np.uint8)
        for j in range(per):
            out[:, j] = (src >> np.uint8(j * bits)) & mask
        return out.reshape(-1)[:count]
    # widths 3, 5, 6, 7: every 8 codes fill exactly `bits` bytes; combine them into one word
    groups = (count + 7) // 8
    nbytes = groups * bits
    src = packed[:nbytes]
    if src.size < nbytes:
        src = np.concatenate([src, np.zeros(nbytes - src.size, dtype=np.uint8)])
    words = np.zeros(groups, dtype=np.uint64)
    by_group = src.reshape(groups, bits).astype(np.uint64)
    for j in range(bits):
        words |= by_group[:, j] << np.uint64(8 * j)
    out = np.empty((groups, 8), dtype=np.uint8)
    for j in range(8):
        out[:, j] = ((words >> np.uint64(j * bits)) & np.uint64(mask)).astype(np.uint8)
    return out.reshape(-1)[:count]


def sign_extend(codes: np.ndarray, bits: int) -> np.ndarray:
    """Two's-complement ``bits``-wide codes (uint8) -> int8 values."""
    half = 1 << (bits - 1)
    return ((codes.astype(np.int16) ^ half) - half).astype(np.int8)


@cache
def _float_table(name: str) -> np.ndarray:
    import ml_dtypes

    dt = np.dtype(getattr(ml_dtypes, _ML_DTYPES[name]))
    n = 1 << _TABLE[name][1]
    return np.arange(n, dtype=np.uint8).view(dt).astype(np.float32)


def to_float32(values: np.ndarray, t: OnnxType) -> np.ndarray:
    """Decoded element values of type ``t`` (see ``TensorData.values``) -> float32, exactly."""
    if t.kind in ("int", "uint", "bool"):
        return np.asarray(values).astype(np.float32)
    if t.name == "FLOAT":
        return np.asarray(values, dtype=np.float32)
    if t.name in ("FLOAT16", "DOUBLE"):
        return np.asarray(values).astype(np.float32)
    if t.name == "BFLOAT16":
        return _qf_to_float32(values, "BF16")
    if t.name in ("FLOAT8E4M3FN", "FLOAT8E5M2"):
        return _qf_to_float32(values, t.short)
    if t.name in _ML_DTYPES:
        return _float_table(t.name)[np.asarray(values, dtype=np.uint8)]
    raise UnsupportedError("tensor type cannot be converted to float32", field="data_type",
                           found=t.name)


def round_to(values: np.ndarray, t: OnnxType) -> np.ndarray:
    """float32 ``values`` rounded to float type ``t`` (FLOAT16/BFLOAT16) and widened back."""
    if t.name == "FLOAT16":
        return values.astype(np.float16).astype(np.float32)
    if t.name == "BFLOAT16":
        from ...dtypes import bf16_to_f32, f32_to_bf16

        return bf16_to_f32(f32_to_bf16(values))
    return values
