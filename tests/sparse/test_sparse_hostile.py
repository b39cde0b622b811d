"""Bad sparse tensors: a clear QFormatError before any kernel runs, never a crash or a hang.

Each hostile file in ``fixtures/hostile/sparse/`` breaks one clause of
``specs/layouts/sparse.md``; the same attacks are also made in memory on a QTensor, since
``qformat.quantize`` results and importers' tensors reach the kernels without a file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import qformat
from qformat.container.reader import QfModel
from qformat.layouts.qtensor import QTensor

from .conftest import FIXTURES, ROOT, planted

HOSTILE = FIXTURES / "hostile" / "sparse"
EXPECTED = json.loads((HOSTILE / "expected.json").read_text())


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_hostile_file_raises_its_documented_error(stem: str) -> None:
    spec = EXPECTED[stem]
    path = HOSTILE / f"{stem}.qf"
    error = getattr(qformat, spec["error"])
    if spec["step"] == "open":
        with pytest.raises(error) as info:
            QfModel(path)
    else:  # the header is valid: it opens, lists and describes, and fails on the data
        with QfModel(path) as m:
            assert m.keys() == ["w"]
            assert m.info("w").method == "sparse"
            with pytest.raises(error) as info:
                m.get("w")
            with pytest.raises(error):
                m.raw("w")  # raw() runs the same checks: no unchecked tensor escapes
    err = info.value
    message = str(err)
    assert str(path) in message, "the message names the file"
    assert spec["clause"] in message, "the message cites the clause"
    assert spec["field"] == err.field or f"field {spec['field']}" in message
    if spec["step"] == "get":
        assert err.tensor == "w"
        assert "at index [" in message, "content errors name the first bad index"


def test_hostile_fixtures_are_current() -> None:
    from tools.make_sparse_fixtures import write_hostile

    assert write_hostile(check=True) == 0, "run python tools/make_sparse_fixtures.py"


def test_every_hostile_file_fails_cleanly_under_a_memory_cap() -> None:
    """Open, describe, decode and verify each file in a child limited to 1 GiB of address space
    (a declared nnz of 2**40 must not allocate anything)."""
    code = textwrap.dedent(f"""
        import glob, resource, sys
        sys.path.insert(0, {str(ROOT)!r})
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        import qformat
        from qformat.container.reader import QfModel
        failed = 0
        for p in sorted(glob.glob({str(HOSTILE / '*.qf')!r})):
            try:
                with QfModel(p) as m:
                    for k in m.keys():
                        m.info(k)
                        m.get(k)
                    m.verify()
            except qformat.QFormatError:
                failed += 1
        print(failed)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, env={"NUMBA_DISABLE_JIT": "1", "PATH": ""})
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == len(EXPECTED)


# -- the same attacks in memory ------------------------------------------------------------------
@pytest.fixture(scope="module")
def valid() -> QTensor:
    w, _ = planted(21, 100, fraction=0.03, seed=8)
    return qformat.quantize(w, "sparse", bits=3, group_size=16, outlier_fraction=0.03,
                            perm=np.random.default_rng(2).permutation(100))


def _edited(qt: QTensor, part: str, index: tuple[int, ...] | int, value: int | float,
            as_bits: bool = False) -> QTensor:
    parts = {k: v.copy() for k, v in qt.parts.items()}
    target = parts[part].view(np.uint16) if as_bits else parts[part]
    target[index] = value
    return QTensor(qt.layout, qt.shape, parts, dtype=qt.dtype)


def _row_with_two(qt: QTensor) -> int:
    counts = np.diff(qt.parts["outliers.row_ptr"].astype(np.int64))
    return int(np.flatnonzero(counts >= 2)[0])


