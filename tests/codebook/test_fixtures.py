"""Hostile .qf files with codebook tensors, and the write-once golden codebook file."""

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

from ..conftest import FIXTURES, ROOT

HOSTILE = FIXTURES / "hostile" / "qf-codebook"
EXPECTED = json.loads((HOSTILE / "expected.json").read_text())
GOLDEN = FIXTURES / "golden" / "v1.0"


def test_hostile_fixtures_are_current():
    from tools.make_codebook_fixtures import write_hostile

    assert write_hostile(check=True) == 0, "run python tools/make_codebook_fixtures.py"
    assert sorted(p.stem for p in HOSTILE.glob("*.qf")) == sorted(EXPECTED)


@pytest.mark.jit
def test_the_unbroken_base_file_reads(tmp_path):
    from tools.make_codebook_fixtures import valid_file

    path = tmp_path / "valid.qf"
    path.write_bytes(valid_file())
    with QfModel(path) as model:
        assert model.info("w").method == "codebook"
        assert model.get("w").shape == (4, 24)
        model.verify()


@pytest.mark.jit
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_fixture_raises_its_documented_error(name: str) -> None:
    """Each file breaks one clause (QF-CODEBOOK-001 ... 004, or a container clause through a
    codebook tensor) and gives its QFormatError naming the file and the clause."""
    case = EXPECTED[name]
    path = HOSTILE / f"{name}.qf"
    error = getattr(qformat, case["error"])
    if case["step"] == "open":
        with pytest.raises(error) as info:
            QfModel(path)
    else:  # structurally valid: opens, lists and describes; refused before decoding
        with QfModel(path) as model:
            assert model.info("w").method == "codebook"
            with pytest.raises(error) as info:
                model.get("w")
            with pytest.raises(error):
                model.raw("w")
    message = str(info.value)
    assert str(path) in message, "the message names the file"
    assert case["clause"] in message, "the message cites the clause"
    if case["step"] == "get" or case["clause"].startswith("QF-CODEBOOK"):
        assert info.value.tensor == "w" or "tensor w" in message


def test_hostile_files_do_not_allocate_what_they_declare():
    """Open and decode every hostile file under a 1 GiB address-space cap."""
    code = textwrap.dedent(f"""
        import glob, resource, sys
        sys.path.insert(0, {str(ROOT)!r})
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        import qformat
        from qformat.container.reader import QfModel
        n = 0
        for p in sorted(glob.glob({str(HOSTILE / '*.qf')!r})):
            try:
                with QfModel(p) as m:
                    for k in m.keys():
                        m.get(k)
            except qformat.QFormatError:
                n += 1
        print(n)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == len(EXPECTED)


@pytest.mark.jit
def test_golden_file_decodes_and_writer_reproduces_bytes(tmp_path: Path) -> None:
    """QF-CODEBOOK-005 across versions: today's reader decodes the v1.0 golden file to the
    stored weights bit for bit; today's writer re-creates it from the stored parts."""
    path = GOLDEN / "codebook.qf"
    stored = dict(np.load(GOLDEN / "codebook.npz"))
    rebuilt = {}
    with qformat.open(path) as model:
        metadata = model.metadata
        assert model.keys() == ["additive-2x8", "product-4x3-bf16", "odd-3x5-og2", "aqlm-1x12"]
        for name in model.keys():
            qt = model.raw(name)
            assert qt.layout.name == "codebook"
            for part, arr in qt.parts.items():
                assert arr.tobytes() == stored[f"{name}/{part}"].tobytes()
            want = stored[f"{name}/dequantized"]
            assert np.array_equal(model.get(name).view(np.uint32), want.view(np.uint32))
            rebuilt[name] = qformat.QTensor(qt.layout, qt.shape,
                                            {p: stored[f"{name}/{p}"] for p in qt.parts},
                                            dtype=qt.dtype)
        model.verify()
    out = tmp_path / "again.qf"
    qformat.save(out, rebuilt, metadata)
    assert out.read_bytes() == path.read_bytes()
