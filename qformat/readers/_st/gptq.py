"""GPTQ and AWQ: modules stored as ``qweight`` + ``qzeros`` + ``scales`` (+ ``g_idx``).

Both families use the same three names, so the config decides (``quant_method``), then shapes:
GPTQ packs ``qweight`` [in*b/32, out] down the input rows and has ``scales`` [G, out]; AWQ GEMM
packs [in, out/8] across outputs with the interleave [0,2,4,6,1,3,5,7]; AWQ GEMV packs
[out, in/8] in natural order; AWQ GEMV_FAST stores int16 [out/4, in] with a fixed permutation
and float pre-scaled zeros. Layouts and sources: ``../shared/notes/format-safetensors.md``
§2.1-2.3 (auto-gptq 0.7.1, GPTQModel 7.7.0, AutoAWQ 0.2.9).
"""

from __future__ import annotations

from functools import lru_cache
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
    grouped_mul_add,
    grouped_sub_mul,
    int_param,
    need_dtype,
    shape2,
    unpack_lsb,
)
from .header import StoredTensor
from .lossless import bitpack_from_codes

if TYPE_CHECKING:
    from ...layouts.qtensor import QTensor

__all__ = ["detect_gptq_awq"]

_SCALE_DTYPES = ("F16", "BF16", "F32")
#: AWQ GEMM: nibble k of a word holds output column 8c + _AWQ_ORDER[k].
_AWQ_ORDER = (0, 2, 4, 6, 1, 3, 5, 7)


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _config_int(d: Detect, key: str, default: int | None) -> int | None:
    v = d.ev.q(key, default)
    if v is None or isinstance(v, bool) or not isinstance(v, int):
        return default
    return v


def detect_gptq_awq(d: Detect) -> None:
    prefixes = list(d.with_suffix(".qweight"))
    if not prefixes:
        return
    for prefix in prefixes:
        names = {k: prefix + "." + k for k in ("qweight", "qzeros", "scales", "g_idx")}
        stored = {k: d.get(v) for k, v in names.items()}
        parts = [names[k] for k, t in stored.items() if t is not None]
        name = prefix + ".weight"
        method = "awq" if d.ev.is_method("awq") else "gptq"
        try:
            if stored["scales"] is None or stored["qzeros"] is None:
                raise LayoutError("qweight without its qzeros/scales companions",
                                  field="parts", expected=["qweight", "qzeros", "scales"],
                                  found=[k for k, t in stored.items() if t is not None])
            kind = _classify(d, stored)
            method = "gptq" if kind == "gptq" else "awq"
            if kind == "gptq":
                logical = _gptq(d, name, stored, names)
            else:
                logical = _awq(d, name, kind, stored, names)
        except DETECT_ERRORS as exc:
            d.fail(name, method, parts, exc)
            continue
        d.add(logical)
    counts: dict[str, int] = {}
    for lg in d.logicals:
        if lg.method in ("gptq", "awq") and lg.error is None:
            key = lg.extra.get("format", lg.method)
            counts[key] = counts.get(key, 0) + 1
    for key, n in counts.items():
        d.ev.add(NAMES, f"tensor names: {n} modules with qweight+qzeros+scales ({key})")


def _classify(d: Detect, s: dict[str, StoredTensor | None]) -> str:
    """'gptq', 'gemm', 'gemv' or 'gemv_fast' from the config, else from shapes."""
    qw, sc = s["qweight"], s["scales"]
    assert qw is not None
    assert sc is not None
    if d.ev.is_method("gptq"):
        return "gptq"
    if d.ev.is_method("awq"):
        version = str(d.ev.q("version") or d.ev.q("format") or "gemm").lower()
        if version not in ("gemm", "gemv", "gemv_fast"):
            raise UnsupportedError("AWQ version not supported", field="version",
                                   expected=["gemm", "gemv", "gemv_fast"], found=version)
        return version
    # no config: shapes decide
    if qw.dtype == "I16":
        return "gemv_fast"
    if s["g_idx"] is not None:
        return "gptq"
    if len(qw.shape) == 2 and len(sc.shape) == 2:
        if qw.shape[1] == sc.shape[1]:
            return "gptq"
        if qw.shape[1] * 8 == sc.shape[1]:
            return "gemm"
        if qw.shape[0] == sc.shape[0]:
            return "gemv"
    raise LayoutError("qweight/scales shapes match neither GPTQ nor AWQ", field="shape",
                      found={"qweight": list(qw.shape), "scales": list(sc.shape)})


