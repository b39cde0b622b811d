"""The one interface every format is read through: :class:`Model` and :class:`TensorInfo`.

A reader (``.qf``, GGUF, safetensors, ONNX, TFLite) subclasses :class:`Model` and fills in
``keys``/``info``/``get``/``raw``; listing is header-only, ``get`` decodes one tensor on demand.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import QFormatError, UnsupportedError

if TYPE_CHECKING:
    from .layouts.qtensor import QTensor

__all__ = ["Model", "PartInfo", "TensorInfo"]


@dataclass(frozen=True)
class PartInfo:
    """One stored array behind a logical tensor (codes, scales, zeros, codebooks...)."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    nbytes: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape),
                "nbytes": self.nbytes}


@dataclass(frozen=True)
class TensorInfo:
    """What a tensor is, how it is stored, and what it costs; JSON-able via :meth:`to_dict`.

    ``bits`` is the width of one stored code, ``group_size`` the number of weights sharing a
    scale along the reduction axis (``None`` per tensor, ``-1`` per output channel) and
    ``bits_per_weight`` counts every stored byte of the tensor, times 8, over its element count.
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    method: str = "none"
    bits: float | None = None
    group_size: int | None = None
    symmetric: bool | None = None
    bits_per_weight: float | None = None
    nbytes: int = 0
    parts: tuple[PartInfo, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def numel(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    def to_dict(self) -> dict[str, Any]:
        """The tensor entry of ``inspect --json``: fixed fields first, then ``extra``."""
        out: dict[str, Any] = {
            "name": self.name,
            "shape": list(self.shape),
            "dtype": self.dtype,
            "method": self.method,
            "bits": self.bits,
            "group_size": self.group_size,
            "symmetric": self.symmetric,
            "bits_per_weight": self.bits_per_weight,
            "nbytes": self.nbytes,
            "parts": [p.to_dict() for p in self.parts],
        }
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out


def bits_per_weight(nbytes: int, numel: int) -> float | None:
    """Stored bits per element, rounded to 4 decimals (None for empty tensors)."""
    return None if numel == 0 else round(nbytes * 8 / numel, 4)


class Model(ABC):
    """A model file opened for reading. Use as a context manager; listing never decodes data."""

    #: "qformat", "gguf", "safetensors", "onnx" or "tflite".
    format: str = ""

    def __init__(self, path: str) -> None:
        self.path = str(path)
        self.metadata: dict[str, Any] = {}
        self.warnings: list[str] = []
        self.file_size: int = 0

    # -- the contract --------------------------------------------------------------------------
    @abstractmethod
    def keys(self) -> list[str]:
        """Logical tensor names, in file order."""

    @abstractmethod
    def info(self, name: str) -> TensorInfo:
        """Description of one tensor (header only, no payload read)."""

    @abstractmethod
    def get(self, name: str) -> np.ndarray:
        """The tensor dequantized to float32, in its logical shape."""

    def raw(self, name: str) -> QTensor:
        """The stored quantized tensor as a QTensor, where a qformat layout can hold it."""
        self._require(name)
        raise UnsupportedError(
            "no qformat layout holds this tensor exactly", path=self.path, tensor=name
        )

    def quantization(self) -> dict[str, Any]:
        """Model-level summary: methods used, a label, overall bits per weight, evidence."""
        infos = [self.info(k) for k in self.keys()]
        methods = sorted({i.method for i in infos if i.method != "none"})
        total_bytes = sum(i.nbytes for i in infos)
        total_elems = sum(i.numel for i in infos)
        return {
            "methods": methods,
            "label": "+".join(methods) if methods else "unquantized",
            "bits_per_weight": bits_per_weight(total_bytes, total_elems),
            "evidence": [],
        }

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release file handles and maps."""

    # -- conveniences --------------------------------------------------------------------------
    def _require(self, name: str) -> None:
        if name not in self:
            raise QFormatError("no such tensor", path=self.path, tensor=name)

    def __contains__(self, name: object) -> bool:
        return name in self.keys()

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __enter__(self) -> Model:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.format} {self.path!r} tensors={len(self)}>"
