"""Malformed .qf files: each gives its documented QFormatError, never a crash or a hang."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qformat
from qformat.container.reader import QfModel

from .conftest import FIXTURES, ROOT

HOSTILE = FIXTURES / "hostile" / "qf"
EXPECTED = json.loads((HOSTILE / "expected.json").read_text())
GOLDEN = FIXTURES / "golden" / "v1.0"


def exercise(path: Path) -> None:
    """Everything a user can do with a file: open, list, describe, decode, verify."""
    with QfModel(path) as m:
        for name in m:
            m.info(name)
        for name in m:
            m.get(name)
        m.verify()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_fixture_raises_its_documented_error(name: str) -> None:
    spec = EXPECTED[name]
    path = HOSTILE / f"{name}.qf"
    error = getattr(qformat, spec["error"])
    with pytest.raises(error) as info:
        exercise(path)
    assert str(path) in str(info.value), "the message names the file"
    clause = "-".join(name.split("-")[:3])
    assert clause in str(info.value), "the message cites the spec clause"
    if spec["step"] == "open":
        with pytest.raises(error):
            QfModel(path)
    else:  # structurally valid: opens and lists, fails only when the data is checked
        with QfModel(path) as m:
            m.keys()
    # through the public entry point it is a QFormatError too (bad magic is "not a .qf file")
    with pytest.raises(qformat.QFormatError):
        with qformat.open(path) as m:
            for n in m:
                m.get(n)
            if spec["step"] == "verify":
                m.verify()


def test_hostile_fixtures_are_current() -> None:
    from tools.make_qf_fixtures import write_hostile

    assert write_hostile(check=True) == 0, "run python tools/make_qf_fixtures.py"


def test_flipped_bit_is_named_by_checked_read_and_by_verify(tmp_path: Path) -> None:
    """QF-DAT-004: a flipped bit in any part is caught and names the tensor and part."""
    src = (GOLDEN / "raw-dtypes.qf").read_bytes()
    with QfModel(GOLDEN / "raw-dtypes.qf") as m:
        entries = [(t.name, m.data_start + t.parts[0].offset, t.parts[0].nbytes)
                   for t in m.header.tensors if t.parts[0].nbytes]
    for name, start, nbytes in entries:
        bad = bytearray(src)
        bad[start + nbytes // 2] ^= 0x01
        path = tmp_path / f"{name}.qf"
        path.write_bytes(bytes(bad))
        with QfModel(path) as m:
            with pytest.raises(qformat.IntegrityError, match=f"tensor {name}.*part 'data'"):
                m.get(name)
            with pytest.raises(qformat.IntegrityError) as info:
                m.verify()
            assert info.value.tensor == name
            others = [k for k in m if k != name]
            for other in others:  # the rest of the file stays readable
                m.get(other)


def test_truncation_at_every_region_is_a_header_error(tmp_path: Path) -> None:
    """Cut the file inside the preamble, the header, the padding and each part."""
    src = (GOLDEN / "raw-dtypes.qf").read_bytes()
    with QfModel(GOLDEN / "raw-dtypes.qf") as m:
        cuts = {0, 1, 16, 31, 32, 33, m.data_start - 1, m.data_start}
        for t in m.header.tensors:
            for p in t.parts:
                cuts |= {m.data_start + p.offset + p.nbytes // 2,
                         m.data_start + p.offset + p.nbytes - 1}
    cuts = sorted(c for c in cuts if 0 <= c < len(src))
    assert len(cuts) > 15
    for cut in cuts:
        path = tmp_path / "cut.qf"
        path.write_bytes(src[:cut])
        with pytest.raises(qformat.HeaderError, match=r"truncated|shorter|past the end"):
            QfModel(path)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    source=st.sampled_from(["raw-dtypes", "scalar-pair", "empty"]),
    edits=st.lists(st.tuples(st.sampled_from(["flip", "set", "cut", "insert", "delete"]),
                             st.integers(0, 10_000), st.integers(0, 255)),
                   min_size=1, max_size=4),
)
def test_mutated_files_give_clean_results_or_qformat_errors(tmp_path_factory, source, edits):
    """Random damage to valid files: the reader returns data or a QFormatError, nothing else."""
    data = bytearray((GOLDEN / f"{source}.qf").read_bytes())
    for op, pos, val in edits:
        pos %= max(len(data), 1)
        if op == "flip" and data:
            data[pos] ^= 1 << (val % 8)
        elif op == "set" and data:
            data[pos] = val
        elif op == "cut":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = bytes([val]) * (val % 70 + 1)
        elif op == "delete":
            del data[pos:pos + val % 70 + 1]
    path = tmp_path_factory.mktemp("mut") / "m.qf"
    path.write_bytes(bytes(data))
    try:
        exercise(path)
    except qformat.QFormatError:
        pass


def test_huge_declared_sizes_do_not_allocate() -> None:
    """Open every hostile file under a 1 GiB address-space cap in a child process."""
    code = textwrap.dedent(f"""
        import resource, sys, glob
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
                    m.verify()
            except qformat.QFormatError:
                n += 1
        print(n)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == len(EXPECTED)

