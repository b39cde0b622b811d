"""Write the .qf fixtures: the bundled example, golden files (write-once) and hostile files.

* ``fixtures/example.qf``: the file the README's first command inspects.
* ``fixtures/golden/v1.0/<case>.qf`` + ``<case>.npz``: written only if absent (never silently
  regenerated): tests check that today's reader decodes them to the stored arrays *and* that
  today's writer reproduces their bytes exactly.
* ``fixtures/hostile/qf/<CLAUSE>-<what>.qf``: each breaks one clause of ``specs/qformat.md``;
  ``expected.json`` says which error class the reader must raise and at which step.

Run ``python tools/make_qf_fixtures.py`` (``--check`` verifies hostile files are up to date).
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import xxhash  # noqa: E402

import qformat  # noqa: E402
from qformat import spec  # noqa: E402

FIXTURES = ROOT / "fixtures"
GOLDEN = FIXTURES / "golden" / "v1.0"
HOSTILE = FIXTURES / "hostile" / "qf"


# -- the bundled example ------------------------------------------------------------------------
def example_tensors() -> dict[str, Any]:
    """A tiny two-layer MLP stored with each layout the container holds."""
    rng = np.random.default_rng(7)
    up = rng.standard_normal((96, 64)).astype(np.float32) * 0.1
    down = rng.standard_normal((64, 96)).astype(np.float32) * 0.1
    down[rng.integers(0, 64, 12), rng.integers(0, 96, 12)] *= 25  # a few outliers
    tensors: dict[str, Any] = {
        "embed.weight": rng.standard_normal((64, 64)).astype(np.float16),
        "mlp.up.weight": qformat.quantize(up, "bitpack", bits=4, group_size=32),
        "mlp.down.weight": qformat.quantize(down, "sparse", group_size=16),
        "mlp.gate.weight": qformat.quantize(up, "bitpack", bits=4, group_size=64,
                                            levels="nf4"),
        "attn.q.weight": qformat.quantize(
            rng.standard_normal((64, 64)).astype(np.float32) * 0.1, "codebook",
            num_codebooks=1, codebook_bits=6, in_group_size=4, seed=0),
        "lm_head.weight": qformat.quantize(up.T, "raw", dtype="BF16"),
        "mlp.up.bias": np.zeros(96, dtype=np.float32),
        "norm.weight": np.ones(64, dtype=np.float32),
        "token_ids": np.arange(10, dtype=np.int32),
    }
    return tensors


EXAMPLE_METADATA = {
    "description": "qformat example: a tiny MLP",
    "source": "tools/make_qf_fixtures.py (random weights, seed 7)",
}


# -- golden cases -------------------------------------------------------------------------------
def golden_cases() -> dict[str, tuple[dict[str, np.ndarray], dict[str, Any]]]:
    rng = np.random.default_rng(2024)
    cases: dict[str, tuple[dict[str, np.ndarray], dict[str, Any]]] = {
        "empty": ({}, {}),
        "scalar-pair": ({"x": np.array([1.0, 2.0], dtype=np.float32)}, {}),
        "raw-dtypes": (
            {
                "f32": rng.standard_normal((3, 5)).astype(np.float32),
                "f16": rng.standard_normal((7,)).astype(np.float16),
                "i8": rng.integers(-128, 128, (2, 3, 4), dtype=np.int8),
                "u8": rng.integers(0, 256, (9,), dtype=np.uint8),
                "i16": rng.integers(-(2**15), 2**15, (4, 4), dtype=np.int16),
                "i32": rng.integers(-(2**31), 2**31, (5,), dtype=np.int32),
                "scalar": np.array(3.5, dtype=np.float32),
                "empty": np.zeros((0, 4), dtype=np.float32),
                "five-d": rng.standard_normal((2, 1, 3, 1, 2)).astype(np.float32),
            },
            {"note": "every raw dtype", "nested": {"list": [1, 2.5, None, True], "s": "é"}},
        ),
    }
    return cases


def write_golden(force: bool = False) -> list[Path]:
    written = []
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name, (tensors, metadata) in golden_cases().items():
        path = GOLDEN / f"{name}.qf"
        if path.exists() and not force:
            continue  # write-once: a golden file is never regenerated silently
        qformat.save(path, tensors, metadata)
        np.savez(GOLDEN / f"{name}.npz", **dict(tensors.items()))
        written.append(path)
    return written


# -- hostile files ------------------------------------------------------------------------------
def _valid_parts() -> tuple[dict[str, Any], bytes]:
    """A valid two-tensor header object and its data section."""
    a = np.arange(6, dtype=np.float32).reshape(2, 3).tobytes()
    b = np.arange(4, dtype=np.int16).tobytes()

    def h(data: bytes) -> str:
        return f"{xxhash.xxh3_64_intdigest(data):016x}"

    header = {
        "metadata": {"k": "v"},
        "tensors": [
            {"name": "a", "dtype": "F32", "shape": [2, 3], "layout": {"name": "raw", "config": {}},
             "parts": [{"name": "data", "dtype": "F32", "shape": [2, 3], "offset": 0,
                        "nbytes": 24, "xxh3_64": h(a)}]},
            {"name": "b", "dtype": "I16", "shape": [4], "layout": {"name": "raw", "config": {}},
             "parts": [{"name": "data", "dtype": "I16", "shape": [4], "offset": 64,
                        "nbytes": 8, "xxh3_64": h(b)}]},
        ],
    }
    data = a + bytes(64 - len(a)) + b
    return header, data


def craft(header: Any = None, data: bytes | None = None, *, text: bytes | None = None,
          major: int = 1, minor: int = 0, flags: int = 0, magic: bytes = spec.MAGIC,
          header_length: int | None = None, checksum: int | None = None,
          pad: bytes = b" ") -> bytes:
    """Assemble a .qf file from parts, with any field overridable to break a clause."""
    if text is None:
        text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    padded = text + pad * (spec.align_up(spec.PREAMBLE_SIZE + len(text)) - spec.PREAMBLE_SIZE
                           - len(text))
    hlen = len(padded) if header_length is None else header_length
    hsum = xxhash.xxh3_64_intdigest(padded) if checksum is None else checksum
    pre = struct.pack("<8sHHIQQ", magic, major, minor, flags, hlen, hsum)
    return pre + padded + (data or b"")


def hostile_cases() -> dict[str, tuple[bytes, str, str]]:
    """name -> (file bytes, expected error class, step where it must be raised)."""
    H, D = _valid_parts()

    def mod(fn):
        h = json.loads(json.dumps(H))
        fn(h)
        return h

    def part(h, t=0):
        return h["tensors"][t]["parts"][0]

    valid = craft(H, D)
    flipped = bytearray(valid)
    flipped[-3] ^= 0x10  # a bit in tensor b's data
    pad_dirty = bytearray(valid)
    pad_dirty[len(valid) - len(D) + 30] = 1  # inside the zero padding after tensor a
    bad_utf8 = craft(text=json.dumps(H, separators=(",", ":")).encode().replace(
        b'"name":"a"', b'"name":"\xff\xfe"'))
    surrogate = craft(text=json.dumps(H, separators=(",", ":")).encode().replace(
        b'"name":"a"', b'"name":"\\ud800"'), data=D)
    dup_key = craft(text=json.dumps(H, separators=(",", ":")).encode().replace(
        b'{"k":"v"}', b'{"k":"v","k":"w"}'), data=D)
    nan_const = craft(text=json.dumps(H, separators=(",", ":")).encode().replace(
        b'{"k":"v"}', b'{"k":NaN}'), data=D)
    deep: Any = 0
    for _ in range(40):
        deep = [deep]
    cases = {
        "QF-PRE-001-truncated-preamble": (valid[:20], "HeaderError", "open"),
        "QF-PRE-002-bad-magic": (craft(H, D, magic=b"\x89QFMT\r\n\n"), "HeaderError",
                                 "open"),
        "QF-PRE-003-newer-major": (craft(H, D, major=2), "UnsupportedError", "open"),
        "QF-PRE-004-required-flag": (craft(H, D, flags=1), "UnsupportedError", "open"),
        "QF-PRE-005-header-past-eof": (craft(H, D, header_length=1 << 20), "HeaderError", "open"),
        "QF-PRE-005-header-over-limit": (craft(H, D, header_length=1 << 40), "LimitError",
                                         "open"),
        "QF-PRE-005-truncated-header": (valid[:100], "HeaderError", "open"),
        "QF-PRE-006-misaligned-data": (craft(H, D, header_length=len(valid) - len(D) - 32 - 8),
                                       "HeaderError", "open"),
        "QF-HDR-001-header-checksum": (craft(H, D, checksum=12345), "IntegrityError", "open"),
        "QF-HDR-002-not-utf8": (bad_utf8, "HeaderError", "open"),
        "QF-HDR-002-nul-padding": (craft(H, D, pad=b"\0"), "HeaderError", "open"),
        "QF-HDR-002-not-object": (craft([1, 2, 3], D), "HeaderError", "open"),
        "QF-HDR-003-duplicate-key": (dup_key, "HeaderError", "open"),
        "QF-HDR-003-nan-constant": (nan_const, "HeaderError", "open"),
        "QF-HDR-004-unknown-top-key": (craft(mod(lambda h: h.update(extra=1)), D), "HeaderError",
                                       "open"),
        "QF-HDR-005-deep-nesting": (craft(mod(lambda h: h["metadata"].update(d=deep)), D),
                                    "LimitError", "open"),
        "QF-HDR-006-metadata-not-object": (craft(mod(lambda h: h.update(metadata=[1])), D),
                                           "HeaderError", "open"),
        "QF-TEN-001-tensors-not-array": (craft(mod(lambda h: h.update(tensors={})), D),
                                         "HeaderError", "open"),
        "QF-TEN-002-unknown-tensor-key": (
            craft(mod(lambda h: h["tensors"][0].update(extra=1)), D), "HeaderError", "open"),
        "QF-TEN-003-duplicate-name": (craft(mod(lambda h: h["tensors"][1].update(name="a")), D),
                                      "HeaderError", "open"),
        "QF-TEN-003-lone-surrogate-name": (surrogate, "HeaderError", "open"),
        "QF-TEN-003-empty-name": (craft(mod(lambda h: h["tensors"][0].update(name="")), D),
                                  "HeaderError", "open"),
        "QF-TEN-004-unknown-dtype": (craft(mod(lambda h: h["tensors"][0].update(dtype="F12")),
                                           D), "HeaderError", "open"),
        "QF-TEN-005-dims-overflow": (
            craft(mod(lambda h: h["tensors"][0].update(shape=[2**40, 2**40])), D),
            "LimitError", "open"),
        "QF-TEN-005-negative-dim": (craft(mod(lambda h: h["tensors"][0].update(shape=[-2, -3])),
                                          D), "HeaderError", "open"),
        "QF-TEN-005-too-many-dims": (craft(mod(lambda h: h["tensors"][0].update(shape=[1] * 17)),
                                           D), "LimitError", "open"),
        "QF-TEN-006-unknown-layout": (
            craft(mod(lambda h: h["tensors"][0]["layout"].update(name="zstd-magic")), D),
            "UnsupportedError", "open"),
        "QF-TEN-007-bad-layout-config": (
            craft(mod(lambda h: h["tensors"][0]["layout"].update(config={"bits": 4})), D),
            "LayoutError", "open"),
        "QF-PRT-001-part-missing-key": (craft(mod(lambda h: part(h).pop("nbytes")), D),
                                        "HeaderError", "open"),
        "QF-PRT-002-part-shape-mismatch": (craft(mod(lambda h: part(h).update(shape=[3, 2])), D),
                                           "LayoutError", "open"),
        "QF-PRT-002-nbytes-mismatch": (craft(mod(lambda h: part(h).update(nbytes=20)), D),
                                       "LayoutError", "open"),
        "QF-PRT-003-bad-checksum-string": (craft(mod(lambda h: part(h).update(xxh3_64="xyz")),
                                                 D), "HeaderError", "open"),
        "QF-DAT-001-overlap": (craft(mod(lambda h: part(h, 1).update(offset=0)), D),
                               "HeaderError", "open"),
        "QF-DAT-001-misaligned": (craft(mod(lambda h: part(h, 1).update(offset=24)), D),
                                  "HeaderError", "open"),
        "QF-DAT-001-hole": (craft(mod(lambda h: part(h, 1).update(offset=128)), D + bytes(64)),
                            "HeaderError", "open"),
        "QF-DAT-001-out-of-order": (craft(mod(lambda h: h["tensors"].reverse()), D),
                                    "HeaderError", "open"),
        "QF-DAT-002-truncated-part": (valid[:-4], "HeaderError", "open"),
        "QF-DAT-002-trailing-bytes": (valid + b"PK\x03\x04 polyglot", "HeaderError", "open"),
        "QF-DAT-003-dirty-padding": (bytes(pad_dirty), "IntegrityError", "verify"),
        "QF-DAT-004-flipped-bit": (bytes(flipped), "IntegrityError", "get"),
    }
    assert craft(H, D) == valid
    return cases


def write_hostile(check: bool = False) -> int:
    HOSTILE.mkdir(parents=True, exist_ok=True)
    expected = {}
    stale = 0
    for name, (data, error, step) in hostile_cases().items():
        path = HOSTILE / f"{name}.qf"
        expected[name] = {"error": error, "step": step}
        if check:
            stale += not path.exists() or path.read_bytes() != data
        else:
            path.write_bytes(data)
    manifest = json.dumps(expected, indent=1, sort_keys=True) + "\n"
    if check:
        stale += (HOSTILE / "expected.json").read_text() != manifest
    else:
        (HOSTILE / "expected.json").write_text(manifest)
    return stale


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--check", action="store_true", help="fail if hostile files are stale")
    args = ap.parse_args(argv)
    if args.check:
        return 1 if write_hostile(check=True) else 0
    qformat.save(FIXTURES / "example.qf", example_tensors(), EXAMPLE_METADATA)
    for p in write_golden():
        print(f"wrote golden {p.relative_to(ROOT)}")
    write_hostile()
    print(f"wrote {len(hostile_cases())} hostile files to {HOSTILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
