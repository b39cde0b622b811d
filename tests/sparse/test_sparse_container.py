"""Sparse tensors in .qf files: save/open/verify round trip, golden file, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import qformat
from qformat.container.reader import QfModel

from .conftest import FIXTURES, ROOT, planted

pytestmark = pytest.mark.jit

GOLDEN = FIXTURES / "golden" / "v1.0"


def test_save_open_verify_round_trip(tmp_path: Path) -> None:
    w, _ = planted(48, 160, fraction=0.01, seed=12)
    qt = qformat.quantize(w, "sparse", bits=3, group_size=16, outlier_fraction=0.01,
                          perm=np.random.default_rng(0).permutation(160))
    path = tmp_path / "model.qf"
    qformat.save(path, {"layer.weight": qt, "layer.bias": np.zeros(48, np.float32)},
                 {"note": "sparse round trip"})
    with qformat.open(path) as m:
        assert m.format == "qformat"
        assert m.keys() == ["layer.weight", "layer.bias"]
        info = m.info("layer.weight")
        assert info == qt.info("layer.weight")
        assert m.quantization()["methods"] == ["sparse"]
        raw = m.raw("layer.weight")
        assert raw.layout == qt.layout
        for name, arr in qt.parts.items():
            assert np.array_equal(raw.parts[name], arr), name
            assert raw.parts[name].dtype == arr.dtype
        assert np.array_equal(m.get("layer.weight"), qt.dequantize())
        m.verify()
    cli = subprocess.run([sys.executable, "-m", "qformat.cli", "verify", str(path), "--json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["ok"] is True


def test_a_flipped_bit_in_an_outlier_part_is_named(tmp_path: Path) -> None:
    w, _ = planted(16, 64, fraction=0.05, seed=1)
    path = tmp_path / "m.qf"
    qformat.save(path, {"w": qformat.quantize(w, "sparse", outlier_fraction=0.05)})
    with QfModel(path) as m:
        part = next(p for p in m.entry("w").parts if p.name == "outliers.col_idx")
        start = m.data_start + part.offset
    data = bytearray(path.read_bytes())
    data[start] ^= 0x01
    path.write_bytes(bytes(data))
    with QfModel(path) as m, pytest.raises(qformat.IntegrityError,
                                           match=r"part 'outliers\.col_idx'"):
        m.get("w")


def test_golden_file_decodes_to_the_stored_arrays() -> None:
    expected = np.load(GOLDEN / "sparse-small.npz")
    with qformat.open(GOLDEN / "sparse-small.qf") as m:
        assert sorted(m.keys()) == ["down.weight", "proj.weight", "up.weight"]
        for name in m:
            got = m.get(name)
            want = expected[f"{name}.decoded"]
            assert got.shape == want.shape
            assert np.array_equal(got.view(np.uint32), want.view(np.uint32)), name
        m.verify()


def test_golden_file_is_reproduced_byte_for_byte(tmp_path: Path) -> None:
    """Today's quantizer and writer make exactly the committed file from the stored inputs."""
    from tools.make_sparse_fixtures import golden_cases

    tensors = golden_cases()["sparse-small"]
    expected = np.load(GOLDEN / "sparse-small.npz")
    qts = {}
    for name, (arr, cfg) in tensors.items():
        assert np.array_equal(arr, expected[f"{name}.input"]), name
        qts[name] = qformat.quantize(expected[f"{name}.input"], "sparse", **cfg)
    out = tmp_path / "again.qf"
    qformat.save(out, qts, {"fixture": "sparse-small", "source": "tools/make_sparse_fixtures.py"})
    assert out.read_bytes() == (GOLDEN / "sparse-small.qf").read_bytes()


def test_inspect_cli_lists_sparse_tensors() -> None:
    cli = subprocess.run([sys.executable, "-m", "qformat.cli", "inspect",
                          str(GOLDEN / "sparse-small.qf"), "--json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert cli.returncode == 0, cli.stderr
    report = json.loads(cli.stdout)
    tensors = {t["name"]: t for t in report["tensors"]}
    assert tensors["proj.weight"]["method"] == "sparse"
    assert tensors["proj.weight"]["permuted"] is True
    assert tensors["proj.weight"]["index_dtype"] == "U16"
    assert tensors["up.weight"]["bits"] == 2
    assert tensors["up.weight"]["stat_dtype"] == "BF16"
    assert tensors["down.weight"]["outliers"] == 0
    assert report["quantization"]["methods"] == ["sparse"]
