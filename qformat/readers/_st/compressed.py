"""compressed-tensors (llm-compressor): pack-quantized, int/float/naive-quantized, nvfp4/mxfp4
pack-quantized, sparse-24-bitmask and marlin-24; also fbgemm_fp8 and mxfp8 ``weight_scale``.

* pack-quantized: ``weight_packed`` int32 [out, words], ``weight_scale`` [out, G],
  ``weight_shape`` int64 [2]; stored code = q + 2^(b-1). compressed-tensors >= 0.18 packs one
  dense LSB-first bit stream per row (ceil(in*b/32) words); <= 0.17 packed floor(32/b) codes per
  word leaving the top bits unused. Asymmetric zero points are packed the same way along dim 0;
  act-order ``weight_g_idx`` maps inputs to groups. W = (q - zp) * scale.
* int-/float-/naive-quantized: ``weight`` int8 or float8 with ``weight_scale`` per tensor,
  channel, group or 2-D block (+ ``weight_zero_point``).
* nvfp4: E2M1 codes two per byte (low nibble first), E4M3 ``weight_scale`` per 16 inputs and
  ``weight_global_scale``: W = e2m1 * (scale / global_scale). mxfp4: E8M0 scale per 32 inputs.
* sparse-24-bitmask: ``compressed`` kept values row-major, ``bitmask`` packbits little-endian,
  ``shape``; densified, then dequantized with the module's quantization parameters.
Sources: ``../shared/notes/format-safetensors.md`` §2.7-2.8; compressed-tensors 0.12 (legacy
packing, sparse and marlin-24 compressors) and 0.20 (dense packing, nvfp4, mxfp4) source.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import LayoutError, UnsupportedError
from .common import (
    DETECT_ERRORS,
    E2M1,
    NAMES,
    Detect,
    Logical,
    Source,
    e8m0_to_f32,
    float_of,
    grouped_sub_mul,
    need_dtype,
    shape2,
    unpack_lsb,
    unpack_nibbles,
)
from .fp8 import block_dequant
from .header import StoredTensor
from .lossless import bitpack_from_codes

if TYPE_CHECKING:
    from ...layouts.qtensor import QTensor

__all__ = ["detect_compressed", "detect_scaled_weight"]

_FLOATS = ("F16", "BF16", "F32")
_ACT_PARAMS = ("input_scale", "input_zero_point", "input_global_scale", "output_scale",
               "output_zero_point")
#: a quantified group that itself contains a quantifier or alternation: possible ReDoS
_RISKY_REGEX = re.compile(r"\((?:[^()\\]|\\.)*(?:[+*?}]|\|)(?:[^()\\]|\\.)*\)\s*[+*{?]")


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


# -- configuration ---------------------------------------------------------------------------
def _target_match(target: str, module: str) -> int:
    """0 no match, 3 exact name, 2 regex, 1 class name (we cannot see module classes)."""
    if target.startswith("re:"):
        pattern = target[3:]
        if len(pattern) > 512 or _RISKY_REGEX.search(pattern):
            return 0
        try:
            return 2 if re.match(pattern, module) else 0
        except re.error:
            return 0
    if target == module:
        return 3
    if "." not in target and target[:1].isupper():
        return 1  # "Linear", "Embedding"...: matches any module that carries quantized parts
    return 0


def _ct_scheme(d: Detect, module: str) -> tuple[str | None, dict[str, Any], str]:
    """(format, weights args, where from) for a module, from quantization_config."""
    if not d.ev.is_method("compressed-tensors"):
        return None, {}, "tensor names and shapes (no compressed-tensors config)"
    qc = d.ev.qconfig
    groups = qc.get("config_groups")
    best: tuple[int, str, dict[str, Any]] | None = None
    if isinstance(groups, dict):
        for gname, group in groups.items():
            if not isinstance(group, dict):
                continue
            targets = group.get("targets") or []
            if not isinstance(targets, list):
                continue
            score = max((_target_match(t, module) for t in targets if isinstance(t, str)),
                        default=0)
            if score and (best is None or score > best[0]):
                best = (score, str(gname), group)
    if best is None:
        return (qc.get("format") if isinstance(qc.get("format"), str) else None), {}, \
            "quantization_config (no matching config group)"
    _, gname, group = best
    fmt = group.get("format") if isinstance(group.get("format"), str) else qc.get("format")
    weights = group.get("weights") if isinstance(group.get("weights"), dict) else {}
    return (fmt if isinstance(fmt, str) else None), weights, \
        f"quantization_config config_groups[{gname!r}]"


def _version_dense(d: Detect) -> bool | None:
    """True if the config's compressed-tensors version packs dense streams (>= 0.18)."""
    v = d.ev.q("version") if d.ev.is_method("compressed-tensors") else None
    if not isinstance(v, str):
        return None
    m = re.match(r"^(\d+)\.(\d+)", v)
    if not m:
        return None
    return (int(m.group(1)), int(m.group(2))) >= (0, 18)


