"""Importing SpQR's inference format into the sparse layout.

No SpQR checkpoint can be produced without CUDA, so the files here are written by
:func:`compress`, a numpy transcription of the layout that SpQR's host code
(``tensor_compress_interleaved`` in ``Vahe1994/SpQR``, ``spqr_cuda.cpp``) writes: tiles of
16 x 16, one uint64 per tile row, second-order record bytes spread over the rows, CSR or PTCSR
outliers, uint16 permutation pairs. The expected weights come straight from SpQR's formula on
the legacy (unpacked) tensors, computed two ways: in float32 (what the sparse layout promises,
bit for bit) and in float16 as SpQR's host reference does (agreement to float16 rounding).
"""

from __future__ import annotations

import numpy as np
import pytest

import qformat
from qformat.layouts.sparse_spqr import from_spqr

pytestmark = pytest.mark.jit


def legacy(m: int, n: int, seed: int, density: float = 0.01, permute: bool = True) -> dict:
    """Random SpQR legacy tensors (what SpQR's quantizer saves before compression)."""
    rng = np.random.default_rng(seed)
    g, r2 = n // 16, m // 16
    f16 = np.float16
    out = {
        "W": rng.integers(0, 8, (m, n), dtype=np.int8),  # stored (permuted) column order
        "W_s": rng.integers(0, 8, (g, m), dtype=np.int8),
        "W_z": rng.integers(0, 8, (g, m), dtype=np.int8),
        "W_s_s": (rng.uniform(0.5, 2.0, (g, r2)) * 1e-3).astype(f16),
        "W_s_z": rng.uniform(-3.0, 0.0, (g, r2)).astype(f16),
        "W_z_s": rng.uniform(0.5, 1.5, (g, r2)).astype(f16),
        "W_z_z": rng.uniform(-1.0, 1.0, (g, r2)).astype(f16),
        "perm": rng.permutation(n) if permute else None,
    }
    mask = rng.random((m, n)) < density
    out["rows"], out["cols"] = np.nonzero(mask)  # CSR order over stored columns
    out["values"] = rng.uniform(-0.5, 0.5, out["rows"].size).astype(f16)
    return out


