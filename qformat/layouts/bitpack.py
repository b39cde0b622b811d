"""The ``bitpack`` layout: scalar codes of 1..8 bits packed per row, per-group scales.

Normative description: ``specs/layouts/bitpack.md`` (clause ids QF-BITPACK-NNN). A tensor of
logical shape ``[..., K]`` is ``rows = prod(shape[:-1])`` rows of K codes; groups of
``group_size`` consecutive (stored) columns share a scale and, depending on the zero-point mode,
an integer or float zero point or an additive bias. An optional level table maps codes to
values (NF4, FP4, IQ4_NL-style tables) and an optional permutation reorders columns (GPTQ
act-order). Importers build tensors with :meth:`BitPackedLayout.from_codes`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..dtypes import DTYPES, dtype_of, f32_to_bf16, to_float32
from ..errors import ArgumentError, LayoutError
from ..kernels._bitpack_common import (
    FLOAT_PART_DTYPES,
    LEVEL_TABLES,
    ZERO_MODES,
    Geometry,
    check_content,
    first_bad_index,
    n_groups,
    row_bytes,
)
from .base import Layout, PartSpec, numel, require_keys
from .qtensor import QTensor

__all__ = ["BitPackedLayout", "row_bytes", "unpack_codes"]

_CONFIG_KEYS = {"bits", "group_size", "zero", "scale_dtype", "zero_dtype", "levels", "perm"}
_LEVEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
#: Logical dtypes a bitpack tensor may record (what the tensor was before quantization).
_LOGICAL_DTYPES = ("F32", "F16", "BF16", "F64")
#: Largest group size accepted in a configuration (a group never exceeds a row anyway).
_MAX_GROUP_SIZE = 1 << 40


def _config_error(field: str, message: str, **kw: Any) -> LayoutError:
    return LayoutError(f"bitpack {message} [QF-BITPACK-001]", field=f"config.{field}", **kw)


@dataclass(frozen=True)
class BitPackedLayout(Layout):
    """Configuration of a bitpack tensor (see the module docstring and the spec).

    ``zero`` is ``"none"`` (symmetric), ``"int"`` (U8 zero points), ``"float"`` (float zero
    points, HQQ) or ``"bias"`` (w = s*q + b: MLX, K-quants, Q4_1). ``levels`` is None, a
    built-in table name (``"nf4"``, ``"fp4"``) or a label of a custom table stored in the file.
    """

    name: ClassVar[str] = "bitpack"

    bits: int
    group_size: int
    zero: str = "none"
    scale_dtype: str = "F16"
    zero_dtype: str | None = None
    levels: str | None = None
    perm: bool = False

    def __post_init__(self) -> None:
        if type(self.bits) is not int or not 1 <= self.bits <= 8:
            raise _config_error("bits", "bits must be an integer in 1..8",
                                expected="1..8", found=self.bits)
        g = self.group_size
        if type(g) is not int or not (g == -1 or 1 <= g <= _MAX_GROUP_SIZE):
            raise _config_error("group_size", "group_size must be a positive integer or -1",
                                found=g)
        if self.zero not in ZERO_MODES:
            raise _config_error("zero", "unknown zero-point mode", expected=ZERO_MODES,
                                found=self.zero)
        if self.scale_dtype not in FLOAT_PART_DTYPES:
            raise _config_error("scale_dtype", "unsupported scale dtype",
                                expected=FLOAT_PART_DTYPES, found=self.scale_dtype)
        want = {"none": (None,), "int": ("U8",)}.get(self.zero, FLOAT_PART_DTYPES)
        if self.zero_dtype not in want:
            raise _config_error("zero_dtype", f"zero_dtype does not fit zero={self.zero!r}",
                                expected=list(want), found=self.zero_dtype)
        if self.levels is not None:
            if not isinstance(self.levels, str) or not _LEVEL_NAME.match(self.levels):
                raise _config_error("levels", "levels must be null or a table name "
                                    "([a-z0-9][a-z0-9_.-]*, <= 64 chars)", found=self.levels)
            builtin = LEVEL_TABLES.get(self.levels)
            if builtin is not None and builtin.size != 1 << self.bits:
                raise _config_error("levels", f"built-in table {self.levels!r} needs "
                                    f"bits={builtin.size.bit_length() - 1}", found=self.bits)
        if type(self.perm) is not bool:
            raise _config_error("perm", "perm must be a boolean", found=self.perm)

    # -- configuration -------------------------------------------------------------------------
    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> BitPackedLayout:
        require_keys(config, "bitpack", _CONFIG_KEYS)
        return cls(bits=config["bits"], group_size=config["group_size"], zero=config["zero"],
                   scale_dtype=config["scale_dtype"], zero_dtype=config["zero_dtype"],
                   levels=config["levels"], perm=config["perm"])

    def to_config(self) -> dict[str, Any]:
        return {"bits": self.bits, "group_size": self.group_size, "zero": self.zero,
                "scale_dtype": self.scale_dtype, "zero_dtype": self.zero_dtype,
                "levels": self.levels, "perm": self.perm}

    # -- parts ---------------------------------------------------------------------------------
    def geometry(self, shape: tuple[int, ...]) -> Geometry:
        if len(shape) < 1:
            raise LayoutError("bitpack tensors need at least one dimension [QF-BITPACK-002]",
                              field="shape", found=list(shape))
        return Geometry(numel(shape[:-1]), int(shape[-1]), self.bits, self.group_size)

    def part_specs(self, shape: tuple[int, ...], dtype: str) -> tuple[PartSpec, ...]:
        if dtype not in _LOGICAL_DTYPES:
            raise LayoutError("bitpack tensors record a float logical dtype [QF-BITPACK-002]",
                              field="dtype", expected=_LOGICAL_DTYPES, found=dtype)
        geo = self.geometry(shape)
        side = (geo.rows, geo.groups)
        specs = [PartSpec("codes", "U8", (geo.rows, geo.row_bytes)),
                 PartSpec("scales", self.scale_dtype, side)]
        if self.zero in ("int", "float"):
            specs.append(PartSpec("zeros", self.zero_dtype, side))
        elif self.zero == "bias":
            specs.append(PartSpec("bias", self.zero_dtype, side))
        if self.levels is not None:
            specs.append(PartSpec("levels", "F32", (1 << self.bits,)))
        if self.perm:
            specs.append(PartSpec("perm", "I32", (geo.k,)))
        return tuple(specs)

    def kernel_args(self, qt: QTensor) -> dict[str, Any]:
        """The keyword arguments of :mod:`qformat.kernels.bitpack` for this tensor's parts."""
        geo = self.geometry(qt.shape)
        p = qt.parts
        return {
            "codes": p["codes"], "scales": p["scales"], "bits": self.bits, "k": geo.k,
            "group_size": self.group_size, "zero": self.zero, "zeros": p.get("zeros"),
            "bias": p.get("bias"), "levels": p.get("levels"), "perm": p.get("perm"),
            "scale_dtype": self.scale_dtype, "zero_dtype": self.zero_dtype,
        }

    def check_parts(self, qt: QTensor) -> None:
        args = self.kernel_args(qt)
        geo = self.geometry(qt.shape)
        codes, scales = args.pop("codes"), args.pop("scales")
        for key in ("bits", "k", "group_size"):
            args.pop(key)
        check_content(geo, codes, scales, level_name=self.levels, prefix="parts.", **args)

    # -- compute -------------------------------------------------------------------------------
    def decode(self, qt: QTensor) -> np.ndarray:
        from ..kernels import bitpack as kernels

        out = kernels.dequantize(**self.kernel_args(qt), validate=False)
        return out.reshape(qt.shape)

    def linear(self, qt: QTensor, x: np.ndarray) -> np.ndarray:
        from ..kernels import bitpack as kernels

        return kernels.linear(x, **self.kernel_args(qt), validate=False)

    def describe(self, qt: QTensor) -> dict[str, Any]:
        return {
            "method": "bitpack",
            "bits": self.bits,
            "group_size": self.group_size,
            "symmetric": self.zero == "none",
            "extra": {
                "zero_point": self.zero,
                "scale_dtype": self.scale_dtype,
                "zero_dtype": self.zero_dtype,
                "level_table": self.levels,
                "permuted": self.perm,
            },
        }

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def encode(cls, array: np.ndarray, **config: Any) -> QTensor:
        """Quantize ``array`` (see :func:`qformat.layouts.bitpack_quantize.quantize_bitpack`)."""
        from .bitpack_quantize import quantize_bitpack

        return quantize_bitpack(array, **config)

    @classmethod
    def from_codes(
        cls,
        codes: np.ndarray,
        scales: np.ndarray,
        zeros: np.ndarray | None = None,
        bias: np.ndarray | None = None,
        *,
        bits: int,
        group_size: int,
        levels: str | np.ndarray | None = None,
        level_name: str | None = None,
        perm: np.ndarray | None = None,
        g_idx: np.ndarray | None = None,
        scale_dtype: str | None = None,
        zero_dtype: str | None = None,
        dtype: str = "F16",
    ) -> QTensor:
        """Build a bitpack QTensor from unpacked integer codes: the importers' constructor.

        The dequantized tensor is, for original column ``i`` in group ``g`` (see below)::

            none:   W[..., i] = s * (q - 2**(bits-1))     (or s * levels[q] with a level table)
            int:    W[..., i] = s * (v - z)      z integer, v = levels[q] or q
            float:  W[..., i] = s * (v - z)      z float (HQQ)
            bias:   W[..., i] = s * v + b        (MLX, K-quants, Q4_1/Q5_1)

        each step a float32 operation, so importers reproduce their format's float32 decode
        bit for bit by passing the arrays that format stores.

        Args:
            codes: integer codes ``[..., K]`` in the **original** column order, each in
                ``0 .. 2**bits - 1`` (signed formats: add ``2**(bits-1)`` first). The logical
                shape of the tensor is ``codes.shape``.
            scales: ``[..., G]`` (or ``[rows, G]``) per-group scales, ``G = ceil(K/group_size)``
                (1 for group_size -1). Stored in ``scale_dtype``; by default the dtype of the
                array (float16 -> F16, float32 -> F32, ml_dtypes bfloat16 -> BF16). A uint16
                array is taken as raw F16/BF16 bit patterns (``scale_dtype`` required).
            zeros: integer array -> mode ``int`` (stored U8, values < 2**bits); float array ->
                mode ``float``. Same shape as ``scales``.
            bias: float array, mode ``bias``. Same shape as ``scales``.
            bits: code width, 1..8 (2, 3, 4, 8 have the fast kernels).
            group_size: columns per group (a last partial group is allowed), or -1.
            levels: ``"nf4"``, ``"fp4"`` or a float32 table of ``2**bits`` values (v = levels[q]).
            level_name: label stored for a custom table (default ``"custom"``).
            perm: store columns in this order: stored column j = original column perm[j];
                groups are consecutive *stored* columns and ``scales[..., g]`` belongs to
                stored group g. ``linear`` applies it to x, ``dequantize`` undoes it.
            g_idx: alternative to ``perm`` for GPTQ act-order: the group of each original
                column. Columns are sorted by group (stable); every group must then hold
                ``group_size`` columns (the last may hold fewer), and ``scales[..., g]`` is
                group g. An identity order stores no permutation.
            scale_dtype, zero_dtype: storage types ``F16``/``BF16``/``F32`` (override).
            dtype: the logical dtype recorded for the tensor (what it was before quantization).

        Returns:
            A QTensor of this layout whose content checks have passed.
        """
        codes = np.asarray(codes)
        if codes.ndim < 1 or codes.dtype.kind not in "iu":
            raise ArgumentError("codes must be an integer array [..., K]", field="codes",
                                found=f"{codes.dtype}{list(codes.shape)}")
        if type(bits) is not int or not 1 <= bits <= 8:
            raise ArgumentError("bits must be an integer in 1..8", field="bits", found=bits)
        if type(group_size) is not int or not (group_size == -1 or group_size >= 1):
            raise ArgumentError("group_size must be a positive integer or -1",
                                field="group_size", found=group_size)
        shape = tuple(int(d) for d in codes.shape)
        k = shape[-1]
        rows = numel(shape[:-1])
        bad = (codes < 0) | (codes >= (1 << bits))
        if bad.any():
            idx = first_bad_index(bad)
            raise ArgumentError("code out of range", field="codes", expected=f"0..{(1 << bits) - 1}"
                                f" at index {list(idx)}", found=int(codes[idx]))
        codes2 = codes.reshape(rows, k).astype(np.uint8)
        if g_idx is not None:
            if perm is not None:
                raise ArgumentError("pass perm or g_idx, not both", field="g_idx")
            perm = _perm_from_g_idx(g_idx, k, group_size)
        perm_arr = None
        if perm is not None:
            perm_arr = np.asarray(perm)
            if perm_arr.shape != (k,) or perm_arr.dtype.kind not in "iu":
                raise ArgumentError("perm must be an integer array [K]", field="perm",
                                    expected=f"[{k}]",
                                    found=f"{perm_arr.dtype}{list(perm_arr.shape)}")
            if np.array_equal(perm_arr, np.arange(k)):
                perm_arr = None
            else:
                if perm_arr.size and (perm_arr.min() < 0 or perm_arr.max() >= k
                                      or np.unique(perm_arr).size != k):
                    raise ArgumentError("perm is not a permutation of 0..K-1", field="perm")
                perm_arr = perm_arr.astype(np.int32)
                codes2 = np.ascontiguousarray(codes2[:, perm_arr])
        g = n_groups(k, group_size)
        side_shape = (rows, g)

        scale_dtype, scales_st = _float_part(scales, "scales", scale_dtype, side_shape)
        zero_mode, zeros_st, bias_st = "none", None, None
        if zeros is not None and bias is not None:
            raise ArgumentError("pass zeros or bias, not both", field="bias")
        if zeros is not None:
            z = np.asarray(zeros)
            raw_float_bits = z.dtype == np.uint16 and zero_dtype in ("F16", "BF16")
            if z.dtype.kind in "iu" and not raw_float_bits:
                zero_mode, zero_dtype = "int", "U8"
                zeros_st = _int_zeros(z, side_shape, bits)
            else:
                zero_mode = "float"
                zero_dtype, zeros_st = _float_part(z, "zeros", zero_dtype, side_shape)
        elif bias is not None:
            zero_mode = "bias"
            zero_dtype, bias_st = _float_part(bias, "bias", zero_dtype, side_shape)
        else:
            zero_dtype = None

        level_label, levels_st = None, None
        if levels is not None:
            if isinstance(levels, str):
                if levels not in LEVEL_TABLES:
                    raise ArgumentError("unknown level table", field="levels",
                                        expected=sorted(LEVEL_TABLES), found=levels)
                level_label, levels_st = levels, LEVEL_TABLES[levels].copy()
            else:
                lv = np.asarray(levels)
                if lv.shape != (1 << bits,) or lv.dtype.kind != "f":
                    raise ArgumentError("a level table needs 2**bits float entries",
                                        field="levels", expected=f"float[{1 << bits}]",
                                        found=f"{lv.dtype}{list(lv.shape)}")
                levels_st = lv.astype(np.float32)
                level_label = level_name or "custom"
                if level_label in LEVEL_TABLES:
                    raise ArgumentError("built-in table names are reserved for the built-in "
                                        "tables; pass levels=name instead", field="level_name",
                                        found=level_label)
        try:
            layout = cls(bits=bits, group_size=group_size, zero=zero_mode,
                         scale_dtype=scale_dtype, zero_dtype=zero_dtype, levels=level_label,
                         perm=perm_arr is not None)
        except LayoutError as exc:
            raise ArgumentError(exc.detail, field=exc.field, found=exc.found) from None
        parts: dict[str, np.ndarray] = {"codes": _pack(codes2, bits), "scales": scales_st}
        if zeros_st is not None:
            parts["zeros"] = zeros_st
        if bias_st is not None:
            parts["bias"] = bias_st
        if levels_st is not None:
            parts["levels"] = levels_st
        if perm_arr is not None:
            parts["perm"] = perm_arr
        qt = QTensor(layout, shape, parts, dtype=dtype)
        qt.check()
        return qt


