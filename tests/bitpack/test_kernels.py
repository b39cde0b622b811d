"""Jitted kernels against their numpy references (DESIGN §5): exact dequantization, linear
within float32 rounding, every width, group shape, table, storage dtype and read-only input."""

from __future__ import annotations

import mmap

import numba
import numpy as np
import pytest

from qformat.kernels import _ref
from qformat.kernels import bitpack as kern
from qformat.kernels._ref import bitpack as ref

pytestmark = pytest.mark.jit

#: (rows, k, group_size): aligned groups, partial last groups, odd tails, one group per row,
#: a group larger than the row, group sizes not aligned to the byte chunks
GEOMETRIES = [(5, 256, 64), (3, 300, 128), (4, 37, 10), (2, 41, -1), (3, 24, 100),
              (6, 130, 32), (1, 8, 1), (7, 96, 24)]


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(
        a.view(np.uint8), b.view(np.uint8))


def assert_linear_close(y: np.ndarray, want: np.ndarray, k: int) -> None:
    """QF-BITPACK-050: max-abs error over max-abs value <= 1e-5 * sqrt(k)."""
    scale = max(float(np.abs(want).max()), 1e-30)
    err = float(np.abs(y - want).max()) / scale
    assert err <= 1e-5 * np.sqrt(max(k, 1)), err


def test_reference_module_has_the_same_public_names():
    names = {"dequantize", "linear", "pack_codes", "unpack_codes"}
    assert names <= set(kern.__all__)
    assert names <= set(ref.__all__)
    assert _ref.bitpack is ref


@pytest.mark.parametrize("bits", range(1, 9))
def test_dequantize_is_bit_identical(parts, mode_case, bits):
    """QF-BITPACK-020..025 through the jitted kernel, F32 and F16 output, every geometry."""
    zero, sdt, zdt, levels = mode_case
    for i, (rows, k, g) in enumerate(GEOMETRIES):
        for perm in (False, True):
            kw = parts(bits, rows, k, g, zero=zero, scale_dtype=sdt, zero_dtype=zdt,
                       levels=levels, perm=perm, seed=i)["kwargs"]
            assert same_bits(kern.dequantize(**kw), ref.dequantize(**kw)), (rows, k, g, perm)
            assert same_bits(kern.dequantize(**kw, out_dtype="F16"),
                             ref.dequantize(**kw, out_dtype="F16")), (rows, k, g, perm)


@pytest.mark.parametrize("bits", [1, 2, 3, 4, 5, 6, 7, 8])
def test_pack_and_unpack_match_the_reference(bits):
    rng = np.random.default_rng(bits)
    for rows, k in [(3, 77), (1, 8), (4, 0), (0, 5), (2, 1024)]:
        codes = rng.integers(0, 1 << bits, (rows, k)).astype(np.uint8)
        packed = kern.pack_codes(codes, bits)
        assert np.array_equal(packed, ref.pack_codes(codes, bits))
        assert np.array_equal(kern.unpack_codes(packed, bits, k), codes)


@pytest.mark.parametrize("bits", [2, 3, 4, 8, 5])
@pytest.mark.parametrize("batch", [1, 2, 8, 33])
def test_linear_matches_dequantize_then_matmul(parts, mode_case, bits, batch):
    zero, sdt, zdt, levels = mode_case
    rng = np.random.default_rng(batch)
    for i, (rows, k, g) in enumerate(GEOMETRIES):
        kw = parts(bits, rows, k, g, zero=zero, scale_dtype=sdt, zero_dtype=zdt,
                   levels=levels, perm=i % 2 == 1, seed=i)["kwargs"]
        x = rng.standard_normal((batch, k)).astype(np.float32)
        assert_linear_close(kern.linear(x, **kw), ref.linear(x, **kw), k)


def test_fast_gemv_paths_are_taken_and_correct(parts):
    """Aligned 2/3/4/8-bit groups take the width-specialized GEMV; check each against ref."""
    for bits, g in [(2, 64), (3, 128), (4, 128), (8, 32), (4, 2), (3, 8), (2, 4)]:
        assert kern.fast_gemv_supported(bits, g, False)
        for zero, zdt in [("none", None), ("int", "U8"), ("float", "F16"), ("bias", "BF16")]:
            kw = parts(bits, 9, 4 * g + 8 * 3 + 5 if g > 1 else 21, g, zero=zero,
                       zero_dtype=zdt)["kwargs"]
            x = np.random.default_rng(bits).standard_normal((1, kw["k"])).astype(np.float32)
            assert_linear_close(kern.linear(x, **kw), ref.linear(x, **kw), kw["k"])
    assert not kern.fast_gemv_supported(3, 100, False)   # groups not on 8-code chunks
    assert not kern.fast_gemv_supported(4, 128, True)    # level tables take the tiled path
    assert not kern.fast_gemv_supported(5, 128, False)