# -- GPTQ -----------------------------------------------------------------------------------
def _gptq(d: Detect, name: str, s: dict[str, StoredTensor | None],
          names: dict[str, str]) -> Logical:
    qw, qz, sc, gi = s["qweight"], s["qzeros"], s["scales"], s["g_idx"]
    assert qw is not None
    assert qz is not None
    assert sc is not None
    need_dtype(qw, ("I32", "U32"))
    need_dtype(qz, ("I32", "U32"))
    need_dtype(sc, _SCALE_DTYPES)
    rows, out = shape2(qw, "qweight")
    groups, sc_out = shape2(sc, "scales")
    if sc_out != out:
        raise LayoutError("scales columns must equal qweight columns (out features)",
                          tensor=sc.name, field="shape", expected=out, found=sc_out)
    evidence: list[str] = []
    bits = _config_int(d, "bits", None) if d.ev.is_method("gptq") else None
    if bits is None and "gptq_bits" in d.ev.st_metadata:
        try:
            bits = int(d.ev.st_metadata["gptq_bits"])
            evidence.append("bits from __metadata__ gptq_bits")
        except ValueError:
            bits = None
    if bits is None:
        candidates = [b for b in (2, 3, 4, 8) if qz.shape[-1] == _ceil(out * b, 32)]
        if gi is not None and len(gi.shape) == 1:
            candidates = [b for b in candidates if _ceil(gi.shape[0] * b, 32) == rows]
        if len(candidates) != 1:
            raise LayoutError("cannot tell GPTQ bit width from shapes (no config)",
                              tensor=qz.name, field="shape", found=list(qz.shape))
        bits = candidates[0]
        evidence.append(f"bits {bits} from qzeros width {qz.shape[-1]} = out*bits/32")
    else:
        evidence.append(f"bits {bits} from {d.ev.qsource or '__metadata__'}")
    bits = int_param(bits, "bits", 1, 8)
    if gi is not None:
        need_dtype(gi, ("I32", "I64"))
        if len(gi.shape) != 1:
            raise LayoutError("g_idx must be 1-D", tensor=gi.name, field="shape",
                              found=list(gi.shape))
        in_features = gi.shape[0]
    else:
        in_features = rows * 32 // bits
    if _ceil(in_features * bits, 32) != rows:
        raise LayoutError("qweight rows do not match in_features x bits / 32", tensor=qw.name,
                          field="shape", expected=_ceil(in_features * bits, 32), found=rows)
    if qz.shape != (groups, _ceil(out * bits, 32)):
        raise LayoutError("qzeros shape does not match scales and bits", tensor=qz.name,
                          field="shape", expected=[groups, _ceil(out * bits, 32)],
                          found=list(qz.shape))
    gs = _config_int(d, "group_size", None) if d.ev.is_method("gptq") else None
    if gs is None and "gptq_group_size" in d.ev.st_metadata:
        try:
            gs = int(d.ev.st_metadata["gptq_group_size"])
        except ValueError:
            gs = None
    if gs is None:
        gs = -1 if groups == 1 else in_features // groups
        evidence.append(f"group size {gs} from scales rows {groups}")
    if gs == 0 or gs < -1:
        raise LayoutError("invalid group_size", field="group_size", found=gs)
    expect_groups = 1 if gs in (-1, in_features) else _ceil(in_features, gs)
    if gi is None and groups != expect_groups:
        raise LayoutError("scales rows do not match ceil(in / group_size)", tensor=sc.name,
                          field="shape", expected=expect_groups, found=groups)
    fmt = str(d.ev.q("checkpoint_format") or "gptq").lower() if d.ev.is_method("gptq") \
        else "gptq"
    if fmt not in ("gptq", "gptq_v2"):
        raise UnsupportedError("GPTQ checkpoint_format not supported", field="checkpoint_format",
                               expected=["gptq", "gptq_v2"], found=fmt)
    v1 = fmt == "gptq"
    evidence.append("zero points stored as zero-1 (GPTQ v1)" if v1 else
                    "zero points stored as is (gptq_v2)")
    sym = d.ev.q("sym") if d.ev.is_method("gptq") else None
    desc_act = d.ev.q("desc_act") if d.ev.is_method("gptq") else None
    parts = tuple(names[k] for k in ("qweight", "qzeros", "scales", "g_idx") if s[k] is not None)
    mask = (1 << bits) - 1
    group_size = gs if gs != in_features or groups != 1 else -1

    def components(src: Source) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """codes [out, in], zeros [out, G] (true zero points), act-order group index."""
        # unpack in [out, in] orientation: the stream runs down the input rows per column
        q = unpack_lsb(np.ascontiguousarray(src.array(qw.name).T), bits, in_features)
        z = unpack_lsb(src.array(qz.name), bits, out)  # [G, out]
        if v1:
            z = (z + np.uint8(1)) & np.uint8(mask)
        idx = _group_index(src, gi, in_features, group_size, groups)
        sequential = (group_size == -1 and groups == 1) or (
            group_size > 0 and np.array_equal(idx, np.arange(in_features) // group_size))
        return q, np.ascontiguousarray(z.T), None if sequential else idx

    def decode(src: Source) -> np.ndarray:
        q, z, cols = components(src)
        scale = np.ascontiguousarray(float_of(src.array(sc.name), sc.dtype).T)
        gs = group_size if group_size > 0 else in_features
        return grouped_sub_mul(q, scale, group_size=gs, zero=z.astype(np.float32), cols=cols)

    def raw(src: Source) -> QTensor:
        q, z, cols = components(src)
        return bitpack_from_codes(q, src.array(sc.name).T, sc.dtype, bits=bits,
                                  group_size=group_size, dtype=sc.dtype, zeros=z, g_idx=cols)

    return Logical(
        name=name, shape=(out, in_features), dtype=sc.dtype, method="gptq", parts=parts,
        bits=bits, group_size=group_size, symmetric=sym if isinstance(sym, bool) else None,
        extra={"format": fmt, "packing": "int32 LSB-first stream along the input dim",
               "label": f"gptq-int{bits}-" + (f"g{group_size}" if group_size > 0
                                              else "per-channel"),
               "zero_offset": "v1 (stored = zero - 1)" if v1 else "none",
               "act_order": desc_act if isinstance(desc_act, bool) else None,
               "evidence": evidence},
        decode=decode, raw=raw)


def _group_index(src: Source, gi: StoredTensor | None, in_features: int, group_size: int,
                 groups: int) -> np.ndarray:
    """Group of every input row: ``g_idx`` (validated) or ``i // group_size``."""
    if gi is None:
        if group_size == -1:
            return np.zeros(in_features, dtype=np.intp)
        return np.arange(in_features, dtype=np.intp) // group_size
    idx = np.asarray(src.array(gi.name)).astype(np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= groups):
        raise LayoutError("g_idx names a group that does not exist", tensor=gi.name,
                          field="g_idx", expected=f"0..{groups - 1}",
                          found=f"{idx.min()}..{idx.max()}")
    return idx.astype(np.intp)


# -- AWQ ------------------------------------------------------------------------------------
def _awq(d: Detect, name: str, kind: str, s: dict[str, StoredTensor | None],
         names: dict[str, str]) -> Logical:
    qw, qz, sc = s["qweight"], s["qzeros"], s["scales"]
    assert qw is not None
    assert qz is not None
    assert sc is not None
    if s["g_idx"] is not None:
        raise LayoutError("AWQ modules have no g_idx", tensor=s["g_idx"].name, field="parts")
    bits = _config_int(d, "bits", None) if d.ev.is_method("awq") else None
    if bits is None:
        bits = _config_int(d, "w_bit", 4) if d.ev.is_method("awq") else 4
    if bits != 4:
        raise UnsupportedError("only 4-bit AWQ packing is defined", field="bits",
                               expected=4, found=bits)
    gs = _config_int(d, "group_size", None) if d.ev.is_method("awq") else None
    if gs is None and d.ev.is_method("awq"):
        gs = _config_int(d, "q_group_size", None)
    need_dtype(sc, _SCALE_DTYPES)
    parts = (qw.name, qz.name, sc.name)
    evidence = [f"AWQ {kind} from " + (d.ev.qsource if d.ev.is_method("awq") else "shapes")]
    if kind == "gemm":
        need_dtype(qw, ("I32", "U32"))
        need_dtype(qz, ("I32", "U32"))
        in_features, packed = shape2(qw, "qweight")
        out = packed * 8
        groups, sc_out = shape2(sc, "scales")
        if sc_out != out:
            raise LayoutError("scales columns must equal 8 x qweight columns", tensor=sc.name,
                              field="shape", expected=out, found=sc_out)
        if qz.shape != (groups, packed):
            raise LayoutError("qzeros shape must be [groups, out/8]", tensor=qz.name,
                              field="shape", expected=[groups, packed], found=list(qz.shape))
        gs = _resolve_gs(gs, in_features, groups, sc.name, evidence)

        def components(src: Source) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            """codes [out, in], zeros [out, G], stored scales [out, G]"""
            return (_awq_gemm_unpack_t(src.array(qw.name)),
                    _awq_gemm_unpack_t(src.array(qz.name)), src.array(sc.name).T)

        extra = {"format": "gemm", "packing": "int32 [in, out/8], interleave [0,2,4,6,1,3,5,7]"}
    elif kind == "gemv":
        need_dtype(qw, ("I32", "U32"))
        need_dtype(qz, ("I32", "U32"))
        out, packed = shape2(qw, "qweight")
        in_features = packed * 8
        sc_out, width = shape2(sc, "scales")
        if sc_out != out or qz.shape[0] != out:
            raise LayoutError("GEMV scales/qzeros rows must equal qweight rows", tensor=sc.name,
                              field="shape", expected=out, found=[sc_out, qz.shape[0]])
        if gs is None:
            gs = 128
            evidence.append("group size 128 assumed (AutoAWQ default; not in a config)")
        gs = int_param(gs, "group_size", 1, in_features)
        groups = _ceil(in_features, gs)
        if width < groups or qz.shape[1] * 8 < groups:
            raise LayoutError("GEMV scales/qzeros too narrow for the groups", tensor=sc.name,
                              field="shape", expected=f">= {groups} groups",
                              found=[width, qz.shape[1] * 8])

        def components(src: Source) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            """codes [out, in], zeros [out, G], stored scales [out, G] (padding dropped)"""
            return (unpack_lsb(src.array(qw.name), 4, in_features),
                    unpack_lsb(src.array(qz.name), 4, groups), src.array(sc.name)[:, :groups])

        extra = {"format": "gemv", "packing": "int32 [out, in/8], natural nibble order"}
    else:  # gemv_fast
        need_dtype(qw, ("I16", "U16"))
        need_dtype(qz, _SCALE_DTYPES)
        rows4, in_features = shape2(qw, "qweight")
        out = rows4 * 4
        width, sc_out = shape2(sc, "scales")
        if sc_out != out or qz.shape != sc.shape:
            raise LayoutError("GEMV_FAST scales/qzeros must be [groups_padded, out]",
                              tensor=sc.name, field="shape", expected=["*", out],
                              found=[list(sc.shape), list(qz.shape)])
        if in_features % 64 or out % 4:
            raise LayoutError("GEMV_FAST needs in % 64 == 0 and out % 4 == 0", tensor=qw.name,
                              field="shape", found=[out, in_features])
        if gs is None:
            gs = 128
            evidence.append("group size 128 assumed (AutoAWQ default; not in a config)")
        gs = int_param(gs, "group_size", 1, in_features)
        groups = _ceil(in_features, gs)
        if width < groups:
            raise LayoutError("GEMV_FAST scales have fewer rows than groups", tensor=sc.name,
                              field="shape", expected=f">= {groups}", found=width)

        def components(src: Source) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            """codes [out, in], pre-scaled float zeros [out, G], stored scales [out, G]"""
            return (_gemv_fast_unpack(src.array(qw.name), out, in_features),
                    src.array(qz.name)[:groups].T, src.array(sc.name)[:groups].T)

        extra = {"format": "gemv_fast",
                 "packing": "int16 [out/4, in], 4-row interleave, 32-input permutation",
                 "zero": "float, pre-scaled (qzeros = -scale*zero)"}
    extra["evidence"] = evidence
    extra["label"] = f"awq-{kind}-int4-g{gs}"
    float_zero = kind == "gemv_fast"

    def decode(src: Source) -> np.ndarray:
        q, z, stored_scale = components(src)
        scale = np.ascontiguousarray(float_of(stored_scale, sc.dtype))
        if float_zero:  # W = q * s + qzeros, two float32 roundings
            zero = np.ascontiguousarray(float_of(z, qz.dtype))
            return grouped_mul_add(q, scale, zero, group_size=gs)
        return grouped_sub_mul(q, scale, group_size=gs, zero=z.astype(np.float32))

    def raw(src: Source) -> QTensor:
        q, z, stored_scale = components(src)
        if float_zero:
            return bitpack_from_codes(q, stored_scale, sc.dtype, bits=4, group_size=gs,
                                      dtype=sc.dtype, bias=z, zero_code=qz.dtype)
        return bitpack_from_codes(q, stored_scale, sc.dtype, bits=4, group_size=gs,
                                  dtype=sc.dtype, zeros=z)

    return Logical(name=name, shape=(out, in_features), dtype=sc.dtype, method="awq",
                   parts=parts, bits=4, group_size=gs, symmetric=False, extra=extra,
                   decode=decode, raw=raw)


def _resolve_gs(gs: int | None, in_features: int, groups: int, where: str,
                evidence: list[str]) -> int:
    if gs is None or gs == -1:
        if groups < 1 or in_features % groups:
            raise LayoutError("cannot derive group size from scales rows", tensor=where,
                              field="shape", found=groups)
        if gs is None:
            evidence.append(f"group size {in_features // groups} from scales rows {groups}")
        gs = in_features // groups
    gs = int_param(gs, "group_size", 1, max(in_features, 1))
    if _ceil(in_features, gs) != groups:
        raise LayoutError("scales rows do not match ceil(in / group_size)", tensor=where,
                          field="shape", expected=_ceil(in_features, gs), found=groups)
    return gs


def _awq_gemm_unpack_t(words: np.ndarray) -> np.ndarray:
    """[R, C] int32 -> the transposed nibbles [8C, R], AWQ's column interleave undone.

    Nibble k of word c holds column 8c + [0,2,4,6,1,3,5,7][k]; byte b of the little-endian
    word holds nibbles 2b (low half) and 2b+1 (high half). Transposing the int32 words first
    is far cheaper than transposing the unpacked bytes.
    """
    rows, ncols = words.shape
    by = np.ascontiguousarray(words.T).view(np.uint8).reshape(ncols, rows, 4)
    out = np.empty((ncols, 8, rows), dtype=np.uint8)
    for b in range(4):
        out[:, _AWQ_ORDER[2 * b], :] = by[..., b] & np.uint8(0x0F)
        out[:, _AWQ_ORDER[2 * b + 1], :] = by[..., b] >> np.uint8(4)
    return out.reshape(ncols * 8, rows)


@lru_cache(maxsize=4)
def _gemv_fast_perm(out: int, in_features: int) -> np.ndarray:
    """Flat source index of every (packed row, column, nibble) slot of AutoAWQ's packing."""
    n, k = out, in_features
    idx = np.arange(n * k, dtype=np.int64).reshape(n, k // 32, 4, 4, 2)
    idx = idx.transpose(0, 1, 3, 2, 4).reshape(n, k // 32, 32)
    idx = idx.reshape(n, k // 32, 4, 4, 2).transpose(0, 1, 2, 4, 3).reshape(n, k)
    idx = idx.reshape(n // 4, 4, k // 64, 64).transpose(0, 2, 1, 3)
    return np.ascontiguousarray(idx.reshape(n // 4, k // 64, 64, 4).reshape(-1))


def _gemv_fast_unpack(packed: np.ndarray, out: int, in_features: int) -> np.ndarray:
    u = np.asarray(packed).view(np.uint16).reshape(-1)
    codes = np.stack([(u >> s) & 0xF for s in (0, 4, 8, 12)], axis=-1).reshape(-1)
    w = np.empty(out * in_features, dtype=np.uint8)
    w[_gemv_fast_perm(out, in_features)] = codes
    return w.reshape(out, in_features)

