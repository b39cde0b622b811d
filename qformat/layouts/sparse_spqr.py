"""Import SpQR's inference format (``spqr_quant``, transformers ``quant_method: "spqr"``).

SpQR stores each quantized linear layer ``W[m, n]`` as four tensors:

* ``dense_weights`` (int64, ``ceil(m/16) * ceil(n/16) * 16``): 16 x 16 tiles in row-tile-major
  order, one 64-bit word per row of a tile: bits 0-2 the 3-bit code of the row's first-order
  scale for this column tile, bits 3-5 that of its zero point, bits 6+3j the 3-bit code of
  weight j (j < 16), bits 54-61 one byte of the tile's 64-bit second-order record (rows 2i and
  2i+1 carry byte i). The record holds four F16 values: bits 0-15 the scales' second-order
  scale, 16-31 the zeros' second-order scale, 32-47 the scales' second-order zero, 48-63 the
  zeros' second-order zero;
* ``row_offsets`` (int32): CSR row pointers ``[m + 1]``, or ``[m/16 + 1]`` for SpQR's
  16-row-interleaved "PTCSR" variant (entry t of row block b belongs to row ``16 b + t % 16``,
  with zero-valued padding entries);
* ``col_vals`` (int32): per outlier, the column (low 16 bits) and the F16 value (high 16);
  columns refer to the *permuted* input order;
* ``in_perm`` (int32, ``n/2``, optional): the input permutation as uint16 pairs (even index in
  the low half); stored column j is original column ``in_perm[j]``.

Decoding is ``s = W_s_s (w_s - W_s_z)``, ``z = W_z_s (w_z - W_z_z)``, ``w = s (q - z)``, plus
the outliers: exactly the ``sparse`` layout with ``bits = stat_bits = 3``, ``group_size =
stat_group = 16`` and F16 statistics and values, which is what this module builds. Source of
these facts: the ``Vahe1994/SpQR`` repository (``inference_lib/src/spqr_quant``: the host-side
``tensor_compress_interleaved`` and ``dequantize_compressed`` and the kernels' ``x`` reordering);
no SpQR checkpoint could be produced here (the producer needs CUDA), so tests check this import
against files written by our own reading of that code. SpQR's reference dequantizes in float16;
the ``sparse`` layout computes the same formula in float32, so values agree to float16 rounding,
not bit for bit. Only ``m`` and ``n`` multiples of 16 are accepted: SpQR's own host code
misplaces partial tiles.
"""

from __future__ import annotations

import numpy as np

from ..dtypes import DTYPES
from ..errors import ArgumentError, IntegrityError, UnsupportedError
from ..kernels._sparse_common import col_index_dtype, row_ptr_dtype
from .qtensor import QTensor
from .sparse import SparseLayout

__all__ = ["from_spqr"]

_TILE = 16
_BITS = 3


def _int_array(arr: object, field: str, dtype: type, length: int | None) -> np.ndarray:
    if not isinstance(arr, np.ndarray) or arr.ndim != 1 or arr.dtype != np.dtype(dtype):
        raise ArgumentError(f"SpQR {field} must be a 1-D {np.dtype(dtype).name} array",
                            field=field, found=f"{getattr(arr, 'dtype', type(arr).__name__)}"
                            f"{list(getattr(arr, 'shape', ()))}")
    if length is not None and arr.shape[0] != length:
        raise ArgumentError(f"SpQR {field} has the wrong length", field=field,
                            expected=length, found=arr.shape[0])
    return arr


