"""A writer that fails or dies mid-way leaves the previous file intact and no litter."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import qformat

from .conftest import ROOT


def _previous(path: Path) -> bytes:
    qformat.save(path, {"old": np.arange(4, dtype=np.float32)}, {"version": "previous"})
    return path.read_bytes()


def test_exception_inside_with_block_keeps_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "model.qf"
    before = _previous(path)
    with pytest.raises(RuntimeError, match="boom"), qformat.writer(path) as w:
        w.add("new", np.zeros(1000, np.float32))
        raise RuntimeError("boom")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.qf"]


def test_error_while_adding_keeps_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "model.qf"
    before = _previous(path)
    with pytest.raises(qformat.ArgumentError):
        qformat.save(path, {"a": np.zeros(3), "b": "not an array"})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.qf"]


def test_new_file_replaces_old_one_atomically_even_while_old_is_mapped(tmp_path: Path) -> None:
    path = tmp_path / "model.qf"
    _previous(path)
    with qformat.open(path) as old:
        view = old.raw("old").parts["data"]
        qformat.save(path, {"new": np.ones(2, np.int8)})
        np.testing.assert_array_equal(view, [0, 1, 2, 3])  # the old map is untouched
    with qformat.open(path) as m:
        assert m.keys() == ["new"]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killed_writer_process_keeps_previous_file_and_leaves_no_litter(tmp_path: Path,
                                                                        sig: int) -> None:
    path = tmp_path / "model.qf"
    before = _previous(path)
    marker = tmp_path / "started"
    code = textwrap.dedent(f"""
        import sys, time, numpy as np
        sys.path.insert(0, {str(ROOT)!r})
        import qformat
        with qformat.writer({str(path)!r}) as w:
            w.add("first", np.zeros((256, 1024), np.float32))
            open({str(marker)!r}, "w").close()
            while True:
                time.sleep(0.05)
    """)
    child = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, "writer process died early"
            assert time.monotonic() < deadline, "writer process did not start"
            time.sleep(0.05)
        os.kill(child.pid, sig)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert path.read_bytes() == before
    leftovers = sorted(p.name for p in tmp_path.iterdir())
    assert leftovers == ["model.qf", "started"], leftovers


def test_writer_output_is_durable_and_named_only_at_close(tmp_path: Path) -> None:
    path = tmp_path / "model.qf"
    w = qformat.writer(path)
    w.add("a", np.zeros(10, np.float32))
    assert not path.exists()
    w.close()
    assert path.exists()
    with pytest.raises(qformat.ArgumentError, match="closed"):
        w.add("b", np.zeros(1))
    mode = path.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
