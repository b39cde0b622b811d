"""Layout names -> classes. Built-in layouts are imported only when first used."""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from typing import Any

from ..errors import LayoutError, UnsupportedError
from .base import Layout

__all__ = ["layout_class", "layout_from_dict", "layout_names", "register_layout"]

# name -> "module:Class". Adding a layout is one line here (or register_layout at run time).
_BUILTIN: dict[str, str] = {
    "raw": "qformat.layouts.raw:RawLayout",
    "bitpack": "qformat.layouts.bitpack:BitPackedLayout",
    "sparse": "qformat.layouts.sparse:SparseLayout",
    "codebook": "qformat.layouts.codebook:CodebookLayout",
}
_LOADED: dict[str, type[Layout]] = {}
_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")


def register_layout(cls: type[Layout]) -> type[Layout]:
    """Register a third-party layout class (usable as a decorator). Names must be dotted."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not _NAME.match(name):
        raise LayoutError("invalid layout name", field="name", found=name)
    if name in _BUILTIN and _BUILTIN[name] != f"{cls.__module__}:{cls.__qualname__}":
        raise LayoutError("layout name is reserved by qformat", field="name", found=name)
    _LOADED[name] = cls
    return cls


def layout_names() -> list[str]:
    """Every layout name this installation can read."""
    return sorted(set(_BUILTIN) | set(_LOADED))


def is_known(name: str) -> bool:
    return name in _BUILTIN or name in _LOADED


def layout_class(name: str) -> type[Layout]:
    """The class registered under ``name``; UnsupportedError naming the known ones otherwise."""
    cls = _LOADED.get(name)
    if cls is not None:
        return cls
    target = _BUILTIN.get(name)
    if target is None:
        raise UnsupportedError("unknown layout", field="layout.name",
                               expected=layout_names(), found=name)
    module, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    _LOADED[name] = cls
    return cls


def layout_from_dict(obj: Mapping[str, Any]) -> Layout:
    """``{"name": ..., "config": {...}}`` -> a Layout instance."""
    if not isinstance(obj, Mapping) or not isinstance(obj.get("name"), str):
        raise LayoutError("layout must be an object with a string 'name'", field="layout",
                          found=obj)
    return layout_class(obj["name"]).from_config(obj.get("config", {}))
