"""Numba kernels of the sparse (SpQR) layout; numpy references in :mod:`._ref.sparse`.

The base stream is a bitpack tensor, so the base is decoded and multiplied by the bitpack
kernels (:mod:`qformat.kernels.bitpack`); this module adds what bitpack does not have:

* the quantized first-order statistics -> float32 ``[rows, G]`` scales and zero points
  (QF-SPARSE-021), the F16/BF16 second-order values decoded in the kernel (numpy's float16
  conversion alone would cost more than the GEMV);
* the CSR outlier passes: added to a decoded matrix, or multiplied with ``x``.

:func:`linear` (``x @ W.T``) for one x with groups of a multiple of 8 columns is one parallel
launch (:func:`_linear_one`) that reads the statistics as stored, with no per-call pass on the
calling thread: per tile of 64 rows, the tile's code bytes of every group are transposed into
per-thread scratch (8x8 word transpositions when groups and bytes come in eights and the
arrays are word-aligned, byte copies otherwise) and the tile's second-order rows are decoded
there (with the group sums of x folded in; F16 values by one hardware conversion each where
the CPU has one, :func:`._simd.half_bits_to_f32`); then per row, the codes are two-byte windows of
that scratch shifted alike for every group (a branch-free loop over groups that vectorizes),
the scales feed bitpack's chunk GEMV (expanded to chunks in the same loop for 1 or 2 chunks
per group), the zero points fold into one dot with the group sums, and the row's outliers are
added (F16 values converted once per tile). Nothing of size rows x G or rows x k is
materialised. Other cases (batches, other group sizes) take two launches: one kernel decodes
the statistics to ``[rows, G]`` *and* takes the outliers' dot products, then the bitpack
kernel runs on the base with them. :func:`dequantize` is the statistics, the bitpack decode,
and the outlier additions. Few launches matter: on a busy machine every parallel region waits
for both threads to be scheduled.

Every kernel is parallel over output rows (no two threads write one element), so results do
not depend on the thread count. Side arrays arrive in typed slots (uint16 bits for F16/BF16,
float32) with a kind code, and inputs are passed as read-only views, so mmap'd and in-memory
tensors of any storage type share one compiled body per column-index width. Public wrappers
validate types and shapes; values are checked once per tensor by the layout (``check_content``)
before any of this runs.
"""

from __future__ import annotations

import numba
import numpy as np

from ..errors import ArgumentError
from . import bitpack
from ._jit import exact, fast, prange
from ._simd import HALF_LOADS_NATIVE, half_bits_to_f32
from ._sparse_common import SparseArrays, check_arrays, check_content
from .bitpack import (
    _CHUNK,
    _bf16_f32,
    _chunk_dot,
    _expand_scales,
    _half_f32,
    _tail_dot,
)

__all__ = [
    "add_outliers",
    "dequantize",
    "dequantize_statistics",
    "half_to_float",
    "linear",
    "linear_outliers",
]

#: Rows per parallel work item (a multiple of 8: a chunk's codes start on a byte).
_ROW_CHUNK = 64
#: Kinds of float side arrays.
_F32, _F16, _BF16 = 0, 1, 2
_KIND = {"F32": _F32, "F16": _F16, "BF16": _BF16}
#: F16 exponent e -> 2**(e - 25) (2**-24 for subnormals): value = mantissa * table[e], exact.
_F16_POW2 = np.array([2.0**-24] + [2.0 ** (e - 25) for e in range(1, 32)], dtype=np.float32)
#: BF16 exponent e -> 2**(e - 134) (2**-133 for subnormals), all exact in float32.
_BF16_POW2 = np.array([2.0**-133] + [2.0 ** (e - 134) for e in range(1, 256)],
                      dtype=np.float32)


# -- scalar helpers -----------------------------------------------------------------------------
@exact(inline="always")
def _half_value(h, kind):  # pragma: no cover - compiled
    """float32 value of F16 (kind 1) or BF16 (kind 2) bits; finite values (checked before)."""
    b = np.int64(h)
    if kind == 1:
        e = (b >> 10) & 31
        m = b & 1023
        if e != 0:
            m += 1024
        v = np.float32(m) * _F16_POW2[e]
    else:
        e = (b >> 7) & 255
        m = b & 127
        if e != 0:
            m += 128
        v = np.float32(m) * _BF16_POW2[e]
    return -v if b & 0x8000 else v


@exact(inline="always")
def _side2(a16, a32, kind, i, j):  # pragma: no cover - compiled
    if kind == 0:
        return a32[i, j]
    return _half_value(a16[i, j], kind)


