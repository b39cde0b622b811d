"""Numba kernels of the sparse layout against their numpy references.

Decoding is bit-identical to the reference (QF-SPARSE-020..023); ``linear`` agrees within
float32 rounding (QF-SPARSE-024), at batch 1 and small batches, with 1 and 2 threads.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import qformat
from qformat.kernels import sparse as kernels
from qformat.kernels._ref import sparse as ref
from qformat.kernels._sparse_common import SparseArrays
from qformat.kernels.sparse import half_to_float
from qformat.layouts.qtensor import QTensor

from .conftest import ROOT, planted

pytestmark = pytest.mark.jit


def arrays_of(qt: QTensor) -> SparseArrays:
    return qt.layout.arrays(qt)


def linear_tolerance(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Bound on float32 rounding of ``x @ w.T`` in any summation order."""
    return 4e-6 * w.shape[1] ** 0.5 * (np.abs(x) @ np.abs(w).T) + 1e-30


CASES = {
    # name: (shape, quantize config)
    "3bit-g16-perm": ((33, 300), {"bits": 3, "group_size": 16, "outlier_fraction": 0.02,
                                  "perm": np.random.default_rng(1).permutation(300)}),
    "2bit-g8-bf16-f32": ((2, 24, 64), {"bits": 2, "group_size": 8, "stat_bits": 4,
                                       "stat_group": 8, "stat_dtype": "BF16",
                                       "value_dtype": "F32", "outlier_fraction": 0.03}),
    "4bit-odd-tail": ((17, 37), {"bits": 4, "group_size": 16, "stat_bits": 2, "stat_group": 5,
                                 "stat_dtype": "F32", "value_dtype": "BF16",
                                 "select": "magnitude", "outlier_fraction": 0.05}),
    "no-outliers": ((16, 64), {"bits": 3, "group_size": 32, "outlier_fraction": 0.0}),
    "3bit-wide-stats": ((40, 48), {"bits": 3, "group_size": 16, "stat_bits": 8,
                                   "stat_group": 40, "outlier_fraction": 0.01}),
    "one-row": ((1, 80), {"bits": 2, "group_size": 16, "stat_bits": 1, "stat_group": 1,
                          "outlier_fraction": 0.05}),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> tuple[np.ndarray, QTensor]:
    shape, cfg = CASES[request.param]
    rows = int(np.prod(shape[:-1]))
    w, _ = planted(rows, shape[-1], fraction=0.02, seed=len(request.param))
    w = w.reshape(shape)
    return w, qformat.quantize(w, "sparse", **cfg)


def test_f16_conversion_is_exact_for_every_bit_pattern() -> None:
    bits = np.arange(1 << 16, dtype=np.uint16)
    got = kernels.half_to_float(bits.view(np.float16), "F16")
    want = bits.view(np.float16).astype(np.float32)
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))


def test_statistics_decode_is_bit_identical(case: tuple[np.ndarray, QTensor]) -> None:
    """QF-SPARSE-021."""
    _, qt = case
    a = arrays_of(qt)
    for which in ("scales", "zeros"):
        got = kernels.dequantize_statistics(a, which)
        want = ref.dequantize_statistics(a, which)
        assert got.dtype == np.float32
        assert got.shape == want.shape
        assert np.array_equal(got.view(np.uint32), want.view(np.uint32)), which


def test_decode_is_bit_identical_to_the_reference(case: tuple[np.ndarray, QTensor]) -> None:
    """QF-SPARSE-020, QF-SPARSE-022, QF-SPARSE-023 (the reference spells the formulas out)."""
    w, qt = case
    got = qt.dequantize()
    want = ref.dequantize(arrays_of(qt)).reshape(qt.shape)
    assert got.shape == w.shape
    assert got.dtype == np.float32
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))


