"""Numpy decoding of TFLite constants: sub-byte unpacking and affine / blockwise dequantization.

Conventions (checked against the LiteRT interpreter's DEQUANTIZE and ai-edge-quantizer):
INT4/UINT4 pack two elements per byte and INT2 four, element 0 in the lowest bits, row-major
over the whole tensor; ``f = float32(q - zero_point) * scale`` with ``q - zero_point`` computed
as an integer and the product in float32.

When every code and zero point is below 2**23 in magnitude (all types up to 16 bits), the
difference is computed as ``float32(q) - float32(zero_point)``: both operands and the result
are exact in float32, so this is bit-identical to the integer form and saves two passes over
64-bit intermediates. Wider values take the integer path.
"""

from __future__ import annotations

import numpy as np

__all__ = ["affine_dequantize", "blockwise_dequantize", "unpack_codes"]

#: Codes and zero points below this magnitude subtract exactly in float32.
_EXACT_IN_F32 = 1 << 23


def unpack_codes(raw: bytes | np.ndarray, bits: int, signed: bool, count: int) -> np.ndarray:
    """``count`` sub-byte codes packed LSB-first in ``raw`` -> int8 (signed) or uint8 array."""
    packed = np.frombuffer(raw, dtype=np.uint8) if isinstance(raw, bytes) else raw
    per_byte = 8 // bits
    out = np.empty(packed.size * per_byte, dtype=np.int8 if signed else np.uint8)
    for k in range(per_byte):
        if signed:  # move field k to the top bits, then sign-extend with an arithmetic shift
            field = (packed << np.uint8(8 - bits * (k + 1))).view(np.int8) >> np.int8(8 - bits)
        else:
            field = (packed >> np.uint8(bits * k)) & np.uint8((1 << bits) - 1)
        out[k::per_byte] = field
    return out[:count]


def _axis_view(values: np.ndarray, ndim: int, axis: int) -> np.ndarray:
    shape = [1] * ndim
    shape[axis] = values.size
    return values.reshape(shape)


def _small(*arrays: np.ndarray) -> bool:
    """Every value of integer arrays ``arrays`` is exact in float32 (and so is any difference)."""
    for a in arrays:
        if a.size and a.dtype.itemsize > 2 and (int(a.min()) <= -_EXACT_IN_F32
                                                or int(a.max()) >= _EXACT_IN_F32):
            return False
    return True


def affine_dequantize(codes: np.ndarray, scale: np.ndarray, zero_point: np.ndarray,
                      axis: int | None) -> np.ndarray:
    """Per-tensor (``axis`` None, one scale) or per-axis affine dequantization to float32."""
    if axis is None:
        sc = np.float32(scale[0])
        zp = zero_point[:1]
    else:
        sc = _axis_view(scale.astype(np.float32), codes.ndim, axis)
        zp = _axis_view(zero_point, codes.ndim, axis)
    if _small(codes, zp):
        out = codes.astype(np.float32)
        if zp.any():
            out -= zp.astype(np.float32) if axis is not None else np.float32(zp[0])
    else:
        z = zp.astype(np.int64) if axis is not None else np.int64(zp[0])
        out = (codes.astype(np.int64) - z).astype(np.float32)
    out *= sc
    return out


def blockwise_dequantize(codes: np.ndarray, scales: np.ndarray,
                         zero_points: np.ndarray | None,
                         block_shape: tuple[int, ...]) -> np.ndarray:
    """Blockwise dequantization: element ``i`` uses ``scales[i // block_shape]`` (per axis)."""
    split: list[int] = []
    param: list[int] = []
    for d, b in zip(codes.shape, block_shape):
        split += [d // b, b]
        param += [d // b, 1]
    sc = scales.astype(np.float32).reshape(param)
    if zero_points is not None and zero_points.any():
        zp = zero_points.reshape(param)
        if _small(codes, zp):
            out = codes.astype(np.float32).reshape(split)
            out -= zp.astype(np.float32)
        else:
            out = (codes.astype(np.int64).reshape(split) - zp.astype(np.int64)
                   ).astype(np.float32)
    else:
        out = codes.astype(np.float32).reshape(split)
    out *= sc
    return out.reshape(codes.shape)
