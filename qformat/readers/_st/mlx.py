"""MLX quantized weights (mlx / mlx-lm): ``weight`` uint32 + ``scales`` (+ ``biases``).

Affine mode packs b-bit codes (b in 2..8) as one continuous LSB-first bit stream per row over
uint32 words; W = q * scales + biases per group of ``group_size`` inputs (two float32
roundings, as ``mx.dequantize``). mxfp4/nvfp4 store E2M1 codes (8 per word) with E8M0 (groups of
32) or E4M3 (groups of 16) scales; mxfp8 stores E4M3 codes (4 per word) with E8M0 scales.
``config.json`` ``quantization`` gives group_size/bits/mode, with per-module overrides keyed by
module path. Verified against mlx 0.32.4 on CPU; ``../shared/notes/format-safetensors.md`` §2.14.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import LayoutError, UnsupportedError
from .common import (
    DETECT_ERRORS,
    E2M1,
    METADATA,
    NAMES,
    Detect,
    Logical,
    Source,
    e8m0_to_f32,
    float_of,
    grouped_mul_add,
    need_dtype,
    unpack_lsb,
)
from .lossless import bitpack_from_codes

if TYPE_CHECKING:
    from ...layouts.qtensor import QTensor

__all__ = ["detect_mlx"]

_MODES = {  # mode -> (bits, group size, scale kind)
    "mxfp4": (4, 32, "e8m0"), "nvfp4": (4, 16, "e4m3"), "mxfp8": (8, 32, "e8m0"),
}


def detect_mlx(d: Detect) -> None:
    n = 0
    for prefix in list(d.with_suffix(".scales")):
        w = d.get(prefix + ".weight")
        if w is None or w.dtype != "U32":
            continue
        biases = d.get(prefix + ".biases")
        parts = [w.name, prefix + ".scales"] + ([biases.name] if biases is not None else [])
        try:
            logical = _mlx(d, prefix, biases is not None)
        except DETECT_ERRORS as exc:
            d.fail(w.name, "mlx", parts, exc)
            continue
        d.add(logical)
        n += 1
    if n:
        d.ev.add(NAMES, f"tensor names: {n} modules with uint32 weight + scales (+ biases) "
                        "(MLX)")
        if d.ev.st_metadata.get("format") == "mlx":
            d.ev.add(METADATA, "__metadata__ format 'mlx' agrees")


def _settings(d: Detect, prefix: str) -> tuple[dict[str, Any], str]:
    q = d.ev.mlx or (d.ev.qconfig if d.ev.method is None else {})
    if not q:
        return {}, "no config"
    override = q.get(prefix)
    if isinstance(override, dict):
        merged = {k: v for k, v in q.items() if k in ("group_size", "bits", "mode")}
        merged.update(override)
        return merged, f"config.json quantization[{prefix!r}]"
    return q, "config.json quantization"


def _mlx(d: Detect, prefix: str, has_biases: bool) -> Logical:
    w = d.tensors[prefix + ".weight"]
    s = d.tensors[prefix + ".scales"]
    b = d.tensors.get(prefix + ".biases") if has_biases else None
    if len(w.shape) < 2 or s.shape[:-1] != w.shape[:-1] or (b is not None and
                                                             b.shape != s.shape):
        raise LayoutError("MLX weight/scales/biases shapes disagree", tensor=w.name,
                          field="shape", found=[list(w.shape), list(s.shape)])
    settings, source = _settings(d, prefix)
    mode = settings.get("mode", "affine") if isinstance(settings.get("mode", "affine"), str) \
        else "affine"
    words, ngroups = w.shape[-1], s.shape[-1]
    evidence = []
    if mode == "affine" or has_biases:
        if b is None:
            raise LayoutError("MLX affine weights need biases", tensor=w.name, field="parts")
        need_dtype(s, ("F16", "BF16", "F32"))
        need_dtype(b, ("F16", "BF16", "F32"))
        bits, gs = settings.get("bits"), settings.get("group_size")
        if isinstance(gs, bool) or not isinstance(gs, int) or gs <= 0:
            gs = 64
            evidence.append("group size 64 assumed (mlx default; not in a config)")
        else:
            evidence.append(f"group size {gs} from {source}")
        in_features = ngroups * gs
        if isinstance(bits, bool) or not isinstance(bits, int):
            if (words * 32) % in_features:
                raise LayoutError("cannot tell MLX bit width from shapes", tensor=w.name,
                                  field="shape", found=[words, ngroups])
            bits = words * 32 // in_features
            evidence.append(f"bits {bits} from packed width")
        else:
            evidence.append(f"bits {bits} from {source}")
        if not 1 <= bits <= 8 or -(-in_features * bits // 32) != words:
            raise LayoutError("MLX packed width does not match bits x in / 32", tensor=w.name,
                              field="shape", expected=-(-in_features * bits // 32), found=words)
        mode, kind = "affine", "affine"
    else:
        if mode not in _MODES:
            raise LayoutError("unknown MLX quantization mode", tensor=w.name, field="mode",
                              expected=["affine", *_MODES], found=mode)
        bits, gs, kind = _MODES[mode]
        need_dtype(s, ("U8", "F8_E8M0") if kind == "e8m0" else ("U8", "F8_E4M3"))
        in_features = ngroups * gs
        if in_features * bits != words * 32:
            raise LayoutError("MLX packed width does not match the mode", tensor=w.name,
                              field="shape", expected=in_features * bits // 32, found=words)
        evidence.append(f"mode {mode} from {source}")
    lead = tuple(w.shape[:-1])
    shape = (*lead, in_features)
    g = np.arange(in_features) // gs

    def decode(src: Source) -> np.ndarray:
        codes = unpack_lsb(src.array(w.name), bits, in_features)
        if kind == "affine":
            scale = float_of(src.array(s.name), s.dtype).reshape(-1, ngroups)
            bias = float_of(src.array(b.name), b.dtype).reshape(-1, ngroups)
            return grouped_mul_add(codes.reshape(-1, in_features), scale, bias,
                                   group_size=gs).reshape(shape)
        raw_s = src.array(s.name)
        scale = e8m0_to_f32(raw_s) if kind == "e8m0" else float_of(raw_s, "F8_E4M3")
        values = E2M1[codes] if bits == 4 else float_of(codes.astype(np.uint8), "F8_E4M3")
        return values * scale[..., g]

    def raw(src: Source) -> QTensor:
        if kind != "affine" or len(shape) != 2:
            raise UnsupportedError("only 2-D MLX affine weights have a bitpack form",
                                   field="mode", found=mode)
        codes = unpack_lsb(src.array(w.name), bits, in_features)
        return bitpack_from_codes(codes, src.array(s.name), s.dtype, bits=bits, group_size=gs,
                                  dtype=s.dtype, bias=src.array(b.name), zero_code=b.dtype)

    parts = (w.name, s.name) + ((b.name,) if b is not None else ())
    label = f"mlx-affine-int{bits}-g{gs}" if kind == "affine" else f"mlx-{mode}"
    return Logical(name=w.name, shape=shape, dtype=s.dtype if kind == "affine" else "BF16",
                   method="mlx", parts=parts, bits=bits, group_size=gs,
                   symmetric=kind != "affine",
                   extra={"mode": mode, "packing": "uint32 LSB-first stream along the input dim",
                          "label": label, "evidence": evidence},
                   decode=decode, raw=raw)