@exact(inline="always")
def _side1(a16, a32, kind, i):  # pragma: no cover - compiled
    if kind == 0:
        return a32[i]
    return _half_value(a16[i], kind)


# -- kernels ------------------------------------------------------------------------------------
@exact(parallel=True)
def _prepare(sc, ss16, ss32, sz16, sz32, zc, zs16, zs32, zz16, zz32, skind, stat_bits,
             stat_group, rows, row_ptr, col_idx, v16, v32, vkind, x, scales, zeros,
             y):  # pragma: no cover - compiled
    """Decode both statistics (QF-SPARSE-021) into ``scales``/``zeros`` [rows, G] and, for
    every row of x, the outliers' dot products into ``y`` [batch, rows]. Parallel over chunks
    of rows; the second-order values are decoded once per (group, second-order row group)."""
    groups = sc.shape[0]
    n_bytes = sc.shape[1]
    mask = np.uint64((1 << stat_bits) - 1)
    batch = x.shape[0]
    n_chunks = (rows + _ROW_CHUNK - 1) // _ROW_CHUNK
    for chunk in prange(n_chunks):
        r0 = chunk * _ROW_CHUNK
        r1 = min(r0 + _ROW_CHUNK, rows)
        for g in range(groups):
            srow = sc[g]
            zrow = zc[g]
            h = r0 // stat_group
            h_end = (h + 1) * stat_group  # first row of the next second-order group
            s_s = _side2(ss16, ss32, skind, g, h)
            s_z = _side2(sz16, sz32, skind, g, h)
            z_s = _side2(zs16, zs32, skind, g, h)
            z_z = _side2(zz16, zz32, skind, g, h)
            for b8 in range(r0, r1, 8):  # 8 codes = stat_bits whole bytes (r0 % 8 == 0)
                off = (b8 >> 3) * stat_bits
                vs = np.uint64(0)
                vz = np.uint64(0)
                for t in range(min(stat_bits, n_bytes - off)):
                    vs |= np.uint64(srow[off + t]) << np.uint64(8 * t)
                    vz |= np.uint64(zrow[off + t]) << np.uint64(8 * t)
                if b8 + 8 <= r1 and b8 + 8 <= h_end:  # common case: a full block, one h
                    for i in range(8):  # constant trip count: unrolled
                        shift = np.uint64(stat_bits * i)
                        scales[b8 + i, g] = s_s * (np.float32((vs >> shift) & mask) - s_z)
                        zeros[b8 + i, g] = z_s * (np.float32((vz >> shift) & mask) - z_z)
                    continue
                for i in range(min(8, r1 - b8)):
                    r = b8 + i
                    if r >= h_end:
                        h = r // stat_group
                        h_end = (h + 1) * stat_group
                        s_s = _side2(ss16, ss32, skind, g, h)
                        s_z = _side2(sz16, sz32, skind, g, h)
                        z_s = _side2(zs16, zs32, skind, g, h)
                        z_z = _side2(zz16, zz32, skind, g, h)
                    shift = np.uint64(stat_bits * i)
                    scales[r, g] = s_s * (np.float32((vs >> shift) & mask) - s_z)
                    zeros[r, g] = z_s * (np.float32((vz >> shift) & mask) - z_z)
        if batch == 1:  # GEMV: a register accumulator
            x0 = x[0]
            for r in range(r0, r1):
                acc = np.float32(0)
                for t in range(row_ptr[r], row_ptr[r + 1]):
                    acc += _side1(v16, v32, vkind, t) * x0[col_idx[t]]
                y[0, r] = acc
        else:
            for r in range(r0, r1):
                for b in range(batch):
                    y[b, r] = np.float32(0)
                for t in range(row_ptr[r], row_ptr[r + 1]):  # each value decoded once
                    v = _side1(v16, v32, vkind, t)
                    c = col_idx[t]
                    for b in range(batch):
                        y[b, r] += v * x[b, c]


@exact(parallel=True)
def _add_outliers(w, row_ptr, col_idx, v16, v32, vkind):  # pragma: no cover - compiled
    """w[r, c] = w[r, c] + value for the outliers of row r (QF-SPARSE-023)."""
    for r in prange(w.shape[0]):
        for t in range(row_ptr[r], row_ptr[r + 1]):
            c = col_idx[t]
            w[r, c] = w[r, c] + _side1(v16, v32, vkind, t)


