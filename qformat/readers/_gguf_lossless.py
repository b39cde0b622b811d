"""Lossless import of ggml blocks into the ``bitpack`` layout (``GGUFModel.raw``).

The blocks are split by the numpy references (:mod:`qformat.kernels._ref.ggml`) into unsigned
codes, one scale per group (a 32-weight block or a 16/32-weight K-quant sub-block), and a
level table, an offset or a min. Those are exactly the terms of bitpack's float32 formulas
(``specs/layouts/bitpack.md`` QF-BITPACK-020..024), so the QTensor decodes to the same bits as
``GGUFModel.get``:

========================== ======= ======================== ===========================
ggml type                  bitpack scales                   zero point / levels
========================== ======= ======================== ===========================
Q4_0, Q5_0, Q8_0           4/5/8   F16 ``d`` as stored      none (offset 2**(bits-1))
Q4_1, Q5_1                 4/5     F16 ``d`` as stored      bias = F16 ``m`` as stored
Q2_K, Q4_K, Q5_K           2/4/5   F32 ``d * sc``           bias = F32 ``-(dmin * m)``
Q3_K, Q6_K                 3/6     F32 ``d * sc``           none (offset 4 / 32)
IQ4_NL / IQ4_XS            4       F16 ``d`` / F32 ``d*sc`` levels: the 16 int8 values
MXFP4                      4       BF16 ``2**(e-128)``      levels: doubled E2M1 values
NVFP4                      4       F16 decoded UE4M3 / 2    levels: doubled E2M1 values
TQ1_0, TQ2_0               2       F16 ``d`` as stored      levels: -1, 0, 1, 2
========================== ======= ======================== ===========================

Why nothing is rounded: a stored half is kept as F16. A product ``d * sc`` of a half (11
significant bits, exponent -24..15) and an integer of at most 8 bits has at most 19
significant bits and a magnitude in 2**-24 .. 2**23, so float32 holds it exactly; it is also
the very float32 value ggml and gguf-py compute as their first step. ``(s * v) - m`` equals
``(s * v) + (-m)`` bit for bit (IEEE subtraction is addition of the negation) for every finite
``m``. ``2**(e-128)`` is a float32 whose low 16 bits are zero (subnormal for e < 2), hence an
exact BF16; an unsigned E4M3 value halved is a multiple of 2**-10 with 4 significant bits,
at most 224, hence an exact F16.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..errors import UnsupportedError
from ..kernels._ref.ggml import SPLITTERS, BlockFields

if TYPE_CHECKING:
    from ..layouts.qtensor import QTensor

__all__ = ["LEVEL_NAMES", "LOSSLESS_TYPES", "bitpack_from_blocks", "bitpack_from_fields",
           "not_lossless_reason"]

#: ggml types ``raw`` imports into ``bitpack`` bit-exactly.
LOSSLESS_TYPES = frozenset(SPLITTERS)

#: Labels stored with the level tables (informative; the table in the file is authoritative).
LEVEL_NAMES = {"IQ4_NL": "ggml.iq4_nl", "IQ4_XS": "ggml.iq4_nl", "MXFP4": "ggml.e2m1x2",
               "NVFP4": "ggml.e2m1x2", "TQ1_0": "ggml.ternary", "TQ2_0": "ggml.ternary"}

#: Scale storage where the split's float32 scales are known to fit a narrower type exactly.
_NARROW_SCALES = {"MXFP4": "BF16", "NVFP4": "F16"}

_GRID_REASON = ("{t} is vector-quantized: each index selects {n} weights at once from a "
                "fixed grid in ggml{extra}; the bitpack layout holds one scalar code per "
                "weight, so there is no exact bitpack form (a codebook layout would be needed)")
_GRID_TYPES = {
    "IQ2_XXS": (8, ", with separate sign bits"), "IQ2_XS": (8, ", with separate sign bits"),
    "IQ2_S": (8, ", with separate sign bits"), "IQ3_XXS": (4, ", with separate sign bits"),
    "IQ3_S": (4, ", with separate sign bits"), "IQ1_S": (8, ", plus a +-delta shift per group"),
    "IQ1_M": (8, ", plus a +-delta shift per group"),
}


def not_lossless_reason(type_name: str, decoder: str | None = None) -> str:
    """Why ``raw`` has no bitpack form for a block type outside :data:`LOSSLESS_TYPES`
    (``decoder``: which code dequantizes the type, as ``decoder_of`` says)."""
    if type_name in _GRID_TYPES:
        n, extra = _GRID_TYPES[type_name]
        return _GRID_REASON.format(t=type_name, n=n, extra=extra)
    if decoder == "none":
        return (f"neither qformat nor the installed gguf package decodes {type_name}, so there "
                "is no dequantization for a lossless import to reproduce")
    return f"no exact bitpack mapping is defined for {type_name}"


def _first_nonfinite(fields: BlockFields) -> tuple[int, str] | None:
    """(block index, field) of the first NaN/inf scale or min, which bitpack refuses."""
    for name, arr in (("scale", fields.scale), ("add", fields.add), ("sub", fields.sub)):
        if arr is None:
            continue
        bad = ~np.isfinite(arr)
        if bad.any():
            return int(np.argmax(bad.any(axis=1))), name
    return None


_FIELD_NAMES = {"scale": "scale (d, or d * sub-block scale)", "add": "min (m)",
                "sub": "min (dmin * sub-block min)"}


def bitpack_from_blocks(data: np.ndarray, type_name: str, shape: tuple[int, ...]) -> QTensor:
    """Little-endian ggml blocks of one tensor (numpy ``shape``) -> a bitpack QTensor whose
    dequantization is bit-identical to ggml's. UnsupportedError for other types, and for
    blocks with a NaN or infinite scale or min (bitpack requires finite ones, QF-BITPACK-040).
    """
    split = SPLITTERS.get(type_name)
    if split is None:
        raise UnsupportedError(not_lossless_reason(type_name), field="type",
                               expected=sorted(LOSSLESS_TYPES), found=type_name)
    return bitpack_from_fields(split(data), type_name, shape)


def bitpack_from_fields(fields: BlockFields, type_name: str,
                        shape: tuple[int, ...]) -> QTensor:
    """Split blocks (``fields``) of a tensor of numpy ``shape`` -> bitpack QTensor."""
    from ..layouts.bitpack import BitPackedLayout

    bias_term = fields.add if fields.add is not None else fields.sub
    # bitpack's own offset: 2**(bits-1) in mode none without levels, 0 otherwise
    implied = 1 << (fields.bits - 1) if fields.levels is None and bias_term is None else 0
    if fields.offset != implied or (fields.levels is not None and bias_term is not None):
        raise UnsupportedError(f"{type_name} splits into terms bitpack has no formula for",
                               field="type", found=type_name)
    bad = _first_nonfinite(fields)
    if bad is not None:
        block, name = bad
        raise UnsupportedError(f"block {block} has a NaN or infinite {_FIELD_NAMES[name]}; "
                               "ggml decodes it to NaN/inf values, but the bitpack layout "
                               "requires finite scales and biases (QF-BITPACK-040), so this "
                               "tensor has no lossless QTensor form", field=f"blocks[{block}]",
                               found=name)
    if not shape:
        raise UnsupportedError("a 0-dimensional tensor cannot hold ggml blocks", field="shape",
                               found=list(shape))
    rows = math.prod(shape[:-1])
    groups = shape[-1] // fields.group_size
    scales: np.ndarray = fields.scale.reshape(rows, groups)
    scale_dtype = _NARROW_SCALES.get(type_name)
    if scale_dtype == "BF16":  # the low 16 bits are zero: keep the high half
        scales = (scales.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    elif scale_dtype == "F16":
        scales = scales.astype(np.float16)
    bias = None
    if fields.add is not None:
        bias = fields.add.reshape(rows, groups)
    elif fields.sub is not None:
        bias = np.negative(fields.sub).reshape(rows, groups)
    levels = None if fields.levels is None else fields.levels.astype(np.float32)
    return BitPackedLayout.from_codes(
        fields.codes.reshape(shape), scales, bias=bias, bits=fields.bits,
        group_size=fields.group_size, levels=levels, level_name=LEVEL_NAMES.get(type_name),
        scale_dtype=scale_dtype, dtype="F32")
