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


def _plain(t: StoredTensor) -> Logical:
    bits = dtype_bits(t.dtype)
    unsupported = None
    decode = None
    if t.dtype in ("C64", "F6_E2M3", "F6_E3M2"):
        unsupported = f"{t.dtype} tensors have no float32 form in qformat"
    else:
        def decode(src: Source, t: StoredTensor = t) -> np.ndarray:
            return float_of(src.array(t.name), t.dtype).reshape(t.shape)
    return Logical(name=t.name, shape=t.shape, dtype=t.dtype, method="none", parts=(t.name,),
                   bits=bits, decode=decode, unsupported=unsupported)


def detect_all(tensors: dict[str, StoredTensor], evidence: Evidence, path: str,
               source: Source) -> tuple[list[Logical], list[str]]:
    """Logical tensors in file order (by their first stored part) and detection warnings."""
    d = Detect(tensors, evidence, path, source)
    for detector in _detectors():
        detector(d)
    for name, t in tensors.items():
        if name not in d.claimed:
            d.logicals.append(_plain(t))
    order = {name: i for i, name in enumerate(tensors)}
    d.logicals.sort(key=lambda lg: min((order.get(p, 0) for p in lg.parts), default=0))
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
