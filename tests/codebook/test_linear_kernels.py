"""The speed paths of ``linear``: 8-lane vector kernels, tiled lookup tables, decode+matmul.

Every path is compared with the numpy reference (``qformat/kernels/_ref/codebook.py``: decode,
then a float64 product) within the QF-CODEBOOK-007 tolerance; shapes are small (the paths are
chosen by configuration, not by size), and the thresholds that depend on size (tile bytes,
decode+matmul batch) are lowered with ``monkeypatch`` to reach every branch.
"""

from __future__ import annotations

import numpy as np
import pytest

from qformat.kernels import _simd
from qformat.kernels import codebook as kern
from qformat.kernels._ref import codebook as ref
from qformat.layouts.codebook import from_codes

pytestmark = pytest.mark.jit


def _layout(rng, out, inp, m, bits, ig, og=1, product=False):
    sub = ig // m if product else ig
    codes = rng.integers(0, 1 << bits, (out // og, inp // ig * m))
    packed = ref.pack_codes(codes, bits)
    books = rng.standard_normal((m, 1 << bits, og, sub)).astype(np.float16).astype(np.float32)
    scales = rng.uniform(-2.0, 2.0, out).astype(np.float32)
    return packed, books, scales, inp // ig


def _check(got, x, packed, books, scales, bits, product, groups):
    """QF-CODEBOOK-007: within 1e-5 * sum|x| * max|W| of the float64 product, per output."""
    want = ref.linear_codebook(x, packed, books, scales, bits, product, groups)
    w = ref.decode_codebook(packed, books, scales, bits, product, groups)
    tol = 1e-5 * np.abs(x).sum(axis=1, keepdims=True) * np.abs(w).max()
    assert got.shape == want.shape
    assert (np.abs(got - want) <= tol).all()


def _half(books):
    return books.astype(np.float16).view(np.uint16)


# out, in, M, bits: additive groups of 1x8, whole groups per uint64 word of codes
LANES8 = [
    (24, 64, 1, 8),     # 1x8 (VQ), 8 groups per word
    (40, 128, 2, 8),    # AQLM 2x8
    (16, 64, 4, 8),     # 4x8: 32 KiB of float32 entries, read as halves
    (12, 32, 8, 8),     # AQLM 8x8 with groups of 8: one group per word
    (20, 32, 1, 16),    # AQLM 1x16
    (8, 32, 2, 16),     # 2x16
]


@pytest.mark.parametrize("case", LANES8, ids=lambda c: f"{c[2]}x{c[3]}")
@pytest.mark.parametrize("batch", [1, 3, 6])
@pytest.mark.parametrize("half", [False, True], ids=["f32-books", "half-books"])
def test_lanes8_kernels_match_reference(rng, case, batch, half):
    """The 8-lane kernels (batch 1 and blocks of four, padded) for every M dividing a word."""
    out, inp, m, bits = case
    packed, books, scales, groups = _layout(rng, out, inp, m, bits, 8)
    assert kern._lanes8_words(packed, bits, m, 1, 8, False, groups * m) is not None
    x = rng.standard_normal((batch, inp)).astype(np.float32)
    got = kern.linear_codebook(x, packed, _half(books) if half else books, scales, bits, False,
                               groups)
    _check(got, x, packed, books, scales, bits, False, groups)


def test_half_and_float32_books_give_the_same_bits(rng):
    """Half bit patterns are converted exactly in registers: the same products, bit for bit."""
    for m, bits in ((1, 16), (8, 8), (2, 8)):
        packed, books, scales, groups = _layout(rng, 16, 64, m, bits, 8)
        x = rng.standard_normal((1, 64)).astype(np.float32)
        a = kern.linear_codebook(x, packed, books, scales, bits, False, groups)
        b = kern.linear_codebook(x, packed, _half(books), scales, bits, False, groups)
        assert np.array_equal(a.view(np.uint32), b.view(np.uint32))


def test_routing_of_the_lanes8_kernels(rng):
    """Only additive groups of 1x8 with whole groups per word take the 8-lane kernels."""
    packed = np.zeros((4, 16), dtype=np.uint8)
    assert kern._lanes8_words(packed, 8, 2, 1, 8, False, 16) is not None
    assert kern._lanes8_words(packed, 8, 2, 1, 8, True, 16) is None       # product
    assert kern._lanes8_words(packed, 8, 2, 2, 8, False, 16) is None      # out groups
    assert kern._lanes8_words(packed, 8, 2, 1, 16, False, 16) is None     # 16-lane entries
    assert kern._lanes8_words(packed, 8, 3, 1, 8, False, 15) is None      # 3 codebooks
    assert kern._lanes8_words(packed, 4, 2, 1, 8, False, 32) is None      # 4-bit codes
    assert kern._lanes8_words(packed[:, :12], 8, 2, 1, 8, False, 12) is None  # 1.5 words


def test_unaligned_codes(rng):
    """Codes at an odd address (a memory map at any offset) are copied, not misread."""
    packed, books, scales, groups = _layout(rng, 16, 64, 2, 8, 8)
    buf = np.zeros(packed.size + 1, dtype=np.uint8)
    odd = buf[1:].reshape(packed.shape)
    odd[...] = packed
    assert odd.ctypes.data % 8
    x = rng.standard_normal((2, 64)).astype(np.float32)
    _check(kern.linear_codebook(x, odd, books, scales, 8, False, groups), x, packed, books,
           scales, 8, False, groups)


@pytest.mark.parametrize(("out", "inp", "m", "ig", "og", "product"), [
    (261, 192, 8, 32, 1, False),  # 8x8 with groups of 32: 6 words, rows not a multiple of 8
    (256, 160, 8, 32, 1, False),  # 5 words (odd: the last word alone), 5 groups (odd pair)
    (256, 128, 2, 16, 1, False),  # 2x8 with groups of 16
    (256, 64, 2, 8, 1, True),     # PQ 2x8 with groups of 8 (4-column sub-entries)
    (256, 128, 4, 32, 1, True),   # PQ with 8 columns per codebook
])
@pytest.mark.parametrize("tile_bytes", [1 << 30, 256])
def test_lookup_table_path(rng, monkeypatch, out, inp, m, ig, og, product, tile_bytes):
    """8-bit codes the 8-lane kernels do not take, with at least as many rows as entries: vector
    table builder and transposed tiles, one block or many (a tiny tile size forces blocks of 8
    rows and a tail block)."""
    monkeypatch.setattr(kern, "GATHER_TILE_BYTES", tile_bytes)
    packed, books, scales, groups = _layout(rng, out, inp, m, 8, ig, og, product)
    assert kern._lanes8_words(packed, 8, m, og, books.shape[3], product, groups * m) is None
    for batch in (1, 2):
        x = rng.standard_normal((batch, inp)).astype(np.float32)
        got = kern.linear_codebook(x, packed, books, scales, 8, product, groups)
        _check(got, x, packed, books, scales, 8, product, groups)


def test_decode_matmul_route(rng, monkeypatch):
    """From DECODE_MATMUL_MIN_BATCH vectors on, decode + BLAS: same results within tolerance,
    and the same as the kernels' route."""
    packed, books, scales, groups = _layout(rng, 32, 64, 2, 8, 8)
    x = rng.standard_normal((kern.DECODE_MATMUL_MIN_BATCH, 64)).astype(np.float32)
    dense = kern.linear_codebook(x, packed, _half(books), scales, 8, False, groups)
    _check(dense, x, packed, books, scales, 8, False, groups)
    monkeypatch.setattr(kern, "DECODE_MATMUL_MIN_BATCH", 1 << 30)
    kernels = kern.linear_codebook(x, packed, books, scales, 8, False, groups)
    assert np.allclose(kernels, dense, rtol=1e-5, atol=1e-5 * np.abs(dense).max())


def test_layout_linear_reads_half_codebooks_as_stored(rng):
    """QTensor.linear with F16 codebooks (AQLM's storage) through the half-bit route, BF16 and
    F32 through float32: all equal to the reference on the decoded weight."""
    codes = rng.integers(0, 1 << 16, (8, 4, 1))
    books = rng.standard_normal((1, 1 << 16, 1, 8)).astype(np.float32)
    scales = rng.uniform(0.5, 2.0, 8).astype(np.float32)
    x = rng.standard_normal((2, 32)).astype(np.float32)
    for dtype in ("F16", "BF16", "F32"):
        qt = from_codes(codes, books.astype(np.float16) if dtype == "F16" else books,
                        scales, mode="additive", dtype=dtype)
        w = qt.dequantize()
        want = x.astype(np.float64) @ w.astype(np.float64).T
        tol = 1e-5 * np.abs(x).sum(axis=1, keepdims=True) * np.abs(w).max()
        assert (np.abs(qt.linear(x) - want) <= tol).all(), dtype


def test_half_loads_native_follows_the_compile_target(monkeypatch):
    """Half-bit codebooks go to the kernels only where LLVM converts them in hardware: a
    NUMBA_CPU_NAME/NUMBA_CPU_FEATURES override is honoured (generic x86 has no F16C)."""
    import platform

    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("the override rules checked here are the x86 ones")
    monkeypatch.setattr(_simd.config, "CPU_FEATURES", "+avx2,+f16c")
    assert _simd._half_loads_native()
    monkeypatch.setattr(_simd.config, "CPU_FEATURES", "+avx2,-f16c")
    assert not _simd._half_loads_native()
    monkeypatch.setattr(_simd.config, "CPU_FEATURES", None)
    monkeypatch.setattr(_simd.config, "CPU_NAME", "generic")
    assert not _simd._half_loads_native()
