"""Affine-quantized tensors of graph formats (ONNX, TFLite) as exact ``bitpack`` QTensors.

A reader describes a tensor as integer codes ``q`` in its logical shape and a parameter array
``P`` (scales, zero points) of the same rank: along each axis ``i`` the parameter index of
element ``x_i`` is ``x_i // blocks[i]`` (``blocks[i] == 1``: one parameter per position,
``blocks[i] >= shape[i]``: one for the whole axis), or ``g_idx[x_i]`` on one axis. The
reader's value is ``(q - z) * s`` in float32 (or ``q*s - s*z`` for float zero points, or
``table[q] * s`` for float codes).

``bitpack`` holds ``rows = prod(shape[:-1])`` rows of ``K = shape[-1]`` codes with one scale
per row and group of ``group_size`` consecutive columns, so the parameters are expanded to
``[rows, groups]`` (exactly: a gather, no arithmetic) and must be constant over runs of the
last axis. Where they change from one column to the next (a per-channel scale on the last
axis, MatMulNBits blocks along K of its ``[K, N]`` weight) the tensor is refused in its own
shape; for 2-D tensors ``transpose=True`` builds the exact transpose instead.

Exactness (each step a float32 operation, no fused multiply-add; the bitpack layout's
formulas are those of ``specs/layouts/bitpack.md``):

* signed ``b``-bit codes become ``u = q + 2**(b-1)`` (in 0..2**b-1) and integer zero points
  ``z' = z + 2**(b-1)``: ``u - z' = q - z`` exactly, so ``s * (u - z')`` (bitpack ``int``) is
  the reader's ``(q - z) * s`` bit for bit (IEEE multiplication commutes). Where every
  ``z'`` is ``2**(b-1)`` the zero points need no storage (bitpack ``none``:
  ``s * (u - 2**(b-1))``).
* float zero points (MatMulNBits, onnxruntime's ``q*s - s*z``) become bitpack ``bias``
  ``b = -(s*z)`` computed in float32: ``(s*q) + b`` is then ``q*s - s*z`` exactly, since
  ``x - y`` is by definition ``x + (-y)`` and negation is exact.
* float codes (float8, float4) use a level table ``table[q]`` (bitpack ``none`` with levels):
  ``s * table[q]``. Table entries that are NaN or infinite must be unused by the tensor (they
  are stored as 0); otherwise the tensor is refused.
* scales are stored in their own type where the float32 values round-trip through it
  (F16/BF16), else as F32, so the layout decodes the very float32 scale the reader multiplies
  by. Negative scales are kept as they are (the layout only requires finite scales).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ArgumentError, QFormatError, UnsupportedError

if TYPE_CHECKING:
    from ..layouts.qtensor import QTensor

__all__ = ["affine_to_bitpack", "level_table", "raw_qtensor"]


def _shape_str(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def level_table(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """A float32 level table with its non-finite entries set to 0, if ``codes`` never use them.

    ``values`` is the table of every code (``2**bits`` entries); UnsupportedError names the
    first non-finite level the tensor does use (bitpack tables must be finite).
    """
    table = np.array(values, dtype=np.float32)
    bad = ~np.isfinite(table)
    if bad.any():
        used = np.bincount(np.asarray(codes, dtype=np.uint8).reshape(-1),
                           minlength=table.size)[:table.size] > 0
        hit = np.flatnonzero(bad & used)
        if hit.size:
            code = int(hit[0])
            raise UnsupportedError(f"the tensor holds code 0x{code:02x}, whose value is "
                                   f"{table[code]}; bitpack level tables hold finite values "
                                   "only", field="codes", found=f"0x{code:02x}")
        table[bad] = 0.0
    return table


def _stored_scales(values: np.ndarray, code: str) -> tuple[np.ndarray, str]:
    """float32 ``values`` in storage type ``code`` if they round-trip exactly, else F32."""
    from ..dtypes import bf16_to_f32, f32_to_bf16

    f32 = np.ascontiguousarray(values, dtype=np.float32)
    if code == "F16":
        f16 = f32.astype(np.float16)
        if np.array_equal(f16.astype(np.float32).view(np.uint32), f32.view(np.uint32)):
            return f16, "F16"
    elif code == "BF16":
        bits = f32_to_bf16(f32)
        if np.array_equal(bf16_to_f32(bits).view(np.uint32), f32.view(np.uint32)):
            return bits, "BF16"
    return f32, "F32"


#: Tile edge of the blocked transpose (a 256 x 256 byte tile of source and destination fits
#: in L2; numpy's plain strided copy of a transposed uint8 view is about 2x slower).
_TILE = 256


def _c_order(codes: np.ndarray) -> tuple[np.ndarray, bool]:
    """``codes`` C-contiguous (a transposed 2-D view copied tile by tile); True if copied."""
    if codes.flags.c_contiguous:
        return codes, False
    if codes.ndim == 2 and codes.T.flags.c_contiguous:
        rows, cols = codes.shape
        out = np.empty((rows, cols), dtype=codes.dtype)
        for i in range(0, rows, _TILE):
            for j in range(0, cols, _TILE):
                out[i:i + _TILE, j:j + _TILE] = codes[i:i + _TILE, j:j + _TILE]
        return out, True
    return np.ascontiguousarray(codes), True


def _unsigned_codes(codes: np.ndarray, bits: int, signed: bool) -> np.ndarray:
    """Codes as C-ordered uint8 in 0..2**bits-1: signed ones shifted by 2**(bits-1)."""
    if codes.dtype.kind not in "iu" or codes.dtype.itemsize != 1:
        codes = codes.astype(np.int16 if signed else np.uint8)
    codes, fresh = _c_order(codes)
    if not signed:
        return codes.astype(np.uint8, copy=False)
    off = 1 << (bits - 1)
    if codes.dtype == np.int8:  # q + off wraps modulo 256 to the same value: no widening
        u = codes.view(np.uint8)
        if fresh:
            u += np.uint8(off)
            return u
        return u + np.uint8(off)
    return (codes + off).astype(np.uint8)


def _axis_index(length: int, block: int, table: np.ndarray | None) -> np.ndarray:
    """Parameter index of each position along one axis."""
    if table is not None:
        return np.asarray(table, dtype=np.intp)
    return np.arange(length, dtype=np.intp) // block


def _expand(param: np.ndarray, lead_index: list[np.ndarray]) -> np.ndarray:
    """``param`` [p0, ..., p_{r-2}, G] gathered to ``[rows, G]`` (rows over the leading axes)."""
    groups = param.shape[-1]
    if not lead_index:
        return np.ascontiguousarray(param.reshape(1, groups))
    picked = param[np.ix_(*lead_index, np.arange(groups))]
    return np.ascontiguousarray(picked.reshape(-1, groups))


def _last_axis_refusal(shape: tuple[int, ...], transposed: bool, can_transpose: bool) -> str:
    axis = len(shape) - 1
    msg = (f"the scale changes from one weight to the next along the last axis (axis {axis} "
           f"of {_shape_str(shape)}): bitpack groups run along the last axis, so this shape "
           "would need one scale per weight")
    if transposed:
        return "transposed: " + msg
    if can_transpose:
        return (msg + f"; raw(name, transpose=True) returns the exact transpose "
                f"{_shape_str(shape[::-1])} (dequantize() == get(name).T)")
    if len(shape) != 2:
        return msg + " (transpose=True is offered for 2-D tensors only)"
    return msg + " (its transpose would need one scale per weight too)"


def _needs_one_scale_per_weight(shape: tuple[int, ...], blocks: tuple[int, ...],
                                table_axis: int | None, param_count: int) -> bool:
    last = len(shape) - 1
    return (blocks[last] == 1 and shape[last] > 1 and table_axis != last
            and param_count < int(np.prod(shape, dtype=np.int64)))


def affine_to_bitpack(
    codes: np.ndarray | Callable[[], np.ndarray],
    *,
    shape: tuple[int, ...] | None = None,
    bits: int,
    signed: bool,
    scales: np.ndarray,
    scale_code: str,
    blocks: tuple[int, ...],
    dtype: str,
    zeros: np.ndarray | int = 0,
    float_zeros: np.ndarray | None = None,
    levels: np.ndarray | None = None,
    level_name: str | None = None,
    g_idx: tuple[int, np.ndarray] | None = None,
    transpose: bool = False,
) -> QTensor:
    """The exact bitpack QTensor of an affine-quantized tensor (see the module docstring).

    Args:
        codes: integer codes in the reader's logical shape (any strides); uint8 codes of a
            level table when ``levels`` is given. A callable returning them is called only
            once the tensor is known to fit (``shape`` then required), so a refusal reads
            no payload.
        shape: the logical shape (default: ``codes.shape``).
        bits: code width (1..8), signed: two's complement codes and zero points.
        scales: float32 parameter array ``P`` (the values the reader multiplies by), same rank
            as ``codes``, ``P.shape[i] == ceil(shape[i] / blocks[i])``.
        scale_code: storage type to keep the scales in when exact (``F16``, ``BF16``, ``F32``).
        blocks: positions per parameter along each axis.
        dtype: logical dtype recorded in the QTensor.
        zeros: integer zero points shaped like ``P`` (or one integer for all).
        float_zeros: float32 zero points shaped like ``P``, applied as ``q*s - s*z``.
        levels, level_name: value table of float codes (``levels`` may be ``"fp4"``).
        g_idx: ``(axis, index)``: on that axis the parameter index is ``index[x]``.
        transpose: build the transpose of a 2-D tensor (its ``dequantize()`` is the reader's
            values transposed).

    Raises UnsupportedError (naming the reason) where bitpack cannot hold the tensor exactly.
    """
    try:
        from ..layouts.bitpack import BitPackedLayout
    except ImportError:  # pragma: no cover - the layout ships with qformat
        raise UnsupportedError("the bitpack layout is not part of this installation",
                               field="layout", found="bitpack") from None
    if shape is None:
        if callable(codes):
            raise ArgumentError("shape is required with lazily read codes", field="shape")
        shape = codes.shape
    shape = tuple(int(d) for d in shape)
    rank = len(shape)
    if not 1 <= bits <= 8:
        raise UnsupportedError(f"codes are {bits} bits wide; bitpack holds codes of 1 to 8 "
                               "bits", field="bits", found=bits)
    if rank == 0:
        raise UnsupportedError("a scalar: bitpack tensors need at least one dimension",
                               field="shape", found=[])
    param = np.asarray(scales, dtype=np.float32)
    if param.ndim != rank or len(blocks) != rank:
        raise ArgumentError("scales and blocks need the rank of the codes", field="scales",
                            expected=rank, found=list(param.shape))
    for i, (d, b, p) in enumerate(zip(shape, blocks, param.shape)):
        table = g_idx is not None and g_idx[0] == i
        want = (int(np.max(g_idx[1])) + 1 if len(g_idx[1]) else 0) if table else -(-d // b)
        if b < 1 or (p < want if table else p not in (want, max(want, 1))):
            raise ArgumentError("parameter grid does not match the shape and blocks",
                                field="scales", expected=f"axis {i}: {want} for {d} / {b}",
                                found=list(param.shape))
    bad = ~np.isfinite(param)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise UnsupportedError(f"scale {param[idx]} at index {list(idx)}: bitpack requires "
                               "finite scales", field="scales", found=float(param[idx]))
    table_axis = g_idx[0] if g_idx is not None else None
    if transpose:
        if rank != 2:
            raise UnsupportedError("transpose=True is offered for 2-D tensors only",
                                   field="transpose", found=_shape_str(shape))
        param, blocks, shape = param.T, blocks[::-1], shape[::-1]
        if table_axis is not None:
            table_axis = 1 - table_axis
        if isinstance(zeros, np.ndarray):
            zeros = zeros.T
        if float_zeros is not None:
            float_zeros = float_zeros.T
    if _needs_one_scale_per_weight(shape, blocks, table_axis, param.size):
        can = (not transpose and rank == 2 and not _needs_one_scale_per_weight(
            shape[::-1], blocks[::-1], None if table_axis is None else 1 - table_axis,
            param.size))
        raise UnsupportedError(_last_axis_refusal(shape, transpose, can), field="shape",
                               found=_shape_str(shape))

    last = rank - 1
    lead_index = [_axis_index(shape[i], blocks[i], g_idx[1] if table_axis == i else None)
                  for i in range(last)]
    k = shape[last]
    kwargs: dict = {"bits": bits, "dtype": dtype,
                    "group_size": blocks[last] if blocks[last] < k else -1}
    if table_axis == last:
        kwargs["g_idx"] = np.asarray(g_idx[1])

    stored, kwargs["scale_dtype"] = _stored_scales(param, scale_code)
    scales_rows = _expand(stored, lead_index)
    zeros_rows = bias_rows = None
    if levels is not None:
        if isinstance(levels, str):
            kwargs["levels"] = levels
        else:
            kwargs["levels"] = np.asarray(levels, dtype=np.float32)
            kwargs["level_name"] = level_name
    elif float_zeros is not None:
        if signed:
            raise ArgumentError("float zero points apply to unsigned codes", field="signed")
        with np.errstate(over="ignore", invalid="ignore"):
            bias = -(param * np.asarray(float_zeros, dtype=np.float32))
        bad = ~np.isfinite(bias)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise UnsupportedError(f"scale x zero point overflows float32 at index "
                                   f"{list(idx)}; bitpack biases must be finite",
                                   field="zero_points", found=float(bias[idx]))
        bias_rows = _expand(bias.astype(np.float32), lead_index)
        kwargs["zero_dtype"] = "F32"
    else:
        z = np.broadcast_to(np.asarray(zeros, dtype=np.int64), param.shape)
        if signed:
            z = z + (1 << (bits - 1))
        if z.size and (int(z.min()) < 0 or int(z.max()) >= 1 << bits):
            raise UnsupportedError("zero point outside the code range", field="zero_points",
                                   expected=f"0..{(1 << bits) - 1} (after the signed offset)",
                                   found=f"{int(z.min())}..{int(z.max())}")
        if not np.all(z == 1 << (bits - 1)):
            zeros_rows = _expand(z.astype(np.uint8), lead_index)
    if k == 0:  # no columns, so no groups: the side arrays are [rows, 0]
        scales_rows, zeros_rows, bias_rows = (
            None if a is None else a[:, :0] for a in (scales_rows, zeros_rows, bias_rows))
    if callable(codes):
        codes = codes()
    if transpose:
        codes = codes.T
    if tuple(codes.shape) != shape:
        raise ArgumentError("codes do not have the tensor's shape", field="codes",
                            expected=list(shape), found=list(codes.shape))
    codes_u8 = _unsigned_codes(codes, bits, signed)
    try:
        return BitPackedLayout.from_codes(codes_u8, scales_rows, zeros_rows, bias_rows,
                                          **kwargs)
    except ArgumentError as exc:
        if "g_idx" in kwargs and exc.field == "g_idx":
            raise UnsupportedError(f"g_idx cannot be held by bitpack: {exc.detail}",
                                   field="g_idx") from None
        raise


def raw_qtensor(values: np.ndarray, code: str, *, transpose: bool = False) -> QTensor:
    """An unquantized tensor as a ``raw`` QTensor (a copy; 2-D transposed on request)."""
    from ..dtypes import DTYPES
    from ..layouts.qtensor import QTensor
    from ..layouts.raw import RawLayout

    if code not in DTYPES:
        raise UnsupportedError(f"element type {code} has no qformat storage type",
                               field="dtype", expected=sorted(DTYPES), found=code)
    storage = DTYPES[code].storage
    arr = np.asarray(values)
    if arr.dtype != storage:
        arr = arr.view(storage) if arr.dtype.itemsize == storage.itemsize else \
            arr.astype(storage)
    if transpose:
        if arr.ndim != 2:
            raise UnsupportedError("transpose=True is offered for 2-D tensors only",
                                   field="transpose", found=_shape_str(arr.shape))
        arr = arr.T
    data = np.array(arr, dtype=storage, order="C", copy=True)
    try:
        return QTensor(RawLayout(), data.shape, {"data": data}, dtype=code)
    except QFormatError as exc:  # pragma: no cover - the part specs follow from the array
        raise UnsupportedError(f"raw layout refused the tensor: {exc.detail}") from None
