"""Lossless import: ``Model.raw(name)`` as a qformat QTensor whose dequantization is
bit-identical to the reader's ``get``.

Bit-packed schemes (GPTQ, AWQ, HQQ, optimum-quanto, compressed-tensors pack-quantized, MLX
affine, bitsandbytes 4-bit) go to the ``bitpack`` layout through its importer
``BitPackedLayout.from_codes``; AQLM goes to the ``codebook`` layout through ``from_aqlm``. The
stored scales, zeros and biases are passed in their stored dtype, so nothing is rounded, and the
layouts' float32 formulas (``s * (v - z)``, ``s * v + b``, ``s * levels[v]``) are the same
operations the readers use. Layout modules are imported here, on first use only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import UnsupportedError

if TYPE_CHECKING:
    from ...layouts.qtensor import QTensor

__all__ = ["bitpack_from_codes", "codebook_from_aqlm", "stored_float"]


def _layout_missing(name: str) -> UnsupportedError:
    return UnsupportedError(f"the {name} layout is not part of this installation, so this "
                            "tensor has no lossless QTensor form here", field="layout",
                            found=name)


def stored_float(arr: np.ndarray, code: str) -> tuple[np.ndarray, str]:
    """A stored float side array as the importer wants it (raw bits for BF16)."""
    if code == "BF16":
        return np.asarray(arr).view(np.uint16), "BF16"
    if code == "F16":
        return np.asarray(arr).view(np.float16), "F16"
    return np.asarray(arr, dtype=np.float32), "F32"


def bitpack_from_codes(codes: np.ndarray, scales: np.ndarray, scale_code: str, *, bits: int,
                       group_size: int, dtype: str, zeros: np.ndarray | None = None,
                       zero_code: str | None = None, bias: np.ndarray | None = None,
                       levels: np.ndarray | None = None, level_name: str | None = None,
                       g_idx: np.ndarray | None = None) -> QTensor:
    """``BitPackedLayout.from_codes`` with stored side arrays passed bit for bit."""
    try:
        from ...layouts.bitpack import BitPackedLayout
    except ImportError:
        raise _layout_missing("bitpack") from None
    s, s_code = stored_float(scales, scale_code)
    kwargs: dict[str, Any] = {"bits": bits, "group_size": group_size, "dtype": dtype,
                              "scale_dtype": s_code}
    z = b = None
    if zeros is not None:
        if np.asarray(zeros).dtype.kind in "iu":
            z = np.asarray(zeros)
        else:
            z, kwargs["zero_dtype"] = stored_float(zeros, zero_code or "F32")
    if bias is not None:
        b, kwargs["zero_dtype"] = stored_float(bias, zero_code or "F32")
    if levels is not None:
        kwargs["levels"] = np.asarray(levels, dtype=np.float32)
        kwargs["level_name"] = level_name
    if g_idx is not None:
        kwargs["g_idx"] = g_idx
    return BitPackedLayout.from_codes(np.ascontiguousarray(codes), s, z, b, **kwargs)


def codebook_from_aqlm(codes: np.ndarray, codebooks: np.ndarray, books_code: str,
                       scales: np.ndarray, scales_code: str, *, in_group_size: int,
                       out_group_size: int, num_codebooks: int, nbits_per_codebook: int,
                       dtype: str) -> QTensor:
    """``codebook.from_aqlm`` with the stored codebooks and scales passed bit for bit."""
    try:
        from ...layouts.codebook import from_aqlm
    except ImportError:
        raise _layout_missing("codebook") from None
    books, b_code = stored_float(codebooks, books_code)
    sc, s_code = stored_float(scales, scales_code)
    return from_aqlm(np.asarray(codes), books, sc, in_group_size=in_group_size,
                     out_group_size=out_group_size, num_codebooks=num_codebooks,
                     nbits_per_codebook=nbits_per_codebook, dtype=dtype,
                     codebooks_dtype=b_code, scales_dtype=s_code)
