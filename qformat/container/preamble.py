"""The 32-byte preamble, declared once with ``construct`` and mirrored with ``struct``.

The construct declaration is the readable reference (and builds preambles for the writer and
the fixtures); the ``struct`` mirror parses on the hot path. ``tests/test_preamble.py`` checks
that both agree on every fixture. Construct is never run in compiled mode and never on payloads.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from .. import spec
from ..errors import HeaderError, UnsupportedError

__all__ = ["Preamble", "build_preamble", "construct_preamble", "parse_preamble"]

_STRUCT = struct.Struct("<8sHHIQQ")
assert _STRUCT.size == spec.PREAMBLE_SIZE


class Preamble(NamedTuple):
    version_major: int
    version_minor: int
    flags: int
    header_length: int
    header_checksum: int


def construct_preamble():  # -> construct.Struct, imported lazily (construct costs ~40 ms)
    """The construct declaration of the preamble (field order and widths are normative)."""
    from construct import Const, Int16ul, Int32ul, Int64ul, Struct

    return Struct(
        "magic" / Const(spec.MAGIC),
        "version_major" / Int16ul,
        "version_minor" / Int16ul,
        "flags" / Int32ul,
        "header_length" / Int64ul,
        "header_checksum" / Int64ul,
    )


def build_preamble(header_length: int, header_checksum: int, flags: int = 0) -> bytes:
    """Serialize a preamble with the construct declaration."""
    return construct_preamble().build(
        {
            "version_major": spec.VERSION[0],
            "version_minor": spec.VERSION[1],
            "flags": flags,
            "header_length": header_length,
            "header_checksum": header_checksum,
        }
    )


def parse_preamble(data: bytes, path: str = "") -> Preamble:
    """Parse and check the preamble (fast path). Raises HeaderError / UnsupportedError."""
    if len(data) < spec.PREAMBLE_SIZE:
        raise HeaderError("file is shorter than the preamble (truncated?) [QF-PRE-001]",
                          path=path, field="preamble", expected=f"{spec.PREAMBLE_SIZE} bytes",
                          found=f"{len(data)} bytes")
    magic, major, minor, flags, hlen, hsum = _STRUCT.unpack_from(data, 0)
    if magic != spec.MAGIC:
        raise HeaderError("not a .qf file: bad magic [QF-PRE-002]", path=path, field="magic",
                          expected=spec.MAGIC, found=magic)
    if major not in spec.READABLE_MAJORS:
        raise UnsupportedError("unsupported .qf major version [QF-PRE-003]", path=path,
                               field="version_major", expected=spec.READABLE_MAJORS,
                               found=f"{major}.{minor}")
    if flags & spec.FLAGS_MUST_UNDERSTAND:
        raise UnsupportedError("unknown required flags [QF-PRE-004]", path=path, field="flags",
                               expected="0x0000", found=hex(flags & spec.FLAGS_MUST_UNDERSTAND))
    return Preamble(major, minor, flags, hlen, hsum)
