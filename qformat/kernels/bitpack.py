"""Numba kernels of the bitpack layout: pack, unpack, dequantize, fused ``x @ W.T``.

Public wrappers validate every argument (dtype, contiguity, shapes, value ranges) and then call
private jitted bodies, which do no bounds checks. The numpy references with the same names live
in :mod:`qformat.kernels._ref.bitpack`; ``specs/layouts/bitpack.md`` defines the numbers.

How the bodies are organised (and why):

* One compiled specialization per body. Side arrays arrive in three typed slots (uint16 for
  F16/BF16 bits, float32, uint8) plus a kind code, unused slots get empty dummies, and every
  input is passed as a read-only view, so mmap'd and in-memory tensors share one compiled body
  (each extra specialization costs ~1 s of compile on first use).
* F16/BF16 values are decoded from their bits with integer operations: once per group with a
  power-of-two table in dequantization, once per row into a float32 scratch row with
  branch-free loops that vectorize in the GEMV. Exact, and far cheaper than numpy's float16
  conversion.
* The hot loops never shift packed bytes (numba widens ``uint8 >> n`` to 64 bits, which stops
  vectorization); they mask bit fields in place and fold the power of two of the field into a
  pre-scaled copy of x (GEMV) or into an exact multiply by 2**-n (dequantize).
* GEMV bodies index arrays directly inside their prange loop (no row slices or views): numba
  then marks the arrays no-alias and LLVM drops the run-time overlap checks it otherwise puts
  before every vectorized inner loop. Where numba cannot tell an index is non-negative they use
  unsigned indices (its negative-index wraparound select turns vector loads into inserts).
* Dequantization is ``exact`` (no fast-math: bit-identical to the reference); dot products are
  ``fast`` (reassociation lets the reductions vectorize).
* Batch-1 GEMV for 2-, 3- and 4-bit codes in groups of 1, 2, 4 or 8n "lanes" (lane = one 32-bit
  word of 4-bit or 2-bit codes, three words of 3-bit codes) uses explicit LLVM vector IR
  (:mod:`._simd`) instead of autovectorization: eight lanes are unpacked per instruction
  (mask in place or shift down, int-to-float, FMA with x permuted once per call to match the
  lanes), group sums stay in vector registers and each row takes one horizontal sum. The other
  GEMV cases keep the autovectorized byte/chunk bodies; ``SIMD_GEMV = False`` routes everything
  to them (the benchmark times both).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numba
import numpy as np

from ..errors import ArgumentError
from ._bitcast import u32_as_f32
from ._bitpack_common import Geometry, check_arrays, check_content, check_out
from ._jit import exact, fast, prange
from ._simd import (
    v8_add,
    v8_fma,
    v8_hsum,
    v8_load,
    v8_repeat,
    v8_splat,
    v8_store,
    v8_zero,
    w8_and,
    w8_f32,
    w8_load,
    w8_load3,
    w8_shr,
)

__all__ = ["dequantize", "fast_gemv_supported", "linear", "pack_codes", "unpack_codes"]

# kinds of side arrays (scales, zero points, biases)
_F32, _F16, _BF16, _U8 = 0, 1, 2, 3
_KIND = {"F32": _F32, "F16": _F16, "BF16": _BF16, "U8": _U8}
# zero-point modes
_MODE = {"none": 0, "int": 1, "float": 2, "bias": 3}

#: 2**(e-25) for F16 exponent e >= 1, 2**-24 for e = 0 (subnormals): value = mantissa * table[e]
_F16_POW2 = np.array([2.0**-24] + [2.0 ** (e - 25) for e in range(1, 32)], dtype=np.float32)
#: 2**(e-134) for BF16 exponent e >= 1, 2**-133 for e = 0 (all exactly representable in float32)
_BF16_POW2 = np.array([2.0**-133] + [2.0 ** (e - 134) for e in range(1, 256)], dtype=np.float32)

#: below this many values (rows x k x batch) a call runs on one thread: starting a parallel
#: region costs ~20 us on a quiet machine and several ms when the cores are oversubscribed
PARALLEL_MIN_VALUES = 1 << 18
#: rows per parallel work item for kernels that need a scratch row
_CHUNK_ROWS = 16
#: rows dequantized together by the batched kernel (register tile), and tiles per work item
_TILE_ROWS = 4
_TILES_PER_CHUNK = 8


# ---------------------------------------------------------------------------------------------
# scalar helpers
# ---------------------------------------------------------------------------------------------
@exact(inline="always")
def _f16_value(h):  # pragma: no cover - jitted
    """float32 value of F16 bits (finite values; checked before any kernel)."""
    b = np.int64(h)
    e = (b >> 10) & 31
    m = b & 1023
    if e != 0:
        m += 1024
    v = np.float32(m) * _F16_POW2[e]
    return -v if b & 0x8000 else v


@exact(inline="always")
def _bf16_value(h):  # pragma: no cover - jitted
    """float32 value of BF16 bits (finite values)."""
    b = np.int64(h)
    e = (b >> 7) & 255
    m = b & 127
    if e != 0:
        m += 128
    v = np.float32(m) * _BF16_POW2[e]
    return -v if b & 0x8000 else v


@exact(inline="always")
def _side(a16, a32, a8, kind, r, g):  # pragma: no cover - jitted
    """Element [r, g] of a side array held in the slot of its kind, as float32.

    Scales are never U8, so their callers pass the float32 slot in the uint8 position too.
    """
    if kind == 0:
        return a32[r, g]
    if kind == 1:
        return _f16_value(a16[r, g])
    if kind == 2:
        return _bf16_value(a16[r, g])
    return np.float32(a8[r, g])


@exact(inline="always")
def _code(row, j, bits, mask):  # pragma: no cover - jitted
    """Code j of a packed row (generic path): bits j*bits.. of the row's LSB-first stream."""
    p = j * bits
    byte = p >> 3
    shift = p & 7
    w = np.int64(row[byte])
    if shift + bits > 8:
        w |= np.int64(row[byte + 1]) << 8
    return (w >> shift) & mask


@exact(inline="always")
def _f32_to_f16_bits(a):  # pragma: no cover - jitted
    """IEEE binary32 bits (int64, 0..2**32-1) -> binary16 bits, round to nearest even."""
    sign = (a >> 16) & 0x8000
    m = a & 0x7FFFFFFF
    if m >= 0x7F800000:  # inf / nan
        return sign | (0x7C00 if m == 0x7F800000 else 0x7E00)
    if m >= 0x477FF000:  # rounds to >= 65520: overflow
        return sign | 0x7C00
    if m >= 0x38800000:  # normal half: rebias the exponent, round 13 mantissa bits away
        m -= 0x38000000
        return sign | ((m + 0x0FFF + ((m >> 13) & 1)) >> 13)
    e = m >> 23
    if e < 102:  # below half of the smallest subnormal: rounds to zero
        return sign
    mant = (m & 0x7FFFFF) | 0x800000
    shift = 126 - e
    h = mant >> shift
    rem = mant & ((1 << shift) - 1)
    half = 1 << (shift - 1)
    if rem > half or (rem == half and (h & 1)):
        h += 1
    return sign | h


