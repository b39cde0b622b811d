"""The batch-1 GEMV bodies (explicit-SIMD word lanes, byte lanes, 8-code chunk lanes) against
the numpy reference: every width they serve, every scale and zero-point storage, row tails,
partial and single groups, thread-count invariance, the in-kernel F16/BF16 decoders on every bit
pattern, and the vector intrinsics against their plain-numpy definitions."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from qformat.kernels import bitpack as kern
from qformat.kernels._ref import bitpack as ref

pytestmark = pytest.mark.jit

#: (zero mode, scale dtype, zero/bias dtype): every storage kind each body decodes per row
SIDES = [("none", "F16", None), ("none", "BF16", None), ("none", "F32", None),
         ("int", "F16", "U8"), ("int", "F32", "U8"),
         ("float", "F16", "F16"), ("float", "BF16", "BF16"), ("float", "F32", "F32"),
         ("bias", "F16", "F16"), ("bias", "BF16", "BF16"), ("bias", "F32", "F32")]

#: (bits, group_size, body): a representative of each route
ROUTES = [(4, 128, "words"), (4, 64, "words"), (4, 256, "words"), (4, 192, "words"),
          (4, 32, "words"),
          (4, 16, "words"), (4, 8, "words"), (4, 2, "bytes"), (4, 6, "bytes"),
          (4, 24, "chunks"),
          (2, 128, "words"), (2, 256, "words"), (2, 64, "words"), (2, 32, "words"),
          (2, 16, "words"), (2, 4, "bytes"), (2, 48, "chunks"),
          (8, 32, "bytes"), (8, 1, "bytes"), (8, 16, "chunks"),
          (3, 128, "words"), (3, 64, "words"), (3, 32, "words"), (3, 256, "words"),
          (3, 512, "words"), (3, 96, "chunks"), (3, 24, "chunks"), (3, 16, "chunks"),
          (3, 8, "chunks")]
#: the word routes: codes per block of eight 32-bit lanes
WORD_BLOCK = {4: 64, 2: 128, 3: 256}


def close(y: np.ndarray, want: np.ndarray, k: int) -> None:
    """QF-BITPACK-050: max-abs error / max-abs value <= 1e-5 * sqrt(k)."""
    err = float(np.abs(y - want).max()) / max(float(np.abs(want).max()), 1e-30)
    assert err <= 1e-5 * np.sqrt(max(k, 1)), err


def lengths(g: int) -> list[int]:
    """Row lengths: whole groups, a partial last group, a tail past the last 8-code chunk, and
    a row shorter than one group."""
    return sorted({4 * g, 3 * g + 8 if g > 8 else 3 * g + 2, 2 * g + 5, max(g - 2, 1), 13})


@pytest.mark.parametrize(("bits", "group", "body"), ROUTES,
                         ids=[f"{b}bit-g{g}-{body}" for b, g, body in ROUTES])
def test_route(bits, group, body):
    assert kern._gemv_body(bits, group) == body
    previous = kern.SIMD_GEMV
    try:  # with the explicit-SIMD bodies off, the word routes fall back to the previous bodies
        kern.SIMD_GEMV = False
        assert kern._gemv_body(bits, group) in ("bytes", "chunks")
    finally:
        kern.SIMD_GEMV = previous
    assert kern.fast_gemv_supported(bits, group, False)
    assert not kern.fast_gemv_supported(bits, group, True)


@pytest.mark.parametrize(("bits", "group", "body"), ROUTES,
                         ids=[f"{b}bit-g{g}-{body}" for b, g, body in ROUTES])
def test_gemv_matches_reference(parts, bits, group, body):
    rng = np.random.default_rng(bits * 1000 + group)
    for i, (zero, sdt, zdt) in enumerate(SIDES):
        for k in lengths(group):
            kw = parts(bits, 11, k, group, zero=zero, scale_dtype=sdt, zero_dtype=zdt,
                       perm=i % 4 == 0, seed=i + k)["kwargs"]
            x = rng.standard_normal((1, k)).astype(np.float32)
            close(kern.linear(x, **kw), ref.linear(x, **kw), k)


@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_one_group_per_row(parts, bits):
    """group_size -1: one group of k codes (k a multiple of 8 takes the fast path)."""
    for k in (64, 200, 8):
        kw = parts(bits, 5, k, -1, zero="int", scale_dtype="F16", zero_dtype="U8")["kwargs"]
        x = np.random.default_rng(k).standard_normal((1, k)).astype(np.float32)
        close(kern.linear(x, **kw), ref.linear(x, **kw), k)


WORD_ROUTES = [(b, g) for b, g, body in ROUTES if body == "words"]


@pytest.mark.parametrize(("bits", "group"), WORD_ROUTES,
                         ids=[f"{b}bit-g{g}" for b, g in WORD_ROUTES])
def test_word_route_blocks_groups_and_tails(parts, bits, group):
    """Several whole blocks, then a partial last group and codes after the last whole block;
    odd group counts; a row of whole blocks only; every scale storage; x with a wide range."""
    block = WORD_BLOCK[bits]
    rng = np.random.default_rng(bits * 7 + group)
    ks = sorted({3 * block, 3 * block + 5, 2 * block + group // 2 + 3, 5 * group,
                 max(3 * group, block) + 8 * (bits == 3) + 1})
    for i, (zero, sdt, zdt) in enumerate(SIDES):
        for k in ks:
            kw = parts(bits, 37, k, group, zero=zero, scale_dtype=sdt, zero_dtype=zdt,
                       perm=i % 3 == 0, seed=i + 17 * k)["kwargs"]
            x = (rng.standard_normal((1, k)) * np.exp(rng.uniform(-8, 8, (1, k))))
            x = x.astype(np.float32)
            close(kern.linear(x, **kw), ref.linear(x, **kw), k)


@pytest.mark.parametrize(("bits", "group"), [(4, 128), (3, 128), (2, 64)])
def test_word_route_against_the_previous_bodies(parts, bits, group):
    """The explicit-SIMD body and the autovectorized body it replaces agree (both against the
    reference, and closely with each other)."""
    k = 4 * WORD_BLOCK[bits] + 9
    kw = parts(bits, 64, k, group, zero="int", scale_dtype="F16", zero_dtype="U8")["kwargs"]
    x = np.random.default_rng(5).standard_normal((1, k)).astype(np.float32)
    new = kern.linear(x, **kw)
    previous = kern.SIMD_GEMV
    try:
        kern.SIMD_GEMV = False
        old = kern.linear(x, **kw)
    finally:
        kern.SIMD_GEMV = previous
    want = ref.linear(x, **kw)
    close(new, want, k)
    close(old, want, k)
    close(new, old, k)


@pytest.mark.parametrize(("bits", "group"),
                         [(4, 128), (4, 32), (4, 16), (3, 16), (3, 128), (3, 256), (2, 128),
                          (2, 64), (8, 64)])
def test_result_does_not_depend_on_the_thread_count(parts, bits, group):
    """Rows are independent: 1 and 2 threads give the same bits (problem above the
    single-thread threshold, so the parallel region really runs)."""
    kw = parts(bits, 520, 512, group, zero="float", scale_dtype="F16", zero_dtype="F16")
    kw = kw["kwargs"]
    assert kern.PARALLEL_MIN_VALUES <= 520 * 512
    x = np.random.default_rng(0).standard_normal((1, 512)).astype(np.float32)
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = kern.linear(x, **kw)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = kern.linear(x, **kw)
    finally:
        numba.set_num_threads(previous)
    assert np.array_equal(one.view(np.uint32), two.view(np.uint32))
    close(one, ref.linear(x, **kw), 512)


def test_word_fields_rebuild_every_code():
    """The word field table (the x planes the word bodies multiply) reassembles each code of a
    lane from its 32-bit words, fields reaching bit 31 shifted down."""
    rng = np.random.default_rng(4)
    for bits, lane in kern._LANE_CODES.items():
        q = rng.integers(0, 1 << bits, (64, lane)).astype(np.uint8)
        words = ref.pack_codes(q, bits).view("<u4").astype(np.int64)
        rebuilt = np.zeros(q.shape, np.float64)
        for word, shift, mask, code, mult in kern._word_fields(bits):
            field = (words[:, word] >> shift) & mask
            assert field.max() < 2**31  # the signed int-to-float conversion is exact
            rebuilt[:, code] += field * mult
        assert np.array_equal(rebuilt, q), bits


def test_extreme_scales_and_offsets(to_stored):
    """F16 extremes (65504, subnormals, signed zeros), BF16 subnormals and huge values (short of
    overflowing the dequantized weights: there the fused sum and dequantize-then-matmul may
    legitimately differ between inf and a finite value), all-zero groups."""
    rng = np.random.default_rng(7)
    for bits, group in [(4, 64), (4, 16), (3, 16), (2, 128)]:
        k = 4 * group
        q = rng.integers(0, 1 << bits, (4, k)).astype(np.uint8)
        packed = ref.pack_codes(q, bits)
        cases = {
            "F16": [[0.0, 65504.0, 6e-8, -6.1e-5], [-0.0, 1e-7, 5.96e-8, 0.5],
                    [-65504.0, 2.0**-14, 2.0**-24, -1.0], [0.0, 0.0, 0.0, 0.0]],
            "BF16": [[3.0e30, -1e-38, 9.2e-41, 0.0], [-2.0e30, 1.0, 1e-30, -1e30],
                     [1.0, 1.0, 1.0, 1.0], [0.0, -0.0, 0.0, 0.0]],
        }
        for sdt, values in cases.items():
            scales = to_stored(np.array(values, np.float32), sdt)
            bias = to_stored(np.array(values, np.float32)[::-1].copy(), sdt)
            x = rng.standard_normal((1, k)).astype(np.float32)
            for extra in ({"zero": "none"}, {"zero": "bias", "bias": bias, "zero_dtype": sdt},
                          {"zero": "float", "zeros": bias, "zero_dtype": sdt}):
                args = {"bits": bits, "k": k, "group_size": group, "scale_dtype": sdt, **extra}
                with np.errstate(over="ignore", invalid="ignore"):
                    want = ref.linear(x, packed, scales, **args)
                    got = kern.linear(x, packed, scales, **args)
                finite = np.isfinite(want)
                assert np.array_equal(finite, np.isfinite(got)), (bits, group, sdt, extra)
                if finite.any():
                    close(got[finite], want[finite], k)


def test_half_decoders_match_numpy_on_every_finite_pattern():
    bits = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    finite = (bits & 0x7C00) != 0x7C00
    h = bits[finite]
    want = h.view(np.float16).astype(np.float32)
    got = np.array([kern._half_f32(v) for v in h], dtype=np.float32)
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))
    b = bits[(bits & 0x7F80) != 0x7F80]
    want_bf = (b.astype(np.uint32) << 16).view(np.float32)
    got_bf = np.array([kern._bf16_f32(v) for v in b], dtype=np.float32)
    assert np.array_equal(got_bf.view(np.uint32), want_bf.view(np.uint32))


def test_chunk_fields_rebuild_every_code():
    """The field table reassembles each code of an 8-code chunk from its bytes."""
    rng = np.random.default_rng(3)
    for bits in (2, 3, 4, 8):
        q = rng.integers(0, 1 << bits, (64, 8)).astype(np.uint8)
        packed = ref.pack_codes(q, bits)
        rebuilt = np.zeros(q.shape, np.float64)
        for byte, mask, code, mult in kern._chunk_fields(bits):
            rebuilt[:, code] += (packed[:, byte] & mask) * mult
        assert np.array_equal(rebuilt, q), bits
