"""Bit unpacking and float decoding helpers against bit-by-bit references."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qformat.readers._st.common import (
    E2M1,
    e8m0_to_f32,
    float_of,
    unpack_lsb,
    unpack_lsb_axis,
    unpack_nibbles,
)


def reference_unpack(words: np.ndarray, bits: int, count: int) -> np.ndarray:
    """One bit at a time: element k is bits k*bits .. k*bits+bits-1 of the row's stream."""
    rows = words.reshape(-1, words.shape[-1]).astype(np.uint64)
    out = np.zeros((rows.shape[0], count), dtype=np.int64)
    for r in range(rows.shape[0]):
        for k in range(count):
            v = 0
            for b in range(bits):
                pos = k * bits + b
                v |= int((int(rows[r, pos // 32]) >> (pos % 32)) & 1) << b
            out[r, k] = v
    return out.reshape(*words.shape[:-1], count)


@settings(max_examples=60, deadline=None)
@given(bits=st.integers(1, 8), rows=st.integers(1, 3), count=st.integers(1, 70),
       seed=st.integers(0, 2**32 - 1))
def test_unpack_lsb_matches_bitwise_reference(bits: int, rows: int, count: int,
                                              seed: int) -> None:
    rng = np.random.default_rng(seed)
    words = rng.integers(0, 2**32, (rows, -(-count * bits // 32)), dtype=np.uint64)
    words = words.astype(np.uint32)
    got = unpack_lsb(words, bits, count)
    assert np.array_equal(got.astype(np.int64), reference_unpack(words, bits, count))


def test_unpack_lsb_straddles_words_and_reads_int32_views() -> None:
    # 3-bit: value 10 spans bits 30-32 (word 0 bits 30-31 + word 1 bit 0)
    words = np.array([[0b11 << 30, 0b1, 0]], dtype=np.uint32).view(np.int32)
    vals = unpack_lsb(words, 3, 32)
    assert vals[0, 10] == 0b111
    assert vals[0, :10].sum() == 0
    assert vals[0, 11:].sum() == 0


def test_unpack_lsb_rejects_short_rows() -> None:
    from qformat.errors import LayoutError

    with pytest.raises(LayoutError):
        unpack_lsb(np.zeros((1, 1), np.uint32), 4, 9)


def test_unpack_lsb_axis_and_read_only_input() -> None:
    rng = np.random.default_rng(3)
    words = rng.integers(0, 2**32, (6, 5), dtype=np.uint64).astype(np.uint32)
    words.flags.writeable = False
    down = unpack_lsb_axis(words, 3, 64, axis=0)
    assert down.shape == (64, 5)
    assert np.array_equal(down.T.astype(np.int64), reference_unpack(words.T.copy(), 3, 64))


def test_nibbles_order() -> None:
    b = np.array([0xA9, 0x21], dtype=np.uint8)
    assert unpack_nibbles(b, low_first=False).tolist() == [10, 9, 2, 1]
    assert unpack_nibbles(b, low_first=True).tolist() == [9, 10, 1, 2]


def test_e8m0_and_f4_and_fnuz() -> None:
    e = np.array([0, 1, 126, 127, 128, 254, 255], dtype=np.uint8)
    got = e8m0_to_f32(e)
    want = [2.0**-127, 2.0**-126, 0.5, 1.0, 2.0, 2.0**127]
    assert got[:6].tolist() == want
    assert np.isnan(got[6])
    assert float_of(np.array([0x23], np.uint8), "F4").tolist() == [E2M1[3], E2M1[2]]
    fnuz = float_of(np.array([0x00, 0x80, 0x40, 0x38], np.uint8), "F8_E4M3FNUZ")
    assert fnuz[0] == 0
    assert np.isnan(fnuz[1])
    assert fnuz[2] == 1.0
    assert fnuz[3] == 0.5
