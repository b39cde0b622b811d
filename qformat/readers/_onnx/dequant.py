"""Dequantization of the tensors found by :mod:`.detect`, in numpy, float32 arithmetic.

Each function reproduces the op's definition: ``(q - zero_point) * scale`` with the difference
taken in integers and the product in float32, parameters expanded per tensor, per axis or per
block. Where the op's output is a tensor of a narrower float type (DequantizeLinear or
GatherBlockQuantized with FLOAT16 scales) the result is rounded to that type as the runtime
would, then widened to float32 exactly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...errors import HeaderError, IntegrityError
from .detect import Affine, GatherBQ, NBits
from .types import round_to, to_float32, unpack_bits

if TYPE_CHECKING:
    from .tensors import StoredTensor

__all__ = ["dequant_affine", "dequant_gather", "dequant_nbits", "effective_zero_points",
           "nbits_codes", "unpack_rows"]


def _floats(st: StoredTensor) -> np.ndarray:
    return to_float32(st.values(), st.type)


def _apply(ufunc: np.ufunc, left: np.ndarray, param: np.ndarray, out: np.ndarray,
           q: Affine) -> None:
    """``out = ufunc(left, param expanded)`` in out's dtype, never materializing the expansion.

    Per-tensor and per-axis parameters broadcast as views; blocked parameters broadcast over
    the axis split into ``(blocks, block_size)`` (the partial last block separately).
    """
    dims = out.shape
    if q.granularity == "per-tensor" or param.size == 1:
        ufunc(left, param.reshape(()), out=out, dtype=out.dtype)
        return
    if q.scale_axis_shape is not None:
        ufunc(left, param.reshape(q.scale_axis_shape), out=out, dtype=out.dtype)
        return
    ax = q.axis
    if not q.block_size:
        shape = [1] * len(dims)
        shape[ax] = param.size
        ufunc(left, param.reshape(shape), out=out, dtype=out.dtype)
        return
    bs = q.block_size
    d = dims[ax]
    full = d // bs
    pre, post = dims[:ax], dims[ax + 1:]
    cut = (slice(None),) * ax
    if full:
        o = out[(*cut, slice(0, full * bs))].reshape(*pre, full, bs, *post)
        a = left[(*cut, slice(0, full * bs))].reshape(*pre, full, bs, *post)
        p = param[(*cut, slice(0, full))].reshape(*pre, full, 1, *post)
        if not np.shares_memory(o, out):  # splitting an axis is always a view
            raise AssertionError("blocked view is not a view")
        ufunc(a, p, out=o, dtype=out.dtype)
    if d % bs:
        ufunc(left[(*cut, slice(full * bs, d))], param[(*cut, slice(full, full + 1))],
              out=out[(*cut, slice(full * bs, d))], dtype=out.dtype)


def _all_zero(zero: StoredTensor) -> bool:
    z = zero.values()
    return not z.size or not z.any()


@np.errstate(over="ignore", invalid="ignore")  # inf/NaN scales give inf/NaN, as the op would
def dequant_affine(q: Affine) -> np.ndarray:
    """DequantizeLinear / QOperator / dynamic weights (and implicit-scale int32 biases)."""
    dims = q.codes.dims
    codes = q.codes.values()
    if q.scale_factors:
        scale = _floats(q.scale_factors[0])
        for f in q.scale_factors[1:]:
            scale = scale * _floats(f)
        scale = scale.astype(np.float32)
    else:
        scale = _floats(q.scale)
    out = np.empty(dims, dtype=np.float32)
    t = q.codes.type
    if t.kind == "float":
        left = to_float32(codes, t)
    elif q.zero is None or _all_zero(q.zero):
        left = codes
    elif t.bits <= 16:
        # |q - zp| < 2**17: the float32 difference is exact, as the integer one would be
        _apply(np.subtract, codes, q.zero.values().astype(np.float32), out, q)
        left = out
    else:  # INT32 (biases): the difference is exact in float64, then rounded once to float32
        diff = np.empty(dims, dtype=np.float64)
        _apply(np.subtract, codes, q.zero.values(), diff, q)
        left = diff.astype(np.float32)
    _apply(np.multiply, left, scale, out, q)
    if q.round_output:
        out = round_to(out, q.out_type)
    return out


def unpack_rows(packed: np.ndarray, bits: int, rows: int, count: int) -> np.ndarray:
    """``rows`` independent little-endian bit streams (one per row) -> ``count`` codes each."""
    packed = np.ascontiguousarray(packed, dtype=np.uint8).reshape(rows, -1)
    if (packed.shape[1] * 8) % bits == 0:
        per_row = packed.shape[1] * 8 // bits
        return unpack_bits(packed, bits, rows * per_row).reshape(rows, per_row)[:, :count]
    bitmat = np.unpackbits(packed, axis=1, bitorder="little")[:, :count * bits]
    weights = (1 << np.arange(bits, dtype=np.uint16)).astype(np.uint16)
    return (bitmat.reshape(rows, count, bits).astype(np.uint16) @ weights).astype(np.uint8)


def nbits_codes(q: NBits, *, crop: bool = True) -> np.ndarray:
    """MatMulNBits codes as uint8 ``[N, K]`` (``crop=False``: ``[N, k_blocks*block_size]``)."""
    raw = np.frombuffer(q.codes.raw_bytes() or q.codes.values().tobytes(), dtype=np.uint8)
    per_row = q.k_blocks * q.block_size
    codes = unpack_rows(raw, q.bits, q.N, per_row)
    return codes[:, :q.K] if crop else codes


def effective_zero_points(q: NBits) -> np.ndarray:
    """MatMulNBits zero points as ``[N, k_blocks]`` (int16 for packed, float32 for float)."""
    mid = 1 << (q.bits - 1)
    if q.zero is None:
        return np.full((q.N, q.k_blocks), mid, dtype=np.int16)
    if q.zero.type.name == "UINT8":
        z = q.zero.values().astype(np.uint8)
        return unpack_rows(z, q.bits, q.N, q.k_blocks).astype(np.int16)
    return _floats(q.zero).reshape(q.N, q.k_blocks)


def block_index(q: NBits) -> np.ndarray:
    """Block of each of the K rows: ``k // block_size`` or ``g_idx`` (act-order)."""
    if q.g_idx is None:
        return np.arange(q.K) // q.block_size
    g = q.g_idx.values().astype(np.int64)
    if g.size and (g.min() < 0 or g.max() >= q.k_blocks):
        raise IntegrityError("MatMulNBits g_idx entry out of range", path=q.codes.path,
                             tensor=q.codes.name, field="g_idx",
                             expected=f"0..{q.k_blocks - 1}", found=f"{g.min()}..{g.max()}")
    return g


