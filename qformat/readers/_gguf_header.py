"""A bounded walker for GGUF headers: metadata and tensor table, checked before trusted.

Every count, length and offset read from the file is checked against a cap of
:mod:`qformat.limits` *and* against the bytes left in the file before anything is allocated or
skipped, with Python integers (no wrap-around). Large metadata arrays (a 150k-token vocabulary)
are walked without creating a Python object per element: only their position is kept, and
:func:`read_array` decodes them on request. Arrays of arrays are walked iteratively up to
:data:`~qformat.limits.GGUF_MAX_NESTING` levels.

The tensor table is then checked the way ggml's own reader does: each tensor's offset is
aligned and equals the running, alignment-padded sum of the sizes before it (no gap, overlap or
reordering), and every tensor lies inside the file. Tensors of a type id the installed ``gguf``
package does not know keep the file readable: their size is taken from where the next tensor
starts (or the end of the file).

Value and tensor type ids and block sizes come from the installed ``gguf`` package.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from .. import limits
from ..errors import HeaderError, LimitError, UnsupportedError

__all__ = [
    "ArrayRef",
    "GGMLType",
    "GGUFHeader",
    "KeyValue",
    "TensorRecord",
    "ggml_type",
    "parse_header",
    "read_array",
]

MAGIC = b"GGUF"
#: GGUF versions this walker reads (v1 used 32-bit counts and is obsolete).
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32
#: Arrays up to this many elements are shown as lists in ``Model.metadata``; longer ones as
#: a summary ``{"type": "array", "item_type": ..., "length": n}``.
INLINE_ARRAY_ITEMS = 64
#: Tensor names this long or longer are refused by llama.cpp (GGML_MAX_NAME = 64).
GGML_MAX_NAME = 64

# struct codes of the scalar value types, by GGUFValueType member name
_SCALAR_CODES = {
    "UINT8": "B", "INT8": "b", "UINT16": "H", "INT16": "h", "UINT32": "I", "INT32": "i",
    "FLOAT32": "f", "BOOL": "B", "UINT64": "Q", "INT64": "q", "FLOAT64": "d",
}
# smallest encoding of one value of each kind, for count-vs-bytes-left checks
_MIN_KV_BYTES = 8 + 4 + 1  # key length, value type, one byte of value
_MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8  # name length, n_dims, type, offset
_MIN_ARRAY_BYTES = 4 + 8  # an array inside an array: item type + count


@cache
def _value_types() -> dict[int, str]:
    """GGUF value type id -> name ("UINT8", ..., "STRING", "ARRAY"), from the gguf package."""
    try:
        from gguf.constants import GGUFValueType
    except ImportError as exc:  # pragma: no cover - gguf is a declared dependency of the reader
        raise UnsupportedError(f"reading GGUF needs the gguf package: pip install "
                               f"'qformat[gguf]' ({exc})") from None
    known = set(_SCALAR_CODES) | {"STRING", "ARRAY"}
    return {int(t.value): t.name for t in GGUFValueType if t.name in known}


@dataclass(frozen=True)
class GGMLType:
    """A ggml tensor type: id, name and block geometry (None when the id is unknown)."""

    id: int
    name: str
    block_size: int | None = None
    type_size: int | None = None

    @property
    def known(self) -> bool:
        return self.block_size is not None and self.type_size is not None

    def geometry(self) -> tuple[int, int]:
        """(weights per block, bytes per block); UnsupportedError for an unknown type id."""
        if self.block_size is None or self.type_size is None:
            raise UnsupportedError("ggml type id unknown to the installed gguf package",
                                   field="type", found=self.name)
        return self.block_size, self.type_size


@cache
def _ggml_types() -> dict[int, GGMLType]:
    try:
        from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType
    except ImportError as exc:  # pragma: no cover
        raise UnsupportedError(f"reading GGUF needs the gguf package: pip install "
                               f"'qformat[gguf]' ({exc})") from None
    table = {}
    for t in GGMLQuantizationType:
        sizes = GGML_QUANT_SIZES.get(t)
        if sizes is not None and sizes[0] > 0 and sizes[1] > 0:
            table[int(t.value)] = GGMLType(int(t.value), t.name, int(sizes[0]), int(sizes[1]))
    return table


def ggml_type(type_id: int) -> GGMLType:
    """The ggml type of ``type_id``; ids the gguf package does not know are ``UNKNOWN_<id>``."""
    found = _ggml_types().get(type_id)
    return found if found is not None else GGMLType(type_id, f"UNKNOWN_{type_id}")


@dataclass(frozen=True)
class ArrayRef:
    """Where a metadata array lives: decoded on demand by :func:`read_array`."""

    item_type: str
    length: int
    offset: int  # absolute file offset of the first element
    nbytes: int  # bytes of all elements

    def summary(self) -> dict[str, Any]:
        return {"type": "array", "item_type": self.item_type, "length": self.length}


@dataclass(frozen=True)
class KeyValue:
    """One metadata pair. ``value`` is a Python scalar, a short list, or an :class:`ArrayRef`."""

    key: str
    type: str
    value: Any
    array: ArrayRef | None = None

    def shown(self) -> Any:
        """What ``Model.metadata`` holds for this key (arrays longer than 64: a summary)."""
        if self.array is not None and not isinstance(self.value, list):
            return self.array.summary()
        return self.value


@dataclass(frozen=True)
class TensorRecord:
    """One tensor-info entry, as stored, plus its checked byte size."""

    index: int
    name: str
    ne: tuple[int, ...]  # ggml order: ne[0] is the contiguous row length
    type: GGMLType
    offset: int  # relative to the data section
    nbytes: int  # exact for known types; for unknown types, the span up to the next tensor
    nbytes_exact: bool

    @property
    def shape(self) -> tuple[int, ...]:
        """numpy order (reversed ``ne``), as gguf-py returns arrays."""
        return tuple(reversed(self.ne))

    @property
    def numel(self) -> int:
        n = 1
        for d in self.ne:
            n *= d
        return n


@dataclass
class GGUFHeader:
    """Everything before the tensor data, validated."""

    path: str
    file_size: int
    version: int
    byte_order: str  # "<" little-endian or ">" big-endian
    kvs: dict[str, KeyValue]
    tensors: list[TensorRecord]
    alignment: int
    header_end: int  # end of the tensor table
    data_start: int  # first byte of the data section (header_end padded to alignment)
    data_end: int  # end of the last tensor's bytes (before any final padding)
    warnings: list[str] = field(default_factory=list)

    @property
    def endianness(self) -> str:
        return "little" if self.byte_order == "<" else "big"


class _Walker:
    """A cursor over the file's bytes; every read is bounds-checked first."""

    def __init__(self, buf: Any, size: int, path: str, order: str) -> None:
        self.buf = buf
        self.size = size
        self.path = path
        self.order = order
        self.pos = 0
        self.warnings: list[str] = []
        self._u32 = struct.Struct(order + "I")
        self._u64 = struct.Struct(order + "Q")
        self._scalars = {name: struct.Struct(order + code) for name, code in
                         _SCALAR_CODES.items()}

    # -- primitives --------------------------------------------------------------------------
    def left(self) -> int:
        return self.size - self.pos

    def need(self, n: int, field: str) -> None:
        if n > self.size - self.pos:
            raise HeaderError("file ends inside the header (truncated?)", path=self.path,
                              field=field, expected=f"{n} more bytes at offset {self.pos}",
                              found=f"{self.size - self.pos} bytes")

    def u32(self, field: str) -> int:
        self.need(4, field)
        (v,) = self._u32.unpack_from(self.buf, self.pos)
        self.pos += 4
        return int(v)

    def u64(self, field: str) -> int:
        self.need(8, field)
        (v,) = self._u64.unpack_from(self.buf, self.pos)
        self.pos += 8
        return int(v)

    def string_bytes(self, field: str, cap: int = limits.GGUF_MAX_STRING_BYTES) -> bytes:
        n = self.u64(f"{field} length")
        if n > cap:
            raise LimitError("string is longer than the limit", path=self.path, field=field,
                             expected=f"<= {cap} bytes", found=n)
        if n > self.size - self.pos:
            raise LimitError("string is longer than the bytes left in the file", path=self.path,
                             field=field, expected=f"<= {self.size - self.pos} bytes", found=n)
        raw = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return raw

    def string(self, field: str) -> str:
        return self.decode(self.string_bytes(field), field)

    def decode(self, raw: bytes, field: str) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.warnings.append(f"{field} is not valid UTF-8; undecodable bytes shown as U+FFFD")
            return raw.decode("utf-8", errors="replace")

    def value_type(self, field: str) -> str:
        tid = self.u32(field)
        name = _value_types().get(tid)
        if name is None:
            raise HeaderError("unknown metadata value type", path=self.path, field=field,
                              expected=sorted(_value_types()), found=tid)
        return name

    def scalar(self, vtype: str, field: str) -> Any:
        st = self._scalars[vtype]
        self.need(st.size, field)
        (v,) = st.unpack_from(self.buf, self.pos)
        self.pos += st.size
        if vtype == "BOOL":
            return bool(v)
        return float(v) if vtype in ("FLOAT32", "FLOAT64") else int(v)

    # -- arrays ------------------------------------------------------------------------------
    def array(self, field: str) -> tuple[ArrayRef, list[Any] | None]:
        """Walk one array value (after its value type). Returns its ref and, if short, values."""
        item_type = self.value_type(f"{field} item type")
        count = self.u64(f"{field} length")
        self._check_count(item_type, count, field)
        ref_offset = self.pos
        inline = count <= INLINE_ARRAY_ITEMS and item_type != "ARRAY"
        values: list[Any] | None = None
        if item_type in _SCALAR_CODES:
            if inline:
                values = [self.scalar(item_type, f"{field}[{i}]") for i in range(count)]
            else:
                self.pos += count * self._scalars[item_type].size
        elif item_type == "STRING":
            if inline:
                values = [self.string(f"{field}[{i}]") for i in range(count)]
            else:
                self._skip_strings(count, field)
        else:
            self._skip_nested(count, field)
        ref = ArrayRef(item_type, count, ref_offset, self.pos - ref_offset)
        return ref, values

    def _check_count(self, item_type: str, count: int, field: str) -> None:
        if count > limits.GGUF_MAX_ARRAY_ELEMENTS:
            raise LimitError("array has more elements than the limit", path=self.path,
                             field=field, expected=f"<= {limits.GGUF_MAX_ARRAY_ELEMENTS}",
                             found=count)
        if item_type in _SCALAR_CODES:
            least = self._scalars[item_type].size
        elif item_type == "STRING":
            least = 8
        else:
            least = _MIN_ARRAY_BYTES
        if count * least > self.size - self.pos:
            raise LimitError("array has more elements than the bytes left in the file can hold",
                             path=self.path, field=field,
                             expected=f"<= {(self.size - self.pos) // least} elements",
                             found=count)

    def _skip_strings(self, count: int, field: str) -> None:
        """Skip ``count`` strings without creating objects (the hot loop of a big vocab).

        Fast path: ``struct`` itself refuses to read a length past the end of the buffer, and
        a string that runs past the end leaves ``pos`` beyond it, which the next read or the
        final check catches; only lengths above 64 KiB take the explicit checks. Any anomaly
        re-walks carefully to name the offending element.
        """
        unpack = self._u64.unpack_from
        buf, pos, size = self.buf, self.pos, self.size
        try:
            for _ in range(count):
                n = unpack(buf, pos)[0]
                pos += 8 + n
                if n > 65536 and (n > limits.GGUF_MAX_STRING_BYTES or pos > size):
                    raise ValueError
        except (struct.error, ValueError):
            pos = size + 1
        if pos <= size:
            self.pos = pos
            return
        self._skip_strings_checked(count, field)

    def _skip_strings_checked(self, count: int, field: str) -> None:
        unpack = self._u64.unpack_from
        buf, pos, size = self.buf, self.pos, self.size
        cap = limits.GGUF_MAX_STRING_BYTES
        for i in range(count):
            if pos + 8 > size:
                self.pos = pos
                self.need(8, f"{field}[{i}] length")
            n = unpack(buf, pos)[0]
            pos += 8
            if n > cap or n > size - pos:
                self.pos = pos
                raise LimitError("string is longer than the bytes left in the file",
                                 path=self.path, field=f"{field}[{i}]",
                                 expected=f"<= {min(cap, size - pos)} bytes", found=n)
            pos += n
        self.pos = pos

    def _skip_nested(self, count: int, field: str) -> None:
        """Skip an array of arrays iteratively, at most GGUF_MAX_NESTING levels deep."""
        stack = [count]  # elements still to walk at each open level
        while stack:
            if stack[-1] == 0:
                stack.pop()
                continue
            stack[-1] -= 1
            depth = len(stack) + 1
            if depth > limits.GGUF_MAX_NESTING:
                raise LimitError("arrays are nested deeper than the limit", path=self.path,
                                 field=field, expected=f"<= {limits.GGUF_MAX_NESTING} levels",
                                 found=f"more than {limits.GGUF_MAX_NESTING}")
            item_type = self.value_type(f"{field} (nested) item type")
            n = self.u64(f"{field} (nested) length")
            self._check_count(item_type, n, f"{field} (nested)")
            if item_type in _SCALAR_CODES:
                self.pos += n * self._scalars[item_type].size
            elif item_type == "STRING":
                self._skip_strings(n, f"{field} (nested)")
            else:
                stack.append(n)


