"""Layouts: how a logical tensor is stored as parts (raw, bitpack, codebook, sparse)."""

from .base import Layout, PartSpec
from .qtensor import QTensor
from .registry import layout_class, layout_from_dict, layout_names, register_layout

__all__ = [
    "Layout",
    "PartSpec",
    "QTensor",
    "layout_class",
    "layout_from_dict",
    "layout_names",
    "register_layout",
]