# ---------------------------------------------------------------------------------------------
# row decoding (exact): codes -> v(q), then the group's affine map
# ---------------------------------------------------------------------------------------------
@exact
def _row_values(row, out, bits, k, levels, has_levels):  # pragma: no cover - jitted
    """out[j] = v(q_j): levels[q_j] with a table, else float32(q_j) (exact small integers)."""
    if has_levels:
        mask = (1 << bits) - 1
        if bits == 4:
            for j in range(k >> 1):
                b = np.int64(row[j])
                out[2 * j] = levels[b & 15]
                out[2 * j + 1] = levels[b >> 4]
            if k & 1:
                out[k - 1] = levels[np.int64(row[k >> 1]) & 15]
        elif bits == 8:
            for j in range(k):
                out[j] = levels[np.int64(row[j])]
        else:
            for j in range(k):
                out[j] = levels[_code(row, j, bits, mask)]
        return
    u15 = np.uint8(0x0F)
    uf0 = np.uint8(0xF0)
    if bits == 8:
        for j in range(k):
            out[j] = np.float32(row[j])
    elif bits == 4:
        n = k >> 1
        for j in range(n):
            b = row[j]
            out[2 * j] = np.float32(b & u15)
            out[2 * j + 1] = np.float32(b & uf0) * np.float32(0.0625)
        if k & 1:
            out[k - 1] = np.float32(row[n] & u15)
    elif bits == 2:
        n = k >> 2
        for j in range(n):
            b = row[j]
            out[4 * j] = np.float32(b & np.uint8(0x03))
            out[4 * j + 1] = np.float32(b & np.uint8(0x0C)) * np.float32(0.25)
            out[4 * j + 2] = np.float32(b & np.uint8(0x30)) * np.float32(0.0625)
            out[4 * j + 3] = np.float32(b & np.uint8(0xC0)) * np.float32(0.015625)
        for j in range(n * 4, k):
            out[j] = np.float32(_code(row, j, 2, 3))
    elif bits == 3:
        n = k >> 3
        for c in range(n):
            b0 = row[3 * c]
            b1 = row[3 * c + 1]
            b2 = row[3 * c + 2]
            o = 8 * c
            out[o] = np.float32(b0 & np.uint8(0x07))
            out[o + 1] = np.float32(b0 & np.uint8(0x38)) * np.float32(0.125)
            out[o + 2] = (np.float32(b0 & np.uint8(0xC0)) * np.float32(0.015625)
                          + np.float32(b1 & np.uint8(0x01)) * np.float32(4.0))
            out[o + 3] = np.float32(b1 & np.uint8(0x0E)) * np.float32(0.5)
            out[o + 4] = np.float32(b1 & np.uint8(0x70)) * np.float32(0.0625)
            out[o + 5] = (np.float32(b1 & np.uint8(0x80)) * np.float32(0.0078125)
                          + np.float32(b2 & np.uint8(0x03)) * np.float32(2.0))
            out[o + 6] = np.float32(b2 & np.uint8(0x1C)) * np.float32(0.25)
            out[o + 7] = np.float32(b2 & np.uint8(0xE0)) * np.float32(0.03125)
        for j in range(n * 8, k):
            out[j] = np.float32(_code(row, j, 3, 7))
    else:
        mask = (1 << bits) - 1
        for j in range(k):
            out[j] = np.float32(_code(row, j, bits, mask))


@exact
def _row_affine(out, r, k, gsz, ng, s16, s32, skind, z16, z32, z8, zkind, mode,
                center):  # pragma: no cover - jitted
    """Apply each group's map to v in place (QF-BITPACK-020..024), float32, no FMA."""
    for g in range(ng):
        j0 = g * gsz
        j1 = min(j0 + gsz, k)
        s = _side(s16, s32, s32, skind, r, g)
        seg = out[j0:j1]
        if mode == 0:
            if center != 0:
                c = np.float32(center)
                for j in range(seg.size):
                    seg[j] = s * (seg[j] - c)
            else:
                for j in range(seg.size):
                    seg[j] = s * seg[j]
        elif mode == 3:
            b = _side(z16, z32, z8, zkind, r, g)
            for j in range(seg.size):
                seg[j] = s * seg[j] + b
        else:
            z = _side(z16, z32, z8, zkind, r, g)
            for j in range(seg.size):
                seg[j] = s * (seg[j] - z)


