"""QTensor: a quantized tensor in memory (or mapped from a file), layout + named parts."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..dtypes import DTYPES
from ..errors import ArgumentError, LayoutError
from ..model import PartInfo, TensorInfo, bits_per_weight
from .base import Layout, PartSpec, numel

__all__ = ["QTensor"]


class QTensor:
    """A logical tensor stored as ``parts`` under ``layout``.

    The constructor checks that the parts are exactly what the layout specifies (names, dtypes,
    shapes). Content checks (finite scales, codes in range) run once, before the first decode
    or matmul, so that jitted kernels, which do no bounds checks, only ever see valid input.
    """

    __slots__ = ("_checked", "dtype", "layout", "parts", "shape")

    def __init__(
        self,
        layout: Layout,
        shape: tuple[int, ...],
        parts: Mapping[str, np.ndarray],
        dtype: str = "F32",
    ) -> None:
        self.layout = layout
        self.shape = tuple(int(d) for d in shape)
        self.dtype = dtype
        specs = layout.part_specs(self.shape, dtype)
        names = [s.name for s in specs]
        if sorted(parts) != sorted(names):
            raise LayoutError(f"{layout.name} parts do not match the layout", field="parts",
                              expected=names, found=sorted(parts))
        self.parts: dict[str, np.ndarray] = {}
        for spec in specs:
            arr = parts[spec.name]
            if not isinstance(arr, np.ndarray):
                raise LayoutError("part is not a numpy array", field=f"parts.{spec.name}",
                                  found=type(arr).__name__)
            want = DTYPES[spec.dtype].storage
            if arr.dtype != want and not (arr.dtype.itemsize == want.itemsize
                                          and arr.dtype.kind == "V"):
                raise LayoutError("part has the wrong dtype", field=f"parts.{spec.name}",
                                  expected=f"{spec.dtype} ({want})", found=str(arr.dtype))
            if arr.shape != spec.shape:
                raise LayoutError("part has the wrong shape", field=f"parts.{spec.name}",
                                  expected=spec.shape, found=arr.shape)
            self.parts[spec.name] = arr.view(want) if arr.dtype != want else arr
        self._checked = False

    # -- sizes ---------------------------------------------------------------------------------
    @property
    def numel(self) -> int:
        return numel(self.shape)

    @property
    def nbytes(self) -> int:
        """Bytes of every stored part."""
        return sum(int(a.nbytes) for a in self.parts.values())

    @property
    def bits_per_weight(self) -> float | None:
        """Every stored bit over the element count (codes, scales, zeros, codebooks...)."""
        return bits_per_weight(self.nbytes, self.numel)

    @property
    def part_specs(self) -> tuple[PartSpec, ...]:
        return self.layout.part_specs(self.shape, self.dtype)

    # -- compute -------------------------------------------------------------------------------
    def check(self) -> None:
        """Run the layout's content checks (once)."""
        if not self._checked:
            self.layout.check_parts(self)
            self._checked = True

    def dequantize(self) -> np.ndarray:
        """Float32 values in the logical shape."""
        self.check()
        out = self.layout.decode(self)
        return out.reshape(self.shape)

    def linear(self, x: np.ndarray) -> np.ndarray:
        """``x @ W.T`` for this 2-D weight ``W[out, in]`` (nn.Linear), ``x`` of shape [..., in]."""
        if len(self.shape) != 2:
            raise ArgumentError("linear needs a 2-D weight [out, in]", field="shape",
                                found=self.shape)
        x = np.asarray(x)
        if x.dtype.kind != "f":
            raise ArgumentError("x must be a float array", field="x.dtype",
                                expected="float16/32/64", found=str(x.dtype))
        if x.ndim == 0 or x.shape[-1] != self.shape[1]:
            raise ArgumentError("x's last dimension must equal in_features", field="x.shape",
                                expected=f"[..., {self.shape[1]}]", found=x.shape)
        self.check()
        lead = x.shape[:-1]
        x2 = np.ascontiguousarray(x.reshape(-1, self.shape[1]), dtype=np.float32)
        y = self.layout.linear(self, x2)
        return np.asarray(y, dtype=np.float32).reshape(*lead, self.shape[0])

    # -- description ---------------------------------------------------------------------------
    def info(self, name: str = "") -> TensorInfo:
        d = self.layout.describe(self)
        parts = tuple(PartInfo(s.name, s.dtype, s.shape, s.nbytes) for s in self.part_specs)
        return TensorInfo(
            name=name,
            shape=self.shape,
            dtype=self.dtype,
            method=d.get("method", self.layout.name),
            bits=d.get("bits"),
            group_size=d.get("group_size"),
            symmetric=d.get("symmetric"),
            bits_per_weight=self.bits_per_weight,
            nbytes=self.nbytes,
            parts=parts,
            extra=dict(d.get("extra", {})),
        )

    def __repr__(self) -> str:
        return (f"QTensor({self.layout.name}, shape={self.shape}, dtype={self.dtype}, "
                f"bpw={self.bits_per_weight})")