@np.errstate(over="ignore", invalid="ignore")
def dequant_nbits(q: NBits) -> np.ndarray:
    """MatMulNBits weight as float32 ``[K, N]`` (the MatMul ``B`` it replaced).

    Computed in the stored ``[N, K]`` order (scales broadcast per block, no gather) and
    returned as its transpose: a Fortran-ordered ``[K, N]`` view, so no 4-byte transpose is
    paid unless the caller asks for C order.
    """
    rows, bs = q.k_blocks, q.block_size
    codes = nbits_codes(q, crop=False).reshape(q.N, rows, bs)
    scales = _floats(q.scales).reshape(q.N, rows)
    zero = effective_zero_points(q)
    if q.g_idx is None:
        out = np.empty((q.N, rows, bs), dtype=np.float32)
        c, s, z = codes, scales[:, :, None], zero[:, :, None]
    else:
        blk = block_index(q)
        out = np.empty((q.N, q.K), dtype=np.float32)
        c, s, z = codes.reshape(q.N, -1)[:, :q.K], scales[:, blk], zero[:, blk]
    if zero.dtype != np.int16:
        # float zero points: onnxruntime (the only implementation) computes q*s - s*zp, which
        # rounds differently from (q - zp) * s; follow it so values match the runtime exactly
        np.multiply(c, s, out=out, dtype=np.float32)
        np.subtract(out, s * z, out=out)
    else:  # small integers: exact in float32
        np.subtract(c, z.astype(np.float32), out=out, dtype=np.float32)
        np.multiply(out, s, out=out)
    return out.reshape(q.N, -1)[:, :q.K].T


def _expand_block(param: np.ndarray, shape: tuple[int, ...], axis: int, block: int) -> np.ndarray:
    rep = np.repeat(param, block, axis=axis)
    return np.take(rep, np.arange(shape[axis]), axis=axis)


def gather_codes(q: GatherBQ) -> np.ndarray:
    """GatherBlockQuantized data as integer codes (or float values for float8/float4 data)."""
    if q.codes.type.name == "UINT8" and q.components > 1:
        raw = q.codes.values().astype(np.uint8)
        n = int(np.prod(q.shape, dtype=np.int64))
        return unpack_bits(raw, q.bits, n).reshape(q.shape)
    return q.codes.values()


def gather_zero_points(q: GatherBQ) -> np.ndarray | None:
    """Zero points in the scales' shape (int), or None for float data (no zero point)."""
    t = q.codes.type
    if t.kind == "float":
        return None
    sshape = q.scales.dims
    if q.zero is None:
        value = (1 << (q.bits - 1)) if t.name == "UINT8" else 0
        return np.full(sshape, value, dtype=np.int16)
    z = q.zero.values()
    if t.name == "UINT8" and q.components > 1:
        rows = int(np.prod(sshape[:-1], dtype=np.int64))
        z = unpack_rows(z.astype(np.uint8), q.bits, rows, sshape[-1]).reshape(sshape)
    return z.astype(np.int16)


@np.errstate(over="ignore", invalid="ignore")
def dequant_gather(q: GatherBQ) -> np.ndarray:
    """The whole GatherBlockQuantized table, dequantized, in the data's logical shape."""
    codes = gather_codes(q)
    scales = _floats(q.scales)
    if q.codes.type.kind == "float":
        x = to_float32(codes, q.codes.type)
    else:
        zero = gather_zero_points(q)
        x = (codes.astype(np.int16) - _expand_block(zero, q.shape, q.quantize_axis,
                                                    q.block_size)).astype(np.float32)
    if all(sd == d or i == q.quantize_axis
           for i, (sd, d) in enumerate(zip(scales.shape, q.shape))):
        s = _expand_block(scales, q.shape, q.quantize_axis, q.block_size)
    else:
        s = _broadcast_scales(scales, q)
    y = (x * s).astype(np.float32, copy=False)
    return np.ascontiguousarray(round_to(y, q.scales.type))


def _broadcast_scales(scales: np.ndarray, q: GatherBQ) -> np.ndarray:
    """Float8/float4 data: scale dims of 1 broadcast along their axis."""
    rep = np.repeat(scales, q.block_size, axis=q.quantize_axis)
    rep = np.take(rep, np.arange(q.shape[q.quantize_axis]), axis=q.quantize_axis)
    try:
        return np.broadcast_to(rep, q.shape)
    except ValueError:
        raise HeaderError("GatherBlockQuantized scales do not broadcast to the data",
                          path=q.codes.path, tensor=q.codes.name, field="scales",
                          expected=list(q.shape), found=list(scales.shape)) from None
