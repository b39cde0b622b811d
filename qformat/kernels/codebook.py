"""Jitted kernels of the ``codebook`` layout (numpy references: ``_ref/codebook.py``).

* :func:`decode_codebook` (exact): bit-identical to the reference dequantization.
* :func:`linear_codebook` (fast): ``x @ W.T`` without materialising ``W``. For small codebooks
  it builds, per input group, a lookup table of ``x_group . entry`` over every codebook entry,
  then each output row is a sum of table lookups (one per code); for large codebooks (1x16) it
  gathers the entries and takes the dot products directly. Threads split the *output rows*, and
  every output element is written by exactly one thread, so results do not depend on the
  thread count (no shared accumulators: AQLM's CPU kernel races on exactly that).
* :func:`assign_nearest` (exact): the k-means assignment step.
* :func:`pack_codes` / :func:`unpack_codes` (exact) and :func:`f16_to_f32` (exact).

The wrappers validate dtypes, shapes and contiguity; the jitted bodies do no bounds checks and
trust :meth:`CodebookLayout.check_parts` for the content (finite values, pad bits).
"""

from __future__ import annotations

import numpy as np
from numba import get_num_threads, get_thread_id, parallel_chunksize

from ..errors import ArgumentError
from ._jit import exact, fast, prange
from ._simd import (
    HALF_LOADS_NATIVE,
    v8_add,
    v8_fma,
    v8_hsum,
    v8_load,
    v8_splat,
    v8_store,
    v8_zero,
)

__all__ = [
    "assign_nearest",
    "decode_codebook",
    "f16_to_f32",
    "linear_codebook",
    "pack_codes",
    "unpack_codes",
]

#: Largest lookup table (bytes) the lookup-table path may allocate; above it, direct gathers.
LUT_MAX_BYTES = 64 * 1024 * 1024


def _readonly(arr: np.ndarray) -> np.ndarray:
    """A read-only view: inputs reach the kernels read-only whether or not they come from a
    memory map, so each kernel compiles one specialisation instead of two."""
    view = arr.view()
    view.flags.writeable = False
    return view


def _require(arr: np.ndarray, name: str, dtype: np.dtype, ndim: int) -> np.ndarray:
    """Validate an input array; return it C-contiguous and read-only."""
    if not isinstance(arr, np.ndarray):
        raise ArgumentError(f"{name} must be a numpy array", field=name,
                            found=type(arr).__name__)
    if arr.dtype != dtype or arr.ndim != ndim:
        raise ArgumentError(f"{name} has the wrong dtype or rank", field=name,
                            expected=f"{np.dtype(dtype)} with {ndim} dimensions",
                            found=f"{arr.dtype} with {arr.ndim} dimensions")
    return _readonly(arr if arr.flags.c_contiguous else np.ascontiguousarray(arr))


def _check_bits(bits: int) -> int:
    if type(bits) is not int or not 1 <= bits <= 16:
        raise ArgumentError("bits must be 1..16", field="bits", found=bits)
    return bits


# -- code packing ----------------------------------------------------------------------------------
@exact
def _code_at(row, n, bits):
    """Code ``n`` of one packed row (LSB-first bit stream)."""
    if bits == 8:
        return np.int64(row[n])
    if bits == 16:
        return np.int64(row[2 * n]) | (np.int64(row[2 * n + 1]) << 8)
    bit = n * bits
    byte = bit >> 3
    shift = bit & 7
    value = np.int64(row[byte])
    if shift + bits > 8:
        value |= np.int64(row[byte + 1]) << 8
        if shift + bits > 16:
            value |= np.int64(row[byte + 2]) << 16
    return (value >> shift) & ((np.int64(1) << bits) - 1)


@exact(parallel=True)
def _pack_rows(codes, bits, out):
    rows, n = codes.shape
    for i in prange(rows):
        row = out[i]
        for b in range(row.shape[0]):
            row[b] = 0
        for k in range(n):
            value = np.int64(codes[i, k])
            bit = k * bits
            done = 0
            while done < bits:
                byte = (bit + done) >> 3
                shift = (bit + done) & 7
                take = min(8 - shift, bits - done)
                piece = (value >> done) & ((np.int64(1) << take) - 1)
                row[byte] |= np.uint8(piece << shift)
                done += take


@exact(parallel=True)
def _unpack_rows(packed, bits, out):
    rows, n = out.shape
    for i in prange(rows):
        row = packed[i]
        dst = out[i]
        for k in range(n):
            dst[k] = _code_at(row, k, bits)


