"""Numpy references of :mod:`qformat.kernels.codebook` (same public names, same results).

Dequantization here is the normative formula of ``specs/layouts/codebook.md``: codes unpacked
from each row's LSB-first bit stream, the group accumulated in float32 starting from +0.0 by
adding codebook ``0, 1, ..., M-1`` in turn (each add rounded), then multiplied by the row's
float32 scale. The jitted decode must reproduce it bit for bit.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "assign_nearest",
    "decode_codebook",
    "f16_to_f32",
    "linear_codebook",
    "pack_codes",
    "unpack_codes",
]


def pack_codes(codes: np.ndarray, bits: int) -> np.ndarray:
    """Codes ``[rows, n]`` (each < 2**bits) -> ``uint8 [rows, ceil(n*bits/8)]``.

    Code ``i`` of a row occupies bits ``i*bits .. i*bits+bits-1`` of the row's bit stream, least
    significant bit first; stream bit ``s`` is bit ``s % 8`` of byte ``s // 8``. Pad bits are 0.
    """
    codes = np.asarray(codes, dtype=np.int64)
    rows, n = codes.shape
    row_bytes = (n * bits + 7) // 8
    # expand every code into its bits (LSB first), concatenate, pad, and pack little-endian
    bit_index = np.arange(bits, dtype=np.int64)
    stream = ((codes[:, :, None] >> bit_index) & 1).astype(np.uint8).reshape(rows, n * bits)
    padded = np.zeros((rows, row_bytes * 8), dtype=np.uint8)
    padded[:, : n * bits] = stream
    return np.packbits(padded, axis=1, bitorder="little")


def unpack_codes(packed: np.ndarray, bits: int, n: int) -> np.ndarray:
    """Inverse of :func:`pack_codes`: ``uint8 [rows, row_bytes]`` -> ``int32 [rows, n]``."""
    packed = np.asarray(packed, dtype=np.uint8)
    rows = packed.shape[0]
    stream = np.unpackbits(packed, axis=1, bitorder="little")[:, : n * bits]
    weights = (1 << np.arange(bits, dtype=np.int64))
    return (stream.reshape(rows, n, bits).astype(np.int64) * weights).sum(axis=2).astype(
        np.int32)


def f16_to_f32(bits: np.ndarray) -> np.ndarray:
    """IEEE half-precision bit patterns (uint16) -> float32, exactly (numpy's conversion)."""
    return np.asarray(bits, dtype=np.uint16).view(np.float16).astype(np.float32)


def decode_codebook(
    codes: np.ndarray,
    codebooks: np.ndarray,
    scales: np.ndarray,
    bits: int,
    product: bool,
    in_groups: int,
) -> np.ndarray:
    """Dequantize to float32 ``[out, in]``.

    ``codes`` uint8 ``[out/og, row_bytes]``, ``codebooks`` float32 ``[M, 2**bits, og, sub]``,
    ``scales`` float32 ``[out]``. Additive mode (``product=False``): every codebook spans the
    whole group (``in_group = sub``); product mode: codebook ``c`` spans group columns
    ``c*sub .. c*sub+sub-1`` (``in_group = M*sub``).
    """
    m, _, og, sub = codebooks.shape
    ig = sub * m if product else sub
    n_out_groups = codes.shape[0]
    idx = unpack_codes(codes, bits, in_groups * m).reshape(n_out_groups, in_groups, m)
    acc = np.zeros((n_out_groups, in_groups, og, ig), dtype=np.float32)
    for c in range(m):
        entries = codebooks[c][idx[:, :, c]]  # [OG, J, og, sub]
        lo = c * sub if product else 0
        acc[..., lo:lo + sub] += entries
    weight = acc.transpose(0, 2, 1, 3).reshape(n_out_groups * og, in_groups * ig)
    return weight * np.asarray(scales, dtype=np.float32)[:, None]


def linear_codebook(
    x: np.ndarray,
    codes: np.ndarray,
    codebooks: np.ndarray,
    scales: np.ndarray,
    bits: int,
    product: bool,
    in_groups: int,
) -> np.ndarray:
    """``x @ W.T`` for ``x`` float32 ``[n, in]``: decode, then a float64 matmul (the oracle).

    ``codebooks`` may also be uint16 half-precision bit patterns (F16 storage)."""
    codebooks = np.asarray(codebooks)
    if codebooks.dtype == np.uint16:
        codebooks = f16_to_f32(codebooks)
    w = decode_codebook(codes, codebooks, scales, bits, product, in_groups)
    return (np.asarray(x, dtype=np.float64) @ w.astype(np.float64).T).astype(np.float32)


def assign_nearest(points: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centroid of each point: ``(labels int32 [N], score float32 [N])``.

    The score is ``|c|^2 - 2 x.c`` (the squared distance minus ``|x|^2``), accumulated in float32
    over the coordinates in order, each product and sum rounded; ties go to the lowest index.
    """
    points = np.asarray(points, dtype=np.float32)
    centroids = np.asarray(centroids, dtype=np.float32)
    norms = np.zeros(centroids.shape[0], dtype=np.float32)
    for t in range(centroids.shape[1]):
        norms = norms + centroids[:, t] * centroids[:, t]
    labels = np.empty(points.shape[0], dtype=np.int32)
    best = np.empty(points.shape[0], dtype=np.float32)
    two = np.float32(2.0)
    for i in range(points.shape[0]):
        dot = np.zeros(centroids.shape[0], dtype=np.float32)
        for t in range(centroids.shape[1]):
            dot = dot + points[i, t] * centroids[:, t]
        score = norms - two * dot
        k = int(np.argmin(score))
        labels[i] = k
        best[i] = score[k]
    return labels, best