@exact(parallel=True)
def _f16_bits_to_f32_bits(src, dst):  # pragma: no cover - compiled
    """IEEE binary16 bit patterns -> binary32 bit patterns, exactly (subnormals, inf, NaN)."""
    for i in prange(src.shape[0]):
        h = np.uint32(src[i])
        sign = (h & np.uint32(0x8000)) << np.uint32(16)
        e = (h >> np.uint32(10)) & np.uint32(0x1F)
        m = h & np.uint32(0x3FF)
        if e == np.uint32(0):
            if m == np.uint32(0):
                dst[i] = sign
            else:  # subnormal: normalise the mantissa
                s = np.uint32(0)
                while (m & np.uint32(0x400)) == np.uint32(0):
                    m = m << np.uint32(1)
                    s += np.uint32(1)
                dst[i] = (sign | ((np.uint32(113) - s) << np.uint32(23))
                          | ((m & np.uint32(0x3FF)) << np.uint32(13)))
        elif e == np.uint32(31):
            dst[i] = sign | np.uint32(0x7F800000) | (m << np.uint32(13))
        else:
            dst[i] = sign | ((e + np.uint32(112)) << np.uint32(23)) | (m << np.uint32(13))



# -- batch 1: one fused kernel ---------------------------------------------------------------------
@fast(inline="always")
def _transpose_8x8(a0, a1, a2, a3, a4, a5, a6, a7):  # pragma: no cover - compiled
    """Transpose the 8x8 byte matrix held in eight little-endian uint64 rows (three rounds of
    swapping 1-, 2- and 4-byte blocks): byte i of output j is byte j of input i."""
    u = np.uint64
    m1 = u(0x00FF00FF00FF00FF)
    m2 = u(0x0000FFFF0000FFFF)
    m4 = u(0x00000000FFFFFFFF)
    t = ((a0 >> u(8)) ^ a1) & m1
    a1 ^= t
    a0 ^= t << u(8)
    t = ((a2 >> u(8)) ^ a3) & m1
    a3 ^= t
    a2 ^= t << u(8)
    t = ((a4 >> u(8)) ^ a5) & m1
    a5 ^= t
    a4 ^= t << u(8)
    t = ((a6 >> u(8)) ^ a7) & m1
    a7 ^= t
    a6 ^= t << u(8)
    t = ((a0 >> u(16)) ^ a2) & m2
    a2 ^= t
    a0 ^= t << u(16)
    t = ((a1 >> u(16)) ^ a3) & m2
    a3 ^= t
    a1 ^= t << u(16)
    t = ((a4 >> u(16)) ^ a6) & m2
    a6 ^= t
    a4 ^= t << u(16)
    t = ((a5 >> u(16)) ^ a7) & m2
    a7 ^= t
    a5 ^= t << u(16)
    t = ((a0 >> u(32)) ^ a4) & m4
    a4 ^= t
    a0 ^= t << u(32)
    t = ((a1 >> u(32)) ^ a5) & m4
    a5 ^= t
    a1 ^= t << u(32)
    t = ((a2 >> u(32)) ^ a6) & m4
    a6 ^= t
    a2 ^= t << u(32)
    t = ((a3 >> u(32)) ^ a7) & m4
    a7 ^= t
    a3 ^= t << u(32)
    return a0, a1, a2, a3, a4, a5, a6, a7


@fast(inline="always")
def _tile_words(src64, w0, nw, tc64, t, s, ng):  # pragma: no cover - compiled
    """tc64[t, s, 8w + j, g // 8] = bytes j of the words ``w0 + w`` of the groups g..g+7
    (w < nw), transposed 8x8 so that byte i of each stored word is group g + i: the tile's
    code bytes with groups contiguous, eight times fewer loads and stores than byte copies."""
    for w in range(nw):
        for g in range(0, ng, 8):
            o = _transpose_8x8(src64[g, w0 + w], src64[g + 1, w0 + w], src64[g + 2, w0 + w],
                               src64[g + 3, w0 + w], src64[g + 4, w0 + w],
                               src64[g + 5, w0 + w], src64[g + 6, w0 + w],
                               src64[g + 7, w0 + w])
            g8 = g // 8
            b = 8 * w
            tc64[t, s, b, g8] = o[0]
            tc64[t, s, b + 1, g8] = o[1]
            tc64[t, s, b + 2, g8] = o[2]
            tc64[t, s, b + 3, g8] = o[3]
            tc64[t, s, b + 4, g8] = o[4]
            tc64[t, s, b + 5, g8] = o[5]
            tc64[t, s, b + 6, g8] = o[6]
            tc64[t, s, b + 7, g8] = o[7]


