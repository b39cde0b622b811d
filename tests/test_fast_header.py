"""The bulk header validator never accepts what the detailed validator rejects."""

from __future__ import annotations

import copy
import glob
import json
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import qformat
from qformat.container._fast_header import fast_header
from qformat.container.header import loads_strict, parse_header

from .conftest import FIXTURES

QF_FILES = sorted(glob.glob(str(FIXTURES / "**" / "*.qf"), recursive=True))


def split(data: bytes) -> tuple[str, int, int] | None:
    """(header text, minor, data bytes) of a .qf file, or None if the preamble is unusable."""
    if len(data) < 32:
        return None
    _, _, minor, _, hlen, _ = struct.unpack_from("<8sHHIQQ", data)
    if 32 + hlen > len(data):
        return None
    try:
        text = data[32:32 + hlen].decode().rstrip(" ")
    except UnicodeDecodeError:
        return None
    return text, minor, len(data) - 32 - hlen


def slow(text: str, minor: int, available: int):
    try:
        return parse_header(loads_strict(text), minor=minor, data_available=available)
    except qformat.QFormatError:
        return None


def agree(text: str, minor: int, available: int) -> bool:
    """True when the fast path took the file (and agreed); False when it declined."""
    fast = fast_header(text, minor, available)
    if fast is None:
        return False
    assert fast == slow(text, minor, available), "fast path accepted what the slow one rejects"
    return True


@pytest.mark.parametrize("path", QF_FILES, ids=lambda p: p.split("fixtures/")[-1])
def test_fast_and_detailed_validators_agree_on_every_fixture(path: str) -> None:
    parts = split(Path(path).read_bytes())
    if parts is not None:
        agree(*parts)


def test_writer_output_takes_the_fast_path() -> None:
    taken = [p for p in QF_FILES if "golden" in p]
    assert taken
    for p in taken:
        assert agree(*split(Path(p).read_bytes())), p


def _mutations():
    scalar = st.one_of(st.integers(-3, 70), st.floats(allow_nan=False, allow_infinity=False),
                       st.booleans(), st.none(), st.text(max_size=4), st.just([]), st.just({}))
    return st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(
        ["set", "delete", "dup-key", "space-colon", "float-dim", "bool-dim", "extra-key"]),
        scalar), min_size=1, max_size=3)


def _walk(obj, path=()):
    yield path, obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _walk(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _walk(v, (*path, i))


def _parent(obj, path):
    for key in path[:-1]:
        obj = obj[key]
    return obj


@settings(max_examples=400, deadline=None)
@given(source=st.sampled_from([p for p in QF_FILES if "golden" in p or "example" in p]),
       edits=_mutations())
def test_fast_path_never_accepts_a_mutated_header_the_detailed_one_rejects(source, edits):
    text, minor, available = split(Path(source).read_bytes())
    obj = json.loads(text)
    for pos, op, shared in edits:
        value = copy.deepcopy(shared)  # st.just([]) is one object: never link it in twice
        nodes = list(_walk(obj))[1:]
        if not nodes:
            break
        path, node = nodes[pos % len(nodes)]
        parent = _parent(obj, path)
        if op == "set":
            parent[path[-1]] = value
        elif op == "delete":
            del parent[path[-1]]
        elif op == "extra-key" and isinstance(node, dict):
            node["zz"] = value
        elif op == "float-dim" and isinstance(node, list) and node and type(node[0]) is int:
            node[0] = float(node[0])
        elif op == "bool-dim" and isinstance(node, list) and node and node[0] in (0, 1):
            node[0] = bool(node[0])
    text = json.dumps(obj, separators=(",", ":"))
    for _pos, op, _value in edits:
        if op == "dup-key":
            text = text.replace('"name":', '"name":"x","name":', 1)
        elif op == "space-colon":
            text = text.replace('"dtype":', '"dtype" :', 1)
    agree(text, minor, available)


def test_duplicate_keys_and_spaced_colons_fall_back_to_the_detailed_path() -> None:
    text, minor, available = split((FIXTURES / "golden" / "v1.0" / "raw-dtypes.qf").read_bytes())
    dup = text.replace('"dtype":"F32"', '"dtype":"F16","dtype":"F32"', 1)
    assert fast_header(dup, minor, available) is None
    with pytest.raises(qformat.HeaderError, match="duplicate key"):
        loads_strict(dup)
    spaced = text.replace('"dtype":', '"dtype" :')
    assert fast_header(spaced, minor, available) is None
    assert slow(spaced, minor, available) is not None  # valid JSON, just not the fast path's
