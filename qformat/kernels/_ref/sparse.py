"""numpy references of :mod:`qformat.kernels.sparse` (same public names, same arguments).

These define the sparse layout's numbers (``specs/layouts/sparse.md``, QF-SPARSE-020..024): the
statistics are decoded as bitpack tensors (QF-BITPACK-022, float zero points), the base as a
bitpack tensor whose scales and zeros are those decoded statistics, then each outlier is added
with one float32 addition. The jitted kernels must match :func:`dequantize` bit for bit and
:func:`linear` within float32 rounding. Obvious rather than fast.
"""

from __future__ import annotations

import numpy as np

from ...dtypes import to_float32
from ...errors import ArgumentError
from .._sparse_common import SparseArrays, check_arrays, check_content
from . import bitpack as bitpack_ref

__all__ = ["add_outliers", "dequantize", "dequantize_statistics", "linear", "linear_outliers"]


def dequantize_statistics(a: SparseArrays, which: str) -> np.ndarray:
    """Decoded first-order ``scales`` or ``zeros`` as float32 ``[rows, G]`` (QF-SPARSE-021).

    The stored statistics of ``which`` form a bitpack tensor of logical shape ``[G, rows]``
    (``stat_bits``-bit codes, groups of ``stat_group`` rows, float zero points): decode it with
    the bitpack rules and transpose.
    """
    if which not in ("scales", "zeros"):
        raise ArgumentError("which must be 'scales' or 'zeros'", field="which", found=which)
    geo = check_arrays(a).stats
    codes, s2, z2 = a.stat_parts(which)
    stats = bitpack_ref.dequantize(codes, s2, bits=geo.bits, k=geo.k, group_size=geo.group_size,
                                   zero="float", zeros=z2, scale_dtype=a.stat_dtype,
                                   zero_dtype=a.stat_dtype, validate=False)
    return np.ascontiguousarray(stats.reshape(geo.rows, geo.k).T)


def add_outliers(w: np.ndarray, row_ptr: np.ndarray, col_idx: np.ndarray, values: np.ndarray,
                 *, value_dtype: str) -> np.ndarray:
    """``w[r, c] = w[r, c] + float32(v)`` for every outlier (QF-SPARSE-023), in place; returns w.

    The arrays must have passed the CSR checks (no duplicate coordinates, so each weight gets
    at most one addition).
    """
    rows = int(row_ptr.shape[0]) - 1
    counts = np.diff(row_ptr.astype(np.int64))
    r = np.repeat(np.arange(rows, dtype=np.int64), counts)
    w[r, col_idx.astype(np.int64)] += to_float32(values, value_dtype)
    return w


def linear_outliers(x: np.ndarray, row_ptr: np.ndarray, col_idx: np.ndarray,
                    values: np.ndarray, *, value_dtype: str) -> np.ndarray:
    """The outliers' share of ``x @ W.T``: ``y[b, r] = sum_j values[j] * x[b, col_idx[j]]``."""
    rows = int(row_ptr.shape[0]) - 1
    counts = np.diff(row_ptr.astype(np.int64))
    r = np.repeat(np.arange(rows, dtype=np.int64), counts)
    contrib = x[:, col_idx.astype(np.int64)] * to_float32(values, value_dtype)[None, :]
    y = np.zeros((x.shape[0], rows), dtype=np.float32)
    for b in range(x.shape[0]):
        y[b] = np.bincount(r, weights=contrib[b], minlength=rows)
    return y


def dequantize(a: SparseArrays, *, validate: bool = True) -> np.ndarray:
    """Dequantize to ``[rows, k]`` float32 in the original column order (QF-SPARSE-020..023).

    1. ``S = dequantize_statistics(a, "scales")``, ``Z = dequantize_statistics(a, "zeros")``;
    2. base: bitpack decode of ``codes`` with scales ``S`` and float zero points ``Z``:
       ``w = S[r, g] * (float32(q) - Z[r, g])``, permutation undone;
    3. outliers: ``w[r, c] = w[r, c] + float32(v)``.
    """
    geo = check_arrays(a)
    if validate:
        check_content(a)
    scales = dequantize_statistics(a, "scales")
    zeros = dequantize_statistics(a, "zeros")
    w = bitpack_ref.dequantize(a.codes, scales, bits=geo.bits, k=geo.k,
                               group_size=geo.group_size, zero="float", zeros=zeros,
                               perm=a.perm, scale_dtype="F32", zero_dtype="F32", validate=False)
    return add_outliers(w, a.row_ptr, a.col_idx, a.values, value_dtype=a.value_dtype)


def linear(x: np.ndarray, a: SparseArrays, *, validate: bool = True) -> np.ndarray:
    """``x @ W.T`` for x ``[batch, k]`` float32: dequantize, then a float32 matmul."""
    if not isinstance(x, np.ndarray) or x.ndim != 2 or x.dtype != np.float32:
        raise ArgumentError("x must be a 2-D float32 array [batch, k]", field="x",
                            found=getattr(x, "dtype", type(x).__name__))
    if x.shape[1] != a.k:
        raise ArgumentError("x's last dimension must equal k", field="x.shape",
                            expected=f"[batch, {a.k}]", found=x.shape)
    return np.matmul(x, dequantize(a, validate=validate).T)