def test_large_batch_and_rows_not_multiple_of_tiles(parts):
    kw = parts(4, 67, 160, 32, zero="int", zero_dtype="U8")["kwargs"]
    x = np.random.default_rng(0).standard_normal((64, 160)).astype(np.float32)
    assert_linear_close(kern.linear(x, **kw), ref.linear(x, **kw), 160)


def test_empty_tensors(parts):
    for rows, k in [(0, 16), (4, 0)]:
        kw = parts(4, rows, k, 8)["kwargs"]
        assert kern.dequantize(**kw).shape == (rows, k)
        y = kern.linear(np.zeros((2, k), np.float32), **kw)
        assert y.shape == (2, rows)
        assert not y.any()


def test_all_zero_groups_and_extreme_scales(to_stored):
    """Zero scales, F16 extremes (65504, subnormals), negative scales, BF16 near its limits."""
    rng = np.random.default_rng(5)
    q = rng.integers(0, 16, (4, 64)).astype(np.uint8)
    packed = ref.pack_codes(q, 4)
    cases = {
        "F16": [[0.0, 65504.0], [6e-8, -6.1e-5], [-0.0, 1e-7], [-65504.0, 0.5]],
        "BF16": [[3.0e38, -1e-38], [9.2e-41, 0.0], [-2.0e38, 1.0], [1e-30, -1e30]],
        "F32": [[3.4e38, 1.4e-45], [-1e-40, 0.0], [1e38, -3e38], [0.0, 0.0]],
    }
    for sdt, values in cases.items():
        scales = to_stored(np.array(values, np.float32), sdt)
        bias = to_stored(np.ascontiguousarray(np.array(values, np.float32)[::-1]), sdt)
        for kw in ({"zero": "none"},
                   {"zero": "bias", "bias": bias, "zero_dtype": sdt},
                   {"zero": "int", "zeros": np.full((4, 2), 15, np.uint8), "zero_dtype": "U8"}):
            args = {"bits": 4, "k": 64, "group_size": 32, "scale_dtype": sdt, **kw}
            with np.errstate(over="ignore", invalid="ignore"):
                assert same_bits(kern.dequantize(packed, scales, **args),
                                 ref.dequantize(packed, scales, **args)), (sdt, kw["zero"])
                assert same_bits(kern.dequantize(packed, scales, out_dtype="F16", **args),
                                 ref.dequantize(packed, scales, out_dtype="F16", **args))