@fast(inline="always")
def _tile_codes(sc, zc, n_bytes, b0, nb, tcs, t, ng):  # pragma: no cover - compiled
    """tcs[t, 0|1, b, g] = byte ``b0 + b`` of group g's scale|zero statistic codes for b < nb,
    zero after (one extra byte: a code straddling two bytes reads the next one): groups
    contiguous. Each group's bytes are one contiguous read, so every cache line is fetched
    once per tile; indices are unsigned (no wraparound selects)."""
    u = np.uint64
    end = u(min(nb, n_bytes - b0))
    tu = u(t)
    for g in range(u(ng)):
        for b in range(end):
            tcs[tu, u(0), b, g] = sc[g, u(b0) + b]
            tcs[tu, u(1), b, g] = zc[g, u(b0) + b]
        for b in range(end, u(nb + 1)):
            tcs[tu, u(0), b, g] = 0
            tcs[tu, u(1), b, g] = 0


#: Scalar half -> float32 for the second-order values: one hardware conversion where the CPU
#: has one, the portable integer conversion elsewhere (both exact).
_half_stat = half_bits_to_f32 if HALF_LOADS_NATIVE else _half_f32


@fast(inline="always")
def _tile_second_order(ss16, ss32, sz16, sz32, zs16, zs32, zz16, zz32, kind, xsum, h0, nh,
                       ng, so, t):  # pragma: no cover - compiled
    """For the second-order rows h0..h0+nh-1, per group: so[t, 0] = s_s, so[t, 1] = s_z,
    so[t, 2] = s_s * z_s * (sum of x over the group), so[t, 3] = z_z (QF-SPARSE-021), so that
    a row's zero-point term is ``so2 * (code_s - so1) * (code_z - so3)``. Each group's values
    are one contiguous read; indices are unsigned."""
    u = np.uint64
    tu = u(t)
    hb = u(h0)
    if kind == 0:
        for g in range(u(ng)):
            for hh in range(u(nh)):
                a = ss32[g, hb + hh]
                so[tu, u(0), hh, g] = a
                so[tu, u(1), hh, g] = sz32[g, hb + hh]
                so[tu, u(2), hh, g] = a * zs32[g, hb + hh] * xsum[g]
                so[tu, u(3), hh, g] = zz32[g, hb + hh]
    elif kind == 1:
        for g in range(u(ng)):
            for hh in range(u(nh)):
                a = _half_stat(ss16[g, hb + hh])
                so[tu, u(0), hh, g] = a
                so[tu, u(1), hh, g] = _half_stat(sz16[g, hb + hh])
                so[tu, u(2), hh, g] = a * _half_stat(zs16[g, hb + hh]) * xsum[g]
                so[tu, u(3), hh, g] = _half_stat(zz16[g, hb + hh])
    else:
        for g in range(u(ng)):
            for hh in range(u(nh)):
                a = _bf16_f32(ss16[g, hb + hh])
                so[tu, u(0), hh, g] = a
                so[tu, u(1), hh, g] = _bf16_f32(sz16[g, hb + hh])
                so[tu, u(2), hh, g] = a * _bf16_f32(zs16[g, hb + hh]) * xsum[g]
                so[tu, u(3), hh, g] = _bf16_f32(zz16[g, hb + hh])


@fast(inline="always")
def _outlier_dot_stored(row_ptr, col_idx, v16, v32, vkind, x, r):  # pragma: no cover
    """Row r's outliers dotted with x (original column order), F32 or BF16 values."""
    o = np.float32(0)
    if vkind == 0:
        for j in range(row_ptr[r], row_ptr[r + 1]):
            o += v32[j] * x[col_idx[j]]
    else:
        for j in range(row_ptr[r], row_ptr[r + 1]):
            o += _bf16_f32(v16[j]) * x[col_idx[j]]
    return o


@fast(inline="always")
def _outlier_dot(row_ptr, col_idx, ov, tu, j0, x, r):  # pragma: no cover - compiled
    """Row r's outliers dotted with x, values already float32 in ov[tu, j - j0]."""
    o = np.float32(0)
    for j in range(row_ptr[r], row_ptr[r + 1]):
        o += ov[tu, np.uint64(j - j0)] * x[col_idx[j]]
    return o


