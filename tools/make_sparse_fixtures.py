"""Write the sparse (SpQR) layout's fixtures: golden files (write-once) and hostile files.

* ``fixtures/golden/v1.0/sparse-<case>.qf`` + ``.npz``: written only if absent (never silently
  regenerated). Each tensor is our quantizer's output for the stored input (``<name>.input``)
  with the configuration in :func:`golden_cases`; ``<name>.decoded`` is the decoded float32
  tensor. Tests check that today's reader decodes the file to ``.decoded`` *and* that today's
  quantizer + writer reproduce the file byte for byte.
* ``fixtures/hostile/sparse/<CLAUSE>-<what>.qf``: each breaks one clause of
  ``specs/layouts/sparse.md``; ``expected.json`` gives the error class, the step at which the
  reader must raise it (``open`` = header checks, ``get`` = content checks before any kernel),
  the part or field it must name and the clause it must cite.

Files are made with the container's own building blocks (writer, header serializer, preamble
builder); content attacks skip the writer's content check, header attacks rewrite the JSON.
Run ``python tools/make_sparse_fixtures.py`` (``--check``: verify the hostile files are current).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import xxhash  # noqa: E402

import qformat  # noqa: E402
from qformat import spec  # noqa: E402
from qformat.container.header import dump_header  # noqa: E402
from qformat.container.preamble import build_preamble  # noqa: E402
from qformat.container.writer import Writer  # noqa: E402
from qformat.layouts.qtensor import QTensor  # noqa: E402

FIXTURES = ROOT / "fixtures"
GOLDEN = FIXTURES / "golden" / "v1.0"
HOSTILE = FIXTURES / "hostile" / "sparse"


def planted(rows: int, k: int, fraction: float, seed: int, shape: tuple[int, ...] | None = None,
            ) -> np.ndarray:
    """Gaussian weights (sigma 0.02) with ``fraction`` planted outliers of 8..30 sigma."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((rows, k)).astype(np.float32) * np.float32(0.02)
    n = round(fraction * rows * k)
    flat = rng.choice(rows * k, size=n, replace=False)
    sign = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=n)
    w.reshape(-1)[flat] = sign * rng.uniform(8.0, 30.0, size=n).astype(np.float32) * 0.02
    return w.reshape(shape or (rows, k))


# -- golden cases -------------------------------------------------------------------------------
def golden_cases() -> dict[str, dict[str, tuple[np.ndarray, dict[str, Any]]]]:
    """case -> tensor name -> (input array, quantize_sparse configuration)."""
    perm = np.random.default_rng(11).permutation(300)
    return {
        "sparse-small": {
            "proj.weight": (planted(40, 300, 0.01, seed=5),
                            {"bits": 3, "group_size": 16, "outlier_fraction": 0.01,
                             "perm": perm}),
            "up.weight": (planted(48, 64, 0.02, seed=6, shape=(2, 24, 64)),
                          {"bits": 2, "group_size": 8, "stat_bits": 4, "stat_group": 8,
                           "stat_dtype": "BF16", "value_dtype": "F32", "select": "magnitude",
                           "outlier_fraction": 0.02}),
            "down.weight": (planted(37, 50, 0.0, seed=7),
                            {"bits": 4, "group_size": 16, "stat_dtype": "F32",
                             "outlier_fraction": 0.0}),
        },
    }


def write_golden() -> list[Path]:
    """Write golden cases that do not exist yet; returns the files written."""
    written = []
    for case, tensors in golden_cases().items():
        qf, npz = GOLDEN / f"{case}.qf", GOLDEN / f"{case}.npz"
        if qf.exists() and npz.exists():  # pragma: no cover - write-once
            continue
        GOLDEN.mkdir(parents=True, exist_ok=True)
        qts = {name: qformat.quantize(arr, "sparse", **cfg) for name, (arr, cfg) in tensors.items()}
        qformat.save(qf, qts, {"fixture": case, "source": "tools/make_sparse_fixtures.py"})
        arrays = {}
        for name, (arr, _) in tensors.items():
            arrays[f"{name}.input"] = arr
            arrays[f"{name}.decoded"] = qts[name].dequantize()
        np.savez_compressed(npz, **arrays)
        written += [qf, npz]
    return written


