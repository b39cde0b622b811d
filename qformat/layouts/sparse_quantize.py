"""Quantizing to the ``sparse`` (SpQR) layout: pick outliers, fit the base, quantize statistics.

The algorithm (informative; the file format does not depend on it, see ``docs/sparse.md``):

1. **Outliers.** ``select="error"`` (default) follows SpQR's idea without calibration data:
   a weight is worth keeping aside by how much the squared quantization error of its group
   drops when it leaves the group (leave-one-out; only a group's current maximum or minimum
   can shrink its range, any other weight only saves its own rounding error). Groups are
   scored by their best candidate and the best are taken greedily in rounds (half of the
   remaining budget per round, re-scoring the groups that lost a weight), so a group may give
   up several outliers. ``select="magnitude"`` takes the largest ``|w|``. The budget is a
   fraction of the weights (``outlier_fraction``, default 1 %) and/or a threshold
   (``outlier_threshold`` t): for ``magnitude`` ``|w| > t * rms(W)``; for ``error`` a drop of
   the group's squared error above t times the mean group error (SpQR's relative threshold).
2. **Base statistics.** Per group of ``group_size`` columns, min-max over the non-outliers,
   the range widened to include 0: ``scale = (hi - lo) / (2**bits - 1)``, float
   ``zero = -lo / scale`` in ``[0, 2**bits - 1]`` (zero points of a group that does not
   straddle 0 would otherwise be far outside that range and ruin the quantization of their
   neighbours' zero points; constants stay exact).
3. **Second order.** The scales (and, separately, the zeros) of ``stat_group`` consecutive
   rows of one column group are min-max quantized to ``stat_bits`` bits; the second-order
   scale and zero are rounded to ``stat_dtype`` first and the codes computed with the rounded
   values.
4. **Base codes** are chosen against the *decoded* statistics (so the statistics' rounding is
   partly absorbed), and each outlier stores the residual ``w - base`` in ``value_dtype``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..dtypes import DTYPES, dtype_of, f32_to_bf16, to_float32
from ..errors import ArgumentError, LayoutError
from ..kernels._bitpack_common import first_bad_index, n_groups
from ..kernels._sparse_common import col_index_dtype, row_ptr_dtype
from .base import numel
from .qtensor import QTensor
from .sparse import SparseLayout

__all__ = ["quantize_sparse"]

_LOGICAL = ("F32", "F16", "BF16", "F64")
_SELECT = ("error", "magnitude")
#: Elements processed at a time by the per-element passes (bounds temporary memory).
_CHUNK_ELEMENTS = 1 << 21
#: Smallest range of a second-order group relative to its largest magnitude: keeps the
#: second-order zero point within +-64 * (2**stat_bits - 1), representable in F16.
_MIN_RELATIVE_RANGE = 2.0 ** -6


def quantize_sparse(
    array: np.ndarray,
    *,
    bits: int = 3,
    group_size: int = 16,
    stat_bits: int = 3,
    stat_group: int = 16,
    stat_dtype: str = "F16",
    value_dtype: str = "F16",
    outlier_fraction: float | None = None,
    outlier_threshold: float | None = None,
    select: str = "error",
    perm: np.ndarray | None = None,
    dtype: str | None = None,
) -> QTensor:
    """Quantize a float array ``[..., K]`` to the sparse layout (rows = all leading axes).

    Args:
        array: float16/32/64 or bfloat16 values, all finite.
        bits, group_size: the base (2..4 bits; groups of columns along the last axis).
        stat_bits, stat_group, stat_dtype: the statistics' code width, the number of
            consecutive rows sharing a second-order scale and zero, and the storage type
            of those (F16, BF16, F32).
        value_dtype: storage type of the outlier values (F16, BF16, F32).
        outlier_fraction: largest share of weights kept as outliers (default 0.01 when no
            threshold is given; 0 gives a pure SpQR base).
        outlier_threshold: keep only outliers above this threshold: ``|w| > t * rms`` for
            ``magnitude``; for ``error``, a group error drop above t times the mean group
            error. With ``outlier_fraction`` too, the fraction caps the count.
        select: ``"error"`` (leave-one-out error reduction) or ``"magnitude"`` (``|w|``).
        perm: optional column order of the base: stored column j is original column perm[j].
        dtype: logical dtype recorded (default: the array's).

    Returns:
        A checked QTensor; its ``bits_per_weight`` counts every stored byte (base, statistics,
        outlier values, indices, row pointers, permutation) and ``info().extra`` breaks it down.
    """
    try:
        layout = SparseLayout(bits=bits, group_size=group_size, stat_bits=stat_bits,
                              stat_group=stat_group, stat_dtype=stat_dtype,
                              value_dtype=value_dtype, perm=perm is not None)
    except LayoutError as exc:
        raise ArgumentError(exc.detail, field=(exc.field or "").removeprefix("config."),
                            expected=exc.expected, found=exc.found) from None
    w, logical = _as_float32(array, dtype)
    shape = tuple(int(d) for d in w.shape)
    rows, k = numel(shape[:-1]), shape[-1]
    w2 = w.reshape(rows, k)
    perm_arr = _check_perm(perm, k)
    stored = w2 if perm_arr is None else np.ascontiguousarray(w2[:, perm_arr])
    budget, threshold = _budget(outlier_fraction, outlier_threshold, select, w2)
    maxq = (1 << bits) - 1

    if select == "magnitude":
        mask = _select_by_magnitude(stored, budget, threshold)
    else:
        mask = _select_by_error(stored, group_size, maxq, budget, threshold)

    scales, zeros = _fit_first_order(stored, mask, group_size, maxq)
    stats = {}
    for which, values in (("scales", scales), ("zeros", zeros)):
        stats[which] = _quantize_statistics(values.T, stat_bits, stat_group, stat_dtype, which)
    dec_scales = _decoded_statistics(*stats["scales"], stat_bits, stat_group, stat_dtype, rows)
    dec_zeros = _decoded_statistics(*stats["zeros"], stat_bits, stat_group, stat_dtype, rows)
    codes, residual = _base_codes(stored, mask, dec_scales, dec_zeros, group_size, maxq)

    row_ptr, col_idx, values = _outlier_csr(mask, residual, perm_arr, value_dtype, k)
    from ..kernels._ref.bitpack import pack_codes

    parts: dict[str, np.ndarray] = {"codes": pack_codes(codes, bits)}
    for which in ("scales", "zeros"):
        st_codes, s2, z2 = stats[which]
        parts[f"{which}.codes"] = pack_codes(st_codes, stat_bits)
        parts[f"{which}.scales"] = s2
        parts[f"{which}.zeros"] = z2
    parts["outliers.row_ptr"] = row_ptr
    parts["outliers.col_idx"] = col_idx
    parts["outliers.values"] = values
    if perm_arr is not None:
        parts["perm"] = perm_arr
    layout = SparseLayout(bits=bits, group_size=group_size, stat_bits=stat_bits,
                          stat_group=stat_group, stat_dtype=stat_dtype, value_dtype=value_dtype,
                          nnz=int(col_idx.shape[0]), perm=perm_arr is not None)
    qt = QTensor(layout, shape, parts, dtype=logical)
    qt.check()
    return qt


# -- arguments ----------------------------------------------------------------------------------
def _as_float32(array: Any, dtype: str | None) -> tuple[np.ndarray, str]:
    a = np.asarray(array)
    src = dtype_of(a)
    if src not in _LOGICAL:
        raise ArgumentError("sparse quantization needs a float array", field="array",
                            expected=list(_LOGICAL), found=src)
    if a.ndim < 1:
        raise ArgumentError("sparse quantization needs at least one dimension", field="array",
                            found=list(a.shape))
    logical = dtype or src
    if logical not in _LOGICAL:
        raise ArgumentError("the logical dtype must be a float type", field="dtype",
                            expected=list(_LOGICAL), found=logical)
    stored = a.view(np.uint16) if a.dtype.kind == "V" else a.astype(DTYPES[src].storage,
                                                                      copy=False)
    w = np.ascontiguousarray(to_float32(stored, src), dtype=np.float32)
    bad = ~np.isfinite(w)
    if bad.any():
        idx = first_bad_index(bad)
        raise ArgumentError(f"cannot quantize NaN or infinite values (first at {list(idx)})",
                            field="array", found=float(w[idx]))
    return w, logical


def _check_perm(perm: Any, k: int) -> np.ndarray | None:
    if perm is None:
        return None
    p = np.asarray(perm)
    if p.shape != (k,) or p.dtype.kind not in "iu":
        raise ArgumentError("perm must be an integer array [K]", field="perm",
                            expected=f"[{k}]", found=f"{p.dtype}{list(p.shape)}")
    if k and (p.min() < 0 or p.max() >= k or np.unique(p).size != k):
        raise ArgumentError("perm is not a permutation of 0..K-1", field="perm")
    return p.astype(np.int32)


def _budget(fraction: Any, threshold: Any, select: str,
            w: np.ndarray) -> tuple[int | None, float | None]:
    """(most outliers or None for no cap, threshold or None)."""
    if select not in _SELECT:
        raise ArgumentError("unknown outlier selection", field="select", expected=list(_SELECT),
                            found=select)
    if fraction is None and threshold is None:
        fraction = 0.01
    total = int(w.size)
    budget = None
    if fraction is not None:
        if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not (
                0 <= fraction < 1):
            raise ArgumentError("outlier_fraction must be a number in [0, 1)",
                                field="outlier_fraction", found=fraction)
        budget = round(float(fraction) * total)
    if threshold is not None:
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not (
                0 < threshold < float("inf")):
            raise ArgumentError("outlier_threshold must be a positive number",
                                field="outlier_threshold", found=threshold)
        threshold = float(threshold)
    return budget, threshold


# -- outlier selection --------------------------------------------------------------------------
def _select_by_magnitude(w: np.ndarray, budget: int | None,
                         threshold: float | None) -> np.ndarray:
    """The largest ``|w|`` (above ``threshold`` times the tensor's RMS, if given)."""
    score = np.abs(w).reshape(-1)
    mask = np.zeros(score.shape, dtype=bool)
    if threshold is not None:
        rms = float(np.sqrt(np.mean(np.square(score, dtype=np.float64)))) if score.size else 0.0
        cand = np.flatnonzero(score > threshold * rms)
    else:
        cand = np.arange(score.size)
    if budget is not None and budget < cand.size:
        if budget == 0:
            cand = cand[:0]
        else:
            cand = cand[np.argpartition(score[cand], cand.size - budget)[cand.size - budget:]]
    mask[cand] = True
    return mask.reshape(w.shape)


def _grouped(w: np.ndarray, group_size: int) -> np.ndarray:
    """``[rows, k]`` -> ``[rows * G, group_size]`` float32 with NaN in the padding."""
    rows, k = w.shape
    g = n_groups(k, group_size)
    x = np.full((rows, g * group_size), np.nan, dtype=np.float32)
    x[:, :k] = w
    return x.reshape(rows * g, group_size)


def _group_error(x: np.ndarray, act: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                 maxq: int) -> np.ndarray:
    """Squared min-max quantization error of each group over its active weights (the range
    widened to include 0, as in :func:`_fit_first_order`)."""
    lo, hi = np.minimum(lo, 0), np.maximum(hi, 0)
    scale = (hi - lo) / maxq
    inv = np.divide(1.0, scale, out=np.zeros_like(scale), where=scale > 0)
    xs = np.where(act, x, 0)
    q = np.clip(np.rint((xs - lo[:, None]) * inv[:, None]), 0, maxq)
    err = np.square(xs - (lo[:, None] + q * scale[:, None]))
    return np.where(act, err, 0).sum(axis=1)


def _candidates(x: np.ndarray, act: np.ndarray,
                maxq: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group: (error drop of its best leave-one-out candidate, that candidate's index,
    the group's error).

    Computed in float64, so squared errors of very large or very small weights neither
    overflow nor vanish.
    """
    x = x.astype(np.float64)
    m = x.shape[0]
    ar = np.arange(m)
    hi_v = np.where(act, x, -np.inf)
    lo_v = np.where(act, x, np.inf)
    imax, imin = hi_v.argmax(axis=1), lo_v.argmin(axis=1)
    hi, lo = hi_v[ar, imax], lo_v[ar, imin]
    hi_v[ar, imax] = -np.inf
    lo_v[ar, imin] = np.inf
    hi2, lo2 = hi_v.max(axis=1), lo_v.min(axis=1)
    count = act.sum(axis=1)
    usable = count >= 2
    same = imax == imin
    z = np.zeros(m, dtype=np.float64)
    lo, hi = np.where(usable, lo, z), np.where(usable, hi, z)
    hi2, lo2 = np.where(usable, hi2, z), np.where(usable, lo2, z)
    base = _group_error(x, act, lo, hi, maxq)
    act_max = act.copy()
    act_max[ar, imax] = False
    drop_max = base - _group_error(x, act_max, np.where(same, lo2, lo), hi2, maxq)
    act_min = act.copy()
    act_min[ar, imin] = False
    drop_min = base - _group_error(x, act_min, lo2, np.where(same, hi2, hi), maxq)
    take_max = drop_max >= drop_min
    drop = np.where(take_max, drop_max, drop_min)
    drop = np.where(usable, drop, -np.inf)
    return drop, np.where(take_max, imax, imin), base


def _select_by_error(w: np.ndarray, group_size: int, maxq: int, budget: int | None,
                     threshold: float | None) -> np.ndarray:
    """Greedy leave-one-out selection; a threshold is in units of the mean group error."""
    rows, k = w.shape
    x = _grouped(w, group_size)
    n = x.shape[0]
    act = ~np.isnan(x)
    drop = np.empty(n, dtype=np.float64)
    cand = np.empty(n, dtype=np.int64)
    error = np.empty(n, dtype=np.float64)
    step = max(1, _CHUNK_ELEMENTS // max(group_size, 1))
    for s in range(0, n, step):
        drop[s:s + step], cand[s:s + step], error[s:s + step] = _candidates(
            x[s:s + step], act[s:s + step], maxq)
    least = 0.0 if threshold is None or n == 0 else threshold * float(error.mean())
    remaining = n * group_size if budget is None else budget
    while remaining > 0:
        ok = np.flatnonzero(drop > least)
        if ok.size == 0:
            break
        if budget is None:  # threshold only: every group's candidate above it, each round
            take = ok.size
        else:
            take = min(ok.size, remaining if remaining <= 64 else -(-remaining // 2))
        if take < ok.size:
            ok = ok[np.argpartition(drop[ok], ok.size - take)[ok.size - take:]]
        act[ok, cand[ok]] = False
        remaining -= ok.size
        drop[ok], cand[ok], _ = _candidates(x[ok], act[ok], maxq)
    mask = ~act & ~np.isnan(x)
    return mask.reshape(rows, n_groups(k, group_size) * group_size)[:, :k]


# -- fitting ------------------------------------------------------------------------------------
def _fit_first_order(w: np.ndarray, mask: np.ndarray, group_size: int,
                     maxq: int) -> tuple[np.ndarray, np.ndarray]:
    """Min-max scales and float zeros ``[rows, G]`` over the non-outliers of each group."""
    rows, k = w.shape
    g = n_groups(k, group_size)
    x = _grouped(np.where(mask, np.nan, w), group_size).reshape(rows, g, group_size)
    with np.errstate(invalid="ignore"):
        empty = np.isnan(x).all(axis=2)
        lo = np.where(empty, 0, np.nanmin(np.where(empty[..., None], 0, x), axis=2))
        hi = np.where(empty, 0, np.nanmax(np.where(empty[..., None], 0, x), axis=2))
    # the range includes 0 (as GPTQ's): zero points then lie in [0, 2**bits - 1], so that the
    # zero points of neighbouring rows quantize well together, and constants stay exact
    lo, hi = np.minimum(lo, 0), np.maximum(hi, 0)
    scale = ((hi - lo) / maxq).astype(np.float32)
    zero = np.divide(-lo, scale, out=np.zeros_like(scale), where=scale > 0).astype(np.float32)
    return scale, zero


def _store(values: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "F32":
        return np.ascontiguousarray(values, dtype=np.float32)
    if dtype == "BF16":
        return np.ascontiguousarray(f32_to_bf16(values.astype(np.float32)))
    with np.errstate(over="ignore"):
        return np.ascontiguousarray(values.astype(np.float16))


def _quantize_statistics(t: np.ndarray, bits: int, group: int, dtype: str,
                         which: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First-order statistics ``[G, rows]`` -> (codes uint8 [G, rows], s2, z2 [G, R2])."""
    g, rows = t.shape
    r2 = n_groups(rows, group)
    maxq = (1 << bits) - 1
    y = np.full((g, r2 * group), np.nan, dtype=np.float64)
    y[:, :rows] = t
    y = y.reshape(g, r2, group)
    if y.size:
        lo, hi = np.nanmin(y, axis=2), np.nanmax(y, axis=2)
    else:
        lo = hi = np.zeros((g, r2))
    span = np.maximum(hi - lo, np.maximum(np.abs(lo), np.abs(hi)) * _MIN_RELATIVE_RANGE)
    s2 = span / maxq
    z2 = np.divide(-lo, s2, out=np.zeros_like(s2), where=s2 > 0)
    s2_st, z2_st = _store(s2, dtype), _store(z2, dtype)
    s2_f, z2_f = to_float32(s2_st, dtype), to_float32(z2_st, dtype)
    for name, exact, got in (("scales", s2, s2_f), ("zeros", z2, z2_f)):
        bad = ~np.isfinite(got) | ((got == 0) & (exact != 0))
        if bad.any():
            idx = first_bad_index(bad)
            raise ArgumentError(f"second-order {name} of the first-order {which} do not fit "
                                f"stat_dtype {dtype} (first at {list(idx)}); use "
                                "stat_dtype='F32'", field="stat_dtype", found=float(exact[idx]))
    inv = np.divide(1.0, s2_f, out=np.zeros(s2_f.shape, dtype=np.float64), where=s2_f > 0)
    q = np.rint(y * inv[..., None] + z2_f[..., None].astype(np.float64))
    q = np.where(np.isnan(q), 0, np.clip(q, 0, maxq)).astype(np.uint8)
    return np.ascontiguousarray(q.reshape(g, r2 * group)[:, :rows]), s2_st, z2_st


def _decoded_statistics(codes: np.ndarray, s2: np.ndarray, z2: np.ndarray, bits: int,
                        group: int, dtype: str, rows: int) -> np.ndarray:
    """The statistics as the file will decode them (bitpack rules), ``[rows, G]`` float32."""
    from ..kernels._ref.bitpack import dequantize, pack_codes

    g = codes.shape[0]
    if g == 0 or rows == 0:
        return np.zeros((rows, g), dtype=np.float32)
    dec = dequantize(pack_codes(codes, bits), s2, bits=bits, k=rows, group_size=group,
                     zero="float", zeros=z2, scale_dtype=dtype, zero_dtype=dtype,
                     validate=False)
    return np.ascontiguousarray(dec.T)


def _base_codes(w: np.ndarray, mask: np.ndarray, scales: np.ndarray, zeros: np.ndarray,
                group_size: int, maxq: int) -> tuple[np.ndarray, np.ndarray]:
    """Codes ``[rows, k]`` against the decoded statistics, and ``w - base`` (float32)."""
    rows, k = w.shape
    codes = np.empty((rows, k), dtype=np.uint8)
    residual = np.zeros((rows, k), dtype=np.float32)
    gi = np.arange(k) // group_size
    step = max(1, _CHUNK_ELEMENTS // max(k, 1))
    for r0 in range(0, rows, step):
        sl = slice(r0, r0 + step)
        s, z = scales[sl][:, gi], zeros[sl][:, gi]
        with np.errstate(over="ignore"):
            ratio = np.divide(w[sl], s, out=np.zeros_like(s), where=s != 0)
        q = np.clip(np.rint(ratio.astype(np.float64) + z), 0, maxq)
        q = np.where(s != 0, q, 0).astype(np.uint8)
        codes[sl] = q
        base = s * (q.astype(np.float32) - z)  # float32, QF-SPARSE-022 order
        residual[sl] = np.where(mask[sl], w[sl] - base, 0)
    return codes, residual


def _outlier_csr(mask: np.ndarray, residual: np.ndarray, perm: np.ndarray | None,
                 value_dtype: str, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR arrays in the original column order (QF-SPARSE-011..013)."""
    rows = mask.shape[0]
    r, j = np.nonzero(mask)
    vals = residual[r, j]
    cols = j if perm is None else perm[j].astype(np.int64)
    order = np.lexsort((cols, r))
    r, cols, vals = r[order], cols[order], vals[order]
    stored = _store(vals, value_dtype)
    bad = ~np.isfinite(to_float32(stored, value_dtype))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ArgumentError(f"outlier residual at [{int(r[i])}, {int(cols[i])}] does not fit "
                            f"value_dtype {value_dtype}; use value_dtype='F32'",
                            field="value_dtype", found=float(vals[i]))
    nnz = int(cols.shape[0])
    counts = np.bincount(r, minlength=rows) if rows else np.zeros(0, dtype=np.int64)
    row_ptr = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(counts, out=row_ptr[1:])
    return (row_ptr.astype(DTYPES[row_ptr_dtype(nnz)].storage),
            cols.astype(DTYPES[col_index_dtype(k)].storage), stored)
