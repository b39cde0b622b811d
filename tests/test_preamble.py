"""The construct declaration of the preamble and the struct fast path agree everywhere."""

from __future__ import annotations

import glob
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import qformat
from qformat import spec
from qformat.container.preamble import build_preamble, construct_preamble, parse_preamble

from .conftest import FIXTURES

FILES = sorted(glob.glob(str(FIXTURES / "**" / "*.qf"), recursive=True))


def _construct_view(data: bytes):
    """Parse with construct; None when construct rejects the bytes."""
    import construct

    try:
        c = construct_preamble().parse(data)
    except construct.ConstructError:
        return None
    return (c.version_major, c.version_minor, c.flags, c.header_length, c.header_checksum)


def _struct_view(data: bytes):
    try:
        p = parse_preamble(data)
    except qformat.HeaderError:
        return None
    except qformat.UnsupportedError:  # valid bytes, version/flags we refuse: compare raw fields
        return struct.unpack_from("<HHIQQ", data, 8)
    return tuple(p)


def test_construct_declaration_is_32_bytes_and_builds_what_struct_reads() -> None:
    assert construct_preamble().sizeof() == spec.PREAMBLE_SIZE
    data = build_preamble(224, 0x1234_5678_9ABC_DEF0, flags=0x10000)
    assert len(data) == spec.PREAMBLE_SIZE
    assert tuple(parse_preamble(data)) == (1, 0, 0x10000, 224, 0x1234_5678_9ABC_DEF0)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.split("fixtures/")[-1])
def test_both_parsers_agree_on_every_fixture(path: str) -> None:
    with open(path, "rb") as f:
        head = f.read(spec.PREAMBLE_SIZE)
    assert _construct_view(head) == _struct_view(head)


@settings(max_examples=400, deadline=None)
@given(st.binary(min_size=0, max_size=40) | st.builds(
    lambda tail: spec.MAGIC + tail, st.binary(min_size=0, max_size=30)))
def test_both_parsers_agree_on_random_bytes(data: bytes) -> None:
    assert _construct_view(data) == _struct_view(data)
