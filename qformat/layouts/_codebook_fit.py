"""Fitting codebooks: k-means (VQ, PQ) and greedy residual fitting with refinement (additive).

Deterministic under ``seed``: every random choice comes from one ``numpy.random.Generator`` and
the jitted assignment is independent of the thread count (each point is assigned on its own,
ties go to the lowest index). It does not try to match AQLM's training (beam search, fine-tuning
on calibration data); it only has to beat round-to-nearest at equal bits per weight.

Steps (``specs/layouts/codebook.md`` describes the result, not this procedure):

1. Each row is divided by its RMS (the initial scale, rounded to ``scale_dtype``).
2. The normalised weight is cut into group vectors (``og * ig`` values each).
3. ``product``: one k-means per column slice. ``additive``: k-means on the residual for codebook
   0, 1, ... in turn, then ``refine_passes`` passes that re-fit each codebook (Lloyd steps) with
   the others fixed. Fitting uses at most ``max_fit_points`` vectors, k-means++ initialisation
   for codebooks of up to 4096 entries (random distinct points above that).
4. Codebooks are rounded to ``codebook_dtype``; all vectors are encoded with the rounded
   codebooks (greedy, then ``refine_passes`` coordinate passes for additive mode).
5. Each row's scale is refitted by least squares against the decoded row and rounded.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..dtypes import DTYPES, dtype_of, f32_to_bf16, to_float32
from ..errors import ArgumentError, QFormatError
from .qtensor import QTensor

__all__ = ["fit"]

_OPTIONS = {"mode", "num_codebooks", "codebook_bits", "in_group_size", "out_group_size",
            "codebook_dtype", "scale_dtype", "iterations", "refine_passes", "seed",
            "max_fit_points"}
#: Largest codebook initialised with k-means++ (its cost grows as entries x points).
KMEANS_PP_MAX_ENTRIES = 4096
#: Points per codebook entry that k-means++ seeding samples from.
KMEANS_PP_POINTS_PER_ENTRY = 16


def _round_to(values: np.ndarray, code: str) -> np.ndarray:
    """float32 values -> (stored array of ``code``, the float32 values it decodes to)."""
    values = np.asarray(values, dtype=np.float32)
    if code == "F32":
        return values.copy(), values.copy()
    if code == "F16":
        stored = np.clip(values, -65504.0, 65504.0).astype(np.float16)
        return stored, stored.astype(np.float32)
    stored = f32_to_bf16(values)
    return stored, to_float32(stored, "BF16")


def _option_int(options: dict[str, Any], key: str, default: int, low: int) -> int:
    value = options.get(key, default)
    if type(value) is not int or value < low:
        raise ArgumentError(f"{key} must be an integer >= {low}", field=key, found=value)
    return value


def fit(cls: type, array: np.ndarray, **options: Any) -> QTensor:
    """Quantize ``array`` (2-D float ``[out, in]``) into a QTensor of layout ``cls``."""
    unknown = set(options) - _OPTIONS
    if unknown:
        raise ArgumentError("unknown codebook option", field="config",
                            expected=sorted(_OPTIONS), found=sorted(unknown))
    layout = cls(**{k: options[k] for k in ("mode", "num_codebooks", "codebook_bits",
                                            "in_group_size", "out_group_size",
                                            "codebook_dtype", "scale_dtype") if k in options})
    iterations = _option_int(options, "iterations", 15, 0)
    refine_passes = _option_int(options, "refine_passes", 2, 0)
    seed = _option_int(options, "seed", 0, 0)
    max_fit = _option_int(options, "max_fit_points", 256 * layout.codebook_size, 1)

    array = np.asarray(array)
    try:
        src = dtype_of(array)
    except QFormatError:
        src = None
    if src is None or DTYPES[src].kind != "float" or array.ndim != 2:
        raise ArgumentError("codebook quantization takes a 2-D float array [out, in]",
                            field="array", found=f"{array.dtype}{list(array.shape)}")
    layout.part_specs(array.shape, src)  # group sizes must divide the weight
    weight = to_float32(array, src).astype(np.float32, copy=False)
    if not np.isfinite(weight).all():
        raise ArgumentError("cannot quantize NaN or infinite weights", field="array",
                            found=f"{int(np.count_nonzero(~np.isfinite(weight)))} non-finite")
    rng = np.random.default_rng(seed)
    out, inp = weight.shape
    m, size, og, ig = (layout.num_codebooks, layout.codebook_size, layout.out_group_size,
                       layout.in_group_size)
    sub = layout.sub_group_size

    # 1-2. normalise rows, cut into group vectors [N, og, ig] ordered (row group, in group)
    rms = np.sqrt(np.mean(np.square(weight, dtype=np.float64), axis=1)).astype(np.float32)
    _, rms_q = _round_to(rms, layout.scale_dtype)
    divisor = np.where(rms_q > 0, rms_q, np.float32(1.0))
    normalised = weight / divisor[:, None]
    groups = normalised.reshape(out // og, og, inp // ig, ig).transpose(0, 2, 1, 3)
    groups = np.ascontiguousarray(groups).reshape(-1, og, ig)
    n = groups.shape[0]

    # 3-4. fit codebooks and codes
    books = np.zeros((m, size, og, sub), dtype=np.float32)
    codes = np.zeros((n, m), dtype=np.int64)
    fit_idx = (np.sort(rng.choice(n, max_fit, replace=False)) if n > max_fit
               else np.arange(n))
    if layout.product:
        for c in range(m):
            pts = np.ascontiguousarray(groups[:, :, c * sub:(c + 1) * sub]).reshape(n, -1)
            centroids = _kmeans(pts[fit_idx], size, iterations, rng)
            _, books[c] = _rounded_book(centroids, layout.codebook_dtype, og, sub)
            codes[:, c] = _assign(pts, books[c].reshape(size, -1))
    else:
        flat = groups.reshape(n, -1)
        books = _fit_additive(flat[fit_idx], m, size, iterations, refine_passes, rng)
        books = books.reshape(m, size, og, sub)
        for c in range(m):
            _, books[c] = _rounded_book(books[c].reshape(size, -1), layout.codebook_dtype,
                                        og, sub)
        codes = _encode_additive(flat, books.reshape(m, size, -1), refine_passes)

    # 5. least-squares scale per row against the decoded (unit-scale) weight
    packed = _pack(layout, codes, out // og, inp // ig)
    from ..kernels.codebook import decode_codebook

    unit = decode_codebook(packed, books, np.ones(out, dtype=np.float32), layout.codebook_bits,
                           layout.product, inp // ig)
    num = np.einsum("ij,ij->i", weight.astype(np.float64), unit.astype(np.float64))
    den = np.einsum("ij,ij->i", unit.astype(np.float64), unit.astype(np.float64))
    best = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    scales_stored, _ = _round_to(best.astype(np.float32), layout.scale_dtype)
    books_stored, _ = _round_to(books, layout.codebook_dtype)
    qt = QTensor(layout, (out, inp), {"codes": packed, "codebooks": books_stored,
                                      "scales": scales_stored}, dtype=src)
    qt.check()
    return qt


def _pack(layout: Any, codes: np.ndarray, out_groups: int, in_groups: int) -> np.ndarray:
    from .codebook import pack_codes

    return pack_codes(codes.reshape(out_groups, in_groups * layout.num_codebooks),
                      layout.codebook_bits)


def _rounded_book(centroids: np.ndarray, code: str, og: int, sub: int) -> tuple[Any, Any]:
    stored, values = _round_to(centroids, code)
    return stored, values.reshape(-1, og, sub)


def _assign(points: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    from ..kernels.codebook import assign_nearest

    labels, _ = assign_nearest(np.ascontiguousarray(points, dtype=np.float32),
                               np.ascontiguousarray(centroids, dtype=np.float32))
    return labels.astype(np.int64)


def _kmeans_pp(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding (D^2 sampling), distances in float64."""
    n = points.shape[0]
    pts = points.astype(np.float64)
    chosen = np.empty(k, dtype=np.int64)
    chosen[0] = rng.integers(n)
    d2 = np.square(pts - pts[chosen[0]]).sum(axis=1)
    for i in range(1, k):
        total = d2.sum()
        if total <= 0:  # every point already coincides with a centre: pad with duplicates
            chosen[i:] = rng.integers(n, size=k - i)
            break
        pick = int(np.searchsorted(np.cumsum(d2), rng.random() * total, side="right"))
        chosen[i] = min(pick, n - 1)
        d2 = np.minimum(d2, np.square(pts - pts[chosen[i]]).sum(axis=1))
    return points[chosen].astype(np.float32)