def _args_int(args: dict[str, Any], key: str) -> int | None:
    v = args.get(key)
    return v if isinstance(v, int) and not isinstance(v, bool) else None


# -- scale application ------------------------------------------------------------------------
class _Scaling:
    """How one scale tensor maps onto [out, in]: tensor, channel, group or block."""

    def __init__(self, scale: StoredTensor, out: int, inn: int, args: dict[str, Any],
                 g_idx: StoredTensor | None, evidence: list[str]) -> None:
        self.scale = scale
        self.g_idx = g_idx
        strategy = args.get("strategy") if isinstance(args.get("strategy"), str) else None
        shape = scale.shape
        n = scale.numel
        if strategy is None:
            if n == 1:
                strategy = "tensor"
            elif (len(shape) == 2 and shape == (out, 1)) or shape == (out,):
                strategy = "channel"
            elif len(shape) == 2 and shape[0] == out:
                strategy = "group"
            elif len(shape) == 2:
                strategy = "block"
            else:
                raise LayoutError("cannot tell the scale strategy", tensor=scale.name,
                                  field="shape", found=list(shape))
            evidence.append(f"strategy {strategy} from the weight_scale shape {list(shape)}")
        self.strategy = strategy
        self.group_size: int | None = None
        self.block: tuple[int, int] | None = None
        if strategy == "tensor":
            if n != 1:
                raise LayoutError("per-tensor scale must hold one value", tensor=scale.name,
                                  field="shape", found=list(shape))
        elif strategy in ("channel", "token"):
            if n != out:
                raise LayoutError("per-channel scale must hold one value per row",
                                  tensor=scale.name, field="shape", expected=[out, 1],
                                  found=list(shape))
            self.group_size = -1
        elif strategy in ("group", "tensor_group"):
            if len(shape) != 2 or shape[0] != out:
                raise LayoutError("group scale must be [out, groups]", tensor=scale.name,
                                  field="shape", found=list(shape))
            gs = _args_int(args, "group_size")
            groups = shape[1]
            if gs is None:
                if groups < 1 or inn % groups:
                    raise LayoutError("cannot derive group size", tensor=scale.name,
                                      field="shape", found=list(shape))
                gs = inn // groups
            if gs <= 0 or (g_idx is None and _ceil(inn, gs) != groups):
                raise LayoutError("scale columns do not match ceil(in / group_size)",
                                  tensor=scale.name, field="shape",
                                  expected=[out, _ceil(inn, gs) if gs > 0 else "?"],
                                  found=list(shape))
            self.group_size = gs
            self.groups = groups
        elif strategy == "block":
            bs = args.get("block_structure")
            if isinstance(bs, list) and len(bs) == 2 and all(
                    isinstance(b, int) and not isinstance(b, bool) and b > 0 for b in bs):
                bo, bi = bs
            elif len(shape) == 2 and shape[0] and shape[1]:
                bo, bi = _ceil(out, shape[0]), _ceil(inn, shape[1])
            else:
                raise LayoutError("block scale must be 2-D", tensor=scale.name, field="shape",
                                  found=list(shape))
            if tuple(shape) != (_ceil(out, bo), _ceil(inn, bi)):
                raise LayoutError("block scale shape does not match the block structure",
                                  tensor=scale.name, field="shape",
                                  expected=[_ceil(out, bo), _ceil(inn, bi)], found=list(shape))
            self.block = (bo, bi)
            self.group_size = bi
        else:
            raise UnsupportedError("unsupported weight strategy", tensor=scale.name,
                                   field="strategy", found=strategy)

    def columns(self, src: Source, inn: int) -> np.ndarray:
        if self.g_idx is not None:
            idx = np.asarray(src.array(self.g_idx.name)).astype(np.int64)
            if idx.shape != (inn,) or (idx.size and (idx.min() < 0 or
                                                     idx.max() >= self.groups)):
                raise LayoutError("weight_g_idx out of range", tensor=self.g_idx.name,
                                  field="g_idx", expected=f"{inn} values in 0..{self.groups - 1}")
            return idx.astype(np.intp)
        return np.arange(inn) // self.group_size

    def apply(self, src: Source, values: np.ndarray, zero: np.ndarray | None,
              scale_code: str | None = None) -> np.ndarray:
        """(values - zero) * scale, float32, broadcast per strategy."""
        out, inn = values.shape
        s = float_of(src.array(self.scale.name), scale_code or self.scale.dtype)
        if self.strategy == "tensor":
            s2 = s.reshape(1, 1)
        elif self.strategy in ("channel", "token"):
            s2 = s.reshape(out, 1)
        elif self.strategy in ("group", "tensor_group"):
            cols = self.columns(src, inn)
            s2 = s.reshape(out, -1)[:, cols]
            if zero is not None:
                zero = zero.reshape(out, -1)[:, cols]
        else:
            assert self.block is not None
            v = values if zero is None else values - block_dequant(
                np.ones_like(values), zero.reshape(s.shape).astype(np.float32), self.block)
            return block_dequant(v, s.reshape(s.shape), self.block)
        if zero is not None:
            values = values - zero.reshape(zero.shape if zero.ndim == 2 else (-1, 1)
                                           ).astype(np.float32)
        return values * s2


