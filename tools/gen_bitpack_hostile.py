"""Write the hostile .qf fixtures of the bitpack layout: fixtures/hostile/qformat/bitpack-*.qf.

Each file is a well-formed .qf container (valid preamble, header checksum, part checksums and
alignment) whose bitpack tensor breaks exactly one clause of ``specs/layouts/bitpack.md``.
qformat's own writer refuses such tensors, so this script lays the bytes out itself.
``tests/bitpack/test_container.py`` checks that each raises the QFormatError subclass named in
:data:`CASES` and that this script reproduces the committed files byte for byte.

Usage: python tools/gen_bitpack_hostile.py [output directory]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import xxhash

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qformat import spec  # noqa: E402
from qformat.container.preamble import build_preamble  # noqa: E402

OUT = ROOT / "fixtures" / "hostile" / "qformat"

BASE_CONFIG = {"bits": 4, "group_size": 8, "zero": "int", "scale_dtype": "F16",
               "zero_dtype": "U8", "levels": None, "perm": False}


def _base_parts() -> dict[str, np.ndarray]:
    """A valid 2x16 4-bit tensor with two groups per row."""
    codes = np.arange(32, dtype=np.uint8).reshape(2, 16) % 16
    packed = (codes[:, 0::2] | (codes[:, 1::2] << 4)).astype(np.uint8)
    return {"codes": packed, "scales": np.full((2, 2), 0.5, np.float16),
            "zeros": np.full((2, 2), 8, np.uint8)}


def write_raw_qf(path: Path, tensors: list[dict[str, Any]]) -> None:
    """Lay out a .qf file: preamble, JSON header padded to the alignment, aligned parts.

    ``tensors``: dicts with name, dtype, shape, layout and parts [(name, dtype, array)].
    """
    entries, blobs, pos = [], [], 0
    for t in tensors:
        parts = []
        for pname, pdtype, arr in t["parts"]:
            data = np.ascontiguousarray(arr).tobytes()
            offset = spec.align_up(pos)
            blobs.append(b"\0" * (offset - pos) + data)
            parts.append({"name": pname, "dtype": pdtype, "shape": list(arr.shape),
                          "offset": offset, "nbytes": len(data),
                          spec.CHECKSUM: xxhash.xxh3_64_hexdigest(data)})
            pos = offset + len(data)
        entries.append({"name": t["name"], "dtype": t["dtype"], "shape": t["shape"],
                        "layout": t["layout"], "parts": parts})
    body = json.dumps({"metadata": {"fixture": path.stem}, "tensors": entries},
                      separators=(",", ":")).encode()
    header_len = spec.align_up(spec.PREAMBLE_SIZE + len(body)) - spec.PREAMBLE_SIZE
    header = body + spec.HEADER_PAD * (header_len - len(body))
    pre = build_preamble(len(header), xxhash.xxh3_64_intdigest(header))
    path.write_bytes(pre + header + b"".join(blobs))


def _tensor(config: dict[str, Any] | None = None, parts: dict[str, np.ndarray] | None = None,
            shape: list[int] | None = None) -> dict[str, Any]:
    config = {**BASE_CONFIG, **(config or {})}
    parts = parts if parts is not None else _base_parts()
    dtypes = {"codes": "U8", "scales": config["scale_dtype"], "zeros": config["zero_dtype"],
              "bias": config["zero_dtype"], "levels": "F32", "perm": "I32"}
    return {"name": "w", "dtype": "F16", "shape": shape or [2, 16],
            "layout": {"name": "bitpack", "config": config},
            "parts": [(n, dtypes[n], a) for n, a in parts.items()]}


def _with(**changes: Any) -> dict[str, np.ndarray]:
    parts = _base_parts()
    for name, fn in changes.items():
        parts[name] = fn(parts[name].copy())
    return parts


def _set(index: tuple[int, ...], value: Any):
    def apply(a: np.ndarray) -> np.ndarray:
        a[index] = value
        return a
    return apply


def _cases() -> dict[str, tuple[str, dict[str, Any]]]:
    """file stem -> (expected error class name, tensor)."""
    nf4_wrong = {"codes": np.zeros((2, 8), np.uint8), "scales": np.ones((2, 2), np.float16),
                 "levels": np.linspace(-1, 1, 16, dtype=np.float32)}
    three_bit = {"codes": np.array([[0, 0x80], [0, 0]], np.uint8),
                 "scales": np.ones((2, 1), np.float16), "zeros": np.zeros((2, 1), np.uint8)}
    perm_parts = {**_base_parts(), "perm": np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                                     12, 13, 14, 14], np.int32)}
    return {
        "bitpack-QF-BITPACK-040-nan-scale": (
            "IntegrityError", _tensor(parts=_with(scales=_set((1, 0), np.nan)))),
        "bitpack-QF-BITPACK-040-inf-bias": ("IntegrityError", _tensor(
            {"zero": "bias", "zero_dtype": "BF16"},
            {"codes": _base_parts()["codes"], "scales": np.ones((2, 2), np.float16),
             "bias": np.array([[0x3F80, 0x7F80], [0, 0]], np.uint16)})),
        "bitpack-QF-BITPACK-040-nan-level": ("IntegrityError", _tensor(
            {"zero": "none", "zero_dtype": None, "levels": "custom"},
            {"codes": _base_parts()["codes"], "scales": np.ones((2, 2), np.float16),
             "levels": np.where(np.arange(16) == 5, np.nan, 1.0).astype(np.float32)})),
        "bitpack-QF-BITPACK-041-zero-out-of-range": (
            "IntegrityError", _tensor(parts=_with(zeros=_set((0, 1), 16)))),
        "bitpack-QF-BITPACK-042-perm-repeated-column": (
            "IntegrityError", _tensor({"perm": True}, perm_parts)),
        "bitpack-QF-BITPACK-011-padding-bits": ("IntegrityError", _tensor(
            {"bits": 3, "group_size": 3}, three_bit, shape=[2, 3])),
        "bitpack-QF-BITPACK-031-nf4-label-other-table": ("IntegrityError", _tensor(
            {"zero": "none", "zero_dtype": None, "levels": "nf4"}, nf4_wrong)),
        "bitpack-QF-BITPACK-001-bits-out-of-range": (
            "LayoutError", _tensor({"bits": 9})),
        "bitpack-QF-BITPACK-001-unknown-config-key": (
            "LayoutError", _tensor({"signed": True})),
        "bitpack-QF-BITPACK-001-zero-dtype-mismatch": (
            "LayoutError", _tensor({"zero_dtype": "F16"})),
        "bitpack-QF-BITPACK-004-codes-shape": ("LayoutError", _tensor(
            parts={**_base_parts(), "codes": np.zeros((2, 9), np.uint8)})),
        "bitpack-QF-BITPACK-004-missing-zeros": ("LayoutError", _tensor(
            parts={k: v for k, v in _base_parts().items() if k != "zeros"})),
    }


#: file stem -> name of the QFormatError subclass opening or reading it must raise
CASES = {stem: err for stem, (err, _) in _cases().items()}


def generate(out: Path = OUT) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, (_, tensor) in _cases().items():
        path = out / f"{stem}.qf"
        write_raw_qf(path, [tensor])
        written.append(path)
    return written


if __name__ == "__main__":
    for p in generate(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT):
        print(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p)
