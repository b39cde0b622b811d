"""``qformat.inspect``: a JSON-able report of what is inside a model file (header only)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..model import Model

__all__ = ["Report", "inert", "inspect"]

#: Longest metadata string shown as is; longer ones are cut and marked.
MAX_SHOWN_STRING = 256
#: Most list items shown per metadata value.
MAX_SHOWN_ITEMS = 16


def inert(value: Any, depth: int = 0) -> Any:
    """Metadata made safe to show: long strings cut, long lists shortened, never rendered."""
    if isinstance(value, str):
        if len(value) > MAX_SHOWN_STRING:
            return value[:MAX_SHOWN_STRING] + f"... [{len(value)} chars]"
        return value
    if isinstance(value, bool | int | float) or value is None:
        return value
    if depth > 8:
        return "..."
    if isinstance(value, dict):
        return {str(k): inert(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        shown = [inert(v, depth + 1) for v in value[:MAX_SHOWN_ITEMS]]
        if len(value) > MAX_SHOWN_ITEMS:
            shown.append(f"... [{len(value)} items]")
        return shown
    return inert(str(value), depth)


@dataclass
class Report:
    """What ``qformat inspect`` shows; :meth:`to_dict` is the ``--json`` output."""

    format: str
    path: str
    file_size: int
    quantization: dict[str, Any]
    metadata: dict[str, Any]
    tensors: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "path": self.path,
            "file_size": self.file_size,
            "quantization": self.quantization,
            "metadata": inert(self.metadata),
            "tensors": self.tensors,
            "warnings": list(self.warnings),
        }


def report_of(model: Model) -> Report:
    tensors = [model.info(name).to_dict() for name in model]
    return Report(
        format=model.format,
        path=model.path,
        file_size=model.file_size,
        quantization=model.quantization(),
        metadata=model.metadata,
        tensors=tensors,
        warnings=list(model.warnings),
    )


def inspect(path: str | os.PathLike[str], **options: Any) -> Report:
    """Open ``path`` (any supported format) and describe every tensor without decoding data."""
    from ..api import open as open_model

    with open_model(path, **options) as model:
        return report_of(model)
