"""bitsandbytes: 4-bit NF4/FP4 (optionally double-quantized) and LLM.int8 8-bit.

4-bit modules store the flattened weight two codes per byte (first element in the high nibble),
``absmax`` per block, the 16-entry ``quant_map`` and a JSON ``quant_state`` (shape, blocksize,
dtype, nested parameters) as a uint8 tensor. Double quantization stores ``absmax`` as uint8
codes into ``nested_quant_map`` scaled by ``nested_absmax`` plus ``nested_offset``. 8-bit
modules store int8 ``weight`` [out, in] and per-row ``SCB``; W = weight * SCB / 127 (as
bitsandbytes 0.50's ``int8_vectorwise_dequant``: ``A * SCB * 7.874015718698502e-3``).
Source: ``../shared/notes/format-safetensors.md`` §2.4, bitsandbytes 0.50.2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...errors import LayoutError, UnsupportedError
from .common import (
    DETECT_ERRORS,
    NAMES,
    Detect,
    Logical,
    Source,
    float_of,
    need_dtype,
    need_shape,
    unpack_nibbles,
)
from .header import StoredTensor, loads_json_strict
from .lossless import bitpack_from_codes

if TYPE_CHECKING:
    from ...layouts.qtensor import QTensor

__all__ = ["detect_bnb"]

_QS_SUFFIX = ".quant_state.bitsandbytes__"
_MAX_QS_JSON = 64 * 1024
_BLOCKSIZES = (32, 64, 128, 256, 512, 1024, 2048, 4096)
_DTYPE_CODES = {"float16": "F16", "bfloat16": "BF16", "float32": "F32"}
#: bitsandbytes' int8 dequantization multiplies by this float (1/127 rounded as bnb writes it).
_INV127 = np.float32(7.874015718698502e-3)


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def detect_bnb(d: Detect) -> None:
    n4 = n8 = 0
    for qtype in ("nf4", "fp4"):
        for wprefix in list(d.with_suffix(_QS_SUFFIX + qtype)):
            name = wprefix  # "<module>.weight"
            parts = [p for p in (wprefix, wprefix + ".absmax", wprefix + ".quant_map",
                                 wprefix + _QS_SUFFIX + qtype, wprefix + ".nested_absmax",
                                 wprefix + ".nested_quant_map") if d.get(p) is not None]
            try:
                logical = _bnb4(d, wprefix, qtype)
            except DETECT_ERRORS as exc:
                d.fail(name, f"bnb-{qtype}", parts, exc)
                continue
            d.add(logical)
            n4 += 1
    for prefix in list(d.with_suffix(".SCB")):
        w = d.get(prefix + ".weight")
        if w is None:
            continue
        fmt = d.get(prefix + ".weight_format")
        parts = [p.name for p in (w, d.get(prefix + ".SCB"), fmt) if p is not None]
        try:
            logical = _bnb8(d, prefix, w, fmt)
        except DETECT_ERRORS as exc:
            d.fail(prefix + ".weight", "bnb-int8", parts, exc)
            continue
        d.add(logical)
        n8 += 1
    if n4:
        d.ev.add(NAMES, f"tensor names: {n4} modules with weight.quant_state.bitsandbytes__* "
                        "(bitsandbytes 4-bit)")
    if n8:
        d.ev.add(NAMES, f"tensor names: {n8} modules with weight + SCB (bitsandbytes int8)")


def _read_quant_state(d: Detect, t: StoredTensor) -> dict:
    if t.dtype != "U8" or len(t.shape) != 1:
        raise LayoutError("quant_state must be a 1-D uint8 JSON blob", tensor=t.name,
                          field="dtype", found=f"{t.dtype} {list(t.shape)}")
    raw = d.read_small(t, _MAX_QS_JSON).tobytes()
    obj = loads_json_strict(raw, "bitsandbytes quant_state")
    if not isinstance(obj, dict):
        raise LayoutError("quant_state must be a JSON object", tensor=t.name,
                          field="quant_state", found=type(obj).__name__)
    return obj


def _bnb4(d: Detect, wprefix: str, qtype: str) -> Logical:
    qs_t = d.tensors[wprefix + _QS_SUFFIX + qtype]
    qs = _read_quant_state(d, qs_t)
    weight = d.get(wprefix)
    absmax = d.get(wprefix + ".absmax")
    qmap = d.get(wprefix + ".quant_map")
    if weight is None or absmax is None or qmap is None:
        raise LayoutError("bitsandbytes 4-bit module lacks weight/absmax/quant_map",
                          tensor=wprefix, field="parts")
    if qs.get("quant_type", qtype) != qtype:
        raise LayoutError("quant_state quant_type disagrees with its tensor name",
                          tensor=qs_t.name, field="quant_type", expected=qtype,
                          found=qs.get("quant_type"))
    shape = qs.get("shape")
    if (not isinstance(shape, list) or not shape or
            not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in shape)):
        raise LayoutError("quant_state shape must be a list of non-negative integers",
                          tensor=qs_t.name, field="shape", found=shape)
    numel = 1
    for x in shape:
        numel *= x
    blocksize = qs.get("blocksize")
    if blocksize not in _BLOCKSIZES:
        raise LayoutError("invalid blocksize", tensor=qs_t.name, field="blocksize",
                          expected=list(_BLOCKSIZES), found=blocksize)
    if weight.nbytes != _ceil(numel, 2):
        raise LayoutError("packed weight size does not match the quant_state shape",
                          tensor=weight.name, field="shape",
                          expected=f"{_ceil(numel, 2)} bytes", found=f"{weight.nbytes} bytes")
    need_dtype(qmap, ("F32",))
    need_shape(qmap, (16,))
    nblocks = _ceil(numel, blocksize)
    nested = d.get(wprefix + ".nested_absmax")
    nested_map = d.get(wprefix + ".nested_quant_map")
    parts = [weight.name, absmax.name, qmap.name, qs_t.name]
    extra = {"quant_type": qtype, "blocksize": blocksize, "double_quant": nested is not None,
             "storage": weight.dtype, "packing": "flattened, 2 per byte, high nibble first"}
    if nested is None:
        need_dtype(absmax, ("F32",))
        need_shape(absmax, (nblocks,))
        nested_bs = 0
        offset = np.float32(0)
    else:
        if nested_map is None:
            raise LayoutError("double quant lacks nested_quant_map", tensor=wprefix,
                              field="parts")
        need_dtype(absmax, ("U8",))
        need_shape(absmax, (nblocks,))
        need_dtype(nested_map, ("F32",))
        need_shape(nested_map, (256,))
        need_dtype(nested, ("F32",))
        nested_bs = qs.get("nested_blocksize")
        if nested_bs not in _BLOCKSIZES:
            raise LayoutError("invalid nested_blocksize", tensor=qs_t.name,
                              field="nested_blocksize", expected=list(_BLOCKSIZES),
                              found=nested_bs)
        need_shape(nested, (_ceil(nblocks, nested_bs),))
        off = qs.get("nested_offset")
        if isinstance(off, bool) or not isinstance(off, int | float):
            raise LayoutError("nested_offset must be a number", tensor=qs_t.name,
                              field="nested_offset", found=off)
        offset = np.float32(off)
        parts += [nested.name, nested_map.name]
        extra["nested_blocksize"] = nested_bs
    dtype = _DTYPE_CODES.get(str(qs.get("dtype", "")).replace("torch.", ""), "F32")
    extra["label"] = f"bnb-{qtype}" + ("-dq" if nested is not None else "")
    extra["evidence"] = [f"quant_state JSON: {qtype}, blocksize {blocksize}, shape {shape}"]

    def table_of(src: Source) -> np.ndarray:
        table = float_of(src.array(qmap.name), "F32").copy()
        if qtype == "fp4":
            # bitsandbytes' FP4 kernels take the sign from bit 3 of the code, so code 8
            # decodes to -0.0 although the stored quant_map holds +0.0 there.
            table[8:] = np.copysign(table[8:], np.float32(-1.0))
        return table

    def absmax_of(src: Source) -> np.ndarray:
        if nested is None:
            return float_of(src.array(absmax.name), "F32")
        nm = float_of(src.array(nested_map.name), "F32")
        na = float_of(src.array(nested.name), "F32")
        blocks = np.arange(nblocks) // nested_bs
        return nm[src.array(absmax.name)] * na[blocks] + offset

    def raw(src: Source) -> QTensor:
        if len(shape) != 2 or shape[1] % blocksize:
            raise UnsupportedError("bitsandbytes blocks cross rows: no bitpack form",
                                   field="blocksize", found=blocksize)
        codes = unpack_nibbles(src.array(weight.name), low_first=False)[:numel]
        rows, cols = shape
        return bitpack_from_codes(codes.reshape(rows, cols),
                                  absmax_of(src).reshape(rows, cols // blocksize), "F32",
                                  bits=4, group_size=blocksize, dtype=dtype,
                                  levels=table_of(src), level_name=f"bitsandbytes-{qtype}")

    def decode(src: Source) -> np.ndarray:
        codes = unpack_nibbles(src.array(weight.name), low_first=False)[:numel]
        table = table_of(src)
        if nested is None:
            scale = float_of(src.array(absmax.name), "F32")
        else:
            nm = float_of(src.array(nested_map.name), "F32")
            na = float_of(src.array(nested.name), "F32")
            blocks = np.arange(nblocks) // nested_bs
            scale = nm[src.array(absmax.name)] * na[blocks]
            scale = scale + offset
        values = table[codes]
        if numel % blocksize == 0:
            values = values.reshape(-1, blocksize)
            values *= scale[:, None]
        else:
            values *= np.repeat(scale, blocksize)[:numel]
        return values.reshape(shape)

    return Logical(name=wprefix, shape=tuple(shape), dtype=dtype, method=f"bnb-{qtype}",
                   parts=tuple(parts), bits=4, group_size=blocksize, symmetric=True,
                   extra=extra, decode=decode, raw=raw)


def _bnb8(d: Detect, prefix: str, w: StoredTensor, fmt: StoredTensor | None) -> Logical:
    scb = d.tensors[prefix + ".SCB"]
    need_dtype(w, ("I8",))
    if len(w.shape) != 2:
        raise LayoutError("int8 weight must be 2-D", tensor=w.name, field="shape",
                          found=list(w.shape))
    out, in_features = w.shape
    need_dtype(scb, ("F32", "F16", "BF16"))
    need_shape(scb, (out,))
    parts = [w.name, scb.name] + ([fmt.name] if fmt is not None else [])
    if fmt is not None and (fmt.numel != 1 or fmt.dtype not in ("U8", "I8", "I32", "I64")):
        raise LayoutError("weight_format must be an integer scalar", tensor=fmt.name,
                          field="dtype", found=f"{fmt.dtype} {list(fmt.shape)}")

    def decode(src: Source) -> np.ndarray:
        if fmt is not None and int(np.asarray(src.array(fmt.name)).reshape(-1)[0]) != 0:
            raise LayoutError("only row-major int8 weights (weight_format 0) are defined",
                              tensor=fmt.name, field="weight_format",
                              found=int(np.asarray(src.array(fmt.name)).reshape(-1)[0]))
        a = src.array(w.name).astype(np.float32)
        s = float_of(src.array(scb.name), scb.dtype)
        return (a * s[:, None]) * _INV127

    return Logical(name=prefix + ".weight", shape=(out, in_features), dtype=d.model_dtype(),
                   method="bnb-int8", parts=tuple(parts), bits=8, group_size=-1,
                   symmetric=True,
                   extra={"label": "bnb-int8", "scale": "SCB per row, W = weight * SCB / 127"},
                   decode=decode)
