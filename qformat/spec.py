"""Constants of the .qf container that ``specs/qformat.md`` cites (QF-PRE-*, QF-DAT-*)."""

from __future__ import annotations

#: First 8 bytes of every .qf file: a non-ASCII byte, "QFMT", CR LF, ^Z (catches text-mode
#: transfers and truncation to 7 bits, as PNG's signature does).
MAGIC = b"\x89QFMT\r\n\x1a"
#: Format version this library writes: (major, minor).
VERSION = (1, 0)
#: Majors this library reads. A newer minor of a known major is readable (unknown keys ignored).
READABLE_MAJORS = (1,)
#: Size of the fixed binary preamble.
PREAMBLE_SIZE = 32
#: Alignment of the data section and of every stored part, relative to the start of the file.
ALIGNMENT = 64
#: Checksum of the header and of every part: XXH3 64-bit, seed 0, as 16 lowercase hex digits.
CHECKSUM = "xxh3_64"
#: Flag bits 0-15 must be understood by a reader (v1 defines none); bits 16-31 may be ignored.
FLAGS_MUST_UNDERSTAND = 0x0000FFFF
#: The byte that pads the header up to the data section (JSON whitespace).
HEADER_PAD = b" "


def align_up(n: int, alignment: int = ALIGNMENT) -> int:
    return (n + alignment - 1) // alignment * alignment
