"""The numpy decoders against straightforward references (bit loops, int64 arithmetic)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qformat.readers._tflite.dequant import (
    affine_dequantize,
    blockwise_dequantize,
    unpack_codes,
)


def unpack_reference(raw: bytes, bits: int, signed: bool, count: int) -> list[int]:
    out = []
    for i in range(count):
        byte = raw[i * bits // 8]
        v = (byte >> ((i * bits) % 8)) & ((1 << bits) - 1)
        if signed and v >= 1 << (bits - 1):
            v -= 1 << bits
        out.append(v)
    return out


@settings(max_examples=150, deadline=None)
@given(bits=st.sampled_from([2, 4]), signed=st.booleans(),
       raw=st.binary(min_size=0, max_size=64), drop=st.integers(0, 3))
def test_unpack_matches_bit_loop(bits: int, signed: bool, raw: bytes, drop: int) -> None:
    count = max(len(raw) * 8 // bits - drop, 0)
    got = unpack_codes(raw, bits, signed, count)
    assert got.dtype == (np.int8 if signed else np.uint8)
    assert got.tolist() == unpack_reference(raw, bits, signed, count)


def affine_reference(codes, scale, zp, axis):
    q = codes.astype(np.int64)
    if axis is None:
        return (q - zp[0]).astype(np.float32) * np.float32(scale[0])
    shape = [1] * q.ndim
    shape[axis] = -1
    return (q - zp.reshape(shape)).astype(np.float32) * scale.astype(np.float32).reshape(shape)


@pytest.mark.parametrize("dtype", ["i1", "u1", "<i2", "<u2", "<i4", "<i8"])
@pytest.mark.parametrize("axis", [None, 0, 1, 2])
def test_affine_matches_int64_formula(dtype: str, axis: int | None) -> None:
    rng = np.random.default_rng(7)
    info = np.iinfo(np.dtype(dtype))
    codes = rng.integers(info.min, info.max, size=(3, 5, 4), endpoint=True).astype(dtype)
    n = 1 if axis is None else codes.shape[axis]
    scale = (rng.uniform(-1, 1, n) * 10.0 ** rng.integers(-8, 3, n)).astype(np.float32)
    lo, hi = max(info.min, -(1 << 40)), min(info.max, 1 << 40)
    for zp in (np.zeros(n, np.int64), rng.integers(lo, hi, n, endpoint=True)):
        if np.dtype(dtype).itemsize == 8:  # keep q - zp inside int64
            codes = (codes // 4).astype(dtype)
        got = affine_dequantize(codes, scale, zp.astype(np.int64), axis)
        want = affine_reference(codes, scale, zp.astype(np.int64), axis)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, want)


def test_affine_big_int32_takes_the_exact_integer_path() -> None:
    codes = np.array([2**31 - 1, -(2**31), 16_777_217, 3], dtype=np.int32)
    zp = np.array([-5], dtype=np.int64)
    got = affine_dequantize(codes, np.array([0.5], np.float32), zp, None)
    want = ((codes.astype(np.int64) + 5).astype(np.float32) * np.float32(0.5))
    np.testing.assert_array_equal(got, want)


def blockwise_reference(codes, scales, zps, block_shape):
    sc = scales.astype(np.float32)
    zp = None if zps is None else zps.astype(np.int64)
    for axis, b in enumerate(block_shape):
        sc = np.repeat(sc, b, axis=axis)
        if zp is not None:
            zp = np.repeat(zp, b, axis=axis)
    q = codes.astype(np.int64) - (0 if zp is None else zp)
    return q.astype(np.float32) * sc


@pytest.mark.parametrize("block_shape", [(1, 8), (2, 4), (4, 1), (1, 1), (4, 16)])
@pytest.mark.parametrize("with_zp", [False, True])
def test_blockwise_matches_repeat_reference(block_shape, with_zp: bool) -> None:
    rng = np.random.default_rng(3)
    codes = rng.integers(-8, 8, size=(8, 16)).astype(np.int8)
    pshape = (8 // block_shape[0], 16 // block_shape[1])
    scales = rng.uniform(-0.1, 0.1, pshape).astype(np.float16)
    zps = rng.integers(-3, 4, pshape).astype(np.int8) if with_zp else None
    got = blockwise_dequantize(codes, scales, zps, block_shape)
    np.testing.assert_array_equal(got, blockwise_reference(codes, scales, zps, block_shape))
    big = None if zps is None else (zps.astype(np.int32) * (1 << 25))
    got = blockwise_dequantize(codes, scales, big, block_shape)
    np.testing.assert_array_equal(got, blockwise_reference(codes, scales, big, block_shape))


def test_read_only_inputs() -> None:
    codes = np.arange(-8, 8, dtype=np.int8).reshape(2, 8)
    codes.flags.writeable = False
    scale = np.array([0.5, 0.25], np.float32)
    scale.flags.writeable = False
    zp = np.array([1, -1], np.int64)
    zp.flags.writeable = False
    np.testing.assert_array_equal(affine_dequantize(codes, scale, zp, 0),
                                  affine_reference(codes, scale, zp, 0))
