"""Numba kernels of the sparse (SpQR) layout; numpy references in :mod:`._ref.sparse`.

The base stream is a bitpack tensor, so the base is decoded and multiplied by the bitpack
kernels (:mod:`qformat.kernels.bitpack`); this module adds what bitpack does not have:

* :func:`dequantize_statistics`: the quantized first-order statistics -> float32 ``[rows, G]``
  (the second-order F16 values are converted in the kernel, since numpy's float16 conversion
  costs more than the whole GEMV);
* the CSR outlier passes: :func:`add_outliers` (decode) and :func:`linear_outliers` (matmul);
* :func:`dequantize` and :func:`linear`, the layout's decode and ``x @ W.T``: statistics, then
  the bitpack kernel on the base, then the outlier pass. Nothing of size rows x k is ever
  materialised by :func:`linear`.

Every kernel runs in parallel over output rows (no two threads write the same element), so
results do not depend on the thread count. Public wrappers validate types and shapes; values
are checked once per tensor by the layout (``check_content``) before any of this runs.
"""

from __future__ import annotations

import numpy as np

from ..dtypes import bf16_to_f32
from ..errors import ArgumentError
from . import bitpack
from ._jit import exact, fast, prange
from ._sparse_common import SparseArrays, check_arrays, check_content

__all__ = [
    "add_outliers",
    "dequantize",
    "dequantize_statistics",
    "half_to_float",
    "linear",
    "linear_outliers",
]

#: Rows per parallel work item of the statistics decoder.
_STAT_ROW_CHUNK = 64


# -- float conversion ---------------------------------------------------------------------------
@exact(parallel=True)
def _f16_bits_to_f32_bits(src, dst):  # pragma: no cover - compiled
    """IEEE binary16 bit patterns -> binary32 bit patterns, exactly (subnormals, inf, NaN)."""
    for i in prange(src.shape[0]):
        h = np.uint32(src[i])
        sign = (h & np.uint32(0x8000)) << np.uint32(16)
        e = (h >> np.uint32(10)) & np.uint32(0x1F)
        m = h & np.uint32(0x3FF)
        if e == np.uint32(0):
            if m == np.uint32(0):
                dst[i] = sign
            else:  # subnormal: normalise the mantissa
                s = np.uint32(0)
                while (m & np.uint32(0x400)) == np.uint32(0):
                    m = m << np.uint32(1)
                    s += np.uint32(1)
                dst[i] = (sign | ((np.uint32(113) - s) << np.uint32(23))
                          | ((m & np.uint32(0x3FF)) << np.uint32(13)))
        elif e == np.uint32(31):
            dst[i] = sign | np.uint32(0x7F800000) | (m << np.uint32(13))
        else:
            dst[i] = sign | ((e + np.uint32(112)) << np.uint32(23)) | (m << np.uint32(13))


def _ro(a: np.ndarray) -> np.ndarray:
    """A read-only view, so that writable and mmap'd inputs share one compiled specialization."""
    v = a.view()
    v.flags.writeable = False
    return v


def half_to_float(stored: np.ndarray, dtype: str) -> np.ndarray:
    """A stored F16/BF16/F32 array -> float32 (a new array for F16/BF16), exactly."""
    if dtype == "F32":
        return stored
    if dtype == "BF16":
        return bf16_to_f32(stored)
    if dtype != "F16":
        raise ArgumentError("expected a float part dtype", field="dtype",
                            expected=["F16", "BF16", "F32"], found=dtype)
    src = _ro(np.ascontiguousarray(stored).view(np.uint16).reshape(-1))
    out = np.empty(src.shape[0], dtype=np.float32)
    if src.shape[0]:
        _f16_bits_to_f32_bits(src, out.view(np.uint32))
    return out.reshape(stored.shape)


