"""compressed-tensors marlin-24 (Marlin24Compressor, compressed-tensors <= 0.14): the inverse.

Compression (read in compressed-tensors 0.12's ``marlin_24.py``): the symmetric int weight
[out, in] with 2:4 sparsity is split by CUTLASS' semi-structured encoding into kept values
[out, in/2] and 2-bit position metadata (int16 [out, in/16], reordered for the tensor cores);
values are transposed to [in/2, out], offset by 2^(b-1), permuted into 16x16 Marlin tiles plus a
1024-entry permutation, and packed 8 (4-bit) per int32 word: ``weight_packed`` [in/32, 2*out].
Scales [G, out] are permuted in blocks of 64 when grouped; ``meta`` is stored reshaped to
[in/32, 2*out]. The library has no decompressor; this module undoes each step, then
W = q * scale in float32.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from ...errors import LayoutError
from .common import Detect, Logical, Source, float_of, need_dtype, shape2

__all__ = ["marlin24_logical"]


@lru_cache(maxsize=2)
def _perms(bits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(weight permutation, grouped scale permutation, per-channel scale permutation)."""
    perm: list[int] = []
    for i in range(32):
        first: list[int] = []
        col, col_o = i // 4, i // 8
        for block in (0, 1):
            for row in (2 * (i % 4), 2 * (i % 4) + 1, 2 * (i % 4 + 4), 2 * (i % 4 + 4) + 1):
                first.append(16 * row + col_o * 256 + 8 * (col % 2) + 4 * block)
        for j in range(4):
            perm.extend(p + j for p in first)
    interleave = [0, 2, 4, 6, 1, 3, 5, 7] if bits == 4 else [0, 2, 1, 3]
    weight_perm = np.array(perm).reshape(-1, len(interleave))[:, interleave].ravel()
    scale_perm = np.array([i * 8 + j for i in range(8) for j in (0, 4, 1, 5, 2, 6, 3, 7)])
    single = np.arange(64)
    return weight_perm, scale_perm, single


