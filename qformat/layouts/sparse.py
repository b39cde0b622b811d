"""The ``sparse`` layout (SpQR): low-bit base, quantized statistics, sparse outliers.

Normative description: ``specs/layouts/sparse.md`` (clause ids QF-SPARSE-NNN). A tensor of
logical shape ``[..., K]`` is ``rows = prod(shape[:-1])`` rows of K weights, stored as

* a **base**: a bitpack tensor (``bits`` 2..4, groups of ``group_size`` columns, float zero
  points) whose per-group scales and zero points are not stored directly but
* **quantized again**: each of them, seen as a ``[G, rows]`` matrix, is a bitpack tensor of
  ``stat_bits``-bit codes with groups of ``stat_group`` rows and second-order scales and zero
  points in ``stat_dtype`` (SpQR's "second-order statistics");
* **outliers**: a CSR matrix (row pointers and column indices of the narrowest sufficient
  unsigned type, values in ``value_dtype``) added to the decoded base;
* an optional input-column **permutation** of the base (as bitpack's ``perm``).

The base and the statistics are bitpack tensors, decoded and checked by the bitpack code
(:mod:`qformat.layouts.bitpack`, :mod:`qformat.kernels.bitpack`). Quantization:
:func:`qformat.layouts.sparse_quantize.quantize_sparse`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import ArgumentError, LayoutError
from ..kernels._bitpack_common import FLOAT_PART_DTYPES, row_bytes
from ..kernels._sparse_common import (
    BASE_BITS,
    STAT_BITS,
    VALUE_DTYPES,
    SparseArrays,
    SparseGeometry,
    check_content,
    col_index_dtype,
    row_ptr_dtype,
)
from .base import Layout, PartSpec, numel, require_keys
from .qtensor import QTensor

__all__ = ["SparseLayout"]

_CONFIG_KEYS = {"bits", "group_size", "stat_bits", "stat_group", "stat_dtype", "value_dtype",
                "nnz", "perm"}
#: Logical dtypes a sparse tensor may record (what the tensor was before quantization).
_LOGICAL_DTYPES = ("F32", "F16", "BF16", "F64")
#: Largest group sizes accepted in a configuration (a group never exceeds a row anyway).
_MAX_GROUP = 1 << 40
_MAX_NNZ = (1 << 63) - 1


def _config_error(field: str, message: str, clause: str, **kw: Any) -> LayoutError:
    return LayoutError(f"sparse {message} [{clause}]", field=f"config.{field}", **kw)


def _is_int(value: Any) -> bool:
    return type(value) is int  # bool is not an int here


@dataclass(frozen=True)
class SparseLayout(Layout):
    """Configuration of a sparse (SpQR) tensor; see the module docstring and the spec.

    ``nnz`` is the number of outliers (it fixes the sizes of the CSR parts, so that the
    container can check a header before reading data).
    """

    name: ClassVar[str] = "sparse"

    bits: int
    group_size: int
    stat_bits: int = 3
    stat_group: int = 16
    stat_dtype: str = "F16"
    value_dtype: str = "F16"
    nnz: int = 0
    perm: bool = False

    def __post_init__(self) -> None:
        if not _is_int(self.bits) or self.bits not in BASE_BITS:
            raise _config_error("bits", "base bits must be 2, 3 or 4", "QF-SPARSE-001",
                                expected=list(BASE_BITS), found=self.bits)
        if not _is_int(self.group_size) or not 1 <= self.group_size <= _MAX_GROUP:
            raise _config_error("group_size", "group_size must be a positive integer",
                                "QF-SPARSE-002", found=self.group_size)
        if not _is_int(self.stat_bits) or self.stat_bits not in STAT_BITS:
            raise _config_error("stat_bits", "stat_bits must be an integer in 1..8",
                                "QF-SPARSE-003", found=self.stat_bits)
        if not _is_int(self.stat_group) or not 1 <= self.stat_group <= _MAX_GROUP:
            raise _config_error("stat_group", "stat_group must be a positive integer",
                                "QF-SPARSE-003", found=self.stat_group)
        if self.stat_dtype not in FLOAT_PART_DTYPES:
            raise _config_error("stat_dtype", "unsupported statistics dtype", "QF-SPARSE-004",
                                expected=list(FLOAT_PART_DTYPES), found=self.stat_dtype)
        if self.value_dtype not in VALUE_DTYPES:
            raise _config_error("value_dtype", "unsupported outlier value dtype",
                                "QF-SPARSE-005", expected=list(VALUE_DTYPES),
                                found=self.value_dtype)
        if not _is_int(self.nnz) or not 0 <= self.nnz <= _MAX_NNZ:
            raise _config_error("nnz", "nnz must be a non-negative integer", "QF-SPARSE-006",
                                found=self.nnz)
        if type(self.perm) is not bool:
            raise _config_error("perm", "perm must be a boolean", "QF-SPARSE-008",
                                found=self.perm)

    # -- configuration -------------------------------------------------------------------------
    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SparseLayout:
        require_keys(config, "sparse", _CONFIG_KEYS)
        return cls(**{key: config[key] for key in _CONFIG_KEYS})

    def to_config(self) -> dict[str, Any]:
        return {"bits": self.bits, "group_size": self.group_size, "stat_bits": self.stat_bits,
                "stat_group": self.stat_group, "stat_dtype": self.stat_dtype,
                "value_dtype": self.value_dtype, "nnz": self.nnz, "perm": self.perm}

    # -- parts ---------------------------------------------------------------------------------
    def geometry(self, shape: tuple[int, ...]) -> SparseGeometry:
        if len(shape) < 1:
            raise LayoutError("sparse tensors need at least one dimension [QF-SPARSE-009]",
                              field="shape", found=list(shape))
        rows, k = numel(shape[:-1]), int(shape[-1])
        if self.nnz > rows * k:
            raise _config_error("nnz", "more outliers than weights", "QF-SPARSE-007",
                                expected=f"<= {rows * k} (rows {rows} x columns {k})",
                                found=self.nnz)
        return SparseGeometry(rows, k, self.bits, self.group_size, self.stat_bits,
                              self.stat_group, self.nnz)

    def part_specs(self, shape: tuple[int, ...], dtype: str) -> tuple[PartSpec, ...]:
        if dtype not in _LOGICAL_DTYPES:
            raise LayoutError("sparse tensors record a float logical dtype [QF-SPARSE-009]",
                              field="dtype", expected=list(_LOGICAL_DTYPES), found=dtype)
        geo = self.geometry(shape)
        try:
            col_dtype = col_index_dtype(geo.k)
            ptr_dtype = row_ptr_dtype(geo.nnz)
        except ArgumentError as exc:
            raise LayoutError(exc.detail + " [QF-SPARSE-012]", field=exc.field,
                              expected=exc.expected, found=exc.found) from None
        stat_side = (geo.groups, geo.stat_groups)
        specs = [PartSpec("codes", "U8", (geo.rows, row_bytes(geo.k, geo.bits)))]
        for which in ("scales", "zeros"):
            specs += [PartSpec(f"{which}.codes", "U8",
                               (geo.groups, row_bytes(geo.rows, geo.stat_bits))),
                      PartSpec(f"{which}.scales", self.stat_dtype, stat_side),
                      PartSpec(f"{which}.zeros", self.stat_dtype, stat_side)]
        specs += [PartSpec("outliers.row_ptr", ptr_dtype, (geo.rows + 1,)),
                  PartSpec("outliers.col_idx", col_dtype, (geo.nnz,)),
                  PartSpec("outliers.values", self.value_dtype, (geo.nnz,))]
        if self.perm:
            specs.append(PartSpec("perm", "I32", (geo.k,)))
        return tuple(specs)

    def arrays(self, qt: QTensor) -> SparseArrays:
        """The parts of ``qt`` with this configuration, as the sparse kernels take them."""
        geo = self.geometry(qt.shape)
        return SparseArrays.from_parts(
            qt.parts, bits=self.bits, k=geo.k, group_size=self.group_size,
            stat_bits=self.stat_bits, stat_group=self.stat_group, stat_dtype=self.stat_dtype,
            value_dtype=self.value_dtype)

    def check_parts(self, qt: QTensor) -> None:
        check_content(self.arrays(qt), prefix="parts.")

    # -- compute -------------------------------------------------------------------------------
    def decode(self, qt: QTensor) -> np.ndarray:
        from ..kernels import sparse as kernels

        return kernels.dequantize(self.arrays(qt), validate=False).reshape(qt.shape)

    def linear(self, qt: QTensor, x: np.ndarray) -> np.ndarray:
        from ..kernels import sparse as kernels

        return kernels.linear(x, self.arrays(qt), validate=False)

    def describe(self, qt: QTensor) -> dict[str, Any]:
        geo = self.geometry(qt.shape)
        n = max(geo.rows * geo.k, 1)
        share: dict[str, int] = {"base": 0, "statistics": 0, "outliers": 0, "permutation": 0}
        for spec in self.part_specs(qt.shape, qt.dtype):
            head = spec.name.partition(".")[0]
            key = {"codes": "base", "scales": "statistics", "zeros": "statistics",
                   "outliers": "outliers", "perm": "permutation"}[head]
            share[key] += spec.nbytes
        return {
            "method": "sparse",
            "bits": self.bits,
            "group_size": self.group_size,
            "symmetric": False,
            "extra": {
                "outliers": geo.nnz,
                "outlier_fraction": round(geo.nnz / n, 6),
                "stat_bits": self.stat_bits,
                "stat_group": self.stat_group,
                "stat_dtype": self.stat_dtype,
                "outlier_value_dtype": self.value_dtype,
                "index_dtype": geo.col_dtype,
                "row_ptr_dtype": geo.ptr_dtype,
                "permuted": self.perm,
                "bits_per_weight_parts": {key: round(nbytes * 8 / n, 4)
                                          for key, nbytes in share.items()},
            },
        }

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def encode(cls, array: np.ndarray, **config: Any) -> QTensor:
        """Quantize ``array`` (see :func:`qformat.layouts.sparse_quantize.quantize_sparse`)."""
        from .sparse_quantize import quantize_sparse

        return quantize_sparse(array, **config)

