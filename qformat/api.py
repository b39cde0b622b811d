"""The public entry points: open, save, writer, quantize."""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from .errors import UnsupportedError
from .layouts.qtensor import QTensor
from .layouts.registry import layout_class
from .model import Model

__all__ = ["open", "quantize", "save", "writer"]

# format -> "module:function" returning a Model; imported only when a file of that format opens
_READERS: dict[str, str] = {
    "qformat": "qformat.container.reader:QfModel",
    "gguf": "qformat.readers.gguf:read_gguf",
    "safetensors": "qformat.readers.safetensors:read_safetensors",
    "onnx": "qformat.readers.onnx:read_onnx",
    "tflite": "qformat.readers.tflite:read_tflite",
}


def open(path: str | os.PathLike[str], **options: Any) -> Model:
    """Open any supported model file (format sniffed from its bytes) for reading.

    A directory or a ``*.safetensors.index.json`` opens a sharded safetensors checkpoint.
    Use as a context manager; tensors are listed from headers and decoded on ``get``.
    """
    from .readers.sniff import sniff

    fmt = sniff(path)
    module, _, func = _READERS[fmt].partition(":")
    try:
        reader = getattr(importlib.import_module(module), func)
    except (ImportError, AttributeError) as exc:
        raise UnsupportedError(f"no {fmt} reader in this installation ({exc})",
                               path=os.fspath(path)) from None
    return reader(path, **options)


def quantize(array: np.ndarray, layout: str = "bitpack", **config: Any) -> QTensor:
    """Quantize ``array`` with ``layout`` (``bitpack``, ``codebook``, ``sparse``, ``raw``)."""
    return layout_class(layout).encode(np.asarray(array), **config)


def save(
    path: str | os.PathLike[str],
    tensors: Mapping[str, np.ndarray | QTensor],
    metadata: Mapping[str, Any] | None = None,
) -> None:
    """Write ``tensors`` to a new .qf file atomically (see :func:`writer` for streaming)."""
    from .container.writer import save as _save

    _save(path, tensors, metadata)


def writer(path: str | os.PathLike[str], metadata: Mapping[str, Any] | None = None,
           **options: Any) -> Any:
    """A streaming .qf writer: ``with qformat.writer(p) as w: w.add(name, tensor)``."""
    from .container.writer import Writer

    return Writer(path, metadata, **options)
