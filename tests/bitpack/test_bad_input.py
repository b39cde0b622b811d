"""Bad input gets a QFormatError naming the field (and the first bad index), never a crash or
garbage from a jitted body: the wrappers and content checks refuse before any kernel runs."""

from __future__ import annotations

import numpy as np
import pytest

from qformat import ArgumentError, IntegrityError, LayoutError, QFormatError
from qformat.kernels import bitpack as kern
from qformat.kernels._ref import bitpack as ref
from qformat.layouts.bitpack import BitPackedLayout
from qformat.layouts.qtensor import QTensor

BOTH = pytest.mark.parametrize("impl", [kern, ref], ids=["kernel", "reference"])


@pytest.fixture
def good(parts):
    return parts(4, 3, 40, 16, zero="int", zero_dtype="U8")["kwargs"]


def _call(impl, kw, x=None):
    if x is None:
        return impl.dequantize(**kw)
    return impl.linear(x, **kw)


@BOTH
@pytest.mark.parametrize(("change", "field"), [
    ({"bits": 0}, "bits"),
    ({"bits": 9}, "bits"),
    ({"bits": True}, "bits"),
    ({"group_size": 0}, "group_size"),
    ({"group_size": -3}, "group_size"),
    ({"k": -1}, "k"),
    ({"k": 41}, "codes"),                       # codes no longer hold ceil(41*4/8) bytes
    ({"zero": "asym"}, "zero"),
    ({"scale_dtype": "F64"}, "scale_dtype"),
    ({"scale_dtype": "F32"}, "scales"),         # the array is float16
    ({"zeros": None}, "zeros"),                 # int mode needs zeros
    ({"bias": np.zeros((3, 3), np.float32)}, "bias"),
    ({"zero_dtype": "F16"}, "zero_dtype"),
    ({"levels": np.zeros(8, np.float32)}, "levels"),    # 4-bit codes need 16 levels
    ({"levels": np.zeros(16, np.float64)}, "levels"),
    ({"perm": np.arange(40, dtype=np.int64)}, "perm"),
    ({"perm": np.arange(39, dtype=np.int32)}, "perm"),
])
def test_wrong_arguments_name_the_field(impl, good, change, field):
    with pytest.raises(ArgumentError) as exc:
        _call(impl, {**good, **change})
    assert exc.value.field == field


@BOTH
@pytest.mark.parametrize("which", ["codes", "scales", "zeros"])
def test_wrong_dtype_shape_and_layout_of_arrays(impl, good, which):
    arr = good[which]
    for bad in (arr.astype(np.int16), arr[:, :-1], np.asfortranarray(arr)):
        if bad.flags.c_contiguous and bad.dtype == arr.dtype and bad.shape == arr.shape:
            continue
        with pytest.raises(ArgumentError) as exc:
            _call(impl, {**good, which: bad})
        assert exc.value.field == which


@BOTH
def test_x_is_checked(impl, good):
    ok = np.ones((2, 40), np.float32)
    cases = [(ok.astype(np.float64), "x"), (np.ones((2, 39), np.float32), "x.shape"),
             (np.ones(40, np.float32), "x"), ([[1.0] * 40], "x")]
    if impl is kern:  # the jitted body needs C order; numpy's matmul does not
        cases.append((np.ones((40, 2), np.float32).T, "x"))
    for bad, field in cases:
        with pytest.raises(ArgumentError) as exc:
            _call(impl, good, bad)
        assert exc.value.field == field, bad


def _nan_bits(dtype):
    return {"F16": np.array(np.nan, np.float16), "BF16": np.array(0x7FC0, np.uint16),
            "F32": np.array(np.inf, np.float32)}[dtype]