def _detect(buf: Any, size: int, path: str) -> tuple[str, int]:
    """Magic, byte order and version. Big-endian files show a byte-swapped version field."""
    if size < 24:
        raise HeaderError("file is too small to be GGUF (truncated?)", path=path, field="header",
                          expected=">= 24 bytes", found=f"{size} bytes")
    if bytes(buf[0:4]) != MAGIC:
        raise HeaderError("not a GGUF file", path=path, field="magic", expected=MAGIC,
                          found=bytes(buf[0:4]))
    (version,) = struct.unpack_from("<I", buf, 4)
    order = "<"
    if version & 0xFFFF == 0 and version:
        order = ">"
        (version,) = struct.unpack_from(">I", buf, 4)
    if version == 1:
        raise UnsupportedError("GGUF version 1 (32-bit counts, 2023) is not supported",
                               path=path, field="version", expected=SUPPORTED_VERSIONS,
                               found=version)
    if version not in SUPPORTED_VERSIONS:
        raise UnsupportedError("unknown GGUF version", path=path, field="version",
                               expected=SUPPORTED_VERSIONS, found=version)
    return order, int(version)


def _alignment(kvs: dict[str, KeyValue], path: str, warnings: list[str]) -> int:
    kv = kvs.get("general.alignment")
    if kv is None:
        return DEFAULT_ALIGNMENT
    if kv.type != "UINT32":
        raise HeaderError("general.alignment must be a UINT32", path=path,
                          field="general.alignment", expected="UINT32", found=kv.type)
    align = int(kv.value)
    if align == 0 or align & (align - 1):
        raise HeaderError("general.alignment must be a non-zero power of two", path=path,
                          field="general.alignment", found=align)
    if align > limits.GGUF_MAX_ALIGNMENT:
        raise LimitError("general.alignment is larger than the limit", path=path,
                         field="general.alignment", expected=f"<= {limits.GGUF_MAX_ALIGNMENT}",
                         found=align)
    if align % 8:
        warnings.append(f"general.alignment is {align}; the GGUF spec asks for a multiple of 8")
    return align


