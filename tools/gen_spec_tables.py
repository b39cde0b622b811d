"""Regenerate the tables in specs/qformat.md from the code (``--check``: fail on drift).

The spec restates code constants (preamble layout, element types, layouts, limits) and shows an
example file. Those blocks sit between ``<!-- generated:NAME -->`` markers and are rewritten here
from ``qformat`` itself, so the document cannot silently disagree with the implementation.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SPEC = ROOT / "specs" / "qformat.md"

_FIELD_VALUES = {
    "header_length": "bytes of the header, padding included",
    "header_checksum": "XXH3-64 (seed 0) of the header bytes",
}
_SPEC_LIMITS = ("QF_MAX_HEADER_BYTES", "QF_MAX_TENSORS", "QF_MAX_PARTS", "QF_MAX_NAME_BYTES",
                "QF_MAX_JSON_DEPTH", "MAX_NDIM", "MAX_ELEMENTS")


def table_preamble() -> str:
    from qformat import spec
    from qformat.container.preamble import construct_preamble

    rows = ["| offset | size | field | type | value |", "|---|---|---|---|---|"]
    offset = 0
    for sub in construct_preamble().subcons:
        size = sub.sizeof()
        kind = {1: "u8", 2: "u16", 4: "u32", 8: "u64"}[size] if sub.name != "magic" else "bytes"
        if sub.name == "magic":
            value = "`" + " ".join(f"{b:02X}" for b in spec.MAGIC) + "`"
        elif sub.name == "version_major":
            value = str(spec.VERSION[0])
        elif sub.name == "version_minor":
            value = str(spec.VERSION[1])
        elif sub.name == "flags":
            value = "0"
        else:
            value = _FIELD_VALUES[sub.name]
        rows.append(f"| {offset} | {size} | `{sub.name}` | {kind} | {value} |")
        offset += size
    assert offset == spec.PREAMBLE_SIZE
    return "\n".join(rows)


def table_dtypes() -> str:
    from qformat.dtypes import DTYPES

    rows = ["| code | bytes | kind | numpy storage |", "|---|---|---|---|"]
    for d in DTYPES.values():
        storage = d.storage.str.replace("|", "\\|")
        rows.append(f"| `{d.code}` | {d.itemsize} | {d.kind} | `{storage}` |")
    return "\n".join(rows)


def table_layouts() -> str:
    from qformat.layouts import registry

    rows = ["| layout | registered class |", "|---|---|"]
    for name, target in sorted(registry._BUILTIN.items()):
        rows.append(f"| `{name}` | `{target}` |")
    return "\n".join(rows)


def table_limits() -> str:
    from qformat import limits

    rows = ["| limit | value |", "|---|---|"]
    rows += [f"| `{n}` | {getattr(limits, n)} |" for n in _SPEC_LIMITS]
    return "\n".join(rows)


def example_hexdump() -> str:
    """Write the example file of §11 with the real writer and hex-dump it."""
    import numpy as np

    import qformat

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "example.qf"
        qformat.save(path, {"x": np.array([1.0, 2.0], dtype=np.float32)})
        data = path.read_bytes()
    lines = ["```"]
    for off in range(0, len(data), 16):
        chunk = data[off:off + 16]
        if off >= 32 and chunk.strip(b" ") == b"" and off + 16 < len(data):
            if lines[-1] != "*":
                lines.append("*")
            continue
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{off:08x}  {hexes:<47}  |{text}|")
    lines.append("```")
    return "\n".join(lines)


GENERATORS = {
    "preamble": table_preamble,
    "dtypes": table_dtypes,
    "layouts": table_layouts,
    "limits": table_limits,
    "example": example_hexdump,
}


def render(text: str) -> str:
    for name, gen in GENERATORS.items():
        pattern = re.compile(
            rf"(<!-- generated:{name} -->\n)(.*?)(<!-- /generated:{name} -->)", re.DOTALL
        )
        if not pattern.search(text):
            raise SystemExit(f"{SPEC}: missing generated block {name!r}")
        text = pattern.sub(lambda m, g=gen: m.group(1) + g() + "\n" + m.group(3), text)
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--check", action="store_true", help="exit 1 if the spec is out of date")
    args = ap.parse_args(argv)
    current = SPEC.read_text()
    fresh = render(current)
    if args.check:
        if fresh != current:
            print(f"{SPEC} is out of date: run python tools/gen_spec_tables.py", file=sys.stderr)
            return 1
        return 0
    SPEC.write_text(fresh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
