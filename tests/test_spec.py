"""specs/ and the code agree: generated tables are current, every clause is exercised."""

from __future__ import annotations

import re
import struct

import qformat
from qformat import spec

from .conftest import FIXTURES, ROOT

CLAUSE = re.compile(r"\*\*(QF-[A-Z0-9]+-\d{3})\*\*")


def _spec_clauses() -> dict[str, str]:
    out = {}
    for page in sorted((ROOT / "specs").rglob("*.md")):
        for cid in CLAUSE.findall(page.read_text()):
            assert cid not in out, f"clause {cid} defined twice ({out.get(cid)} and {page})"
            out[cid] = str(page.relative_to(ROOT))
    return out


def test_generated_tables_are_current() -> None:
    from tools.gen_spec_tables import SPEC, render

    text = SPEC.read_text()
    assert render(text) == text, "run python tools/gen_spec_tables.py"


def test_every_clause_is_exercised_by_a_test_or_a_hostile_fixture() -> None:
    clauses = _spec_clauses()
    assert len(clauses) >= 30
    corpus = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("*.py"))
    corpus += "\n".join(p.name for p in (FIXTURES / "hostile").rglob("*"))
    missing = sorted(c for c in clauses if c not in corpus)
    assert not missing, f"clauses with no test or fixture: {missing}"


def test_writer_writes_version_1_0() -> None:
    """QF-VER-001."""
    data = (FIXTURES / "golden" / "v1.0" / "empty.qf").read_bytes()
    assert struct.unpack_from("<8sHH", data) == (spec.MAGIC, 1, 0)
    assert spec.VERSION == (1, 0)


def test_layouts_are_added_by_name_without_a_new_version() -> None:
    """QF-VER-003: the registry knows layouts by name; the container has no list of them."""
    from qformat.layouts import registry

    assert "raw" in registry.layout_names()
    container_src = "".join(p.read_text() for p in (ROOT / "qformat" / "container").glob("*.py"))
    for name in registry.layout_names():
        if name != "raw":
            assert f'"{name}"' not in container_src
    assert qformat.quantize([1.0], "raw").layout.name == "raw"