# -- building blocks ----------------------------------------------------------------------------
def hostile_base() -> QTensor:
    """A valid tensor every hostile file starts from: 37 x 300, 3-bit, permuted, 1 % outliers.

    37 rows and 300 columns leave padding bits after the last code of the base rows (900 bits)
    and of the statistics rows (111 bits); K > 256 makes the column indices U16.
    """
    perm = np.random.default_rng(3).permutation(300)
    return qformat.quantize(planted(37, 300, 0.01, seed=4), "sparse", bits=3, group_size=16,
                            outlier_fraction=0.01, perm=perm)


def unchecked_file(qt: QTensor, name: str = "w") -> bytes:
    """A .qf file holding ``qt`` as is: the writer's content check is skipped."""
    qt._checked = True  # the attack: the writer trusts a tensor it was told is checked
    tmp = HOSTILE / ".tmp.qf"
    with Writer(tmp, {"fixture": "hostile"}) as w:
        w.add(name, qt)
    data = tmp.read_bytes()
    tmp.unlink()
    return data


def build_file(tensors: list[dict[str, Any]], metadata: dict[str, Any] | None = None) -> bytes:
    """A .qf file from header entries whose parts carry raw bytes under ``data``."""
    entries, blobs, pos = [], [], 0
    for t in tensors:
        parts = []
        for p in t["parts"]:
            offset = spec.align_up(pos)
            blobs.append(bytes(offset - pos) + p["data"])
            parts.append({"name": p["name"], "dtype": p["dtype"], "shape": list(p["shape"]),
                          "offset": offset, "nbytes": len(p["data"]),
                          spec.CHECKSUM: xxhash.xxh3_64(p["data"]).hexdigest()})
            pos = offset + len(p["data"])
        entries.append({"name": t["name"], "dtype": t["dtype"], "shape": list(t["shape"]),
                        "layout": t["layout"], "parts": parts})
    body = dump_header(metadata or {"fixture": "hostile"}, entries)
    start = spec.align_up(spec.PREAMBLE_SIZE + len(body))
    header = body + spec.HEADER_PAD * (start - spec.PREAMBLE_SIZE - len(body))
    return build_preamble(len(header), xxhash.xxh3_64_intdigest(header)) + header + b"".join(blobs)


def entry_of(qt: QTensor, name: str = "w") -> dict[str, Any]:
    """The header entry of ``qt`` with its parts' bytes (for header-level attacks)."""
    return {"name": name, "dtype": qt.dtype, "shape": list(qt.shape),
            "layout": qt.layout.to_dict(),
            "parts": [{"name": s.name, "dtype": s.dtype, "shape": list(s.shape),
                       "data": np.ascontiguousarray(qt.parts[s.name]).tobytes()}
                      for s in qt.part_specs]}


def tampered(edit: Callable[[dict[str, np.ndarray]], None]) -> bytes:
    """The base tensor with ``edit`` applied to copies of its parts, written unchecked."""
    base = hostile_base()
    parts = {k: v.copy() for k, v in base.parts.items()}
    edit(parts)
    return unchecked_file(QTensor(base.layout, base.shape, parts, dtype=base.dtype))


def _row_with(parts: dict[str, np.ndarray], at_least: int) -> int:
    """A row with at least ``at_least`` outliers."""
    counts = np.diff(parts["outliers.row_ptr"].astype(np.int64))
    return int(np.flatnonzero(counts >= at_least)[0])


def _set_f16(arr: np.ndarray, index: tuple[int, ...], bits: int) -> None:
    arr.view(np.uint16)[index] = bits


def _duplicate(parts: dict[str, np.ndarray]) -> None:
    r = _row_with(parts, 2)
    j = int(parts["outliers.row_ptr"][r]) + 1
    parts["outliers.col_idx"][j] = parts["outliers.col_idx"][j - 1]


def _unsorted(parts: dict[str, np.ndarray]) -> None:
    r = _row_with(parts, 2)
    j = int(parts["outliers.row_ptr"][r])
    col = parts["outliers.col_idx"]
    col[j], col[j + 1] = col[j + 1], col[j]


