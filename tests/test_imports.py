"""Imports point one way: cli -> audit -> readers/container -> layouts -> kernels -> base."""

from __future__ import annotations

import ast
import subprocess
import sys

from .conftest import ROOT

PKG = ROOT / "qformat"
# room -> rooms it may import from (top-level modules are the base layer)
ALLOWED = {
    "base": {"base"},
    "kernels": {"base", "kernels"},
    "layouts": {"base", "kernels", "layouts"},
    "container": {"base", "kernels", "layouts", "container"},
    "readers": {"base", "kernels", "layouts", "container", "readers"},
    "api": {"base", "kernels", "layouts", "container", "readers", "api"},
    "audit": {"base", "kernels", "layouts", "container", "readers", "api", "audit"},
    "cli": {"base", "kernels", "layouts", "container", "readers", "api", "audit", "cli"},
}
BASE = {"errors", "limits", "dtypes", "spec", "model"}


def room_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "api"  # the package root (public re-exports)
    if parts[1] in BASE:
        return "base"
    return parts[1] if parts[1] in ALLOWED else "api"


def _runtime_nodes(tree: ast.AST):
    """All nodes except those under ``if TYPE_CHECKING:`` (annotations only, never executed)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def imported_modules(path, module: str):
    tree = ast.parse(path.read_text())
    pkg = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "qformat":
                yield from (f"qformat.{a.name}" for a in node.names)
            elif target.startswith("qformat."):
                yield target
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("qformat"))


def test_import_direction() -> None:
    bad = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        if module == "qformat":
            continue  # the package root re-exports the public API
        src_room = room_of(module)
        for target in imported_modules(path, module):
            if target == "qformat":
                continue
            dst_room = room_of(target)
            if dst_room not in ALLOWED[src_room]:
                bad.append(f"{module} ({src_room}) imports {target} ({dst_room})")
    assert not bad, "\n".join(bad)


def test_importing_qformat_loads_no_heavy_module() -> None:
    code = ("import sys, qformat\n"
            "print(','.join(m for m in ('numba', 'matplotlib', 'onnx', 'tflite', 'gguf',"
            " 'safetensors', 'construct', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
