"""What the sparse (SpQR) kernels, their numpy references and the layout share.

No numba here: the layout, the references and the jitted wrappers all import this module, and
``qformat inspect`` must never load numba. Clause ids refer to ``specs/layouts/sparse.md``.

A sparse tensor is ``rows`` rows of ``k`` weights (the last axis) stored as three streams:

* the **base**: a bitpack tensor (``codes``, ``bits``, ``group_size`` along the row, zero-point
  mode ``float``) whose per-group scales ``S[rows, G]`` and zero points ``Z[rows, G]`` are not
  stored as such but
* quantized again (**statistics**): ``S`` transposed to ``[G, rows]`` is itself a bitpack tensor
  of ``stat_bits``-bit codes with groups of ``stat_group`` consecutive rows and float (F16/BF16/
  F32) second-order scales and zero points; the same for ``Z``;
* the **outliers**: a CSR matrix (row pointers, column indices in the original column order,
  values) added to the decoded base.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..dtypes import DTYPES, to_float32
from ..errors import _UNSET, ArgumentError, IntegrityError
from . import _bitpack_common as bitpack_common
from ._bitpack_common import FLOAT_PART_DTYPES, Geometry, first_bad_index, n_groups, row_bytes

__all__ = [
    "BASE_BITS",
    "STAT_BITS",
    "VALUE_DTYPES",
    "SparseArrays",
    "SparseGeometry",
    "check_arrays",
    "check_content",
    "check_outliers",
    "check_permutation",
    "col_index_dtype",
    "nonfinite_mask",
    "row_ptr_dtype",
    "statistics_finite",
]

#: Code widths of the base (QF-SPARSE-001) and of the quantized statistics (QF-SPARSE-003).
BASE_BITS = (2, 3, 4)
STAT_BITS = (1, 2, 3, 4, 5, 6, 7, 8)
#: Storage types of the outlier values (QF-SPARSE-005).
VALUE_DTYPES = FLOAT_PART_DTYPES

#: Column-index and row-pointer widths, narrowest first (QF-SPARSE-012, QF-SPARSE-013).
_COL_DTYPES = (("U8", 1 << 8), ("U16", 1 << 16), ("U32", 1 << 32))
_PTR_DTYPES = (("U16", 1 << 16), ("U32", 1 << 32), ("U64", 1 << 64))


def col_index_dtype(k: int) -> str:
    """Narrowest unsigned type holding every column index ``0 .. k-1`` (QF-SPARSE-012)."""
    for code, bound in _COL_DTYPES:
        if k <= bound:
            return code
    raise ArgumentError("rows longer than 2**32 columns cannot hold outliers", field="shape",
                        expected="<= 2**32 columns", found=k)


def row_ptr_dtype(nnz: int) -> str:
    """Narrowest unsigned type holding every row pointer ``0 .. nnz`` (QF-SPARSE-013)."""
    for code, bound in _PTR_DTYPES:
        if nnz < bound:
            return code
    raise ArgumentError("too many outliers", field="nnz", expected="< 2**64", found=nnz)


@dataclass(frozen=True)
class SparseGeometry:
    """Sizes of a sparse tensor seen as ``rows`` rows of ``k`` weights."""

    rows: int
    k: int
    bits: int
    group_size: int
    stat_bits: int
    stat_group: int
    nnz: int

    @property
    def groups(self) -> int:
        """First-order groups per row (G): ceil(k / group_size)."""
        return n_groups(self.k, self.group_size)

    @property
    def stat_groups(self) -> int:
        """Second-order groups per statistics row: ceil(rows / stat_group)."""
        return n_groups(self.rows, self.stat_group)

    @property
    def base(self) -> Geometry:
        """The base as a bitpack geometry: rows x k codes of ``bits`` bits."""
        return Geometry(self.rows, self.k, self.bits, self.group_size)

    @property
    def stats(self) -> Geometry:
        """One statistics sub-tensor as a bitpack geometry: G rows of ``rows`` codes."""
        return Geometry(self.groups, self.rows, self.stat_bits, self.stat_group)

    @property
    def col_dtype(self) -> str:
        return col_index_dtype(self.k)

    @property
    def ptr_dtype(self) -> str:
        return row_ptr_dtype(self.nnz)


@dataclass(frozen=True)
class SparseArrays:
    """The stored arrays of one sparse tensor plus the configuration needed to read them.

    Field names map to part names: ``scale_codes`` is part ``scales.codes``, ``row_ptr`` is
    ``outliers.row_ptr`` and so on (see :data:`PART_FIELDS`).
    """

    codes: np.ndarray
    scale_codes: np.ndarray
    scale_scales: np.ndarray
    scale_zeros: np.ndarray
    zero_codes: np.ndarray
    zero_scales: np.ndarray
    zero_zeros: np.ndarray
    row_ptr: np.ndarray
    col_idx: np.ndarray
    values: np.ndarray
    perm: np.ndarray | None
    bits: int
    k: int
    group_size: int
    stat_bits: int
    stat_group: int
    stat_dtype: str
    value_dtype: str

    @property
    def geometry(self) -> SparseGeometry:
        return SparseGeometry(int(self.codes.shape[0]), self.k, self.bits, self.group_size,
                              self.stat_bits, self.stat_group, int(self.col_idx.shape[0]))

    @classmethod
    def from_parts(cls, parts: dict[str, np.ndarray], **config: object) -> SparseArrays:
        """Build from a QTensor's ``parts`` dict (part names as in the spec)."""
        arrays = {field: parts.get(name) for field, name in PART_FIELDS.items()}
        return cls(**arrays, **config)  # type: ignore[arg-type]

    def stat_parts(self, which: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(codes, second-order scales, second-order zeros) of ``scales`` or ``zeros``."""
        if which == "scales":
            return self.scale_codes, self.scale_scales, self.scale_zeros
        return self.zero_codes, self.zero_scales, self.zero_zeros


#: SparseArrays field -> part name (the order of the parts in a file, QF-SPARSE-010).
PART_FIELDS: dict[str, str] = {
    "codes": "codes",
    "scale_codes": "scales.codes",
    "scale_scales": "scales.scales",
    "scale_zeros": "scales.zeros",
    "zero_codes": "zeros.codes",
    "zero_scales": "zeros.scales",
    "zero_zeros": "zeros.zeros",
    "row_ptr": "outliers.row_ptr",
    "col_idx": "outliers.col_idx",
    "values": "outliers.values",
    "perm": "perm",
}


def _expect(arr: object, field: str, dtype: str, shape: tuple[int, ...]) -> None:
    if not isinstance(arr, np.ndarray):
        raise ArgumentError("must be a numpy array", field=field, found=type(arr).__name__)
    want = DTYPES[dtype].storage
    if arr.dtype != want:
        raise ArgumentError("wrong dtype", field=field, expected=f"{dtype} ({want})",
                            found=str(arr.dtype))
    if arr.shape != shape:
        raise ArgumentError("wrong shape", field=field, expected=shape, found=arr.shape)
    if not arr.flags.c_contiguous:
        raise ArgumentError("must be C-contiguous", field=field, found="strided view")


def check_arrays(a: SparseArrays) -> SparseGeometry:
    """Types, shapes and contiguity of every array of a kernel call (not their values).

    Raises ArgumentError naming the array. Values are checked by :func:`check_content`.
    """
    if type(a.bits) is not int or a.bits not in BASE_BITS:
        raise ArgumentError("bits must be 2, 3 or 4", field="bits", found=a.bits)
    if type(a.stat_bits) is not int or a.stat_bits not in STAT_BITS:
        raise ArgumentError("stat_bits must be an integer in 1..8", field="stat_bits",
                            found=a.stat_bits)
    for name in ("group_size", "stat_group"):
        value = getattr(a, name)
        if type(value) is not int or value < 1:
            raise ArgumentError(f"{name} must be a positive integer", field=name, found=value)
    if a.stat_dtype not in FLOAT_PART_DTYPES:
        raise ArgumentError("unsupported statistics dtype", field="stat_dtype",
                            expected=FLOAT_PART_DTYPES, found=a.stat_dtype)
    if a.value_dtype not in VALUE_DTYPES:
        raise ArgumentError("unsupported outlier value dtype", field="value_dtype",
                            expected=VALUE_DTYPES, found=a.value_dtype)
    if not isinstance(a.codes, np.ndarray) or a.codes.ndim != 2:
        raise ArgumentError("codes must be a 2-D uint8 array [rows, row_bytes]", field="codes",
                            found=getattr(a.codes, "shape", type(a.codes).__name__))
    if not isinstance(a.col_idx, np.ndarray) or a.col_idx.ndim != 1:
        raise ArgumentError("col_idx must be a 1-D array [nnz]", field="col_idx",
                            found=getattr(a.col_idx, "shape", type(a.col_idx).__name__))
    geo = a.geometry
    _expect(a.codes, "codes", "U8", (geo.rows, row_bytes(geo.k, geo.bits)))
    for which in ("scales", "zeros"):
        codes, s2, z2 = a.stat_parts(which)
        prefix = "scale_" if which == "scales" else "zero_"
        try:
            bitpack_common.check_arrays(codes, s2, bits=geo.stat_bits, k=geo.rows,
                                 group_size=geo.stat_group, zero="float", zeros=z2,
                                 scale_dtype=a.stat_dtype, zero_dtype=a.stat_dtype)
        except ArgumentError as exc:
            raise ArgumentError(exc.detail, field=prefix + (exc.field or ""),
                                expected=exc.expected, found=exc.found) from None
        if codes.shape[0] != geo.groups:
            raise ArgumentError("one statistics row per first-order group", field=prefix + "codes",
                                expected=geo.groups, found=codes.shape[0])
    _expect(a.row_ptr, "row_ptr", geo.ptr_dtype, (geo.rows + 1,))
    _expect(a.col_idx, "col_idx", geo.col_dtype, (geo.nnz,))
    _expect(a.values, "values", a.value_dtype, (geo.nnz,))
    if a.perm is not None:
        _expect(a.perm, "perm", "I32", (geo.k,))
    return geo


def nonfinite_mask(stored: np.ndarray, dtype: str) -> np.ndarray:
    """Mask of NaN/Inf values of a float part, from its stored bits (no conversion)."""
    if dtype == "F16":
        return (stored.view(np.uint16) & 0x7C00) == 0x7C00
    if dtype == "BF16":
        return (stored.view(np.uint16) & 0x7F80) == 0x7F80
    return ~np.isfinite(stored)


def _fail(prefix: str, part: str, what: str, index: tuple[int, ...] | None = None,
          **kw: object) -> IntegrityError:
    where = f" at index {list(index)}" if index is not None else ""
    return IntegrityError(f"{what}{where}", field=f"{prefix}{part}", **kw)


def check_outliers(row_ptr: np.ndarray, col_idx: np.ndarray, values: np.ndarray, *, k: int,
                   value_dtype: str, prefix: str = "") -> None:
    """CSR checks (QF-SPARSE-040..044): raises IntegrityError naming the part and first bad index.

    Row pointers start at 0, never decrease and end at nnz; column indices are below ``k`` and
    strictly increase within a row (so no coordinate appears twice); values are finite.
    """
    nnz = int(col_idx.shape[0])
    rows = int(row_ptr.shape[0]) - 1
    pp = prefix + "outliers."
    if int(row_ptr[0]) != 0:
        raise _fail(pp, "row_ptr", "first row pointer is not 0 [QF-SPARSE-040]", (0,),
                    expected=0, found=int(row_ptr[0]))
    if rows:
        drops = row_ptr[1:] < row_ptr[:-1]
        if drops.any():
            i = first_bad_index(drops)[0] + 1
            raise _fail(pp, "row_ptr", "row pointers decrease (not monotone) [QF-SPARSE-040]",
                        (i,), expected=f">= {int(row_ptr[i - 1])}", found=int(row_ptr[i]))
    if int(row_ptr[-1]) != nnz:
        raise _fail(pp, "row_ptr", "last row pointer is not the outlier count [QF-SPARSE-040]",
                    (rows,), expected=nnz, found=int(row_ptr[-1]))
    if nnz == 0:
        return
    big = col_idx >= k
    if big.any():
        j = first_bad_index(big)[0]
        raise _fail(pp, "col_idx", "column index out of range [QF-SPARSE-041]", (j,),
                    expected=f"0..{k - 1}", found=int(col_idx[j]))
    # j >= 1 continues the row of j-1 unless a row starts at j
    starts = np.zeros(nnz + 1, dtype=bool)
    starts[row_ptr.astype(np.int64)] = True
    step = np.diff(col_idx.astype(np.int64))
    bad = (step <= 0) & ~starts[1:nnz]
    if bad.any():
        j = first_bad_index(bad)[0] + 1
        row = int(np.searchsorted(row_ptr.astype(np.int64), j, side="right")) - 1
        what = ("duplicate coordinate" if step[j - 1] == 0
                else "column indices not increasing within a row")
        raise _fail(pp, "col_idx", f"{what} (row {row}) [QF-SPARSE-042]", (j,),
                    expected=f"> {int(col_idx[j - 1])}", found=int(col_idx[j]))
    bad = nonfinite_mask(values, value_dtype)
    if bad.any():
        raise _fail(pp, "values", "outlier value is NaN or infinite [QF-SPARSE-043]",
                    first_bad_index(bad))


def statistics_finite(a: SparseArrays, which: str) -> tuple[int, int] | None:
    """First ``(g, row)`` whose decoded first-order statistic is not finite, or None.

    ``which`` is ``"scales"`` or ``"zeros"``. Finite F16 second-order values cannot overflow
    float32 (``|s2 * (q - z2)| < 2**33``); F32/BF16 ones can, so those are decoded with the
    numpy reference wherever a cheap bound does not clear them.
    """
    codes, s2, z2 = a.stat_parts(which)
    if a.stat_dtype == "F16" or s2.size == 0:
        return None
    bound = np.abs(to_float32(s2, a.stat_dtype).astype(np.float64)) * (
        (1 << a.stat_bits) + np.abs(to_float32(z2, a.stat_dtype).astype(np.float64)))
    if not (bound >= 1e38).any():
        return None
    from ._ref.bitpack import dequantize as dequantize_bitpack

    geo = a.geometry.stats
    with np.errstate(over="ignore", invalid="ignore"):
        decoded = dequantize_bitpack(codes, s2, bits=geo.bits, k=geo.k,
                                     group_size=geo.group_size, zero="float", zeros=z2,
                                     scale_dtype=a.stat_dtype, zero_dtype=a.stat_dtype,
                                     validate=False)
    bad = ~np.isfinite(decoded)
    if not bad.any():
        return None
    g, row = first_bad_index(bad)
    return g, row


def _bitpack_rule(*args: object, **kw: object) -> None:
    """Run bitpack's content check, adding this layout's clause id to its error."""
    try:
        bitpack_common.check_content(*args, **kw)  # type: ignore[arg-type]
    except IntegrityError as exc:
        part = (exc.field or "").rpartition(".")[2]
        clause = {"perm": "QF-SPARSE-044", "codes": "QF-SPARSE-032"}.get(part, "QF-SPARSE-030")
        raise IntegrityError(f"{exc.detail} [{clause}]", field=exc.field,
                             expected=exc.expected if exc.expected is not None else _UNSET,
                             found=exc.found if exc.found is not None else _UNSET) from None


def check_permutation(perm: np.ndarray, k: int, prefix: str = "") -> None:
    """QF-SPARSE-044: ``perm`` holds each of ``0 .. k-1`` once; names the first bad index."""
    out = (perm < 0) | (perm >= k)
    if out.any():
        j = first_bad_index(out)[0]
        raise _fail(prefix, "perm", "permutation entry out of range [QF-SPARSE-044]", (j,),
                    expected=f"0..{k - 1}", found=int(perm[j]))
    order = np.argsort(perm, kind="stable")
    repeat = perm[order][1:] == perm[order][:-1]
    if repeat.any():
        j = int(order[1:][repeat].min())  # the second occurrence that comes first
        raise _fail(prefix, "perm", "permutation repeats a column [QF-SPARSE-044]", (j,),
                    expected="each of 0..k-1 once", found=f"column {int(perm[j])} again")


def check_content(a: SparseArrays, prefix: str = "") -> None:
    """Every value check of a sparse tensor, run once before any kernel sees the arrays.

    Order: statistics sub-tensors (bitpack rules, QF-SPARSE-030/032), decoded statistics
    finite (QF-SPARSE-031), base codes' padding and the permutation (bitpack rules,
    QF-SPARSE-032/044), outliers (CSR rules, QF-SPARSE-040..043). Raises IntegrityError naming
    the part (``prefix`` + part name) and the first bad index.
    """
    geo = a.geometry
    for which in ("scales", "zeros"):
        codes, s2, z2 = a.stat_parts(which)
        _bitpack_rule(geo.stats, codes, s2, zero="float", zeros=z2, scale_dtype=a.stat_dtype,
                      zero_dtype=a.stat_dtype, prefix=f"{prefix}{which}.")
        bad = statistics_finite(a, which)
        if bad is not None:
            g, row = bad
            raise _fail(prefix, f"{which}.scales",
                        f"decoded first-order {which[:-1]} of row {row}, group {g} overflows "
                        "float32 (second-order scale and zero too large) [QF-SPARSE-031]",
                        (g, row // geo.stat_group))
    if a.perm is not None:
        check_permutation(a.perm, geo.k, prefix)
    # The base is a bitpack tensor whose scales and zeros are the decoded statistics (checked
    # finite above); bitpack's own rules check its codes' padding bits (and the permutation).
    no_stats = np.broadcast_to(np.float32(0), (geo.rows, geo.groups))
    _bitpack_rule(geo.base, a.codes, no_stats, zero="float", zeros=no_stats, perm=a.perm,
                  scale_dtype="F32", zero_dtype="F32", prefix=prefix)
    check_outliers(a.row_ptr, a.col_idx, a.values, k=geo.k, value_dtype=a.value_dtype,
                   prefix=prefix)
