"""The numpy reference defines the numbers: bit order and float32 formulas of the spec.

No numba here: these tests pin ``qformat.kernels._ref.bitpack`` to ``specs/layouts/bitpack.md``
(worked examples, formulas computed independently), and the kernel tests pin the jitted
kernels to the reference.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qformat import ArgumentError
from qformat.kernels._ref.bitpack import dequantize, linear, pack_codes, unpack_codes


@pytest.mark.parametrize(("bits", "codes", "packed"), [
    (3, [5, 3, 7, 0, 6, 1, 2, 4, 3], [0xDD, 0xE1, 0x88, 0x03]),
    (4, [1, 15, 7, 8, 3], [0xF1, 0x87, 0x03]),
    (2, [3, 0, 1, 2, 2, 1], [0x93, 0x06]),
    (5, [17, 3, 30], [0x71, 0x78]),
    (8, [0, 255, 128], [0x00, 0xFF, 0x80]),
    (1, [1, 0, 1, 1, 0, 0, 0, 0, 1], [0x0D, 0x01]),
])
def test_spec_worked_examples(bits, codes, packed):
    """QF-BITPACK-010: the worked examples of the spec, byte for byte."""
    got = pack_codes(np.array([codes], np.uint8), bits)
    assert got.tolist() == [packed]
    assert unpack_codes(got, bits, len(codes)).tolist() == [codes]


def test_bit_order_is_a_little_endian_stream():
    """QF-BITPACK-010, independently: code c sits at bits c*b.. of the row as one integer."""
    rng = np.random.default_rng(3)
    for bits in range(1, 9):
        codes = rng.integers(0, 1 << bits, 23)
        packed = pack_codes(codes.astype(np.uint8)[None], bits)[0]
        as_int = int.from_bytes(packed.tobytes(), "little")
        assert [(as_int >> (c * bits)) & ((1 << bits) - 1) for c in range(23)] == codes.tolist()
        assert as_int >> (23 * bits) == 0  # QF-BITPACK-011: padding bits are zero


@settings(max_examples=60, deadline=None)
@given(bits=st.integers(1, 8), rows=st.integers(0, 4), k=st.integers(0, 70), seed=st.integers(0, 9))
def test_pack_unpack_round_trip(bits, rows, k, seed):
    codes = np.random.default_rng(seed).integers(0, 1 << bits, (rows, k)).astype(np.uint8)
    packed = pack_codes(codes, bits)
    assert packed.shape == (rows, (k * bits + 7) // 8)
    assert np.array_equal(unpack_codes(packed, bits, k), codes)


def test_pack_refuses_codes_that_do_not_fit():
    with pytest.raises(ArgumentError, match="does not fit"):
        pack_codes(np.array([[4]], np.uint8), 2)


def _f32(a):
    return np.asarray(a, dtype=np.float32)


def test_spec_dequantize_example():
    """QF-BITPACK-022: the 3-bit example of the spec (int zeros, F16 scales)."""
    packed = np.array([[0xDD, 0xE1, 0x88, 0x03]], np.uint8)
    w = dequantize(packed, np.array([[0.5, 0.25]], np.float16), bits=3, k=9, group_size=8,
                   zero="int", zeros=np.array([[3, 4]], np.uint8), scale_dtype="F16",
                   zero_dtype="U8")
    assert w.tolist() == [[1, 0, 2, -1.5, 1.5, -1, -0.5, 0.5, -0.25]]


@pytest.mark.parametrize("levels", [False, True])
@pytest.mark.parametrize("zero", ["none", "int", "float", "bias"])
def test_formulas_in_float32(parts, zero, levels):
    """QF-BITPACK-020..024: one float32 operation per step, in the spec's order, no FMA.

    The expected values are computed one element at a time with numpy float32 scalars.
    """
    zdt = {"none": None, "int": "U8", "float": "F32", "bias": "F32"}[zero]
    p = parts(4, 3, 20, 8, zero=zero, scale_dtype="F32", zero_dtype=zdt, levels=levels)
    kw, q = p["kwargs"], p["q"]
    w = dequantize(**kw)
    for r in range(3):
        for c in range(20):
            s = np.float32(kw["scales"][r, c // 8])
            v = kw["levels"][q[r, c]] if levels else np.float32(q[r, c])
            if zero == "none":
                want = s * v if levels else s * (np.float32(q[r, c]) - np.float32(8))
            elif zero == "bias":
                want = np.float32(s * v) + np.float32(kw["bias"][r, c // 8])
            else:
                want = s * (v - np.float32(kw["zeros"][r, c // 8]))
            assert w[r, c].view(np.uint32) == np.float32(want).view(np.uint32), (r, c)


def test_bias_mode_is_not_fused():
    """QF-BITPACK-024: (s*v) + b rounds twice; a fused multiply-add would round once."""
    s, v, b = np.float32(1 + 2**-12), np.float32(1 + 2**-12), np.float32(-1.0)
    two_roundings = np.float32(s * v) + b          # s*v rounds away 2**-24
    exact = float(s) * float(v) + float(b)         # what an FMA would give
    assert float(two_roundings) != exact
    packed = pack_codes(np.array([[1]], np.uint8), 1)
    # v = levels[1] = 1 + 2**-12 with a level table, s = 1 + 2**-12, bias -1
    w = dequantize(packed, np.array([[s]], np.float32), bits=1, k=1, group_size=1,
                   zero="bias", bias=np.array([[b]], np.float32), zero_dtype="F32",
                   levels=np.array([0, v], np.float32))
    assert w[0, 0] == two_roundings


def test_permutation_semantics(parts):
    """QF-BITPACK-035: stored column c is original column perm[c]; groups in stored order."""
    p = parts(4, 2, 12, 4, zero="int", zero_dtype="U8", perm=True)
    kw = p["kwargs"]
    perm = kw["perm"]
    stored = dequantize(**{**kw, "perm": None})
    w = dequantize(**kw)
    assert np.array_equal(w[:, perm], stored)
    x = np.random.default_rng(0).standard_normal((3, 12)).astype(np.float32)
    np.testing.assert_allclose(linear(x, **kw), x[:, perm] @ stored.T, rtol=1e-6, atol=1e-6)


def test_float16_output_rounds_the_float32_result_once(parts):
    """QF-BITPACK-026."""
    p = parts(8, 4, 64, 16, zero="bias", scale_dtype="F32", zero_dtype="F32", scale=3000.0)
    w32 = dequantize(**p["kwargs"])
    w16 = dequantize(**p["kwargs"], out_dtype="F16")
    with np.errstate(over="ignore"):
        assert np.array_equal(w16.view(np.uint16), w32.astype(np.float16).view(np.uint16))
    assert np.isinf(w16).any()  # some values overflow float16, as they must
