"""Jitted dequantization of ggml block types, bit-identical to ggml and gguf-py.

Each public ``dequant_<type>(data)`` takes the raw little-endian bytes of one tensor (``uint8``,
a whole number of blocks; read-only memory maps work) and returns the flat float32 values in
ggml's element order. The numpy references of the same names live in
:mod:`qformat.kernels._ref.ggml`, which also documents every block layout.

Exactness: kernels are compiled with :func:`qformat.kernels._jit.exact` (no fast-math, so no
fused multiply-add) and do the float32 operations in the reference order (``d * q``,
``d * q + m``, ``(d * sc) * q - (dmin * m)``). Half-precision scales are decoded with integer
bit operations, keeping NaN payloads, so that every bit matches numpy's conversion. The one
latitude: where two NaN operands meet (``d * q + m`` with NaN ``d`` and ``m``, only in corrupt
blocks) the result is NaN but which payload survives depends on the operand order the compiler
picks, as IEEE 754 allows.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import ArgumentError, UnsupportedError
from ._bitcast import f32_as_u32, u32_as_f32
from ._jit import exact, prange
from ._ref.ggml import BLOCK_GEOMETRY, iq4_nl_values, mxfp4_values

__all__ = [
    "BLOCK_GEOMETRY",
    "DEQUANTIZERS",
    "dequant_bf16",
    "dequant_f16",
    "dequant_f32",
    "dequant_iq4_nl",
    "dequant_iq4_xs",
    "dequant_mxfp4",
    "dequant_q2_k",
    "dequant_q3_k",
    "dequant_q4_0",
    "dequant_q4_1",
    "dequant_q4_k",
    "dequant_q5_0",
    "dequant_q5_1",
    "dequant_q5_k",
    "dequant_q6_k",
    "dequant_q8_0",
    "dequantize",
]


# --- scalar helpers ----------------------------------------------------------------------------
_u32_as_f32 = u32_as_f32
_f32_as_u32 = f32_as_u32


#: Blocks per parallel work item: big enough to amortise scheduling, small enough to balance.
CHUNK = 512


@exact
def _half_bits(h):  # type: ignore[no-untyped-def]
    """IEEE half bits (uint32 holding 16 bits) -> float32 bits, exactly as numpy converts.

    Branch-free (so loops over it vectorize): normal numbers rebias the exponent, inf/NaN keep
    their payload, zero and subnormals are renormalised by one exact float subtraction whose
    result is only used for them. numba widens uint32 arithmetic to 64 bits, hence the casts.
    """
    o = np.uint32((h & np.uint32(0x7FFF)) << np.uint32(13))
    exp = np.uint32(o & np.uint32(0x0F800000))
    normal = np.uint32(o + np.uint32(112 << 23))
    special = np.uint32(o + np.uint32(224 << 23))
    tiny = _f32_as_u32(_u32_as_f32(np.uint32(o + np.uint32(113 << 23)))
                       - _u32_as_f32(np.uint32(113 << 23)))
    bits = special if exp == np.uint32(0x0F800000) else (tiny if exp == np.uint32(0) else normal)
    return np.uint32(bits | ((h & np.uint32(0x8000)) << np.uint32(16)))


@exact
def _half(lo, hi):  # type: ignore[no-untyped-def]
    """float32 value of the little-endian half stored in bytes ``lo``, ``hi``."""
    return _u32_as_f32(_half_bits(np.uint32(lo) | (np.uint32(hi) << np.uint32(8))))


# Kernel shape: ``b`` is (n_blocks, type_size) uint8, ``out`` is (n_blocks, block_size) float32.
# Inner loop lengths are read from ``out.shape`` rather than written as literals: numba turns
# off LLVM's SLP vectorizer, and constant 16/32-trip loops would be fully unrolled into scalar
# code; loops with a run-time trip count go through the loop vectorizer instead.


# --- plain types -------------------------------------------------------------------------------
@exact(parallel=True)
def _f16(src, out):  # type: ignore[no-untyped-def]
    n = src.shape[0]
    step = CHUNK * 32
    for c in prange((n + step - 1) // step):
        for i in range(c * step, min(n, c * step + step)):
            out[i] = _half_bits(np.uint32(src[i]))


@exact(parallel=True)
def _bf16(src, out):  # type: ignore[no-untyped-def]
    n = src.shape[0]
    step = CHUNK * 32
    for c in prange((n + step - 1) // step):
        for i in range(c * step, min(n, c * step + step)):
            out[i] = np.uint32(np.uint32(src[i]) << np.uint32(16))


# --- 32-weight blocks --------------------------------------------------------------------------
# Bodies index ``b[i, offset + j]`` and ``out[i, offset + j]`` directly rather than through row
# slices: a view made inside the prange loop makes numba assume the arrays may alias, and LLVM
# then guards every vectorized inner loop with run-time overlap checks (10-25 % of the time of
# these short loops, measured).
@exact(parallel=True)
def _q4_0(b, out):  # type: ignore[no-untyped-def]
    n = b.shape[0]
    half = out.shape[1] >> 1
    for c in prange((n + CHUNK - 1) // CHUNK):
        for i in range(c * CHUNK, min(n, c * CHUNK + CHUNK)):
            d = _half(b[i, 0], b[i, 1])
            for j in range(half):
                out[i, j] = d * np.float32((np.int32(b[i, 2 + j]) & 15) - 8)
            for j in range(half):
                out[i, half + j] = d * np.float32((np.int32(b[i, 2 + j]) >> 4) - 8)


@exact(parallel=True)
def _q4_1(b, out):  # type: ignore[no-untyped-def]
    n = b.shape[0]
    half = out.shape[1] >> 1
    for c in prange((n + CHUNK - 1) // CHUNK):
        for i in range(c * CHUNK, min(n, c * CHUNK + CHUNK)):
            d = _half(b[i, 0], b[i, 1])
            m = _half(b[i, 2], b[i, 3])
            for j in range(half):
                out[i, j] = d * np.float32(np.int32(b[i, 4 + j]) & 15) + m
            for j in range(half):
                out[i, half + j] = d * np.float32(np.int32(b[i, 4 + j]) >> 4) + m


@exact
def _u32_le(b, i, k):  # type: ignore[no-untyped-def]
    """The little-endian uint32 at bytes k..k+3 of block i, as int64."""
    return (np.int64(b[i, k]) | (np.int64(b[i, k + 1]) << 8) | (np.int64(b[i, k + 2]) << 16)
            | (np.int64(b[i, k + 3]) << 24))


@exact(parallel=True)
def _q5_0(b, out):  # type: ignore[no-untyped-def]
    n = b.shape[0]
    half = out.shape[1] >> 1
    for c in prange((n + CHUNK - 1) // CHUNK):
        for i in range(c * CHUNK, min(n, c * CHUNK + CHUNK)):
            d = _half(b[i, 0], b[i, 1])
            qh = np.int32(_u32_le(b, i, 2) & 0xFFFF)
            qh2 = np.int32(_u32_le(b, i, 2) >> 16)
            for j in range(half):
                out[i, j] = d * np.float32(((np.int32(b[i, 6 + j]) & 15)
                                            | (((qh >> j) & 1) << 4)) - 16)
            for j in range(half):
                out[i, half + j] = d * np.float32(((np.int32(b[i, 6 + j]) >> 4)
                                                   | (((qh2 >> j) & 1) << 4)) - 16)


@exact(parallel=True)
def _q5_1(b, out):  # type: ignore[no-untyped-def]
    n = b.shape[0]
    half = out.shape[1] >> 1
    for c in prange((n + CHUNK - 1) // CHUNK):
        for i in range(c * CHUNK, min(n, c * CHUNK + CHUNK)):
            d = _half(b[i, 0], b[i, 1])
            m = _half(b[i, 2], b[i, 3])
            qh = np.int32(_u32_le(b, i, 4) & 0xFFFF)
            qh2 = np.int32(_u32_le(b, i, 4) >> 16)
            for j in range(half):
                out[i, j] = d * np.float32((np.int32(b[i, 8 + j]) & 15)
                                           | (((qh >> j) & 1) << 4)) + m
            for j in range(half):
                out[i, half + j] = d * np.float32((np.int32(b[i, 8 + j]) >> 4)
                                                  | (((qh2 >> j) & 1) << 4)) + m


@exact(parallel=True)
def _q8_0(b, out):  # type: ignore[no-untyped-def]
    n = b.shape[0]
    size = out.shape[1]
    for c in prange((n + CHUNK - 1) // CHUNK):
        for i in range(c * CHUNK, min(n, c * CHUNK + CHUNK)):
            d = _half(b[i, 0], b[i, 1])
            for j in range(size):
                out[i, j] = np.float32(np.int8(b[i, 2 + j])) * d


@exact(parallel=True)
def _iq4_nl(b, values, out):  # type: ignore[no-untyped-def]
    n = b.shape[0]
    half = out.shape[1] >> 1
    for c in prange((n + CHUNK - 1) // CHUNK):
        for i in range(c * CHUNK, min(n, c * CHUNK + CHUNK)):
            d = _half(b[i, 0], b[i, 1])
            for j in range(half):
                out[i, j] = d * values[np.int32(b[i, 2 + j]) & 15]
            for j in range(half):
                out[i, half + j] = d * values[np.int32(b[i, 2 + j]) >> 4]


@exact(parallel=True)
def _mxfp4(b, values, out):  # type: ignore[no-untyped-def]
    n = b.shape[0]
    half = out.shape[1] >> 1
    for c in prange((n + CHUNK - 1) // CHUNK):
        for i in range(c * CHUNK, min(n, c * CHUNK + CHUNK)):
            e = np.uint32(b[i, 0])
            if e < 2:
                bits = np.uint32(np.uint32(0x00200000) << e)
            else:
                bits = np.uint32((e - np.uint32(1)) << np.uint32(23))
            d = _u32_as_f32(bits)
            for j in range(half):
                out[i, j] = d * values[np.int32(b[i, 1 + j]) & 15]
            for j in range(half):
                out[i, half + j] = d * values[np.int32(b[i, 1 + j]) >> 4]


# --- 256-weight super-blocks (K-quants) ------------------------------------------------------
@exact(parallel=True)
def _q2_k(b, out):  # type: ignore[no-untyped-def]
    n = b.shape[0]
    sixteen = out.shape[1] >> 4
    for c in prange((n + CHUNK - 1) // CHUNK):
        for i in range(c * CHUNK, min(n, c * CHUNK + CHUNK)):
            d = _half(b[i, 80], b[i, 81])
            dmin = _half(b[i, 82], b[i, 83])
            for k in range(16):  # weights 16k..16k+15: scale byte k
                h, s, g = k >> 3, (k >> 1) & 3, k & 1
                sc = np.int32(b[i, k])
                dl = d * np.float32(sc & 15)
                ml = dmin * np.float32(sc >> 4)
                q = 16 + h * 32 + g * 16
                o = k * 16
                for j in range(sixteen):
                    out[i, o + j] = dl * np.float32((np.int32(b[i, q + j]) >> (2 * s)) & 3) - ml


@exact(parallel=True)
def _q3_k(b, out):  # type: ignore[no-untyped-def]
    n = b.shape[0]
    sixteen = out.shape[1] >> 4
    for c in prange((n + CHUNK - 1) // CHUNK):
        for i in range(c * CHUNK, min(n, c * CHUNK + CHUNK)):
            d = _half(b[i, 108], b[i, 109])
            for k in range(16):  # weights 16k..16k+15
                # six-bit scale k: low nibble of byte k%8 (high nibble if k >= 8), top 2 bits
                # from byte 8 + k%4 at shift 2*(k//4)
                low = (np.int32(b[i, 96 + (k & 7)]) >> (4 * (k >> 3))) & 15
                high = (np.int32(b[i, 104 + (k & 3)]) >> (2 * (k >> 2))) & 3
                dl = d * np.float32((low | (high << 4)) - 32)
                grp = k >> 1  # 32-weight group: h = grp // 4, shift 2 * (grp % 4)
                g = k & 1
                q = 32 + (grp >> 2) * 32 + g * 16
                hm = g * 16
                for j in range(sixteen):
                    v = (np.int32(b[i, q + j]) >> (2 * (grp & 3))) & 3
                    v -= ((~(np.int32(b[i, hm + j]) >> grp)) & 1) << 2
                    out[i, k * 16 + j] = dl * np.float32(v)


@exact
def _k_scale_min(b, i, k):  # type: ignore[no-untyped-def]
    """Q4_K/Q5_K six-bit scale and min of sub-block k (bytes 4..15 of block i)."""
    if k < 4:
        sc = np.int32(b[i, 4 + k]) & 63
        mn = np.int32(b[i, 8 + k]) & 63
    else:
        sc = (np.int32(b[i, 8 + k]) & 15) | ((np.int32(b[i, k]) >> 6) << 4)
        mn = (np.int32(b[i, 8 + k]) >> 4) | ((np.int32(b[i, 4 + k]) >> 6) << 4)
    return sc, mn


@exact(parallel=True)
def _q4_k(b, out):  # type: ignore[no-untyped-def]
    n = b.shape[0]
    size = out.shape[1] >> 3
    for c in prange((n + CHUNK - 1) // CHUNK):
        for i in range(c * CHUNK, min(n, c * CHUNK + CHUNK)):
            d = _half(b[i, 0], b[i, 1])
            dmin = _half(b[i, 2], b[i, 3])
            for p in range(4):  # 64 weights from 32 bytes: low nibbles, then high nibbles
                sc0, mn0 = _k_scale_min(b, i, 2 * p)
                sc1, mn1 = _k_scale_min(b, i, 2 * p + 1)
                d0 = d * np.float32(sc0)
                m0 = dmin * np.float32(mn0)
                d1 = d * np.float32(sc1)
                m1 = dmin * np.float32(mn1)
                q = 16 + p * 32
                o = p * 64
                for j in range(size):
                    out[i, o + j] = d0 * np.float32(np.int32(b[i, q + j]) & 15) - m0
                for j in range(size):
                    out[i, o + size + j] = d1 * np.float32(np.int32(b[i, q + j]) >> 4) - m1


@exact(parallel=True)
def _q5_k(b, out):  # type: ignore[no-untyped-def]
    n = b.shape[0]
    size = out.shape[1] >> 3
    for c in prange((n + CHUNK - 1) // CHUNK):
        for i in range(c * CHUNK, min(n, c * CHUNK + CHUNK)):
            d = _half(b[i, 0], b[i, 1])
            dmin = _half(b[i, 2], b[i, 3])
            for p in range(4):
                sc0, mn0 = _k_scale_min(b, i, 2 * p)
                sc1, mn1 = _k_scale_min(b, i, 2 * p + 1)
                d0 = d * np.float32(sc0)
                m0 = dmin * np.float32(mn0)
                d1 = d * np.float32(sc1)
                m1 = dmin * np.float32(mn1)
                q = 48 + p * 32
                o = p * 64
                for j in range(size):
                    v = (np.int32(b[i, q + j]) & 15) | (((np.int32(b[i, 16 + j]) >> (2 * p)) & 1)
                                                         << 4)
                    out[i, o + j] = d0 * np.float32(v) - m0
                for j in range(size):
                    v = (np.int32(b[i, q + j]) >> 4) | (((np.int32(b[i, 16 + j]) >> (2 * p + 1))
                                                         & 1) << 4)
                    out[i, o + size + j] = d1 * np.float32(v) - m1


@exact(parallel=True)
def _q6_k(b, out):  # type: ignore[no-untyped-def]
    n = b.shape[0]
    sixteen = out.shape[1] >> 4
    for c in prange((n + CHUNK - 1) // CHUNK):
        for i in range(c * CHUNK, min(n, c * CHUNK + CHUNK)):
            d = _half(b[i, 208], b[i, 209])
            # Weights h*128 + s*32 + col (half h, 32-group s, col < 32): low 4 bits are the low
            # (s < 2) or high (s >= 2) nibble of ql[h*64 + (s%2)*32 + col], top 2 bits are
            # qh[h*32 + col] >> 2s; int8 scale per 16 weights. One ql byte feeds groups s and
            # s+2, so each loop writes both (p = s%2, 16 columns g*16.. at a time).
            for h in range(2):
                for p in range(2):
                    lo_shift = 2 * p
                    hi_shift = 2 * p + 4
                    for g in range(2):
                        dl = d * np.float32(np.int8(b[i, 192 + h * 8 + 2 * p + g]))
                        dh = d * np.float32(np.int8(b[i, 196 + h * 8 + 2 * p + g]))
                        ql = h * 64 + p * 32 + g * 16
                        qh = 128 + h * 32 + g * 16
                        o_lo = h * 128 + p * 32 + g * 16
                        o_hi = o_lo + 64
                        for j in range(sixteen):
                            v = np.int32(b[i, ql + j])
                            t = np.int32(b[i, qh + j])
                            out[i, o_lo + j] = dl * np.float32(((v & 15) | (((t >> lo_shift) & 3)
                                                                             << 4)) - 32)
                            out[i, o_hi + j] = dh * np.float32(((v >> 4) | (((t >> hi_shift) & 3)
                                                                             << 4)) - 32)


@exact(parallel=True)
def _iq4_xs(b, values, out):  # type: ignore[no-untyped-def]
    n = b.shape[0]
    sixteen = out.shape[1] >> 4
    for c in prange((n + CHUNK - 1) // CHUNK):
        for i in range(c * CHUNK, min(n, c * CHUNK + CHUNK)):
            d = _half(b[i, 0], b[i, 1])
            sh = np.int32(b[i, 2]) | (np.int32(b[i, 3]) << 8)
            for k in range(8):
                low = (np.int32(b[i, 4 + (k >> 1)]) >> (4 * (k & 1))) & 15
                high = (sh >> (2 * k)) & 3
                dl = d * np.float32((low | (high << 4)) - 32)
                q = 8 + k * 16
                for j in range(sixteen):
                    out[i, k * 32 + j] = dl * values[np.int32(b[i, q + j]) & 15]
                for j in range(sixteen):
                    out[i, k * 32 + 16 + j] = dl * values[np.int32(b[i, q + j]) >> 4]


# --- public wrappers ---------------------------------------------------------------------------
def _blocks(data: np.ndarray, type_name: str) -> np.ndarray:
    """Validate ``data`` and return it as a read-only C-contiguous (n_blocks, bytes) view.

    Always read-only, so that writable and memory-mapped inputs share one compiled signature.
    """
    if not isinstance(data, np.ndarray):
        raise ArgumentError(f"{type_name} data must be a numpy array", field="data",
                            found=type(data).__name__)
    if data.dtype != np.uint8:
        raise ArgumentError(f"{type_name} blocks must be uint8", field="dtype",
                            expected="uint8", found=str(data.dtype))
    size = BLOCK_GEOMETRY[type_name][1]
    if data.size % size:
        raise ArgumentError(f"{type_name} data is not a whole number of blocks", field="size",
                            expected=f"a multiple of {size} bytes", found=data.size)
    view = np.ascontiguousarray(data).reshape(-1, size).view()
    view.flags.writeable = False
    return view


def _output(n_blocks: int, type_name: str, out: np.ndarray | None = None) -> np.ndarray:
    """A (n_blocks, block_size) float32 destination: new, or a view of the caller's ``out``."""
    block = BLOCK_GEOMETRY[type_name][0]
    if out is None:
        return np.empty((n_blocks, block), dtype=np.float32)
    if not isinstance(out, np.ndarray) or out.dtype != np.float32:
        raise ArgumentError("out must be a float32 numpy array", field="out",
                            found=getattr(out, "dtype", type(out).__name__))
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ArgumentError("out must be C-contiguous and writable", field="out")
    if out.size != n_blocks * block:
        raise ArgumentError(f"out has the wrong size for this {type_name} data", field="out",
                            expected=n_blocks * block, found=out.size)
    return out.reshape(n_blocks, block)


