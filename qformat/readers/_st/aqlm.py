"""AQLM (additive quantization): ``codes`` + ``codebooks`` + ``scales`` per module.

``codes`` [out/og, in/ig, M] hold indices 0..2^nb-1 stored signed (int8 for 8-bit codebooks,
int16 for 16-bit: negative values wrap, index = code mod 2^nb); ``codebooks`` [M, 2^nb, og, ig]
and ``scales`` [out/og, 1, 1, 1]. W[og*a + r, ig*j + c] = scales[a] * sum_m
codebooks[m, codes[a, j, m], r, c], summed in codebook order in float32 as AQLM's
``_dequantize_weight`` (embedding_bag sum) does. Source: ``../shared/notes/format-safetensors.md``
§2.9, aqlm 1.1.7.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ... import limits
from ...errors import LayoutError
from .common import DETECT_ERRORS, NAMES, Detect, Logical, Source, float_of, need_dtype
from .lossless import codebook_from_aqlm

if TYPE_CHECKING:
    from ...layouts.qtensor import QTensor

__all__ = ["detect_aqlm"]


def detect_aqlm(d: Detect) -> None:
    n = 0
    for prefix in list(d.with_suffix(".codebooks")):
        codes, scales = d.get(prefix + ".codes"), d.get(prefix + ".scales")
        if codes is None or scales is None:
            continue
        parts = [prefix + ".codes", prefix + ".codebooks", prefix + ".scales"]
        try:
            logical = _aqlm(d, prefix)
        except DETECT_ERRORS as exc:
            d.fail(prefix + ".weight", "aqlm", parts, exc)
            continue
        d.add(logical)
        n += 1
    if n:
        d.ev.add(NAMES, f"tensor names: {n} modules with codes+codebooks+scales (AQLM)")


def _aqlm(d: Detect, prefix: str) -> Logical:
    codes_t = d.tensors[prefix + ".codes"]
    books_t = d.tensors[prefix + ".codebooks"]
    scales_t = d.tensors[prefix + ".scales"]
    need_dtype(codes_t, ("I8", "U8", "I16", "U16", "I32"))
    need_dtype(books_t, ("F16", "BF16", "F32"))
    need_dtype(scales_t, ("F16", "BF16", "F32"))
    if len(codes_t.shape) != 3 or len(books_t.shape) != 4:
        raise LayoutError("AQLM codes must be 3-D and codebooks 4-D", tensor=codes_t.name,
                          field="shape", found=[list(codes_t.shape), list(books_t.shape)])
    out_groups, in_groups, m = codes_t.shape
    m2, size, og, ig = books_t.shape
    if m2 != m or m < 1 or m > limits.CODEBOOK_MAX_COUNT:
        raise LayoutError("codebook count disagrees between codes and codebooks",
                          tensor=books_t.name, field="shape", expected=m, found=m2)
    nb = size.bit_length() - 1
    if size < 2 or size != 1 << nb or nb > limits.CODEBOOK_MAX_BITS:
        raise LayoutError("codebook size must be a power of two <= 2**16", tensor=books_t.name,
                          field="shape", found=size)
    if nb > {"I8": 8, "U8": 8, "I16": 16, "U16": 16, "I32": 32}[codes_t.dtype]:
        raise LayoutError("codes dtype too narrow for the codebook size", tensor=codes_t.name,
                          field="dtype", found=codes_t.dtype)
    if scales_t.numel != out_groups:
        raise LayoutError("scales must have one value per output group", tensor=scales_t.name,
                          field="shape", expected=[out_groups, 1, 1, 1],
                          found=list(scales_t.shape))
    qc = d.ev.qconfig if d.ev.is_method("aqlm") else {}
    for key, found in (("num_codebooks", m), ("nbits_per_codebook", nb),
                       ("in_group_size", ig), ("out_group_size", og)):
        if key in qc and qc[key] != found:
            raise LayoutError(f"config {key} disagrees with the stored shapes",
                              tensor=books_t.name, field=key, expected=qc[key], found=found)
    out, in_features = out_groups * og, in_groups * ig
    mask = size - 1

    def decode(src: Source) -> np.ndarray:
        idx = np.asarray(src.array(codes_t.name)).astype(np.int64) & mask  # [A, J, M]
        books = float_of(src.array(books_t.name), books_t.dtype)  # [M, size, og, ig]
        acc = books[0][idx[..., 0]]  # [A, J, og, ig]
        for c in range(1, m):
            acc = acc + books[c][idx[..., c]]
        scale = float_of(src.array(scales_t.name), scales_t.dtype).reshape(out_groups, 1, 1, 1)
        acc = acc * scale
        return np.ascontiguousarray(acc.transpose(0, 2, 1, 3).reshape(out, in_features))

    def raw(src: Source) -> QTensor:
        return codebook_from_aqlm(src.array(codes_t.name), src.array(books_t.name),
                                  books_t.dtype, src.array(scales_t.name), scales_t.dtype,
                                  in_group_size=ig, out_group_size=og, num_codebooks=m,
                                  nbits_per_codebook=nb, dtype=d.model_dtype())

    bits = m * nb / (og * ig)
    return Logical(
        name=prefix + ".weight", shape=(out, in_features), dtype=scales_t.dtype, method="aqlm",
        parts=(codes_t.name, books_t.name, scales_t.name),
        bits=int(bits) if bits == int(bits) else bits, group_size=ig, symmetric=None,
        extra={"num_codebooks": m, "nbits_per_codebook": nb, "in_group_size": ig,
               "out_group_size": og, "label": f"aqlm-{m}x{nb}"},
        decode=decode, raw=raw)
