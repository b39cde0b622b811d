"""What the bitpack kernels and their numpy references share: geometry, level tables, checks.

No numba here: the layout, the references and the jitted wrappers all import this module, and
``qformat inspect`` must never load numba. Clause ids refer to ``specs/layouts/bitpack.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..dtypes import DTYPES
from ..errors import ArgumentError, IntegrityError

__all__ = [
    "FLOAT_PART_DTYPES",
    "LEVEL_TABLES",
    "ZERO_MODES",
    "Geometry",
    "check_arrays",
    "check_content",
    "check_out",
    "first_bad_index",
    "n_groups",
    "row_bytes",
]

#: How a group's codes become values (QF-BITPACK-020..024).
ZERO_MODES = ("none", "int", "float", "bias")
#: Storage types allowed for scales and for float zero points / biases.
FLOAT_PART_DTYPES = ("F16", "BF16", "F32")

#: Built-in level tables (QF-BITPACK-030): code -> value, float32, 2**bits entries.
#: ``nf4``: the NormalFloat-4 table of QLoRA / bitsandbytes (quantiles of N(0, 1) scaled to
#: [-1, 1] with an exact zero). ``fp4``: OCP FP4 E2M1 (sign bit 3, exponent bits 2..1, mantissa
#: bit 0; code 8 is -0.0).
LEVEL_TABLES: dict[str, np.ndarray] = {
    "nf4": np.array(
        [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
         -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
         0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
         0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0],
        dtype=np.float32),
    "fp4": np.array(
        [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0,
         -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0],
        dtype=np.float32),
}
for _table in LEVEL_TABLES.values():
    _table.flags.writeable = False


def row_bytes(k: int, bits: int) -> int:
    """Bytes of one packed row of ``k`` codes (QF-BITPACK-010: a dense bit stream per row)."""
    return (k * bits + 7) // 8


def n_groups(k: int, group_size: int) -> int:
    """Groups per row: ceil(k / group_size); one for group_size -1; none for empty rows."""
    if k == 0:
        return 0
    return 1 if group_size == -1 else -(-k // group_size)


@dataclass(frozen=True)
class Geometry:
    """Sizes of a bitpack tensor seen as ``rows`` rows of ``k`` codes (the last axis)."""

    rows: int
    k: int
    bits: int
    group_size: int  # as configured: > 0, or -1 for one group per row

    @property
    def groups(self) -> int:
        return n_groups(self.k, self.group_size)

    @property
    def group_len(self) -> int:
        """Codes per full group (the effective group size; k for group_size -1)."""
        return self.k if self.group_size == -1 else self.group_size

    @property
    def row_bytes(self) -> int:
        return row_bytes(self.k, self.bits)


def first_bad_index(bad: np.ndarray) -> tuple[int, ...]:
    """Index (as a tuple) of the first True of a boolean array."""
    flat = int(np.flatnonzero(bad.reshape(-1))[0])
    return tuple(int(i) for i in np.unravel_index(flat, bad.shape))


def _nonfinite(stored: np.ndarray, dtype: str) -> np.ndarray:
    """Mask of non-finite values of a float part, from its stored bits (no conversion)."""
    if dtype == "F16":
        return (stored.view(np.uint16) & 0x7C00) == 0x7C00
    if dtype == "BF16":
        return (stored.view(np.uint16) & 0x7F80) == 0x7F80
    return ~np.isfinite(stored)


def _expect_array(arr: object, field: str, dtype: str, shape: tuple[int, ...],
                  ndim_only: bool = False) -> np.ndarray:
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
    return arr


def check_arrays(
    codes: np.ndarray,
    scales: np.ndarray,
    *,
    bits: int,
    k: int,
    group_size: int,
    zero: str = "none",
    zeros: np.ndarray | None = None,
    bias: np.ndarray | None = None,
    levels: np.ndarray | None = None,
    perm: np.ndarray | None = None,
    scale_dtype: str = "F32",
    zero_dtype: str | None = None,
) -> Geometry:
    """Check the types, shapes and layout of a kernel call's arrays (not their values).

    Raises ArgumentError naming the argument. Values are checked by :func:`check_content`.
    """
    if type(bits) is not int or not 1 <= bits <= 8:
        raise ArgumentError("bits must be an integer in 1..8", field="bits", found=bits)
    if type(k) is not int or k < 0:
        raise ArgumentError("k must be a non-negative integer", field="k", found=k)
    if type(group_size) is not int or not (group_size == -1 or group_size >= 1):
        raise ArgumentError("group_size must be a positive integer or -1", field="group_size",
                            found=group_size)
    if zero not in ZERO_MODES:
        raise ArgumentError("unknown zero-point mode", field="zero", expected=ZERO_MODES,
                            found=zero)
    if scale_dtype not in FLOAT_PART_DTYPES:
        raise ArgumentError("unsupported scale dtype", field="scale_dtype",
                            expected=FLOAT_PART_DTYPES, found=scale_dtype)
    if not isinstance(codes, np.ndarray) or codes.ndim != 2:
        raise ArgumentError("codes must be a 2-D uint8 array [rows, row_bytes]", field="codes",
                            found=getattr(codes, "shape", type(codes).__name__))
    geo = Geometry(int(codes.shape[0]), k, bits, group_size)
    _expect_array(codes, "codes", "U8", (geo.rows, geo.row_bytes))
    g = geo.groups
    _expect_array(scales, "scales", scale_dtype, (geo.rows, g))
    need_zeros = zero in ("int", "float")
    if need_zeros != (zeros is not None):
        raise ArgumentError(f"zeros {'required' if need_zeros else 'not allowed'} with "
                            f"zero={zero!r}", field="zeros")
    if (zero == "bias") != (bias is not None):
        raise ArgumentError(f"bias {'required' if zero == 'bias' else 'not allowed'} with "
                            f"zero={zero!r}", field="bias")
    if zero == "int":
        if zero_dtype not in (None, "U8"):
            raise ArgumentError("integer zero points are stored as U8", field="zero_dtype",
                                expected="U8", found=zero_dtype)
        _expect_array(zeros, "zeros", "U8", (geo.rows, g))
    elif zero in ("float", "bias"):
        if zero_dtype not in FLOAT_PART_DTYPES:
            raise ArgumentError("unsupported zero/bias dtype", field="zero_dtype",
                                expected=FLOAT_PART_DTYPES, found=zero_dtype)
        _expect_array(zeros if zero == "float" else bias, "zeros" if zero == "float" else "bias",
                      zero_dtype, (geo.rows, g))
    if levels is not None:
        _expect_array(levels, "levels", "F32", (1 << bits,))
    if perm is not None:
        _expect_array(perm, "perm", "I32", (k,))
    return geo


def check_content(
    geo: Geometry,
    codes: np.ndarray,
    scales: np.ndarray,
    *,
    zero: str = "none",
    zeros: np.ndarray | None = None,
    bias: np.ndarray | None = None,
    levels: np.ndarray | None = None,
    perm: np.ndarray | None = None,
    scale_dtype: str = "F32",
    zero_dtype: str | None = None,
    level_name: str | None = None,
    prefix: str = "",
) -> None:
    """Value checks run once before any kernel sees the arrays (QF-BITPACK-040..045).

    Raises IntegrityError naming the part (``prefix`` + name) and the first bad index.
    """
    def fail(part: str, what: str, clause: str, index: tuple[int, ...] | None = None,
             **kw: object) -> None:
        where = f" at index {list(index)}" if index is not None else ""
        raise IntegrityError(f"{what}{where} [{clause}]", field=f"{prefix}{part}", **kw)

    bad = _nonfinite(scales, scale_dtype)
    if bad.any():
        fail("scales", "scale is NaN or infinite", "QF-BITPACK-040", first_bad_index(bad))
    if zero == "int":
        bad = zeros >= (1 << geo.bits)
        if bad.any():
            idx = first_bad_index(bad)
            fail("zeros", "integer zero point out of range", "QF-BITPACK-041", idx,
                 expected=f"0..{(1 << geo.bits) - 1}", found=int(zeros[idx]))
    elif zero in ("float", "bias"):
        arr = zeros if zero == "float" else bias
        bad = _nonfinite(arr, zero_dtype)
        if bad.any():
            fail("zeros" if zero == "float" else "bias",
                 f"{'zero point' if zero == 'float' else 'bias'} is NaN or infinite",
                 "QF-BITPACK-040", first_bad_index(bad))
    if levels is not None:
        bad = ~np.isfinite(levels)
        if bad.any():
            fail("levels", "level is NaN or infinite", "QF-BITPACK-040", first_bad_index(bad))
        builtin = LEVEL_TABLES.get(level_name or "")
        if builtin is not None and not (
            builtin.shape == levels.shape
            and np.array_equal(builtin.view(np.uint32), levels.view(np.uint32))
        ):
            fail("levels", f"stored table differs from the built-in {level_name!r} table",
                 "QF-BITPACK-031")
    if perm is not None:
        out_of_range = (perm < 0) | (perm >= geo.k)
        if out_of_range.any():
            idx = first_bad_index(out_of_range)
            fail("perm", "permutation entry out of range", "QF-BITPACK-042", idx,
                 expected=f"0..{geo.k - 1}", found=int(perm[idx]))
        seen = np.zeros(geo.k, dtype=bool)
        seen[perm] = True
        if not seen.all():
            fail("perm", "not a permutation: a column is missing (another is repeated)",
                 "QF-BITPACK-042", expected="each of 0..k-1 once",
                 found=f"column {int(np.argmin(seen))} missing")
    tail_bits = (geo.k * geo.bits) % 8
    if tail_bits and geo.rows:
        last = codes[:, -1]
        bad = (last >> tail_bits) != 0
        if bad.any():
            row = first_bad_index(bad)[0]
            fail("codes", "padding bits after the last code of a row are not zero",
                 "QF-BITPACK-011", (row, geo.row_bytes - 1), found=f"0x{int(last[row]):02x}")


def check_out(out: np.ndarray | None, shape: tuple[int, int], out_dtype: str) -> np.ndarray:
    """The output array of a dequantization: ``out`` checked, or a new one."""
    dtype = np.float16 if out_dtype == "F16" else np.float32
    if out is None:
        return np.empty(shape, dtype=dtype)
    if not isinstance(out, np.ndarray) or out.dtype != dtype or out.shape != shape:
        raise ArgumentError("out has the wrong type, dtype or shape", field="out",
                            expected=f"{np.dtype(dtype)}{list(shape)}",
                            found=f"{getattr(out, 'dtype', type(out).__name__)}"
                                  f"{list(getattr(out, 'shape', ()))}")
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ArgumentError("out must be C-contiguous and writable", field="out")
    return out