def test_in_memory_attacks_are_caught_before_decode_and_linear(valid: QTensor) -> None:
    ptr = valid.parts["outliers.row_ptr"]
    col = valid.parts["outliers.col_idx"]
    r = _row_with_two(valid)
    j = int(ptr[r]) + 1
    cases = [
        ("outliers.row_ptr", 0, 2, "QF-SPARSE-040", [0]),
        ("outliers.row_ptr", len(ptr) - 1, int(ptr[-1]) - 1, "QF-SPARSE-040", None),
        ("outliers.col_idx", 2, 100, "QF-SPARSE-041", [2]),
        ("outliers.col_idx", j, int(col[j - 1]), "QF-SPARSE-042", [j]),
        ("outliers.col_idx", j, int(col[j - 1]) - 1 if col[j - 1] else 0, "QF-SPARSE-042",
         [j]),
        ("outliers.values", 1, 0x7C00, "QF-SPARSE-043", [1]),
        ("perm", 5, -1, "QF-SPARSE-044", [5]),
        ("scales.scales", (0, 1), 0x7E00, "QF-SPARSE-030", [0, 1]),
    ]
    for part, index, value, clause, where in cases:
        bits = part in ("outliers.values", "scales.scales")
        bad = _edited(valid, part, index, value, as_bits=bits)
        for action in (bad.dequantize, lambda b=bad: b.linear(np.ones(100, np.float32))):
            with pytest.raises(qformat.IntegrityError) as info:
                action()
            assert info.value.field == f"parts.{part}", (part, clause)
            assert clause in str(info.value), (part, clause, str(info.value))
            if where is not None:
                assert f"at index {where}" in str(info.value), str(info.value)


def test_row_pointer_that_decreases_names_the_first_drop(valid: QTensor) -> None:
    ptr = valid.parts["outliers.row_ptr"].astype(np.int64)
    r = int(np.flatnonzero(ptr[:-1] >= 1)[0]) + 1  # row_ptr[r - 1] >= 1
    bad = _edited(valid, "outliers.row_ptr", r, int(ptr[r - 1]) - 1)
    with pytest.raises(qformat.IntegrityError, match=r"decrease.*QF-SPARSE-040.*"
                       rf"at index \[{r}\]"):
        bad.dequantize()


def test_statistics_that_overflow_float32_are_refused(rng: np.random.Generator) -> None:
    """QF-SPARSE-031: finite F32 second-order values whose decoded statistic is infinite."""
    w = rng.standard_normal((20, 32)).astype(np.float32)
    qt = qformat.quantize(w, "sparse", bits=3, group_size=16, stat_dtype="F32")
    parts = {k: v.copy() for k, v in qt.parts.items()}
    parts["zeros.scales"][1, 0] = np.float32(1e38)
    parts["zeros.zeros"][1, 0] = np.float32(-1e38)
    bad = QTensor(qt.layout, qt.shape, parts)
    with pytest.raises(qformat.IntegrityError, match="QF-SPARSE-031") as info:
        bad.dequantize()
    assert info.value.field == "parts.zeros.scales"
    assert "at index [1, 0]" in str(info.value)


def test_padding_bits_of_codes_are_refused(valid: QTensor) -> None:
    """QF-SPARSE-032: 100 columns x 3 bits leave 4 padding bits per base row."""
    last = int(valid.parts["codes"][3, -1])
    bad = _edited(valid, "codes", (3, -1), last | 0x80)
    with pytest.raises(qformat.IntegrityError, match="QF-SPARSE-032") as info:
        bad.dequantize()
    assert info.value.field == "parts.codes"


def test_writer_refuses_a_bad_tensor(valid: QTensor, tmp_path: Path) -> None:
    """The writer runs the same checks, so it never produces a file the reader refuses."""
    bad = _edited(valid, "outliers.col_idx", 0, 200)
    with pytest.raises(qformat.IntegrityError, match="QF-SPARSE-041"):
        qformat.save(tmp_path / "x.qf", {"w": bad})
    assert not (tmp_path / "x.qf").exists()


def test_too_many_outliers_for_the_tensor_is_a_layout_error() -> None:
    """QF-SPARSE-007: checked from the configuration alone, before any array exists."""
    from qformat.layouts.sparse import SparseLayout

    layout = SparseLayout(3, 16, nnz=401)
    with pytest.raises(qformat.LayoutError, match="QF-SPARSE-007") as info:
        layout.part_specs((20, 20), "F32")
    assert info.value.field == "config.nnz"
    assert len(SparseLayout(3, 16, nnz=400).part_specs((20, 20), "F32")) == 10