# -- statistics ---------------------------------------------------------------------------------
@exact(parallel=True)
def _dequantize_statistics(codes, s2, z2, bits, rows, stat_group, out):  # pragma: no cover
    """out[r, g] = s2[g, r // stat_group] * (float32(q[g, r]) - z2[g, r // stat_group]).

    ``q[g, r]`` is the ``bits``-bit code at bit ``r * bits`` of row g of ``codes`` (LSB-first,
    QF-BITPACK-010). Parallel over chunks of output rows.
    """
    groups = codes.shape[0]
    mask = (1 << bits) - 1
    n_chunks = (rows + _STAT_ROW_CHUNK - 1) // _STAT_ROW_CHUNK
    for chunk in prange(n_chunks):
        r0 = chunk * _STAT_ROW_CHUNK
        r1 = min(r0 + _STAT_ROW_CHUNK, rows)
        for g in range(groups):
            row = codes[g]
            for r in range(r0, r1):
                p = r * bits
                i = p >> 3
                sh = p & 7
                v = np.int64(row[i]) >> sh
                if sh + bits > 8:
                    v |= np.int64(row[i + 1]) << (8 - sh)
                q = np.float32(v & mask)
                j = r // stat_group
                out[r, g] = s2[g, j] * (q - z2[g, j])


def dequantize_statistics(a: SparseArrays, which: str) -> np.ndarray:
    """Decoded first-order ``scales`` or ``zeros`` as float32 ``[rows, G]`` (QF-SPARSE-021)."""
    if which not in ("scales", "zeros"):
        raise ArgumentError("which must be 'scales' or 'zeros'", field="which", found=which)
    geo = check_arrays(a)
    codes, s2, z2 = a.stat_parts(which)
    out = np.empty((geo.rows, geo.groups), dtype=np.float32)
    if out.size:
        s2f = np.ascontiguousarray(half_to_float(s2, a.stat_dtype))
        z2f = np.ascontiguousarray(half_to_float(z2, a.stat_dtype))
        _dequantize_statistics(_ro(codes), _ro(s2f), _ro(z2f), geo.stat_bits, geo.rows,
                               geo.stat_group, out)
    return out


# -- outliers -----------------------------------------------------------------------------------
@exact(parallel=True)
def _add_outliers(w, row_ptr, col_idx, values):  # pragma: no cover - compiled
    """w[r, c] = w[r, c] + values[j] for the outliers j of row r (QF-SPARSE-023)."""
    for r in prange(w.shape[0]):
        for j in range(row_ptr[r], row_ptr[r + 1]):
            c = col_idx[j]
            w[r, c] = w[r, c] + values[j]


@fast(parallel=True)
def _linear_outliers(x, row_ptr, col_idx, values, y):  # pragma: no cover - compiled
    """y[b, r] += sum over the outliers j of row r of values[j] * x[b, col_idx[j]]."""
    for r in prange(y.shape[1]):
        lo = row_ptr[r]
        hi = row_ptr[r + 1]
        if lo == hi:
            continue
        for b in range(x.shape[0]):
            acc = np.float32(0)
            for j in range(lo, hi):
                acc += values[j] * x[b, col_idx[j]]
            y[b, r] += acc


def _csr_args(row_ptr: np.ndarray, values: np.ndarray,
              value_dtype: str) -> tuple[np.ndarray, np.ndarray]:
    return (_ro(row_ptr.astype(np.int64)),
            _ro(np.ascontiguousarray(half_to_float(values, value_dtype), dtype=np.float32)))


def _check_csr(row_ptr: np.ndarray, col_idx: np.ndarray, values: np.ndarray, rows: int) -> None:
    for name, arr in (("row_ptr", row_ptr), ("col_idx", col_idx), ("values", values)):
        if not isinstance(arr, np.ndarray) or arr.ndim != 1:
            raise ArgumentError("must be a 1-D numpy array", field=name,
                                found=getattr(arr, "shape", type(arr).__name__))
    if row_ptr.shape[0] != rows + 1 or row_ptr.dtype.kind != "u":
        raise ArgumentError("row_ptr must be unsigned [rows + 1]", field="row_ptr",
                            expected=f"[{rows + 1}]", found=f"{row_ptr.dtype}{row_ptr.shape}")
    if col_idx.dtype.kind != "u" or col_idx.shape != values.shape:
        raise ArgumentError("col_idx must be unsigned, one per value", field="col_idx",
                            expected=f"uint[{values.shape[0]}]",
                            found=f"{col_idx.dtype}{col_idx.shape}")


