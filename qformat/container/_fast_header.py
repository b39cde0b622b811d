"""Bulk validation of typical .qf headers (tens of thousands of tensors in a fraction of a second).

:func:`header.parse_header` is the normative validator: it checks one entry at a time and
explains the first problem it finds. This module answers only "is every rule met?" for the
common case, with whole-list operations (set and list comparisons, ``bytes.fromhex``, numpy on
the offsets). Anything unusual (unknown or optional layouts, newer minor versions, non-ASCII
names, a shape with 0/1 dims that could be JSON booleans...) or any failed rule returns
``None`` and the caller runs the detailed validator, which then raises with a precise message.
It must never accept a header the detailed validator rejects; ``tests/test_fast_header.py``
checks both on every fixture and on mutated headers.

Duplicate JSON keys are excluded without an ``object_pairs_hook``: after a plain parse, every
key/value pair of the text shows up as a ``":`` (the fast path requires every colon of the text
to follow a quote, so no whitespace sits before a pair's colon); a string can add spurious
``":`` but never hide one. So if the number of ``":`` in
the text equals the number of keys in the parsed objects, no object had a duplicate key.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .. import limits, spec
from ..dtypes import DTYPES
from ..layouts import registry
from ..layouts.base import Layout, PartSpec
from .header import (
    _LAYOUT_KEYS,
    _PART_KEYS,
    _TENSOR_KEYS,
    _TOP_KEYS,
    Header,
    PartEntry,
    TensorEntry,
    _depth,
    _no_constant,
)

__all__ = ["fast_header"]

_ALIGN_MASK = spec.ALIGNMENT - 1


def _pairs(value: Any) -> int:
    """Number of object keys in a JSON value (iterative)."""
    n = 0
    stack = [value]
    while stack:
        v = stack.pop()
        if type(v) is dict:
            n += len(v)
            stack.extend(x for x in v.values() if type(x) in (dict, list))
        elif type(v) is list:
            stack.extend(x for x in v if type(x) in (dict, list))
    return n


def _shape_ok(shape: Any) -> bool:
    if type(shape) is not list or len(shape) > limits.MAX_NDIM:
        return False
    n = 1
    for d in shape:
        if type(d) is not int or d < 0:  # also rejects JSON booleans
            return False
        n *= d
    return n <= limits.MAX_ELEMENTS


def fast_header(body: str, minor: int, data_available: int) -> Header | None:
    """The validated header if ``body`` is a typical, valid header; otherwise None."""
    # every colon right after a quote: no whitespace hides a key from the '":' count below
    if minor > spec.VERSION[1] or body.count(":") != body.count('":'):
        return None
    try:
        obj = json.loads(body, parse_constant=_no_constant)
    except Exception:  # anything odd: let the detailed path explain it
        return None
    try:
        return _validate(obj, body, data_available)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, IndexError):
        return None


def _validate(obj: Any, body: str, available: int) -> Header | None:
    if type(obj) is not dict or obj.keys() != _TOP_KEYS:
        return None
    metadata, tensors = obj["metadata"], obj["tensors"]
    if type(metadata) is not dict or type(tensors) is not list:
        return None
    if len(tensors) > limits.QF_MAX_TENSORS or _depth(metadata) > limits.QF_MAX_JSON_DEPTH:
        return None
    pairs = 2 + _pairs(metadata)

    # names: unique, ASCII (UTF-8 length = length), non-empty, short
    if not all(type(t) is dict and t.keys() == _TENSOR_KEYS for t in tensors):
        return None
    names = [t["name"] for t in tensors]
    if not all(type(n) is str for n in names):
        return None
    if names and (not "".join(names).isascii() or len(set(names)) != len(names)
                  or min(map(len, names)) < 1
                  or max(map(len, names)) > limits.QF_MAX_NAME_BYTES):
        return None
    pairs += 5 * len(tensors)

    layout_cache: dict[Any, tuple[Layout, int]] = {}
    spec_cache: dict[Any, tuple[tuple[PartSpec, ...], list[tuple[str, str, list[int], int]]]] = {}
    part_lists = []
    tensor_meta = []
    for t in tensors:
        lay = t["layout"]
        if type(lay) is not dict or lay.keys() != _LAYOUT_KEYS:
            return None  # must_understand present, or malformed: detailed path
        lname, config = lay["name"], lay["config"]
        if type(lname) is not str or type(config) is not dict or not registry.is_known(lname):
            return None
        key = (lname, frozenset(config.items()))  # TypeError for nested values -> None
        cached = layout_cache.get(key)
        if cached is None:
            from ..errors import QFormatError

            try:
                cached = (registry.layout_class(lname).from_config(config), _pairs(config))
            except QFormatError:
                return None
            layout_cache[key] = cached
        layout, config_pairs = cached
        pairs += 2 + config_pairs
        shape, dtype = t["shape"], t["dtype"]
        if type(dtype) is not str or dtype not in DTYPES or not _shape_ok(shape):
            return None
        shape_t = tuple(shape)
        skey = (key, shape_t, dtype)
        s = spec_cache.get(skey)
        if s is None:
            from ..errors import QFormatError

            try:
                specs = layout.part_specs(shape_t, dtype)
            except QFormatError:
                return None
            flat = [(ps.name, ps.dtype, list(ps.shape), ps.nbytes) for ps in specs]
            if len(flat) > limits.QF_MAX_PARTS or len({f[0] for f in flat}) != len(flat):
                return None
            s = (specs, flat)
            spec_cache[skey] = s
        parts = t["parts"]
        flat = s[1]
        if type(parts) is not list or len(parts) != len(flat):
            return None
        for p, (pname, pdtype, pshape, pnbytes) in zip(parts, flat):
            if (type(p) is not dict or p.keys() != _PART_KEYS or p["name"] != pname
                    or p["dtype"] != pdtype or p["shape"] != pshape or p["nbytes"] != pnbytes):
                return None
            if not _shape_ok(p["shape"]):  # [2.0, true] == [2, 1] in Python: check types
                return None
        pairs += 6 * len(parts)
        part_lists.append(parts)
        tensor_meta.append((t["name"], dtype, shape_t, layout, lay, s[0]))

    if body.count('":') != pairs:
        return None  # a duplicate key, or a string that contains '":': detailed path decides

    all_parts = [p for parts in part_lists for p in parts]
    offsets = [p["offset"] for p in all_parts]
    nbytes = [p["nbytes"] for p in all_parts]
    digests = [p[spec.CHECKSUM] for p in all_parts]
    if not all(type(o) is int for o in offsets) or not all(type(n) is int for n in nbytes):
        return None
    if all_parts and (max(offsets) >= 1 << 62 or max(nbytes) >= 1 << 62):
        return None  # keep the numpy arithmetic below far from int64 overflow
    if not all(type(d) is str and len(d) == 16 for d in digests):
        return None
    joined = "".join(digests)
    if joined != joined.lower():
        return None
    sums = np.frombuffer(bytes.fromhex(joined), dtype=">u8") if joined else np.zeros(0, ">u8")
    if all_parts:
        off = np.array(offsets, dtype=np.int64)
        ends = off + np.array(nbytes, dtype=np.int64)
        expect = np.empty_like(off)
        expect[0] = 0
        expect[1:] = (ends[:-1] + _ALIGN_MASK) & ~_ALIGN_MASK
        if (off != expect).any() or (off < 0).any() or int(ends[-1]) != available:
            return None
        if int(ends.max()) > available:
            return None
    elif available != 0:
        return None

    entries = []
    i = 0
    sums_list = sums.tolist()
    for name, dtype, shape_t, layout, lay, specs in tensor_meta:
        pe = []
        for ps in specs:
            pe.append(PartEntry(ps.name, ps.dtype, tuple(ps.shape), offsets[i], nbytes[i],
                                sums_list[i]))
            i += 1
        entries.append(TensorEntry(name, dtype, shape_t, layout, lay, tuple(pe)))
    end = int(ends[-1]) if all_parts else 0
    return Header(metadata, tuple(entries), (), end)