# -- detection -------------------------------------------------------------------------------
def detect_compressed(d: Detect) -> None:
    counts: dict[str, int] = {}
    for prefix in list(d.with_suffix(".bitmask")):
        if d.get(prefix + ".compressed") is None or d.get(prefix + ".shape") is None:
            continue
        _run(d, prefix, "sparse-24-bitmask", counts)
    for prefix in list(d.with_suffix(".weight_packed")):
        _run(d, prefix, "packed", counts)
    for fmt, n in counts.items():
        d.ev.add(NAMES, f"tensor names: {n} modules in compressed-tensors {fmt} form")


def detect_scaled_weight(d: Detect) -> None:
    """``weight`` (int8/float8) + ``weight_scale``: compressed-tensors int/float/naive-quantized,
    fbgemm_fp8, or MXFP8 (E8M0 scales). Runs last: the names are the most generic."""
    counts: dict[str, int] = {}
    for prefix in list(d.with_suffix(".weight_scale")):
        w = d.get(prefix + ".weight")
        if w is None or w.dtype not in ("I8", "U8", "F8_E4M3", "F8_E5M2"):
            continue
        _run(d, prefix, "scaled", counts)
    for fmt, n in counts.items():
        d.ev.add(NAMES, f"tensor names: {n} modules with weight + weight_scale ({fmt})")


