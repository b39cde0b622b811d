"""numpy references of :mod:`qformat.kernels.bitpack` (same public names, same arguments).

These define the bitpack layout's numbers (``specs/layouts/bitpack.md``): the bit order of the
packed rows (QF-BITPACK-010) and the float32 operation order of dequantization
(QF-BITPACK-020..024). The jitted kernels must match :func:`dequantize` bit for bit and
:func:`linear` within float32 rounding. Obvious rather than fast.
"""

from __future__ import annotations

import numpy as np

from ...dtypes import to_float32
from ...errors import ArgumentError
from .._bitpack_common import Geometry, check_arrays, check_content, check_out, row_bytes

__all__ = ["dequantize", "group_index", "linear", "pack_codes", "unpack_codes"]


def pack_codes(codes: np.ndarray, bits: int) -> np.ndarray:
    """Pack codes ``[rows, k]`` (uint8, each < 2**bits) into rows of a dense LSB-first bit stream.

    Code ``j`` of a row occupies bits ``j*bits .. j*bits+bits-1`` of the row, bit ``i`` of a row
    being bit ``i % 8`` of byte ``i // 8``. Each row starts on a byte; unused tail bits are 0.
    """
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.dtype != np.uint8:
        raise ArgumentError("codes must be a 2-D uint8 array", field="codes",
                            found=f"{codes.dtype}{list(codes.shape)}")
    if type(bits) is not int or not 1 <= bits <= 8:
        raise ArgumentError("bits must be an integer in 1..8", field="bits", found=bits)
    rows, k = codes.shape
    if codes.size and int(codes.max()) >= 1 << bits:
        raise ArgumentError("code does not fit in bits", field="codes",
                            expected=f"< {1 << bits}", found=int(codes.max()))
    # bit planes, least significant first: [rows, k, bits] -> [rows, k*bits] bit stream
    planes = (codes[:, :, None] >> np.arange(bits, dtype=np.uint8)) & 1
    stream = planes.reshape(rows, k * bits)
    nbytes = row_bytes(k, bits)
    padded = np.zeros((rows, nbytes * 8), dtype=np.uint8)
    padded[:, : k * bits] = stream
    return np.packbits(padded, axis=1, bitorder="little").reshape(rows, nbytes)


def unpack_codes(packed: np.ndarray, bits: int, k: int) -> np.ndarray:
    """Inverse of :func:`pack_codes`: ``[rows, row_bytes]`` -> codes ``[rows, k]`` (uint8)."""
    packed = np.asarray(packed)
    if type(bits) is not int or not 1 <= bits <= 8:
        raise ArgumentError("bits must be an integer in 1..8", field="bits", found=bits)
    if packed.ndim != 2 or packed.dtype != np.uint8 or packed.shape[1] != row_bytes(k, bits):
        raise ArgumentError("packed must be uint8 [rows, row_bytes]", field="codes",
                            expected=f"uint8[rows, {row_bytes(k, bits)}]",
                            found=f"{packed.dtype}{list(packed.shape)}")
    rows = packed.shape[0]
    stream = np.unpackbits(packed, axis=1, bitorder="little")[:, : k * bits]
    planes = stream.reshape(rows, k, bits).astype(np.uint16)
    weights = (1 << np.arange(bits, dtype=np.uint16)).astype(np.uint16)
    return (planes * weights).sum(axis=2).astype(np.uint8)


def group_index(k: int, group_size: int) -> np.ndarray:
    """Group of each stored column: ``j // group_size`` (all 0 for group_size -1)."""
    if group_size == -1:
        return np.zeros(k, dtype=np.intp)
    return np.arange(k, dtype=np.intp) // group_size


