"""Lossless import of ONNX tensors as qformat QTensors (``Model.raw``).

Unquantized tensors whose element type qformat stores map to the ``raw`` layout. Quantized
weights map to the ``bitpack`` layout through :mod:`qformat.readers._bitpack_import`, which
states the exactness argument; this module only describes each ONNX scheme to it (codes in
the logical shape, the parameter array and how it spreads over each axis):

- ``DequantizeLinear``/QOperator/dynamic weights (:class:`.detect.Affine`): per-tensor,
  per-axis (1-D or broadcast-form scales) and blocked (``block_size`` along ``axis``) integer
  codes of 1..8 bits, integer zero points; float8/float4 codes through a level table;
- ``MatMulNBits``: codes ``[K, N]`` blocked along K (or grouped by ``g_idx``), implicit,
  packed or float zero points, 2-D or old 1-D scales;
- ``GatherBlockQuantized``: blocked along ``quantize_axis``.

Refused with UnsupportedError naming the reason: codes wider than 8 bits (int16, int32
biases), outputs rounded to float16/bfloat16 by the op (bitpack decodes to float32 without a
final rounding), scales changing along the last axis from one weight to the next (unless
``transpose=True`` on a 2-D tensor makes the other axis last), non-finite scales.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...errors import UnsupportedError
from .._bitpack_import import affine_to_bitpack, level_table, raw_qtensor
from .detect import Affine, Entry, GatherBQ, NBits
from .types import OnnxType, to_float32

if TYPE_CHECKING:
    from ...layouts.qtensor import QTensor

__all__ = ["to_qtensor"]

#: logical dtypes a bitpack tensor may record
_FLOAT_CODES = ("F32", "F16", "BF16", "F64")


def _logical(t: OnnxType) -> str:
    return t.short if t.short in _FLOAT_CODES else "F32"


def _refuse_rounded_output(out_type: OnnxType, what: str) -> None:
    if out_type.name in ("FLOAT16", "BFLOAT16"):
        raise UnsupportedError(f"{what} outputs {out_type.name}: the op rounds (q - zero_point)"
                               f" * scale to {out_type.name.lower()}, while bitpack decodes in "
                               "float32 without a final rounding, so the values would differ",
                               field="output type", found=out_type.name)


def to_qtensor(e: Entry, path: str, *, transpose: bool = False) -> QTensor:
    """The stored tensor as a QTensor, exactly; UnsupportedError naming why not."""
    q = e.quant
    if e.unsupported:
        raise UnsupportedError(f"no exact QTensor: {e.unsupported}", path=path, tensor=e.name)
    if q is None:
        st = e.stored
        if st is None or e.sparse is not None:
            raise UnsupportedError("sparse initializers have no exact QTensor form (get() "
                                   "densifies them)", path=path, tensor=e.name)
        if st.type.kind in ("string", "complex"):
            raise UnsupportedError(f"{st.type.name} tensors have no qformat storage type",
                                   path=path, tensor=e.name, field="data_type",
                                   found=st.type.name)
        return raw_qtensor(st.values().reshape(st.dims), st.type.short, transpose=transpose)
    if isinstance(q, Affine):
        return _affine(q, transpose)
    if isinstance(q, NBits):
        return _nbits(q, transpose)
    if isinstance(q, GatherBQ):
        return _gather(q, transpose)
    raise UnsupportedError("no exact QTensor for this quantization", path=path,  # pragma: no cover
                           tensor=e.name, found=type(q).__name__)


def _float_codes(codes: np.ndarray, t: OnnxType) -> tuple[np.ndarray | str, str]:
    """Level table of float codes (float8/float6/float4): every code's value, exactly."""
    from ...kernels._bitpack_common import LEVEL_TABLES

    table = level_table(to_float32(np.arange(1 << t.bits, dtype=np.uint8), t), codes)
    fp4 = LEVEL_TABLES["fp4"]
    if table.shape == fp4.shape and np.array_equal(table.view(np.uint32), fp4.view(np.uint32)):
        return "fp4", "fp4"
    return table, f"onnx-{t.label}"