def _meta_offsets(m: int, meta_ncols: int) -> np.ndarray:
    """CUTLASS interleaved column-major position of every (row, col) of the int16 metadata."""
    rows = np.repeat(np.arange(m)[:, None], meta_ncols, axis=1)
    cols = np.repeat(np.arange(meta_ncols)[None, :], m, axis=0)
    group_x, group_y = 64, 32  # int16 metadata
    rows = (rows // group_x * group_x + (rows % 2) * 2 + (rows % 8) // 4
            + ((rows % group_y) % 4) // 2 * 32 + ((rows % group_x) // 8) * 4)
    topright = ((rows % 2 == 0) & (cols % 2 == 1)).astype(np.int64)
    bottomleft = ((rows % 2 == 1) & (cols % 2 == 0)).astype(np.int64)
    rows = rows + topright - bottomleft
    cols = cols - (topright - bottomleft)
    return ((cols // 2) * m * 2 + rows * 2 + cols % 2).reshape(-1)


def _to_dense(values: np.ndarray, meta: np.ndarray) -> np.ndarray:
    """Semi-structured (kept values [m, k], reordered int16 meta [m, k/8]) -> dense [m, 2k]."""
    m, k = values.shape
    meta_ncols = meta.shape[1]
    flat = meta.reshape(-1).view(np.uint16)
    ordered = flat[_meta_offsets(m, meta_ncols)].reshape(m, meta_ncols)
    idx = np.stack([(ordered >> np.uint16(2 * j)) & np.uint16(3) for j in range(8)], axis=-1)
    idx = idx.reshape(-1).astype(np.int64)
    offsets = idx + np.repeat(np.arange(m * k // 2, dtype=np.int64) * 4, 2)
    dense = np.zeros(m * 2 * k, dtype=values.dtype)
    dense[offsets] = values.reshape(-1)
    return dense.reshape(m, 2 * k)


def marlin24_logical(d: Detect, prefix: str, parts: list[str], args: dict[str, Any],
                     source: str) -> Logical:
    packed = d.tensors[prefix + ".weight_packed"]
    scale_t = d.tensors[prefix + ".scale_packed"]
    meta_t = d.tensors[prefix + ".meta"]
    need_dtype(packed, ("I32", "U32"))
    need_dtype(meta_t, ("I16", "U16"))
    need_dtype(scale_t, ("F16", "BF16", "F32"))
    k32, n2 = shape2(packed, "weight_packed")
    bits = args.get("num_bits", 4)
    if bits != 4:
        raise LayoutError("only 4-bit marlin-24 is defined here", tensor=packed.name,
                          field="num_bits", expected=4, found=bits)
    out, inn = n2 // 2, k32 * 32
    if n2 % 2 or out % 64 or inn % 128:
        raise LayoutError("marlin-24 needs out % 64 == 0 and in % 128 == 0", tensor=packed.name,
                          field="shape", found=[k32, n2])
    if meta_t.shape != (k32, n2):
        raise LayoutError("marlin-24 meta must be [in/32, 2*out]", tensor=meta_t.name,
                          field="shape", expected=[k32, n2], found=list(meta_t.shape))
    groups, s_out = shape2(scale_t, "scale_packed")
    if s_out != out:
        raise LayoutError("scale_packed must be [groups, out]", tensor=scale_t.name,
                          field="shape", expected=["groups", out], found=list(scale_t.shape))
    gs = args.get("group_size") if isinstance(args.get("group_size"), int) else None
    if gs is None:
        gs = -1 if groups == 1 else inn // groups
    if (gs == -1 and groups != 1) or (gs > 0 and -(-inn // gs) != groups):
        raise LayoutError("scale_packed rows do not match the group size", tensor=scale_t.name,
                          field="shape", expected=1 if gs == -1 else -(-inn // gs),
                          found=groups)
    # the compressor compares group_size with the packed K (in/2) to choose the permutation
    grouped = gs > 0 and gs < inn // 2
    k_half = inn // 2

    def decode(src: Source) -> np.ndarray:
        weight_perm, scale_perm, single = _perms(4)
        words = np.ascontiguousarray(src.array(packed.name)).view(np.uint32)
        q = np.empty((k32, n2 * 8), dtype=np.uint8)
        for i in range(8):
            q[:, i::8] = (words >> np.uint32(4 * i)) & np.uint32(0xF)
        tiles = q.reshape(-1, weight_perm.size)
        unperm = np.empty_like(tiles)
        unperm[:, weight_perm] = tiles
        value = unperm.reshape(k_half // 16, out // 16, 16, 16).transpose(0, 2, 1, 3)
        value = value.reshape(k_half, out).astype(np.int16) - 8  # [in/2, out]
        meta = np.ascontiguousarray(src.array(meta_t.name)).reshape(out, inn // 16)
        dense = _to_dense(np.ascontiguousarray(value.T), meta)  # [out, in]
        s = float_of(src.array(scale_t.name), scale_t.dtype).reshape(-1, 64)
        restored = np.empty_like(s)
        restored[:, scale_perm if grouped else single] = s
        scale = restored.reshape(groups, out).T  # [out, G]
        cols = np.zeros(inn, dtype=np.intp) if gs == -1 else np.arange(inn) // gs
        return dense.astype(np.float32) * scale[:, cols]

    return Logical(
        name=prefix + ".weight", shape=(out, inn), dtype=scale_t.dtype,
        method="compressed-tensors", parts=tuple(parts), bits=4, group_size=gs,
        symmetric=True,
        extra={"format": "marlin-24", "sparsity": "2:4",
               "packing": "Marlin 16x16 tiles + 1024 permutation, 8 per int32",
               "label": "compressed-tensors-marlin-24-int4", "evidence": [f"scheme from {source}"]},
        decode=decode)