def _pad(n: int, align: int) -> int:
    return (n + align - 1) // align * align


def _tensor_info(w: _Walker, index: int, names: set[bytes]) -> tuple[str, tuple[int, ...],
                                                                     GGMLType, int]:
    where = f"tensors[{index}]"
    raw_name = w.string_bytes(f"{where}.name")
    name = w.decode(raw_name, f"{where}.name")
    if raw_name in names:
        raise HeaderError("duplicate tensor name", path=w.path, tensor=name, field=f"{where}.name")
    names.add(raw_name)
    if len(raw_name) >= GGML_MAX_NAME:
        w.warnings.append(f"tensor name {name[:80]!r} is {len(raw_name)} bytes; llama.cpp "
                          f"refuses names of {GGML_MAX_NAME} bytes or more")
    n_dims = w.u32(f"{where}.n_dims")
    if n_dims > limits.GGUF_MAX_NDIM:
        raise LimitError("tensor has more dimensions than GGML_MAX_DIMS", path=w.path,
                         tensor=name, field=f"{where}.n_dims",
                         expected=f"<= {limits.GGUF_MAX_NDIM}", found=n_dims)
    ne = []
    numel = 1
    for k in range(n_dims):
        d = w.u64(f"{where}.ne[{k}]")
        if d >= 1 << 63:
            raise HeaderError("tensor dimension is negative as a signed 64-bit integer",
                              path=w.path, tensor=name, field=f"{where}.ne[{k}]", found=d)
        ne.append(d)
        numel *= d
    if numel > limits.MAX_ELEMENTS:
        raise LimitError("tensor has more elements than the limit", path=w.path, tensor=name,
                         field=f"{where}.ne", expected=f"<= {limits.MAX_ELEMENTS}",
                         found=f"{' x '.join(map(str, ne))} = {numel}")
    gtype = ggml_type(w.u32(f"{where}.type"))
    offset = w.u64(f"{where}.offset")
    row = ne[0] if ne else 1  # a 0-dimensional tensor is one element
    if gtype.known and row % gtype.geometry()[0]:
        raise HeaderError(f"row length is not a multiple of the {gtype.name} block size",
                          path=w.path, tensor=name, field=f"{where}.ne[0]",
                          expected=f"a multiple of {gtype.geometry()[0]}", found=row)
    return name, tuple(ne), gtype, offset


