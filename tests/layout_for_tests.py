"""A third-party-style layout registered at run time, to test the container's plug-in seam."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from qformat import IntegrityError
from qformat.layouts import Layout, PartSpec, QTensor, register_layout
from qformat.layouts.base import require_keys


@register_layout
@dataclass(frozen=True)
class ScaledLayout(Layout):
    """int8 codes times one float32 scale per tensor (the simplest quantized layout)."""

    name: ClassVar[str] = "test.scaled"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ScaledLayout:
        require_keys(config, cls.name, set())
        return cls()

    def to_config(self) -> dict[str, Any]:
        return {}

    def part_specs(self, shape: tuple[int, ...], dtype: str) -> tuple[PartSpec, ...]:
        return (PartSpec("codes", "I8", shape), PartSpec("scale", "F32", (1,)))

    def check_parts(self, qt: QTensor) -> None:
        if not np.isfinite(qt.parts["scale"]).all():
            raise IntegrityError("scale is not finite", field="parts.scale")

    def decode(self, qt: QTensor) -> np.ndarray:
        return qt.parts["codes"].astype(np.float32) * qt.parts["scale"][0]

    def describe(self, qt: QTensor) -> dict[str, Any]:
        return {"method": self.name, "bits": 8, "group_size": None, "symmetric": True}

    @classmethod
    def encode(cls, array: np.ndarray, **config: Any) -> QTensor:
        a = np.asarray(array, dtype=np.float32)
        scale = np.float32(np.abs(a).max() / 127 or 1.0)
        codes = np.clip(np.round(a / scale), -127, 127).astype(np.int8)
        return QTensor(cls(), a.shape, {"codes": codes, "scale": np.array([scale], np.float32)})
