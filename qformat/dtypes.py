"""Element types qformat stores and reads, by short upper-case code (safetensors' spelling).

numpy has no bfloat16 or float8, so those are stored as same-width unsigned integers and
converted here; every conversion to float32 is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from .errors import ArgumentError

__all__ = ["DTYPES", "DType", "bf16_to_f32", "dtype_of", "f32_to_bf16", "to_float32"]


@dataclass(frozen=True)
class DType:
    """One storage element type."""

    code: str
    storage: np.dtype  # numpy dtype of the stored bytes (little-endian)
    kind: str  # "float", "int", "uint", "bool"
    bits: int

    @property
    def itemsize(self) -> int:
        return self.storage.itemsize


def _d(code: str, storage: str, kind: str) -> DType:
    dt = np.dtype(storage)
    return DType(code, dt, kind, dt.itemsize * 8)


#: Every element type, keyed by code. Stored little-endian.
DTYPES: dict[str, DType] = {
    d.code: d
    for d in (
        _d("F64", "<f8", "float"),
        _d("F32", "<f4", "float"),
        _d("F16", "<f2", "float"),
        _d("BF16", "<u2", "float"),
        _d("F8_E4M3", "u1", "float"),
        _d("F8_E5M2", "u1", "float"),
        _d("I64", "<i8", "int"),
        _d("I32", "<i4", "int"),
        _d("I16", "<i2", "int"),
        _d("I8", "i1", "int"),
        _d("U64", "<u8", "uint"),
        _d("U32", "<u4", "uint"),
        _d("U16", "<u2", "uint"),
        _d("U8", "u1", "uint"),
        _d("BOOL", "u1", "bool"),
    )
}

_NATIVE = {
    np.dtype("<f8"): "F64",
    np.dtype("<f4"): "F32",
    np.dtype("<f2"): "F16",
    np.dtype("<i8"): "I64",
    np.dtype("<i4"): "I32",
    np.dtype("<i2"): "I16",
    np.dtype("i1"): "I8",
    np.dtype("<u8"): "U64",
    np.dtype("<u4"): "U32",
    np.dtype("<u2"): "U16",
    np.dtype("u1"): "U8",
    np.dtype("bool"): "BOOL",
}


def dtype_of(array: np.ndarray) -> str:
    """The code of a numpy array's dtype (ml_dtypes' bfloat16/float8 are recognised by name)."""
    dt = array.dtype
    name = dt.name
    if name == "bfloat16":
        return "BF16"
    if name in ("float8_e4m3fn", "float8_e4m3"):
        return "F8_E4M3"
    if name == "float8_e5m2":
        return "F8_E5M2"
    code = _NATIVE.get(dt.newbyteorder("<") if dt.byteorder == ">" else dt)
    if code is None:
        raise ArgumentError(
            "unsupported numpy dtype", field="dtype", expected=sorted(DTYPES), found=str(dt)
        )
    return code


def bf16_to_f32(bits: np.ndarray) -> np.ndarray:
    """bfloat16 bit patterns (uint16) -> float32, exactly."""
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def f32_to_bf16(values: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns (uint16), round to nearest even, NaN kept NaN."""
    u = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(values)
    if nan.any():
        rounded = np.where(nan, np.uint16(0x7FC0), rounded)
    return rounded


@cache
def _f8_table(code: str) -> np.ndarray:
    """All 256 float8 values as float32 (E4M3 is the 'fn' variant: no inf, NaN = S.1111.111)."""
    exp_bits, man_bits, bias = (4, 3, 7) if code == "F8_E4M3" else (5, 2, 15)
    b = np.arange(256, dtype=np.int64)
    sign = np.where(b >> 7, -1.0, 1.0)
    exp = (b >> man_bits) & ((1 << exp_bits) - 1)
    man = b & ((1 << man_bits) - 1)
    sub = np.ldexp(man / (1 << man_bits), 1 - bias)
    norm = np.ldexp(1 + man / (1 << man_bits), exp - bias)
    val = sign * np.where(exp == 0, sub, norm)
    if code == "F8_E4M3":
        val[(exp == 15) & (man == 7)] = np.nan
    else:
        top = exp == 31
        val[top & (man == 0)] = sign[top & (man == 0)] * np.inf
        val[top & (man != 0)] = np.nan
    return val.astype(np.float32)


def to_float32(stored: np.ndarray, code: str) -> np.ndarray:
    """Stored elements of type ``code`` -> float32 (exact for every float type)."""
    if code == "F32":
        return np.asarray(stored, dtype=np.float32)
    if code == "BF16":
        return bf16_to_f32(stored)
    if code in ("F8_E4M3", "F8_E5M2"):
        return _f8_table(code)[np.asarray(stored, dtype=np.uint8)]
    if code not in DTYPES:
        raise ArgumentError("unknown dtype code", field="dtype", expected=sorted(DTYPES),
                            found=code)
    with np.errstate(over="ignore"):  # F64 beyond float32's range becomes +-inf, as a cast does
        return np.asarray(stored).astype(np.float32)