def parse_header(buf: Any, size: int, path: str) -> GGUFHeader:
    """Walk and validate the header of the GGUF file whose bytes are ``buf`` (mmap or bytes)."""
    order, version = _detect(buf, size, path)
    w = _Walker(buf, size, path, order)
    w.pos = 8
    n_tensors = w.u64("tensor_count")
    n_kv = w.u64("kv_count")
    for count, cap, least, what in ((n_tensors, limits.GGUF_MAX_TENSORS, _MIN_TENSOR_INFO_BYTES,
                                     "tensor_count"),
                                    (n_kv, limits.GGUF_MAX_KV, _MIN_KV_BYTES, "kv_count")):
        if count > cap:
            raise LimitError(f"{what} is larger than the limit", path=path, field=what,
                             expected=f"<= {cap}", found=count)
        if count * least > w.left():
            raise LimitError(f"{what} is larger than the bytes left in the file can hold",
                             path=path, field=what, expected=f"<= {w.left() // least}",
                             found=count)
    if n_tensors * _MIN_TENSOR_INFO_BYTES + n_kv * _MIN_KV_BYTES > w.left():
        raise LimitError("tensor_count and kv_count need more bytes than the file has",
                         path=path, field="tensor_count", found=(n_tensors, n_kv))

    kvs: dict[str, KeyValue] = {}
    for i in range(n_kv):
        raw_key = w.string_bytes(f"kv[{i}].key")
        key = w.decode(raw_key, f"kv[{i}].key")
        if not raw_key:
            raise HeaderError("empty metadata key", path=path, field=f"kv[{i}].key")
        if key in kvs:
            raise HeaderError("duplicate metadata key", path=path, field=key)
        vtype = w.value_type(f"{key} value type")
        if vtype == "ARRAY":
            ref, values = w.array(key)
            kvs[key] = KeyValue(key, "ARRAY", values, ref)
        elif vtype == "STRING":
            kvs[key] = KeyValue(key, vtype, w.string(key))
        else:
            kvs[key] = KeyValue(key, vtype, w.scalar(vtype, key))

    warnings = w.warnings
    alignment = _alignment(kvs, path, warnings)

    names: set[bytes] = set()
    infos = [_tensor_info(w, i, names) for i in range(n_tensors)]
    header_end = w.pos
    data_start = _pad(header_end, alignment)
    if data_start > size:
        raise HeaderError("file ends before the data section (truncated?)", path=path,
                          field="data_start", expected=f">= {data_start} bytes",
                          found=f"{size} bytes")
    if any(bytes(buf[header_end:data_start])):
        warnings.append(f"the {data_start - header_end} padding bytes before the data section "
                        "are not zero")
    tensors, data_end = _layout(infos, alignment, size - data_start, path)
    if _pad(data_end, alignment) < size - data_start:
        extra = size - data_start - _pad(data_end, alignment)
        warnings.append(f"{extra} bytes follow the last tensor's data (not part of any tensor)")
    return GGUFHeader(path=path, file_size=size, version=version, byte_order=order, kvs=kvs,
                      tensors=tensors, alignment=alignment, header_end=header_end,
                      data_start=data_start, data_end=data_end, warnings=warnings)