@fast(inline="always")
def _row_statistics(tcs, so, st, sw, tu, lo, sh, hh, mask, ng, cpg,
                    nw):  # pragma: no cover - compiled
    """One row's scales (QF-SPARSE-021) into sw[tu] per chunk (and st[tu] per group), and
    its zero-point term ``sum_g s * z * (sum of x over g)`` returned.

    The row's codes are the two-byte windows at byte ``lo`` of the tile's transposed code
    bytes, shifted by ``sh``: the same shift for every group, so the loop vectorizes. With 1
    or 2 chunks per group the expansion to chunks is fused in (no second pass)."""
    u = np.uint64
    hi = lo + u(1)
    a = np.float32(0)
    if cpg == 2:
        for g in range(u(ng)):
            ws = np.uint32(tcs[tu, u(0), lo, g]) | (np.uint32(tcs[tu, u(0), hi, g]) << 8)
            wz = np.uint32(tcs[tu, u(1), lo, g]) | (np.uint32(tcs[tu, u(1), hi, g]) << 8)
            d = np.float32((ws >> sh) & mask) - so[tu, u(1), hh, g]
            s = so[tu, u(0), hh, g] * d
            st[tu, g] = s
            sw[tu, u(2) * g] = s
            sw[tu, u(2) * g + u(1)] = s
            a += so[tu, u(2), hh, g] * d * (np.float32((wz >> sh) & mask) - so[tu, u(3), hh, g])
        return a
    for g in range(u(ng)):
        ws = np.uint32(tcs[tu, u(0), lo, g]) | (np.uint32(tcs[tu, u(0), hi, g]) << 8)
        wz = np.uint32(tcs[tu, u(1), lo, g]) | (np.uint32(tcs[tu, u(1), hi, g]) << 8)
        d = np.float32((ws >> sh) & mask) - so[tu, u(1), hh, g]
        st[tu, g] = so[tu, u(0), hh, g] * d
        a += so[tu, u(2), hh, g] * d * (np.float32((wz >> sh) & mask) - so[tu, u(3), hh, g])
    _expand_scales(st, tu, sw, tu, ng, cpg, nw)
    return a


