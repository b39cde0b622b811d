"""The sparse layout's configuration, parts and description (no kernels run here)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import qformat
from qformat.kernels._sparse_common import PART_FIELDS, SparseArrays, col_index_dtype, row_ptr_dtype
from qformat.layouts.registry import layout_from_dict, layout_names
from qformat.layouts.sparse import SparseLayout

from .conftest import ROOT, planted

GOOD = {"bits": 3, "group_size": 16, "stat_bits": 3, "stat_group": 16, "stat_dtype": "F16",
        "value_dtype": "F16", "nnz": 7, "perm": True}


def test_registered_and_round_trips_through_its_configuration() -> None:
    assert "sparse" in layout_names()
    layout = layout_from_dict({"name": "sparse", "config": GOOD})
    assert isinstance(layout, SparseLayout)
    assert layout.to_config() == GOOD
    assert layout.to_dict() == {"name": "sparse", "config": GOOD}
    assert json.loads(json.dumps(layout.to_config())) == GOOD


@pytest.mark.parametrize(("key", "value", "clause"), [
    ("bits", 5, "QF-SPARSE-001"), ("bits", 1, "QF-SPARSE-001"), ("bits", 3.0, "QF-SPARSE-001"),
    ("bits", True, "QF-SPARSE-001"),
    ("group_size", 0, "QF-SPARSE-002"), ("group_size", -1, "QF-SPARSE-002"),
    ("group_size", "16", "QF-SPARSE-002"),
    ("stat_bits", 0, "QF-SPARSE-003"), ("stat_bits", 9, "QF-SPARSE-003"),
    ("stat_group", 0, "QF-SPARSE-003"), ("stat_group", None, "QF-SPARSE-003"),
    ("stat_dtype", "F64", "QF-SPARSE-004"), ("stat_dtype", "U8", "QF-SPARSE-004"),
    ("value_dtype", "I8", "QF-SPARSE-005"), ("value_dtype", None, "QF-SPARSE-005"),
    ("nnz", -1, "QF-SPARSE-006"), ("nnz", 1.5, "QF-SPARSE-006"), ("nnz", 1 << 63,
                                                                  "QF-SPARSE-006"),
    ("perm", 1, "QF-SPARSE-008"), ("perm", "yes", "QF-SPARSE-008"),
])
def test_bad_configuration_values_name_the_field(key: str, value: object, clause: str) -> None:
    with pytest.raises(qformat.LayoutError, match=clause) as info:
        SparseLayout.from_config({**GOOD, key: value})
    assert info.value.field == f"config.{key}"


def test_configuration_key_sets_are_exact() -> None:
    missing = {k: v for k, v in GOOD.items() if k != "nnz"}
    with pytest.raises(qformat.LayoutError, match="lacks keys"):
        SparseLayout.from_config(missing)
    with pytest.raises(qformat.LayoutError, match="unknown keys"):
        SparseLayout.from_config({**GOOD, "levels": None})
    with pytest.raises(qformat.LayoutError, match="must be an object"):
        SparseLayout.from_config([1, 2])  # type: ignore[arg-type]


def test_part_table() -> None:
    """QF-SPARSE-010: names, order, dtypes and shapes, worked out by hand for one case.

    rows 40, K 300: G = ceil(300/16) = 19, R2 = ceil(40/16) = 3, a base row is
    ceil(300*3/8) = 113 bytes, a statistics row ceil(40*3/8) = 15 bytes; K > 256 gives U16
    column indices (QF-SPARSE-012), nnz 7 gives U16 row pointers (QF-SPARSE-013).
    """
    specs = SparseLayout.from_config(GOOD).part_specs((40, 300), "F32")
    assert [(s.name, s.dtype, s.shape) for s in specs] == [
        ("codes", "U8", (40, 113)),
        ("scales.codes", "U8", (19, 15)),
        ("scales.scales", "F16", (19, 3)),
        ("scales.zeros", "F16", (19, 3)),
        ("zeros.codes", "U8", (19, 15)),
        ("zeros.scales", "F16", (19, 3)),
        ("zeros.zeros", "F16", (19, 3)),
        ("outliers.row_ptr", "U16", (41,)),
        ("outliers.col_idx", "U16", (7,)),
        ("outliers.values", "F16", (7,)),
        ("perm", "I32", (300,)),
    ]
    no_perm = SparseLayout.from_config({**GOOD, "perm": False, "stat_dtype": "BF16",
                                        "value_dtype": "F32"})
    specs = {s.name: s for s in no_perm.part_specs((2, 20, 300), "BF16")}
    assert "perm" not in specs
    assert specs["scales.zeros"].dtype == "BF16"
    assert specs["outliers.values"].dtype == "F32"
    assert specs["codes"].shape == (40, 113)
    assert set(PART_FIELDS.values()) == {s.name for s in specs.values()} | {"perm"}
    assert set(PART_FIELDS) <= set(SparseArrays.__dataclass_fields__)


def test_index_widths_are_the_narrowest_sufficient() -> None:
    """QF-SPARSE-012 (columns 0..K-1) and QF-SPARSE-013 (row pointers 0..nnz)."""
    assert [col_index_dtype(k) for k in (0, 1, 256, 257, 65536, 65537, 1 << 32)] == [
        "U8", "U8", "U8", "U16", "U16", "U32", "U32"]
    with pytest.raises(qformat.ArgumentError):
        col_index_dtype((1 << 32) + 1)
    assert [row_ptr_dtype(n) for n in (0, 65535, 65536, (1 << 32) - 1, 1 << 32)] == [
        "U16", "U16", "U32", "U32", "U64"]
    layout = SparseLayout(3, 16, nnz=70000)
    specs = {s.name: s for s in layout.part_specs((1000, 70000), "F32")}
    assert specs["outliers.row_ptr"].dtype == "U32"
    assert specs["outliers.col_idx"].dtype == "U32"


def test_shape_and_logical_dtype_rules() -> None:
    """QF-SPARSE-009 and QF-SPARSE-007."""
    layout = SparseLayout(3, 16)
    with pytest.raises(qformat.LayoutError, match="QF-SPARSE-009"):
        layout.part_specs((), "F32")
    with pytest.raises(qformat.LayoutError, match="QF-SPARSE-009"):
        layout.part_specs((4, 4), "I8")
    with pytest.raises(qformat.LayoutError, match="QF-SPARSE-007"):
        SparseLayout(3, 16, nnz=1).part_specs((0, 4), "F32")
    empty = {s.name: s.shape for s in layout.part_specs((0, 4), "F32")}
    assert empty["codes"] == (0, 2)
    assert empty["scales.codes"] == (1, 0)
    assert empty["outliers.row_ptr"] == (1,)


def test_describe_and_bits_per_weight_count_every_stored_byte() -> None:
    w, _ = planted(64, 256, fraction=0.01, seed=1)
    qt = qformat.quantize(w, "sparse", bits=3, group_size=16, outlier_fraction=0.01)
    info = qt.info("layer.weight")
    assert (info.method, info.bits, info.group_size, info.symmetric) == ("sparse", 3, 16, False)
    nnz = round(0.01 * w.size)
    assert info.extra["outliers"] == nnz
    assert info.extra["outlier_fraction"] == pytest.approx(nnz / w.size, abs=1e-6)
    assert info.extra["index_dtype"] == "U8"
    assert info.extra["row_ptr_dtype"] == "U16"
    assert info.extra["stat_bits"] == 3
    assert info.extra["permuted"] is False
    # every byte: 3-bit codes, 2 x (3-bit codes + 2 F16 per 16x16 tile), 3 bytes per outlier
    # (F16 value + U8 column), 65 U16 row pointers
    expected_bytes = (64 * 96) + 2 * (16 * 24 + 2 * 16 * 4 * 2) + nnz * 3 + 65 * 2
    assert qt.nbytes == info.nbytes == expected_bytes
    assert info.bits_per_weight == pytest.approx(expected_bytes * 8 / w.size, abs=1e-4)
    parts = info.extra["bits_per_weight_parts"]
    assert parts["base"] == 3.0
    assert parts["outliers"] == pytest.approx((nnz * 3 + 130) * 8 / w.size, abs=1e-4)
    assert sum(parts.values()) == pytest.approx(info.bits_per_weight, abs=1e-3)
    row = info.to_dict()
    assert row["method"] == "sparse"
    assert row["outliers"] == nnz


def test_inspect_reads_no_part_and_never_imports_numba(tmp_path: Path) -> None:
    w, _ = planted(32, 64, fraction=0.02, seed=4)
    qformat.save(tmp_path / "s.qf", {"w": qformat.quantize(w, "sparse", bits=2,
                                                           group_size=16)})
    code = textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {str(ROOT)!r})
        import qformat
        d = qformat.inspect({str(tmp_path / "s.qf")!r}).to_dict()
        print(json.dumps([d["quantization"]["methods"], d["tensors"][0],
                          "numba" in sys.modules]))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    methods, tensor, numba_loaded = json.loads(out.stdout)
    assert methods == ["sparse"]
    assert tensor["method"] == "sparse"
    assert tensor["bits"] == 2
    assert tensor["outliers"] == round(0.01 * 32 * 64)
    assert [p["name"] for p in tensor["parts"]][-1] == "outliers.values"
    assert numba_loaded is False


def test_arrays_view_the_parts_without_copying() -> None:
    w, _ = planted(8, 32, seed=2)
    qt = qformat.quantize(w, "sparse", bits=4, group_size=8)
    a = qt.layout.arrays(qt)
    assert a.codes is qt.parts["codes"]
    assert a.zero_zeros is qt.parts["zeros.zeros"]
    assert a.perm is None
    assert a.geometry.rows == 8
    assert np.shares_memory(a.values, qt.parts["outliers.values"])