def compress(t: dict, ptcsr: bool = False) -> tuple[np.ndarray, ...]:
    """(dense_weights, row_offsets, col_vals, in_perm) as SpQR lays them out."""
    m, n = t["W"].shape
    words = []
    for i in range(0, m, 16):
        for j in range(0, n, 16):
            g, h = j // 16, i // 16
            record = np.array([t["W_s_s"][g, h], t["W_z_s"][g, h], t["W_s_z"][g, h],
                               t["W_z_z"][g, h]], dtype=np.float16).view(np.uint64)[0]
            for k in range(16):
                word = int(t["W_s"][g, i + k]) | int(t["W_z"][g, i + k]) << 3
                for col in range(16):
                    word |= int(t["W"][i + k, j + col]) << (6 + 3 * col)
                word |= ((int(record) >> (8 * (k // 2))) & 0xFF) << 54
                words.append(word)
    dense = np.array(words, dtype=np.uint64).view(np.int64)
    cols = t["cols"].astype(np.uint32)
    vals = t["values"].view(np.uint16).astype(np.uint32)
    col_vals = (cols | (vals << 16)).view(np.int32)
    counts = np.bincount(t["rows"], minlength=m)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    if ptcsr:  # 16-row blocks, entry k of row j of a block at k * 16 + j, zero padding
        blocks, out_offsets, pos = [], [0], 0
        for b in range(m // 16):
            width = int(counts[16 * b:16 * b + 16].max())
            block = np.zeros(width * 16, dtype=np.int32)
            for j in range(16):
                r = 16 * b + j
                block[np.arange(counts[r]) * 16 + j] = col_vals[offsets[r]:offsets[r + 1]]
            blocks.append(block)
            pos += block.size
            out_offsets.append(pos)
        col_vals = np.concatenate(blocks)
        offsets = np.array(out_offsets, dtype=np.int32)
    perm = None
    if t["perm"] is not None:
        p = t["perm"].astype(np.uint32)
        perm = (p[0::2] | (p[1::2] << 16)).view(np.int32)
    return dense, offsets, col_vals, perm


def expected(t: dict, half: bool = False) -> np.ndarray:
    """SpQR's decode on the legacy tensors, in float32 (or float16 as SpQR's host code)."""
    m, n = t["W"].shape
    ft = np.float16 if half else np.float32
    g_of = np.arange(n) // 16
    h_of = np.arange(m) // 16

    def stat(codes: np.ndarray, s2: np.ndarray, z2: np.ndarray) -> np.ndarray:  # [m, G]
        s2, z2 = s2.astype(ft)[:, h_of], z2.astype(ft)[:, h_of]
        return (s2 * (codes.astype(ft) - z2)).T

    s = stat(t["W_s"], t["W_s_s"], t["W_s_z"])[:, g_of]
    z = stat(t["W_z"], t["W_z_s"], t["W_z_z"])[:, g_of]
    stored = (s * (t["W"].astype(ft) - z)).astype(np.float32)
    stored[t["rows"], t["cols"]] += t["values"].astype(np.float32)
    if half:
        stored = stored.astype(np.float16).astype(np.float32)
    out = np.empty_like(stored)
    perm = np.arange(n) if t["perm"] is None else t["perm"]
    out[:, perm] = stored
    return out


@pytest.mark.parametrize(("m", "n", "ptcsr", "permute"), [
    (32, 48, False, True), (48, 32, True, True), (16, 16, False, False), (64, 320, True, False),
])
def test_import_reproduces_spqr_decoding(m: int, n: int, ptcsr: bool, permute: bool) -> None:
    t = legacy(m, n, seed=m + n, permute=permute)
    qt = from_spqr(m, n, *compress(t, ptcsr))
    assert qt.layout.to_config() == {"bits": 3, "group_size": 16, "stat_bits": 3,
                                     "stat_group": 16, "stat_dtype": "F16", "value_dtype": "F16",
                                     "nnz": t["rows"].size, "perm": permute}
    got = qt.dequantize()
    assert np.array_equal(got, expected(t)), "float32 formula, bit for bit"
    spqr_half = expected(t, half=True)
    assert np.allclose(got, spqr_half, rtol=2e-3, atol=2e-3 * np.abs(spqr_half).max())
    x = np.random.default_rng(0).standard_normal((2, n)).astype(np.float32)
    assert np.allclose(qt.linear(x), x @ got.T, rtol=1e-4, atol=1e-4)


def test_imported_tensor_saves_and_reopens(tmp_path) -> None:
    t = legacy(32, 64, seed=3)
    qt = from_spqr(32, 64, *compress(t))
    qformat.save(tmp_path / "spqr.qf", {"q_proj.weight": qt})
    with qformat.open(tmp_path / "spqr.qf") as m:
        assert np.array_equal(m.get("q_proj.weight"), expected(t))
        assert m.info("q_proj.weight").method == "sparse"


def test_bad_spqr_tensors_are_refused() -> None:
    t = legacy(32, 32, seed=5, density=0.05)
    dense, offsets, col_vals, perm = compress(t)
    with pytest.raises(qformat.UnsupportedError, match="multiple of 16"):
        from_spqr(30, 32, dense, offsets, col_vals, perm)
    with pytest.raises(qformat.UnsupportedError, match="3-bit"):
        from_spqr(32, 32, dense, offsets, col_vals, perm, bits=2)
    with pytest.raises(qformat.ArgumentError, match="dense_weights"):
        from_spqr(32, 32, dense[:-1], offsets, col_vals, perm)
    with pytest.raises(qformat.ArgumentError, match="row_offsets"):
        from_spqr(32, 32, dense, offsets[:-1], col_vals, perm)
    with pytest.raises(qformat.ArgumentError, match="in_perm"):
        from_spqr(32, 32, dense, offsets, col_vals, perm.astype(np.int64))
    bad = offsets.copy()
    bad[3], bad[4] = bad[4] + 1, bad[3]
    with pytest.raises(qformat.IntegrityError, match="row_offsets"):
        from_spqr(32, 32, dense, bad, col_vals, perm)
    bad = offsets.copy()
    bad[-1] = col_vals.size + 1
    with pytest.raises(qformat.IntegrityError, match="row_offsets"):
        from_spqr(32, 32, dense, bad, col_vals, perm)
    cv = col_vals.copy()
    cv[0] = (cv[0] & ~0xFFFF) | 40  # column 40 of 32
    with pytest.raises(qformat.IntegrityError, match="column out of range"):
        from_spqr(32, 32, dense, offsets, cv, perm)
    row = int(np.flatnonzero(np.diff(offsets) >= 2)[0])
    cv = col_vals.copy()
    cv[offsets[row] + 1] = (cv[offsets[row] + 1] & ~0xFFFF) | (cv[offsets[row]] & 0xFFFF)
    with pytest.raises(qformat.IntegrityError, match="QF-SPARSE-042"):
        from_spqr(32, 32, dense, offsets, cv, perm)  # a duplicate coordinate
    p = perm.view(np.uint32).copy()
    p[0] = (p[0] & 0xFFFF0000) | (p[1] & 0xFFFF)
    with pytest.raises(qformat.IntegrityError, match="QF-SPARSE-044"):
        from_spqr(32, 32, dense, offsets, col_vals, p.view(np.int32))
    d = dense.view(np.uint64).copy()
    d[1] ^= np.uint64(1) << np.uint64(54)  # rows 0 and 1 of a tile must carry the same byte
    with pytest.raises(qformat.IntegrityError, match="second-order byte"):
        from_spqr(32, 32, d.view(np.int64), offsets, col_vals, perm)