def test_decode_follows_the_spec_formula_step_by_step(rng: np.random.Generator) -> None:
    """QF-SPARSE-021..023 written out independently of both implementations, with the
    packing of QF-SPARSE-014 read from each row as one little-endian integer."""

    def unpack_codes(packed: np.ndarray, bits: int, n: int) -> np.ndarray:
        out = np.empty((packed.shape[0], n), dtype=np.int64)
        for i, row in enumerate(packed):
            stream = int.from_bytes(row.tobytes(), "little")
            for j in range(n):
                out[i, j] = (stream >> (j * bits)) & ((1 << bits) - 1)
            assert stream >> (n * bits) == 0  # padding bits are zero
        return out

    w, _ = planted(19, 40, fraction=0.05, seed=3)
    perm = rng.permutation(40)
    qt = qformat.quantize(w, "sparse", bits=3, group_size=8, stat_bits=3, stat_group=4,
                          outlier_fraction=0.05, perm=perm)
    p = qt.parts
    f32 = np.float32
    stat = {}
    for which in ("scales", "zeros"):
        c = unpack_codes(p[f"{which}.codes"], 3, 19)  # [G, rows]
        s2 = p[f"{which}.scales"].astype(f32)
        z2 = p[f"{which}.zeros"].astype(f32)
        x1 = np.empty((19, 5), dtype=f32)
        for g in range(5):
            for r in range(19):
                x1[r, g] = f32(s2[g, r // 4]) * (f32(c[g, r]) - f32(z2[g, r // 4]))
        stat[which] = x1
    q = unpack_codes(p["codes"], 3, 40)
    base = np.empty((19, 40), dtype=f32)
    for r in range(19):
        for j in range(40):
            g = j // 8
            base[r, p["perm"][j]] = stat["scales"][r, g] * (f32(q[r, j]) - stat["zeros"][r, g])
    ptr, col, val = p["outliers.row_ptr"], p["outliers.col_idx"], p["outliers.values"]
    for r in range(19):
        for t in range(int(ptr[r]), int(ptr[r + 1])):
            base[r, col[t]] = base[r, col[t]] + f32(val[t])
    assert np.array_equal(qt.dequantize().view(np.uint32), base.view(np.uint32))


@pytest.mark.parametrize("batch", [1, 3, 8])
def test_linear_matches_the_reference(case: tuple[np.ndarray, QTensor], batch: int) -> None:
    """QF-SPARSE-024 at batch 1 (GEMV) and small batches."""
    _, qt = case
    k = qt.shape[-1]
    rows = int(np.prod(qt.shape[:-1]))
    x = np.random.default_rng(batch).standard_normal((batch, k)).astype(np.float32)
    a = arrays_of(qt)
    want = ref.linear(x, a)
    if len(qt.shape) == 2:
        got = qt.linear(x)
    else:
        got = kernels.linear(x, a)
    assert got.shape == (batch, rows)
    assert got.dtype == np.float32
    wd = ref.dequantize(a)
    assert np.all(np.abs(got - want) <= linear_tolerance(x, wd))


def test_linear_accepts_leading_batch_axes_and_1d_input(rng: np.random.Generator) -> None:
    w, _ = planted(24, 64, seed=2)
    qt = qformat.quantize(w, "sparse", bits=4, group_size=16)
    wd = qt.dequantize()
    x = rng.standard_normal((2, 3, 64)).astype(np.float32)
    y = qt.linear(x)
    assert y.shape == (2, 3, 24)
    assert np.all(np.abs(y - x @ wd.T) <= linear_tolerance(x.reshape(-1, 64), wd).reshape(y.shape))
    y1 = qt.linear(x[0, 0].astype(np.float64))
    assert y1.shape == (24,)
    assert np.allclose(y1, y[0, 0], rtol=1e-6, atol=1e-6)


def test_csr_passes_match_their_references(rng: np.random.Generator) -> None:
    w, _ = planted(30, 500, fraction=0.02, seed=9)  # 500 columns: U16 column indices
    qt = qformat.quantize(w, "sparse", bits=3, group_size=16, outlier_fraction=0.02)
    a = arrays_of(qt)
    assert a.col_idx.dtype == np.uint16
    base = rng.standard_normal((30, 500)).astype(np.float32)
    got = kernels.add_outliers(base.copy(), a.row_ptr, a.col_idx, a.values, value_dtype="F16")
    want = ref.add_outliers(base.copy(), a.row_ptr, a.col_idx, a.values, value_dtype="F16")
    assert np.array_equal(got, want)
    x = rng.standard_normal((4, 500)).astype(np.float32)
    got = kernels.linear_outliers(x, a.row_ptr, a.col_idx, a.values, value_dtype="F16")
    want = ref.linear_outliers(x, a.row_ptr, a.col_idx, a.values, value_dtype="F16")
    assert np.allclose(got, want, rtol=1e-5, atol=1e-6)
    for dtype in ("F32", "BF16"):  # the other value storage types decode in the kernel too
        from qformat.dtypes import f32_to_bf16

        vals = half_to_float(a.values, "F16")
        stored = vals if dtype == "F32" else f32_to_bf16(vals)
        got = kernels.linear_outliers(x, a.row_ptr, a.col_idx, stored, value_dtype=dtype)
        want = ref.linear_outliers(x, a.row_ptr, a.col_idx, stored, value_dtype=dtype)
        assert np.allclose(got, want, rtol=1e-5, atol=1e-6), dtype


def test_kernel_wrappers_reject_bad_arguments(case: tuple[np.ndarray, QTensor]) -> None:
    _, qt = case
    a = arrays_of(qt)
    rows = a.codes.shape[0]
    with pytest.raises(qformat.ArgumentError, match="x"):
        kernels.linear(np.zeros((1, a.k + 1), np.float32), a)
    with pytest.raises(qformat.ArgumentError, match="x"):
        kernels.linear(np.zeros((1, a.k), np.float64), a)
    with pytest.raises(qformat.ArgumentError, match="w"):
        kernels.add_outliers(np.zeros((rows, a.k), np.float64), a.row_ptr, a.col_idx,
                             a.values, value_dtype=a.value_dtype)
    with pytest.raises(qformat.ArgumentError, match="row_ptr"):
        kernels.add_outliers(np.zeros((rows + 1, a.k), np.float32), a.row_ptr, a.col_idx,
                             a.values, value_dtype=a.value_dtype)
    with pytest.raises(qformat.ArgumentError, match="which"):
        kernels.dequantize_statistics(a, "biases")
    from dataclasses import replace

    with pytest.raises(qformat.ArgumentError, match="col_idx"):
        kernels.dequantize(replace(a, col_idx=a.col_idx.astype(np.int64)))
    with pytest.raises(qformat.ArgumentError, match="scale_scales"):
        kernels.dequantize(replace(a, scale_scales=a.scale_scales[:, :0]))
    with pytest.raises(qformat.ArgumentError, match="bits"):
        kernels.dequantize(replace(a, bits=5))


def test_read_only_memory_mapped_parts(tmp_path: Path, case: tuple[np.ndarray, QTensor]) -> None:
    _, qt = case
    qformat.save(tmp_path / "m.qf", {"w": qt})
    with qformat.open(tmp_path / "m.qf") as m:
        mapped = m.raw("w")
        assert not mapped.parts["codes"].flags.writeable
        assert np.array_equal(mapped.dequantize(), qt.dequantize())
        if len(qt.shape) == 2:
            x = np.linspace(-1, 1, qt.shape[1], dtype=np.float32)[None]
            assert np.array_equal(mapped.linear(x), qt.linear(x))


def test_extreme_statistics_stay_exact(rng: np.random.Generator) -> None:
    """Huge and tiny magnitudes with F32 statistics: decode stays bit-identical."""
    for scale in (1e30, 1e-30):
        w = rng.standard_normal((24, 48)).astype(np.float32) * np.float32(scale)
        qt = qformat.quantize(w, "sparse", bits=3, group_size=16, stat_dtype="F32",
                              value_dtype="F32")
        got = qt.dequantize()
        assert np.all(np.isfinite(got))
        want = ref.dequantize(arrays_of(qt))
        assert np.array_equal(got.view(np.uint32), want.view(np.uint32))
        assert np.abs(got - w).max() <= 0.5 * np.abs(w).max()


def _run(code: str, env: dict[str, str]) -> str:
    full = {**os.environ, **env}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=600, env=full, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


_COMPARE = """
    import sys
    sys.path.insert(0, {root!r})
    import numba, numpy as np, qformat
    from qformat.kernels._ref import sparse as ref
    rng = np.random.default_rng(0)
    w = rng.standard_normal(({rows}, {k})).astype(np.float32) * 0.02
    w.reshape(-1)[rng.choice(w.size, w.size // 100, replace=False)] = 0.5
    qt = qformat.quantize(w, "sparse", bits=3, group_size=16, outlier_fraction=0.01,
                          perm=rng.permutation({k}))
    a = qt.layout.arrays(qt)
    same = bool(np.array_equal(qt.dequantize(), ref.dequantize(a)))
    worst = 0.0
    for batch in (1, 2, 5):
        x = rng.standard_normal((batch, {k})).astype(np.float32)
        for _ in range({repeats}):  # repeated: a race would show up as varying results
            worst = max(worst, float(np.abs(qt.linear(x) - ref.linear(x, a)).max()))
    print(numba.get_num_threads(), same, worst)
"""


def test_two_threads_give_the_reference_results() -> None:
    """Parallel over output rows: with NUMBA_NUM_THREADS=2 results equal the reference."""
    code = _COMPARE.format(root=str(ROOT), rows=203, k=160, repeats=20)
    out = _run(code, {"NUMBA_NUM_THREADS": "2"})
    threads, same, worst = out.split()
    assert threads == "2"
    assert same == "True"
    assert float(worst) < 1e-4


def test_python_bodies_match_without_jit() -> None:
    """NUMBA_DISABLE_JIT=1 runs the kernel bodies as Python: they must agree too."""
    code = _COMPARE.format(root=str(ROOT), rows=21, k=48, repeats=1)
    out = _run(code, {"NUMBA_DISABLE_JIT": "1"})
    _, same, worst = out.split()
    assert same == "True"
    assert float(worst) < 1e-4