def _table(values: np.ndarray) -> np.ndarray:
    table = values.astype(np.float32)
    table.flags.writeable = False
    return table


def _plain_u16(data: np.ndarray, type_name: str) -> np.ndarray:
    if isinstance(data, np.ndarray) and data.dtype == np.uint16:
        view = np.ascontiguousarray(data).reshape(-1).view()
    else:
        view = _blocks(data, type_name).view("<u2").reshape(-1)
    view.flags.writeable = False
    return view


def dequant_f32(data: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Little-endian float32 bytes (or a float32 array) -> a float32 copy."""
    if isinstance(data, np.ndarray) and data.dtype == np.float32:
        src = data.reshape(-1)
    else:
        src = _blocks(data, "F32").view("<f4").reshape(-1)
    dst = _output(src.shape[0], "F32", out).reshape(-1)
    np.copyto(dst, src)
    return dst


def dequant_f16(data: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """IEEE half bit patterns (uint16, or raw uint8 bytes) -> float32."""
    src = _plain_u16(data, "F16")
    dst = _output(src.shape[0], "F16", out).reshape(-1)
    _f16(src, dst.view(np.uint32))
    return dst


def dequant_bf16(data: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """bfloat16 bit patterns (uint16, or raw uint8 bytes) -> float32."""
    src = _plain_u16(data, "BF16")
    dst = _output(src.shape[0], "BF16", out).reshape(-1)
    _bf16(src, dst.view(np.uint32))
    return dst


Dequantizer = Callable[..., np.ndarray]


def _simple(kernel: Callable[..., None], type_name: str) -> Dequantizer:
    def run(data: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        b = _blocks(data, type_name)
        dst = _output(b.shape[0], type_name, out)
        kernel(b, dst)
        return dst.reshape(-1)

    run.__name__ = f"dequant_{type_name.lower()}"
    run.__doc__ = (f"Raw {type_name} blocks (uint8) -> flat float32, bit-exact; written into "
                   "``out`` (float32, C-contiguous, right size) when given.")
    return run


dequant_q4_0 = _simple(_q4_0, "Q4_0")
dequant_q4_1 = _simple(_q4_1, "Q4_1")
dequant_q5_0 = _simple(_q5_0, "Q5_0")
dequant_q5_1 = _simple(_q5_1, "Q5_1")
dequant_q8_0 = _simple(_q8_0, "Q8_0")
dequant_q2_k = _simple(_q2_k, "Q2_K")
dequant_q3_k = _simple(_q3_k, "Q3_K")
dequant_q4_k = _simple(_q4_k, "Q4_K")
dequant_q5_k = _simple(_q5_k, "Q5_K")
dequant_q6_k = _simple(_q6_k, "Q6_K")


def dequant_iq4_nl(data: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Raw IQ4_NL blocks (uint8) -> flat float32, bit-exact (into ``out`` when given)."""
    b = _blocks(data, "IQ4_NL")
    dst = _output(b.shape[0], "IQ4_NL", out)
    _iq4_nl(b, _table(iq4_nl_values()), dst)
    return dst.reshape(-1)


def dequant_iq4_xs(data: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Raw IQ4_XS blocks (uint8) -> flat float32, bit-exact (into ``out`` when given)."""
    b = _blocks(data, "IQ4_XS")
    dst = _output(b.shape[0], "IQ4_XS", out)
    _iq4_xs(b, _table(iq4_nl_values()), dst)
    return dst.reshape(-1)


def dequant_mxfp4(data: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Raw MXFP4 blocks (uint8) -> flat float32, bit-exact (into ``out`` when given)."""
    b = _blocks(data, "MXFP4")
    dst = _output(b.shape[0], "MXFP4", out)
    _mxfp4(b, _table(mxfp4_values()), dst)
    return dst.reshape(-1)


#: ggml type name -> jitted dequantizer (raw bytes in, flat float32 out).
DEQUANTIZERS: dict[str, Dequantizer] = {
    "F32": dequant_f32,
    "F16": dequant_f16,
    "BF16": dequant_bf16,
    "Q4_0": dequant_q4_0,
    "Q4_1": dequant_q4_1,
    "Q5_0": dequant_q5_0,
    "Q5_1": dequant_q5_1,
    "Q8_0": dequant_q8_0,
    "Q2_K": dequant_q2_k,
    "Q3_K": dequant_q3_k,
    "Q4_K": dequant_q4_k,
    "Q5_K": dequant_q5_k,
    "Q6_K": dequant_q6_k,
    "IQ4_NL": dequant_iq4_nl,
    "IQ4_XS": dequant_iq4_xs,
    "MXFP4": dequant_mxfp4,
}


def dequantize(data: np.ndarray, type_name: str, out: np.ndarray | None = None) -> np.ndarray:
    """Raw bytes of ggml type ``type_name`` -> flat float32 (UnsupportedError if no kernel).

    ``out``: an optional float32 C-contiguous array of the right size to write into (reusing
    a buffer avoids the page faults of a fresh 4-bytes-per-weight result).
    """
    fn = DEQUANTIZERS.get(type_name)
    if fn is None:
        raise UnsupportedError("no qformat kernel for this ggml type", field="type",
                               expected=sorted(DEQUANTIZERS), found=type_name)
    return fn(data, out)
