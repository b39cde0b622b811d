"""A strict, header-only parser for one ``.safetensors`` file.

The format: 8 bytes little-endian header length N, N bytes of UTF-8 JSON (``{`` first, trailing
0x20 padding allowed), then a byte buffer that the tensors' ``data_offsets`` tile exactly. We
check more than the reference library does (it accepts duplicate keys, see
``../shared/notes/security-anchors.md`` §1.1): duplicate keys, NaN constants, holes, overlaps,
trailing bytes, sizes that do not match shape x dtype, unknown dtypes and non-string
``__metadata__`` are all typed errors, found before anything is allocated from file numbers.
"""

from __future__ import annotations

import json
import struct
from typing import Any, BinaryIO, NamedTuple

from ... import limits
from ...errors import HeaderError, LimitError, QFormatError, UnsupportedError

__all__ = ["ST_DTYPE_BITS", "StoredTensor", "loads_json_strict", "parse_safetensors_header",
           "read_safetensors_header"]

#: Bits per element of every dtype the safetensors format defines (safetensors 0.8.0's enum).
ST_DTYPE_BITS: dict[str, int] = {
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8,
    "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
    "I16": 16, "U16": 16, "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32,
    "C64": 64, "F64": 64, "I64": 64, "U64": 64,
}
_ENTRY_KEYS = {"dtype", "shape", "data_offsets"}


