"""Malformed TFLite files (``fixtures/hostile/tflite``): each raises its documented
QFormatError naming the file and field; random damage never escapes as anything else."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qformat
from qformat import limits
from qformat.readers.tflite import read_tflite

from ..conftest import ROOT
from .conftest import HOSTILE, HOSTILE_CASES, TFLITE

CASES = {c["file"]: c for c in HOSTILE_CASES}


def exercise(path: Path) -> None:
    """Everything a user can do: open, describe, label, decode every tensor."""
    with read_tflite(path) as m:
        m.quantization()
        for name in m.keys():
            m.info(name)
            m.get(name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_file_raises_its_documented_error(name: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    case = CASES[name]
    path = HOSTILE / name
    if name == "aliased_tables.tflite":
        monkeypatch.setattr(limits, "FLATBUFFER_MAX_TABLES", 5000)
    with pytest.raises(getattr(qformat, case["error"])) as info:
        exercise(path)
    assert str(path) in str(info.value), "the message names the file"
    if case["field"] is not None:
        assert (info.value.field or "").startswith(case["field"]), info.value


def test_hostile_files_through_the_public_entry_point() -> None:
    for name in CASES:
        path = HOSTILE / name
        if name in ("too_short.tflite", "bad_identifier.tflite"):
            with pytest.raises(qformat.UnsupportedError, match="unrecognised"):
                qformat.open(path)  # no TFL3 at bytes 4..8: sniffing refuses it
            continue
        if name == "aliased_tables.tflite":
            continue  # legal under the default cap (see the next test)
        with pytest.raises(qformat.QFormatError):
            with qformat.open(path) as m:
                for k in m:
                    m.get(k)


def test_aliased_tables_are_bounded_under_the_default_cap() -> None:
    with read_tflite(HOSTILE / "aliased_tables.tflite") as m:
        # 3600 entries of one tensor table are one constant, listed once
        assert m.keys() == ["w"]
        info = m.info("w")
        assert info.extra["alias_count"] == 60 * 60 - 1 and len(info.extra["aliases"]) == 8


@pytest.mark.foreign
def test_every_truncation_of_a_real_file_is_a_header_error(tmp_path: Path) -> None:
    src = (TFLITE / "aeq_blockwise_wi2b32.tflite").read_bytes()
    path = tmp_path / "cut.tflite"
    for cut in range(0, len(src), 7):
        path.write_bytes(src[:cut])
        with pytest.raises((qformat.HeaderError, qformat.LayoutError)):
            exercise(path)


@pytest.mark.foreign
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    source=st.sampled_from(["aeq_blockwise_wi4b32", "mlp_full_int8_uint8_io",
                            "mlp_dynamic_int8_buffer_offset", "qat_int4_per_tensor"]),
    edits=st.lists(st.tuples(st.sampled_from(["flip", "set", "cut", "word"]),
                             st.integers(0, 20_000), st.integers(0, 2**32 - 1)),
                   min_size=1, max_size=4),
)
def test_mutated_files_give_values_or_qformat_errors(tmp_path_factory, source, edits) -> None:
    data = bytearray((TFLITE / f"{source}.tflite").read_bytes())
    for op, pos, val in edits:
        pos %= max(len(data), 1)
        if op == "flip" and data:
            data[pos] ^= 1 << (val % 8)
        elif op == "set" and data:
            data[pos] = val & 0xFF
        elif op == "cut":
            del data[pos:]
        elif op == "word" and len(data) >= pos + 4:
            data[pos:pos + 4] = val.to_bytes(4, "little")
    path = tmp_path_factory.mktemp("mut") / "m.tflite"
    path.write_bytes(bytes(data))
    try:
        exercise(path)
    except qformat.QFormatError:
        pass


def test_hostile_files_do_not_allocate_beyond_a_small_cap() -> None:
    """Open every hostile file under a 1 GiB address-space cap in a child process."""
    code = textwrap.dedent(f"""
        import glob, resource, sys
        sys.path.insert(0, {str(ROOT)!r})
        import numpy, tflite  # imported before the cap: their own start-up is not the test
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        import qformat
        from qformat.readers.tflite import read_tflite
        n = 0
        for p in sorted(glob.glob({str(HOSTILE / '*.tflite')!r})):
            try:
                with read_tflite(p) as m:
                    m.quantization()
                    for k in m.keys():
                        m.get(k)
            except qformat.QFormatError:
                n += 1
        print(n)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    # every case fails except the aliased DAG, which is legal under the default cap
    assert int(out.stdout) == len(CASES) - 1
