"""Jitted codebook kernels against their numpy references (``qformat/kernels/_ref``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import qformat
from qformat.kernels import codebook as kern
from qformat.kernels._ref import codebook as ref

from ..conftest import ROOT

pytestmark = pytest.mark.jit


def _random_layout(rng, out, inp, m, bits, og, ig, product, scale_range=(-2.0, 2.0)):
    sub = ig // m if product else ig
    codes = rng.integers(0, 1 << bits, (out // og, inp // ig * m))
    packed = ref.pack_codes(codes, bits)
    books = rng.standard_normal((m, 1 << bits, og, sub)).astype(np.float32)
    scales = rng.uniform(*scale_range, out).astype(np.float32)
    return packed, books, scales, inp // ig


def _readonly(*arrays):
    out = []
    for a in arrays:
        a = a.copy()
        a.flags.writeable = False
        out.append(a)
    return out


# -- packing -----------------------------------------------------------------------------------
@pytest.mark.parametrize("bits", list(range(1, 17)))
def test_pack_unpack_match_reference(rng, bits):
    for rows, n in ((3, 37), (1, 1), (4, 8), (0, 5), (2, 0)):
        codes = rng.integers(0, 1 << bits, (rows, n))
        packed = kern.pack_codes(codes, bits)
        assert packed.shape == (rows, (n * bits + 7) // 8)
        assert np.array_equal(packed, ref.pack_codes(codes, bits))
        (ro,) = _readonly(packed)
        assert np.array_equal(kern.unpack_codes(ro, bits, n), codes)
        assert np.array_equal(ref.unpack_codes(packed, bits, n), codes)


def test_worked_example_bit_order():
    """QF-CODEBOOK-003: the spec's worked example, and the 8/16-bit byte layouts."""
    codes = np.array([[5, 2, 7, 1]])
    assert kern.pack_codes(codes, 3).tolist() == [[0xD5, 0x03]]
    assert ref.pack_codes(codes, 3).tolist() == [[0xD5, 0x03]]
    assert kern.pack_codes(np.array([[200, 3]]), 8).tolist() == [[200, 3]]
    assert kern.pack_codes(np.array([[0x1234, 0xFFFF]]), 16).tolist() == [[0x34, 0x12, 0xFF,
                                                                          0xFF]]
    # LSB first across byte boundaries: 1-bit codes 1,0,1,1,0,0,0,1 | 1 -> 0x8D 0x01
    assert kern.pack_codes(np.array([[1, 0, 1, 1, 0, 0, 0, 1, 1]]), 1).tolist() == [[0x8D, 1]]


def test_f16_conversion_is_exact_for_every_pattern():
    bits = np.arange(1 << 16, dtype=np.uint16)
    got = kern.f16_to_f32(bits)
    want = bits.view(np.float16).astype(np.float32)
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got), nan)
    assert np.array_equal(got[~nan].view(np.uint32), want[~nan].view(np.uint32))
    assert np.array_equal(kern.f16_to_f32(bits.reshape(256, 256)).shape, (256, 256))


# -- decode ------------------------------------------------------------------------------------
CASES = [
    # out, in, M, bits, og, ig, product
    (16, 32, 2, 8, 1, 8, False),    # AQLM 2x8
    (8, 16, 1, 16, 1, 8, False),    # AQLM 1x16
    (8, 64, 8, 8, 1, 8, False),     # AQLM 8x8
    (12, 24, 3, 5, 2, 4, False),    # odd bits, out groups of 2
    (10, 15, 1, 3, 1, 3, False),    # odd tails: 15 columns, 3-bit codes straddle bytes
    (16, 48, 2, 8, 1, 8, True),     # PQ
    (8, 24, 4, 3, 2, 12, True),     # PQ with out groups
    (4, 7, 1, 1, 1, 7, False),      # 1-bit codebooks, a single group per row
]


@pytest.mark.parametrize("case", CASES)
def test_decode_is_bit_identical_to_reference(rng, case):
    """QF-CODEBOOK-005: the jitted decode reproduces the reference bit for bit."""
    out, inp, m, bits, og, ig, product = case
    packed, books, scales, groups = _random_layout(rng, out, inp, m, bits, og, ig, product)
    want = ref.decode_codebook(packed, books, scales, bits, product, groups)
    got = kern.decode_codebook(*_readonly(packed, books, scales), bits, product, groups)
    assert got.shape == (out, inp)
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))


def test_decode_edge_values(rng):
    packed, books, scales, groups = _random_layout(rng, 8, 16, 2, 4, 1, 8, False)
    books[0, 3] = 0.0
    books[1, 3] = -0.0  # +0 + -0 = +0: the sum starts from +0.0
    books[1, 5] = 3e38  # near the float32 limit: 3e38 + 3e38 overflows to inf in float32
    scales[:] = [0.0, -1.0, 1e-30, 1e30, 1.0, -0.0, 2.0, 0.5]
    want = ref.decode_codebook(packed, books, scales, 4, False, groups)
    got = kern.decode_codebook(packed, books, scales, 4, False, groups)
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))
    zero = np.zeros((2, 16, 1, 8), dtype=np.float32)
    assert not kern.decode_codebook(packed, zero, scales, 4, False, groups).any()


