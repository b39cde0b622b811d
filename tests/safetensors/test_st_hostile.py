"""Hostile safetensors fixtures (tools/make_safetensors_hostile.py): each raises its typed
error, naming the file and the tensor or field, without hanging or allocating more than a small
multiple of the bytes it was given (tracemalloc peak; the JSON parser holds the header text)."""

from __future__ import annotations

import os
import signal
import tracemalloc
from pathlib import Path

import pytest
from st_helpers import HOSTILE, load_json

import qformat.errors as errors
from qformat.readers._st.detect import _detectors
from qformat.readers.safetensors import read_safetensors

CASES = load_json(HOSTILE / "cases.json")
_detectors()  # import every scheme module now, so tracemalloc sees only the reader's work


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and
                   not p.is_symlink())
    return path.stat().st_size


@pytest.fixture
def deadline():
    """Fail instead of hanging: 20 s per case (POSIX alarm)."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def boom(*_: object) -> None:
        raise TimeoutError("hostile case hung")

    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def _open_then_get(path: Path, case: dict) -> None:
    model = read_safetensors(path)
    try:
        assert case["stage"] == "get", "opening should have failed"
        model.info(case["tensor"])  # listing still works
        model.get(case["tensor"])
    finally:
        model.close()


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_case(name: str, deadline: None) -> None:
    case = CASES[name]
    path = HOSTILE / name
    tracemalloc.start()
    try:
        if case["error"] == "none":
            with read_safetensors(path) as model:
                listing = [model.info(k) for k in model]
                assert listing
                for k in model:
                    if model.info(k).method != "none" or k == "w":
                        model.get(k)
                assert model.warnings or name == "ct_redos_target"
            return
        expected = getattr(errors, case["error"])
        with pytest.raises(expected) as info:
            _open_then_get(path, case)
        err = info.value
        assert type(err) is expected
        assert err.path is not None
        assert str(path) in err.path
        assert err.tensor is not None or err.field is not None
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak <= 8 * _size(path) + (2 << 20), f"{name}: peak {peak} bytes"


def test_every_case_is_a_real_fixture() -> None:
    for name in CASES:
        assert os.path.lexists(HOSTILE / name), name
    assert len(CASES) >= 40


def test_symlink_target_outside_is_never_read() -> None:
    link = HOSTILE / "index_symlink_escape" / "model-00001.safetensors"
    assert link.is_symlink()
    with pytest.raises(errors.HeaderError, match="symlink leading outside"):
        read_safetensors(link.parent)