def from_spqr(
    rows: int,
    cols: int,
    dense_weights: np.ndarray,
    row_offsets: np.ndarray,
    col_vals: np.ndarray,
    in_perm: np.ndarray | None = None,
    *,
    bits: int = 3,
    beta1: int = 16,
    beta2: int = 16,
    dtype: str = "F16",
) -> QTensor:
    """A ``sparse`` QTensor holding one SpQR-compressed weight ``[rows, cols]``.

    ``bits``, ``beta1`` and ``beta2`` are the checkpoint's configuration (SpQR's kernels only
    exist for 3, 16, 16). ``dtype`` is the logical dtype recorded (SpQR models are F16).
    Raises ArgumentError for arrays of the wrong type or size, IntegrityError for contents a
    reader cannot trust (row offsets out of order, columns out of range, NaN values...),
    UnsupportedError for configurations SpQR itself does not produce.
    """
    if (bits, beta1, beta2) != (_BITS, _TILE, _TILE):
        raise UnsupportedError("only SpQR's 3-bit, 16 x 16 tile format is defined",
                               field="quantization_config", expected="bits 3, beta1 16, beta2 16",
                               found=f"bits {bits}, beta1 {beta1}, beta2 {beta2}")
    for name, value in (("rows", rows), ("cols", cols)):
        if type(value) is not int or value < 0 or value % _TILE:
            raise UnsupportedError(f"SpQR {name} must be a multiple of 16", field=name,
                                   found=value)
    m, n = rows, cols
    tm, tn = m // _TILE, n // _TILE
    words = _int_array(dense_weights, "dense_weights", np.int64, tm * tn * _TILE)
    words = words.view(np.uint64).reshape(tm, tn, _TILE)  # [row tile, col tile, row in tile]
    offsets = _int_array(row_offsets, "row_offsets", np.int32, None)
    cv = _int_array(col_vals, "col_vals", np.int32, None)
    if offsets.shape[0] not in (m + 1, tm + 1):
        raise ArgumentError("SpQR row_offsets must have rows + 1 (CSR) or rows/16 + 1 (PTCSR) "
                            "entries", field="row_offsets", expected=[m + 1, tm + 1],
                            found=offsets.shape[0])
    perm = None
    if in_perm is not None and in_perm.size:
        packed = _int_array(in_perm, "in_perm", np.int32, n // 2).view(np.uint32)
        perm = np.empty(n, dtype=np.int32)
        perm[0::2] = packed & 0xFFFF
        perm[1::2] = packed >> 16
        if np.array_equal(perm, np.arange(n)):
            perm = None

    # -- dense part ----------------------------------------------------------------------------
    mask = np.uint64(7)
    shifts = np.uint64(6) + np.uint64(3) * np.arange(_TILE, dtype=np.uint64)
    q = ((words[..., None] >> shifts) & mask).astype(np.uint8)  # [tm, tn, 16 rows, 16 cols]
    codes = q.transpose(0, 2, 1, 3).reshape(m, n)
    w_s = (words & mask).astype(np.uint8).transpose(1, 0, 2).reshape(tn, m)  # [G, rows]
    w_z = ((words >> np.uint64(3)) & mask).astype(np.uint8).transpose(1, 0, 2).reshape(tn, m)
    frag = ((words >> np.uint64(54)) & np.uint64(0xFF)).astype(np.uint8)  # [tm, tn, 16]
    if not np.array_equal(frag[..., 0::2], frag[..., 1::2]):
        bad = np.argwhere(frag[..., 0::2] != frag[..., 1::2])[0]
        raise IntegrityError("SpQR second-order byte differs between the two rows that carry "
                             f"it (tile {list(bad[:2])}, rows {2 * bad[2]} and {2 * bad[2] + 1})",
                             field="dense_weights")
    record = np.ascontiguousarray(frag[..., 0::2]).view("<u2")  # [tm, tn, 4] F16 bits
    second = {key: np.ascontiguousarray(record[..., i].T).view(np.float16)  # [G, R2]
              for i, key in enumerate(("scales.scales", "zeros.scales", "scales.zeros",
                                       "zeros.zeros"))}

    # -- outliers ------------------------------------------------------------------------------
    total = cv.shape[0]
    off = offsets.astype(np.int64)
    if off[0] != 0 or np.any(np.diff(off) < 0) or off[-1] > total:
        bad = 0 if off[0] != 0 else int(np.flatnonzero(
            np.concatenate([np.diff(off) < 0, [off[-1] > total]]))[0]) + 1
        raise IntegrityError("SpQR row_offsets must start at 0, never decrease and stay within "
                             f"col_vals (first bad entry {bad})", field="row_offsets",
                             expected=f"0 .. {total}", found=int(off[min(bad, off.size - 1)]))
    entry_rows = np.repeat(np.arange(off.size - 1, dtype=np.int64), np.diff(off))
    t = np.arange(int(off[-1]), dtype=np.int64)
    if offsets.shape[0] != m + 1:  # PTCSR: entry t of row block b is row 16 b + t % 16
        entry_rows = entry_rows * _TILE + t % _TILE
    raw = cv[: int(off[-1])].view(np.uint32)
    stored_cols = (raw & 0xFFFF).astype(np.int64)
    values = (raw >> 16).astype(np.uint16).view(np.float16)
    keep = values.view(np.uint16) & 0x7FFF != 0  # zero entries are padding (PTCSR): skip
    entry_rows, stored_cols, values = entry_rows[keep], stored_cols[keep], values[keep]
    if stored_cols.size and stored_cols.max() >= n:
        j = int(np.flatnonzero(stored_cols >= n)[0])
        raise IntegrityError(f"SpQR outlier column out of range (entry {j})", field="col_vals",
                             expected=f"< {n}", found=int(stored_cols[j]))
    orig_cols = stored_cols if perm is None else perm[stored_cols].astype(np.int64)
    order = np.lexsort((orig_cols, entry_rows))
    entry_rows, orig_cols, values = entry_rows[order], orig_cols[order], values[order]
    nnz = int(orig_cols.shape[0])
    row_ptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(np.bincount(entry_rows, minlength=m), out=row_ptr[1:])

    from ..kernels._ref.bitpack import pack_codes

    parts: dict[str, np.ndarray] = {
        "codes": pack_codes(np.ascontiguousarray(codes), _BITS),  # stored (permuted) order
        "scales.codes": pack_codes(np.ascontiguousarray(w_s), _BITS),
        "scales.scales": second["scales.scales"],
        "scales.zeros": second["scales.zeros"],
        "zeros.codes": pack_codes(np.ascontiguousarray(w_z), _BITS),
        "zeros.scales": second["zeros.scales"],
        "zeros.zeros": second["zeros.zeros"],
        "outliers.row_ptr": row_ptr.astype(DTYPES[row_ptr_dtype(nnz)].storage),
        "outliers.col_idx": orig_cols.astype(DTYPES[col_index_dtype(n)].storage),
        "outliers.values": np.ascontiguousarray(values),
    }
    if perm is not None:
        parts["perm"] = perm
    layout = SparseLayout(bits=_BITS, group_size=_TILE, stat_bits=_BITS, stat_group=_TILE,
                          stat_dtype="F16", value_dtype="F16", nnz=nnz, perm=perm is not None)
    qt = QTensor(layout, (m, n), parts, dtype=dtype)
    qt.check()  # duplicates, non-finite values, a bad permutation: IntegrityError naming the part
    return qt
