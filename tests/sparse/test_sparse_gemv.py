"""The fused batch-1 sparse GEMV (statistics read per 64-row tile inside the parallel kernel):
its paths against the reference, and the same bits whatever the thread count."""

from __future__ import annotations

import dataclasses

import numba
import numpy as np
import pytest

import qformat
from qformat.kernels import bitpack
from qformat.kernels import sparse as kernels
from qformat.kernels._ref import sparse as ref
from qformat.kernels._simd import half_bits_to_f32

from .conftest import planted

pytestmark = pytest.mark.jit


def quantized(rows: int, k: int, **cfg: object) -> qformat.QTensor:
    w, _ = planted(rows, k, fraction=0.01, seed=rows + k)
    return qformat.quantize(w, "sparse", **cfg)


def close(got: np.ndarray, want: np.ndarray, k: int) -> None:
    err = float(np.abs(got - want).max()) / max(float(np.abs(want).max()), 1e-30)
    assert err <= 1e-5 * np.sqrt(k), err


@pytest.mark.parametrize(("rows", "k", "cfg"), [
    # groups and statistic bytes in eights: the 8x8 word transposition
    (64, 640, {"bits": 3, "group_size": 16}),
    # groups not in eights, a short last 8-row chunk, a row tail after the last chunk
    (37, 300, {"bits": 4, "group_size": 24, "stat_bits": 5, "stat_group": 3}),
    # second-order groups straddling the 8-row chunks, BF16 statistics, F32 outliers
    (29, 128, {"bits": 2, "group_size": 64, "stat_bits": 7, "stat_group": 11,
               "stat_dtype": "BF16", "value_dtype": "F32"}),
    # one second-order row per row (a tile spans 64 of them), 8-bit codes (never straddling),
    # no outliers at all
    (72, 64, {"bits": 3, "group_size": 8, "stat_bits": 8, "stat_group": 1,
              "outlier_fraction": 0.0}),
    # 1-bit statistic codes, 2-bit base with groups of 16 (two chunks per group)
    (130, 64, {"bits": 2, "group_size": 16, "stat_bits": 1, "stat_group": 7}),
    # one statistics group for all rows, F32 statistics, BF16 outliers, permuted columns
    (24, 96, {"bits": 3, "group_size": 32, "stat_bits": 1, "stat_group": 24,
              "stat_dtype": "F32", "value_dtype": "BF16", "perm": "random"}),
])
def test_fused_gemv_matches_the_reference(rows, k, cfg):
    cfg = dict(cfg)
    if cfg.get("perm") == "random":
        cfg["perm"] = np.random.default_rng(k).permutation(k)
    qt = quantized(rows, k, **cfg)
    a = qt.layout.arrays(qt)
    assert a.group_size % 8 == 0  # the fused path
    x = np.random.default_rng(rows).standard_normal((1, k)).astype(np.float32)
    close(kernels.linear(x, a), ref.linear(x, a), k)


def test_groups_not_on_chunks_take_the_two_launch_path(monkeypatch):
    qt = quantized(20, 60, bits=3, group_size=12)
    a = qt.layout.arrays(qt)
    called = []
    monkeypatch.setattr(kernels, "_linear_fused", lambda *args: called.append(1))
    x = np.random.default_rng(0).standard_normal((1, 60)).astype(np.float32)
    close(kernels.linear(x, a), ref.linear(x, a), 60)
    assert not called


def test_thread_count_does_not_change_the_result():
    """Per-thread scratch rows: 1 and 2 threads give the same bits (a problem above the
    single-thread threshold, so the parallel region really runs on both)."""
    qt = quantized(512, 640, bits=3, group_size=16, outlier_fraction=0.01)
    a = qt.layout.arrays(qt)
    assert bitpack.PARALLEL_MIN_VALUES <= 512 * 640
    x = np.random.default_rng(3).standard_normal((1, 640)).astype(np.float32)
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = kernels.linear(x, a)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = kernels.linear(x, a)
    finally:
        numba.set_num_threads(previous)
    assert np.array_equal(one.view(np.uint32), two.view(np.uint32))
    close(one, ref.linear(x, a), 640)


def misaligned(arr: np.ndarray) -> np.ndarray:
    """A copy of ``arr`` whose data starts one byte past an 8-byte boundary."""
    buf = np.empty(arr.nbytes + 16, dtype=np.uint8)
    start = (-buf.ctypes.data) % 8 + 1
    out = buf[start:start + arr.nbytes].view(arr.dtype).reshape(arr.shape)
    out[...] = arr
    return out


@pytest.mark.parametrize(("rows", "k", "cfg"), [
    # two chunks per group (expansion fused into the statistics loop), two 64-row tiles
    (128, 256, {"bits": 3, "group_size": 16, "outlier_fraction": 0.02}),
    # one chunk per group, a last tile holding one of its four statistic words
    (80, 128, {"bits": 4, "group_size": 8, "stat_bits": 4, "stat_group": 5}),
])
def test_word_and_byte_transpositions_agree(rows, k, cfg):
    """The 8x8 word transposition (aligned codes, groups and bytes in eights) and the byte
    copies (anything else, here the same codes one byte off alignment) give the same bits."""
    qt = quantized(rows, k, **cfg)
    a = qt.layout.arrays(qt)
    assert kernels._codes_as_words(a) is not None
    shifted = dataclasses.replace(a, scale_codes=misaligned(a.scale_codes),
                                  zero_codes=misaligned(a.zero_codes))
    assert kernels._codes_as_words(shifted) is None
    x = np.random.default_rng(rows).standard_normal((1, k)).astype(np.float32)
    words = kernels.linear(x, a)
    copies = kernels.linear(x, shifted)
    assert np.array_equal(words.view(np.uint32), copies.view(np.uint32))
    close(words, ref.linear(x, a), k)


def test_groups_not_in_eights_take_the_byte_copies():
    qt = quantized(64, 72, bits=3, group_size=24)  # 3 groups
    a = qt.layout.arrays(qt)
    assert kernels._codes_as_words(a) is None
    x = np.random.default_rng(5).standard_normal((1, 72)).astype(np.float32)
    close(kernels.linear(x, a), ref.linear(x, a), 72)


@numba.njit(cache=False)
def _convert_all(bits, out):  # pragma: no cover - compiled
    for i in range(bits.shape[0]):
        out[i] = half_bits_to_f32(bits[i])


def test_half_bits_to_f32_is_exact_for_every_non_nan_half():
    """The hardware half conversion used for the second-order statistics equals numpy's."""
    bits = np.arange(1 << 16, dtype=np.uint16)
    bits = bits[~np.isnan(bits.view(np.float16))]
    got = np.empty(bits.shape[0], dtype=np.float32)
    _convert_all(bits, got)
    want = bits.view(np.float16).astype(np.float32)
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))
