"""Random byte corruption of real checkpoints: opening, listing and decoding either succeed or
raise a QFormatError subclass; nothing else escapes (no IndexError, no MemoryError...)."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from st_helpers import GEN

from qformat.errors import QFormatError
from qformat.readers.safetensors import read_safetensors

pytestmark = pytest.mark.foreign

SOURCES = ["gptq-int3-g128", "hqq-int3-g64-axis1", "bnb-nf4-dq", "ct-pack-w3-g64-asym",
           "quanto-qint2", "mlx-affine-int3-g64", "awq-gemv_fast-int4-g64", "ct013-marlin24",
           "ct013-sparse24-fp8"]


def _exercise(folder: Path) -> None:
    try:
        model = read_safetensors(folder)
    except QFormatError:
        return
    with model:
        model.quantization()
        for name in model:
            model.info(name)
            with contextlib.suppress(QFormatError):
                model.get(name)


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=st.sampled_from(SOURCES), data=st.data())
def test_corrupted_bytes_raise_only_typed_errors(tmp_path: Path, source: str,
                                                 data: st.DataObject) -> None:
    folder = tmp_path / "ckpt"
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(GEN / source, folder)
    path = folder / "model.safetensors"
    raw = bytearray(path.read_bytes())
    n = int.from_bytes(raw[:8], "little")
    region = data.draw(st.sampled_from(["header", "data", "anywhere"]))
    lo, hi = {"header": (8, 8 + n), "data": (8 + n, len(raw)), "anywhere": (0, len(raw))}[region]
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(lo, hi - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    path.write_bytes(bytes(raw))
    _exercise(folder)