def _run(d: Detect, prefix: str, kind: str, counts: dict[str, int]) -> None:
    candidates = {
        "sparse-24-bitmask": ("compressed", "bitmask", "shape", "weight_scale",
                              "weight_zero_point", "weight_global_scale"),
        "packed": ("weight_packed", "weight_scale", "weight_shape", "weight_zero_point",
                   "weight_g_idx", "weight_global_scale", "scale_packed", "meta"),
        "scaled": ("weight", "weight_scale", "weight_zero_point", "weight_g_idx",
                   "weight_global_scale"),
    }[kind] + _ACT_PARAMS
    parts = [prefix + "." + k for k in candidates if d.get(prefix + "." + k) is not None]
    name = prefix + ".weight"
    fmt, args, source = _ct_scheme(d, prefix)
    method = "compressed-tensors"
    try:
        if kind == "sparse-24-bitmask":
            logical = _sparse24(d, prefix, parts, args, source)
        elif kind == "packed":
            logical = _packed(d, prefix, parts, fmt, args, source)
        else:
            if d.ev.is_method("fbgemm_fp8", "fp8", "mxfp8"):
                method = "fp8"
            logical = _scaled(d, prefix, parts, fmt, args, source, method)
    except DETECT_ERRORS as exc:
        d.fail(name, method, parts, exc)
        return
    d.add(logical)
    key = str(logical.extra.get("format", kind))
    counts[key] = counts.get(key, 0) + 1


def _zero_point(d: Detect, prefix: str) -> StoredTensor | None:
    return d.get(prefix + ".weight_zero_point")


