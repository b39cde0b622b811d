"""The JSON header: strict parsing, validation against the layouts, and serialization.

One validation function (:func:`parse_header`) serves the reader and the writer (which re-reads
what it is about to commit), so whatever the writer emits the reader accepts. Clause ids in
messages refer to ``specs/qformat.md``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from .. import limits, spec
from ..dtypes import DTYPES
from ..errors import HeaderError, LayoutError, LimitError, QFormatError, UnsupportedError
from ..layouts import registry
from ..layouts.base import Layout, PartSpec

__all__ = ["Header", "PartEntry", "TensorEntry", "decode_header", "dump_header", "loads_strict",
           "parse_header"]

_TOP_KEYS = frozenset({"metadata", "tensors"})
_TENSOR_KEYS = frozenset({"name", "dtype", "shape", "layout", "parts"})
_LAYOUT_KEYS = frozenset({"name", "config"})
_LAYOUT_OPTIONAL = frozenset({"must_understand"})
_PART_KEYS = frozenset({"name", "dtype", "shape", "offset", "nbytes", spec.CHECKSUM})
_HEX16 = re.compile(r"^[0-9a-f]{16}$")
_NONE: frozenset[str] = frozenset()
_ALIGN_MASK = spec.ALIGNMENT - 1


class PartEntry(NamedTuple):
    name: str
    dtype: str
    shape: tuple[int, ...]
    offset: int  # relative to the start of the data section
    nbytes: int
    checksum: int


class TensorEntry(NamedTuple):
    name: str
    dtype: str
    shape: tuple[int, ...]
    layout: Layout | None  # None: unknown layout marked must_understand=false (skipped)
    layout_dict: dict[str, Any]
    parts: tuple[PartEntry, ...]

    @property
    def nbytes(self) -> int:
        return sum(p.nbytes for p in self.parts)


@dataclass(frozen=True, slots=True)
class Header:
    metadata: dict[str, Any]
    tensors: tuple[TensorEntry, ...]
    skipped: tuple[str, ...]  # names of tensors with an unknown optional layout
    data_length: int  # end of the last part, relative to the data section


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise HeaderError("duplicate key in a JSON object [QF-HDR-003]", field=dup)
    return out


def _no_constant(name: str) -> Any:
    raise HeaderError("JSON constant not allowed [QF-HDR-003]", found=name)


def loads_strict(text: str, what: str = "header") -> Any:
    """json.loads that rejects duplicate keys, NaN/Infinity and excessive nesting."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except QFormatError:
        raise
    except RecursionError:
        raise LimitError(f"{what} JSON nests too deeply [QF-HDR-005]",
                         expected=f"<= {limits.QF_MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:  # JSONDecodeError
        raise HeaderError(f"{what} is not valid JSON [QF-HDR-002]", found=str(exc)) from None


def _depth(value: Any) -> int:
    """Nesting depth of a JSON value, iteratively."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            deepest = max(deepest, d)
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list):
            deepest = max(deepest, d)
            stack.extend((x, d + 1) for x in v)
    return deepest


def _keys(obj: Any, required: frozenset[str], optional: frozenset[str], where: str, strict: bool,
          clause: str, tensor: str | None = None) -> None:
    if type(obj) is dict and obj.keys() == required:  # the common case, one C comparison
        return
    if not isinstance(obj, dict):
        raise HeaderError(f"{where} must be a JSON object [{clause}]", tensor=tensor, field=where,
                          found=type(obj).__name__)
    keys = obj.keys()
    if not required <= keys:
        raise HeaderError(f"{where} lacks required keys [{clause}]", tensor=tensor, field=where,
                          expected=sorted(required), found=sorted(keys))
    if strict and not keys <= required | optional:
        raise HeaderError(f"{where} has unknown keys [{clause}]", tensor=tensor, field=where,
                          expected=sorted(required | optional),
                          found=sorted(keys - required - optional))


def check_name(name: Any, field: str, clause: str, tensor: str | None = None) -> str:
    if type(name) is str and name.isascii() and 0 < len(name) <= limits.QF_MAX_NAME_BYTES:
        return name  # fast path: ASCII length is the UTF-8 length
    if not isinstance(name, str) or not name:
        raise HeaderError(f"{field} must be a non-empty string [{clause}]", tensor=tensor,
                          field=field, found=name)
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        raise HeaderError(f"{field} is not valid UTF-8 (lone surrogate) [{clause}]",
                          tensor=tensor, field=field, found=ascii(name)) from None
    if size > limits.QF_MAX_NAME_BYTES:
        raise LimitError(f"{field} is too long [{clause}]", tensor=tensor, field=field,
                         expected=f"<= {limits.QF_MAX_NAME_BYTES} bytes", found=f"{size} bytes")
    return name


def check_shape(shape: Any, field: str, clause: str, tensor: str | None = None) -> tuple[int, ...]:
    if type(shape) is list and len(shape) <= limits.MAX_NDIM:  # fast path
        n = 1
        for d in shape:
            if type(d) is not int or d < 0:
                break
            n *= d
        else:
            if n <= limits.MAX_ELEMENTS:
                return tuple(shape)
    if not isinstance(shape, list | tuple) or not all(
        type(d) is int and d >= 0 for d in shape
    ):
        raise HeaderError(f"{field} must be a list of non-negative integers [{clause}]",
                          tensor=tensor, field=field, found=shape)
    if len(shape) > limits.MAX_NDIM:
        raise LimitError(f"{field} has too many dimensions [{clause}]", tensor=tensor,
                         field=field, expected=f"<= {limits.MAX_NDIM}", found=len(shape))
    n = 1
    for d in shape:
        n *= d
    if n > limits.MAX_ELEMENTS:
        raise LimitError(f"{field} has too many elements [{clause}]", tensor=tensor, field=field,
                         expected=f"<= {limits.MAX_ELEMENTS}", found=n)
    return tuple(shape)


def _check_dtype(code: Any, field: str, clause: str, tensor: str) -> str:
    if code not in DTYPES:
        raise HeaderError(f"unknown {field} [{clause}]", tensor=tensor, field=field,
                          expected=sorted(DTYPES), found=code)
    return code


def check_metadata(metadata: Any) -> dict[str, Any]:
    if not isinstance(metadata, dict):
        raise HeaderError("metadata must be a JSON object [QF-HDR-006]", field="metadata",
                          found=type(metadata).__name__)
    if _depth(metadata) > limits.QF_MAX_JSON_DEPTH:
        raise LimitError("metadata nests too deeply [QF-HDR-005]", field="metadata",
                         expected=f"<= {limits.QF_MAX_JSON_DEPTH} levels")
    return metadata


def decode_header(body: str, *, minor: int, data_available: int, path: str = "") -> Header:
    """Parse and validate header text: the bulk fast path, else the detailed validator."""
    from ._fast_header import fast_header

    header = fast_header(body, minor, data_available)
    if header is not None:
        return header
    try:
        obj = loads_strict(body)
    except QFormatError as exc:
        raise exc.with_context(path=path) from None
    return parse_header(obj, minor=minor, data_available=data_available, path=path)


def parse_header(obj: Any, *, minor: int, data_available: int, path: str = "") -> Header:
    """Validate a decoded header against the spec and the layouts.

    ``data_available`` is the number of bytes after the header; parts must cover it exactly.
    """
    strict = minor <= spec.VERSION[1]
    try:
        _keys(obj, _TOP_KEYS, _NONE, "header", strict, "QF-HDR-004")
        metadata = check_metadata(obj["metadata"])
        tensors = obj["tensors"]
        if not isinstance(tensors, list):
            raise HeaderError("tensors must be a JSON array [QF-TEN-001]", field="tensors",
                              found=type(tensors).__name__)
        if len(tensors) > limits.QF_MAX_TENSORS:
            raise LimitError("too many tensors [QF-TEN-001]", field="tensors",
                             expected=f"<= {limits.QF_MAX_TENSORS}", found=len(tensors))
        entries: list[TensorEntry] = []
        skipped: list[str] = []
        names: set[str] = set()
        layout_cache: dict[Any, Layout] = {}
        spec_cache: dict[Any, tuple[PartSpec, ...]] = {}
        end = 0  # running end of the data written so far
        for t in tensors:
            entry, end = _parse_tensor(t, strict, end, data_available, layout_cache, spec_cache)
            if entry.name in names:
                raise HeaderError("duplicate tensor name [QF-TEN-003]", tensor=entry.name,
                                  field="name")
            names.add(entry.name)
            if entry.layout is None:
                skipped.append(entry.name)
            entries.append(entry)
        if end != data_available:
            raise HeaderError("bytes after the last part (trailing data) [QF-DAT-002]",
                              field="file size", expected=f"{end} data bytes",
                              found=f"{data_available} data bytes")
    except QFormatError as exc:
        raise exc.with_context(path=path) from None
    return Header(metadata, tuple(entries), tuple(skipped), end)


def _parse_tensor(t: Any, strict: bool, end: int, available: int,
                  layout_cache: dict[Any, Layout],
                  spec_cache: dict[Any, tuple[PartSpec, ...]]) -> tuple[TensorEntry, int]:
    # Hot loop of a 20,000-tensor header: fast paths first, messages built only on error.
    if type(t) is not dict or t.keys() != _TENSOR_KEYS:
        _keys(t, _TENSOR_KEYS, _NONE, "tensor entry", strict, "QF-TEN-002",
              tensor=t.get("name") if isinstance(t, dict) and isinstance(t.get("name"), str)
              else None)
    name = check_name(t["name"], "name", "QF-TEN-003")
    dtype = t["dtype"]
    if dtype not in DTYPES:
        _check_dtype(dtype, "dtype", "QF-TEN-004", name)
    shape = check_shape(t["shape"], "shape", "QF-TEN-005", name)
    lay = t["layout"]
    if type(lay) is not dict or lay.keys() != _LAYOUT_KEYS:
        _keys(lay, _LAYOUT_KEYS, _LAYOUT_OPTIONAL, "layout", strict, "QF-TEN-006", name)
    must = lay.get("must_understand", True)
    if type(must) is not bool:
        raise HeaderError("layout.must_understand must be a boolean [QF-TEN-006]", tensor=name,
                          field="layout.must_understand", found=must)
    lname = lay["name"]
    if type(lname) is not str:
        raise HeaderError("layout.name must be a string [QF-TEN-006]", tensor=name,
                          field="layout.name", found=lname)
    layout: Layout | None = None
    specs: tuple[PartSpec, ...] | None = None
    if registry.is_known(lname):
        config = lay["config"]
        try:  # tensors of one model share a handful of configurations: build each once
            key: Any = (lname, frozenset(config.items()) if type(config) is dict else config)
            hash(key)
        except TypeError:  # nested values: fall back to a canonical JSON text
            key = (lname, json.dumps(config, sort_keys=True))
        layout = layout_cache.get(key)
        if layout is None:
            try:
                layout = registry.layout_class(lname).from_config(config)
            except QFormatError as exc:
                raise exc.with_context(tensor=name) from None
            layout_cache[key] = layout
        skey = (key, shape, dtype)  # models repeat shapes: compute each part list once
        specs = spec_cache.get(skey)
        if specs is None:
            try:
                specs = layout.part_specs(shape, dtype)
            except QFormatError as exc:
                raise exc.with_context(tensor=name) from None
            spec_cache[skey] = specs
    elif must:
        raise UnsupportedError("unknown layout [QF-TEN-006]", tensor=name, field="layout.name",
                               expected=registry.layout_names(), found=lname)

    parts = t["parts"]
    if type(parts) is not list or len(parts) > limits.QF_MAX_PARTS:
        raise (LimitError if isinstance(parts, list) else HeaderError)(
            "parts must be a JSON array of bounded length [QF-PRT-001]", tensor=name,
            field="parts", expected=f"array of <= {limits.QF_MAX_PARTS}",
            found=len(parts) if isinstance(parts, list) else type(parts).__name__)
    if specs is not None and (len(parts) != len(specs) or any(
        type(p) is not dict or p.get("name") != s.name for p, s in zip(parts, specs)
    )):
        raise LayoutError(f"parts do not match the {lname} layout [QF-PRT-002]",
                          tensor=name, field="parts", expected=[s.name for s in specs],
                          found=[p.get("name") if isinstance(p, dict) else p for p in parts])
    entries = []
    seen: set[str] = set()
    for i, p in enumerate(parts):
        if type(p) is not dict or p.keys() != _PART_KEYS:
            _keys(p, _PART_KEYS, _NONE, f"parts[{i}]", strict, "QF-PRT-001", name)
        pname = check_name(p["name"], f"parts[{i}].name", "QF-PRT-001", name)
        if pname in seen:
            raise HeaderError("duplicate part name [QF-PRT-001]", tensor=name,
                              field=f"parts.{pname}")
        seen.add(pname)
        pdtype = p["dtype"]
        if pdtype not in DTYPES:
            _check_dtype(pdtype, f"parts.{pname}.dtype", "QF-PRT-001", name)
        pshape = check_shape(p["shape"], f"parts.{pname}.shape", "QF-PRT-001", name)
        if specs is not None:
            s = specs[i]
            if pdtype != s.dtype or pshape != tuple(s.shape):
                raise LayoutError(f"part does not match the {lname} layout [QF-PRT-002]",
                                  tensor=name, field=f"parts.{pname}",
                                  expected=f"{s.dtype}{list(s.shape)}",
                                  found=f"{pdtype}{list(pshape)}")
        offset, nbytes = p["offset"], p["nbytes"]
        if type(offset) is not int or offset < 0:
            raise HeaderError("offset must be a non-negative integer [QF-PRT-001]", tensor=name,
                              field=f"parts.{pname}.offset", found=offset)
        if type(nbytes) is not int or nbytes < 0:
            raise HeaderError("nbytes must be a non-negative integer [QF-PRT-001]", tensor=name,
                              field=f"parts.{pname}.nbytes", found=nbytes)
        want = DTYPES[pdtype].itemsize
        for d in pshape:
            want *= d
        if nbytes != want:
            raise LayoutError("nbytes does not match dtype and shape [QF-PRT-002]", tensor=name,
                              field=f"parts.{pname}.nbytes", expected=want, found=nbytes)
        expected_offset = (end + _ALIGN_MASK) & ~_ALIGN_MASK
        if offset != expected_offset:
            raise HeaderError(
                "part is not where the previous part ends, aligned "
                "(overlap, hole, misalignment or wrong order) [QF-DAT-001]",
                tensor=name, field=f"parts.{pname}.offset", expected=expected_offset,
                found=offset)
        end = offset + nbytes
        if end > available:
            raise HeaderError("part extends past the end of the file (truncated?) [QF-DAT-002]",
                              tensor=name, field=f"parts.{pname}.offset",
                              expected=f"end <= {available}", found=f"end {end}")
        digest = p[spec.CHECKSUM]
        if type(digest) is not str or not _HEX16.match(digest):
            raise HeaderError("checksum must be 16 lowercase hex digits [QF-PRT-003]",
                              tensor=name, field=f"parts.{pname}.{spec.CHECKSUM}",
                              found=digest)
        entries.append(PartEntry(pname, pdtype, pshape, offset, nbytes, int(digest, 16)))
    return TensorEntry(name, dtype, shape, layout, lay, tuple(entries)), end


def dump_header(metadata: Mapping[str, Any], tensors: list[dict[str, Any]]) -> bytes:
    """Serialize a header (compact JSON, UTF-8, no padding)."""
    obj = {"metadata": dict(metadata), "tensors": tensors}
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
