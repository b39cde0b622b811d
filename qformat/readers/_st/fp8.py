"""FP8 with block scales (transformers ``quant_method: fp8``, DeepSeek-V3 style).

``weight`` float8 E4M3 [out, in] and ``weight_scale_inv`` float32 [ceil(out/bo), ceil(in/bi)];
despite its name the scale multiplies: W[o, i] = weight[o, i] * scale[o // bo, i // bi]. The
block size comes from ``weight_block_size`` (default [128, 128]). MXFP8 uses the same names with
E8M0 (uint8) scales over [1, 32] blocks. Source: ``../shared/notes/format-safetensors.md``
§2.13, transformers' ``_dequantize_fp8_weight``.
"""

from __future__ import annotations

import numpy as np

from ...errors import LayoutError
from .common import DETECT_ERRORS, NAMES, Detect, Logical, Source, float_of, need_dtype

__all__ = ["block_dequant", "detect_fp8_block"]


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def block_dequant(values: np.ndarray, scale: np.ndarray, block: tuple[int, int]) -> np.ndarray:
    """values[o, i] * scale[o // bo, i // bi] in float32 (one rounding)."""
    bo, bi = block
    out, inn = values.shape
    rows = np.repeat(scale, bo, axis=0)[:out] if bo > 1 else scale[:out]
    full = np.repeat(rows, bi, axis=1)[:, :inn] if bi > 1 else rows[:, :inn]
    return values * full


def detect_fp8_block(d: Detect) -> None:
    n = 0
    for prefix in list(d.with_suffix(".weight_scale_inv")):
        w = d.get(prefix + ".weight")
        if w is None:
            continue
        parts = [w.name, prefix + ".weight_scale_inv"]
        for extra in (".input_scale", ".activation_scale"):
            if d.get(prefix + extra) is not None:
                parts.append(prefix + extra)
        try:
            logical = _fp8(d, prefix, parts)
        except DETECT_ERRORS as exc:
            d.fail(w.name, "fp8", parts, exc)
            continue
        d.add(logical)
        n += 1
    if n:
        d.ev.add(NAMES, f"tensor names: {n} modules with weight + weight_scale_inv "
                        "(FP8 block scales)")


def _fp8(d: Detect, prefix: str, parts: list[str]) -> Logical:
    w = d.tensors[prefix + ".weight"]
    s = d.tensors[prefix + ".weight_scale_inv"]
    need_dtype(w, ("F8_E4M3", "F8_E5M2"))
    need_dtype(s, ("F32", "F16", "BF16", "U8", "F8_E8M0"))
    if len(w.shape) != 2 or len(s.shape) != 2:
        raise LayoutError("FP8 weight and weight_scale_inv must be 2-D", tensor=w.name,
                          field="shape", found=[list(w.shape), list(s.shape)])
    out, inn = w.shape
    e8m0 = s.dtype in ("U8", "F8_E8M0")
    block = d.ev.q("weight_block_size") if d.ev.is_method("fp8", "mxfp8") else None
    evidence = []
    if (isinstance(block, list) and len(block) == 2 and
            all(isinstance(b, int) and not isinstance(b, bool) and b > 0 for b in block)):
        bo, bi = block
        evidence.append(f"block {bo}x{bi} from {d.ev.qsource}")
    else:
        bo, bi = (1, 32) if e8m0 else (128, 128)
        if s.shape != (_ceil(out, bo), _ceil(inn, bi)):
            bo, bi = _ceil(out, s.shape[0]), _ceil(inn, s.shape[1])
        evidence.append(f"block {bo}x{bi} from the weight_scale_inv shape")
    if s.shape != (_ceil(out, bo), _ceil(inn, bi)):
        raise LayoutError("weight_scale_inv shape does not match the block size",
                          tensor=s.name, field="shape",
                          expected=[_ceil(out, bo), _ceil(inn, bi)], found=list(s.shape))
    fmt = "e4m3" if w.dtype == "F8_E4M3" else "e5m2"

    def decode(src: Source) -> np.ndarray:
        scale = float_of(src.array(s.name), "F8_E8M0" if e8m0 else s.dtype)
        return block_dequant(float_of(src.array(w.name), w.dtype), scale, (bo, bi))

    label = f"fp8-{fmt}-block{bo}x{bi}" if not e8m0 else f"mxfp8-block{bo}x{bi}"
    return Logical(name=w.name, shape=(out, inn), dtype=d.model_dtype(), method="fp8",
                   parts=tuple(parts), bits=8, group_size=bi, symmetric=True,
                   extra={"block_size": [bo, bi], "scale": "E8M0" if e8m0 else s.dtype,
                          "label": label, "evidence": evidence},
                   decode=decode)