def test_decode_follows_the_spec_formula_by_hand():
    """QF-CODEBOOK-005 on a hand example: two codebooks, sum from +0.0, times the scale."""
    books = np.array([[[[1.0, 2.0]], [[0.5, -0.25]]],        # codebook 0, entries 0 and 1
                      [[[10.0, 20.0]], [[-0.0, -0.0]]]],     # codebook 1
                     dtype=np.float32)
    codes = kern.pack_codes(np.array([[1, 0, 0, 1]]), 1)     # group 0: (1, 0), group 1: (0, 1)
    scales = np.array([2.0], dtype=np.float32)
    w = kern.decode_codebook(codes, books, scales, 1, False, 2)
    assert w.tolist() == [[21.0, 39.5, 2.0, 4.0]]
    assert w.tolist() == ref.decode_codebook(codes, books, scales, 1, False, 2).tolist()
    product = kern.decode_codebook(codes, books[:, :, :, :1], scales, 1, True, 2)
    assert product.tolist() == [[1.0, 20.0, 2.0, 0.0]]
    assert not np.signbit(product[0, 3])  # product mode also adds to +0.0


# -- linear ------------------------------------------------------------------------------------
def _check_linear(rng, case, batch):
    out, inp, m, bits, og, ig, product = case
    packed, books, scales, groups = _random_layout(rng, out, inp, m, bits, og, ig, product)
    x = rng.standard_normal((batch, inp)).astype(np.float32)
    got = kern.linear_codebook(*_readonly(x, packed, books, scales), bits, product, groups)
    want = ref.linear_codebook(x, packed, books, scales, bits, product, groups)
    w = ref.decode_codebook(packed, books, scales, bits, product, groups)
    tol = 1e-5 * np.abs(x).sum(axis=1, keepdims=True) * np.abs(w).max()
    assert got.shape == (batch, out)
    assert (np.abs(got - want) <= tol).all()


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("batch", [1, 3])
def test_linear_matches_reference(rng, case, batch):
    """QF-CODEBOOK-007: within tolerance of a float64 product of the decoded weight."""
    _check_linear(rng, case, batch)


@pytest.mark.parametrize("case", [
    (64, 64, 2, 8, 1, 8, False),    # lookup tables, 8-bit fast path (batch 1)
    (8, 64, 2, 8, 1, 8, False),     # fewer rows than entries: direct gathers
    (24, 40, 1, 16, 1, 8, False),   # 1x16: direct gathers
    (64, 72, 1, 8, 1, 8, False),    # 9 codes per row: not a multiple of 8 (generic path)
    (32, 64, 2, 8, 1, 8, True),     # PQ through the 8-bit path (16 codes per row)
    (32, 64, 2, 8, 2, 8, False),    # out groups of 2: generic tables
    (30, 64, 1, 16, 1, 8, False),   # 1x16 with rows not a multiple of 4 (tail rows)
])
@pytest.mark.parametrize("batch", [1, 2, 9])
def test_linear_paths(rng, case, batch):
    _check_linear(rng, case, batch)


def test_linear_empty_batch_and_zero_scales(rng):
    packed, books, scales, groups = _random_layout(rng, 16, 32, 2, 8, 1, 8, False)
    x = np.zeros((0, 32), dtype=np.float32)
    assert kern.linear_codebook(x, packed, books, scales, 8, False, groups).shape == (0, 16)
    x = rng.standard_normal((1, 32)).astype(np.float32)
    y = kern.linear_codebook(x, packed, books, np.zeros(16, np.float32), 8, False, groups)
    assert not y.any()


