"""The bounded flatbuffer walker, on buffers built with the ``flatbuffers`` builder."""

from __future__ import annotations

import flatbuffers
import numpy as np
import pytest

from qformat import HeaderError, LimitError, limits
from qformat.readers._tflite.flatbuf import FlatBuffer


def nested_chain(depth: int) -> bytes:
    """``depth`` tables, each with field 0 pointing at the next (a legal but deep buffer)."""
    b = flatbuffers.Builder(1024)
    child = None
    for _ in range(depth):
        b.StartObject(1)
        if child is not None:
            b.PrependUOffsetTRelativeSlot(0, child, 0)
        child = b.EndObject()
    b.Finish(child)
    return bytes(b.Output())


def sample() -> bytes:
    """Table: 0 int32 = 7, 1 string "abc", 2 vector<int64> [1, -2], 3 vector<table> x3."""
    b = flatbuffers.Builder(256)
    s = b.CreateString("abc")
    b.StartVector(8, 2, 8)
    b.PrependInt64(-2)
    b.PrependInt64(1)
    vec = b.EndVector()
    kids = []
    for i in range(3):
        b.StartObject(1)
        b.PrependInt32Slot(0, i * 10, 0)
        kids.append(b.EndObject())
    b.StartVector(4, 3, 4)
    for k in reversed(kids):
        b.PrependUOffsetTRelative(k)
    tables = b.EndVector()
    b.StartObject(4)
    b.PrependInt32Slot(0, 7, 0)
    b.PrependUOffsetTRelativeSlot(1, s, 0)
    b.PrependUOffsetTRelativeSlot(2, vec, 0)
    b.PrependUOffsetTRelativeSlot(3, tables, 0)
    b.Finish(b.EndObject())
    return bytes(b.Output())


def test_reads_fields_of_a_valid_buffer() -> None:
    data = sample()
    root = FlatBuffer(data, len(data), "mem").root()
    assert root.scalar(0, "i32", 0, "a") == 7
    assert root.string(1, "s") == "abc"
    assert root.array(2, "<i8", "v").tolist() == [1, -2]
    assert [t.scalar(0, "i32", 0, "x") for t in root.tables(3, "t")] == [0, 10, 20]
    # absent fields (beyond the vtable) give defaults, not errors
    assert root.scalar(9, "i32", 42, "missing") == 42
    assert root.table(9, "missing") is None
    assert root.array(9, "<f4", "missing") is None


def test_depth_cap_is_enforced(monkeypatch: pytest.MonkeyPatch) -> None:
    data = nested_chain(limits.FLATBUFFER_MAX_DEPTH + 5)
    t = FlatBuffer(data, len(data), "mem").root()
    with pytest.raises(LimitError, match="nested too deeply"):
        while t is not None:
            t = t.table(0, "child")
    shallow = nested_chain(10)
    t = FlatBuffer(shallow, len(shallow), "mem").root()
    seen = 0
    while t is not None:
        t, seen = t.table(0, "child"), seen + 1
    assert seen == 10


def test_table_cap_is_enforced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "FLATBUFFER_MAX_TABLES", 3)
    data = sample()
    root = FlatBuffer(data, len(data), "mem").root()
    with pytest.raises(LimitError, match="too many tables"):
        root.tables(3, "t")


@pytest.mark.parametrize("cut", [0, 3, 7, 12, 20])
def test_truncated_buffers_raise_header_errors(cut: int) -> None:
    data = sample()[:cut]
    with pytest.raises(HeaderError):
        root = FlatBuffer(data, len(data), "mem").root()
        root.string(1, "s")
        root.array(2, "<i8", "v")
        root.tables(3, "t")


def test_every_truncation_is_caught() -> None:
    full = sample()
    for cut in range(len(full)):
        data = full[:cut]
        try:
            root = FlatBuffer(data, len(data), "mem").root()
            root.scalar(0, "i32", 0, "a")
            root.string(1, "s")
            root.array(2, "<i8", "v")
            for t in root.tables(3, "t"):
                t.scalar(0, "i32", 0, "x")
        except HeaderError:
            continue


def test_string_without_terminator_is_refused() -> None:
    data = bytearray(sample())
    pos = data.index(b"abc\0")
    data[pos + 3] = ord("!")
    root = FlatBuffer(bytes(data), len(data), "mem").root()
    with pytest.raises(HeaderError, match="NUL"):
        root.string(1, "s")


def test_vector_length_is_checked_before_reading() -> None:
    data = bytearray(sample())
    root = FlatBuffer(bytes(data), len(data), "mem").root()
    start, _ = root.vector_span(2, 8, "v")
    data[start - 4:start] = (2**31).to_bytes(4, "little")
    root = FlatBuffer(bytes(data), len(data), "mem").root()
    with pytest.raises(HeaderError, match="vector length"):
        root.array(2, "<i8", "v")


def test_arrays_are_copies() -> None:
    data = bytearray(sample())
    root = FlatBuffer(data, len(data), "mem").root()
    arr = root.array(2, "<i8", "v")
    assert isinstance(arr, np.ndarray) and arr.flags.writeable
