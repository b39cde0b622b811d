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
TQ1_0  qs[48] | qh[4] (base-3 digits, w = d*(t-1)) | d f16
TQ2_0  qs[64] (2-bit values, w = d*(q-1)) | d f16
NVFP4  4 x UE4M3 sub-block scales | qs[32] (E2M1 codes, table doubled, scales halved)
====== ==================================================================================

Each block type is taken apart by ``split_<type>`` into a :class:`BlockFields` (unsigned
codes, one float scale per group, an optional level table, min or offset) and decoded by
:func:`combine`; ``dequant_<type>`` is the two in a row. The lossless importer
(:mod:`qformat.readers._gguf_lossless`) hands the same fields to the ``bitpack`` layout, whose
float32 formulas are these. TQ1_0, TQ2_0 and NVFP4 have splits (for that importer) but no
kernel: ``get`` decodes them with gguf-py.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import NamedTuple

import numpy as np

from ...errors import ArgumentError, UnsupportedError

__all__ = [
    "BLOCK_GEOMETRY",
    "SPLITTERS",
    "SPLIT_ONLY_GEOMETRY",
    "BlockFields",
    "combine",
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
    "split_iq4_nl",
    "split_iq4_xs",
    "split_mxfp4",
    "split_nvfp4",
    "split_q2_k",
    "split_q3_k",
    "split_q4_0",
    "split_q4_1",
    "split_q4_k",
    "split_q5_0",
    "split_q5_1",
    "split_q5_k",
    "split_q6_k",
    "split_q8_0",
    "split_tq1_0",
    "split_tq2_0",
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

#: The same for the types split here but decoded by gguf-py (no qformat kernel).
SPLIT_ONLY_GEOMETRY: dict[str, tuple[int, int]] = {
    "TQ1_0": (QK_K, (QK_K - 4 * QK_K // 64) // 5 + QK_K // 64 + 2),
    "TQ2_0": (QK_K, QK_K // 4 + 2),
    "NVFP4": (64, 4 + 32),
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


def _blocks(data: np.ndarray, type_name: str) -> np.ndarray:
    """``data`` as a (n_blocks, type_size) uint8 array; ArgumentError if it cannot be."""
    data = np.asarray(data)
    if data.dtype != np.uint8:
        raise ArgumentError(f"{type_name} blocks must be uint8", field="dtype",
                            expected="uint8", found=str(data.dtype))
    size = (BLOCK_GEOMETRY.get(type_name) or SPLIT_ONLY_GEOMETRY[type_name])[1]
    if data.size % size:
        raise ArgumentError(f"{type_name} data is not a whole number of blocks", field="size",
                            expected=f"a multiple of {size} bytes", found=data.size)
    return np.ascontiguousarray(data).reshape(-1, size)


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


# --- block types as fields: codes, group scales, level tables ----------------------------------
class BlockFields(NamedTuple):
    """A tensor's ggml blocks taken apart into the terms of their float32 decode.

    For each group of ``group_size`` consecutive weights (a whole 32-weight block, or one
    sub-block of a 256-weight super-block), with ``s`` the group's ``scale``::

        w = s * v           v = levels[code] with a level table, else float32(code) - offset
        w = (s * v) + add   Q4_1, Q5_1 (add = the stored min m)
        w = (s * v) - sub   Q2_K, Q4_K, Q5_K (sub = dmin * m)

    every step one float32 operation, in ggml's order: :func:`combine` is the decode. Codes are
    unsigned (signed ggml values are stored shifted by ``offset``). A float16 ``scale``/``add``
    is the half stored in the block; a float32 ``scale``/``sub`` is a product of a half and a
    small integer (``d * sc``, ``dmin * m``), which float32 holds exactly (at most 11 + 8
    significant bits, magnitudes within 2**-24 .. 2**23), or a decoded power-of-two or E4M3
    scale (MXFP4, NVFP4).
    """

    codes: np.ndarray  #: (n_blocks, block) uint8, each < 2**bits
    bits: int
    group_size: int
    scale: np.ndarray  #: (n_blocks, block // group_size), float16 or float32
    offset: int = 0
    levels: np.ndarray | None = None  #: int8 [2**bits]: code -> value
    add: np.ndarray | None = None  #: float16, same shape as scale
    sub: np.ndarray | None = None  #: float32, same shape as scale


def combine(fields: BlockFields) -> np.ndarray:
    """The flat float32 values of split blocks (the decode documented on BlockFields)."""
    n, block = fields.codes.shape
    groups = block // fields.group_size
    if fields.levels is not None:
        v = fields.levels[fields.codes].astype(np.float32)
    else:
        v = fields.codes.astype(np.float32) - np.float32(fields.offset)
    s = fields.scale.astype(np.float32).reshape(n, groups, 1)
    w = s * v.reshape(n, groups, fields.group_size)
    if fields.add is not None:
        w = w + fields.add.astype(np.float32).reshape(n, groups, 1)
    if fields.sub is not None:
        w = w - fields.sub.reshape(n, groups, 1)
    return w.reshape(-1)


def _half(blocks: np.ndarray, start: int) -> np.ndarray:
    """The little-endian half at byte ``start`` of every block, as float16, shape (n, 1)."""
    return blocks[:, start:start + 2].copy().view("<f2").astype(np.float16)


# --- 32-weight blocks --------------------------------------------------------------------------
def _fifth_bits(b: np.ndarray, start: int) -> np.ndarray:
    """Bit j of the little-endian u32 at ``start``, for j = 0..31, shape (n, 32)."""
    qh = b[:, start:start + 4].copy().view("<u4").astype(np.uint32)
    return ((qh >> np.arange(32, dtype=np.uint32)) & 1).astype(np.uint8)


def split_q4_0(data: np.ndarray) -> BlockFields:
    b = _blocks(data, "Q4_0")
    return BlockFields(_nibbles(b[:, 2:18]), 4, 32, _half(b, 0), offset=8)


def split_q4_1(data: np.ndarray) -> BlockFields:
    b = _blocks(data, "Q4_1")
    return BlockFields(_nibbles(b[:, 4:20]), 4, 32, _half(b, 0), add=_half(b, 2))


def split_q5_0(data: np.ndarray) -> BlockFields:
    b = _blocks(data, "Q5_0")
    codes = _nibbles(b[:, 6:22]) | (_fifth_bits(b, 2) << 4)
    return BlockFields(codes, 5, 32, _half(b, 0), offset=16)


def split_q5_1(data: np.ndarray) -> BlockFields:
    b = _blocks(data, "Q5_1")
    codes = _nibbles(b[:, 8:24]) | (_fifth_bits(b, 4) << 4)
    return BlockFields(codes, 5, 32, _half(b, 0), add=_half(b, 2))


def split_q8_0(data: np.ndarray) -> BlockFields:
    b = _blocks(data, "Q8_0")
    return BlockFields(b[:, 2:34] ^ np.uint8(0x80), 8, 32, _half(b, 0), offset=128)


def split_iq4_nl(data: np.ndarray) -> BlockFields:
    b = _blocks(data, "IQ4_NL")
    return BlockFields(_nibbles(b[:, 2:18]), 4, 32, _half(b, 0), levels=iq4_nl_values())


def _e8m0_half(e: np.ndarray) -> np.ndarray:
    """E8M0 exponent byte -> 2**(e-128) as float32 (half the MX scale, as ggml stores it)."""
    e = e.astype(np.uint32)
    bits = np.where(e < 2, np.uint32(0x00200000) << e, (e - 1) << 23).astype(np.uint32)
    return bits.view(np.float32)


def split_mxfp4(data: np.ndarray) -> BlockFields:
    b = _blocks(data, "MXFP4")
    return BlockFields(_nibbles(b[:, 1:17]), 4, 32, _e8m0_half(b[:, 0:1]),
                       levels=mxfp4_values())


# --- 256-weight super-blocks (K-quants) ------------------------------------------------------
def _crumbs(qs: np.ndarray) -> np.ndarray:
    """(n, 32*h) bytes -> (n, 128*h) 2-bit values: per 32-byte half, shifts 0, 2, 4, 6."""
    n, k = qs.shape
    halves = qs.reshape(n, k // 32, 1, 32) >> np.array([0, 2, 4, 6], np.uint8).reshape(1, 1, 4, 1)
    return (halves & 3).reshape(n, -1)


def _times(d: np.ndarray, small: np.ndarray) -> np.ndarray:
    """float32 ``d * small`` (exact: a half times an integer of at most 8 bits)."""
    with np.errstate(all="ignore"):  # NaN/inf halves stay NaN/inf
        return d.astype(np.float32) * small.astype(np.float32)


def split_q2_k(data: np.ndarray) -> BlockFields:
    b = _blocks(data, "Q2_K")
    scales = b[:, 0:16]
    d, dmin = _half(b, 80), _half(b, 82)
    return BlockFields(_crumbs(b[:, 16:80]), 2, 16, _times(d, scales & 0x0F),
                       sub=_times(dmin, scales >> 4))


def _q3_k_scales(sc: np.ndarray) -> np.ndarray:
    """12 bytes -> 16 signed six-bit scales: low 4 bits from bytes 0-7, high 2 from 8-11."""
    n = sc.shape[0]
    low = np.concatenate([sc[:, 0:8] & 0x0F, sc[:, 0:8] >> 4], axis=-1)
    high = sc[:, 8:12].reshape(n, 1, 4) >> np.array([0, 2, 4, 6], np.uint8).reshape(1, 4, 1)
    high = (high & 3).reshape(n, 16)
    return (low | (high << 4)).astype(np.int8) - np.int8(32)


def split_q3_k(data: np.ndarray) -> BlockFields:
    b = _blocks(data, "Q3_K")
    n = b.shape[0]
    hmask, qs, sc = b[:, 0:32], b[:, 32:96], b[:, 96:108]
    # bit i//32 of hmask[i%32] set: value = low 2 bits; clear: low 2 bits - 4. As a code with
    # offset 4 that is low | (bit << 2).
    high = (hmask.reshape(n, 1, 32) >> np.arange(8, dtype=np.uint8).reshape(1, 8, 1)) & 1
    codes = _crumbs(qs) | (high.reshape(n, QK_K) << 2)
    return BlockFields(codes, 3, 16, _times(_half(b, 108), _q3_k_scales(sc)), offset=4)


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


def split_q4_k(data: np.ndarray) -> BlockFields:
    b = _blocks(data, "Q4_K")
    n = b.shape[0]
    d, dmin = _half(b, 0), _half(b, 2)
    scale, mins = _k_scale_min(b[:, 4:16])
    return BlockFields(_k_nibbles(b[:, 16:144]).reshape(n, QK_K), 4, 32, _times(d, scale),
                       sub=_times(dmin, mins))


def split_q5_k(data: np.ndarray) -> BlockFields:
    b = _blocks(data, "Q5_K")
    n = b.shape[0]
    d, dmin = _half(b, 0), _half(b, 2)
    scale, mins = _k_scale_min(b[:, 4:16])
    # bit k of qh[j] is the fifth bit of weight j of sub-block k
    high = (b[:, 16:48].reshape(n, 1, 32) >> np.arange(8, dtype=np.uint8).reshape(1, 8, 1)) & 1
    codes = (_k_nibbles(b[:, 48:176]) | (high << 4)).reshape(n, QK_K)
    return BlockFields(codes, 5, 32, _times(d, scale), sub=_times(dmin, mins))


def split_q6_k(data: np.ndarray) -> BlockFields:
    b = _blocks(data, "Q6_K")
    n = b.shape[0]
    ql, qh, sc = b[:, 0:128], b[:, 128:192], b[:, 192:208].view(np.int8)
    # per 128-weight half: 64 low-nibble weights, then 64 high-nibble weights
    low = ql.reshape(n, 2, 1, 64) >> np.array([0, 4], np.uint8).reshape(1, 1, 2, 1)
    low = (low & 0x0F).reshape(n, QK_K)
    codes = low | (_crumbs(qh) << 4)
    return BlockFields(codes, 6, 16, _times(_half(b, 208), sc), offset=32)


def split_iq4_xs(data: np.ndarray) -> BlockFields:
    b = _blocks(data, "IQ4_XS")
    n = b.shape[0]
    sh = b[:, 2:4].copy().view("<u2").astype(np.uint16)
    sl = b[:, 4:8]
    low = np.stack([sl & 0x0F, sl >> 4], axis=-1).reshape(n, 8)
    high = ((sh >> (2 * np.arange(8, dtype=np.uint16))) & 3).astype(np.uint8)
    scale = (low | (high << 4)).astype(np.int8) - np.int8(32)
    qs = b[:, 8:136].reshape(n, 8, 16)
    codes = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).reshape(n, QK_K)
    return BlockFields(codes, 4, 32, _times(_half(b, 0), scale), levels=iq4_nl_values())


# --- types gguf-py decodes (no qformat kernel), split for lossless import -------------------------
#: Ternary digits -1, 0, +1 as codes 0, 1, 2 (TQ2_0's code 3 decodes to +2 in ggml and gguf-py).
_TERNARY = np.array([-1, 0, 1, 2], dtype=np.int8)
_TERNARY.flags.writeable = False


def split_tq2_0(data: np.ndarray) -> BlockFields:
    """TQ2_0: qs[64] (2-bit values q, w = d * (q - 1)) | d f16."""
    b = _blocks(data, "TQ2_0")
    return BlockFields(_crumbs(b[:, 0:64]), 2, QK_K, _half(b, 64), levels=_TERNARY)


def split_tq1_0(data: np.ndarray) -> BlockFields:
    """TQ1_0: qs[48] | qh[4] | d f16. Each byte holds base-3 digits as a fixed-point fraction:
    digit k of byte x is ``((x * 3**k mod 256) * 3) >> 8``; qs[0:32] give 5 digits per byte
    (160 weights, digit-major), qs[32:48] 5 digits (80), qh 4 digits (16)."""
    b = _blocks(data, "TQ1_0")
    n = b.shape[0]

    def digits(x: np.ndarray, count: int) -> np.ndarray:
        powers = np.array([1, 3, 9, 27, 81][:count], dtype=np.uint8).reshape(1, count, 1)
        shifted = x.reshape(n, 1, -1) * powers  # uint8 arithmetic: mod 256 on purpose
        return ((shifted.astype(np.uint16) * 3) >> 8).astype(np.uint8).reshape(n, -1)

    codes = np.concatenate([digits(b[:, 0:32], 5), digits(b[:, 32:48], 5),
                            digits(b[:, 48:52], 4)], axis=-1)
    return BlockFields(codes, 2, QK_K, _half(b, 52), levels=_TERNARY)


def split_nvfp4(data: np.ndarray) -> BlockFields:
    """NVFP4: 4 UE4M3 sub-block scales | qs[32] (sub-block k: bytes 8k..8k+7, low nibbles are
    weights 0-7, high nibbles 8-15). Scales are decoded by gguf-py's own function, the decoder
    ``get`` uses for this type."""
    from gguf.quants import NVFP4

    b = _blocks(data, "NVFP4")
    n = b.shape[0]
    with np.errstate(all="ignore"):
        scale = np.asarray(NVFP4.ue4m3_to_fp32(b[:, 0:4]), dtype=np.float32)
    qs = b[:, 4:36].reshape(n, 4, 8)
    codes = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).reshape(n, 64)
    return BlockFields(codes, 4, 16, scale, levels=mxfp4_values())


#: Every type :func:`combine` decodes, with the function that splits its blocks.
SPLITTERS: dict[str, Callable[[np.ndarray], BlockFields]] = {
    "Q4_0": split_q4_0, "Q4_1": split_q4_1, "Q5_0": split_q5_0, "Q5_1": split_q5_1,
    "Q8_0": split_q8_0, "Q2_K": split_q2_k, "Q3_K": split_q3_k, "Q4_K": split_q4_k,
    "Q5_K": split_q5_k, "Q6_K": split_q6_k, "IQ4_NL": split_iq4_nl, "IQ4_XS": split_iq4_xs,
    "MXFP4": split_mxfp4, "TQ1_0": split_tq1_0, "TQ2_0": split_tq2_0, "NVFP4": split_nvfp4,
}


# --- dequantization: split, then combine ---------------------------------------------------------
def _dequant(split: Callable[[np.ndarray], BlockFields], data: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):  # NaN and inf scales decode to NaN and inf
        return combine(split(data))


def dequant_q4_0(data: np.ndarray) -> np.ndarray:
    return _dequant(split_q4_0, data)


def dequant_q4_1(data: np.ndarray) -> np.ndarray:
    return _dequant(split_q4_1, data)


def dequant_q5_0(data: np.ndarray) -> np.ndarray:
    return _dequant(split_q5_0, data)


def dequant_q5_1(data: np.ndarray) -> np.ndarray:
    return _dequant(split_q5_1, data)


def dequant_q8_0(data: np.ndarray) -> np.ndarray:
    return _dequant(split_q8_0, data)


def dequant_q2_k(data: np.ndarray) -> np.ndarray:
    return _dequant(split_q2_k, data)


def dequant_q3_k(data: np.ndarray) -> np.ndarray:
    return _dequant(split_q3_k, data)


def dequant_q4_k(data: np.ndarray) -> np.ndarray:
    return _dequant(split_q4_k, data)


def dequant_q5_k(data: np.ndarray) -> np.ndarray:
    return _dequant(split_q5_k, data)


def dequant_q6_k(data: np.ndarray) -> np.ndarray:
    return _dequant(split_q6_k, data)


def dequant_iq4_nl(data: np.ndarray) -> np.ndarray:
    return _dequant(split_iq4_nl, data)


def dequant_iq4_xs(data: np.ndarray) -> np.ndarray:
    return _dequant(split_iq4_xs, data)


def dequant_mxfp4(data: np.ndarray) -> np.ndarray:
    return _dequant(split_mxfp4, data)