#: From this many codes on, pack/unpack use the jitted kernels (same bytes as the numpy
#: reference, whose bit-plane temporaries take ~8 bytes per code); smaller tensors avoid
#: importing numba.
_JIT_MIN_CODES = 1 << 20


def _pack(codes: np.ndarray, bits: int) -> np.ndarray:
    if codes.size >= _JIT_MIN_CODES:
        from ..kernels.bitpack import pack_codes
    else:
        from ..kernels._ref.bitpack import pack_codes
    return pack_codes(codes, bits)


def _perm_from_g_idx(g_idx: np.ndarray, k: int, group_size: int) -> np.ndarray:
    """Stable sort of columns by group; every group must be complete and contiguous after it."""
    gi = np.asarray(g_idx)
    if gi.shape != (k,) or gi.dtype.kind not in "iu":
        raise ArgumentError("g_idx must be an integer array [K]", field="g_idx",
                            expected=f"[{k}]", found=f"{gi.dtype}{list(gi.shape)}")
    perm = np.argsort(gi, kind="stable")
    gsize = k if group_size == -1 else group_size
    want = np.arange(k) // max(gsize, 1)
    if not np.array_equal(gi[perm], want):
        raise ArgumentError("g_idx groups do not hold group_size columns each (the last may "
                            "hold fewer); this grouping cannot be stored", field="g_idx",
                            expected=f"{gsize} columns per group")
    return perm