def add_outliers(w: np.ndarray, row_ptr: np.ndarray, col_idx: np.ndarray, values: np.ndarray,
                 *, value_dtype: str) -> np.ndarray:
    """``w[r, c] += float32(v)`` for every outlier, in place; returns ``w``.

    The CSR arrays must have passed ``check_outliers`` (the kernel does no bounds checks).
    """
    if not isinstance(w, np.ndarray) or w.ndim != 2 or w.dtype != np.float32 or not (
            w.flags.c_contiguous and w.flags.writeable):
        raise ArgumentError("w must be a writable C-contiguous float32 [rows, k] array",
                            field="w", found=getattr(w, "dtype", type(w).__name__))
    _check_csr(row_ptr, col_idx, values, w.shape[0])
    if values.shape[0]:
        ptr, vals = _csr_args(row_ptr, values, value_dtype)
        _add_outliers(w, ptr, _ro(np.ascontiguousarray(col_idx)), vals)
    return w


def linear_outliers(x: np.ndarray, row_ptr: np.ndarray, col_idx: np.ndarray,
                    values: np.ndarray, *, value_dtype: str,
                    out: np.ndarray | None = None) -> np.ndarray:
    """The outliers' share of ``x @ W.T``, added to ``out`` (zeros if None); returns it."""
    rows = int(row_ptr.shape[0]) - 1 if isinstance(row_ptr, np.ndarray) else -1
    _check_csr(row_ptr, col_idx, values, rows)
    if not isinstance(x, np.ndarray) or x.ndim != 2 or x.dtype != np.float32:
        raise ArgumentError("x must be a 2-D float32 array [batch, k]", field="x",
                            found=getattr(x, "dtype", type(x).__name__))
    if out is None:
        out = np.zeros((x.shape[0], rows), dtype=np.float32)
    elif (out.shape != (x.shape[0], rows) or out.dtype != np.float32
          or not out.flags.c_contiguous or not out.flags.writeable):
        raise ArgumentError("out must be a writable C-contiguous float32 [batch, rows] array",
                            field="out", expected=(x.shape[0], rows), found=out.shape)
    if values.shape[0] and x.shape[0]:
        ptr, vals = _csr_args(row_ptr, values, value_dtype)
        _linear_outliers(_ro(np.ascontiguousarray(x)), ptr, _ro(np.ascontiguousarray(col_idx)),
                         vals, out)
    return out


# -- the layout's decode and matmul -------------------------------------------------------------
def _base_args(a: SparseArrays) -> dict[str, object]:
    """Keyword arguments of the bitpack kernels for the base of ``a`` (statistics decoded)."""
    return {
        "bits": a.bits, "k": a.k, "group_size": a.group_size, "zero": "float",
        "zeros": dequantize_statistics(a, "zeros"), "perm": a.perm,
        "scale_dtype": "F32", "zero_dtype": "F32", "validate": False,
    }


def dequantize(a: SparseArrays, *, validate: bool = True) -> np.ndarray:
    """Dequantize to ``[rows, k]`` float32, original column order; bit-identical to the reference.

    ``validate=False`` skips the content checks (the layout runs them once per tensor).
    """
    check_arrays(a)
    if validate:
        check_content(a)
    w = bitpack.dequantize(a.codes, dequantize_statistics(a, "scales"), **_base_args(a))
    w = np.ascontiguousarray(w, dtype=np.float32)
    if not w.flags.writeable:
        w = w.copy()
    return add_outliers(w, a.row_ptr, a.col_idx, a.values, value_dtype=a.value_dtype)


def linear(x: np.ndarray, a: SparseArrays, *, validate: bool = True) -> np.ndarray:
    """``x @ W.T`` for x ``[batch, k]`` float32: bitpack kernel on the base, then the CSR pass."""
    check_arrays(a)
    if not isinstance(x, np.ndarray) or x.ndim != 2 or x.dtype != np.float32:
        raise ArgumentError("x must be a 2-D float32 array [batch, k]", field="x",
                            found=getattr(x, "dtype", type(x).__name__))
    if x.shape[1] != a.k:
        raise ArgumentError("x's last dimension must equal k", field="x.shape",
                            expected=f"[batch, {a.k}]", found=x.shape)
    if validate:
        check_content(a)
    x = np.ascontiguousarray(x)
    y = bitpack.linear(x, a.codes, dequantize_statistics(a, "scales"),
                                  **_base_args(a))
    y = np.ascontiguousarray(y, dtype=np.float32)
    if not y.flags.writeable:
        y = y.copy()
    return linear_outliers(x, a.row_ptr, a.col_idx, a.values, value_dtype=a.value_dtype, out=y)
