"""qformat.quantize(w, "bitpack", ...): round-to-nearest, clipping search, degenerate groups,
refusals. Decoded with the numpy reference, so these tests compile no kernel."""

from __future__ import annotations

import numpy as np
import pytest

import qformat
from qformat import ArgumentError
from qformat.dtypes import bf16_to_f32, f32_to_bf16, to_float32
from qformat.kernels._ref.bitpack import dequantize
from qformat.layouts.bitpack import BitPackedLayout, unpack_codes
from qformat.layouts.bitpack_quantize import DEFAULT_CLIP_GRID


def decode(qt):
    return dequantize(**qt.layout.kernel_args(qt)).reshape(qt.shape)


def group_view(a, group):
    """[rows, k] -> list of (row, group index, values) for checking per-group bounds."""
    rows, k = a.shape
    g = k if group == -1 else group
    return [(r, j, a[r, j * g:(j + 1) * g]) for r in range(rows) for j in range(-(-k // g))]


@pytest.fixture
def weights():
    rng = np.random.default_rng(7)
    w = (rng.standard_normal((12, 200)) * 0.05).astype(np.float32)
    w[:, 7] *= 20  # an outlier column
    return w


MODES = [{"symmetric": True}, {"zero": "int"}, {"zero": "float"}, {"zero": "bias"}]


@pytest.mark.parametrize("bits", [2, 3, 4, 8, 5])
@pytest.mark.parametrize("mode", MODES, ids=["none", "int", "float", "bias"])
def test_round_to_nearest_error_bound(weights, bits, mode):
    """Each value lands within half a step of its group's grid (a full step for the clipped
    end of a symmetric range), plus the rounding of stored F32 parameters."""
    qt = qformat.quantize(weights, "bitpack", bits=bits, group_size=64, scale_dtype="F32",
                          **mode)
    assert isinstance(qt.layout, BitPackedLayout)
    assert qt.layout.zero == ("none" if mode.get("symmetric") else mode["zero"])
    w_hat = decode(qt)
    scales = qt.parts["scales"]
    step = 1.0 if mode.get("symmetric") else 0.5
    for r, j, vals in group_view(weights, 64):
        err = np.abs(w_hat[r, j * 64:j * 64 + vals.size] - vals).max()
        assert err <= step * abs(scales[r, j]) * (1 + 1e-5) + 1e-6 * np.abs(vals).max(), (r, j)


def test_symmetric_keeps_the_largest_magnitude_exact():
    """s = m / -2**(b-1): the signed value of largest magnitude maps to code 0."""
    w = np.array([[0.1, -0.7, 0.3, 0.69], [0.5, 0.2, -0.1, 0.0]], np.float32)
    qt = qformat.quantize(w, "bitpack", bits=4, group_size=4, symmetric=True,
                          scale_dtype="F32")
    w_hat = decode(qt)
    assert w_hat[0, 1] == np.float32(-0.7)
    assert w_hat[1, 0] == np.float32(0.5)
    assert unpack_codes(qt)[0, 1] == 0


# integer zero points with a level table are refused by the quantizer (test_bad_options)
MODES_WITH_LEVELS = [(m, None) for m in MODES] + [(m, "nf4") for m in MODES if "zero" not in m
                                                  or m["zero"] != "int"]


@pytest.mark.parametrize(("mode", "levels"), MODES_WITH_LEVELS)
def test_zero_and_constant_groups(mode, levels):
    w = np.zeros((4, 96), np.float32)
    w[1, :32] = 0.37
    w[2, 32:64] = -2.5
    w[3, :] = 1e-3
    qt = qformat.quantize(w, "bitpack", bits=4, group_size=32, levels=levels, **mode)
    w_hat = decode(qt)
    assert np.isfinite(w_hat).all()
    assert (w_hat[0] == 0).all()
    assert (w_hat[1, 32:] == 0).all()
    assert (w_hat[2, :32] == 0).all()
    np.testing.assert_allclose(w_hat, w, rtol=2**-10, atol=0)


def test_non_finite_values_are_refused_with_the_first_index():
    w = np.ones((3, 4, 8), np.float32)
    w[1, 2, 5] = np.nan
    w[2, 0, 0] = np.inf
    with pytest.raises(ArgumentError, match=r"NaN or infinite at index \[1, 2, 5\]") as exc:
        qformat.quantize(w, "bitpack", bits=4, group_size=8)
    assert exc.value.field == "array"


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"bits": 0}, "bits"), ({"bits": 9}, "bits"), ({"group_size": 0}, "group_size"),
    ({"group_size": -4}, "group_size"), ({"zero": "asym"}, "zero"),
    ({"symmetric": True, "zero": "int"}, "zero"), ({"scale_dtype": "F8_E4M3"}, "scale_dtype"),
    ({"zero": "bias", "zero_dtype": "U8"}, "zero_dtype"),
    ({"levels": "nf4", "zero": "int", "symmetric": False}, "zero"),
    ({"levels": "nf4", "bits": 3}, "bits"), ({"levels": "nf8"}, "levels"),
    ({"levels": [0.0, 1.0]}, "levels"), ({"levels": np.zeros(16)}, "levels"),
    ({"clip_search": [0.0, 0.5]}, "clip_search"), ({"clip_search": [1.5]}, "clip_search"),
    ({"clip_search": "yes"}, "clip_search"),
    ({"perm": np.array([0, 0, 1, 2, 3, 4, 5, 6])}, "perm"),
])
def test_bad_options(kwargs, field):
    with pytest.raises(ArgumentError) as exc:
        qformat.quantize(np.ones((2, 8), np.float32), "bitpack", **kwargs)
    assert exc.value.field == field


