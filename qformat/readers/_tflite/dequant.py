"""Numpy decoding of TFLite constants: sub-byte unpacking and affine / blockwise dequantization.

Conventions (checked against the LiteRT interpreter's DEQUANTIZE and ai-edge-quantizer):
INT4/UINT4 pack two elements per byte and INT2 four, element 0 in the lowest bits, row-major
over the whole tensor; ``f = float32(q - zero_point) * scale`` with ``q - zero_point`` computed
as an integer and the product in float32.
"""

from __future__ import annotations

import numpy as np

__all__ = ["affine_dequantize", "blockwise_dequantize", "unpack_codes"]


def unpack_codes(raw: bytes, bits: int, signed: bool, count: int) -> np.ndarray:
    """``count`` sub-byte codes packed LSB-first in ``raw`` -> int8 (signed) or uint8 array."""
    packed = np.frombuffer(raw, dtype=np.uint8)
    per_byte = 8 // bits
    mask = (1 << bits) - 1
    shifts = np.arange(per_byte, dtype=np.uint8) * bits
    codes = ((packed[:, None] >> shifts[None, :]) & mask).reshape(-1)[:count]
    if not signed:
        return codes.astype(np.uint8)
    codes = codes.astype(np.int8)
    codes[codes >= (1 << (bits - 1))] -= 1 << bits
    return codes


def _axis_view(values: np.ndarray, ndim: int, axis: int) -> np.ndarray:
    shape = [1] * ndim
    shape[axis] = values.size
    return values.reshape(shape)


def affine_dequantize(codes: np.ndarray, scale: np.ndarray, zero_point: np.ndarray,
                      axis: int | None) -> np.ndarray:
    """Per-tensor (``axis`` None, one scale) or per-axis affine dequantization to float32."""
    q = codes.astype(np.int64)
    if axis is None:
        diff = q - np.int64(zero_point[0])
        return diff.astype(np.float32) * np.float32(scale[0])
    zp = _axis_view(zero_point.astype(np.int64), q.ndim, axis)
    sc = _axis_view(scale.astype(np.float32), q.ndim, axis)
    return (q - zp).astype(np.float32) * sc


def blockwise_dequantize(codes: np.ndarray, scales: np.ndarray,
                         zero_points: np.ndarray | None,
                         block_shape: tuple[int, ...]) -> np.ndarray:
    """Blockwise dequantization: element ``i`` uses ``scales[i // block_shape]`` (per axis)."""
    sc = scales.astype(np.float32)
    zp = None if zero_points is None else zero_points.astype(np.int64)
    for axis, size in enumerate(block_shape):
        if size != 1:
            sc = np.repeat(sc, size, axis=axis)
            if zp is not None:
                zp = np.repeat(zp, size, axis=axis)
    q = codes.astype(np.int64)
    if zp is not None:
        q = q - zp
    return q.astype(np.float32) * sc
