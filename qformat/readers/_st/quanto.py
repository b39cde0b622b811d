"""optimum-quanto: ``weight._data`` (+ ``._data._data`` when bit-packed), ``weight._scale``,
``weight._shift``, and per-module ``input_scale``/``output_scale``.

qint2/qint4 weights are grouped along axis 0 as ``W.reshape(G, gs)`` and bit-packed: grouped
row r sits in packed row ``r % R`` at bits ``b * (r // R)`` (R = ceil(G * b / 8); low bits hold
the first block of rows). W = _scale * q - _shift (a float shift is pre-scaled; an integer
shift is a zero point subtracted first). qint8/qfloat8 store ``_data`` [out, in] with
``_scale`` [out, 1]: W = _scale * _data. The original [out, in] of a grouped weight is not in
the file; it comes from the module's bias or config.json. quanto_qmap.json names the qtype.
Source: ``../shared/notes/format-safetensors.md`` §2.6, optimum-quanto 0.2.7.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...errors import LayoutError, UnsupportedError
from .common import (
    CONFIG,
    DETECT_ERRORS,
    NAMES,
    Detect,
    Logical,
    Source,
    float_of,
    linear_shape_hint,
    need_dtype,
)
from .header import StoredTensor
from .lossless import bitpack_from_codes

if TYPE_CHECKING:
    from ...layouts.qtensor import QTensor

__all__ = ["detect_quanto"]

_QTYPE_BITS = {"qint2": 2, "qint4": 4, "qint8": 8, "qfloat8": 8, "qfloat8_e4m3fn": 8,
               "qfloat8_e5m2": 8, "qfloat8_e4m3fnuz": 8}


def detect_quanto(d: Detect) -> None:
    n = 0
    for wprefix in list(d.with_suffix("._scale")):
        if not wprefix.endswith(".weight"):
            continue
        prefix = wprefix[: -len(".weight")]
        packed = d.get(wprefix + "._data._data")
        data = packed if packed is not None else d.get(wprefix + "._data")
        if data is None:
            continue
        extra_names = [wprefix + "._shift", prefix + ".input_scale", prefix + ".output_scale"]
        parts = [data.name, wprefix + "._scale"] + [p for p in extra_names
                                                    if d.get(p) is not None]
        try:
            logical = _quanto(d, prefix, data, packed is not None, parts)
        except DETECT_ERRORS as exc:
            d.fail(wprefix, "quanto", parts, exc)
            continue
        d.add(logical)
        n += 1
    if n:
        d.ev.add(NAMES, f"tensor names: {n} modules with weight._data + weight._scale "
                        "(optimum-quanto)")


def _qtype(d: Detect, prefix: str) -> str | None:
    entry = d.ev.qmap.get(prefix)
    if isinstance(entry, dict) and isinstance(entry.get("weights"), str):
        return entry["weights"]
    return None


def _quanto(d: Detect, prefix: str, data: StoredTensor, packed: bool,
            parts: list[str]) -> Logical:
    wprefix = prefix + ".weight"
    scale_t = d.tensors[wprefix + "._scale"]
    shift_t = d.get(wprefix + "._shift")
    need_dtype(scale_t, ("F16", "BF16", "F32"))
    qtype = _qtype(d, prefix)
    evidence = []
    if qtype is not None:
        evidence.append(f"quanto_qmap.json: weights {qtype}")
        d.ev.add(CONFIG, "quanto_qmap.json names the weight qtype of each module")
    if not packed:
        # qint8 / qfloat8: plain [out, in] with a per-row scale
        need_dtype(data, ("I8", "F8_E4M3", "F8_E5M2", "U8"))
        if len(data.shape) != 2:
            raise LayoutError("quanto 8-bit _data must be 2-D", tensor=data.name,
                              field="shape", found=list(data.shape))
        out, in_features = data.shape
        if scale_t.numel not in (out, 1):
            raise LayoutError("quanto _scale must have one value per row", tensor=scale_t.name,
                              field="shape", expected=[out, 1], found=list(scale_t.shape))
        qtype = qtype or ("qint8" if data.dtype == "I8" else "qfloat8")

        def decode8(src: Source) -> np.ndarray:
            scale = float_of(src.array(scale_t.name), scale_t.dtype).reshape(-1, 1)
            values = float_of(src.array(data.name), data.dtype)
            out_arr = scale * values
            if shift_t is not None:
                out_arr = out_arr - float_of(src.array(shift_t.name), shift_t.dtype).reshape(
                    -1, 1)
            return out_arr

        return Logical(name=wprefix, shape=(out, in_features), dtype=scale_t.dtype,
                       method="quanto", parts=tuple(parts), bits=8,
                       group_size=-1, symmetric=shift_t is None,
                       extra={"qtype": qtype, "label": f"quanto-{qtype}",
                              "evidence": evidence}, decode=decode8)
    # qint2 / qint4, grouped and bit-packed
    need_dtype(data, ("U8",))
    if len(data.shape) != 2 or shift_t is None:
        raise LayoutError("quanto packed weight needs 2-D _data._data and a _shift",
                          tensor=data.name, field="shape", found=list(data.shape))
    rows, gs = data.shape
    groups = scale_t.shape[0] if scale_t.shape else 1
    if scale_t.numel != groups or shift_t.numel != groups:
        raise LayoutError("quanto _scale/_shift must be [G, 1]", tensor=scale_t.name,
                          field="shape", found=[list(scale_t.shape), list(shift_t.shape)])
    bits = _QTYPE_BITS.get(qtype or "")
    if bits is None:
        candidates = [b for b in (2, 4) if -(-groups * b // 8) == rows]
        if len(candidates) != 1:
            raise LayoutError("cannot tell quanto bit width from shapes", tensor=data.name,
                              field="shape", found=[rows, groups])
        bits = candidates[0]
        qtype = f"qint{bits}"
        evidence.append(f"bits {bits} from packed rows {rows} for {groups} groups")
    if bits not in (2, 4) or -(-groups * bits // 8) != rows:
        raise LayoutError("packed rows do not match groups x bits / 8", tensor=data.name,
                          field="shape", expected=-(-groups * bits // 8), found=rows)
    numel = groups * gs
    shape, how = linear_shape_hint(d, prefix, numel)
    evidence.append(f"shape {how}")
    if shape is None:
        d.warnings.append(f"{wprefix}: quanto does not store the weight's [out, in]; listed "
                          f"as its grouped shape [{groups}, {gs}]")
        shape = (groups, gs)
    per = 8 // bits
    mask = np.uint8((1 << bits) - 1)
    int_shift = shift_t.dtype not in ("F16", "BF16", "F32")

    def codes(src: Source) -> np.ndarray:
        raw = src.array(data.name)
        return np.concatenate([(raw >> np.uint8(bits * s)) & mask for s in range(per)],
                              axis=0)[:groups]

    def decode(src: Source) -> np.ndarray:
        q = codes(src)
        scale = float_of(src.array(scale_t.name), scale_t.dtype).reshape(groups, 1)
        shift = src.array(shift_t.name).reshape(groups, 1)
        if int_shift:
            w = scale * (q.astype(np.int16) - shift.astype(np.int16)).astype(np.float32)
        else:
            w = q.astype(np.float32)
            w *= scale
            w -= float_of(shift, shift_t.dtype)
        return w.reshape(shape)

    def raw(src: Source) -> QTensor:
        if len(shape) != 2 or shape[1] % gs:
            raise UnsupportedError("quanto groups cross rows: no bitpack form",
                                   field="group_size", found=gs)
        rows, cols = shape
        per_row = (rows, cols // gs)
        q = codes(src).reshape(rows, cols)
        scale = src.array(scale_t.name).reshape(per_row)
        shift = src.array(shift_t.name).reshape(per_row)
        if int_shift:  # scale * (q - shift)
            return bitpack_from_codes(q, scale, scale_t.dtype, bits=bits, group_size=gs,
                                      dtype=scale_t.dtype, zeros=shift.astype(np.int16))
        # scale * q - shift == scale * q + (-shift) exactly; negating a float is exact
        neg = -np.asarray(float_of(shift, shift_t.dtype)) if shift_t.dtype == "BF16" else -shift
        return bitpack_from_codes(q, scale, scale_t.dtype, bits=bits, group_size=gs,
                                  dtype=scale_t.dtype, bias=neg,
                                  zero_code="F32" if shift_t.dtype == "BF16" else
                                  shift_t.dtype)

    return Logical(name=wprefix, shape=tuple(shape), dtype=scale_t.dtype, method="quanto",
                   parts=tuple(parts), bits=bits, group_size=gs, symmetric=False,
                   extra={"qtype": qtype, "axis": 0,
                          "packing": "uint8, row r in packed row r % R at bits b*(r // R)",
                          "shift": "integer zero point" if int_shift else "float, pre-scaled",
                          "label": f"quanto-{qtype}-g{gs}", "evidence": evidence},
                   decode=decode, raw=raw)