@BOTH
@pytest.mark.parametrize("dtype", ["F16", "BF16", "F32"])
def test_non_finite_scales_zeros_and_biases(impl, parts, dtype):
    """QF-BITPACK-040: IntegrityError naming the part and the first bad [row, group]."""
    for zero, part in [("none", "scales"), ("float", "zeros"), ("bias", "bias")]:
        kw = parts(4, 3, 40, 16, zero=zero, scale_dtype=dtype,
                   zero_dtype=None if zero == "none" else dtype)["kwargs"]
        bad = kw[part].copy()
        bad[1, 2] = _nan_bits(dtype)
        bad[2, 0] = _nan_bits(dtype)
        with pytest.raises(IntegrityError, match=r"at index \[1, 2\]") as exc:
            _call(impl, {**kw, part: bad})
        assert exc.value.field == part
        assert "QF-BITPACK-040" in str(exc.value)


@BOTH
def test_integer_zero_point_out_of_range(impl, good):
    """QF-BITPACK-041."""
    zeros = good["zeros"].copy()
    zeros[2, 1] = 16
    with pytest.raises(IntegrityError, match=r"at index \[2, 1\]") as exc:
        _call(impl, {**good, "zeros": zeros})
    assert (exc.value.field, exc.value.found) == ("zeros", 16)


@BOTH
def test_levels_must_be_finite(impl, parts):
    kw = parts(2, 2, 8, 4, levels=True)["kwargs"]
    kw["levels"][3] = np.nan
    with pytest.raises(IntegrityError, match=r"level is NaN or infinite at index \[3\]"):
        _call(impl, kw)


@BOTH
@pytest.mark.parametrize(("perm", "found"), [([0, 1, 2, 2], "column 3 missing"),
                                              ([0, 1, 2, 4], 4), ([-1, 0, 1, 2], -1)])
def test_perm_must_be_a_permutation(impl, parts, perm, found):
    """QF-BITPACK-042."""
    kw = parts(4, 2, 4, 2)["kwargs"]
    with pytest.raises(IntegrityError) as exc:
        _call(impl, {**kw, "perm": np.array(perm, np.int32)})
    assert exc.value.field == "perm"
    assert exc.value.found == found


@BOTH
def test_padding_bits_must_be_zero(impl, parts):
    """QF-BITPACK-011: 3 codes of 3 bits leave 7 unused bits in the second byte."""
    kw = parts(3, 2, 3, 3)["kwargs"]
    kw["codes"][1, 1] |= 0x80
    with pytest.raises(IntegrityError, match="padding bits") as exc:
        _call(impl, kw)
    assert exc.value.field == "codes"


def test_content_checks_can_be_skipped_only_by_callers_that_ran_them(good):
    zeros = good["zeros"].copy()
    zeros[0, 0] = 200
    with pytest.raises(IntegrityError):
        kern.dequantize(**{**good, "zeros": zeros})
    # validate=False is for QTensor (checked once); shapes and dtypes are still checked
    with pytest.raises(ArgumentError):
        kern.dequantize(**{**good, "zeros": zeros[:, :1]}, validate=False)


def test_pack_and_unpack_arguments():
    with pytest.raises(ArgumentError, match=r"does not fit in 2 bits at index \[0, 1\]"):
        kern.pack_codes(np.array([[1, 4, 9]], np.uint8), 2)
    with pytest.raises(ArgumentError):
        kern.pack_codes(np.array([[1, 2]], np.int32), 4)
    with pytest.raises(ArgumentError):
        kern.pack_codes(np.zeros((2, 2), np.uint8), 0)
    with pytest.raises(ArgumentError):
        kern.unpack_codes(np.zeros((2, 3), np.uint8), 4, 8)
    with pytest.raises(ArgumentError):
        kern.dequantize(np.zeros((1, 1), np.uint8), np.ones((1, 1), np.float32), bits=4, k=2,
                        group_size=2, out_dtype="F64")


# -- the QTensor / from_codes surface -----------------------------------------------------------
def test_qtensor_checks_parts_before_any_kernel(good):
    lay = BitPackedLayout(bits=4, group_size=16, zero="int", zero_dtype="U8")
    scales = good["scales"].copy()
    scales[0, 1] = np.inf
    qt = QTensor(lay, (3, 40), {"codes": good["codes"], "scales": scales,
                                "zeros": good["zeros"]}, dtype="F16")
    with pytest.raises(IntegrityError) as exc:
        qt.dequantize()
    assert exc.value.field == "parts.scales"
    with pytest.raises(IntegrityError):
        qt.linear(np.ones(40, np.float32))
    with pytest.raises(LayoutError, match="wrong shape"):
        QTensor(lay, (3, 41), {"codes": good["codes"], "scales": scales,
                               "zeros": good["zeros"]})