def test_float16_output_conversion_matches_numpy_on_hard_values():
    """QF-BITPACK-026 on rounding boundaries: ties, subnormals, overflow, signed zeros."""
    specials = np.array([65504, 65519.99, 65520, 65536, 1e9, 2**-14, 2**-24, 2**-25,
                         2**-25 * 1.0000001, 3 * 2**-26, 2**-26, 1 + 2**-11, 1 + 3 * 2**-11,
                         -0.0, 0.0, 5.9604645e-08, 6.0975552e-05, 6.1035156e-05, np.inf],
                        dtype=np.float32)
    rng = np.random.default_rng(0)
    random = rng.integers(0, 2**32, 20000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    random = random[np.isfinite(random)]
    near = (rng.random(20000) * 2**-13).astype(np.float32)       # f16 subnormal range
    values = np.concatenate([specials, -specials, random, near, -near])
    n = values.size
    # route each value through the kernel as w = s * levels[0] with levels[0] = 1, s = value
    packed = np.zeros((n, 1), np.uint8)
    scales = values.reshape(n, 1)
    levels = np.zeros(256, np.float32)
    levels[0] = 1.0
    args = {"bits": 8, "k": 1, "group_size": 1, "scale_dtype": "F32", "levels": levels}
    with np.errstate(over="ignore"):
        want = values.astype(np.float16)
    finite = np.isfinite(values)
    got = kern.dequantize(packed[finite], scales[finite], out_dtype="F16", **args)
    assert np.array_equal(got.reshape(-1).view(np.uint16), want[finite].view(np.uint16))


def test_read_only_memory_mapped_inputs(parts, tmp_path):
    """mmap'd parts (read-only, as QfModel.raw returns them) work and share compiled code."""
    kw = parts(3, 6, 200, 64, zero="float", zero_dtype="F16", perm=True)["kwargs"]
    path = tmp_path / "parts.bin"
    names = ["codes", "scales", "zeros", "perm"]
    with path.open("wb") as f:
        for name in names:
            f.write(kw[name].tobytes())
    with path.open("rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    ro = dict(kw)
    offset = 0
    for name in names:
        a = kw[name]
        view = np.frombuffer(mm, dtype=a.dtype, count=a.size, offset=offset).reshape(a.shape)
        assert not view.flags.writeable
        ro[name] = view
        offset += a.nbytes
    x = np.random.default_rng(1).standard_normal((1, 200)).astype(np.float32)
    x.flags.writeable = False
    assert same_bits(kern.dequantize(**ro), ref.dequantize(**kw))
    assert_linear_close(kern.linear(x, **ro), ref.linear(x, **kw), 200)
    assert_linear_close(kern.linear(np.repeat(x, 3, 0), **ro), ref.linear(np.repeat(x, 3, 0),
                                                                           **kw), 200)
    del ro, view
    mm.close()


def test_compiled_once_per_kernel(parts):
    """Writable and read-only inputs, every mode and dtype: one specialization per body."""
    for zero, sdt, zdt, levels in [("none", "F16", None, False), ("bias", "F32", "BF16", True)]:
        kw = parts(4, 3, 64, 32, zero=zero, scale_dtype=sdt, zero_dtype=zdt,
                   levels=levels)["kwargs"]
        kern.dequantize(**kw)
        kern.linear(np.ones((1, 64), np.float32), **kw)
        kern.linear(np.ones((2, 64), np.float32), **kw)
    for bits, g, zero, sdt, zdt in [(4, 64, "int", "BF16", "U8"), (3, 16, "float", "F32", "F16"),
                                    (2, 128, "bias", "F16", "F32"), (4, 2, "int", "F16", "U8"),
                                    (3, 128, "none", "BF16", None)]:
        kw = parts(bits, 3, 256, g, zero=zero, scale_dtype=sdt, zero_dtype=zdt)["kwargs"]
        kern.linear(np.ones((1, 256), np.float32), **kw)
    if numba.config.DISABLE_JIT:  # plain-Python bodies: nothing is compiled
        return
    for body in (kern._dequantize, kern._gemm, kern._gemv_bytes, kern._gemv_chunks,
                 *kern._GEMV_WORDS.values()):
        assert len(body.signatures) == 1, body


@pytest.mark.parametrize("out_dtype", ["F32", "F16"])
def test_dequantize_into_a_caller_buffer(parts, out_dtype):
    kw = parts(4, 5, 64, 32, zero="int", zero_dtype="U8", perm=True)["kwargs"]
    dtype = np.float16 if out_dtype == "F16" else np.float32
    for impl in (kern, ref):
        buf = np.full((5, 64), 7, dtype)
        got = impl.dequantize(**kw, out_dtype=out_dtype, out=buf)
        assert np.shares_memory(got, buf)
        assert same_bits(buf, ref.dequantize(**kw, out_dtype=out_dtype))


def test_large_tensors_pack_through_the_kernels(monkeypatch):
    """from_codes / unpack_codes switch to the jitted packer for large tensors: same bytes."""
    from qformat.layouts import bitpack as layout_module

    q = np.random.default_rng(4).integers(0, 8, (64, 200)).astype(np.uint8)
    small = layout_module.BitPackedLayout.from_codes(q, np.ones((64, 4), np.float16), bits=3,
                                                     group_size=64)
    monkeypatch.setattr(layout_module, "_JIT_MIN_CODES", 1)
    large = layout_module.BitPackedLayout.from_codes(q, np.ones((64, 4), np.float16), bits=3,
                                                     group_size=64)
    assert np.array_equal(large.parts["codes"], small.parts["codes"])
    assert np.array_equal(layout_module.unpack_codes(large), q)
