"""Write the codebook layout's fixtures.

* ``fixtures/hostile/qf-codebook/<CLAUSE>-<what>.qf``: each breaks one clause of
  ``specs/layouts/codebook.md`` (or a container clause, through a codebook tensor);
  ``expected.json`` gives the error class, the step where it must be raised (``open`` or
  ``get``) and the clause id the message must cite.
* ``fixtures/golden/v1.0/codebook.qf`` + ``codebook.npz``: written only if absent (write-once);
  ``tests/codebook/test_fixtures.py`` checks that today's reader decodes them to the stored
  weights and that today's writer re-creates the file byte for byte from the stored parts.

Run ``python tools/make_codebook_fixtures.py`` (``--check``: fail if hostile files are stale).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import xxhash  # noqa: E402

import qformat  # noqa: E402
from qformat import spec  # noqa: E402
from qformat.dtypes import f32_to_bf16  # noqa: E402
from qformat.layouts.codebook import from_aqlm, from_codes, pack_codes  # noqa: E402
from tools.make_qf_fixtures import craft  # noqa: E402

FIXTURES = ROOT / "fixtures"
HOSTILE = FIXTURES / "hostile" / "qf-codebook"
GOLDEN = FIXTURES / "golden" / "v1.0"

#: A valid tensor: 4 x 24 weights, 2 codebooks of 8 entries (3 bits), groups of 1 x 8.
#: Each row holds 3 groups x 2 codes x 3 bits = 18 bits in 3 bytes (6 pad bits).
BASE_CONFIG = {"mode": "additive", "num_codebooks": 2, "codebook_bits": 3, "in_group_size": 8,
               "out_group_size": 1, "codebook_dtype": "F16", "scale_dtype": "F16"}


def _base_parts() -> dict[str, tuple[str, list[int], np.ndarray]]:
    rng = np.random.default_rng(4)
    codes = pack_codes(rng.integers(0, 8, (4, 6)), 3)
    books = (rng.standard_normal((2, 8, 1, 8)) * 0.1).astype(np.float16)
    scales = rng.uniform(0.5, 2.0, 4).astype(np.float16)
    return {"codes": ("U8", [4, 3], codes), "codebooks": ("F16", [2, 8, 1, 8], books),
            "scales": ("F16", [4], scales)}


def _file(config: dict[str, Any] | None = None, *, shape: list[int] | None = None,
          dtype: str = "F16", parts: dict[str, tuple[str, list[int], np.ndarray]] | None = None,
          declared: dict[str, Any] | None = None) -> bytes:
    """One codebook tensor ``w`` in a .qf file; ``declared`` overrides header part fields."""
    parts = parts or _base_parts()
    data = b""
    entries = []
    for name, (pdtype, pshape, arr) in parts.items():
        blob = np.ascontiguousarray(arr).tobytes()
        offset = spec.align_up(len(data))
        data += bytes(offset - len(data)) + blob
        entry = {"name": name, "dtype": pdtype, "shape": pshape, "offset": offset,
                 "nbytes": len(blob), spec.CHECKSUM: f"{xxhash.xxh3_64_intdigest(blob):016x}"}
        entry.update((declared or {}).get(name, {}))
        entries.append(entry)
    header = {"metadata": {"fixture": "codebook hostile"},
              "tensors": [{"name": "w", "dtype": dtype, "shape": shape or [4, 24],
                           "layout": {"name": "codebook", "config": config or BASE_CONFIG},
                           "parts": entries}]}
    return craft(header, data)


def _with_part(name: str, value: np.ndarray) -> dict[str, tuple[str, list[int], np.ndarray]]:
    parts = _base_parts()
    pdtype, pshape, _ = parts[name]
    parts[name] = (pdtype, pshape, value)
    return parts


def hostile_cases() -> dict[str, tuple[bytes, str, str, str]]:
    """name -> (file bytes, error class, step, clause id the message must cite)."""
    base = _base_parts()
    pad = base["codes"][2].copy()
    pad[1, 2] |= 0x40  # bit 22 of row 1: past the 18 bits of codes
    nan_book = base["codebooks"][2].copy()
    nan_book[1, 5, 0, 2] = np.float16(np.nan)
    inf_scale = base["scales"][2].copy()
    inf_scale[2] = np.float16(np.inf)
    bf16_book = f32_to_bf16(base["codebooks"][2].astype(np.float32))
    bf16_book.reshape(-1)[17] = 0x7FC0  # a bfloat16 NaN
    bf16_parts = _base_parts()
    bf16_parts["codebooks"] = ("BF16", [2, 8, 1, 8], bf16_book)

    def cfg(**changes: Any) -> dict[str, Any]:
        out = {**BASE_CONFIG, **changes}
        return {k: v for k, v in out.items() if v is not None}

    huge = 1 << 40
    return {
        "QF-CODEBOOK-001-unknown-mode": (_file(cfg(mode="scalar")), "LayoutError", "open",
                                         "QF-CODEBOOK-001"),
        "QF-CODEBOOK-001-bits-out-of-range": (_file(cfg(codebook_bits=17)), "LayoutError",
                                              "open", "QF-CODEBOOK-001"),
        "QF-CODEBOOK-001-boolean-count": (_file(cfg(num_codebooks=True)), "LayoutError",
                                          "open", "QF-CODEBOOK-001"),
        "QF-CODEBOOK-001-missing-key": (_file(cfg(scale_dtype=None)), "LayoutError", "open",
                                        "QF-CODEBOOK-001"),
        "QF-CODEBOOK-001-product-split": (
            _file(cfg(mode="product", num_codebooks=3)), "LayoutError", "open",
            "QF-CODEBOOK-001"),
        "QF-CODEBOOK-002-group-does-not-divide": (_file(shape=[4, 20]), "LayoutError", "open",
                                                  "QF-CODEBOOK-002"),
        "QF-CODEBOOK-002-not-2d": (_file(shape=[2, 2, 24]), "LayoutError", "open",
                                   "QF-CODEBOOK-002"),
        "QF-CODEBOOK-002-integer-dtype": (_file(dtype="I8"), "LayoutError", "open",
                                          "QF-CODEBOOK-002"),
        "QF-CODEBOOK-002-codebook-shape": (
            _file(declared={"codebooks": {"shape": [2, 4, 1, 8], "nbytes": 128}}),
            "LayoutError", "open", "QF-PRT-002"),
        "QF-CODEBOOK-002-huge-shape": (
            _file(shape=[huge, 24], declared={"codes": {"shape": [huge, 3], "nbytes": 3 * huge},
                                              "scales": {"shape": [huge]}}),
            "HeaderError", "open", "QF-DAT-002"),
        "QF-CODEBOOK-003-stray-pad-bits": (_file(parts=_with_part("codes", pad)),
                                           "IntegrityError", "get", "QF-CODEBOOK-003"),
        "QF-CODEBOOK-004-nan-codebook": (_file(parts=_with_part("codebooks", nan_book)),
                                         "IntegrityError", "get", "QF-CODEBOOK-004"),
        "QF-CODEBOOK-004-inf-scale": (_file(parts=_with_part("scales", inf_scale)),
                                      "IntegrityError", "get", "QF-CODEBOOK-004"),
        "QF-CODEBOOK-004-nan-bf16-codebook": (
            _file(cfg(codebook_dtype="BF16"), parts=bf16_parts), "IntegrityError", "get",
            "QF-CODEBOOK-004"),
    }


def valid_file() -> bytes:
    """The unbroken file every hostile case starts from (tests check that it reads)."""
    return _file()


def write_hostile(check: bool = False) -> int:
    HOSTILE.mkdir(parents=True, exist_ok=True)
    expected = {}
    stale = 0
    for name, (data, error, step, clause) in hostile_cases().items():
        path = HOSTILE / f"{name}.qf"
        expected[name] = {"error": error, "step": step, "clause": clause}
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


# -- golden --------------------------------------------------------------------------------------
def golden_tensors() -> dict[str, qformat.QTensor]:
    """Small tensors covering both modes, odd widths, out groups and every storage type."""
    rng = np.random.default_rng(2026)
    tensors = {
        "additive-2x8": qformat.quantize(
            (rng.standard_normal((32, 64)) * 0.05).astype(np.float32), "codebook", seed=1),
        "product-4x3-bf16": qformat.quantize(
            (rng.standard_t(3, (16, 48)) * 0.05).astype(np.float16), "codebook", mode="product",
            num_codebooks=4, codebook_bits=3, in_group_size=8, codebook_dtype="BF16",
            scale_dtype="F32", seed=2),
        "odd-3x5-og2": from_codes(rng.integers(0, 32, (6, 5, 3)),
                                  rng.standard_normal((3, 32, 2, 4)).astype(np.float32),
                                  rng.uniform(-1, 1, 12).astype(np.float16), dtype="F32"),
    }
    # AQLM layout with 12-bit codes in int16 signed storage (a 1x16 codebook would be 1 MiB)
    codes = rng.integers(-(1 << 11), 1 << 11, (8, 4, 1)).astype(np.int16)
    tensors["aqlm-1x12"] = from_aqlm(
        codes, (rng.standard_normal((1, 1 << 12, 1, 4)) * 0.01).astype(np.float16),
        rng.uniform(0.5, 1.5, (8, 1, 1, 1)).astype(np.float16), in_group_size=4,
        out_group_size=1, num_codebooks=1, nbits_per_codebook=12)
    return tensors


def write_golden() -> bool:
    path = GOLDEN / "codebook.qf"
    if path.exists():
        return False  # write-once
    tensors = golden_tensors()
    qformat.save(path, tensors, {"fixture": "codebook golden v1.0"})
    arrays = {}
    for name, qt in tensors.items():
        for part, arr in qt.parts.items():
            arrays[f"{name}/{part}"] = arr
        arrays[f"{name}/dequantized"] = qt.dequantize()
    np.savez(GOLDEN / "codebook.npz", **arrays)
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if hostile files are stale")
    args = ap.parse_args(argv)
    if args.check:
        return 1 if write_hostile(check=True) else 0
    write_hostile()
    print(f"wrote {len(hostile_cases())} hostile files to {HOSTILE.relative_to(ROOT)}")
    if write_golden():
        print(f"wrote golden {(GOLDEN / 'codebook.qf').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