_THREAD_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    sys.path.insert(0, {root!r})
    import numba
    from qformat.kernels import codebook as kern
    from qformat.kernels._ref import codebook as ref
    kern.GATHER_TILE_BYTES = 2048  # many small row blocks for the table path's scheduler
    rng = np.random.default_rng(7)
    results = {{}}
    for name, (out, inp, m, bits, ig, batch, half) in {cases!r}.items():
        codes = rng.integers(0, 1 << bits, (out, inp // ig * m))
        packed = ref.pack_codes(codes, bits)
        books = rng.standard_normal((m, 1 << bits, 1, ig)).astype(np.float16)
        books = books.view(np.uint16) if half else books.astype(np.float32)
        scales = rng.uniform(0.5, 2, out).astype(np.float32)
        x = rng.standard_normal((batch, inp)).astype(np.float32)
        want = ref.linear_codebook(x, packed, books, scales, bits, False, inp // ig)
        worst = 0.0
        bits_seen = set()
        for _ in range(5):
            got = kern.linear_codebook(x, packed, books, scales, bits, False, inp // ig)
            worst = max(worst, float(np.abs(got - want).max() / np.abs(want).max()))
            bits_seen.add(got.tobytes())
        results[name] = [worst, len(bits_seen), got.view(np.uint32).tolist()]
    print(json.dumps({{"threads": numba.get_num_threads(), "results": results}}))
""")


def test_linear_is_race_free_with_two_threads():
    """QF-CODEBOOK-007: 2 threads give the reference result, bit-identical to 1 thread, on
    every route (8-lane kernels with float32 or half entries, batch 1 and blocks of four, the
    tiled lookup tables with dynamically scheduled row blocks). From batch 32 the route is
    decode + BLAS: reference-close and repeatable, but OpenBLAS splits its sums by thread count,
    so bit identity across counts is not ours to promise there.

    AQLM's CPU kernel splits the input groups over threads and adds into a shared output
    (4-36 % error with 2 threads); ours splits output rows, so the result cannot depend on it.
    """
    cases = {"2x8": (512, 256, 2, 8, 8, 1, False), "8x8": (256, 256, 8, 8, 8, 1, True),
             "1x16": (96, 128, 1, 16, 8, 1, True), "2x8-batch4": (256, 128, 2, 8, 8, 4, False),
             "1x16-batch5": (96, 128, 1, 16, 8, 5, False),
             "8x8-g32": (264, 256, 8, 8, 32, 1, False),
             "2x8-batch32": (256, 128, 2, 8, 8, 32, True)}
    script = _THREAD_SCRIPT.format(root=str(ROOT), cases=cases)
    outputs = {}
    for threads in ("1", "2"):
        env = {**os.environ, "NUMBA_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
               "NUMBA_DISABLE_JIT": "0"}  # real threads, BLAS included (batch 32)
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              env=env, timeout=600)
        assert proc.returncode == 0, proc.stderr
        outputs[threads] = json.loads(proc.stdout)
    assert outputs["2"]["threads"] == 2
    for name in cases:
        worst, distinct, values = outputs["2"]["results"][name]
        assert worst < 1e-5, name
        assert distinct == 1, name  # every call gives the same bits
        if not name.endswith("batch32"):
            assert values == outputs["1"]["results"][name][2], name


# -- assignment --------------------------------------------------------------------------------
@pytest.mark.parametrize(("n", "k", "d"), [(500, 256, 8), (333, 17, 3), (70, 1, 4), (65, 300, 16),
                                           (1, 5, 2)])
def test_assign_nearest_matches_reference(rng, n, k, d):
    points = rng.standard_normal((n, d)).astype(np.float32)
    centroids = rng.standard_normal((k, d)).astype(np.float32)
    if k > 3:
        centroids[3] = centroids[1]  # an exact tie: the lowest index wins
        points[0] = centroids[1]
    labels, score = kern.assign_nearest(*_readonly(points, centroids))
    want_labels, want_score = ref.assign_nearest(points, centroids)
    assert np.array_equal(labels, want_labels)
    assert np.array_equal(score.view(np.uint32), want_score.view(np.uint32))
    if k > 3:
        assert labels[0] == 1
    true_d2 = np.square(points[:, None, :].astype(np.float64) - centroids[None]).sum(-1)
    chosen = true_d2[np.arange(n), labels]
    assert (chosen <= true_d2.min(axis=1) + 1e-4 * (1 + true_d2.min(axis=1))).all()


def test_assign_nearest_zero_scores_tie_to_lowest_index():
    points = np.array([[1.0, 0.0]], dtype=np.float32)
    centroids = np.array([[3.0, 0.0], [2.0, 0.0], [2.0, 0.0]], dtype=np.float32)
    # scores 9-6=3, 4-4=0, 0: the two zero scores tie; the lowest index wins
    labels, score = kern.assign_nearest(points, centroids)
    assert labels.tolist() == [1]
    assert score.tolist() == [0.0]


# -- argument checks ---------------------------------------------------------------------------
def test_wrappers_reject_bad_arguments(rng):
    packed, books, scales, groups = _random_layout(rng, 8, 16, 2, 8, 1, 8, False)
    with pytest.raises(qformat.ArgumentError, match="dtype or rank"):
        kern.decode_codebook(packed.astype(np.int16), books, scales, 8, False, groups)
    with pytest.raises(qformat.ArgumentError, match="2\\*\\*bits"):
        kern.decode_codebook(packed, books, scales, 7, False, groups)
    with pytest.raises(qformat.ArgumentError, match="codes rows"):
        kern.decode_codebook(packed, books, scales, 8, False, groups + 1)
    with pytest.raises(qformat.ArgumentError, match="one value per output row"):
        kern.decode_codebook(packed, books, scales[:4], 8, False, groups)
    with pytest.raises(qformat.ArgumentError, match="in_features"):
        kern.linear_codebook(np.zeros((1, 15), np.float32), packed, books, scales, 8, False,
                             groups)
    with pytest.raises(qformat.ArgumentError, match="bits"):
        kern.pack_codes(np.zeros((1, 2), np.int64), 17)
    with pytest.raises(qformat.ArgumentError, match="too short"):
        kern.unpack_codes(packed, 8, 100)
    with pytest.raises(qformat.ArgumentError, match="centroids"):
        kern.assign_nearest(np.zeros((3, 2), np.float32), np.zeros((3, 4), np.float32))
    with pytest.raises(qformat.ArgumentError, match="uint16"):
        kern.f16_to_f32(np.zeros(3, np.int32))