def _layout(infos: list[tuple[str, tuple[int, ...], GGMLType, int]], alignment: int,
            data_size: int, path: str) -> tuple[list[TensorRecord], int]:
    """Check offsets: aligned, contiguous in table order, inside the data section."""
    tensors: list[TensorRecord] = []
    expected: int | None = 0  # None right after a tensor of unknown size
    pending: tuple[int, str, tuple[int, ...], GGMLType, int] | None = None
    end = 0
    for index, (name, ne, gtype, offset) in enumerate(infos):
        where = f"tensors[{index}].offset"
        if offset % alignment:
            raise HeaderError("tensor data offset is not aligned", path=path, tensor=name,
                              field=where, expected=f"a multiple of {alignment}", found=offset)
        if offset > data_size:
            raise HeaderError("tensor data starts past the end of the file (truncated?)",
                              path=path, tensor=name, field=where,
                              expected=f"<= {data_size}", found=offset)
        if pending is not None:  # the previous tensor's size is known only now
            if offset < pending[4]:
                raise HeaderError("tensor offsets are not in increasing order", path=path,
                                  tensor=name, field=where, expected=f">= {pending[4]}",
                                  found=offset)
            tensors.append(_record(*pending, offset - pending[4], False))
            pending = None
        elif offset != expected:
            what = "overlaps the previous tensor" if offset < expected else (
                "leaves a gap after the previous tensor")
            raise HeaderError(f"tensor data {what}", path=path, tensor=name, field=where,
                              expected=expected, found=offset)
        if gtype.known:
            block, size = gtype.geometry()
            n = 1
            for d in ne:
                n *= d
            nbytes = n // block * size
            if offset + nbytes > data_size:
                raise HeaderError("tensor data extends past the end of the file (truncated?)",
                                  path=path, tensor=name, field=where,
                                  expected=f"offset + {nbytes} <= {data_size}", found=offset)
            tensors.append(_record(index, name, ne, gtype, offset, nbytes, True))
            end = offset + nbytes
            expected = _pad(end, alignment)
        else:
            pending = (index, name, ne, gtype, offset)
            expected = None
    if pending is not None:
        tensors.append(_record(*pending, data_size - pending[4], False))
        end = data_size
    return tensors, end