@fast(parallel=True)
def _linear_one(codes, bits, xp, xs, x0, xsum, k, gsz, ng, sc, zc, sc64, zc64, words, ss16,
                ss32, sz16, sz32, zs16, zs32, zz16, zz32, skind, stat_bits, stat_group, row_ptr,
                col_idx, v16, v32, vkind, tc64, so, st, sw, ov, out):  # pragma: no cover - compiled
    """x @ W.T for one x, straight from the stored statistics (no per-call transposition).

    Per tile of 64 rows: copy the tile's statistic code bytes (8 * ``stat_bits`` per group)
    into per-thread scratch with groups contiguous, and decode the tile's second-order rows
    there; then per row, its codes are two-byte windows of that scratch (uniform shift across
    groups: vectorized, no branches), its scales ``s2 * (code - z2)`` (QF-SPARSE-021) feed
    bitpack's chunk GEMV, its zero points fold into one dot with the group sums of x, plus the
    row's outliers. Nothing of size rows x G is materialised; every row is computed by one
    thread in a fixed order, so the thread count does not change the result.
    """
    rows = codes.shape[0]
    n_bytes = sc.shape[1]
    nw = k // _CHUNK
    cpg = gsz // _CHUNK
    mask = np.uint32((1 << stat_bits) - 1)
    u = np.uint64
    tile_bytes = _ROW_CHUNK // _CHUNK * stat_bits
    for tile in prange((rows + _ROW_CHUNK - 1) // _ROW_CHUNK):
        t = numba.get_thread_id()
        r0 = tile * _ROW_CHUNK
        r1 = min(r0 + _ROW_CHUNK, rows)
        b0 = tile * tile_bytes
        # a view made here, from the scratch argument: numba's parfor marks arguments
        # noalias, so the two views must not arrive as two arguments
        tcs = tc64.view(np.uint8)
        if words:
            w0 = tile * stat_bits
            nwt = min(stat_bits, n_bytes // 8 - w0)
            _tile_words(sc64, w0, nwt, tc64, t, 0, ng)
            _tile_words(zc64, w0, nwt, tc64, t, 1, ng)
        else:
            _tile_codes(sc, zc, n_bytes, b0, tile_bytes, tcs, t, ng)
        h0 = r0 // stat_group
        _tile_second_order(ss16, ss32, sz16, sz32, zs16, zs32, zz16, zz32, skind, xsum, h0,
                           (r1 - 1) // stat_group - h0 + 1, ng, so, t)
        tu = u(t)
        j0 = row_ptr[r0]
        if vkind == 1:  # the tile's F16 outlier values, converted in one vectorized pass
            for j in range(j0, row_ptr[r1]):
                ov[tu, u(j - j0)] = _half_f32(v16[j])
        for r in range(r0, r1):
            pos = (r - r0) * stat_bits  # bit position of the row's code in the tile's bytes
            a = _row_statistics(tcs, so, st, sw, tu, u(pos >> 3), np.uint32(pos & 7),
                                u(r // stat_group - h0), mask, ng, cpg, nw)
            y = _chunk_dot(codes, r, bits, xp, sw, t, nw) - a
            if nw * _CHUNK < k:
                y += st[t, ng - 1] * _tail_dot(codes, r, bits, xs, nw * _CHUNK, k)
            if vkind == 1:
                y += _outlier_dot(row_ptr, col_idx, ov, tu, j0, x0, r)
            else:
                y += _outlier_dot_stored(row_ptr, col_idx, v16, v32, vkind, x0, r)
            out[r] = y

# -- argument plumbing --------------------------------------------------------------------------
_NO16_2 = np.zeros((0, 0), dtype=np.uint16)
_NO32_2 = np.zeros((0, 0), dtype=np.float32)
_NO16_1 = np.zeros(0, dtype=np.uint16)
_NO32_1 = np.zeros(0, dtype=np.float32)


def _ro(a: np.ndarray) -> np.ndarray:
    """A read-only view, so that writable and mmap'd inputs share one compiled specialization."""
    v = a.view()
    v.flags.writeable = False
    return v


def _columns(col_idx: np.ndarray) -> np.ndarray:
    """Column indices as the kernels take them: U8 widened to U16 (tiny arrays), so that one
    compiled body serves both; U32 (rows over 65536 columns) keeps its own."""
    return _ro(col_idx.astype(np.uint16) if col_idx.dtype == np.uint8 else col_idx)


def _slots(arr: np.ndarray, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """(uint16 slot, float32 slot) of a float side array stored as ``dtype``."""
    if dtype == "F32":
        return _ro(_NO16_2 if arr.ndim == 2 else _NO16_1), _ro(arr)
    return _ro(arr.view(np.uint16)), _ro(_NO32_2 if arr.ndim == 2 else _NO32_1)


def half_to_float(stored: np.ndarray, dtype: str) -> np.ndarray:
    """A stored F16/BF16/F32 array -> float32 (a new array for F16/BF16), exactly."""
    if dtype == "F32":
        return stored
    if dtype == "BF16":
        from ..dtypes import bf16_to_f32

        return bf16_to_f32(stored)
    if dtype != "F16":
        raise ArgumentError("expected a float part dtype", field="dtype",
                            expected=["F16", "BF16", "F32"], found=dtype)
    src = _ro(np.ascontiguousarray(stored).view(np.uint16).reshape(-1))
    out = np.empty(src.shape[0], dtype=np.float32)
    if src.shape[0]:
        _f16_bits_to_f32_bits(src, out.view(np.uint32))
    return out.reshape(stored.shape)


def _prepare_call(stats: SparseArrays | None, rows: int, row_ptr: np.ndarray,
                  col_idx: np.ndarray, values: np.ndarray, value_dtype: str,
                  x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run :func:`_prepare`: (scales [rows, G], zeros [rows, G], outliers' x @ W.T part)."""
    groups = 0 if stats is None else stats.geometry.groups
    scales = np.empty((rows, groups), dtype=np.float32)
    zeros = np.empty((rows, groups), dtype=np.float32)
    y = np.empty((x.shape[0], rows), dtype=np.float32)
    if rows == 0:
        return scales, zeros, y
    if stats is None:
        no_codes = _ro(np.zeros((0, 0), dtype=np.uint8))
        side = (no_codes, _ro(_NO16_2), _ro(_NO32_2), _ro(_NO16_2), _ro(_NO32_2)) * 2
        stat_args = (*side, _F32, 1, 1)
    else:
        sd = stats.stat_dtype
        stat_args = (_ro(stats.scale_codes), *_slots(stats.scale_scales, sd),
                     *_slots(stats.scale_zeros, sd), _ro(stats.zero_codes),
                     *_slots(stats.zero_scales, sd), *_slots(stats.zero_zeros, sd), _KIND[sd],
                     stats.stat_bits, stats.stat_group)
    v16, v32 = _slots(values, value_dtype)
    _prepare(*stat_args, rows, _ro(row_ptr.astype(np.int64)), _columns(col_idx), v16, v32,
             _KIND[value_dtype], _ro(x), scales, zeros, y)
    return scales, zeros, y


def _statistics_and_outliers(a: SparseArrays, x: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                       np.ndarray]:
    """(scales [rows, G], zeros [rows, G], outliers' share of x @ W.T [batch, rows])."""
    return _prepare_call(a, a.geometry.rows, a.row_ptr, a.col_idx, a.values, a.value_dtype, x)


def dequantize_statistics(a: SparseArrays, which: str) -> np.ndarray:
    """Decoded first-order ``scales`` or ``zeros`` as float32 ``[rows, G]`` (QF-SPARSE-021)."""
    if which not in ("scales", "zeros"):
        raise ArgumentError("which must be 'scales' or 'zeros'", field="which", found=which)
    check_arrays(a)
    scales, zeros, _ = _statistics_and_outliers(a, np.zeros((0, a.k), dtype=np.float32))
    return scales if which == "scales" else zeros


def _check_csr(row_ptr: np.ndarray, col_idx: np.ndarray, values: np.ndarray, rows: int,
               value_dtype: str) -> None:
    for name, arr in (("row_ptr", row_ptr), ("col_idx", col_idx), ("values", values)):
        if not isinstance(arr, np.ndarray) or arr.ndim != 1 or not arr.flags.c_contiguous:
            raise ArgumentError("must be a 1-D C-contiguous numpy array", field=name,
                                found=getattr(arr, "shape", type(arr).__name__))
    if row_ptr.shape[0] != rows + 1 or row_ptr.dtype.kind != "u":
        raise ArgumentError("row_ptr must be unsigned [rows + 1]", field="row_ptr",
                            expected=f"[{rows + 1}]", found=f"{row_ptr.dtype}{row_ptr.shape}")
    if col_idx.dtype.kind != "u" or col_idx.shape != values.shape:
        raise ArgumentError("col_idx must be unsigned, one per value", field="col_idx",
                            expected=f"uint[{values.shape[0]}]",
                            found=f"{col_idx.dtype}{col_idx.shape}")
    want = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16}.get(value_dtype)
    if want is None or values.dtype != want:
        raise ArgumentError("values do not match value_dtype", field="values",
                            expected=value_dtype, found=str(values.dtype))


def add_outliers(w: np.ndarray, row_ptr: np.ndarray, col_idx: np.ndarray, values: np.ndarray,
                 *, value_dtype: str) -> np.ndarray:
    """``w[r, c] += float32(v)`` for every outlier, in place; returns ``w``.

    The CSR arrays must have passed ``check_outliers`` (the kernel does no bounds checks).
    """
    if not isinstance(w, np.ndarray) or w.ndim != 2 or w.dtype != np.float32 or not (
            w.flags.c_contiguous and w.flags.writeable):
        raise ArgumentError("w must be a writable C-contiguous float32 [rows, k] array",
                            field="w", found=getattr(w, "dtype", type(w).__name__))
    _check_csr(row_ptr, col_idx, values, w.shape[0], value_dtype)
    if values.shape[0]:
        v16, v32 = _slots(values, value_dtype)
        _add_outliers(w, _ro(row_ptr.astype(np.int64)), _columns(col_idx), v16, v32,
                      _KIND[value_dtype])
    return w


def linear_outliers(x: np.ndarray, row_ptr: np.ndarray, col_idx: np.ndarray,
                    values: np.ndarray, *, value_dtype: str) -> np.ndarray:
    """The outliers' share of ``x @ W.T``: ``y[b, r] = sum_t values[t] * x[b, col_idx[t]]``.

    The CSR arrays must have passed ``check_outliers`` (the kernel does no bounds checks).
    """
    if not isinstance(x, np.ndarray) or x.ndim != 2 or x.dtype != np.float32:
        raise ArgumentError("x must be a 2-D float32 array [batch, k]", field="x",
                            found=getattr(x, "dtype", type(x).__name__))
    rows = int(row_ptr.shape[0]) - 1 if isinstance(row_ptr, np.ndarray) else -1
    _check_csr(row_ptr, col_idx, values, rows, value_dtype)
    return _prepare_call(None, rows, row_ptr, col_idx, values, value_dtype,
                         np.ascontiguousarray(x))[2]


# -- the layout's decode and matmul -------------------------------------------------------------
def _base_args(a: SparseArrays, zeros: np.ndarray) -> dict[str, object]:
    """Keyword arguments of the bitpack kernels for the base of ``a``."""
    return {"bits": a.bits, "k": a.k, "group_size": a.group_size, "zero": "float",
            "zeros": zeros, "perm": a.perm, "scale_dtype": "F32", "zero_dtype": "F32",
            "validate": False}


def dequantize(a: SparseArrays, *, validate: bool = True) -> np.ndarray:
    """Dequantize to ``[rows, k]`` float32, original column order; bit-identical to the reference.

    ``validate=False`` skips the content checks (the layout runs them once per tensor).
    """
    check_arrays(a)
    if validate:
        check_content(a)
    scales, zeros, _ = _statistics_and_outliers(a, np.zeros((0, a.k), dtype=np.float32))
    w = bitpack.dequantize(a.codes, scales, **_base_args(a, zeros))
    if not (w.dtype == np.float32 and w.flags.c_contiguous and w.flags.writeable):
        w = np.array(w, dtype=np.float32, order="C")
    return add_outliers(w, a.row_ptr, a.col_idx, a.values, value_dtype=a.value_dtype)


def linear(x: np.ndarray, a: SparseArrays, *, validate: bool = True) -> np.ndarray:
    """``x @ W.T`` for x ``[batch, k]`` float32: statistics and outlier products in one launch,
    then the bitpack kernel on the base."""
    check_arrays(a)
    if not isinstance(x, np.ndarray) or x.ndim != 2 or x.dtype != np.float32:
        raise ArgumentError("x must be a 2-D float32 array [batch, k]", field="x",
                            found=getattr(x, "dtype", type(x).__name__))
    if x.shape[1] != a.k:
        raise ArgumentError("x's last dimension must equal k", field="x.shape",
                            expected=f"[batch, {a.k}]", found=x.shape)
    if validate:
        check_content(a)
    x = np.ascontiguousarray(x)
    if x.shape[0] == 1 and a.group_size % _CHUNK == 0 and a.codes.shape[0] and a.k:
        return _linear_fused(x, a).reshape(1, -1)
    scales, zeros, y = _statistics_and_outliers(a, x)
    base = bitpack.linear(x, a.codes, scales, **_base_args(a, zeros))
    y += base
    return y


_NO64_2 = np.zeros((0, 0), dtype=np.uint64)


def _codes_as_words(a: SparseArrays) -> tuple[np.ndarray, np.ndarray] | None:
    """The statistic codes as uint64 words [G, bytes / 8] when groups and bytes come in eights
    and both arrays are 8-byte aligned (the 8x8 word transposition), else None (byte copies)."""
    codes = (a.scale_codes, a.zero_codes)
    if a.geometry.groups % 8 or a.scale_codes.shape[1] % 8 or any(
            c.ctypes.data % 8 or not c.flags.c_contiguous for c in codes):
        return None
    return _ro(codes[0].view(np.uint64)), _ro(codes[1].view(np.uint64))


def _linear_fused(x: np.ndarray, a: SparseArrays) -> np.ndarray:
    """Batch 1, groups on 8-code chunks: one launch of :func:`_linear_one`."""
    geo = a.geometry
    rows, k, bits, ng = geo.rows, geo.k, geo.bits, geo.groups
    xs = _ro(np.ascontiguousarray(x[0, a.perm] if a.perm is not None else x[0]))
    x0 = _ro(x[0])
    gsz = a.group_size
    nw, cpg = k // _CHUNK, gsz // _CHUNK
    threads = numba.config.NUMBA_NUM_THREADS  # thread ids index the scratch
    # per tile: its code bytes plus one, and the second-order rows its rows span
    # the tile's code bytes (groups padded to eights) plus a zero byte, as words
    tc64 = np.zeros((threads, 2, _ROW_CHUNK // _CHUNK * a.stat_bits + 1, -(-ng // 8)),
                    dtype=np.uint64)
    as_words = _codes_as_words(a)
    words = as_words is not None
    sc64, zc64 = as_words if as_words is not None else (_ro(_NO64_2), _ro(_NO64_2))
    so = np.empty((threads, 4, min(_ROW_CHUNK, (_ROW_CHUNK - 1) // a.stat_group + 2), ng),
                  dtype=np.float32)
    st = np.empty((threads, ng), dtype=np.float32)
    sw = np.empty((threads, max(nw, ng * cpg if cpg <= 8 else 0)), dtype=np.float32)
    sd = a.stat_dtype
    v16, v32 = _slots(a.values, a.value_dtype)
    row_ptr = a.row_ptr.astype(np.int64)
    # F16 outlier values of a tile, converted once per call (the most any tile holds)
    tile_nnz = np.diff(row_ptr[np.r_[0:rows:_ROW_CHUNK, rows]]).max(initial=0)
    ov = np.empty((threads, tile_nnz if a.value_dtype == "F16" else 0), dtype=np.float32)
    out = np.empty(rows, dtype=np.float32)
    with bitpack._threads_for(rows * k):
        xp = bitpack._chunk_planes(xs, k, bits, bitpack._N_FIELDS[bits])
        xsum = bitpack._group_sums(xs, k, gsz, ng)
        _linear_one(_ro(a.codes), bits, xp, xs, x0, xsum, k, gsz, ng, _ro(a.scale_codes),
                    _ro(a.zero_codes), sc64, zc64, words, *_slots(a.scale_scales, sd),
                    *_slots(a.scale_zeros, sd), *_slots(a.zero_scales, sd),
                    *_slots(a.zero_zeros, sd), _KIND[sd],
                    a.stat_bits, a.stat_group, _ro(row_ptr), _columns(a.col_idx), v16, v32,
                    _KIND[a.value_dtype], tc64, so, st, sw, ov, out)
    return out