def dequantize(
    codes: np.ndarray,
    scales: np.ndarray,
    *,
    bits: int,
    k: int,
    group_size: int,
    zero: str = "none",
    zeros: np.ndarray | None = None,
    bias: np.ndarray | None = None,
    levels: np.ndarray | None = None,
    perm: np.ndarray | None = None,
    scale_dtype: str = "F32",
    zero_dtype: str | None = None,
    out_dtype: str = "F32",
    validate: bool = True,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Dequantize packed rows to ``[rows, k]`` float32 (or float16), original column order.

    Per stored column j of group g, with q the code, v = levels[q] if a level table is given
    else float32(q), and s, z, b the group's scale, zero point and bias as float32
    (every step one IEEE float32 operation, round to nearest even, no fused multiply-add):

    * ``none``:  w = s * (q - 2**(bits-1)) without levels, w = s * v with levels
    * ``int``/``float``: w = s * (v - z)
    * ``bias``:  w = (s * v) + b

    With ``perm``, stored column j is original column perm[j]. F16 output rounds the float32
    result once (to nearest even).
    """
    geo = check_arrays(codes, scales, bits=bits, k=k, group_size=group_size, zero=zero,
                       zeros=zeros, bias=bias, levels=levels, perm=perm,
                       scale_dtype=scale_dtype, zero_dtype=zero_dtype)
    if out_dtype not in ("F32", "F16"):
        raise ArgumentError("out_dtype must be F32 or F16", field="out_dtype", found=out_dtype)
    if validate:
        check_content(geo, codes, scales, zero=zero, zeros=zeros, bias=bias, levels=levels,
                      perm=perm, scale_dtype=scale_dtype, zero_dtype=zero_dtype)
    w = _dequantize_stored(geo, codes, scales, zero, zeros, bias, levels, scale_dtype,
                           zero_dtype)
    target = check_out(out, (geo.rows, geo.k), out_dtype)
    if perm is not None:
        unpermuted = np.empty_like(w)
        unpermuted[:, perm] = w
        w = unpermuted
    with np.errstate(over="ignore"):  # overflow to infinity is the defined F16 result
        target[...] = w
    return target


def _dequantize_stored(geo: Geometry, codes: np.ndarray, scales: np.ndarray, zero: str,
                       zeros: np.ndarray | None, bias: np.ndarray | None,
                       levels: np.ndarray | None, scale_dtype: str,
                       zero_dtype: str | None) -> np.ndarray:
    """Dequantized values in stored column order (QF-BITPACK-020..024)."""
    q = unpack_codes(codes, geo.bits, geo.k)
    gi = group_index(geo.k, geo.group_size)
    s = to_float32(scales, scale_dtype)[:, gi]
    if levels is not None:
        v = levels[q]
    elif zero == "none":  # exact in float32: |q - 2**(bits-1)| <= 128
        v = q.astype(np.float32) - np.float32(1 << (geo.bits - 1))
    else:
        v = q.astype(np.float32)
    if zero == "none":
        return s * v
    if zero == "int":
        return s * (v - zeros.astype(np.float32)[:, gi])
    if zero == "float":
        return s * (v - to_float32(zeros, zero_dtype)[:, gi])
    b = to_float32(bias, zero_dtype)[:, gi]
    return (s * v) + b


def linear(
    x: np.ndarray,
    codes: np.ndarray,
    scales: np.ndarray,
    *,
    bits: int,
    k: int,
    group_size: int,
    zero: str = "none",
    zeros: np.ndarray | None = None,
    bias: np.ndarray | None = None,
    levels: np.ndarray | None = None,
    perm: np.ndarray | None = None,
    scale_dtype: str = "F32",
    zero_dtype: str | None = None,
    validate: bool = True,
) -> np.ndarray:
    """``x @ W.T`` for x ``[batch, k]`` float32: dequantize, then a float32 matmul."""
    if not isinstance(x, np.ndarray) or x.ndim != 2 or x.dtype != np.float32:
        raise ArgumentError("x must be a 2-D float32 array [batch, k]", field="x",
                            found=getattr(x, "dtype", type(x).__name__))
    if x.shape[1] != k:
        raise ArgumentError("x's last dimension must equal k", field="x.shape",
                            expected=f"[batch, {k}]", found=x.shape)
    w = dequantize(codes, scales, bits=bits, k=k, group_size=group_size, zero=zero,
                   zeros=zeros, bias=bias, levels=levels, perm=perm, scale_dtype=scale_dtype,
                   zero_dtype=zero_dtype, validate=validate)
    return np.matmul(x, w.T)
