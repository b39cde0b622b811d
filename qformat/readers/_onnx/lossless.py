"""Lossless import of ONNX tensors as qformat QTensors (``Model.raw``).

Unquantized tensors whose element type qformat stores map to the ``raw`` layout. Quantized
weights need the ``bitpack`` layout, which this build does not have yet.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...dtypes import DTYPES
from ...errors import UnsupportedError
from .detect import Entry

__all__ = ["to_qtensor"]


def to_qtensor(e: Entry, path: str) -> Any:
    """The stored tensor as a QTensor, exactly; UnsupportedError where no layout holds it."""
    from ...layouts.qtensor import QTensor
    from ...layouts.raw import RawLayout

    if e.quant is None and e.stored is not None and e.sparse is None and not e.unsupported:
        st = e.stored
        code = st.type.short
        if code in DTYPES and st.type.kind != "string":
            values = st.values()
            storage = DTYPES[code].storage
            data = np.ascontiguousarray(values.view(storage) if values.dtype.itemsize ==
                                        storage.itemsize and values.dtype != storage
                                        else values.astype(storage))
            return QTensor(RawLayout(), st.dims, {"data": data}, dtype=code)
    raise UnsupportedError("no qformat layout holds this tensor exactly (the bitpack layout "
                           "is not available in this build)", path=path, tensor=e.name)
