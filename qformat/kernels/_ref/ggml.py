"""Plain-numpy references for the ggml dequantization kernels in :mod:`qformat.kernels.ggml`.

Each function takes the raw little-endian blocks of one ggml type (a ``uint8`` array whose
size is a multiple of the type's block bytes) and returns the flat float32 values, in ggml's
element order. The arithmetic is done in float32 in the same order as ggml's ``to_float`` and
gguf-py's ``gguf.quants.dequantize``, so results are bit-identical to both (tests check).

Block layouts (bytes, in order; ``f16`` little-endian IEEE half, ``QK_K`` = 256):

====== ==================================================================================
Q4_0   d f16 | qs[16]: weight j<16 = low nibble of qs[j], j>=16 = high nibble of qs[j-16]
Q4_1   d f16 | m f16 | qs[16]                 (w = d*q + m)
Q5_0   d f16 | qh u32 (bit j = 5th bit of weight j) | qs[16]    (w = d*(q-16))
Q5_1   d f16 | m f16 | qh u32 | qs[16]        (w = d*q + m)
Q8_0   d f16 | qs int8[32]
Q2_K   scales[16] (lo nibble scale, hi nibble min) | qs[64] | d f16 | dmin f16
Q3_K   hmask[32] | qs[64] | scales[12] (16 six-bit scales, -32) | d f16
Q4_K   d f16 | dmin f16 | scales[12] (8 six-bit scales + 8 six-bit mins) | qs[128]
Q5_K   d f16 | dmin f16 | scales[12] | qh[32] | qs[128]
Q6_K   ql[128] | qh[64] | scales int8[16] | d f16
IQ4_NL d f16 | qs[16]  (values from a 16-entry non-linear table)
IQ4_XS d f16 | scales_h u16 | scales_l[4] | qs[128]
MXFP4  e E8M0 | qs[16] (E2M1 codes, table values doubled; scale is 2**(e-128))
====== ==================================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, wraps

import numpy as np

from ...errors import ArgumentError, UnsupportedError

__all__ = [
    "BLOCK_GEOMETRY",
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
    "iq4_nl_values",
    "mxfp4_values",
]

QK_K = 256

#: (weights per block, bytes per block) of each layout implemented here, from the struct
#: definitions above. A test checks them against the installed gguf package's sizes.
BLOCK_GEOMETRY: dict[str, tuple[int, int]] = {
    "F32": (1, 4),
    "F16": (1, 2),
    "BF16": (1, 2),
    "Q4_0": (32, 2 + 16),
    "Q4_1": (32, 2 + 2 + 16),
    "Q5_0": (32, 2 + 4 + 16),
    "Q5_1": (32, 2 + 2 + 4 + 16),
    "Q8_0": (32, 2 + 32),
    "Q2_K": (QK_K, QK_K // 16 + QK_K // 4 + 2 + 2),
    "Q3_K": (QK_K, QK_K // 8 + QK_K // 4 + 12 + 2),
    "Q4_K": (QK_K, 2 + 2 + 12 + QK_K // 2),
    "Q5_K": (QK_K, 2 + 2 + 12 + QK_K // 8 + QK_K // 2),
    "Q6_K": (QK_K, QK_K // 2 + QK_K // 4 + QK_K // 16 + 2),
    "IQ4_NL": (32, 2 + 16),
    "IQ4_XS": (QK_K, 2 + 2 + QK_K // 64 + QK_K // 2),
    "MXFP4": (32, 1 + 16),
}


@cache
def iq4_nl_values() -> np.ndarray:
    """The 16 IQ4_NL/IQ4_XS code values (int8), taken from the installed gguf package."""
    try:
        from gguf.quants import IQ4_NL
        values = np.array(IQ4_NL.kvalues, dtype=np.int8)
    except (ImportError, AttributeError) as exc:
        raise UnsupportedError(f"IQ4 code table needs the gguf package ({exc})",
                               field="IQ4_NL.kvalues") from None
    if values.shape != (16,):
        raise UnsupportedError("unexpected IQ4_NL code table in the gguf package",
                               field="IQ4_NL.kvalues", expected="16 values", found=values.shape)
    values.flags.writeable = False
    return values


@cache
def mxfp4_values() -> np.ndarray:
    """The 16 E2M1 code values, doubled (int8), taken from the installed gguf package."""
    try:
        from gguf.quants import MXFP4
        values = np.array(MXFP4.kvalues, dtype=np.int8)
    except (ImportError, AttributeError) as exc:
        raise UnsupportedError(f"MXFP4 code table needs the gguf package ({exc})",
                               field="MXFP4.kvalues") from None
    if values.shape != (16,):
        raise UnsupportedError("unexpected MXFP4 code table in the gguf package",
                               field="MXFP4.kvalues", expected="16 values", found=values.shape)
    values.flags.writeable = False
    return values


def _quiet(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """Silence numpy's overflow/invalid warnings: NaN and inf scales decode to NaN and inf."""

    @wraps(fn)
    def run(data: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return fn(data)

    return run


def _blocks(data: np.ndarray, type_name: str) -> np.ndarray:
    """``data`` as a (n_blocks, type_size) uint8 array; ArgumentError if it cannot be."""
    data = np.asarray(data)
    if data.dtype != np.uint8:
        raise ArgumentError(f"{type_name} blocks must be uint8", field="dtype",
                            expected="uint8", found=str(data.dtype))
    size = BLOCK_GEOMETRY[type_name][1]
    if data.size % size:
        raise ArgumentError(f"{type_name} data is not a whole number of blocks", field="size",
                            expected=f"a multiple of {size} bytes", found=data.size)
    return np.ascontiguousarray(data).reshape(-1, size)


def _f16(blocks: np.ndarray, start: int) -> np.ndarray:
    """The little-endian half at byte ``start`` of every block, as float32, shape (n, 1)."""
    return blocks[:, start:start + 2].copy().view("<f2").astype(np.float32)


def _nibbles(qs: np.ndarray) -> np.ndarray:
    """(n, k) bytes -> (n, 2k): the k low nibbles, then the k high nibbles."""
    return np.concatenate([qs & 0x0F, qs >> 4], axis=-1)


# --- plain types -------------------------------------------------------------------------------
def dequant_f32(data: np.ndarray) -> np.ndarray:
    """Little-endian float32 bytes (or a float32 array) -> float32 copy."""
    data = np.asarray(data)
    if data.dtype == np.uint8:
        return _blocks(data, "F32").view("<f4").astype(np.float32).reshape(-1)
    return np.array(data, dtype=np.float32).reshape(-1)


def dequant_f16(data: np.ndarray) -> np.ndarray:
    """IEEE half bit patterns (uint16, or raw uint8 bytes) -> float32."""
    data = np.asarray(data)
    if data.dtype == np.uint8:
        data = _blocks(data, "F16").view("<u2")
    return np.asarray(data, dtype=np.uint16).view(np.float16).astype(np.float32).reshape(-1)


def dequant_bf16(data: np.ndarray) -> np.ndarray:
    """bfloat16 bit patterns (uint16, or raw uint8 bytes) -> float32 (the top 16 bits)."""
    data = np.asarray(data)
    if data.dtype == np.uint8:
        data = _blocks(data, "BF16").view("<u2")
    bits = np.asarray(data, dtype=np.uint16).astype(np.uint32) << 16
    return bits.view(np.float32).reshape(-1)


# --- 32-weight blocks --------------------------------------------------------------------------
@_quiet
def dequant_q4_0(data: np.ndarray) -> np.ndarray:
    b = _blocks(data, "Q4_0")
    d = _f16(b, 0)
    q = _nibbles(b[:, 2:18]).astype(np.int8) - np.int8(8)
    return (d * q.astype(np.float32)).reshape(-1)


@_quiet
def dequant_q4_1(data: np.ndarray) -> np.ndarray:
    b = _blocks(data, "Q4_1")
    d, m = _f16(b, 0), _f16(b, 2)
    q = _nibbles(b[:, 4:20]).astype(np.float32)
    return (d * q + m).reshape(-1)


def _fifth_bits(b: np.ndarray, start: int) -> np.ndarray:
    """Bit j of the little-endian u32 at ``start``, for j = 0..31, shape (n, 32)."""
    qh = b[:, start:start + 4].copy().view("<u4").astype(np.uint32)
    return ((qh >> np.arange(32, dtype=np.uint32)) & 1).astype(np.uint8)


@_quiet
def dequant_q5_0(data: np.ndarray) -> np.ndarray:
    b = _blocks(data, "Q5_0")
    d = _f16(b, 0)
    q = (_nibbles(b[:, 6:22]) | (_fifth_bits(b, 2) << 4)).astype(np.int8) - np.int8(16)
    return (d * q.astype(np.float32)).reshape(-1)


@_quiet
def dequant_q5_1(data: np.ndarray) -> np.ndarray:
    b = _blocks(data, "Q5_1")
    d, m = _f16(b, 0), _f16(b, 2)
    q = (_nibbles(b[:, 8:24]) | (_fifth_bits(b, 4) << 4)).astype(np.float32)
    return (d * q + m).reshape(-1)


@_quiet
def dequant_q8_0(data: np.ndarray) -> np.ndarray:
    b = _blocks(data, "Q8_0")
    d = _f16(b, 0)
    return (b[:, 2:34].view(np.int8).astype(np.float32) * d).reshape(-1)


@_quiet
def dequant_iq4_nl(data: np.ndarray) -> np.ndarray:
    b = _blocks(data, "IQ4_NL")
    d = _f16(b, 0)
    q = iq4_nl_values()[_nibbles(b[:, 2:18])].astype(np.float32)
    return (d * q).reshape(-1)


def _e8m0_half(e: np.ndarray) -> np.ndarray:
    """E8M0 exponent byte -> 2**(e-128) as float32 (half the MX scale, as ggml stores it)."""
    e = e.astype(np.uint32)
    bits = np.where(e < 2, np.uint32(0x00200000) << e, (e - 1) << 23).astype(np.uint32)
    return bits.view(np.float32)


@_quiet
def dequant_mxfp4(data: np.ndarray) -> np.ndarray:
    b = _blocks(data, "MXFP4")
    d = _e8m0_half(b[:, 0:1])
    q = mxfp4_values()[_nibbles(b[:, 1:17])].astype(np.float32)
    return (d * q).reshape(-1)


# --- 256-weight super-blocks (K-quants) ------------------------------------------------------
def _crumbs(qs: np.ndarray) -> np.ndarray:
    """(n, 32*h) bytes -> (n, 128*h) 2-bit values: per 32-byte half, shifts 0, 2, 4, 6."""
    n, k = qs.shape
    halves = qs.reshape(n, k // 32, 1, 32) >> np.array([0, 2, 4, 6], np.uint8).reshape(1, 1, 4, 1)
    return (halves & 3).reshape(n, -1)


@_quiet
def dequant_q2_k(data: np.ndarray) -> np.ndarray:
    b = _blocks(data, "Q2_K")
    n = b.shape[0]
    scales = b[:, 0:16]
    d, dmin = _f16(b, 80), _f16(b, 82)
    dl = (d * (scales & 0x0F).astype(np.float32)).reshape(n, 16, 1)
    ml = (dmin * (scales >> 4).astype(np.float32)).reshape(n, 16, 1)
    q = _crumbs(b[:, 16:80]).reshape(n, 16, 16).astype(np.float32)
    return (dl * q - ml).reshape(-1)


def _q3_k_scales(sc: np.ndarray) -> np.ndarray:
    """12 bytes -> 16 signed six-bit scales: low 4 bits from bytes 0-7, high 2 from 8-11."""
    n = sc.shape[0]
    low = np.concatenate([sc[:, 0:8] & 0x0F, sc[:, 0:8] >> 4], axis=-1)
    high = sc[:, 8:12].reshape(n, 1, 4) >> np.array([0, 2, 4, 6], np.uint8).reshape(1, 4, 1)
    high = (high & 3).reshape(n, 16)
    return (low | (high << 4)).astype(np.int8) - np.int8(32)


@_quiet
def dequant_q3_k(data: np.ndarray) -> np.ndarray:
    b = _blocks(data, "Q3_K")
    n = b.shape[0]
    hmask, qs, sc = b[:, 0:32], b[:, 32:96], b[:, 96:108]
    d = _f16(b, 108)
    dl = (d * _q3_k_scales(sc).astype(np.float32)).reshape(n, 16, 1)
    low = _crumbs(qs)
    # bit i//32 of hmask[i%32] set means no offset; clear means subtract 4
    high = (hmask.reshape(n, 1, 32) >> np.arange(8, dtype=np.uint8).reshape(1, 8, 1)) & 1
    high = high.reshape(n, QK_K) ^ 1
    q = (low.astype(np.int8) - (high << 2).astype(np.int8)).astype(np.float32)
    return (dl * q.reshape(n, 16, 16)).reshape(-1)


def _k_scale_min(sc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q4_K/Q5_K: 12 bytes -> 8 six-bit scales and 8 six-bit mins (uint8)."""
    a, m, md = sc[:, 0:4], sc[:, 4:8], sc[:, 8:12]
    scale = np.concatenate([a & 0x3F, (md & 0x0F) | ((a >> 2) & 0x30)], axis=-1)
    mins = np.concatenate([m & 0x3F, (md >> 4) | ((m >> 2) & 0x30)], axis=-1)
    return scale, mins


def _k_nibbles(qs: np.ndarray) -> np.ndarray:
    """(n, 128) -> (n, 8, 32): sub-block 2c is the low nibbles of bytes 32c..32c+31, 2c+1 high."""
    n = qs.shape[0]
    q = qs.reshape(n, 4, 1, 32) >> np.array([0, 4], np.uint8).reshape(1, 1, 2, 1)
    return (q & 0x0F).reshape(n, 8, 32)


@_quiet
def dequant_q4_k(data: np.ndarray) -> np.ndarray:
    b = _blocks(data, "Q4_K")
    n = b.shape[0]
    d, dmin = _f16(b, 0), _f16(b, 2)
    scale, mins = _k_scale_min(b[:, 4:16])
    dl = (d * scale.astype(np.float32)).reshape(n, 8, 1)
    ml = (dmin * mins.astype(np.float32)).reshape(n, 8, 1)
    q = _k_nibbles(b[:, 16:144]).astype(np.float32)
    return (dl * q - ml).reshape(-1)


@_quiet
def dequant_q5_k(data: np.ndarray) -> np.ndarray:
    b = _blocks(data, "Q5_K")
    n = b.shape[0]
    d, dmin = _f16(b, 0), _f16(b, 2)
    scale, mins = _k_scale_min(b[:, 4:16])
    dl = (d * scale.astype(np.float32)).reshape(n, 8, 1)
    ml = (dmin * mins.astype(np.float32)).reshape(n, 8, 1)
    # bit k of qh[j] is the fifth bit of weight j of sub-block k
    high = (b[:, 16:48].reshape(n, 1, 32) >> np.arange(8, dtype=np.uint8).reshape(1, 8, 1)) & 1
    q = (_k_nibbles(b[:, 48:176]) | (high << 4)).astype(np.float32)
    return (dl * q - ml).reshape(-1)


@_quiet
def dequant_q6_k(data: np.ndarray) -> np.ndarray:
    b = _blocks(data, "Q6_K")
    n = b.shape[0]
    ql, qh, sc = b[:, 0:128], b[:, 128:192], b[:, 192:208].view(np.int8)
    d = _f16(b, 208)
    dl = (d * sc.astype(np.float32)).reshape(n, 16, 1)
    # per 128-weight half: 64 low-nibble weights, then 64 high-nibble weights
    low = ql.reshape(n, 2, 1, 64) >> np.array([0, 4], np.uint8).reshape(1, 1, 2, 1)
    low = (low & 0x0F).reshape(n, QK_K)
    high = _crumbs(qh)
    q = (low | (high << 4)).astype(np.int8) - np.int8(32)
    return (dl * q.astype(np.float32).reshape(n, 16, 16)).reshape(-1)


@_quiet
def dequant_iq4_xs(data: np.ndarray) -> np.ndarray:
    b = _blocks(data, "IQ4_XS")
    n = b.shape[0]
    d = _f16(b, 0)
    sh = b[:, 2:4].copy().view("<u2").astype(np.uint16)
    sl = b[:, 4:8]
    low = np.stack([sl & 0x0F, sl >> 4], axis=-1).reshape(n, 8)
    high = ((sh >> (2 * np.arange(8, dtype=np.uint16))) & 3).astype(np.uint8)
    scale = (low | (high << 4)).astype(np.int8) - np.int8(32)
    dl = (d * scale.astype(np.float32)).reshape(n, 8, 1)
    qs = b[:, 8:136].reshape(n, 8, 16)
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=-1)
    values = iq4_nl_values()[q].astype(np.float32)
    return (dl * values).reshape(-1)