class StoredTensor(NamedTuple):
    """One tensor as the file stores it; ``start`` is an absolute file offset."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    start: int
    nbytes: int
    shard: int = 0

    @property
    def numel(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


def _pairs_no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise HeaderError("duplicate key in a JSON object (a parser differential: readers "
                          "disagree on which entry wins)", field=dup)
    return out


def _no_constant(name: str) -> Any:
    raise HeaderError("JSON constant is not allowed", field="json", found=name)


def loads_json_strict(text: str | bytes, what: str) -> Any:
    """json.loads rejecting duplicate keys, NaN/Infinity and runaway nesting (typed errors)."""
    try:
        return json.loads(text, object_pairs_hook=_pairs_no_duplicates,
                          parse_constant=_no_constant)
    except QFormatError as exc:
        raise type(exc)(f"{what}: {exc.detail}", field=exc.field,
                        found=exc.found if exc.found is not None else "duplicate") from None
    except RecursionError:
        raise LimitError(f"{what} nests too deeply", field="json") from None
    except UnicodeDecodeError as exc:
        raise HeaderError(f"{what} is not valid UTF-8", field="json",
                          found=f"byte {exc.start}") from None
    except ValueError as exc:  # JSONDecodeError
        raise HeaderError(f"{what} is not valid JSON", field="json", found=str(exc)) from None


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_safetensors_header(raw: bytes, buffer_size: int, *, path: str = "", shard: int = 0,
                             data_start: int = 0
                             ) -> tuple[dict[str, str] | None, list[StoredTensor], list[str]]:
    """Validate one header (the N JSON bytes) against a data buffer of ``buffer_size`` bytes.

    Returns ``(__metadata__ or None, tensors in header order, warnings)``. Every tensor's range
    is checked: known dtype, non-negative dims, byte size = elements x dtype bits / 8, and the
    ranges tile ``[0, buffer_size)`` exactly (no hole, overlap or trailing byte).
    """
    if raw[:1] != b"{":
        raise HeaderError("safetensors header must start with '{'", path=path, field="header",
                          found=raw[:16])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HeaderError("safetensors header is not valid UTF-8", path=path, field="header",
                          found=f"byte {exc.start}") from None
    body = text.rstrip(" ")
    if not body.endswith("}"):
        raise HeaderError("safetensors header must end with '}' padded only with spaces (0x20)",
                          path=path, field="header", found=text[-16:])
    try:
        obj = loads_json_strict(body, "safetensors header")
    except QFormatError as exc:
        raise exc.with_context(path=path) from None
    if not isinstance(obj, dict):
        raise HeaderError("safetensors header must be a JSON object", path=path, field="header",
                          found=type(obj).__name__)
    if len(obj) > limits.SAFETENSORS_MAX_TENSORS + 1:
        raise LimitError("too many tensors in one safetensors header", path=path,
                         field="header", expected=f"<= {limits.SAFETENSORS_MAX_TENSORS}",
                         found=len(obj))
    warnings: list[str] = []
    metadata = obj.pop("__metadata__", None)
    if metadata is not None and (not isinstance(metadata, dict) or not all(isinstance(v, str)
                                                 for v in metadata.values())):
        raise HeaderError("__metadata__ must map strings to strings", path=path,
                          field="__metadata__",
                          found=type(metadata).__name__ if not isinstance(metadata, dict)
                          else next(type(v).__name__ for v in metadata.values()
                                    if not isinstance(v, str)))
    tensors: list[StoredTensor] = []
    append = tensors.append
    bits_of, max_ndim, max_el = ST_DTYPE_BITS.get, limits.MAX_NDIM, limits.MAX_ELEMENTS
    for name, entry in obj.items():
        # fast path for the common well-formed entry; anything unusual is re-checked by
        # _entry, which names exactly what is wrong
        if type(entry) is dict and len(entry) == 3 and name and len(name) <= _NAME_CHARS_SAFE:
            dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), \
                entry.get("data_offsets")
            bits = bits_of(dtype) if type(dtype) is str else None
            if (bits is not None and type(shape) is list and len(shape) <= max_ndim
                    and type(offsets) is list and len(offsets) == 2):
                numel = 1
                for dim in shape:
                    if type(dim) is not int or dim < 0 or dim > max_el:
                        break
                    numel *= dim
                else:
                    begin, end = offsets
                    if (type(begin) is int and type(end) is int
                            and 0 <= begin <= end <= buffer_size and numel <= max_el
                            and not (numel * bits) % 8 and end - begin == numel * bits // 8):
                        append(StoredTensor(name, dtype, tuple(shape), data_start + begin,
                                            end - begin, shard))
                        continue
        append(_entry(name, entry, buffer_size, path, shard, data_start, warnings))
    _check_tiling(tensors, buffer_size, data_start, path)
    return metadata, tensors, warnings


_NAME_CHARS_SAFE = limits.SAFETENSORS_MAX_NAME_BYTES // 4  # UTF-8 needs at most 4 bytes/char


def _entry(name: str, entry: Any, buffer_size: int, path: str, shard: int, data_start: int,
           warnings: list[str]) -> StoredTensor:
    """One header entry, every field checked; the error names what is wrong."""
    if not name:
        raise HeaderError("empty tensor name", path=path, field="header")
    if len(name.encode("utf-8", "surrogatepass")) > limits.SAFETENSORS_MAX_NAME_BYTES:
        raise LimitError("tensor name too long", path=path, tensor=name[:64], field="name",
                         expected=f"<= {limits.SAFETENSORS_MAX_NAME_BYTES} bytes")
    if not isinstance(entry, dict):
        raise HeaderError("tensor entry must be an object", path=path, tensor=name,
                          field="header", found=type(entry).__name__)
    missing = _ENTRY_KEYS - entry.keys()
    if missing:
        raise HeaderError("tensor entry lacks keys", path=path, tensor=name, field="header",
                          expected=sorted(_ENTRY_KEYS), found=sorted(entry))
    extra = entry.keys() - _ENTRY_KEYS
    if extra:
        warnings.append(f"tensor {name!r}: unknown header keys ignored: {sorted(extra)}")
    dtype = entry["dtype"]
    if not isinstance(dtype, str):
        raise HeaderError("dtype must be a string", path=path, tensor=name, field="dtype",
                          found=type(dtype).__name__)
    bits = ST_DTYPE_BITS.get(dtype)
    if bits is None:
        raise UnsupportedError("unknown safetensors dtype", path=path, tensor=name,
                               field="dtype", expected=sorted(ST_DTYPE_BITS), found=dtype)
    shape = entry["shape"]
    if not isinstance(shape, list) or not all(_int(d) for d in shape):
        raise HeaderError("shape must be a list of integers", path=path, tensor=name,
                          field="shape", found=shape)
    if len(shape) > limits.MAX_NDIM:
        raise LimitError("too many dimensions", path=path, tensor=name, field="shape",
                         expected=f"<= {limits.MAX_NDIM}", found=len(shape))
    numel = 1
    for d in shape:
        if d < 0:
            raise HeaderError("negative dimension", path=path, tensor=name, field="shape",
                              found=shape)
        if d > limits.MAX_ELEMENTS:
            raise LimitError("dimension too large", path=path, tensor=name, field="shape",
                             expected=f"<= {limits.MAX_ELEMENTS}", found=d)
        numel *= d  # Python int: no wrap-around
    if numel > limits.MAX_ELEMENTS:
        raise LimitError("tensor has too many elements", path=path, tensor=name, field="shape",
                         expected=f"<= {limits.MAX_ELEMENTS}", found=numel)
    offsets = entry["data_offsets"]
    if (not isinstance(offsets, list) or len(offsets) != 2 or not all(_int(o) for o in offsets)):
        raise HeaderError("data_offsets must be [begin, end] integers", path=path, tensor=name,
                          field="data_offsets", found=offsets)
    begin, end = offsets
    if begin < 0 or end < begin:
        raise HeaderError("data_offsets must satisfy 0 <= begin <= end", path=path, tensor=name,
                          field="data_offsets", found=offsets)
    if end > buffer_size:
        raise HeaderError("tensor data extends past the end of the file (truncated?)",
                          path=path, tensor=name, field="data_offsets",
                          expected=f"end <= {buffer_size}", found=offsets)
    total_bits = numel * bits
    if total_bits % 8:
        raise HeaderError("sub-byte tensor does not end on a byte boundary", path=path,
                          tensor=name, field="shape", found=f"{numel} x {dtype}")
    nbytes = total_bits // 8
    if end - begin != nbytes:
        raise HeaderError("byte range does not match shape x dtype", path=path, tensor=name,
                          field="data_offsets", expected=f"{nbytes} bytes ({shape} {dtype})",
                          found=f"{end - begin} bytes")
    return StoredTensor(name, dtype, tuple(shape), data_start + begin, nbytes, shard)


def _check_tiling(tensors: list[StoredTensor], buffer_size: int, data_start: int,
                  path: str) -> None:
    """The ranges must cover the buffer exactly, in offset order (empty tensors on a boundary)."""
    pos = 0
    for t in sorted(tensors, key=_by_range):
        begin = t.start - data_start
        if begin != pos:
            what = "overlaps the previous tensor" if begin < pos else "leaves a hole before it"
            raise HeaderError(f"tensor data {what}: the byte buffer must be tiled exactly",
                              path=path, tensor=t.name, field="data_offsets",
                              expected=f"begin = {pos}", found=f"begin = {begin}")
        pos = begin + t.nbytes
    if pos != buffer_size:
        raise HeaderError("bytes after the last tensor (trailing data or polyglot file)",
                          path=path, field="data_offsets", expected=f"buffer of {pos} bytes",
                          found=f"{buffer_size} bytes")


def _by_range(t: StoredTensor) -> tuple[int, int]:
    return t.start, t.nbytes


def read_safetensors_header(f: BinaryIO, file_size: int, *, path: str = "", shard: int = 0
                            ) -> tuple[dict[str, str] | None, list[StoredTensor], list[str]]:
    """Read and validate the header of an open ``.safetensors`` file (two reads)."""
    if file_size < 8:
        raise HeaderError("file too short for a safetensors header", path=path,
                          field="header_length", expected=">= 8 bytes", found=file_size)
    f.seek(0)
    head = f.read(8)
    if len(head) != 8:
        raise HeaderError("file too short for a safetensors header", path=path,
                          field="header_length", expected="8 bytes", found=len(head))
    (n,) = struct.unpack("<Q", head)
    if n > limits.SAFETENSORS_MAX_HEADER_BYTES:
        raise LimitError("safetensors header is larger than the limit", path=path,
                         field="header_length",
                         expected=f"<= {limits.SAFETENSORS_MAX_HEADER_BYTES}", found=n)
    if n > file_size - 8:
        raise HeaderError("safetensors header extends past the end of the file", path=path,
                          field="header_length", expected=f"<= {file_size - 8}", found=n)
    raw = f.read(n)
    if len(raw) != n:
        raise HeaderError("safetensors header is truncated", path=path, field="header",
                          expected=f"{n} bytes", found=f"{len(raw)} bytes")
    return parse_safetensors_header(raw, file_size - 8 - n, path=path, shard=shard,
                                    data_start=8 + n)
