"""What a layout is: a frozen configuration that maps a logical tensor to named stored parts.

A layout never touches files. It says which parts a tensor of a given shape has
(:meth:`Layout.part_specs`, used by the container to check a header before reading any data),
checks their content before a kernel sees them (:meth:`Layout.check_parts`), and decodes them.
New layouts plug in through :mod:`qformat.layouts.registry` without changing the container.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import numpy as np

from ..dtypes import DTYPES
from ..errors import LayoutError

if TYPE_CHECKING:
    from .qtensor import QTensor

__all__ = ["Layout", "PartSpec", "numel", "require_keys"]


def numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


class PartSpec(NamedTuple):
    """The exact dtype and shape (a tuple of ints) one stored part must have."""

    name: str
    dtype: str
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        return numel(self.shape) * DTYPES[self.dtype].itemsize


def require_keys(
    config: Mapping[str, Any], layout: str, required: set[str], optional: set[str] = frozenset()
) -> None:
    """Reject configurations with missing or unknown keys (exact key sets, as numpy's .npy)."""
    if not isinstance(config, Mapping):
        raise LayoutError(f"{layout} configuration must be an object", field="config",
                          found=type(config).__name__)
    keys = set(config)
    missing = required - keys
    unknown = keys - required - optional
    if missing:
        raise LayoutError(f"{layout} configuration lacks keys", field="config",
                          expected=sorted(required), found=sorted(keys))
    if unknown:
        raise LayoutError(f"{layout} configuration has unknown keys", field="config",
                          expected=sorted(required | optional), found=sorted(unknown))


class Layout(ABC):
    """Base class of every layout. Subclasses are frozen dataclasses of their configuration."""

    #: Registered name, lowercase (``raw``, ``bitpack``, ``codebook``, ``sparse``).
    name: ClassVar[str]

    @classmethod
    @abstractmethod
    def from_config(cls, config: Mapping[str, Any]) -> Layout:
        """Build from a header's ``config`` object; raise LayoutError naming the bad field."""

    @abstractmethod
    def to_config(self) -> dict[str, Any]:
        """The JSON-able configuration written to the header."""

    @abstractmethod
    def part_specs(self, shape: tuple[int, ...], dtype: str) -> tuple[PartSpec, ...]:
        """Exact parts of a tensor of logical ``shape``/``dtype``; LayoutError if unsuitable."""

    def check_parts(self, qt: QTensor) -> None:  # noqa: B027 - optional hook
        """Content checks (finite scales, codes in range...) run once before any kernel."""

    @abstractmethod
    def decode(self, qt: QTensor) -> np.ndarray:
        """Dequantize to float32 in the logical shape."""

    def linear(self, qt: QTensor, x: np.ndarray) -> np.ndarray:
        """``x @ W.T`` for a 2-D weight ``W[out, in]``; layouts override with fused kernels."""
        return np.matmul(x, self.decode(qt).T)

    @abstractmethod
    def describe(self, qt: QTensor) -> dict[str, Any]:
        """Keys ``bits``, ``group_size``, ``symmetric`` and ``extra`` for TensorInfo."""

    @classmethod
    @abstractmethod
    def encode(cls, array: np.ndarray, **config: Any) -> QTensor:
        """Quantize ``array`` into a QTensor of this layout."""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "config": self.to_config()}