def pack_codes(codes: np.ndarray, bits: int) -> np.ndarray:
    """Codes ``[rows, n]`` (each < 2**bits, unchecked) -> ``uint8 [rows, ceil(n*bits/8)]``."""
    bits = _check_bits(bits)
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.dtype.kind not in "iu":
        raise ArgumentError("codes must be a 2-D integer array", field="codes",
                            found=f"{codes.dtype}{list(codes.shape)}")
    codes = _readonly(np.ascontiguousarray(codes, dtype=np.int64))
    out = np.empty((codes.shape[0], (codes.shape[1] * bits + 7) // 8), dtype=np.uint8)
    _pack_rows(codes, bits, out)
    return out


def unpack_codes(packed: np.ndarray, bits: int, n: int) -> np.ndarray:
    """``uint8 [rows, row_bytes]`` -> ``int32 [rows, n]`` (first ``n`` codes of every row)."""
    bits = _check_bits(bits)
    packed = _require(packed, "codes", np.dtype(np.uint8), 2)
    if n < 0 or (n * bits + 7) // 8 > packed.shape[1]:
        raise ArgumentError("rows are too short for that many codes", field="codes",
                            expected=f">= {(n * bits + 7) // 8} bytes per row",
                            found=packed.shape[1])
    out = np.empty((packed.shape[0], n), dtype=np.int32)
    _unpack_rows(packed, bits, out)
    return out


# -- float16 -----------------------------------------------------------------------------------
@exact(parallel=True)
def _f16_to_f32(src, dst, out):
    """``out`` is ``dst`` viewed as uint32 (views are taken outside numba)."""
    tiny = np.float32(2.0 ** -24)  # value of the smallest half subnormal
    for i in prange(src.shape[0]):
        h = np.uint32(src[i])
        sign = (h & np.uint32(0x8000)) << np.uint32(16)
        body = h & np.uint32(0x7FFF)
        exp = body & np.uint32(0x7C00)
        if exp == np.uint32(0x7C00):  # infinity / NaN: keep the payload
            out[i] = sign | np.uint32(0x7F800000) | ((body & np.uint32(0x03FF)) << np.uint32(13))
        elif exp == np.uint32(0):  # zero / subnormal: mantissa * 2**-24, exact in float32
            value = np.float32(body) * tiny
            dst[i] = -value if sign else value
        else:  # rebias the exponent from 15 to 127
            out[i] = sign | ((body << np.uint32(13)) + np.uint32(0x38000000))


def f16_to_f32(bits: np.ndarray) -> np.ndarray:
    """Half-precision bit patterns (uint16, any shape) -> float32 of the same shape, exactly."""
    arr = np.asarray(bits)
    if arr.dtype == np.float16:
        arr = arr.view(np.uint16)
    if arr.dtype != np.uint16:
        raise ArgumentError("expected float16 bit patterns (uint16)", field="bits",
                            found=str(arr.dtype))
    flat = _readonly(np.ascontiguousarray(arr).reshape(-1))
    out = np.empty(flat.shape[0], dtype=np.float32)
    _f16_to_f32(flat, out, out.view(np.uint32))
    return out.reshape(arr.shape)


# -- code words ----------------------------------------------------------------------------------
def _code_words(codes: np.ndarray, bits: int, count: int) -> np.ndarray:
    """One code per element, ``[rows, count]``: the bytes themselves for 8-bit codes, a uint16
    view for 16-bit codes, and an unpacked uint16 copy for any other width. Hot loops then
    index plain integer arrays (bit extraction in the inner loop costs ~3x)."""
    if bits == 8:
        return codes
    if bits == 16:
        return codes.view("<u2")
    words = np.empty((codes.shape[0], count), dtype=np.uint16)
    _unpack_rows(codes, bits, words)
    return _readonly(words)


# -- decode ------------------------------------------------------------------------------------
@exact(parallel=True)
def _decode(words, books, scales, product, in_groups, out):
    """Each output element is computed in a register, in the spec's order (+0.0, then each
    codebook's entry in turn, then times the scale) and stored once. Inner loops index views
    from 0, which lets LLVM drop numba's negative-index wraparound code (an offset index
    ``a[lo + t]`` pays it on every access and ran 3x slower)."""
    m, _, og, sub = books.shape
    ig = sub * m if product else sub
    for g in prange(words.shape[0]):
        row = words[g]
        for r in range(og):
            dst_row = out[g * og + r]
            s = scales[g * og + r]
            for j in range(in_groups):
                codes = row[j * m:(j + 1) * m]
                if product:
                    for c in range(m):
                        entry = books[c, np.intp(codes[c]), r]
                        dst = dst_row[j * ig + c * sub:j * ig + (c + 1) * sub]
                        for t in range(sub):
                            dst[t] = (np.float32(0.0) + entry[t]) * s
                else:
                    dst = dst_row[j * ig:(j + 1) * ig]
                    first = books[0, np.intp(codes[0]), r]
                    for t in range(sub):
                        dst[t] = np.float32(0.0) + first[t]
                    for c in range(1, m):
                        entry = books[c, np.intp(codes[c]), r]
                        for t in range(sub):
                            dst[t] = dst[t] + entry[t]
                    for t in range(sub):
                        dst[t] = dst[t] * s


def _check_layout_args(codes, books, scales, bits, in_groups, half_books=False):
    """Validate the layout arrays; ``half_books`` also accepts codebooks as uint16 half bits."""
    bits = _check_bits(bits)
    codes = _require(codes, "codes", np.dtype(np.uint8), 2)
    if half_books and isinstance(books, np.ndarray) and books.dtype == np.uint16:
        books = _require(books, "codebooks", np.dtype(np.uint16), 4)
    else:
        books = _require(books, "codebooks", np.dtype(np.float32), 4)
    scales = _require(scales, "scales", np.dtype(np.float32), 1)
    m, size, og, _ = books.shape
    if size != 1 << bits:
        raise ArgumentError("codebooks do not have 2**bits entries", field="codebooks",
                            expected=1 << bits, found=size)
    need = (in_groups * m * bits + 7) // 8
    if in_groups < 0 or codes.shape[1] != need:
        raise ArgumentError("codes rows do not match in_groups * num_codebooks codes",
                            field="codes", expected=f"{need} bytes per row",
                            found=codes.shape[1])
    if scales.shape[0] != codes.shape[0] * og:
        raise ArgumentError("scales must have one value per output row", field="scales",
                            expected=codes.shape[0] * og, found=scales.shape[0])
    return codes, books, scales


def decode_codebook(
    codes: np.ndarray,
    codebooks: np.ndarray,
    scales: np.ndarray,
    bits: int,
    product: bool,
    in_groups: int,
) -> np.ndarray:
    """Dequantize to float32 ``[out, in]``, bit-identical to the numpy reference."""
    codes, books, scales = _check_layout_args(codes, codebooks, scales, bits, in_groups)
    m, _, og, sub = books.shape
    ig = sub * m if product else sub
    out = np.empty((codes.shape[0] * og, in_groups * ig), dtype=np.float32)
    words = _code_words(codes, bits, in_groups * m)
    _decode(words, books, scales, bool(product), in_groups, out)
    return out


# -- linear ------------------------------------------------------------------------------------
@fast(parallel=True)
def _build_lut(x, books_t, product, in_groups, scratch, lut):
    """lut[j*M + c, r, k, b] = x[b, columns of codebook c in group j] . books[c, k, r, :].

    Each task computes its tables with the entries as vector lanes (``books_t`` is
    ``[M, og, sub, K]``, so the innermost loop runs over contiguous entries), in its own
    scratch ``[n, K]``, then stores them batch-innermost (one code then selects ``n``
    consecutive values)."""
    n = x.shape[0]
    m, og, sub, size = books_t.shape
    ig = sub * m if product else sub
    jm_count = in_groups * m
    n_tasks = scratch.shape[0]
    per_task = (jm_count + n_tasks - 1) // n_tasks
    for task in prange(n_tasks):
        tmp = scratch[task]
        for jm in range(task * per_task, min(jm_count, (task + 1) * per_task)):
            j = jm // m
            c = jm - j * m
            lo = j * ig + (c * sub if product else 0)
            for r in range(og):
                for b in range(n):
                    row = tmp[b]
                    for k in range(size):
                        row[k] = np.float32(0.0)
                    xs = x[b, lo:lo + sub]
                    for t in range(sub):
                        xv = xs[t]
                        src = books_t[c, r, t]
                        for k in range(size):
                            row[k] += xv * src[k]
                dst = lut[jm, r]
                if n == 1:
                    src0 = tmp[0]
                    for k in range(size):
                        dst[k, 0] = src0[k]
                else:
                    for k in range(size):
                        for b in range(n):
                            dst[k, b] = tmp[b, k]


@fast(parallel=True)
def _build_lut_b1(x, books_t, product, in_groups, lut):
    """Batch 1, ``K % 32 == 0``: ``lut[j*M + c, r, k] = x[columns of (j, c)] . books[c, k, r]``.

    Tasks run codebook-major over pairs of input groups, so consecutive tasks read the same
    transposed codebook (``books_t`` is ``[M, og, sub, K]``, entries contiguous) from L1, and
    every vector of entries loaded is used for two groups. Blocks of 32 entries are held in
    eight vector accumulators (four per group) while the input columns are broadcast one by
    one: one vector FMA per 8 multiply-adds and each table stored once (the generic builder
    keeps its accumulators in memory: about 5x slower for 8x8 with groups of 32)."""
    m, og, sub, size = books_t.shape
    ig = sub * m if product else sub
    flat = books_t.reshape(-1)
    pairs = (in_groups + 1) // 2
    for q in prange(m * pairs):
        c = q // pairs
        j0 = 2 * (q - c * pairs)
        j1 = min(j0 + 1, in_groups - 1)  # an odd last group is computed twice (same values)
        lo0 = j0 * ig + (c * sub if product else 0)
        lo1 = j1 * ig + (c * sub if product else 0)
        for r in range(og):
            d0 = lut[j0 * m + c, r]
            d1 = lut[j1 * m + c, r]
            for kb in range(0, size, 32):
                a0 = v8_zero()
                a1 = v8_zero()
                a2 = v8_zero()
                a3 = v8_zero()
                b0 = v8_zero()
                b1 = v8_zero()
                b2 = v8_zero()
                b3 = v8_zero()
                at = ((c * og + r) * sub) * size + kb  # books_t[c, r, 0, kb]
                for t in range(sub):
                    p = at + t * size
                    e0 = v8_load(flat, p)
                    e1 = v8_load(flat, p + 8)
                    e2 = v8_load(flat, p + 16)
                    e3 = v8_load(flat, p + 24)
                    xa = v8_splat(x[lo0 + t])
                    xb = v8_splat(x[lo1 + t])
                    a0 = v8_fma(xa, e0, a0)
                    a1 = v8_fma(xa, e1, a1)
                    a2 = v8_fma(xa, e2, a2)
                    a3 = v8_fma(xa, e3, a3)
                    b0 = v8_fma(xb, e0, b0)
                    b1 = v8_fma(xb, e1, b1)
                    b2 = v8_fma(xb, e2, b2)
                    b3 = v8_fma(xb, e3, b3)
                v8_store(d0, kb, a0)
                v8_store(d0, kb + 8, a1)
                v8_store(d0, kb + 16, a2)
                v8_store(d0, kb + 24, a3)
                v8_store(d1, kb, b0)
                v8_store(d1, kb + 8, b1)
                v8_store(d1, kb + 16, b2)
                v8_store(d1, kb + 24, b3)


@exact(inline="always")
def _lut8(tables, word):
    """Sum of the eight table values one uint64 word of 8-bit codes selects (``tables`` holds
    256 floats per code position, consecutive), as a fixed balanced tree."""
    mask = np.uint64(255)
    return (((tables[np.intp(word & mask)]
              + tables[256 + np.intp((word >> np.uint64(8)) & mask)])
             + (tables[512 + np.intp((word >> np.uint64(16)) & mask)]
                + tables[768 + np.intp((word >> np.uint64(24)) & mask)]))
            + ((tables[1024 + np.intp((word >> np.uint64(32)) & mask)]
                + tables[1280 + np.intp((word >> np.uint64(40)) & mask)])
               + (tables[1536 + np.intp((word >> np.uint64(48)) & mask)]
                  + tables[1792 + np.intp(word >> np.uint64(56))])))


@exact(parallel=True)
def _gather_b1_u8(codes64, lut_flat, scales, out, tiles, rows_per_block):
    """Batch 1, 8-bit codes, out groups of 1 (AQLM 8x8 with groups of 32, and any 8-bit
    configuration the 8-lane kernels do not take): ``out[o] = scales[o] * sum of one table
    value per code``.

    Walking whole rows touches the entire table (1 MiB for 4096 inputs x 8 codebooks) for every
    row, so most lookups miss L2; walking a table slice over many rows instead reads each row's
    codes at a 1 KiB stride, which the prefetchers do not follow (measured 9x slower than
    sequential reads). So a thread copies a block of rows' code words into its transposed tile
    (``tiles[thread id]``, word-major), then walks the words two at a time over every row of
    the block: the two 8 KiB table slices stay in L1. Each row is summed by one thread in the
    same order whatever the thread count or schedule."""
    rows, words = codes64.shape
    for blk in prange((rows + rows_per_block - 1) // rows_per_block):
        tile = tiles[get_thread_id()]
        r0 = blk * rows_per_block
        nr = min(rows, r0 + rows_per_block) - r0
        for b in range(0, nr - nr % 8, 8):  # transpose eight rows at a time
            s0 = codes64[r0 + b]
            s1 = codes64[r0 + b + 1]
            s2 = codes64[r0 + b + 2]
            s3 = codes64[r0 + b + 3]
            s4 = codes64[r0 + b + 4]
            s5 = codes64[r0 + b + 5]
            s6 = codes64[r0 + b + 6]
            s7 = codes64[r0 + b + 7]
            for w in range(words):
                d = tile[w * nr + b:w * nr + b + 8]
                d[0] = s0[w]
                d[1] = s1[w]
                d[2] = s2[w]
                d[3] = s3[w]
                d[4] = s4[w]
                d[5] = s5[w]
                d[6] = s6[w]
                d[7] = s7[w]
        for r in range(nr - nr % 8, nr):
            src = codes64[r0 + r]
            for w in range(words):
                tile[w * nr + r] = src[w]
        acc = out[r0:r0 + nr]
        for r in range(nr):
            acc[r] = np.float32(0.0)
        for w in range(0, words - 1, 2):
            ta = lut_flat[w * 2048:(w + 1) * 2048]
            tb = lut_flat[(w + 1) * 2048:(w + 2) * 2048]
            ca = tile[w * nr:(w + 1) * nr]
            cb = tile[(w + 1) * nr:(w + 2) * nr]
            for r in range(nr):
                acc[r] += _lut8(ta, ca[r]) + _lut8(tb, cb[r])
        if words & 1:
            ta = lut_flat[(words - 1) * 2048:words * 2048]
            ca = tile[(words - 1) * nr:words * nr]
            for r in range(nr):
                acc[r] += _lut8(ta, ca[r])
        block_scales = scales[r0:r0 + nr]
        for r in range(nr):
            acc[r] *= block_scales[r]


@exact(parallel=True)
def _gather_b1(words, lut, scales, out):
    """Batch 1, any code width and out-group size: one row group per iteration."""
    jm_count, og, _ = lut.shape
    for g in prange(words.shape[0]):
        row = words[g]
        for r in range(og):
            table = lut[:, r]
            acc = np.float32(0.0)
            for jm in range(jm_count):
                acc += table[jm, np.intp(row[jm])]
            out[g * og + r] = acc * scales[g * og + r]


@exact(parallel=True)
def _gather_batch(words, lut_flat, og, size, n, scales, out):
    """Batch n > 1, any code width: one code selects n consecutive table values (``lut`` is
    ``[JM, og, K, n]``, flattened), summed in up to eight scalar accumulators per pass (flat
    indexing: a view per code would cost more than the additions)."""
    jm_count = words.shape[1]
    for g in prange(words.shape[0]):
        row = words[g]
        for r in range(og):
            o = g * og + r
            for b0 in range(0, n, 8):
                width = min(8, n - b0)
                a0 = np.float32(0.0)
                a1 = np.float32(0.0)
                a2 = np.float32(0.0)
                a3 = np.float32(0.0)
                a4 = np.float32(0.0)
                a5 = np.float32(0.0)
                a6 = np.float32(0.0)
                a7 = np.float32(0.0)
                for jm in range(jm_count):
                    base = ((jm * og + r) * size + np.intp(row[jm])) * n + b0
                    a0 += lut_flat[base]
                    if width > 1:
                        a1 += lut_flat[base + 1]
                    if width > 2:
                        a2 += lut_flat[base + 2]
                    if width > 3:
                        a3 += lut_flat[base + 3]
                    if width > 4:
                        a4 += lut_flat[base + 4]
                    if width > 5:
                        a5 += lut_flat[base + 5]
                    if width > 6:
                        a6 += lut_flat[base + 6]
                    if width > 7:
                        a7 += lut_flat[base + 7]
                s = scales[o]
                sums = (a0, a1, a2, a3, a4, a5, a6, a7)
                for i in range(width):
                    out[b0 + i, o] = sums[i] * s


@fast(parallel=True)
def _direct_linear(x, words, books, scales, product, in_groups, acc_scratch, out):
    """Large codebooks (1x16): gather each entry once and take its dot product with the input
    slice of every batch row; accumulators per (row, batch) in ``acc_scratch[g]``."""
    n = x.shape[0]
    m, _, og, sub = books.shape
    ig = sub * m if product else sub
    for g in prange(words.shape[0]):
        row = words[g]
        acc = acc_scratch[g]
        for r in range(og):
            for b in range(n):
                acc[r, b] = np.float32(0.0)
        for j in range(in_groups):
            for c in range(m):
                k = np.intp(row[j * m + c])
                lo = j * ig + (c * sub if product else 0)
                for r in range(og):
                    entry = books[c, k, r]
                    for b in range(n):
                        xs = x[b, lo:lo + sub]
                        s = np.float32(0.0)
                        for t in range(sub):
                            s += xs[t] * entry[t]
                        acc[r, b] += s
        for r in range(og):
            for b in range(n):
                out[b, g * og + r] = acc[r, b] * scales[g * og + r]


@fast(parallel=True)
def _direct_b1_rows4(x, words, entries, product, in_groups, scales, out):
    """Batch 1, out groups of 1, large codebooks: four rows at a time, so that four
    independent entry gathers (cache misses for a 2 MiB 1x16 codebook) are in flight together;
    about 1.5x faster than one row at a time. ``entries`` is ``[M, K, sub]``: indexing it
    with a loop variable and a zero-extended code lets LLVM drop numba's negative-index
    wraparound code (an index like ``c * K + code`` pays it on every gather, ~1.6x slower).
    Rows past the last multiple of 4 are left to the caller."""
    m, _, sub = entries.shape
    ig = sub * m if product else sub
    xb = x[0]
    for blk in prange(words.shape[0] // 4):
        o = blk * 4
        w0 = words[o]
        w1 = words[o + 1]
        w2 = words[o + 2]
        w3 = words[o + 3]
        a0 = np.float32(0.0)
        a1 = np.float32(0.0)
        a2 = np.float32(0.0)
        a3 = np.float32(0.0)
        for j in range(in_groups):
            for c in range(m):
                n = j * m + c
                lo = j * ig + (c * sub if product else 0)
                xs = xb[lo:lo + sub]
                book = entries[c]
                e0 = book[np.intp(w0[n])]
                e1 = book[np.intp(w1[n])]
                e2 = book[np.intp(w2[n])]
                e3 = book[np.intp(w3[n])]
                s0 = np.float32(0.0)
                s1 = np.float32(0.0)
                s2 = np.float32(0.0)
                s3 = np.float32(0.0)
                for t in range(sub):
                    xv = xs[t]
                    s0 += xv * e0[t]
                    s1 += xv * e1[t]
                    s2 += xv * e2[t]
                    s3 += xv * e3[t]
                a0 += s0
                a1 += s1
                a2 += s2
                a3 += s3
        out[0, o] = a0 * scales[o]
        out[0, o + 1] = a1 * scales[o + 1]
        out[0, o + 2] = a2 * scales[o + 2]
        out[0, o + 3] = a3 * scales[o + 3]


# -- linear: entries of 8 lanes, decoded in registers (AQLM 2x8 g8, 1x16 g8, 8x8 g8) ---------------
# Each code word (uint64) holds 64/bits codes; with M = len(books) dividing that, a word covers
# whole groups, so code k of word w belongs to group w*(per_word/M) + k//M and codebook k % M.
# The kernels are written out code by code: k, M and bits are constants once inlined, so every
# tuple index, division and branch below folds away (a generic loop ran 2.4x more instructions).


@fast(inline="always")
def _entry(books, word, k, bits):
    """Entry (8 lanes) of code ``k`` of a little-endian uint64 word of ``bits``-bit codes, from
    codebook ``k % M``. The element offset ``code * 8`` takes one shift and one mask."""
    mask = np.uint64(((1 << bits) - 1) << 3)
    shift = bits * k - 3
    if shift < 0:
        offset = np.intp((word << np.uint64(-shift)) & mask)
    else:
        offset = np.intp((word >> np.uint64(shift)) & mask)
    return v8_load(books[k % len(books)], offset)


@fast(inline="always")
def _code_fma(books, word, k, bits, x, group0, acc):
    """``acc + x[group of code k] * entry(code k)``: one fused multiply-add per code (for M > 1
    the codes of a group share the input load)."""
    xv = v8_load(x, (group0 + k // len(books)) * 8)
    return v8_fma(xv, _entry(books, word, k, bits), acc)


@fast(parallel=True)
def _dot8_b1(words, books, x, scales, out):
    """Batch 1, 8-bit codes (AQLM 2x8 / 8x8 with groups of 8): ``out[o] = scales[o] * sum over
    codes of x[group] . entry`` with the entries loaded as vectors (a 256-entry float32 codebook
    is 8 KiB: it stays in L1), eight codes per uint64 word, four accumulators.

    ``words`` is the codes viewed as uint64 ``[rows, codes/8]``; ``books`` a tuple of ``M``
    float32 (or half-bit uint16) arrays ``[256 * 8]`` with ``M`` dividing 8."""
    per_word = 8 // len(books)
    for o in prange(words.shape[0]):
        row = words[o]
        a0 = v8_zero()
        a1 = v8_zero()
        a2 = v8_zero()
        a3 = v8_zero()
        for w in range(row.shape[0]):
            v = row[w]
            g = w * per_word
            a0 = _code_fma(books, v, 0, 8, x, g, a0)
            a1 = _code_fma(books, v, 1, 8, x, g, a1)
            a2 = _code_fma(books, v, 2, 8, x, g, a2)
            a3 = _code_fma(books, v, 3, 8, x, g, a3)
            a0 = _code_fma(books, v, 4, 8, x, g, a0)
            a1 = _code_fma(books, v, 5, 8, x, g, a1)
            a2 = _code_fma(books, v, 6, 8, x, g, a2)
            a3 = _code_fma(books, v, 7, 8, x, g, a3)
        out[o] = v8_hsum(v8_add(v8_add(a0, a1), v8_add(a2, a3))) * scales[o]


@fast(parallel=True)
def _dot16_b1(words, books, x, scales, out):
    """Batch 1, 16-bit codes (AQLM 1x16 with groups of 8): as :func:`_dot8_b1` with four codes
    per word. The 65536-entry codebook does not fit in L2; passing it as half bits (when the CPU
    converts them natively) halves its footprint and the misses."""
    per_word = 4 // len(books)
    for o in prange(words.shape[0]):
        row = words[o]
        a0 = v8_zero()
        a1 = v8_zero()
        a2 = v8_zero()
        a3 = v8_zero()
        for w in range(row.shape[0]):
            v = row[w]
            g = w * per_word
            a0 = _code_fma(books, v, 0, 16, x, g, a0)
            a1 = _code_fma(books, v, 1, 16, x, g, a1)
            a2 = _code_fma(books, v, 2, 16, x, g, a2)
            a3 = _code_fma(books, v, 3, 16, x, g, a3)
        out[o] = v8_hsum(v8_add(v8_add(a0, a1), v8_add(a2, a3))) * scales[o]


@fast(inline="always")
def _fma4(xs, at, e, acc):
    """The four accumulators ``acc[i] + xs[i][at:at+8] * e``."""
    return (v8_fma(v8_load(xs[0], at), e, acc[0]), v8_fma(v8_load(xs[1], at), e, acc[1]),
            v8_fma(v8_load(xs[2], at), e, acc[2]), v8_fma(v8_load(xs[3], at), e, acc[3]))


@fast(inline="always")
def _word_b4(books, v, bits, xs, group0, even, odd):
    """Add one code word's groups to four input vectors' accumulators: each group's weights are
    summed once (M entries) and used by the four vectors; even and odd groups go to separate
    accumulators (FMA latency)."""
    m = len(books)
    if 64 // bits == m:  # one group per word
        e = _entry(books, v, 0, bits)
        for k in range(1, m):
            e = v8_add(e, _entry(books, v, k, bits))
        return _fma4(xs, group0 * 8, e, even), odd
    for g in range(64 // bits // m):  # constant trip count: unrolled
        e = _entry(books, v, g * m, bits)
        for c in range(1, m):
            e = v8_add(e, _entry(books, v, g * m + c, bits))
        if g & 1:
            odd = _fma4(xs, (group0 + g) * 8, e, odd)
        else:
            even = _fma4(xs, (group0 + g) * 8, e, even)
    return even, odd


@fast(inline="always")
def _dot_b4_rows(words, books, x, scales, out, bits):
    """Batches in blocks of four input vectors (``x`` rows padded to a multiple of 4)."""
    per_word = 64 // bits // len(books)
    for o in prange(words.shape[0]):
        row = words[o]
        s = scales[o]
        for b in range(0, x.shape[0], 4):
            xs = (x[b], x[b + 1], x[b + 2], x[b + 3])
            even = (v8_zero(), v8_zero(), v8_zero(), v8_zero())
            odd = (v8_zero(), v8_zero(), v8_zero(), v8_zero())
            for w in range(row.shape[0]):
                even, odd = _word_b4(books, row[w], bits, xs, w * per_word, even, odd)
            out[b, o] = v8_hsum(v8_add(even[0], odd[0])) * s
            out[b + 1, o] = v8_hsum(v8_add(even[1], odd[1])) * s
            out[b + 2, o] = v8_hsum(v8_add(even[2], odd[2])) * s
            out[b + 3, o] = v8_hsum(v8_add(even[3], odd[3])) * s


@fast(parallel=True)
def _dot8_b4(words, books, x, scales, out):
    """8-bit codes, ``x [4k, in]`` (see :func:`_dot_b4_rows`)."""
    _dot_b4_rows(words, books, x, scales, out, 8)


@fast(parallel=True)
def _dot16_b4(words, books, x, scales, out):
    """16-bit codes, ``x [4k, in]`` (see :func:`_dot_b4_rows`)."""
    _dot_b4_rows(words, books, x, scales, out, 16)


#: Bytes of code words each thread transposes at a time in :func:`_gather_b1_u8` (a block of
#: rows; half of a 512 KiB L2).
GATHER_TILE_BYTES = 256 * 1024


#: Output rows per dynamically scheduled chunk of the row-parallel kernels: on a shared machine
#: a thread whose core is busy takes fewer chunks (static halves wait for the slower core).
#: Results do not depend on the schedule: each row is computed by one thread, in one order.
ROWS_PER_CHUNK = 64

#: Half-bit codebooks smaller than this (as float32) are converted once per call: they stay in L1
#: either way, and float32 saves the conversion per load (2x8: 16 KiB). Larger ones (8x8: 64 KiB
#: as float32, 1x16: 2 MiB) are read as halves, which halves their cache footprint.
HALF_ENTRIES_MIN_BYTES = 16 * 1024

#: Batches from this size on decode the weight once and multiply with BLAS (``np.matmul``):
#: the per-vector kernels then cost more than writing the dense weight (measured crossover on
#: 4096x4096, see docs/codebook.md).
DECODE_MATMUL_MIN_BATCH = 32


def _lanes8_words(codes: np.ndarray, bits: int, m: int, og: int, sub: int, product: bool,
                  jm_count: int) -> np.ndarray | None:
    """The codes as uint64 words when the 8-lane kernels apply (additive, entries of 8 lanes,
    out groups of 1, 8- or 16-bit codes, whole groups per word and whole words per row)."""
    if product or og != 1 or sub != 8 or bits not in (8, 16):
        return None
    per_word = 64 // bits
    if per_word % m or (jm_count * bits) % 64:
        return None
    if codes.ctypes.data % 8:  # an unaligned memory map: copy once rather than compile twice
        codes = _readonly(codes.copy())
    return codes.view(np.uint64)


def _linear_lanes8(x: np.ndarray, words: np.ndarray, books: np.ndarray, scales: np.ndarray,
                   bits: int, out: np.ndarray) -> None:
    """Batch 1 and small batches through :func:`_dot8_b1` / :func:`_dot16_b1` and their
    four-vector forms."""
    m = books.shape[0]
    entries = tuple(books[c].reshape(-1) for c in range(m))
    n = x.shape[0]
    if n == 1:
        with parallel_chunksize(ROWS_PER_CHUNK):
            (_dot8_b1 if bits == 8 else _dot16_b1)(words, entries, x[0], scales, out[0])
        return
    padded = -(-n // 4) * 4
    xs = np.zeros((padded, x.shape[1]), dtype=np.float32)
    xs[:n] = x
    res = np.empty((padded, out.shape[1]), dtype=np.float32)
    with parallel_chunksize(ROWS_PER_CHUNK):
        (_dot8_b4 if bits == 8 else _dot16_b4)(words, entries, _readonly(xs), scales, res)
    out[...] = res[:n]


def _books_f32(books: np.ndarray) -> np.ndarray:
    return books if books.dtype == np.float32 else _readonly(f16_to_f32(books))


def linear_codebook(
    x: np.ndarray,
    codes: np.ndarray,
    codebooks: np.ndarray,
    scales: np.ndarray,
    bits: int,
    product: bool,
    in_groups: int,
) -> np.ndarray:
    """``x @ W.T`` for float32 ``x [n, in]``: float32 ``[n, out]`` (reassociated sums).

    ``codebooks`` is float32, or uint16 holding IEEE half bit patterns (F16 storage, read as is
    by the 8-lane kernels where the CPU converts halves natively, otherwise converted once).
    For a given batch size the result is bit-identical for any numba thread count: every output
    element is computed by one thread in a fixed order. From :data:`DECODE_MATMUL_MIN_BATCH`
    vectors on, the weight is decoded and multiplied by BLAS.
    """
    codes, books, scales = _check_layout_args(codes, codebooks, scales, bits, in_groups,
                                              half_books=True)
    x = _require(x, "x", np.dtype(np.float32), 2)
    m, size, og, sub = books.shape
    ig = sub * m if product else sub
    if x.shape[1] != in_groups * ig:
        raise ArgumentError("x's last dimension must equal in_features", field="x",
                            expected=in_groups * ig, found=x.shape[1])
    n = x.shape[0]
    n_out_groups = codes.shape[0]
    rows = n_out_groups * og
    out = np.empty((n, rows), dtype=np.float32)
    jm_count = in_groups * m
    if n == 0 or rows == 0:
        out[...] = 0
        return out
    if n >= DECODE_MATMUL_MIN_BATCH:
        weight = decode_codebook(codes, _books_f32(books), scales, bits, product, in_groups)
        np.matmul(x, weight.T, out=out)
        return out
    words64 = _lanes8_words(codes, bits, m, og, sub, bool(product), jm_count)
    if words64 is not None:
        if books.dtype == np.uint16 and (not HALF_LOADS_NATIVE
                                         or books.size * 4 <= HALF_ENTRIES_MIN_BYTES):
            books = _books_f32(books)
        _linear_lanes8(x, words64, books, scales, bits, out)
        return out
    books = _books_f32(books)
    fast8 = bits == 8 and og == 1 and jm_count % 8 == 0
    per_call = 1 if fast8 else n  # the 8-bit path runs one input vector at a time
    lut_bytes = jm_count * og * size * per_call * 4
    if lut_bytes > LUT_MAX_BYTES or size > max(rows, 16):
        words = _code_words(codes, bits, jm_count)
        if n == 1 and og == 1 and rows >= 4:
            _direct_b1_rows4(x, words, books.reshape(m, size, sub), bool(product), in_groups,
                             scales, out)
            done = rows - rows % 4
        else:
            done = 0
        if done < rows:
            rest = words.shape[0] - done // og
            _direct_linear(x, words[done // og:], books, scales[done:], bool(product),
                           in_groups, np.empty((rest, og, n), dtype=np.float32),
                           out[:, done:])
        return out
    books_t = _readonly(np.ascontiguousarray(books.transpose(0, 2, 3, 1)))  # [M, og, sub, K]
    n_tasks = min(jm_count, 64)
    scratch = np.empty((n_tasks, per_call, size), dtype=np.float32)
    lut = np.empty((jm_count, og, size, per_call), dtype=np.float32)
    if fast8:
        codes64 = codes.view(np.uint64)
        flat = lut.reshape(jm_count, og, size)
        words = codes64.shape[1]
        rows_per_block = max(8, min(rows, GATHER_TILE_BYTES // (8 * words)) // 8 * 8)
        tiles = np.empty((get_num_threads(), rows_per_block * words), dtype=np.uint64)
        for b in range(n):
            if size % 32 == 0:
                with parallel_chunksize(16):
                    _build_lut_b1(x[b], books_t, bool(product), in_groups, flat)
            else:
                _build_lut(x[b:b + 1], books_t, bool(product), in_groups, scratch, lut)
            with parallel_chunksize(1):
                _gather_b1_u8(codes64, _readonly(lut).reshape(-1), scales, out[b], tiles,
                              rows_per_block)
        return out
    _build_lut(x, books_t, bool(product), in_groups, scratch, lut)
    lut = _readonly(lut)
    words = _code_words(codes, bits, jm_count)
    if n > 1:
        _gather_batch(words, lut.reshape(-1), og, size, n, scales, out)
    else:
        _gather_b1(words, lut.reshape(jm_count, og, size), scales, out[0])
    return out


# -- k-means assignment ------------------------------------------------------------------------
@exact(parallel=True)
def _assign(points, books_t, norms, labels, score, chunk, scratch, scratch_bits):
    """Chunks of points in parallel; per point the dot products run over the centroids (lanes)
    with the coordinates in order, as in the reference. The argmin packs (order-preserving
    integer of the score, index) into one int64 so that it vectorizes and keeps the lowest
    index among equal scores. ``scratch_bits`` is ``scratch`` viewed as int32."""
    n, d = points.shape
    size = books_t.shape[1]
    two = np.float32(2.0)
    low31 = np.int64(0x7FFFFFFF)
    for ci in prange((n + chunk - 1) // chunk):
        dot = scratch[ci]
        bits = scratch_bits[ci]
        for i in range(ci * chunk, min(n, (ci + 1) * chunk)):
            for k in range(size):
                dot[k] = np.float32(0.0)
            for t in range(d):
                xv = points[i, t]
                src = books_t[t]
                for k in range(size):
                    dot[k] = dot[k] + xv * src[k]
            for k in range(size):
                dot[k] = norms[k] - two * dot[k]
            best = np.int64(0x7FFFFFFFFFFFFFFF)
            for k in range(size):
                b = np.int64(bits[k])
                b = np.int64(0) if b == np.int64(-2147483648) else b  # -0.0 ties with +0.0
                key = b ^ ((b >> np.int64(31)) & low31)  # float order -> integer order
                best = min(best, (key << np.int64(32)) | np.int64(k))
            k_best = best & np.int64(0xFFFFFFFF)
            labels[i] = np.int32(k_best)
            score[i] = dot[k_best]


@exact
def _norms(books_t, norms):
    d, size = books_t.shape
    for k in range(size):
        norms[k] = np.float32(0.0)
    for t in range(d):
        for k in range(size):
            norms[k] = norms[k] + books_t[t, k] * books_t[t, k]


def assign_nearest(points: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centroid of every point: ``(labels int32 [N], |c|^2 - 2 x.c float32 [N])``.

    Ties go to the lowest index; the result does not depend on the thread count.
    """
    points = _require(np.asarray(points), "points", np.dtype(np.float32), 2)
    centroids = _require(np.asarray(centroids), "centroids", np.dtype(np.float32), 2)
    if centroids.shape[1] != points.shape[1] or centroids.shape[0] == 0:
        raise ArgumentError("centroids must be [K>0, d] with the points' d", field="centroids",
                            expected=f"[K, {points.shape[1]}]", found=list(centroids.shape))
    books_t = _readonly(np.ascontiguousarray(centroids.T))
    norms = np.empty(centroids.shape[0], dtype=np.float32)
    _norms(books_t, norms)
    norms = _readonly(norms)
    n = points.shape[0]
    n_chunks = max(1, min(64, (n + 255) // 256))  # bounded scratch: 64 x K floats at most
    chunk = max(1, (n + n_chunks - 1) // n_chunks)
    scratch = np.empty((n_chunks, centroids.shape[0]), dtype=np.float32)
    labels = np.empty(n, dtype=np.int32)
    score = np.empty(n, dtype=np.float32)
    _assign(points, books_t, norms, labels, score, chunk, scratch, scratch.view(np.int32))
    return labels, score
