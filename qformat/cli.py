"""The ``qformat`` command line. The only module that prints or exits.

Exit codes: 0 success, 1 a check found a problem, 2 bad usage or an unreadable file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

EXIT_OK, EXIT_PROBLEM, EXIT_UNREADABLE = 0, 1, 2


def _fmt_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=1, ensure_ascii=False, allow_nan=False, default=str)
    sys.stdout.write("\n")


def _cell(v: Any) -> str:
    return "-" if v is None else str(v)


def _print_report(d: dict[str, Any]) -> None:
    q = d["quantization"]
    print(f"{d['path']}: {d['format']}, {_fmt_bytes(d['file_size'])}, "
          f"{len(d['tensors'])} tensors")
    print(f"quantization: {q.get('label')} (methods: {', '.join(q.get('methods') or ['none'])}; "
          f"{_cell(q.get('bits_per_weight'))} bits/weight)")
    for ev in q.get("evidence") or []:
        print(f"  evidence: {ev}")
    if d["metadata"]:
        print("metadata:")
        for k, v in d["metadata"].items():
            text = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
            print(f"  {k}: {text[:120]!s}")
    rows = [("name", "shape", "dtype", "method", "bits", "group", "sym", "bpw", "bytes")]
    for t in d["tensors"]:
        method = t["method"] + (f":{t['type']}" if t.get("type") else "")
        rows.append((t["name"], "x".join(map(str, t["shape"])) or "()", t["dtype"], method,
                     _cell(t["bits"]), _cell(t["group_size"]), _cell(t["symmetric"]),
                     _cell(t["bits_per_weight"]), _fmt_bytes(t["nbytes"])))
    widths = [min(60, max(len(r[i]) for r in rows)) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c[:w].ljust(w) for c, w in zip(r, widths)).rstrip())
    for w in d["warnings"]:
        print(f"warning: {w}")


def cmd_inspect(args: argparse.Namespace) -> int:
    from .audit.report import inspect

    d = inspect(args.path).to_dict()
    if args.json:
        _print_json(d)
    else:
        _print_report(d)
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from .api import open as open_model
    from .errors import IntegrityError

    result: dict[str, Any] = {"path": args.path, "ok": True, "error": None}
    try:
        with open_model(args.path) as model:
            result["format"] = model.format
            result["tensors"] = len(model)
            verify = getattr(model, "verify", None)
            if verify is not None:
                verify()
                result["checked"] = "checksums of every part, padding"
            else:
                for name in model:
                    model.get(name)
                result["checked"] = "every tensor decoded (format has no checksums)"
    except IntegrityError as exc:
        result.update(ok=False, error=str(exc), tensor=exc.tensor)
        if args.json:
            _print_json(result)
        else:
            print(f"CORRUPT: {exc}")
        return EXIT_PROBLEM
    if args.json:
        _print_json(result)
    else:
        print(f"OK: {args.path}: {result['tensors']} tensors, {result['checked']}")
    return EXIT_OK


def cmd_dequantize(args: argparse.Namespace) -> int:
    import numpy as np

    from .api import open as open_model

    with open_model(args.path) as model:
        array = model.get(args.tensor)
    out = os.path.abspath(args.output)
    tmp = f"{out}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as f:
            np.save(f, array, allow_pickle=False)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    if not args.quiet:
        print(f"wrote {out}: float32 {list(array.shape)}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="qformat",
        description="Inspect, verify and dequantize quantized model files "
                    "(.qf, GGUF, safetensors, ONNX, TFLite).",
    )
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("inspect", help="list tensors, quantization scheme and bits per weight")
    s.add_argument("path")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(func=cmd_inspect)

    s = sub.add_parser("verify", help="check integrity (exit 0 ok, 1 corrupt, 2 unreadable)")
    s.add_argument("path")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(func=cmd_verify)

    s = sub.add_parser("dequantize", help="write one tensor as float32 .npy")
    s.add_argument("path")
    s.add_argument("tensor")
    s.add_argument("-o", "--output", required=True, help="output .npy path")
    s.add_argument("-q", "--quiet", action="store_true")
    s.set_defaults(func=cmd_dequantize)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from . import __version__

        print(f"qformat {__version__}")
        return EXIT_OK
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_UNREADABLE
    from .errors import QFormatError

    try:
        return int(args.func(args))
    except QFormatError as exc:
        print(f"qformat: error: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:
        print(f"qformat: error: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE


if __name__ == "__main__":
    sys.exit(main())