def _packed(d: Detect, prefix: str, parts: list[str], fmt: str | None, args: dict[str, Any],
            source: str) -> Logical:
    packed = d.tensors[prefix + ".weight_packed"]
    if d.get(prefix + ".scale_packed") is not None and d.get(prefix + ".meta") is not None:
        from .marlin24 import marlin24_logical

        return marlin24_logical(d, prefix, parts, args, source)
    if packed.dtype == "U8":
        return _fp4(d, prefix, parts, fmt, args, source)
    need_dtype(packed, ("I32", "U32"))
    out, words = shape2(packed, "weight_packed")
    shape_t = d.get(prefix + ".weight_shape")
    scale_t = d.get(prefix + ".weight_scale")
    if shape_t is None or scale_t is None:
        raise LayoutError("pack-quantized module needs weight_shape and weight_scale",
                          tensor=packed.name, field="parts")
    dims = [int(x) for x in d.read_small(shape_t, 128).reshape(-1)]
    if len(dims) != 2 or dims[0] != out or dims[1] < 0:
        raise LayoutError("weight_shape must be [out, in] matching weight_packed rows",
                          tensor=shape_t.name, field="weight_shape", expected=[out, "in"],
                          found=dims)
    inn = dims[1]
    evidence = [f"scheme from {source}"]
    bits = _args_int(args, "num_bits")
    dense_cfg = _version_dense(d)
    fits = {b: (words == _ceil(inn * b, 32), words == _ceil(inn, 32 // b)) for b in range(1, 9)}
    if bits is None:
        matches = [b for b, (dense, legacy) in fits.items() if dense or legacy]
        if len(matches) != 1:
            raise LayoutError("cannot tell pack-quantized bit width from shapes",
                              tensor=packed.name, field="shape", found=[out, words, inn])
        bits = matches[0]
        evidence.append(f"bits {bits} from packed width {words} for in={inn}")
    if not 1 <= bits <= 8:
        raise LayoutError("num_bits out of range", tensor=packed.name, field="num_bits",
                          expected="1..8", found=bits)
    dense_fit, legacy_fit = fits[bits]
    if dense_fit and legacy_fit:
        dense = True  # same layout when 32 % bits == 0
    elif dense_fit or legacy_fit:
        dense = dense_fit
        if dense_cfg is not None and dense_cfg != dense:
            evidence.append("packed width overrides the config version's packing")
    else:
        raise LayoutError("weight_packed width fits neither packing", tensor=packed.name,
                          field="shape", expected=[_ceil(inn * bits, 32),
                                                   _ceil(inn, 32 // bits)], found=words)
    packing = "dense LSB-first stream (>= 0.18)" if dense else \
        f"{32 // bits} codes per word (<= 0.17)"
    if 32 % bits:
        evidence.append(f"{bits}-bit packing: {packing}")
    g_idx = d.get(prefix + ".weight_g_idx")
    scaling = _Scaling(scale_t, out, inn, args, g_idx, evidence)
    zp_t = _zero_point(d, prefix)
    zp_rows = None
    if zp_t is not None:
        need_dtype(zp_t, ("I32", "U32", "I8"))
        ncols = scale_t.shape[1] if len(scale_t.shape) == 2 else 1
        zp_rows = _ceil(out * bits, 32) if dense else _ceil(out, 32 // bits)
        if zp_t.dtype != "I8" and tuple(zp_t.shape) != (zp_rows, ncols):
            raise LayoutError("packed weight_zero_point shape mismatch", tensor=zp_t.name,
                              field="shape", expected=[zp_rows, ncols], found=list(zp_t.shape))
    offset = 1 << (bits - 1)
    sym = args.get("symmetric") if isinstance(args.get("symmetric"), bool) else zp_t is None

    def unpack(words_arr: np.ndarray, count: int) -> np.ndarray:
        if dense:
            return unpack_lsb(words_arr, bits, count)
        per = 32 // bits
        w = np.ascontiguousarray(words_arr).view(np.uint32)
        shifts = np.arange(per, dtype=np.uint32) * bits
        vals = (w[..., None] >> shifts) & np.uint32((1 << bits) - 1)
        return vals.reshape(*w.shape[:-1], -1)[..., :count].astype(np.uint8)

    def decode(src: Source) -> np.ndarray:
        codes = unpack(src.array(packed.name), inn)
        zero = None
        if zp_t is not None:
            raw = src.array(zp_t.name)
            if zp_t.dtype == "I8":
                zero = raw.astype(np.float32)
            else:
                zero = unpack(np.ascontiguousarray(raw.T), out).T.astype(np.float32) - offset
        if scaling.strategy in ("group", "channel"):
            scale = float_of(src.array(scale_t.name), scale_t.dtype).reshape(out, -1)
            cols = scaling.columns(src, inn) if g_idx is not None else None
            gs = scaling.group_size if scaling.strategy == "group" else inn
            return grouped_sub_mul(codes, scale, group_size=gs, offset=offset,
                                   zero=None if zero is None else zero.reshape(out, -1),
                                   cols=cols)
        return scaling.apply(src, codes.astype(np.float32) - offset, zero)

    def raw(src: Source) -> QTensor:
        codes = unpack(src.array(packed.name), inn)
        stored = src.array(scale_t.name)
        if scaling.strategy == "tensor":  # one scale: repeated per row, exactly
            stored, gs_raw = np.repeat(np.asarray(stored).reshape(1, 1), out, axis=0), -1
        elif scaling.strategy == "channel":
            stored, gs_raw = np.asarray(stored).reshape(out, 1), -1
        elif scaling.strategy == "group":
            gs_raw = scaling.group_size
        else:
            raise UnsupportedError("no bitpack form for this strategy", field="strategy",
                                   found=scaling.strategy)
        zeros = None
        if zp_t is not None:
            raw_zp = src.array(zp_t.name)
            zeros = (raw_zp.astype(np.int16) + offset if zp_t.dtype == "I8" else
                     unpack(np.ascontiguousarray(raw_zp.T), out).T).reshape(out, -1)
        # symmetric: no zeros, the layout's "none" mode subtracts 2**(bits-1) itself
        cols = scaling.columns(src, inn) if g_idx is not None else None
        return bitpack_from_codes(codes, stored, scale_t.dtype, bits=bits, group_size=gs_raw,
                                  dtype=scale_t.dtype, zeros=zeros, g_idx=cols)

    gs = scaling.group_size
    label = (f"compressed-tensors-pack-quantized-int{bits}-"
             + (f"g{gs}" if gs and gs > 0 else scaling.strategy))
    return Logical(
        name=prefix + ".weight", shape=(out, inn), dtype=scale_t.dtype,
        method="compressed-tensors", parts=tuple(parts), bits=bits,
        group_size=None if scaling.strategy == "tensor" else gs, symmetric=sym,
        extra={"format": "pack-quantized", "packing": packing, "strategy": scaling.strategy,
               "act_order": g_idx is not None or None, "label": label, "evidence": evidence},
        decode=decode, raw=raw)


def _fp4(d: Detect, prefix: str, parts: list[str], fmt: str | None, args: dict[str, Any],
         source: str) -> Logical:
    packed = d.tensors[prefix + ".weight_packed"]
    scale_t = d.get(prefix + ".weight_scale")
    if scale_t is None:
        raise LayoutError("FP4 module needs weight_scale", tensor=packed.name, field="parts")
    out, half = shape2(packed, "weight_packed")
    inn = half * 2
    gscale = d.get(prefix + ".weight_global_scale")
    nv = gscale is not None or (fmt == "nvfp4-pack-quantized")
    gs = 16 if nv else 32
    if scale_t.shape != (out, _ceil(inn, gs)):
        raise LayoutError("FP4 weight_scale shape mismatch", tensor=scale_t.name,
                          field="shape", expected=[out, _ceil(inn, gs)],
                          found=list(scale_t.shape))
    if nv:
        need_dtype(scale_t, ("F8_E4M3", *_FLOATS))
        if gscale is None or gscale.numel != 1:
            raise LayoutError("nvfp4 needs a one-element weight_global_scale", tensor=prefix,
                              field="weight_global_scale")
        need_dtype(gscale, _FLOATS)
    else:
        need_dtype(scale_t, ("U8", "F8_E8M0"))
    g = np.arange(inn) // gs

    def decode(src: Source) -> np.ndarray:
        codes = unpack_nibbles(src.array(packed.name), low_first=True).reshape(out, inn)
        values = E2M1[codes]
        if nv:
            s = float_of(src.array(scale_t.name), scale_t.dtype)
            s = s / float_of(src.array(gscale.name), gscale.dtype).reshape(())
        else:
            s = e8m0_to_f32(src.array(scale_t.name))
        return values * s[:, g]

    fmt_name = "nvfp4-pack-quantized" if nv else "mxfp4-pack-quantized"
    return Logical(
        name=prefix + ".weight", shape=(out, inn), dtype=d.model_dtype(),
        method="compressed-tensors", parts=tuple(parts), bits=4, group_size=gs,
        symmetric=True,
        extra={"format": fmt_name, "packing": "E2M1, 2 per byte, low nibble first",
               "scale": "E4M3 / global scale" if nv else "E8M0",
               "label": f"compressed-tensors-{fmt_name}", "evidence": [f"scheme from {source}"]},
        decode=decode)


def _scaled(d: Detect, prefix: str, parts: list[str], fmt: str | None, args: dict[str, Any],
            source: str, method: str) -> Logical:
    w = d.tensors[prefix + ".weight"]
    scale_t = d.tensors[prefix + ".weight_scale"]
    out, inn = shape2(w, "weight")
    evidence = [f"scheme from {source}" if method != "fp8" else
                f"quant_method {d.ev.method!r} from {d.ev.qsource}"]
    e8m0 = scale_t.dtype in ("U8", "F8_E8M0")
    if e8m0:
        args = {"strategy": "group", "group_size": 32, **{k: v for k, v in args.items()
                                                          if k == "group_size"}}
    else:
        need_dtype(scale_t, _FLOATS)
    g_idx = d.get(prefix + ".weight_g_idx")
    scaling = _Scaling(scale_t, out, inn, args, g_idx, evidence)
    zp_t = _zero_point(d, prefix)
    if fmt is None:
        fmt = ("float-quantized" if w.dtype.startswith("F8") else "int-quantized") \
            if method != "fp8" else "fbgemm_fp8"
    kind = "float" if w.dtype.startswith("F8") else "int"
    bits = _args_int(args, "num_bits") or 8
    if kind == "int" and w.dtype == "U8" and zp_t is None:
        raise LayoutError("uint8 weight with weight_scale but no zero point", tensor=w.name,
                          field="dtype", found=w.dtype)

    def decode(src: Source) -> np.ndarray:
        values = float_of(src.array(w.name), w.dtype)
        zero = None if zp_t is None else float_of(src.array(zp_t.name), zp_t.dtype)
        return scaling.apply(src, values, zero, "F8_E8M0" if e8m0 else None)

    gs = scaling.group_size
    tag = ("fp8" if w.dtype == "F8_E4M3" else "fp8-e5m2") if kind == "float" else f"int{bits}"
    if e8m0:
        tag = "mxfp8"
    label = f"{'compressed-tensors-' + fmt if method != 'fp8' else fmt}-{tag}-" + (
        f"g{gs}" if gs and gs > 0 and scaling.strategy == "group" else scaling.strategy)
    return Logical(
        name=w.name, shape=(out, inn), dtype=d.model_dtype() if kind == "float" else
        scale_t.dtype if scale_t.dtype in _FLOATS else d.model_dtype(),
        method=method, parts=tuple(parts), bits=bits,
        group_size=None if scaling.strategy == "tensor" else gs,
        symmetric=zp_t is None,
        extra={"format": fmt, "strategy": scaling.strategy, "label": label,
               "evidence": evidence, **({"block_size": list(scaling.block)}
                                        if scaling.block else {})},
        decode=decode)


def _sparse24(d: Detect, prefix: str, parts: list[str], args: dict[str, Any],
              source: str) -> Logical:
    comp = d.tensors[prefix + ".compressed"]
    mask_t = d.tensors[prefix + ".bitmask"]
    shape_t = d.tensors[prefix + ".shape"]
    dims = [int(x) for x in d.read_small(shape_t, 128).reshape(-1)]
    if len(dims) != 2 or min(dims) < 0:
        raise LayoutError("sparse shape must be [out, in]", tensor=shape_t.name,
                          field="shape", found=dims)
    out, inn = dims
    need_dtype(mask_t, ("U8", "I8"))
    if mask_t.shape != (out, _ceil(inn, 8)):
        raise LayoutError("bitmask must be [out, ceil(in/8)]", tensor=mask_t.name,
                          field="shape", expected=[out, _ceil(inn, 8)], found=list(mask_t.shape))
    if comp.shape != (out, inn // 2) or inn % 4:
        raise LayoutError("2:4 compressed values must be [out, in/2]", tensor=comp.name,
                          field="shape", expected=[out, inn // 2], found=list(comp.shape))
    scale_t = d.get(prefix + ".weight_scale")
    evidence = [f"sparsity: 2:4 bitmask; quantization from {source}"]
    scaling = _Scaling(scale_t, out, inn, args, None, evidence) if scale_t is not None else None
    zp_t = _zero_point(d, prefix)
    sparsity = d.ev.q("sparsity_config") if d.ev.is_method("compressed-tensors") else None
    if isinstance(sparsity, dict) and isinstance(sparsity.get("format"), str):
        evidence.append(f"sparsity_config format {sparsity['format']!r}")

    def decode(src: Source) -> np.ndarray:
        bits = np.unpackbits(np.asarray(src.array(mask_t.name)).view(np.uint8), axis=1,
                             bitorder="little")[:, :inn].astype(bool)
        kept = int(bits.sum())
        if kept != comp.numel:
            raise LayoutError("bitmask keeps a different number of values than stored",
                              tensor=mask_t.name, field="bitmask", expected=comp.numel,
                              found=kept)
        dense = np.zeros((out, inn), dtype=np.float32)
        dense[bits] = float_of(src.array(comp.name), comp.dtype).reshape(-1)
        if scaling is None:
            return dense
        zero = None if zp_t is None else float_of(src.array(zp_t.name), zp_t.dtype)
        return scaling.apply(src, dense, zero)

    if scaling is None:
        bits_code = {"F16": 16, "BF16": 16, "F32": 32}.get(comp.dtype, 8)
        label = "compressed-tensors-sparse-24-bitmask"
    else:
        bits_code = 8
        label = f"compressed-tensors-sparse-24-bitmask-{comp.dtype.lower()}"
    return Logical(
        name=prefix + ".weight", shape=(out, inn),
        dtype=comp.dtype if comp.dtype in _FLOATS else d.model_dtype(),
        method="compressed-tensors", parts=tuple(parts), bits=bits_code,
        group_size=None if scaling is None or scaling.strategy == "tensor" else
        scaling.group_size, symmetric=zp_t is None if scaling is not None else None,
        extra={"format": "sparse-24-bitmask", "sparsity": "2:4",
               "values_dtype": comp.dtype, "label": label, "evidence": evidence},
        decode=decode)