@exact
def _row_fused(row, out, r, bits, k, gsz, ng, s16, s32, skind, z16, z32, z8, zkind,
               mode):  # pragma: no cover - jitted
    """One pass for 2/4/8-bit codes without a table, groups starting on whole bytes: the
    same float32 operations as _row_values + _row_affine, in the same order."""
    per = 8 // bits
    mask = (1 << bits) - 1
    for g in range(ng):
        j0 = g * gsz
        j1 = min(j0 + gsz, k)
        s = _side(s16, s32, s32, skind, r, g)
        if mode == 0:
            z = np.float32(1 << (bits - 1))
        else:
            z = _side(z16, z32, z8, zkind, r, g)
        nbytes = (j1 - j0) // per
        seg = row[j0 // per:j0 // per + nbytes]
        o = out[j0:j0 + nbytes * per]
        if mode == 3:  # (s * v) + b
            if bits == 4:
                for j in range(nbytes):
                    b = seg[j]
                    o[2 * j] = s * np.float32(b & np.uint8(0x0F)) + z
                    o[2 * j + 1] = s * (np.float32(b & np.uint8(0xF0)) * np.float32(0.0625)) + z
            elif bits == 8:
                for j in range(nbytes):
                    o[j] = s * np.float32(seg[j]) + z
            else:
                for j in range(nbytes):
                    b = seg[j]
                    o[4 * j] = s * np.float32(b & np.uint8(0x03)) + z
                    o[4 * j + 1] = s * (np.float32(b & np.uint8(0x0C)) * np.float32(0.25)) + z
                    o[4 * j + 2] = s * (np.float32(b & np.uint8(0x30)) * np.float32(0.0625)) + z
                    o[4 * j + 3] = s * (np.float32(b & np.uint8(0xC0))
                                        * np.float32(0.015625)) + z
        else:  # s * (v - z)
            if bits == 4:
                for j in range(nbytes):
                    b = seg[j]
                    o[2 * j] = s * (np.float32(b & np.uint8(0x0F)) - z)
                    o[2 * j + 1] = s * (np.float32(b & np.uint8(0xF0)) * np.float32(0.0625) - z)
            elif bits == 8:
                for j in range(nbytes):
                    o[j] = s * (np.float32(seg[j]) - z)
            else:
                for j in range(nbytes):
                    b = seg[j]
                    o[4 * j] = s * (np.float32(b & np.uint8(0x03)) - z)
                    o[4 * j + 1] = s * (np.float32(b & np.uint8(0x0C)) * np.float32(0.25) - z)
                    o[4 * j + 2] = s * (np.float32(b & np.uint8(0x30)) * np.float32(0.0625) - z)
                    o[4 * j + 3] = s * (np.float32(b & np.uint8(0xC0)) * np.float32(0.015625)
                                        - z)
        for j in range(j0 + nbytes * per, j1):  # the last group's codes after its last byte
            v = np.float32(_code(row, j, bits, mask))
            out[j] = s * v + z if mode == 3 else s * (v - z)


@exact
def _dequant_row(codes, r, out, bits, k, gsz, ng, s16, s32, skind, z16, z32, z8, zkind,
                 mode, levels, has_levels):  # pragma: no cover - jitted
    if not has_levels and (bits == 2 or bits == 4 or bits == 8) and gsz % (8 // bits) == 0:
        _row_fused(codes[r], out, r, bits, k, gsz, ng, s16, s32, skind, z16, z32, z8, zkind,
                   mode)
        return
    _row_values(codes[r], out, bits, k, levels, has_levels)
    center = (1 << (bits - 1)) if (mode == 0 and not has_levels) else 0
    _row_affine(out, r, k, gsz, ng, s16, s32, skind, z16, z32, z8, zkind, mode, center)


@exact(parallel=True)
def _dequantize(codes, bits, k, gsz, ng, s16, s32, skind, z16, z32, z8, zkind, mode, levels,
                has_levels, perm, has_perm, out32, out16, to_f16):  # pragma: no cover - jitted
    rows = codes.shape[0]
    direct = not has_perm and not to_f16
    nchunks = (rows + _CHUNK_ROWS - 1) // _CHUNK_ROWS
    for c in prange(nchunks):
        r0 = c * _CHUNK_ROWS
        r1 = min(r0 + _CHUNK_ROWS, rows)
        scratch = np.empty(0 if direct else k, dtype=np.float32)
        bits32 = scratch.view(np.int32)
        for r in range(r0, r1):
            if direct:
                _dequant_row(codes, r, out32[r], bits, k, gsz, ng, s16, s32, skind, z16, z32,
                             z8, zkind, mode, levels, has_levels)
                continue
            _dequant_row(codes, r, scratch, bits, k, gsz, ng, s16, s32, skind, z16, z32, z8,
                         zkind, mode, levels, has_levels)
            if to_f16:
                orow16 = out16[r]
                for j in range(k):
                    h = np.uint16(_f32_to_f16_bits(np.int64(bits32[j]) & 0xFFFFFFFF))
                    if has_perm:
                        orow16[perm[j]] = h
                    else:
                        orow16[j] = h
            else:
                orow = out32[r]
                for j in range(k):
                    orow[perm[j]] = scratch[j]


# ---------------------------------------------------------------------------------------------
# pack / unpack
# ---------------------------------------------------------------------------------------------
@exact(parallel=True)
def _pack(codes, bits, out):  # pragma: no cover - jitted
    rows, k = codes.shape
    nbytes = out.shape[1]
    for r in prange(rows):
        src = codes[r]
        dst = out[r]
        for i in range(nbytes):
            dst[i] = 0
        for j in range(k):
            q = np.int64(src[j])
            p = j * bits
            byte = p >> 3
            shift = p & 7
            dst[byte] |= np.uint8((q << shift) & 0xFF)
            if shift + bits > 8:
                dst[byte + 1] |= np.uint8(q >> (8 - shift))


@exact(parallel=True)
def _unpack(packed, bits, k, out):  # pragma: no cover - jitted
    rows = packed.shape[0]
    mask = (1 << bits) - 1
    for r in prange(rows):
        row = packed[r]
        dst = out[r]
        if bits == 4:
            for j in range(k >> 1):
                b = row[j]
                dst[2 * j] = b & np.uint8(0x0F)
                dst[2 * j + 1] = b >> np.uint8(4)
            if k & 1:
                dst[k - 1] = row[k >> 1] & np.uint8(0x0F)
        elif bits == 8:
            for j in range(k):
                dst[j] = row[j]
        else:
            for j in range(k):
                dst[j] = np.uint8(_code(row, j, bits, mask))


# ---------------------------------------------------------------------------------------------
# fused x @ W.T, batch 1 (GEMV)
#
# Both GEMV bodies decode a row's scales (and zero points) to float32 once, into a per-thread
# scratch row, with branch-free loops that vectorize, and fold the zero points out of the dot
# product: y[r] = sum_g s_g * dot(q_g, x_g) + off_r, off_r = sum_g t_g * sum(x_g). They index
# arrays directly (no slices or views inside the prange body), which lets numba mark the
# arrays no-alias: LLVM then drops the run-time overlap checks it would otherwise emit in
# front of every vectorized inner loop. Code fields are masked in place (never shifted: numba
# widens small-int shifts to 64 bits) and multiplied by copies of x pre-scaled by the field's
# power of two, exactly as in dequantization.
#
# * _gemv_bytes (2/4/8 bits, groups of >= _BYTES_MIN_GROUP bytes): vector lanes are bytes; one
#   reduction per group, long enough to amortise its horizontal sum.
# * _gemv_chunks (2/3/4/8 bits, groups of a multiple of 8 codes): vector lanes are chunks of 8
#   codes (``bits`` bytes). Each chunk's scale comes from a per-row expanded scale vector, so
#   the whole row is one unit-stride reduction whatever the group size: small groups (16, as
#   SpQR uses) cost no more than large ones.
# ---------------------------------------------------------------------------------------------
#: smallest group (in packed bytes) that _gemv_bytes takes; smaller groups go to _gemv_chunks
_BYTES_MIN_GROUP = 32
#: codes per chunk of _gemv_chunks (a chunk of ``bits`` whole bytes)
_CHUNK = 8


def _chunk_fields(bits: int) -> list[tuple[int, int, int, float]]:
    """Bit fields of one 8-code chunk: (byte, mask, code, multiplier).

    ``float(byte & mask) * multiplier`` is the field's share of code ``code``'s value; a code
    that straddles two bytes (3 bits) has two fields.
    """
    fields = []
    for code in range(_CHUNK):
        pos, left = bits * code, bits
        while left:
            byte, shift = divmod(pos, 8)
            take = min(left, 8 - shift)
            fields.append((byte, ((1 << take) - 1) << shift, code, 2.0 ** (bits - left - shift)))
            pos, left = pos + take, left - take
    return fields


#: per width (1..8), each chunk field's byte, mask, code and multiplier (padded to 14 fields)
_FIELD_BYTE = np.zeros((9, 14), dtype=np.int64)
_FIELD_MASK = np.zeros((9, 14), dtype=np.uint8)
_FIELD_CODE = np.zeros((9, 14), dtype=np.int64)
_FIELD_MULT = np.zeros((9, 14), dtype=np.float32)
_FIELD_FIRST = np.zeros((9, 14), dtype=np.bool_)  # the first field of its code
_FIELD_COUNT = np.zeros(9, dtype=np.int64)
for _width in range(1, 9):
    _fields = _chunk_fields(_width)
    _FIELD_COUNT[_width] = len(_fields)
    for _i, _field in enumerate(_fields):
        _FIELD_BYTE[_width, _i], _FIELD_MASK[_width, _i] = _field[0], _field[1]
        _FIELD_CODE[_width, _i], _FIELD_MULT[_width, _i] = _field[2], _field[3]
        _FIELD_FIRST[_width, _i] = _i == 0 or _fields[_i - 1][2] != _field[2]
#: widths with a batch-1 GEMV body, and their chunk field counts
_N_FIELDS = {2: 8, 3: 10, 4: 8, 8: 8}


@fast
def _group_sums(xs, k, gsz, ng):  # pragma: no cover - jitted
    sums = np.empty(ng, dtype=np.float32)
    for g in range(ng):
        j0 = g * gsz
        a = np.float32(0)
        for j in range(min(gsz, k - j0)):
            a += xs[j0 + j]
        sums[g] = a
    return sums


@fast
def _byte_planes(xs, k, bits):  # pragma: no cover - jitted
    """x as ``8 // bits`` planes over the whole bytes of a row: plane f, byte j holds
    x[per*j + f] * 2**(-bits*f), the weight of that byte's field f masked in place."""
    per = 8 // bits
    n = k // per
    planes = np.empty((per, n), dtype=np.float32)
    for f in range(per):
        m = np.float32(2.0 ** (-bits * f))
        for j in range(n):
            planes[f, j] = xs[per * j + f] * m
    return planes


@fast
def _chunk_planes(xs, k, bits, nf):  # pragma: no cover - jitted
    """x as one plane per chunk field: plane f, chunk i holds x[8i + code_f] * multiplier_f."""
    nw = k // _CHUNK
    planes = np.empty((nf, nw), dtype=np.float32)
    for f in range(nf):
        c = _FIELD_CODE[bits, f]
        m = _FIELD_MULT[bits, f]
        for i in range(nw):
            planes[f, i] = xs[_CHUNK * i + c] * m
    return planes


@fast(inline="always")
def _half_f32(h):  # pragma: no cover - jitted
    """float32 value of finite F16 bits, branch-free (vectorizes) and without forming float32
    subnormals (correct even where the FPU flushes them): normals get their exponent rebased,
    zeros and subnormals are mantissa * 2**-24."""
    b = np.uint32(h)
    mag = np.uint32(b & np.uint32(0x7FFF))
    normal = u32_as_f32(np.uint32((mag << np.uint32(13)) + np.uint32(0x38000000)))
    tiny = np.float32(mag) * np.float32(2.0**-24)
    v = normal if mag >= np.uint32(0x0400) else tiny
    return -v if b & np.uint32(0x8000) else v


@fast(inline="always")
def _bf16_f32(h):  # pragma: no cover - jitted
    return u32_as_f32(np.uint32(np.uint32(h) << np.uint32(16)))


@fast(inline="always")
def _row_scales(s16, s32, skind, r, ng, sf, t):  # pragma: no cover - jitted
    """sf[t, :ng] = the scales of row r as float32 (one vectorized loop per storage kind)."""
    if skind == 0:
        for g in range(ng):
            sf[t, g] = s32[r, g]
    elif skind == 1:
        for g in range(ng):
            sf[t, g] = _half_f32(s16[r, g])
    else:
        for g in range(ng):
            sf[t, g] = _bf16_f32(s16[r, g])


@fast(inline="always")
def _row_offset(sf, t, r, ng, z16, z32, z8, zkind, mode, center, xsum):  # pragma: no cover
    """off_r = sum_g t_g * sum(x in group g), t_g = -s*center, -s*z or the bias b."""
    a = np.float32(0)
    if mode == 0:
        for g in range(ng):
            a += sf[t, g] * xsum[g]
        return -np.float32(center) * a
    if mode == 3:  # biases (F16/BF16/F32)
        if zkind == 0:
            for g in range(ng):
                a += z32[r, g] * xsum[g]
        elif zkind == 1:
            for g in range(ng):
                a += _half_f32(z16[r, g]) * xsum[g]
        else:
            for g in range(ng):
                a += _bf16_f32(z16[r, g]) * xsum[g]
        return a
    if zkind == 3:  # U8 integer zero points
        for g in range(ng):
            a += sf[t, g] * np.float32(z8[r, g]) * xsum[g]
    elif zkind == 0:
        for g in range(ng):
            a += sf[t, g] * z32[r, g] * xsum[g]
    elif zkind == 1:
        for g in range(ng):
            a += sf[t, g] * _half_f32(z16[r, g]) * xsum[g]
    else:
        for g in range(ng):
            a += sf[t, g] * _bf16_f32(z16[r, g]) * xsum[g]
    return -a


@fast(inline="always")
def _code_at(codes, r, j, bits):  # pragma: no cover - jitted
    """Code j of row r (row tails), read without slicing the row."""
    p = j * bits
    byte = p >> 3
    shift = p & 7
    w = np.int64(codes[r, byte])
    if shift + bits > 8:
        w |= np.int64(codes[r, byte + 1]) << 8
    return np.float32((w >> shift) & ((1 << bits) - 1))


@fast(parallel=True)
def _gemv_bytes(codes, bits, xb, xs, xsum, k, gsz, ng, s16, s32, skind, z16, z32, z8, zkind,
                mode, sf, out):  # pragma: no cover - jitted
    per = 8 // bits
    n = k // per  # whole bytes of a row
    gb = gsz // per  # bytes per group (groups start on whole bytes)
    center = 1 << (bits - 1)
    u = np.uint8
    for r in prange(codes.shape[0]):
        t = numba.get_thread_id()
        _row_scales(s16, s32, skind, r, ng, sf, t)
        off = _row_offset(sf, t, r, ng, z16, z32, z8, zkind, mode, center, xsum)
        y = np.float32(0)
        if bits == 4:
            for g in range(ng):
                b0 = np.uint64(g * gb)  # unsigned indices: no negative-index wraparound code
                a = np.float32(0)
                for j in range(min(gb, n - g * gb)):
                    i = b0 + np.uint64(j)
                    b = codes[r, i]
                    a += np.float32(b & u(0x0F)) * xb[0, i] + np.float32(b & u(0xF0)) * xb[1, i]
                y += sf[t, g] * a
        elif bits == 2:
            for g in range(ng):
                b0 = np.uint64(g * gb)
                a = np.float32(0)
                for j in range(min(gb, n - g * gb)):
                    i = b0 + np.uint64(j)
                    b = codes[r, i]
                    a += ((np.float32(b & u(0x03)) * xb[0, i] + np.float32(b & u(0x0C)) * xb[1, i])
                          + (np.float32(b & u(0x30)) * xb[2, i]
                             + np.float32(b & u(0xC0)) * xb[3, i]))
                y += sf[t, g] * a
        else:
            for g in range(ng):
                b0 = np.uint64(g * gb)
                a = np.float32(0)
                for j in range(min(gb, n - g * gb)):
                    i = b0 + np.uint64(j)
                    a += np.float32(codes[r, i]) * xb[0, i]
                y += sf[t, g] * a
        if n * per < k:  # codes after the last whole byte: in the last group
            y += sf[t, ng - 1] * _tail_dot(codes, r, bits, xs, n * per, k)
        out[r] = y + off


@fast(inline="always")
def _expand_scales(sf, srow, sw, t, ng, cpg, nw):  # pragma: no cover - jitted
    """sw[t, i] = sf[srow, group of chunk i] (cpg chunks per group); small cpg unrolled.

    Indices are unsigned: LLVM cannot prove ``g * cpg`` non-negative, and numba's negative-index
    wraparound select would otherwise turn the stores scalar.
    """
    if cpg == 1:
        for g in range(ng):
            sw[t, np.uint64(g)] = sf[srow, g]
    elif cpg == 2:
        for g in range(ng):
            s = sf[srow, g]
            i = np.uint64(2 * g)
            sw[t, i] = s
            sw[t, i + np.uint64(1)] = s
    elif cpg == 4:
        for g in range(ng):
            s = sf[srow, g]
            i = np.uint64(4 * g)
            sw[t, i] = s
            sw[t, i + np.uint64(1)] = s
            sw[t, i + np.uint64(2)] = s
            sw[t, i + np.uint64(3)] = s
    elif cpg == 8:
        for g in range(ng):
            s = sf[srow, g]
            i = np.uint64(8 * g)
            for lane in range(8):
                sw[t, i + np.uint64(lane)] = s
    else:
        for g in range(ng):
            s = sf[srow, g]
            i0 = np.uint64(g * cpg)
            for i in range(min(cpg, nw - g * cpg)):
                sw[t, i0 + np.uint64(i)] = s


@fast(inline="always")
def _chunk_dot(codes, r, bits, xp, sw, t, nw):  # pragma: no cover - jitted
    """sum over the whole 8-code chunks i of row r of sw[t, i] * dot(codes of chunk i, x)."""
    u = np.uint8
    y = np.float32(0)
    if bits == 4:
        for i in range(nw):
            b0 = codes[r, 4 * i]
            b1 = codes[r, 4 * i + 1]
            b2 = codes[r, 4 * i + 2]
            b3 = codes[r, 4 * i + 3]
            d = ((np.float32(b0 & u(0x0F)) * xp[0, i] + np.float32(b0 & u(0xF0)) * xp[1, i])
                 + (np.float32(b1 & u(0x0F)) * xp[2, i]
                    + np.float32(b1 & u(0xF0)) * xp[3, i])
                 + (np.float32(b2 & u(0x0F)) * xp[4, i]
                    + np.float32(b2 & u(0xF0)) * xp[5, i])
                 + (np.float32(b3 & u(0x0F)) * xp[6, i]
                    + np.float32(b3 & u(0xF0)) * xp[7, i]))
            y += sw[t, i] * d
    elif bits == 3:
        for i in range(nw):
            b0 = codes[r, 3 * i]
            b1 = codes[r, 3 * i + 1]
            b2 = codes[r, 3 * i + 2]
            d = ((np.float32(b0 & u(0x07)) * xp[0, i] + np.float32(b0 & u(0x38)) * xp[1, i]
                  + np.float32(b0 & u(0xC0)) * xp[2, i])
                 + (np.float32(b1 & u(0x01)) * xp[3, i]
                    + np.float32(b1 & u(0x0E)) * xp[4, i]
                    + np.float32(b1 & u(0x70)) * xp[5, i]
                    + np.float32(b1 & u(0x80)) * xp[6, i])
                 + (np.float32(b2 & u(0x03)) * xp[7, i]
                    + np.float32(b2 & u(0x1C)) * xp[8, i]
                    + np.float32(b2 & u(0xE0)) * xp[9, i]))
            y += sw[t, i] * d
    elif bits == 2:
        for i in range(nw):
            b0 = codes[r, 2 * i]
            b1 = codes[r, 2 * i + 1]
            d = ((np.float32(b0 & u(0x03)) * xp[0, i] + np.float32(b0 & u(0x0C)) * xp[1, i]
                  + np.float32(b0 & u(0x30)) * xp[2, i]
                  + np.float32(b0 & u(0xC0)) * xp[3, i])
                 + (np.float32(b1 & u(0x03)) * xp[4, i]
                    + np.float32(b1 & u(0x0C)) * xp[5, i]
                    + np.float32(b1 & u(0x30)) * xp[6, i]
                    + np.float32(b1 & u(0xC0)) * xp[7, i]))
            y += sw[t, i] * d
    else:
        for i in range(nw):
            d = ((np.float32(codes[r, 8 * i]) * xp[0, i]
                  + np.float32(codes[r, 8 * i + 1]) * xp[1, i]
                  + np.float32(codes[r, 8 * i + 2]) * xp[2, i]
                  + np.float32(codes[r, 8 * i + 3]) * xp[3, i])
                 + (np.float32(codes[r, 8 * i + 4]) * xp[4, i]
                    + np.float32(codes[r, 8 * i + 5]) * xp[5, i]
                    + np.float32(codes[r, 8 * i + 6]) * xp[6, i]
                    + np.float32(codes[r, 8 * i + 7]) * xp[7, i]))
            y += sw[t, i] * d
    return y


@fast(inline="always")
def _tail_dot(codes, r, bits, xs, j0, k):  # pragma: no cover - jitted
    """dot(codes, x) over the codes j0..k-1 of row r, read one by one (row tails)."""
    a = np.float32(0)
    for j in range(j0, k):
        a += _code_at(codes, r, j, bits) * xs[j]
    return a


@fast(parallel=True)
def _gemv_chunks(codes, bits, xp, xs, xsum, k, gsz, ng, s16, s32, skind, z16, z32, z8, zkind,
                 mode, sf, sw, out):  # pragma: no cover - jitted
    nw = k // _CHUNK
    cpg = gsz // _CHUNK
    center = 1 << (bits - 1)
    for r in prange(codes.shape[0]):
        t = numba.get_thread_id()
        _row_scales(s16, s32, skind, r, ng, sf, t)
        off = _row_offset(sf, t, r, ng, z16, z32, z8, zkind, mode, center, xsum)
        _expand_scales(sf, t, sw, t, ng, cpg, nw)
        y = _chunk_dot(codes, r, bits, xp, sw, t, nw)
        if nw * _CHUNK < k:  # codes after the last whole chunk: in the last group
            y += sf[t, ng - 1] * _tail_dot(codes, r, bits, xs, nw * _CHUNK, k)
        out[r] = y + off


# ---------------------------------------------------------------------------------------------
# explicit-SIMD batch-1 GEMV, 4-bit codes (see _simd: LLVM vector IR, numpy fallbacks)
#
# A row is read 32 bytes at a time as eight little-endian 32-bit words (one word = 8 codes, lane
# l = word l of the block of 64 codes). Code c of every word is masked in place (c < 7) or
# shifted down (c = 7), converted to float32 (exact) and multiplied by x permuted once per call
# so that lane l of plane c holds x[64*blk + 8*l + c] * 2**(-4c): the in-place field's power of
# two cancels exactly. Groups that are whole blocks (group size a multiple of 64) sum their
# blocks in four independent accumulators and fold them into the row's vector accumulator with
# one broadcast scale; other word-aligned groups (multiples of 8 codes) scale each block by a
# per-lane vector of its words' scales. One horizontal sum per row.
# ---------------------------------------------------------------------------------------------
#: route batch-1 GEMVs to the explicit-SIMD word bodies where they apply (the benchmark turns
#: this off to time the previous bodies side by side)
SIMD_GEMV = True
#: per width: codes per lane (one lane holds ``bits * lane_codes / 32`` whole words), and a
#: block is eight lanes
_LANE_CODES = {4: 8, 2: 16, 3: 32}
_BLOCK_BYTES = {4: 32, 2: 32, 3: 96}


def _word_fields(bits: int) -> list[tuple[int, int, int, int, float]]:
    """Bit fields of one lane's words, in the order the block functions use them:
    (word, shift, mask, code, multiplier).

    The field's value is ``float((word >> shift) & mask) * multiplier``, its share of code
    ``code``. Fields are masked in place (shift 0, multiplier cancelling their position) unless
    they reach bit 31, which the signed int-to-float conversion cannot take: those are shifted
    down. A code that straddles two words (3 bits) has two fields.
    """
    fields = []
    for code in range(_LANE_CODES[bits]):
        pos, left = bits * code, bits
        while left:
            word, at = divmod(pos, 32)
            take = min(left, 32 - at)
            part = 2.0 ** (bits - left)  # weight of this field's lowest bit within the code
            if at + take == 32:
                fields.append((word, at, (1 << take) - 1, code, part))
            else:
                fields.append((word, 0, ((1 << take) - 1) << at, code, part * 2.0 ** -at))
            pos, left = pos + take, left - take
    return fields


#: per width: each field's code and multiplier (the x plane it multiplies)
_PLANE_CODES = {b: np.array([f[3] for f in _word_fields(b)]) for b in _LANE_CODES}
_PLANE_MULTS = {b: np.array([f[4] for f in _word_fields(b)], np.float32) for b in _LANE_CODES}


def _word_planes(xs: np.ndarray, k: int, bits: int) -> np.ndarray:
    """x over the whole blocks as the block functions read it: block b, field f, lane l holds
    x[b*block + l*lane_codes + code_f] * multiplier_f (exact: multipliers are powers of two)."""
    lane = _LANE_CODES[bits]
    nblk = k // (8 * lane)
    per_lane = xs[:nblk * 8 * lane].reshape(nblk, 8, lane)[:, :, _PLANE_CODES[bits]]
    planes = per_lane.transpose(0, 2, 1) * _PLANE_MULTS[bits][None, :, None]
    return _ro(np.ascontiguousarray(planes, dtype=np.float32).reshape(-1))


@fast(inline="always")
def _block4(flat, p, xq, o, d0, d1, d2, d3):  # pragma: no cover - jitted
    """Add one block of 64 4-bit codes (bytes p.., x planes o..) to the four accumulators."""
    w = w8_load(flat, p)
    d0 = v8_fma(w8_f32(w8_and(w, 0x0000000F)), v8_load(xq, o), d0)
    d1 = v8_fma(w8_f32(w8_and(w, 0x000000F0)), v8_load(xq, o + 8), d1)
    d2 = v8_fma(w8_f32(w8_and(w, 0x00000F00)), v8_load(xq, o + 16), d2)
    d3 = v8_fma(w8_f32(w8_and(w, 0x0000F000)), v8_load(xq, o + 24), d3)
    d0 = v8_fma(w8_f32(w8_and(w, 0x000F0000)), v8_load(xq, o + 32), d0)
    d1 = v8_fma(w8_f32(w8_and(w, 0x00F00000)), v8_load(xq, o + 40), d1)
    d2 = v8_fma(w8_f32(w8_and(w, 0x0F000000)), v8_load(xq, o + 48), d2)
    d3 = v8_fma(w8_f32(w8_shr(w, 28)), v8_load(xq, o + 56), d3)
    return d0, d1, d2, d3


@fast(inline="always")
def _block2(flat, p, xq, o, d0, d1, d2, d3):  # pragma: no cover - jitted
    """Add one block of 128 2-bit codes (bytes p.., x planes o..) to the four accumulators."""
    w = w8_load(flat, p)
    d0 = v8_fma(w8_f32(w8_and(w, 0x00000003)), v8_load(xq, o), d0)
    d1 = v8_fma(w8_f32(w8_and(w, 0x0000000C)), v8_load(xq, o + 8), d1)
    d2 = v8_fma(w8_f32(w8_and(w, 0x00000030)), v8_load(xq, o + 16), d2)
    d3 = v8_fma(w8_f32(w8_and(w, 0x000000C0)), v8_load(xq, o + 24), d3)
    d0 = v8_fma(w8_f32(w8_and(w, 0x00000300)), v8_load(xq, o + 32), d0)
    d1 = v8_fma(w8_f32(w8_and(w, 0x00000C00)), v8_load(xq, o + 40), d1)
    d2 = v8_fma(w8_f32(w8_and(w, 0x00003000)), v8_load(xq, o + 48), d2)
    d3 = v8_fma(w8_f32(w8_and(w, 0x0000C000)), v8_load(xq, o + 56), d3)
    d0 = v8_fma(w8_f32(w8_and(w, 0x00030000)), v8_load(xq, o + 64), d0)
    d1 = v8_fma(w8_f32(w8_and(w, 0x000C0000)), v8_load(xq, o + 72), d1)
    d2 = v8_fma(w8_f32(w8_and(w, 0x00300000)), v8_load(xq, o + 80), d2)
    d3 = v8_fma(w8_f32(w8_and(w, 0x00C00000)), v8_load(xq, o + 88), d3)
    d0 = v8_fma(w8_f32(w8_and(w, 0x03000000)), v8_load(xq, o + 96), d0)
    d1 = v8_fma(w8_f32(w8_and(w, 0x0C000000)), v8_load(xq, o + 104), d1)
    d2 = v8_fma(w8_f32(w8_and(w, 0x30000000)), v8_load(xq, o + 112), d2)
    d3 = v8_fma(w8_f32(w8_shr(w, 30)), v8_load(xq, o + 120), d3)
    return d0, d1, d2, d3


@fast(inline="always")
def _block3(flat, p, xq, o, d0, d1, d2, d3):  # pragma: no cover - jitted
    """Add one block of 256 3-bit codes (bytes p.., x planes o..) to the four accumulators:
    lane l holds the three words of its 32 codes; codes 10 and 21 straddle two words."""
    w0 = w8_load3(flat, p, 0)
    w1 = w8_load3(flat, p, 1)
    w2 = w8_load3(flat, p, 2)
    d0 = v8_fma(w8_f32(w8_and(w0, 0x00000007)), v8_load(xq, o), d0)
    d1 = v8_fma(w8_f32(w8_and(w0, 0x00000038)), v8_load(xq, o + 8), d1)
    d2 = v8_fma(w8_f32(w8_and(w0, 0x000001C0)), v8_load(xq, o + 16), d2)
    d3 = v8_fma(w8_f32(w8_and(w0, 0x00000E00)), v8_load(xq, o + 24), d3)
    d0 = v8_fma(w8_f32(w8_and(w0, 0x00007000)), v8_load(xq, o + 32), d0)
    d1 = v8_fma(w8_f32(w8_and(w0, 0x00038000)), v8_load(xq, o + 40), d1)
    d2 = v8_fma(w8_f32(w8_and(w0, 0x001C0000)), v8_load(xq, o + 48), d2)
    d3 = v8_fma(w8_f32(w8_and(w0, 0x00E00000)), v8_load(xq, o + 56), d3)
    d0 = v8_fma(w8_f32(w8_and(w0, 0x07000000)), v8_load(xq, o + 64), d0)
    d1 = v8_fma(w8_f32(w8_and(w0, 0x38000000)), v8_load(xq, o + 72), d1)
    d2 = v8_fma(w8_f32(w8_shr(w0, 30)), v8_load(xq, o + 80), d2)
    d3 = v8_fma(w8_f32(w8_and(w1, 0x00000001)), v8_load(xq, o + 88), d3)
    d0 = v8_fma(w8_f32(w8_and(w1, 0x0000000E)), v8_load(xq, o + 96), d0)
    d1 = v8_fma(w8_f32(w8_and(w1, 0x00000070)), v8_load(xq, o + 104), d1)
    d2 = v8_fma(w8_f32(w8_and(w1, 0x00000380)), v8_load(xq, o + 112), d2)
    d3 = v8_fma(w8_f32(w8_and(w1, 0x00001C00)), v8_load(xq, o + 120), d3)
    d0 = v8_fma(w8_f32(w8_and(w1, 0x0000E000)), v8_load(xq, o + 128), d0)
    d1 = v8_fma(w8_f32(w8_and(w1, 0x00070000)), v8_load(xq, o + 136), d1)
    d2 = v8_fma(w8_f32(w8_and(w1, 0x00380000)), v8_load(xq, o + 144), d2)
    d3 = v8_fma(w8_f32(w8_and(w1, 0x01C00000)), v8_load(xq, o + 152), d3)
    d0 = v8_fma(w8_f32(w8_and(w1, 0x0E000000)), v8_load(xq, o + 160), d0)
    d1 = v8_fma(w8_f32(w8_and(w1, 0x70000000)), v8_load(xq, o + 168), d1)
    d2 = v8_fma(w8_f32(w8_shr(w1, 31)), v8_load(xq, o + 176), d2)
    d3 = v8_fma(w8_f32(w8_and(w2, 0x00000003)), v8_load(xq, o + 184), d3)
    d0 = v8_fma(w8_f32(w8_and(w2, 0x0000001C)), v8_load(xq, o + 192), d0)
    d1 = v8_fma(w8_f32(w8_and(w2, 0x000000E0)), v8_load(xq, o + 200), d1)
    d2 = v8_fma(w8_f32(w8_and(w2, 0x00000700)), v8_load(xq, o + 208), d2)
    d3 = v8_fma(w8_f32(w8_and(w2, 0x00003800)), v8_load(xq, o + 216), d3)
    d0 = v8_fma(w8_f32(w8_and(w2, 0x0001C000)), v8_load(xq, o + 224), d0)
    d1 = v8_fma(w8_f32(w8_and(w2, 0x000E0000)), v8_load(xq, o + 232), d1)
    d2 = v8_fma(w8_f32(w8_and(w2, 0x00700000)), v8_load(xq, o + 240), d2)
    d3 = v8_fma(w8_f32(w8_and(w2, 0x03800000)), v8_load(xq, o + 248), d3)
    d0 = v8_fma(w8_f32(w8_and(w2, 0x1C000000)), v8_load(xq, o + 256), d0)
    d1 = v8_fma(w8_f32(w8_shr(w2, 29)), v8_load(xq, o + 264), d1)
    return d0, d1, d2, d3


@fast(inline="always")
def _sum4(d0, d1, d2, d3):  # pragma: no cover - jitted
    return v8_add(v8_add(d0, d1), v8_add(d2, d3))


@fast(inline="always")
def _lane_scales(srow, swrow, ng, nblk, lpg, first):  # pragma: no cover - jitted
    """swrow[8b + l] = scale of lane l of block b, for the blocks from ``first`` on (groups of
    1, 2 or 4 lanes: each group's scale repeated; groups of 8n lanes: one scale per block)."""
    if lpg == 4:
        for b in range(first, nblk):
            v8_store(swrow, 8 * b, v8_repeat(srow, 2 * b, 4))
    elif lpg == 2:
        for b in range(first, nblk):
            v8_store(swrow, 8 * b, v8_repeat(srow, 4 * b, 2))
    elif lpg == 1:
        for b in range(first, nblk):
            v8_store(swrow, 8 * b, v8_load(srow, 8 * b))
    else:
        bpg = lpg // 8
        if bpg & (bpg - 1) == 0:  # a power of two: the group of block b is b >> shift
            shift = 0
            while (1 << shift) < bpg:
                shift += 1
            for b in range(first, nblk):
                v8_store(swrow, 8 * b, v8_splat(srow[b >> shift]))
        else:
            for g in range(first // bpg, ng):
                s = v8_splat(srow[g])
                for b in range(g * bpg, min(g * bpg + bpg, nblk)):
                    v8_store(swrow, 8 * b, s)


@fast(inline="always")
def _row_words(block_fn, flat, base, block_bytes, xq, nf, nblk, lpg, ng, srow,
               swrow):  # pragma: no cover - jitted
    """sum_g s_g * dot(q_g, x_g) over the whole blocks of one row, as an F32x8 (unsummed).

    Groups of exactly two blocks (4-bit codes in groups of 128, the common case) scale each
    pair's sum by one broadcast in a loop of constant trip count; every other block is scaled by
    a vector of its lanes' scales, expanded per row into ``swrow``. Only two copies of the block
    body: compile time grows quickly with each (the 3-bit block is ~100 vector operations).
    """
    acc = v8_zero()
    z = v8_zero()
    first = 0
    if lpg == 16:
        first = 2 * (nblk // 2)
        for g in range(nblk // 2):
            b = 2 * g
            d0, d1, d2, d3 = block_fn(flat, base + block_bytes * b, xq, 8 * nf * b,
                                    z, z, z, z)
            d0, d1, d2, d3 = block_fn(flat, base + block_bytes * (b + 1), xq,
                                    8 * nf * (b + 1), d0, d1, d2, d3)
            acc = v8_fma(v8_splat(srow[g]), _sum4(d0, d1, d2, d3), acc)
    _lane_scales(srow, swrow, ng, nblk, lpg, first)
    for b in range(first, nblk):
        d0, d1, d2, d3 = block_fn(flat, base + block_bytes * b, xq, 8 * nf * b,
                                z, z, z, z)
        acc = v8_fma(v8_load(swrow, 8 * b), _sum4(d0, d1, d2, d3), acc)
    return acc


@fast(inline="always")
def _word_row(bits, block_fn, codes, flat, r, xq, xs, xsum, k, gsz, ng, s16, s32, skind, z16,
              z32, z8, zkind, mode, sf, sw, t):  # pragma: no cover - jitted
    """y[r] of the word GEMV; ``block_fn`` is the width's block function, passed by each
    width's body (a dispatch on ``bits`` inside would compile every width's block everywhere)."""
    lane = 8 if bits == 4 else (16 if bits == 2 else 32)  # codes per lane
    block = 8 * lane
    nblk = k // block
    _row_scales(s16, s32, skind, r, ng, sf, t)
    off = _row_offset(sf, t, r, ng, z16, z32, z8, zkind, mode, 1 << (bits - 1), xsum)
    acc = _row_words(block_fn, flat, r * codes.shape[1], block * bits // 8, xq,
                     8 if bits == 4 else (16 if bits == 2 else 34), nblk, gsz // lane, ng, sf[t],
                     sw[t])
    y = v8_hsum(acc)
    for j in range(nblk * block, k):  # codes after the last whole block
        y += sf[t, j // gsz] * (_code_at(codes, r, j, bits) * xs[j])
    return y + off


@fast(parallel=True)
def _gemv_words4(codes, flat, xq, xs, xsum, k, gsz, ng, s16, s32, skind, z16, z32, z8, zkind,
                 mode, sf, sw, out):  # pragma: no cover - jitted
    rows = codes.shape[0]
    for c in prange((rows + _CHUNK_ROWS - 1) // _CHUNK_ROWS):
        t = numba.get_thread_id()
        for r in range(c * _CHUNK_ROWS, min(c * _CHUNK_ROWS + _CHUNK_ROWS, rows)):
            out[r] = _word_row(4, _block4, codes, flat, r, xq, xs, xsum, k, gsz, ng, s16,
                               s32, skind, z16, z32, z8, zkind, mode, sf, sw, t)


@fast(parallel=True)
def _gemv_words2(codes, flat, xq, xs, xsum, k, gsz, ng, s16, s32, skind, z16, z32, z8, zkind,
                 mode, sf, sw, out):  # pragma: no cover - jitted
    rows = codes.shape[0]
    for c in prange((rows + _CHUNK_ROWS - 1) // _CHUNK_ROWS):
        t = numba.get_thread_id()
        for r in range(c * _CHUNK_ROWS, min(c * _CHUNK_ROWS + _CHUNK_ROWS, rows)):
            out[r] = _word_row(2, _block2, codes, flat, r, xq, xs, xsum, k, gsz, ng, s16,
                               s32, skind, z16, z32, z8, zkind, mode, sf, sw, t)


@fast(parallel=True)
def _gemv_words3(codes, flat, xq, xs, xsum, k, gsz, ng, s16, s32, skind, z16, z32, z8, zkind,
                 mode, sf, sw, out):  # pragma: no cover - jitted
    rows = codes.shape[0]
    for c in prange((rows + _CHUNK_ROWS - 1) // _CHUNK_ROWS):
        t = numba.get_thread_id()
        for r in range(c * _CHUNK_ROWS, min(c * _CHUNK_ROWS + _CHUNK_ROWS, rows)):
            out[r] = _word_row(3, _block3, codes, flat, r, xq, xs, xsum, k, gsz, ng, s16,
                               s32, skind, z16, z32, z8, zkind, mode, sf, sw, t)


_GEMV_WORDS = {4: _gemv_words4, 2: _gemv_words2, 3: _gemv_words3}


@fast(parallel=True)
def _gemm(codes, xs, bits, k, gsz, ng, s16, s32, skind, z16, z32, z8, zkind, mode, levels,
          has_levels, out):  # pragma: no cover - jitted
    """y[b, r] = dot(dequantized row r, xs[b]) for any width, table and batch size.

    Rows are dequantized (exactly) in tiles of _TILE_ROWS into a scratch buffer, then each x
    row is dotted with the whole tile in one pass, so x is read once per tile.
    """
    rows = codes.shape[0]
    nb = xs.shape[0]
    per_chunk = _TILE_ROWS * _TILES_PER_CHUNK
    nchunks = (rows + per_chunk - 1) // per_chunk
    for c in prange(nchunks):
        w = np.zeros((_TILE_ROWS, k), dtype=np.float32)
        w0 = w[0]
        w1 = w[1]
        w2 = w[2]
        w3 = w[3]
        for r0 in range(c * per_chunk, min((c + 1) * per_chunk, rows), _TILE_ROWS):
            r1 = min(r0 + _TILE_ROWS, rows)
            for r in range(r0, r1):
                _dequant_row(codes, r, w[r - r0], bits, k, gsz, ng, s16, s32, skind, z16,
                             z32, z8, zkind, mode, levels, has_levels)
            for b in range(nb):
                x = xs[b]
                a0 = np.float32(0)
                a1 = np.float32(0)
                a2 = np.float32(0)
                a3 = np.float32(0)
                for j in range(k):
                    xj = x[j]
                    a0 += w0[j] * xj
                    a1 += w1[j] * xj
                    a2 += w2[j] * xj
                    a3 += w3[j] * xj
                out[b, r0] = a0
                if r0 + 1 < r1:
                    out[b, r0 + 1] = a1
                if r0 + 2 < r1:
                    out[b, r0 + 2] = a2
                if r0 + 3 < r1:
                    out[b, r0 + 3] = a3


# ---------------------------------------------------------------------------------------------
# public wrappers
# ---------------------------------------------------------------------------------------------
_DUMMY_U16 = np.zeros((0, 0), dtype=np.uint16)
_DUMMY_F32 = np.zeros((0, 0), dtype=np.float32)
_DUMMY_U8 = np.zeros((0, 0), dtype=np.uint8)
_DUMMY_LEVELS = np.zeros(1, dtype=np.float32)
_DUMMY_PERM = np.zeros(1, dtype=np.int32)


def _ro(a: np.ndarray) -> np.ndarray:
    """A read-only view: writable and mmap'd inputs then share one compiled specialization."""
    v = a.view()
    v.flags.writeable = False
    return v


def _slots(arr: np.ndarray | None, dtype: str | None) -> tuple[np.ndarray, np.ndarray,
                                                               np.ndarray, int]:
    """(uint16 slot, float32 slot, uint8 slot, kind) for a side array stored as ``dtype``."""
    if arr is None:
        return _ro(_DUMMY_U16), _ro(_DUMMY_F32), _ro(_DUMMY_U8), _F32
    kind = _KIND[dtype]
    a16 = _ro(arr.view(np.uint16)) if kind in (_F16, _BF16) else _ro(_DUMMY_U16)
    a32 = _ro(arr) if kind == _F32 else _ro(_DUMMY_F32)
    a8 = _ro(arr) if kind == _U8 else _ro(_DUMMY_U8)
    return a16, a32, a8, kind


@contextmanager
def _threads_for(values: int) -> Iterator[None]:
    """Run small problems on the calling thread only (numba's thread count is thread-local)."""
    if values >= PARALLEL_MIN_VALUES:
        yield
        return
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


class _Prepared:
    """Validated arguments of one kernel call, in the slots the jitted bodies take."""

    def __init__(self, codes: np.ndarray, scales: np.ndarray, *, bits: int, k: int,
                 group_size: int, zero: str, zeros: np.ndarray | None, bias: np.ndarray | None,
                 levels: np.ndarray | None, perm: np.ndarray | None, scale_dtype: str,
                 zero_dtype: str | None, validate: bool) -> None:
        geo: Geometry = check_arrays(codes, scales, bits=bits, k=k, group_size=group_size,
                                     zero=zero, zeros=zeros, bias=bias, levels=levels,
                                     perm=perm, scale_dtype=scale_dtype,
                                     zero_dtype=zero_dtype)
        if validate:
            check_content(geo, codes, scales, zero=zero, zeros=zeros, bias=bias,
                          levels=levels, perm=perm, scale_dtype=scale_dtype,
                          zero_dtype=zero_dtype)
        self.geo = geo
        self.codes = _ro(codes)
        self.gsz = geo.group_len if geo.k else 1
        self.ng = geo.groups
        self.s16, self.s32, _, self.skind = _slots(scales, scale_dtype)
        offsets = zeros if zeros is not None else bias
        zdtype = "U8" if zero == "int" else zero_dtype
        self.z16, self.z32, self.z8, self.zkind = _slots(offsets, zdtype)
        self.mode = _MODE[zero]
        self.has_levels = levels is not None
        self.levels = _ro(levels if levels is not None else _DUMMY_LEVELS)
        self.has_perm = perm is not None
        self.perm = _ro(perm if perm is not None else _DUMMY_PERM)

    def sides(self) -> tuple:
        return (self.s16, self.s32, self.skind, self.z16, self.z32, self.z8, self.zkind,
                self.mode)


def pack_codes(codes: np.ndarray, bits: int) -> np.ndarray:
    """Pack codes ``[rows, k]`` (uint8, each < 2**bits) into dense LSB-first rows (QF-BITPACK-010).

    Same result as the reference; raises ArgumentError for wrong types or out-of-range codes.
    """
    if not isinstance(codes, np.ndarray) or codes.ndim != 2 or codes.dtype != np.uint8:
        raise ArgumentError("codes must be a 2-D uint8 array", field="codes",
                            found=getattr(codes, "dtype", type(codes).__name__))
    if type(bits) is not int or not 1 <= bits <= 8:
        raise ArgumentError("bits must be an integer in 1..8", field="bits", found=bits)
    if codes.size and int(codes.max()) >= 1 << bits:
        from ._bitpack_common import first_bad_index

        idx = first_bad_index(codes >= 1 << bits)
        raise ArgumentError(f"code does not fit in {bits} bits at index {list(idx)}",
                            field="codes", expected=f"< {1 << bits}", found=int(codes[idx]))
    rows, k = codes.shape
    out = np.empty((rows, (k * bits + 7) // 8), dtype=np.uint8)
    with _threads_for(rows * k):
        _pack(_ro(np.ascontiguousarray(codes)), bits, out)
    return out


def unpack_codes(packed: np.ndarray, bits: int, k: int) -> np.ndarray:
    """Inverse of :func:`pack_codes`: ``[rows, row_bytes]`` -> codes ``[rows, k]`` (uint8)."""
    if type(bits) is not int or not 1 <= bits <= 8:
        raise ArgumentError("bits must be an integer in 1..8", field="bits", found=bits)
    if type(k) is not int or k < 0:
        raise ArgumentError("k must be a non-negative integer", field="k", found=k)
    nbytes = (k * bits + 7) // 8
    if (not isinstance(packed, np.ndarray) or packed.ndim != 2 or packed.dtype != np.uint8
            or packed.shape[1] != nbytes or not packed.flags.c_contiguous):
        raise ArgumentError("packed must be a C-contiguous uint8 array [rows, row_bytes]",
                            field="codes", expected=f"uint8[rows, {nbytes}]",
                            found=f"{getattr(packed, 'dtype', '?')}"
                                  f"{list(getattr(packed, 'shape', ()))}")
    out = np.empty((packed.shape[0], k), dtype=np.uint8)
    with _threads_for(packed.shape[0] * k):
        _unpack(_ro(packed), bits, k, out)
    return out


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
    """Dequantize to ``[rows, k]`` float32 (or float16), bit-identical to the reference.

    ``validate=False`` skips the value checks (finite scales, zero range, permutation), for
    callers that ran them once already (a QTensor's ``check``); types and shapes are always
    checked. ``out``: a writable C-contiguous ``[rows, k]`` array of the output dtype to fill
    and return (a fresh array's first-touch page faults cost about as much as the decode).
    """
    if out_dtype not in ("F32", "F16"):
        raise ArgumentError("out_dtype must be F32 or F16", field="out_dtype", found=out_dtype)
    p = _Prepared(codes, scales, bits=bits, k=k, group_size=group_size, zero=zero, zeros=zeros,
                  bias=bias, levels=levels, perm=perm, scale_dtype=scale_dtype,
                  zero_dtype=zero_dtype, validate=validate)
    rows = p.geo.rows
    to_f16 = out_dtype == "F16"
    target = check_out(out, (rows, k), out_dtype)
    out32 = np.empty((0, 0), np.float32) if to_f16 else target
    out16 = target.view(np.uint16) if to_f16 else np.empty((0, 0), np.uint16)
    if rows and k:
        with _threads_for(rows * k):
            _dequantize(p.codes, bits, k, p.gsz, p.ng, p.s16, p.s32, p.skind, p.z16, p.z32,
                        p.z8, p.zkind, p.mode, p.levels, p.has_levels, p.perm, p.has_perm,
                        out32, out16, to_f16)
    return target


def _gemv_body(bits: int, group_len: int) -> str | None:
    """Which batch-1 GEMV body serves this width and group length: ``"words"`` (explicit
    SIMD), ``"bytes"``, ``"chunks"`` or None (the tiled path)."""
    if bits not in _N_FIELDS:
        return None
    if SIMD_GEMV and bits in _LANE_CODES and group_len % _LANE_CODES[bits] == 0:
        lanes = group_len // _LANE_CODES[bits]  # a group spans 1, 2, 4 or 8n lanes
        if lanes in (1, 2, 4) or lanes % 8 == 0:
            return "words"
    on_chunks = group_len % _CHUNK == 0
    on_bytes = bits != 3 and group_len % (8 // bits) == 0
    if on_bytes and (group_len * bits >= 8 * _BYTES_MIN_GROUP or not on_chunks):
        return "bytes"
    return "chunks" if on_chunks else None


def fast_gemv_supported(bits: int, group_len: int, has_levels: bool) -> bool:
    """Whether batch-1 ``linear`` takes a width-specialized GEMV (else the tiled kernel)."""
    return not has_levels and _gemv_body(bits, group_len) is not None


def _gemv(p: _Prepared, xs: np.ndarray, bits: int, k: int) -> np.ndarray:
    """Run the batch-1 GEMV body chosen by :func:`_gemv_body` on x ``[k]`` (stored order)."""
    rows, ng, gsz = p.geo.rows, p.ng, p.gsz
    threads = numba.config.NUMBA_NUM_THREADS  # thread ids index the scratch rows
    out = np.empty(rows, dtype=np.float32)
    xsum = _group_sums(xs, k, gsz, ng)
    sf = np.empty((threads, ng), dtype=np.float32)
    body = _gemv_body(bits, gsz)
    if body == "words":
        sw = np.empty((threads, 8 * (k // (8 * _LANE_CODES[bits]))), dtype=np.float32)
        _GEMV_WORDS[bits](p.codes, _ro(p.codes.reshape(-1)), _word_planes(xs, k, bits), xs,
                          xsum, k, gsz, ng, *p.sides(), sf, sw, out)
    elif body == "bytes":
        _gemv_bytes(p.codes, bits, _byte_planes(xs, k, bits), xs, xsum, k, gsz, ng, *p.sides(),
                    sf, out)
    else:
        nw, cpg = k // _CHUNK, gsz // _CHUNK
        # the unrolled expansions (cpg <= 8) write whole groups, past nw in a partial last group
        sw = np.empty((threads, max(nw, ng * cpg if cpg <= 8 else 0)), dtype=np.float32)
        _gemv_chunks(p.codes, bits, _chunk_planes(xs, k, bits, _N_FIELDS[bits]), xs, xsum, k,
                     gsz, ng, *p.sides(), sf, sw, out)
    return out


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
    """``x @ W.T`` for x ``[batch, k]`` float32 (C-contiguous) without materializing W.

    Matches reference dequantize-then-matmul within float32 rounding. Batch 1 with 2/3/4/8-bit
    codes and no level table uses the width-specialized GEMV (parallel over output rows); other
    cases dequantize tiles of rows into a small buffer and take the dot products from there.
    """
    if not isinstance(x, np.ndarray) or x.ndim != 2 or x.dtype != np.float32:
        raise ArgumentError("x must be a 2-D float32 array [batch, k]", field="x",
                            found=f"{getattr(x, 'dtype', type(x).__name__)}"
                                  f"{list(getattr(x, 'shape', ()))}")
    if not x.flags.c_contiguous:
        raise ArgumentError("x must be C-contiguous", field="x", found="strided view")
    if x.shape[1] != k:
        raise ArgumentError("x's last dimension must equal k (in_features)", field="x.shape",
                            expected=f"[batch, {k}]", found=list(x.shape))
    p = _Prepared(codes, scales, bits=bits, k=k, group_size=group_size, zero=zero, zeros=zeros,
                  bias=bias, levels=levels, perm=perm, scale_dtype=scale_dtype,
                  zero_dtype=zero_dtype, validate=validate)
    rows = p.geo.rows
    batch = x.shape[0]
    if rows == 0 or batch == 0 or k == 0:
        return np.zeros((batch, rows), dtype=np.float32)
    xs = x[:, p.perm] if p.has_perm else x  # x in stored column order
    xs = _ro(np.ascontiguousarray(xs))
    with _threads_for(rows * k * batch):
        if batch == 1 and fast_gemv_supported(bits, p.gsz, p.has_levels):
            return _gemv(p, xs[0], bits, k).reshape(1, rows)
        out = np.empty((batch, rows), dtype=np.float32)
        _gemm(p.codes, xs, bits, k, p.gsz, p.ng, p.s16, p.s32, p.skind, p.z16, p.z32, p.z8,
              p.zkind, p.mode, p.levels, p.has_levels, out)
    return out