def _int_zeros(z: np.ndarray, shape: tuple[int, int], bits: int) -> np.ndarray:
    if z.size != shape[0] * shape[1] or z.ndim == 0 or (shape[1] and z.shape[-1] != shape[1]):
        raise ArgumentError("zeros must hold one value per row and group", field="zeros",
                            expected=list(shape), found=list(z.shape))
    bad = (z < 0) | (z >= 1 << bits)
    if bad.any():
        idx = first_bad_index(bad)
        raise ArgumentError(f"integer zero point out of range at index {list(idx)}",
                            field="zeros", expected=f"0..{(1 << bits) - 1}", found=int(z[idx]))
    return np.ascontiguousarray(z.reshape(shape).astype(np.uint8))


def _float_part(arr: Any, field: str, dtype: str | None,
                shape: tuple[int, int]) -> tuple[str, np.ndarray]:
    """A float side array (scales, zeros, bias) -> (dtype code, C-contiguous stored array).

    Arrays already in the target dtype are stored bit for bit; others are converted through
    float32 (round to nearest even).
    """
    a = np.asarray(arr)
    if a.size != shape[0] * shape[1] or (a.ndim == 0 or (shape[1] and a.shape[-1] != shape[1])):
        raise ArgumentError(f"{field} must hold one value per row and group", field=field,
                            expected=list(shape), found=list(a.shape))
    if a.dtype == np.uint16:
        if dtype not in ("F16", "BF16"):
            raise ArgumentError(f"uint16 {field} are raw bit patterns: pass scale_dtype/"
                                "zero_dtype 'F16' or 'BF16'", field=field, found="uint16")
        return dtype, np.ascontiguousarray(a.view(DTYPES[dtype].storage).reshape(shape))
    try:
        src = dtype_of(a)
    except ArgumentError:
        src = str(a.dtype)
    if src not in ("F64", "F32", "F16", "BF16"):
        raise ArgumentError(f"{field} must be a float array", field=field, found=str(a.dtype))
    dtype = dtype or ("F32" if src == "F64" else src)
    if dtype not in FLOAT_PART_DTYPES:
        raise ArgumentError(f"unsupported {field} dtype", field=field,
                            expected=FLOAT_PART_DTYPES, found=dtype)
    if a.dtype.kind == "V":  # ml_dtypes bfloat16: reinterpret its bits
        a = a.view(np.uint16)
    storage = DTYPES[dtype].storage
    if src == dtype:
        stored = a.astype(storage)
    else:
        f32 = to_float32(a, src)
        stored = f32_to_bf16(f32) if dtype == "BF16" else f32.astype(storage)
    return dtype, np.ascontiguousarray(stored.reshape(shape))


def unpack_codes(qt: QTensor) -> np.ndarray:
    """The integer codes of a bitpack QTensor, uint8, logical shape, original column order."""
    if not isinstance(qt.layout, BitPackedLayout):
        raise ArgumentError("not a bitpack tensor", field="layout", found=qt.layout.name)
    geo = qt.layout.geometry(qt.shape)
    if geo.rows * geo.k >= _JIT_MIN_CODES:
        from ..kernels.bitpack import unpack_codes as unpack
    else:
        from ..kernels._ref.bitpack import unpack_codes as unpack
    stored = unpack(qt.parts["codes"], geo.bits, geo.k)
    if "perm" in qt.parts:
        out = np.empty_like(stored)
        out[:, qt.parts["perm"]] = stored
        stored = out
    return stored.reshape(qt.shape)