def _decreasing(parts: dict[str, np.ndarray]) -> None:
    ptr = parts["outliers.row_ptr"]
    r = _row_with(parts, 1) + 1  # row_ptr[r] > row_ptr[r - 1]
    ptr[r - 1], ptr[r] = ptr[r], ptr[r - 1]


def _stat_overflow() -> bytes:
    base = hostile_base()
    qt = qformat.quantize(planted(37, 300, 0.01, seed=4), "sparse", bits=3, group_size=16,
                          stat_dtype="F32")
    parts = {k: v.copy() for k, v in qt.parts.items()}
    parts["scales.scales"][2, 1] = np.float32(3e38)
    parts["scales.zeros"][2, 1] = np.float32(-3e38)
    del base
    return unchecked_file(QTensor(qt.layout, qt.shape, parts, dtype=qt.dtype))


def _header_attack(mutate: Callable[[dict[str, Any]], None]) -> bytes:
    entry = entry_of(hostile_base())
    mutate(entry)
    return build_file([entry])


def _nnz_too_big(entry: dict[str, Any]) -> None:
    entry["layout"]["config"]["nnz"] = 37 * 300 + 1


def _nnz_huge(entry: dict[str, Any]) -> None:
    entry["layout"]["config"]["nnz"] = 1 << 40


def _wide_col_idx(entry: dict[str, Any]) -> None:
    for p in entry["parts"]:
        if p["name"] == "outliers.col_idx":
            p["dtype"] = "U32"
            p["data"] = np.frombuffer(p["data"], dtype="<u2").astype("<u4").tobytes()


def _bits_5(entry: dict[str, Any]) -> None:
    entry["layout"]["config"]["bits"] = 5


def _unknown_key(entry: dict[str, Any]) -> None:
    entry["layout"]["config"]["outlier_order"] = "csc"


def _missing_perm(entry: dict[str, Any]) -> None:
    entry["parts"] = [p for p in entry["parts"] if p["name"] != "perm"]