def test_named_table_must_be_the_built_in_one():
    """QF-BITPACK-031: a file labelled nf4 with another table is refused."""
    lay = BitPackedLayout(bits=4, group_size=8, levels="nf4")
    levels = np.linspace(-1, 1, 16).astype(np.float32)
    qt = QTensor(lay, (1, 8), {"codes": np.zeros((1, 4), np.uint8),
                               "scales": np.ones((1, 1), np.float16), "levels": levels})
    with pytest.raises(IntegrityError, match="QF-BITPACK-031"):
        qt.check()


def test_linear_needs_a_matching_2d_weight(good):
    qt = BitPackedLayout.from_codes(np.zeros((2, 3, 8), np.uint8), np.ones((2, 3, 1), np.float16),
                                    bits=4, group_size=8)
    with pytest.raises(ArgumentError, match="2-D"):
        qt.linear(np.ones(8, np.float32))
    qt2 = BitPackedLayout.from_codes(np.zeros((3, 8), np.uint8), np.ones((3, 1), np.float16),
                                     bits=4, group_size=8)
    with pytest.raises(ArgumentError, match="in_features"):
        qt2.linear(np.ones((2, 7), np.float32))
    with pytest.raises(ArgumentError):
        qt2.linear(np.ones((2, 8), np.int32))


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"codes": np.zeros((2, 8), np.float32)}, "codes"),
    ({"codes": np.full((2, 8), 16, np.uint8)}, "codes"),
    ({"codes": -np.ones((2, 8), np.int16)}, "codes"),
    ({"bits": 9}, "bits"),
    ({"group_size": 0}, "group_size"),
    ({"scales": np.ones((2, 3), np.float16)}, "scales"),
    ({"scales": np.ones((2, 2), np.int32)}, "scales"),
    ({"scales": np.ones((2, 2), np.uint16)}, "scales"),         # raw bits need a dtype
    ({"zeros": np.full((2, 2), 16, np.uint8)}, "zeros"),
    ({"zeros": np.ones((2, 1), np.uint8)}, "zeros"),
    ({"zeros": np.ones((2, 2), np.uint8), "bias": np.ones((2, 2), np.float16)}, "bias"),
    ({"levels": "nf5"}, "levels"),
    ({"levels": np.ones(8, np.float32)}, "levels"),
    ({"levels": np.ones(16, np.float32), "level_name": "nf4"}, "level_name"),
    ({"perm": np.array([0, 1, 2, 3, 4, 5, 6, 6])}, "perm"),
    ({"perm": np.arange(7)}, "perm"),
    ({"g_idx": np.array([0, 1, 0, 1, 0, 1, 0, 0])}, "g_idx"),   # groups of 6 and 2
    ({"g_idx": np.arange(8) // 4, "perm": np.arange(8)}, "g_idx"),
    ({"scale_dtype": "F8_E4M3"}, "scales"),
])
def test_from_codes_refuses_bad_arguments(kwargs, field):
    args = {"codes": np.zeros((2, 8), np.uint8), "scales": np.ones((2, 2), np.float16),
            "bits": 4, "group_size": 4, **kwargs}
    with pytest.raises(QFormatError) as exc:
        BitPackedLayout.from_codes(**args)
    assert exc.value.field == field


@BOTH
def test_dequantize_out_buffer_is_checked(impl, good):
    for bad in (np.empty((3, 40), np.float64), np.empty((3, 41), np.float32),
                np.empty((40, 3), np.float32).T, [[0.0] * 40] * 3):
        with pytest.raises(ArgumentError) as exc:
            impl.dequantize(**good, out=bad)
        assert exc.value.field == "out"
    ro = np.empty((3, 40), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ArgumentError):
        impl.dequantize(**good, out=ro)
    with pytest.raises(ArgumentError):
        impl.dequantize(**good, out_dtype="F16", out=np.empty((3, 40), np.float32))
