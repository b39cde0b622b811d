"""Quantizing float arrays into the bitpack layout: round-to-nearest, optional clipping search.

``qformat.quantize(w, "bitpack", bits=4, group_size=128, ...)`` lands here. Per group of
``group_size`` consecutive values along the last axis it picks a scale (and zero point or bias)
from the group's range, rounds the scale to its storage dtype, and then rounds every value to
the nearest code *under the stored parameters*, so the error is what a reader will see. With
``clip_search`` it tries a grid of range shrink factors per group and keeps the one with the
least squared error (the error of shrink factor 1.0, plain min-max, is always on the grid, so
the search never does worse than round-to-nearest). Work is done in row chunks, so memory stays
a few times the chunk size. Not normative: ``specs/layouts/bitpack.md`` defines only decoding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..dtypes import DTYPES, bf16_to_f32, dtype_of, f32_to_bf16, to_float32
from ..errors import ArgumentError
from ..kernels._bitpack_common import FLOAT_PART_DTYPES, LEVEL_TABLES, first_bad_index, n_groups
from .qtensor import QTensor

__all__ = ["DEFAULT_CLIP_GRID", "quantize_bitpack"]

#: Shrink factors tried by ``clip_search=True``: 1.0 (min-max) down to 0.5 in steps of 0.025.
DEFAULT_CLIP_GRID: tuple[float, ...] = tuple(round(1.0 - 0.025 * i, 3) for i in range(21))
#: Values quantized per chunk of rows (bounds the temporaries of the search).
_CHUNK_VALUES = 1 << 21


def _round_to(values: np.ndarray, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """float32 values -> (stored array in ``dtype``, the float32 a reader will decode)."""
    if dtype == "F32":
        v = values.astype(np.float32)
        return v, v
    if dtype == "F16":
        with np.errstate(over="ignore"):
            st = values.astype(np.float16)
        return st, st.astype(np.float32)
    st = f32_to_bf16(values)
    return st, bf16_to_f32(st)


class _Fit:
    """Stored parameters and codes of one chunk of rows."""

    def __init__(self, scales: np.ndarray, offsets: np.ndarray | None, codes: np.ndarray,
                 error: np.ndarray) -> None:
        self.scales = scales    # stored scale dtype, [rows, G]
        self.offsets = offsets  # zeros (U8 or float) or bias, stored dtype, [rows, G]
        self.codes = codes      # uint8 [rows, G, gsz]
        self.error = error      # float64 squared error per group [rows, G]


class _Quantizer:
    def __init__(self, bits: int, zero: str, scale_dtype: str, zero_dtype: str | None,
                 levels: np.ndarray | None) -> None:
        self.bits = bits
        self.maxq = (1 << bits) - 1
        self.zero = zero
        self.scale_dtype = scale_dtype
        self.zero_dtype = zero_dtype
        self.levels = levels
        if levels is not None:
            order = np.argsort(levels, kind="stable")
            self.sorted_levels = levels[order]
            self.level_order = order.astype(np.uint8)
            self.midpoints = (self.sorted_levels[1:] + self.sorted_levels[:-1]) / np.float32(2)

    def nearest_level(self, t: np.ndarray) -> np.ndarray:
        """Code of the level nearest to each t (ties to the lower level)."""
        idx = np.searchsorted(self.midpoints, t, side="left")
        return self.level_order[idx]

    def value(self, q: np.ndarray) -> np.ndarray:
        return self.levels[q] if self.levels is not None else q.astype(np.float32)

    def fit(self, w: np.ndarray, valid: np.ndarray, alpha: np.ndarray) -> _Fit:
        """Quantize groups ``w`` [rows, G, gsz] with range shrink factors ``alpha`` [rows, G, 1].

        Padding (``valid`` False) repeats a real value of the group, so it never widens the
        range; it is excluded from the error.
        """
        lo = w.min(axis=2, keepdims=True)
        hi = w.max(axis=2, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if self.zero == "none":
                codes, s_st, s = self._fit_symmetric(w, lo, hi, alpha)
                off_st = None
                w_hat = s * (self.value(codes) if self.levels is not None
                             else codes.astype(np.float32) - np.float32(1 << (self.bits - 1)))
            elif self.zero == "int":
                codes, s_st, s, off_st, z = self._fit_int(w, lo, hi, alpha)
                w_hat = s * (self.value(codes) - z)
            else:
                codes, s_st, s, off_st, off = self._fit_affine(w, lo, hi, alpha)
                v = self.value(codes)
                w_hat = s * (v - off) if self.zero == "float" else s * v + off
        err = np.where(valid, (w_hat.astype(np.float64) - w) ** 2, 0.0).sum(axis=2)
        return _Fit(s_st[..., 0], None if off_st is None else off_st[..., 0], codes, err)

    def _fit_symmetric(self, w, lo, hi, alpha):
        if self.levels is None:
            c = np.float32(1 << (self.bits - 1))
            # the value of largest magnitude maps to code 0 exactly: s = m / -c (may be < 0)
            m = np.where(-lo >= hi, lo, hi) * alpha
            s_st, s = _round_to((m / -c).astype(np.float32), self.scale_dtype)
            safe = np.where(s == 0, np.float32(1), s)
            q = np.where(s == 0, c, np.rint(w / safe) + c)
            return np.clip(q, 0, self.maxq).astype(np.uint8), s_st, s
        amax = np.maximum(-lo, hi) * alpha
        lmax = np.float32(np.abs(self.levels).max())
        s_st, s = _round_to((amax / lmax).astype(np.float32), self.scale_dtype)
        safe = np.where(s == 0, np.float32(1), s)
        q = self.nearest_level(np.where(s == 0, np.float32(0), w / safe))
        return q, s_st, s

    def _fit_int(self, w, lo, hi, alpha):
        # the range includes 0 (so the integer zero point is a valid code), as GPTQ does
        lo = np.minimum(lo, 0) * alpha
        hi = np.maximum(hi, 0) * alpha
        s_st, s = _round_to(((hi - lo) / np.float32(self.maxq)).astype(np.float32),
                            self.scale_dtype)
        safe = np.where(s == 0, np.float32(1), s)
        z = np.where(s == 0, 0, np.clip(np.rint(-lo / safe), 0, self.maxq)).astype(np.uint8)
        zf = z.astype(np.float32)
        q = np.where(s == 0, z, np.clip(np.rint(w / safe) + zf, 0, self.maxq)).astype(np.uint8)
        return q, s_st, s, z, zf

    def _fit_affine(self, w, lo, hi, alpha):
        """float zero points and biases: map [lo, hi] (shrunk about its middle) to the codes."""
        mid = (lo + hi) * np.float32(0.5)
        lo = mid - (mid - lo) * alpha
        hi = mid + (hi - mid) * alpha
        if self.levels is None:
            vlo, vhi = np.float32(0), np.float32(self.maxq)
        else:
            vlo, vhi = self.sorted_levels[0], self.sorted_levels[-1]
        span = np.float32(vhi - vlo)
        const = hi == lo
        # a constant group (hi == lo) is stored exactly: scale 0 and bias = the value, or
        # scale = the value and a float zero point one code below code 0
        raw = np.where(const, np.where(self.zero == "float", lo, 0), (hi - lo) / span)
        s_st, s = _round_to(raw.astype(np.float32), self.scale_dtype)
        safe = np.where(s == 0, np.float32(1), s)
        if self.zero == "bias":
            off_st, off = _round_to((lo - s * vlo).astype(np.float32), self.zero_dtype)
            t = (w - off) / safe
            t = np.where(s == 0, vlo, t)
        else:
            z_raw = np.where(const, vlo - np.float32(1), vlo - lo / safe)
            off_st, off = _round_to(z_raw.astype(np.float32), self.zero_dtype)
            t = np.where(const & (s != 0), vlo, w / safe + off)
            if self.levels is None:
                t = np.where(s == 0, off, t)
            else:
                t = np.where(s == 0, np.float32(0), t)
        if self.levels is None:
            q = np.clip(np.rint(t), 0, self.maxq).astype(np.uint8)
        else:
            q = self.nearest_level(t.astype(np.float32))
        return q, s_st, s, off_st, off


def _check_finite(values: np.ndarray, what: str) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        idx = first_bad_index(bad)
        raise ArgumentError(f"{what} is NaN or infinite at index {list(idx)}", field="array",
                            expected="finite values", found=float(values[idx]))


def _resolve_levels(levels: Any, bits: int, level_name: str | None
                    ) -> tuple[np.ndarray | None, str | np.ndarray | None]:
    if levels is None:
        return None, None
    if isinstance(levels, str):
        table = LEVEL_TABLES.get(levels)
        if table is None:
            raise ArgumentError("unknown level table", field="levels",
                                expected=sorted(LEVEL_TABLES), found=levels)
        if table.size != 1 << bits:
            raise ArgumentError(f"level table {levels!r} needs bits="
                                f"{table.size.bit_length() - 1}", field="bits", found=bits)
        return table, levels
    table = np.asarray(levels)
    if table.shape != (1 << bits,) or table.dtype.kind != "f":
        raise ArgumentError("a level table needs 2**bits float entries", field="levels",
                            expected=f"float[{1 << bits}]",
                            found=f"{table.dtype}{list(table.shape)}")
    table = table.astype(np.float32)
    _check_finite(table, "level")
    if np.ptp(table) == 0:
        raise ArgumentError("a level table needs at least two distinct values", field="levels")
    return table, table


def quantize_bitpack(
    array: np.ndarray,
    *,
    bits: int = 4,
    group_size: int = 128,
    symmetric: bool | None = None,
    zero: str | None = None,
    scale_dtype: str = "F16",
    zero_dtype: str | None = None,
    levels: str | np.ndarray | Sequence[float] | None = None,
    level_name: str | None = None,
    clip_search: bool | Sequence[float] = False,
    perm: np.ndarray | None = None,
) -> QTensor:
    """Quantize a float array ``[..., K]`` into a bitpack QTensor (groups along the last axis).

    Args:
        bits: code width 1..8.
        group_size: values per group along the last axis (a last partial group is allowed),
            or -1 for one group per row.
        symmetric: True -> zero-point mode ``none``. Default: True with a level table, else
            False.
        zero: zero-point mode when not symmetric: ``int`` (default; U8 zero points, range
            widened to include 0 as GPTQ does), ``float`` (HQQ-style) or ``bias``
            (w = s*q + b, MLX-style).
        scale_dtype, zero_dtype: ``F16`` (default), ``BF16`` or ``F32``; zero_dtype defaults
            to scale_dtype for float zero points and biases.
        levels: ``"nf4"``, ``"fp4"`` or a custom table of 2**bits floats: codes index the
            table (symmetric: s = absmax / max|level|; asymmetric: the group range maps onto
            [min level, max level]).
        level_name: label stored with a custom table (default ``"custom"``).
        clip_search: True (grid :data:`DEFAULT_CLIP_GRID`) or a sequence of shrink factors in
            (0, 1]: per group, keep the factor with the least squared error. Symmetric and
            ``int`` ranges shrink towards 0, ``float``/``bias`` ranges towards their middle.
        perm: optional column order (stored column j = original column perm[j]); groups are
            formed in stored order.

    Raises:
        ArgumentError: non-float or non-finite input (naming the first bad index), bad
            options, or a scale/zero point that overflows its storage dtype.
    """
    w = np.asarray(array)
    try:
        src = dtype_of(w)
    except ArgumentError:
        src = str(w.dtype)
    if src not in ("F64", "F32", "F16", "BF16"):
        raise ArgumentError("bitpack quantizes float arrays", field="array",
                            expected="float16/bfloat16/float32/float64", found=str(w.dtype))
    if w.ndim < 1:
        raise ArgumentError("bitpack needs an array with at least one dimension",
                            field="array", found="0-d")
    if type(bits) is not int or not 1 <= bits <= 8:
        raise ArgumentError("bits must be an integer in 1..8", field="bits", found=bits)
    if type(group_size) is not int or not (group_size == -1 or group_size >= 1):
        raise ArgumentError("group_size must be a positive integer or -1", field="group_size",
                            found=group_size)
    if scale_dtype not in FLOAT_PART_DTYPES:
        raise ArgumentError("unsupported scale dtype", field="scale_dtype",
                            expected=FLOAT_PART_DTYPES, found=scale_dtype)
    table, level_arg = _resolve_levels(levels, bits, level_name)
    if symmetric is None:
        symmetric = table is not None and zero in (None, "none")
    if symmetric:
        if zero not in (None, "none"):
            raise ArgumentError("symmetric quantization has no zero point", field="zero",
                                expected="none", found=zero)
        zero = "none"
    else:
        zero = zero or "int"
        if zero not in ("int", "float", "bias"):
            raise ArgumentError("unknown zero-point mode", field="zero",
                                expected=["int", "float", "bias"], found=zero)
    if zero == "int":
        if table is not None:
            raise ArgumentError("integer zero points do not combine with a level table here; "
                                "use zero='float' or 'bias'", field="zero", found=zero)
        zero_dtype = "U8"
    elif zero in ("float", "bias"):
        zero_dtype = zero_dtype or scale_dtype
        if zero_dtype not in FLOAT_PART_DTYPES:
            raise ArgumentError("unsupported zero dtype", field="zero_dtype",
                                expected=FLOAT_PART_DTYPES, found=zero_dtype)
    else:
        zero_dtype = None
    grid = _clip_grid(clip_search)

    shape = w.shape
    k = shape[-1]
    w32 = to_float32(w.view(np.uint16) if w.dtype.kind == "V" else w, src)
    w2 = np.ascontiguousarray(w32.reshape(-1, k), dtype=np.float32)
    _check_finite(w2.reshape(shape), "value")
    rows = w2.shape[0]
    perm_arr = None
    if perm is not None:
        perm_arr = np.asarray(perm)
        if (perm_arr.shape != (k,) or perm_arr.dtype.kind not in "iu"
                or not np.array_equal(np.sort(perm_arr), np.arange(k))):
            raise ArgumentError("perm must be a permutation of 0..K-1", field="perm",
                                found=f"{perm_arr.dtype}{list(perm_arr.shape)}")
        w2 = np.ascontiguousarray(w2[:, perm_arr])

    gsz = k if group_size == -1 else group_size
    ng = n_groups(k, group_size)
    quant = _Quantizer(bits, zero, scale_dtype, zero_dtype, table)
    codes = np.empty((rows, k), dtype=np.uint8)
    s_store = np.empty((rows, ng), dtype=DTYPES[scale_dtype].storage)
    off_store = (np.empty((rows, ng), dtype=DTYPES[zero_dtype].storage)
                 if zero_dtype is not None else None)
    if rows and k:
        chunk = max(1, _CHUNK_VALUES // max(1, ng * gsz))
        for r0 in range(0, rows, chunk):
            r1 = min(rows, r0 + chunk)
            wg, valid = _grouped(w2[r0:r1], k, gsz, ng)
            fit = _search(quant, wg, valid, grid)
            codes[r0:r1] = fit.codes.reshape(r1 - r0, ng * gsz)[:, :k]
            s_store[r0:r1] = fit.scales
            if off_store is not None:
                off_store[r0:r1] = fit.offsets
    _check_stored(s_store, scale_dtype, "scale", "scale_dtype")
    if zero in ("float", "bias"):
        _check_stored(off_store, zero_dtype, "zero point" if zero == "float" else "bias",
                      "zero_dtype")
    if perm_arr is not None:  # from_codes takes codes in the original column order
        original = np.empty_like(codes)
        original[:, perm_arr] = codes
        codes = original
    from .bitpack import BitPackedLayout

    raw = {"F16": np.uint16, "BF16": np.uint16}
    return BitPackedLayout.from_codes(
        codes.reshape(shape), s_store.view(raw.get(scale_dtype, s_store.dtype)),
        zeros=off_store if zero in ("int", "float") else None,
        bias=off_store if zero == "bias" else None,
        bits=bits, group_size=group_size, levels=level_arg, level_name=level_name,
        perm=perm_arr, scale_dtype=scale_dtype, zero_dtype=zero_dtype,
        dtype=src if src in ("F32", "F16", "BF16", "F64") else "F32")


def _clip_grid(clip_search: bool | Sequence[float]) -> np.ndarray:
    if clip_search is True:
        return np.array(DEFAULT_CLIP_GRID, dtype=np.float32)
    if clip_search is False or clip_search is None:
        return np.ones(1, dtype=np.float32)
    try:
        grid = np.asarray([float(a) for a in clip_search], dtype=np.float32)
    except (TypeError, ValueError):
        raise ArgumentError("clip_search must be a bool or a sequence of shrink factors",
                            field="clip_search", found=repr(clip_search)[:80]) from None
    if grid.size == 0 or not np.all((grid > 0) & (grid <= 1)):
        raise ArgumentError("shrink factors must lie in (0, 1]", field="clip_search",
                            found=grid.tolist()[:8])
    return np.unique(np.append(grid, np.float32(1.0)))[::-1]


def _grouped(w: np.ndarray, k: int, gsz: int, ng: int) -> tuple[np.ndarray, np.ndarray]:
    """[rows, k] -> ([rows, ng, gsz], valid [ng, gsz]); the last group padded with its last
    real value (which changes no min or max)."""
    rows = w.shape[0]
    total = ng * gsz
    if total == k:
        return w.reshape(rows, ng, gsz), np.ones((ng, gsz), dtype=bool)
    padded = np.empty((rows, total), dtype=np.float32)
    padded[:, :k] = w
    padded[:, k:] = w[:, k - 1:k]
    valid = (np.arange(total) < k).reshape(ng, gsz)
    return padded.reshape(rows, ng, gsz), valid


def _search(quant: _Quantizer, wg: np.ndarray, valid: np.ndarray, grid: np.ndarray) -> _Fit:
    ones = np.ones((*wg.shape[:2], 1), dtype=np.float32)
    best = quant.fit(wg, valid, ones)
    if grid.size == 1:
        return best
    best_alpha = ones.copy()
    best_err = best.error
    for a in grid[1:]:
        trial = quant.fit(wg, valid, ones * a)
        better = trial.error < best_err
        best_alpha[better] = a
        best_err = np.where(better, trial.error, best_err)
    return quant.fit(wg, valid, best_alpha)


def _check_stored(stored: np.ndarray, dtype: str, what: str, option: str) -> None:
    if dtype == "U8":
        return
    values = to_float32(stored, dtype)
    bad = ~np.isfinite(values)
    if bad.any():
        idx = first_bad_index(bad)
        raise ArgumentError(f"{what} overflows {dtype} at [row, group] {list(idx)}; use a "
                            f"wider {option} (F32 or BF16)", field=option, found=dtype)