def _init_centroids(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    n = points.shape[0]
    if n <= k:  # fewer points than entries: every point is an entry (exact), pad by repeats
        return points[np.arange(k) % n].astype(np.float32)
    if k <= KMEANS_PP_MAX_ENTRIES:  # seeding looks at a sample of KMEANS_PP_POINTS_PER_ENTRY*k
        pool = min(n, KMEANS_PP_POINTS_PER_ENTRY * k)
        sample = points if pool == n else points[np.sort(rng.choice(n, pool, replace=False))]
        return _kmeans_pp(sample, k, rng)
    return points[np.sort(rng.choice(n, k, replace=False))].astype(np.float32)


def _update(points: np.ndarray, labels: np.ndarray, centroids: np.ndarray,
            score: np.ndarray) -> np.ndarray:
    """Lloyd update; an empty cluster takes the worst-fitted point not yet used (deterministic)."""
    k, d = centroids.shape
    counts = np.bincount(labels, minlength=k)
    sums = np.stack([np.bincount(labels, weights=points[:, t], minlength=k) for t in range(d)],
                    axis=1)
    new = centroids.astype(np.float64).copy()
    filled = counts > 0
    new[filled] = sums[filled] / counts[filled, None]
    empty = np.flatnonzero(~filled)
    if empty.size:
        err = score.astype(np.float64) + np.square(points.astype(np.float64)).sum(axis=1)
        worst = np.argsort(-err, kind="stable")[:empty.size]
        new[empty[:worst.size]] = points[worst]
    return new.astype(np.float32)


def _lloyd(points: np.ndarray, centroids: np.ndarray, iterations: int) -> np.ndarray:
    from ..kernels.codebook import assign_nearest

    pts = np.ascontiguousarray(points, dtype=np.float32)
    for _ in range(iterations):
        labels, score = assign_nearest(pts, centroids)
        new = _update(pts, labels, centroids, score)
        if np.array_equal(new, centroids):
            break
        centroids = new
    return centroids


def _kmeans(points: np.ndarray, k: int, iterations: int, rng: np.random.Generator) -> np.ndarray:
    return _lloyd(points, _init_centroids(points, k, rng), iterations)


def _fit_additive(points: np.ndarray, m: int, k: int, iterations: int, refine_passes: int,
                  rng: np.random.Generator) -> np.ndarray:
    """Greedy residual k-means, then coordinate refinement: codebooks ``[M, K, d]``."""
    n, d = points.shape
    books = np.zeros((m, k, d), dtype=np.float32)
    labels = np.zeros((n, m), dtype=np.int64)
    residual = points.astype(np.float32).copy()
    for c in range(m):
        books[c] = _kmeans(residual, k, iterations, rng)
        labels[:, c] = _assign(residual, books[c])
        residual -= books[c][labels[:, c]]
    steps = max(1, iterations // 3)
    for _ in range(refine_passes if m > 1 else 0):
        for c in range(m):
            target = residual + books[c][labels[:, c]]  # what codebook c alone should explain
            books[c] = _lloyd(target, books[c], steps)
            labels[:, c] = _assign(target, books[c])
            residual = target - books[c][labels[:, c]]
    return books


def _encode_additive(points: np.ndarray, books: np.ndarray, refine_passes: int) -> np.ndarray:
    """Codes of every point for fixed codebooks: greedy, then coordinate-descent passes."""
    m = books.shape[0]
    n = points.shape[0]
    labels = np.zeros((n, m), dtype=np.int64)
    residual = points.astype(np.float32).copy()
    for c in range(m):
        labels[:, c] = _assign(residual, books[c])
        residual -= books[c][labels[:, c]]
    for _ in range(refine_passes if m > 1 else 0):
        for c in range(m):
            target = residual + books[c][labels[:, c]]
            labels[:, c] = _assign(target, books[c])
            residual = target - books[c][labels[:, c]]
    return labels
