"""Lossless import of TFLite constants as qformat QTensors (``Model.raw``).

Quantized constants go to the ``bitpack`` layout through
:func:`qformat.readers._bitpack_import.affine_to_bitpack` (which states the exactness
argument); this module describes the two TFLite schemes to it:

- affine (``QuantizationParameters.scale``/``zero_point``): per-tensor (one scale) or per-axis
  (``quantized_dimension``), INT8/UINT8/INT4/UINT4/INT2 codes, any zero point;
- blockwise (``BlockwiseQuantization``): the scales (and optional zero points) live in
  separate tensors of the scale grid's shape, one block of ``block_shape`` per entry.

Plain constants (float32, float16, bfloat16, int8..int64...) go to the ``raw`` layout.
Refused with UnsupportedError: codes wider than 8 bits (INT16 weights, INT32/INT64 biases),
scales changing along the last axis from one weight to the next (a depthwise kernel
``[1, H, W, C]`` quantized along C, a 2-D weight quantized along axis 1, unless
``transpose=True``), sparse or external data, multi-axis and custom quantization.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ...errors import UnsupportedError
from .._bitpack_import import affine_to_bitpack

if TYPE_CHECKING:
    from ...layouts.qtensor import QTensor
    from .schema import ElementType

__all__ = ["affine_qtensor", "blockwise_qtensor"]


def _bits(et: ElementType) -> int:
    if et.kind not in ("int", "uint") or et.bits is None or et.bits > 8:
        raise UnsupportedError(f"{et.name} codes are {et.bits} bits wide; bitpack holds codes of "
                               "1 to 8 bits", field="type", found=et.name)
    return et.bits


def affine_qtensor(codes: Callable[[], np.ndarray], shape: tuple[int, ...], et: ElementType,
                   scale: np.ndarray, zero_point: np.ndarray, axis: int | None, *,
                   transpose: bool = False) -> QTensor:
    """Per-tensor (``axis`` None) or per-axis affine constant -> bitpack, exactly.

    ``codes`` returns the unpacked codes; it is called only once the tensor is known to fit.
    """
    bits = _bits(et)
    rank = len(shape)
    full = tuple(max(d, 1) for d in shape)
    if axis is None:
        pshape, blocks = (1,) * rank, full
        scale, zero_point = scale[:1], zero_point[:1]  # the reader uses the first entry
    else:
        pshape = tuple(shape[i] if i == axis else 1 for i in range(rank))
        blocks = tuple(1 if i == axis else full[i] for i in range(rank))
    return affine_to_bitpack(codes, shape=shape, bits=bits, signed=et.kind == "int",
                             scales=np.asarray(scale, dtype=np.float32).reshape(pshape),
                             scale_code="F32", blocks=blocks, dtype="F32",
                             zeros=np.asarray(zero_point, dtype=np.int64).reshape(pshape),
                             transpose=transpose)


def blockwise_qtensor(codes: Callable[[], np.ndarray], shape: tuple[int, ...],
                      et: ElementType, scales: np.ndarray, scale_code: str,
                      zero_points: np.ndarray | None, block_shape: tuple[int, ...], *,
                      transpose: bool = False) -> QTensor:
    """Blockwise constant (scales tensor of the block grid's shape) -> bitpack, exactly."""
    bits = _bits(et)
    zeros = 0 if zero_points is None else np.asarray(zero_points, dtype=np.int64).reshape(
        scales.shape)
    return affine_to_bitpack(codes, shape=shape, bits=bits, signed=et.kind == "int",
                             scales=np.asarray(scales, dtype=np.float32),
                             scale_code=scale_code, blocks=tuple(block_shape), dtype="F32",
                             zeros=zeros, transpose=transpose)