@pytest.mark.parametrize("array", [np.ones((2, 8), np.int32), np.float32(1.0),
                                   np.ones((2, 8), np.complex64)])
def test_non_float_or_scalar_input(array):
    with pytest.raises(ArgumentError):
        qformat.quantize(array, "bitpack", bits=4, group_size=8)


def test_scale_overflowing_its_dtype_is_refused():
    w = np.full((2, 32), 1e6, np.float32)
    w[:, 0] = -1e6
    with pytest.raises(ArgumentError, match="overflows F16") as exc:
        qformat.quantize(w, "bitpack", bits=4, group_size=32, zero="bias")
    assert exc.value.field == "scale_dtype"
    qt = qformat.quantize(w, "bitpack", bits=4, group_size=32, zero="bias", scale_dtype="F32")
    np.testing.assert_allclose(decode(qt), w, rtol=1e-3)


@pytest.mark.parametrize(("mode", "levels"), MODES_WITH_LEVELS)
def test_clip_search_never_loses_to_min_max(weights, mode, levels):
    """The grid includes shrink factor 1.0, so per group the error can only go down."""
    kw = {"bits": 4, "group_size": 50, "levels": levels, **mode}
    plain = decode(qformat.quantize(weights, "bitpack", **kw))
    tuned = decode(qformat.quantize(weights, "bitpack", clip_search=True, **kw))
    for (r, j, vals), (_, _, a), (_, _, b) in zip(group_view(weights, 50),
                                                  group_view(plain, 50),
                                                  group_view(tuned, 50)):
        assert ((b - vals).astype(np.float64) ** 2).sum() <= \
            ((a - vals).astype(np.float64) ** 2).sum() * (1 + 1e-12), (r, j)
    total_plain = ((plain - weights) ** 2).sum()
    total_tuned = ((tuned - weights) ** 2).sum()
    assert total_tuned < total_plain  # the outlier column makes clipping pay off
    assert DEFAULT_CLIP_GRID[0] == 1.0


def test_custom_grid_and_level_tables(weights):
    custom = np.array([-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0], np.float32)
    qt = qformat.quantize(weights, "bitpack", bits=3, group_size=40, levels=custom,
                          level_name="my-levels", clip_search=[0.9, 0.8])
    assert qt.layout.levels == "my-levels"
    assert np.array_equal(qt.parts["levels"], custom)
    assert qt.layout.zero == "none"
    q = unpack_codes(qt)
    w_hat = decode(qt)
    s = to_float32(qt.parts["scales"], "F16")
    gi = np.arange(200) // 40
    assert np.array_equal(w_hat, s[:, gi] * custom[q])
    nf4 = qformat.quantize(weights, "bitpack", bits=4, group_size=64, levels="nf4")
    assert nf4.layout.levels == "nf4"
    assert "levels" in nf4.parts


def test_input_dtypes_are_recorded_and_converted_exactly():
    rng = np.random.default_rng(0)
    w32 = rng.standard_normal((4, 64)).astype(np.float32)
    for arr, code in [(w32.astype(np.float16), "F16"), (w32.astype(np.float64), "F64"),
                      (w32, "F32")]:
        qt = qformat.quantize(arr, "bitpack", bits=8, group_size=32, zero="bias")
        assert qt.dtype == code
    # bfloat16 (ml_dtypes) is reinterpreted from its bits
    ml_dtypes = pytest.importorskip("ml_dtypes")
    wbf = bf16_to_f32(f32_to_bf16(w32)).astype(ml_dtypes.bfloat16)
    qt = qformat.quantize(wbf, "bitpack", bits=8, group_size=32, zero="bias")
    assert qt.dtype == "BF16"


@pytest.mark.parametrize("shape", [(37,), (3, 5, 37), (1, 1)])
@pytest.mark.parametrize("group", [8, -1, 64])
def test_shapes_partial_groups_and_determinism(shape, group):
    w = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    a = qformat.quantize(w, "bitpack", bits=3, group_size=group, zero="float")
    b = qformat.quantize(w, "bitpack", bits=3, group_size=group, zero="float")
    assert a.shape == shape
    for name in a.parts:
        assert np.array_equal(a.parts[name], b.parts[name])
    assert np.abs(decode(a) - w).max() <= 0.5 * np.abs(w).max()


def test_perm_groups_in_stored_order():
    """QF-BITPACK-035 through the quantizer: columns permuted, then grouped."""
    rng = np.random.default_rng(2)
    w = rng.standard_normal((6, 48)).astype(np.float32)
    perm = rng.permutation(48)
    qt = qformat.quantize(w, "bitpack", bits=4, group_size=16, perm=perm)
    assert qt.layout.perm
    plain = qformat.quantize(np.ascontiguousarray(w[:, perm]), "bitpack", bits=4,
                             group_size=16)
    assert np.array_equal(decode(qt)[:, perm], decode(plain))
    assert np.array_equal(unpack_codes(qt)[:, perm], unpack_codes(plain))