#: file stem -> (builder, error class, step, field the error names, clause the message cites)
HOSTILE_CASES: dict[str, tuple[Callable[[], bytes], str, str, str, str]] = {
    "QF-SPARSE-001-bits-5": (lambda: _header_attack(_bits_5), "LayoutError", "open",
                             "config.bits", "QF-SPARSE-001"),
    "QF-SPARSE-007-nnz-exceeds-tensor": (lambda: _header_attack(_nnz_too_big), "LayoutError",
                                         "open", "config.nnz", "QF-SPARSE-007"),
    "QF-SPARSE-007-nnz-2pow40": (lambda: _header_attack(_nnz_huge), "LayoutError", "open",
                                 "config.nnz", "QF-SPARSE-007"),
    "QF-SPARSE-010-unknown-config-key": (lambda: _header_attack(_unknown_key), "LayoutError",
                                         "open", "config", "sparse configuration"),
    "QF-SPARSE-010-missing-perm-part": (lambda: _header_attack(_missing_perm), "LayoutError",
                                        "open", "parts", "QF-PRT-002"),
    "QF-SPARSE-012-col-idx-too-wide": (lambda: _header_attack(_wide_col_idx), "LayoutError",
                                       "open", "parts.outliers.col_idx", "QF-PRT-002"),
    "QF-SPARSE-030-nan-second-order-scale": (
        lambda: tampered(lambda p: _set_f16(p["scales.scales"], (1, 0), 0x7E00)),
        "IntegrityError", "get", "parts.scales.scales", "QF-SPARSE-030"),
    "QF-SPARSE-030-inf-second-order-zero": (
        lambda: tampered(lambda p: _set_f16(p["zeros.zeros"], (3, 2), 0xFC00)),
        "IntegrityError", "get", "parts.zeros.zeros", "QF-SPARSE-030"),
    "QF-SPARSE-031-statistic-overflows": (_stat_overflow, "IntegrityError", "get",
                                          "parts.scales.scales", "QF-SPARSE-031"),
    "QF-SPARSE-032-base-padding-bits": (
        lambda: tampered(lambda p: p["codes"].__setitem__((5, -1), p["codes"][5, -1] | 0x80)),
        "IntegrityError", "get", "parts.codes", "QF-SPARSE-032"),
    "QF-SPARSE-032-statistics-padding-bits": (
        lambda: tampered(lambda p: p["zeros.codes"].__setitem__(
            (0, -1), p["zeros.codes"][0, -1] | 0x80)),
        "IntegrityError", "get", "parts.zeros.codes", "QF-SPARSE-032"),
    "QF-SPARSE-040-row-ptr-not-starting-at-0": (
        lambda: tampered(lambda p: p["outliers.row_ptr"].__setitem__(0, 1)),
        "IntegrityError", "get", "parts.outliers.row_ptr", "QF-SPARSE-040"),
    "QF-SPARSE-040-row-ptr-decreasing": (lambda: tampered(_decreasing), "IntegrityError", "get",
                                         "parts.outliers.row_ptr", "QF-SPARSE-040"),
    "QF-SPARSE-040-row-ptr-past-nnz": (
        lambda: tampered(lambda p: p["outliers.row_ptr"].__setitem__(
            -1, p["outliers.row_ptr"][-1] + 1000)),
        "IntegrityError", "get", "parts.outliers.row_ptr", "QF-SPARSE-040"),
    "QF-SPARSE-041-column-out-of-range": (
        lambda: tampered(lambda p: p["outliers.col_idx"].__setitem__(3, 40000)),
        "IntegrityError", "get", "parts.outliers.col_idx", "QF-SPARSE-041"),
    "QF-SPARSE-042-duplicate-coordinate": (lambda: tampered(_duplicate), "IntegrityError", "get",
                                           "parts.outliers.col_idx", "QF-SPARSE-042"),
    "QF-SPARSE-042-columns-not-increasing": (lambda: tampered(_unsorted), "IntegrityError",
                                             "get", "parts.outliers.col_idx", "QF-SPARSE-042"),
    "QF-SPARSE-043-nan-value": (
        lambda: tampered(lambda p: _set_f16(p["outliers.values"], (4,), 0x7E01)),
        "IntegrityError", "get", "parts.outliers.values", "QF-SPARSE-043"),
    "QF-SPARSE-043-inf-value": (
        lambda: tampered(lambda p: _set_f16(p["outliers.values"], (0,), 0x7C00)),
        "IntegrityError", "get", "parts.outliers.values", "QF-SPARSE-043"),
    "QF-SPARSE-044-perm-repeats-a-column": (
        lambda: tampered(lambda p: p["perm"].__setitem__(1, p["perm"][0])),
        "IntegrityError", "get", "parts.perm", "QF-SPARSE-044"),
    "QF-SPARSE-044-perm-out-of-range": (
        lambda: tampered(lambda p: p["perm"].__setitem__(7, 1 << 30)),
        "IntegrityError", "get", "parts.perm", "QF-SPARSE-044"),
}


def write_hostile(check: bool = False) -> int:
    """Write (or with ``check``, compare) every hostile file; returns the number that differ."""
    HOSTILE.mkdir(parents=True, exist_ok=True)
    expected = {stem: {"error": err, "step": step, "field": field, "clause": clause}
                for stem, (_, err, step, field, clause) in HOSTILE_CASES.items()}
    wanted = {f"{stem}.qf": build() for stem, (build, *_) in HOSTILE_CASES.items()}
    wanted["expected.json"] = (json.dumps(expected, indent=1, sort_keys=True) + "\n").encode()
    stale = 0
    for name, data in wanted.items():
        path = HOSTILE / name
        if path.exists() and path.read_bytes() == data:
            continue
        stale += 1
        if not check:
            path.write_bytes(data)
    for path in HOSTILE.iterdir():
        if path.name not in wanted:
            stale += 1
            if not check:
                path.unlink()
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if hostile files are stale")
    args = parser.parse_args(argv)
    stale = write_hostile(check=args.check)
    if args.check:
        print(f"{stale} stale hostile file(s)")
        return 1 if stale else 0
    for path in write_golden():
        print(f"wrote {path.relative_to(ROOT)}")
    print(f"hostile files: {len(HOSTILE_CASES)} ({stale} rewritten)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
