"""The integer vector intrinsics of ``qformat.kernels._simd`` used by the bitpack word GEMV,
compiled (and, under NUMBA_DISABLE_JIT=1, their numpy fallbacks) against numpy definitions."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from qformat.kernels._simd import (
    v8_mul,
    v8_repeat,
    v8_store,
    w8_and,
    w8_f32,
    w8_load,
    w8_load3,
    w8_shr,
)

pytestmark = pytest.mark.jit


@numba.njit(cache=True)
def _unpack_fields(buf, index, mask, shift, out):  # pragma: no cover - jitted
    """out[0] = float(words & mask), out[1] = float(words >> shift), out[2] = their product."""
    w = w8_load(buf, index)
    a = w8_f32(w8_and(w, mask))
    b = w8_f32(w8_shr(w, shift))
    v8_store(out[0], 0, a)
    v8_store(out[1], 0, b)
    v8_store(out[2], 0, v8_mul(a, b))


@numba.njit(cache=True)
def _load3(buf, index, out):  # pragma: no cover - jitted
    v8_store(out[0], 0, w8_f32(w8_and(w8_load3(buf, index, 0), 0xFFFFFF)))
    v8_store(out[1], 0, w8_f32(w8_and(w8_load3(buf, index, 1), 0xFFFFFF)))
    v8_store(out[2], 0, w8_f32(w8_and(w8_load3(buf, index, 2), 0xFFFFFF)))


@numba.njit(cache=True)
def _repeat(values, index, out):  # pragma: no cover - jitted
    v8_store(out[0], 0, v8_repeat(values, index, 1))
    v8_store(out[1], 0, v8_repeat(values, index, 2))
    v8_store(out[2], 0, v8_repeat(values, index, 4))
    v8_store(out[3], 0, v8_repeat(values, index, 8))


def test_words_load_mask_shift_and_convert():
    rng = np.random.default_rng(0)
    buf = rng.integers(0, 256, 100, dtype=np.uint8)
    for index in (0, 3, 67):  # unaligned starts too
        words = buf[index:index + 32].view("<u4").astype(np.int64)
        for mask, shift in ((0x0000000F, 28), (0x0F000000, 4), (0x3FFFFFFF, 31), (0x70000000, 0)):
            out = np.zeros((3, 8), np.float32)
            _unpack_fields(buf, index, mask, shift, out)
            a = (words & mask).astype(np.float32)
            b = ((words >> shift) & 0xFFFFFFFF)
            b = np.where(b >= 2**31, b - 2**32, b).astype(np.float32)  # signed conversion
            assert np.array_equal(out[0], a)
            assert np.array_equal(out[1], b)
            assert np.array_equal(out[2], a * b)


def test_stride3_load():
    buf = np.random.default_rng(1).integers(0, 256, 200, dtype=np.uint8)
    for index in (0, 5, 100):
        words = buf[index:index + 96].view("<u4").astype(np.int64) & 0xFFFFFF
        out = np.zeros((3, 8), np.float32)
        _load3(buf, index, out)
        for m in range(3):
            assert np.array_equal(out[m], words[m::3].astype(np.float32)), m


def test_repeat():
    values = np.arange(1, 20, dtype=np.float32) * np.float32(0.5)
    for index in (0, 3, 11):
        out = np.zeros((4, 8), np.float32)
        _repeat(values, index, out)
        for row, times in enumerate((1, 2, 4, 8)):
            assert np.array_equal(out[row], np.repeat(values[index:index + 8 // times], times))
