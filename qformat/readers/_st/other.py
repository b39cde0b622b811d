"""Schemes detected with evidence and bits per weight, without dequantization.

* EXL2 (ExLlamaV2): ``q_weight``, ``q_scale``, ``q_scale_max``, ``q_groups``, ``q_invperm``;
  bit width varies per group (read from ``q_groups``), so ``bits`` is the average.
* GPTQ Marlin (auto-gptq ``is_marlin_format``): ``B`` int32 [in/16, out*2] + ``s`` [G, out].
* EETQ: ``weight`` int8 [in, out] preprocessed for a GPU architecture + ``weight_scales``.
* SpQR: ``dense_weights`` int64 + CSR outliers (``row_offsets``, ``col_vals``) + ``in_perm``.
Their layouts are known only from the producers' source (no CPU producer to verify against, see
``../shared/notes/format-safetensors.md`` §2.10-2.12), so ``get`` raises UnsupportedError
instead of guessing.
"""

from __future__ import annotations

from ...errors import LayoutError
from .common import DETECT_ERRORS, NAMES, Detect, Logical, need_dtype, shape2

__all__ = ["detect_eetq", "detect_exl2", "detect_marlin", "detect_spqr"]


def _add(d: Detect, name: str, method: str, parts: list[str], build) -> bool:
    try:
        logical = build()
    except DETECT_ERRORS as exc:
        d.fail(name, method, parts, exc)
        return False
    d.add(logical)
    return True


def detect_exl2(d: Detect) -> None:
    n = 0
    for prefix in list(d.with_suffix(".q_weight")):
        keys = ("q_weight", "q_scale", "q_scale_max", "q_groups", "q_invperm", "q_perm",
                "q_group_map")
        parts = [prefix + "." + k for k in keys if d.get(prefix + "." + k) is not None]
        if d.get(prefix + ".q_invperm") is None or d.get(prefix + ".q_groups") is None:
            continue

        def build(prefix: str = prefix, parts: list[str] = parts) -> Logical:
            qw = d.tensors[prefix + ".q_weight"]
            inv = d.tensors[prefix + ".q_invperm"]
            groups_t = d.tensors[prefix + ".q_groups"]
            need_dtype(qw, ("I32", "U32"))
            rows, out = shape2(qw, "q_weight")
            if len(inv.shape) != 1 or inv.shape[0] == 0:
                raise LayoutError("q_invperm must be 1-D", tensor=inv.name, field="shape",
                                  found=list(inv.shape))
            inn = inv.shape[0]
            ngroups = groups_t.numel // 2
            bits = round(rows * 32 / inn, 4)
            return Logical(
                name=prefix + ".weight", shape=(out, inn), dtype="F16", method="exl2",
                parts=tuple(parts), bits=bits, group_size=inn // ngroups if ngroups else None,
                symmetric=True,
                extra={"bits_per_group": "variable (2-8), listed in q_groups",
                       "groups": ngroups, "label": f"exl2-{bits:g}bit",
                       "config_bits": d.ev.q("bits") if d.ev.is_method("exl2") else None},
                unsupported="EXL2 dequantization is not implemented: no CPU producer to "
                            "verify its per-group packing against")

        n += _add(d, prefix + ".weight", "exl2", parts, build)
    if n:
        d.ev.add(NAMES, f"tensor names: {n} modules with q_weight+q_invperm+q_groups (EXL2)")


def detect_marlin(d: Detect) -> None:
    n = 0
    for prefix in list(d.with_suffix(".B")):
        s = d.get(prefix + ".s")
        if s is None:
            continue
        parts = [prefix + ".B", prefix + ".s"]

        def build(prefix: str = prefix, parts: list[str] = parts) -> Logical:
            b = d.tensors[prefix + ".B"]
            s = d.tensors[prefix + ".s"]
            need_dtype(b, ("I32", "U32"))
            need_dtype(s, ("F16", "BF16", "F32"))
            k16, n2 = shape2(b, "B")
            groups, out = shape2(s, "s")
            inn = k16 * 16
            if n2 * 8 != out * 16:
                raise LayoutError("Marlin B must be [in/16, out*2]", tensor=b.name,
                                  field="shape", expected=[k16, out * 2], found=[k16, n2])
            gs = -1 if groups == 1 else inn // groups
            return Logical(
                name=prefix + ".weight", shape=(out, inn), dtype=s.dtype, method="marlin",
                parts=tuple(parts), bits=4, group_size=gs, symmetric=True,
                extra={"format": "gptq-marlin", "label": f"marlin-int4-g{gs}"},
                unsupported="GPTQ Marlin (B/s) dequantization is not implemented: no CPU "
                            "producer to verify the tile permutation against")

        n += _add(d, prefix + ".weight", "marlin", parts, build)
    if n:
        d.ev.add(NAMES, f"tensor names: {n} modules with B + s (GPTQ Marlin)")


def detect_eetq(d: Detect) -> None:
    n = 0
    for prefix in list(d.with_suffix(".weight_scales")):
        w = d.get(prefix + ".weight")
        if w is None or w.dtype != "I8":
            continue
        parts = [prefix + ".weight", prefix + ".weight_scales"]

        def build(prefix: str = prefix, parts: list[str] = parts) -> Logical:
            w = d.tensors[prefix + ".weight"]
            s = d.tensors[prefix + ".weight_scales"]
            inn, out = shape2(w, "weight")
            if s.numel != out:
                raise LayoutError("EETQ weight_scales must have one value per output",
                                  tensor=s.name, field="shape", expected=[out],
                                  found=list(s.shape))
            return Logical(
                name=prefix + ".weight", shape=(out, inn), dtype=s.dtype, method="eetq",
                parts=tuple(parts), bits=8, group_size=-1, symmetric=True,
                extra={"storage": "int8 [in, out], CUTLASS-preprocessed", "label": "eetq-int8"},
                unsupported="EETQ weights are preprocessed for the GPU architecture that "
                            "produced them; the bytes cannot be inverted without it")

        n += _add(d, prefix + ".weight", "eetq", parts, build)
    if n:
        d.ev.add(NAMES, f"tensor names: {n} modules with int8 weight + weight_scales (EETQ)")


def detect_spqr(d: Detect) -> None:
    n = 0
    for prefix in list(d.with_suffix(".dense_weights")):
        keys = ("dense_weights", "row_offsets", "col_vals", "in_perm")
        parts = [prefix + "." + k for k in keys if d.get(prefix + "." + k) is not None]
        if len(parts) < 3:
            continue

        def build(prefix: str = prefix, parts: list[str] = parts) -> Logical:
            rows = d.tensors.get(prefix + ".row_offsets")
            perm = d.tensors.get(prefix + ".in_perm")
            out = rows.numel - 1 if rows is not None and rows.numel > 1 else 0
            inn = perm.numel * 2 if perm is not None else 0
            bits = d.ev.q("bits") if d.ev.is_method("spqr") else 3
            return Logical(
                name=prefix + ".weight", shape=(out, inn) if out and inn else (),
                dtype="F16", method="spqr", parts=tuple(parts),
                bits=bits if isinstance(bits, int) else None, group_size=16, symmetric=False,
                extra={"tiles": "16x16, 3-bit codes with 3-bit second-order statistics",
                       "outliers": "CSR", "label": "spqr"},
                unsupported="SpQR dequantization is not implemented: no CPU producer to "
                            "verify its tile encoding against")

        n += _add(d, prefix + ".weight", "spqr", parts, build)
    if n:
        d.ev.add(NAMES, f"tensor names: {n} modules with dense_weights + CSR outliers (SpQR)")
