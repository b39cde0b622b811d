"""The ``raw`` layout: one part holding the tensor's elements as they are."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..dtypes import DTYPES, dtype_of, f32_to_bf16, to_float32
from ..errors import ArgumentError
from .base import Layout, PartSpec, require_keys
from .qtensor import QTensor

__all__ = ["RawLayout"]


@dataclass(frozen=True)
class RawLayout(Layout):
    """Unquantized storage: part ``data`` has the tensor's own dtype and shape."""

    name: ClassVar[str] = "raw"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RawLayout:
        require_keys(config, "raw", set())
        return cls()

    def to_config(self) -> dict[str, Any]:
        return {}

    def part_specs(self, shape: tuple[int, ...], dtype: str) -> tuple[PartSpec, ...]:
        return (PartSpec("data", dtype, tuple(shape)),)

    def decode(self, qt: QTensor) -> np.ndarray:
        return to_float32(qt.parts["data"], qt.dtype)

    def describe(self, qt: QTensor) -> dict[str, Any]:
        return {"method": "none", "bits": DTYPES[qt.dtype].bits}

    @classmethod
    def encode(cls, array: np.ndarray, dtype: str | None = None, **config: Any) -> QTensor:
        """Store ``array`` as is, or converted to ``dtype`` (float32 -> BF16 rounds to even)."""
        if config:
            raise ArgumentError("raw layout takes no options", field="config",
                                found=sorted(config))
        array = np.asarray(array)
        src = dtype_of(array)
        dtype = dtype or src
        if dtype not in DTYPES:
            raise ArgumentError("unknown dtype", field="dtype", expected=sorted(DTYPES),
                                found=dtype)
        storage = DTYPES[dtype].storage
        if dtype == src:
            # ml_dtypes' bfloat16/float8 (kind "V") are reinterpreted; others byte-swapped if needed
            data = array.view(storage) if array.dtype.kind == "V" else array.astype(storage)
        elif DTYPES[dtype].kind == "float":
            if dtype.startswith("F8"):
                raise ArgumentError("conversion to float8 is not supported", field="dtype",
                                    found=dtype)
            f32 = to_float32(array, src)
            data = f32_to_bf16(f32) if dtype == "BF16" else f32.astype(storage)
        else:
            if DTYPES[src].kind == "float":
                raise ArgumentError("float to integer conversion is lossy; quantize instead",
                                    field="dtype", found=f"{src} -> {dtype}")
            info = np.iinfo(storage)
            if array.size and (array.min() < info.min or array.max() > info.max):
                raise ArgumentError("values do not fit the target dtype", field="dtype",
                                    expected=f"{info.min}..{info.max}",
                                    found=f"{array.min()}..{array.max()}")
            data = array.astype(storage)
        data = data if data.flags.c_contiguous else data.copy(order="C")
        return QTensor(cls(), array.shape, {"data": data}, dtype=dtype)