def _record(index: int, name: str, ne: tuple[int, ...], gtype: GGMLType, offset: int,
            nbytes: int, exact: bool) -> TensorRecord:
    return TensorRecord(index=index, name=name, ne=ne, type=gtype, offset=offset,
                        nbytes=nbytes, nbytes_exact=exact)


def read_array(buf: Any, header: GGUFHeader, key: str) -> Any:
    """All values of the metadata array ``key``: a numpy array for numbers and booleans, a list
    of str for strings, nested lists for arrays of arrays. Bounded by the checks of the walk."""
    kv = header.kvs.get(key)
    if kv is None or kv.array is None:
        raise HeaderError("no such metadata array", path=header.path, field=key)
    ref = kv.array
    w = _Walker(buf, ref.offset + ref.nbytes, header.path, header.byte_order)
    w.pos = ref.offset
    return _read_items(w, ref.item_type, ref.length, key, 1)


def _read_items(w: _Walker, item_type: str, count: int, field: str, depth: int) -> Any:
    if item_type in _SCALAR_CODES:
        code = _SCALAR_CODES[item_type]
        dtype = np.dtype(w.order + code) if np.dtype(code).itemsize > 1 else np.dtype(code)
        w.need(count * dtype.itemsize, field)
        values = np.frombuffer(w.buf, dtype=dtype, count=count, offset=w.pos)
        w.pos += count * dtype.itemsize
        if item_type == "BOOL":
            return values != 0
        return values.astype(dtype.newbyteorder("="))
    if item_type == "STRING":
        return [w.string(f"{field}[{i}]") for i in range(count)]
    if depth >= limits.GGUF_MAX_NESTING:
        raise LimitError("arrays are nested deeper than the limit", path=w.path, field=field,
                         expected=f"<= {limits.GGUF_MAX_NESTING} levels")
    out = []
    for i in range(count):
        inner_type = w.value_type(f"{field}[{i}] item type")
        n = w.u64(f"{field}[{i}] length")
        w._check_count(inner_type, n, f"{field}[{i}]")
        out.append(_read_items(w, inner_type, n, f"{field}[{i}]", depth + 1))
    return out
