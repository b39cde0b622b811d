"""Malformed GGUF files: a typed error for each attack, no crash, no big allocation, no hang."""

from __future__ import annotations

import contextlib
import json
import signal
import tracemalloc
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qformat
from qformat import errors
from qformat.readers.gguf import read_gguf

from .conftest import FOREIGN, HOSTILE

pytest.importorskip("gguf")

CASES = json.loads((HOSTILE / "cases.json").read_text())


@contextlib.contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging (SIGALRM; the suite runs on Linux)."""

    def expire(signum, frame):  # type: ignore[no-untyped-def]
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    """Import gguf and build the type tables once, so memory peaks measure only the parse."""
    read_gguf(FOREIGN / "alignment64.gguf").close()


def test_cases_cover_the_attack_table() -> None:
    attacks = {a for case in CASES.values() for a in case["attack"].split("/")}
    assert {"A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9", "A12", "A14"} <= attacks
    assert len(CASES) >= 50


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_file_raises_its_typed_error(name: str) -> None:
    case = CASES[name]
    path = HOSTILE / case["file"]
    expected = getattr(errors, case["error"])
    budget = path.stat().st_size + (1 << 20)  # never more than the file plus 1 MiB
    tracemalloc.start()
    try:
        with deadline(20), pytest.raises(expected) as err:
            read_gguf(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert type(err.value) is expected, f"{name}: {err.value!r}"
    assert isinstance(err.value, qformat.QFormatError)
    assert err.value.path is not None
    assert err.value.path.endswith(".gguf")
    assert err.value.field or err.value.tensor, str(err.value)
    assert peak < budget, f"{name}: peak {peak} bytes"


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items()
                                        if (HOSTILE / c["file"]).read_bytes()[:4] == b"GGUF"))
def test_hostile_file_through_qformat_open(name: str) -> None:
    """The sniffer sends GGUF-magic files to the reader: same typed error."""
    case = CASES[name]
    with deadline(20), pytest.raises(getattr(errors, case["error"])):
        qformat.open(HOSTILE / case["file"])


def test_non_gguf_bytes_are_refused_by_the_sniffer() -> None:
    with pytest.raises(errors.UnsupportedError, match="unrecognised"):
        qformat.open(HOSTILE / "bad-magic.gguf")


SEEDS = {
    "alignment64": (FOREIGN / "alignment64.gguf").read_bytes(),
    "unknown": (FOREIGN / "unknown-type.gguf").read_bytes(),
    "be": (FOREIGN / "be-own-be.gguf").read_bytes(),
}


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "u64", "u32", "cut"]))
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind in ("u64", "u32"):
            width = 8 if kind == "u64" else 4
            value = draw(st.sampled_from([0, 1, 2**31, 2**32 - 1, 2**63, 2**64 - 1, 255,
                                          draw(st.integers(0, 2**(8 * width) - 1))]))
            data[at:at + width] = (value % 2**(8 * width)).to_bytes(width, "little")
        else:
            del data[at:]
            if not data:
                data = bytearray(b"G")
    return bytes(data)


@pytest.mark.jit
@pytest.mark.foreign
@settings(max_examples=250, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(mutated())
def test_mutated_files_never_escape_the_error_family(tmp_path_factory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "m.gguf"
    path.write_bytes(data)
    with deadline(30):  # header walk and listing only: kernel compilation is not timed
        try:
            model = read_gguf(path)
        except qformat.QFormatError:
            return
        for name in model:
            model.info(name).to_dict()
        model.quantization()
    with model:
        for name in model:
            try:
                values = model.get(name)
            except qformat.QFormatError:
                continue
            assert values.dtype == np.float32
            assert values.shape == model.info(name).shape
