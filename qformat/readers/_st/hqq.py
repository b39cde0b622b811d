"""HQQ (``hqq`` save_to_safetensors, and transformers' HqqConfig which uses the same keys).

A module stores ``W_q`` plus its metadata as tiny tensors: ``shape`` (int64), ``nbits``,
``group_size``, ``axis`` (int32 scalars), ``packing``/``compute_dtype``/``unpack_view_dtype``
(ASCII bytes) and flags. With axis 1 the weight is reshaped [numel/gs, gs]; the rows are split
into 8/b slices (3-bit: 10 slices in int32) stacked into one element, first slice in the most
significant bits. W = ((unpack(W_q) - zero) * scale).reshape(shape), zero a float in quantized
units. Source: ``../shared/notes/format-safetensors.md`` §2.5, hqq 0.2.8 ``bitpack.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...errors import LayoutError, UnsupportedError
from .common import DETECT_ERRORS, NAMES, Detect, Logical, Source, float_of, need_dtype
from .header import StoredTensor
from .lossless import bitpack_from_codes

if TYPE_CHECKING:
    from ...layouts.qtensor import QTensor

__all__ = ["detect_hqq"]

#: packing name -> (bits per code, slices per stored element, stored element dtype codes)
_PACKINGS: dict[str, tuple[int, int, tuple[str, ...]]] = {
    "8bit_u8": (8, 1, ("U8",)),
    "4bit_u8": (4, 2, ("U8",)),
    "2bit_u8": (2, 4, ("U8",)),
    "1bit_u8": (1, 8, ("U8",)),
    "3bit_32": (3, 10, ("I32", "U32")),
}
_VIEW_DTYPES = {"torch.uint8": "U8", "torch.int32": "I32"}
_META = ("shape", "nbits", "group_size", "axis", "packing", "compute_dtype",
         "unpack_view_dtype", "channel_wise", "optimize", "round_zero", "view_as_float",
         "offload_meta", "encoded_state_dict", "stores_quant_config", "quant_scale",
         "quant_zero")
_COMPUTE = {"torch.float16": "F16", "torch.bfloat16": "BF16", "torch.float32": "F32"}


def detect_hqq(d: Detect) -> None:
    n = 0
    for prefix in list(d.with_suffix(".W_q")):
        names = [prefix + ".W_q"] + [prefix + "." + k for k in ("scale", "zero", *_META)]
        parts = [p for p in names if d.get(p) is not None]
        if d.get(prefix + ".scale") is None or d.get(prefix + ".zero") is None:
            continue
        try:
            logical = _hqq(d, prefix, parts)
        except DETECT_ERRORS as exc:
            d.fail(prefix + ".weight", "hqq", parts, exc)
            continue
        d.add(logical)
        n += 1
    if n:
        d.ev.add(NAMES, f"tensor names: {n} modules with W_q+scale+zero+meta (HQQ)")


def _scalar(d: Detect, t: StoredTensor | None, what: str) -> float | None:
    if t is None:
        return None
    if t.numel != 1:
        raise LayoutError(f"HQQ {what} must be a scalar", tensor=t.name, field="shape",
                          found=list(t.shape))
    value = d.read_small(t, 64).reshape(-1)[0]
    return float(value)


def _text(d: Detect, t: StoredTensor | None) -> str | None:
    if t is None:
        return None
    if t.dtype != "U8" or len(t.shape) > 1:
        raise LayoutError("HQQ text field must be uint8 ASCII", tensor=t.name, field="dtype",
                          found=t.dtype)
    raw = d.read_small(t, 256).tobytes()
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise LayoutError("HQQ text field is not ASCII", tensor=t.name, field="packing",
                          found=raw[:32]) from None


def _hqq(d: Detect, prefix: str, parts: list[str]) -> Logical:
    t = {k: d.get(prefix + "." + k) for k in ("W_q", "scale", "zero", *_META)}
    wq, scale_t, zero_t = t["W_q"], t["scale"], t["zero"]
    assert wq is not None
    assert scale_t is not None
    assert zero_t is not None
    for flag in ("quant_scale", "quant_zero"):
        if _scalar(d, t[flag], flag):
            raise UnsupportedError(f"HQQ with quantized {flag[6:]} is not serializable by "
                                   "hqq itself; not supported", field=flag, found=True)
    shape_t = t["shape"]
    if shape_t is None:
        raise LayoutError("HQQ module lacks its 'shape' tensor", tensor=prefix, field="parts")
    shape = [int(x) for x in d.read_small(shape_t, 128).reshape(-1)]
    if not shape or any(x < 0 for x in shape):
        raise LayoutError("HQQ shape must be non-negative", tensor=shape_t.name, field="shape",
                          found=shape)
    numel = 1
    for x in shape:
        numel *= x
    nbits = _scalar(d, t["nbits"], "nbits")
    gs = _scalar(d, t["group_size"], "group_size")
    axis = _scalar(d, t["axis"], "axis")
    for what, value, hi in (("nbits", nbits, 8), ("group_size", gs, 1 << 48), ("axis", axis, 1)):
        if value is not None and not (0 <= value <= hi and value == value):
            raise LayoutError(f"HQQ {what} out of range", tensor=prefix, field=what,
                              expected=f"0..{hi}", found=value)
    packing = _text(d, t["packing"])
    view_as_float = bool(_scalar(d, t["view_as_float"], "view_as_float") or 0)
    if packing is None:
        if nbits is None:
            raise LayoutError("HQQ module has neither packing nor nbits", tensor=prefix,
                              field="packing")
        packing = {8: "8bit_u8", 4: "4bit_u8", 3: "3bit_32", 2: "2bit_u8", 1: "1bit_u8"}.get(
            int(nbits), "")
    if packing not in _PACKINGS:
        raise UnsupportedError("unknown HQQ packing", tensor=prefix, field="packing",
                               expected=sorted(_PACKINGS), found=packing)
    bits, slices, stored_dtypes = _PACKINGS[packing]
    axis_i = 1 if axis is None else int(axis)
    if axis_i not in (0, 1):
        raise LayoutError("HQQ axis must be 0 or 1", tensor=prefix, field="axis", found=axis)
    group = int(gs) if gs is not None else (shape[-1] if axis_i == 1 else shape[0])
    if group <= 0 or numel % group:
        raise LayoutError("HQQ group_size must divide the element count", tensor=prefix,
                          field="group_size", expected=f"divisor of {numel}", found=gs)
    ngroups = numel // group
    # unpacked grid: axis 1 -> [ngroups, group]; axis 0 -> [group, ngroups]
    packed_rows_dim, other = (ngroups, group) if axis_i == 1 else (group, ngroups)
    view = stored_dtypes[0] if not view_as_float else _VIEW_DTYPES.get(
        _text(d, t["unpack_view_dtype"]) or "", stored_dtypes[0])
    if view_as_float:
        need_dtype(wq, ("F16", "BF16", "F32"))
    else:
        need_dtype(wq, stored_dtypes)
    elem = 4 if view in ("I32", "U32") else 1
    if len(wq.shape) != 2 or wq.nbytes % elem:
        raise LayoutError("W_q must be 2-D", tensor=wq.name, field="shape",
                          found=list(wq.shape))
    packed_rows = -(-packed_rows_dim // slices)
    if wq.nbytes != packed_rows * other * elem:
        raise LayoutError("W_q size does not match shape, group_size and packing",
                          tensor=wq.name, field="shape",
                          expected=f"[{packed_rows}, {other}] of {view}",
                          found=f"{list(wq.shape)} {wq.dtype}")
    sz_shape = (ngroups, 1) if axis_i == 1 else (1, ngroups)
    for st in (scale_t, zero_t):
        need_dtype(st, ("F16", "BF16", "F32"))
        if st.numel != ngroups:
            raise LayoutError("HQQ scale/zero must have one value per group", tensor=st.name,
                              field="shape", expected=list(sz_shape), found=list(st.shape))
    compute = _COMPUTE.get(_text(d, t["compute_dtype"]) or "", scale_t.dtype)
    np_view = np.uint8 if view == "U8" else np.uint32

    def codes(src: Source) -> np.ndarray:
        """The unpacked grid: [ngroups, group] for axis 1, [group, ngroups] for axis 0."""
        raw = np.ascontiguousarray(src.array(wq.name)).view(np_view).reshape(packed_rows, other)
        if slices == 1:
            return raw
        shifts = [(slices - 1 - k) * bits for k in range(slices)]
        mask = np_view((1 << bits) - 1)
        return np.concatenate([(raw >> np_view(s)) & mask for s in shifts],
                              axis=0)[:packed_rows_dim]

    def decode(src: Source) -> np.ndarray:
        q = codes(src).astype(np.float32)
        zero = float_of(src.array(zero_t.name), zero_t.dtype).reshape(sz_shape)
        scale = float_of(src.array(scale_t.name), scale_t.dtype).reshape(sz_shape)
        q -= zero  # in place: (q - zero) then * scale, two float32 roundings as HQQ
        q *= scale
        return q.reshape(shape)

    def raw(src: Source) -> QTensor:
        if axis_i != 1 or len(shape) != 2 or shape[1] % group:
            raise UnsupportedError("bitpack groups run along rows: HQQ axis 0 or groups that "
                                   "cross rows have no bitpack form", field="axis",
                                   found=axis_i)
        rows, cols = shape
        q = codes(src).reshape(rows, cols).astype(np.uint8)
        per_row = (rows, cols // group)
        return bitpack_from_codes(
            q, src.array(scale_t.name).reshape(per_row), scale_t.dtype, bits=bits,
            group_size=group, dtype=compute, zeros=src.array(zero_t.name).reshape(per_row),
            zero_code=zero_t.dtype)

    return Logical(
        name=prefix + ".weight", shape=tuple(shape), dtype=compute, method="hqq",
        parts=tuple(parts), bits=bits if nbits is None else (int(nbits) if nbits == int(nbits)
                                                             else nbits),
        group_size=group, symmetric=False,
        extra={"packing": packing, "axis": axis_i, "zero": "float, in quantized units",
               "view_as_float": view_as_float,
               "label": f"hqq-int{bits if nbits is None else nbits:g}-g{group}"},
        decode=decode, raw=raw)
