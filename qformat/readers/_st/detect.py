"""Group stored tensors into logical tensors: run every scheme detector, then list the rest.

Each detector looks for its anchor name (``qweight``, ``W_q``, ``weight_packed``...), claims the
module's companion tensors and returns one :class:`Logical` named as the unquantized checkpoint
would name it. Detectors run in a fixed order; a tensor is claimed at most once. Whatever no
detector claims is an ordinary tensor (method ``none``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...errors import HeaderError, UnsupportedError
from .common import Detect, Logical, Source, dtype_bits, float_of
from .evidence import Evidence
from .header import StoredTensor

__all__ = ["detect_all"]


def _detectors() -> list[Callable[[Detect], None]]:
    from . import aqlm, bnb, compressed, fp8, gptq, hqq, mlx, other, quanto

    return [
        bnb.detect_bnb,
        hqq.detect_hqq,
        quanto.detect_quanto,
        gptq.detect_gptq_awq,
        aqlm.detect_aqlm,
        other.detect_exl2,
        other.detect_spqr,
        compressed.detect_compressed,
        fp8.detect_fp8_block,
        other.detect_marlin,
        mlx.detect_mlx,
        other.detect_eetq,
        compressed.detect_scaled_weight,
    ]


_NO_FLOAT = ("C64", "F6_E2M3", "F6_E3M2")


def _plain(t: StoredTensor) -> Logical:
    if t.dtype in _NO_FLOAT:
        return Logical(t.name, t.shape, t.dtype, "none", (t.name,), dtype_bits(t.dtype),
                       unsupported=f"{t.dtype} tensors have no float32 form in qformat")
    return Logical(t.name, t.shape, t.dtype, "none", (t.name,), dtype_bits(t.dtype),
                   plain=True)


def decode_plain(lg: Logical, src: Source) -> np.ndarray:
    t = src.tensors[lg.parts[0]]
    return float_of(src.array(t.name), t.dtype).reshape(t.shape)


#: config quant_method -> the per-tensor methods it can produce
_METHODS_OF = {
    "gptq": {"gptq", "marlin"}, "awq": {"awq"}, "bitsandbytes": {"bnb-nf4", "bnb-fp4", "bnb-int8"},
    "bitsandbytes_4bit": {"bnb-nf4", "bnb-fp4"}, "bitsandbytes_8bit": {"bnb-int8"},
    "hqq": {"hqq"}, "quanto": {"quanto"}, "compressed-tensors": {"compressed-tensors"},
    "aqlm": {"aqlm"}, "fp8": {"fp8"}, "fbgemm_fp8": {"fp8"}, "mxfp8": {"fp8"},
    "exl2": {"exl2"}, "eetq": {"eetq"}, "spqr": {"spqr"},
}


def _check_config_agrees(d: Detect) -> None:
    """Warn when the config's quant_method and the stored tensors tell different stories."""
    method = d.ev.method
    found = {lg.method for lg in d.logicals}
    if method is None:
        return
    expected = _METHODS_OF.get(method)
    if expected is None:
        d.warnings.append(f"{d.ev.qsource}: quant_method {method!r} is not a scheme qformat "
                          "decodes; its tensors are listed as stored")
    elif not found & expected:
        d.warnings.append(f"{d.ev.qsource} says quant_method {method!r} but no tensor has that "
                          f"signature (found: {sorted(found) or 'none'})")


def detect_all(tensors: dict[str, StoredTensor], evidence: Evidence, path: str,
               source: Source) -> tuple[list[Logical], list[str]]:
    """Logical tensors in file order (by their first stored part) and detection warnings."""
    d = Detect(tensors, evidence, path, source)
    for detector in _detectors():
        detector(d)
    _check_config_agrees(d)
    for name, t in tensors.items():
        if name not in d.claimed:
            d.logicals.append(_plain(t))
    order = {name: i for i, name in enumerate(tensors)}
    d.logicals.sort(key=lambda lg: order[lg.parts[0]] if len(lg.parts) == 1 else
                    min((order.get(p, 0) for p in lg.parts), default=0))
    seen: dict[str, Logical] = {}
    for lg in d.logicals:
        if lg.name in seen:
            raise HeaderError("two stored tensor groups resolve to the same logical name",
                              path=path, tensor=lg.name, field="name",
                              found=[list(seen[lg.name].parts), list(lg.parts)])
        seen[lg.name] = lg
    return d.logicals, d.warnings


def unsupported_error(lg: Logical, path: str) -> UnsupportedError:
    return UnsupportedError(lg.unsupported or "no dequantization for this scheme", path=path,
                            tensor=lg.name, field="method", found=lg.method)
