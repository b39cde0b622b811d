"""qformat: inspect, verify, dequantize and store quantized model files.

Public API (everything else is private by convention)::

    qformat.open(path) -> Model          any supported format, sniffed from its bytes
    qformat.save(path, tensors, metadata=None)
    qformat.writer(path, metadata=None)  streaming .qf writer (context manager)
    qformat.quantize(array, layout, **config) -> QTensor
    qformat.inspect(path) -> Report
"""

from .api import open, quantize, save, writer
from .audit.report import Report, inspect
from .errors import (
    ArgumentError,
    HeaderError,
    IntegrityError,
    LayoutError,
    LimitError,
    QFormatError,
    UnsupportedError,
)
from .layouts.qtensor import QTensor
from .model import Model, PartInfo, TensorInfo

__version__ = "0.1.0"

__all__ = [
    "ArgumentError",
    "HeaderError",
    "IntegrityError",
    "LayoutError",
    "LimitError",
    "Model",
    "PartInfo",
    "QFormatError",
    "QTensor",
    "Report",
    "TensorInfo",
    "UnsupportedError",
    "__version__",
    "inspect",
    "open",
    "quantize",
    "save",
    "writer",
]