def _affine(q: Affine, transpose: bool) -> QTensor:
    t = q.codes.type
    if t.bits is None or t.bits > 8:
        raise UnsupportedError(f"{t.name} codes are {t.bits} bits wide; bitpack holds codes of "
                               "1 to 8 bits", field="data_type", found=t.name)
    if q.scale is None:  # implicit (int32 bias) scales are excluded above; runtime ones here
        raise UnsupportedError("the scale is not stored in the file", field="scale")
    if q.round_output:
        _refuse_rounded_output(q.out_type, "DequantizeLinear")
    dims = q.codes.dims
    rank = len(dims)
    scale = to_float32(q.scale.values(), q.scale.type)
    full = tuple(max(d, 1) for d in dims)  # one parameter for the whole axis
    if q.block_size:
        pshape = tuple(q.scale.dims)
        blocks = tuple(q.block_size if i == q.axis else 1 for i in range(rank))
    elif q.scale_axis_shape is not None:
        pshape = tuple(q.scale_axis_shape)
        blocks = tuple(1 if p == d else full[i] for i, (p, d) in enumerate(zip(pshape, dims)))
    elif q.granularity == "per-tensor" or scale.size == 1:
        pshape, blocks = (1,) * rank, full
    else:
        pshape = tuple(dims[i] if i == q.axis else 1 for i in range(rank))
        blocks = tuple(1 if i == q.axis else full[i] for i in range(rank))
    scale = scale.reshape(pshape)
    zeros: np.ndarray | int = 0
    if q.zero is not None and t.kind != "float":
        zeros = q.zero.values().astype(np.int64).reshape(pshape if q.zero.numel != 1 else
                                                         (1,) * rank)
    codes = lambda: q.codes.values().reshape(dims)  # noqa: E731 - read once it fits
    kwargs = {}
    if t.kind == "float":
        codes = q.codes.values().reshape(dims)  # the level table depends on the codes used
        kwargs["levels"], kwargs["level_name"] = _float_codes(codes, t)
    return affine_to_bitpack(codes, shape=dims, bits=t.bits, signed=t.kind == "int", scales=scale,
                             scale_code=q.scale.type.short, blocks=blocks,
                             dtype=_logical(q.out_type), zeros=zeros, transpose=transpose,
                             **kwargs)


def _nbits(q: NBits, transpose: bool) -> QTensor:
    from .dequant import block_index, effective_zero_points, nbits_codes

    scales = to_float32(q.scales.values(), q.scales.type).reshape(q.N, q.k_blocks)
    zero = effective_zero_points(q)  # [N, k_blocks]: int16 (implicit/packed) or float32
    kwargs = {}
    if zero.dtype == np.float32:
        kwargs["float_zeros"] = zero.T
    else:
        kwargs["zeros"] = zero.T
    if q.g_idx is not None:
        kwargs["g_idx"] = (0, block_index(q))
    # everything in the reader's logical [K, N] orientation (views of the stored [N, ...])
    return affine_to_bitpack(lambda: nbits_codes(q).T, shape=(q.K, q.N), bits=q.bits,
                             signed=False, scales=scales.T,
                             scale_code=q.scales.type.short, blocks=(q.block_size, 1),
                             dtype=_logical(q.scales.type), transpose=transpose, **kwargs)


def _gather(q: GatherBQ, transpose: bool) -> QTensor:
    from .dequant import gather_codes, gather_zero_points

    _refuse_rounded_output(q.scales.type, "GatherBlockQuantized")
    t = q.codes.type
    shape = q.shape
    scales = to_float32(q.scales.values(), q.scales.type).reshape(q.scales.dims)
    blocks = tuple(q.block_size if i == q.quantize_axis else (1 if p == d else max(d, 1))
                   for i, (p, d) in enumerate(zip(scales.shape, shape)))
    codes = lambda: gather_codes(q).reshape(shape)  # noqa: E731 - read once it fits
    kwargs = {}
    if t.kind == "float":
        codes = gather_codes(q).reshape(shape)
        kwargs["levels"], kwargs["level_name"] = _float_codes(codes, t)
    else:
        kwargs["zeros"] = gather_zero_points(q).astype(np.int64)
    return affine_to_bitpack(codes, shape=shape, bits=q.bits, signed=t.kind == "int", scales=scales,
                             scale_code=q.scales.type.short, blocks=blocks,
                             dtype=_logical(q.scales.type), transpose=transpose, **kwargs)
