"""A bounded, schema-agnostic flatbuffer walker: every offset and length is checked first.

Generated flatbuffer accessors (the ``tflite`` package) trust the file: a hostile offset makes
them raise arbitrary exceptions or read garbage. This walker proves that each table, vtable,
field, vector and string lies inside the buffer before reading it, counts the tables it visits
and their nesting depth (caps from :mod:`qformat.limits`), and raises
:class:`~qformat.errors.HeaderError` / :class:`~qformat.errors.LimitError` naming the file and
the field path (``subgraphs[0].tensors[3].quantization.scale``).

Field ids are 0-based (the n-th field of a table in its ``.fbs`` declaration order); the vtable
slot of field ``n`` is ``4 + 2 n`` bytes into the vtable, as in the flatbuffers wire format.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from ... import limits
from ...errors import HeaderError, LimitError

__all__ = ["FlatBuffer", "Table"]

_U16 = struct.Struct("<H")
_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")

#: struct format and size of each scalar kind a table field may hold.
_SCALARS: dict[str, struct.Struct] = {
    "bool": struct.Struct("<?"),
    "u8": struct.Struct("<B"),
    "i8": struct.Struct("<b"),
    "u16": struct.Struct("<H"),
    "i16": struct.Struct("<h"),
    "u32": struct.Struct("<I"),
    "i32": struct.Struct("<i"),
    "u64": struct.Struct("<Q"),
    "i64": struct.Struct("<q"),
    "f32": struct.Struct("<f"),
}


class FlatBuffer:
    """A read-only byte buffer (bytes, memoryview or mmap) holding one flatbuffer."""

    def __init__(self, data: Any, size: int, path: str, what: str = "flatbuffer") -> None:
        self.data = data
        self.size = int(size)
        self.path = path
        self.what = what
        self.tables_visited = 0

    # -- primitives ----------------------------------------------------------------------------
    def fail(self, message: str, where: str, **facts: Any) -> HeaderError:
        return HeaderError(f"{self.what}: {message}", path=self.path, field=where, **facts)

    def need(self, pos: int, nbytes: int, where: str) -> None:
        """Raise unless ``[pos, pos + nbytes)`` lies inside the buffer."""
        if pos < 0 or nbytes < 0 or pos + nbytes > self.size:
            raise self.fail("offset or length past the end of the buffer", where,
                            expected=f"bytes within 0..{self.size}",
                            found=f"{nbytes} bytes at {pos}")

    def u16(self, pos: int, where: str) -> int:
        self.need(pos, 2, where)
        return _U16.unpack_from(self.data, pos)[0]

    def i32(self, pos: int, where: str) -> int:
        self.need(pos, 4, where)
        return _I32.unpack_from(self.data, pos)[0]

    def u32(self, pos: int, where: str) -> int:
        self.need(pos, 4, where)
        return _U32.unpack_from(self.data, pos)[0]

    def read(self, pos: int, nbytes: int, where: str) -> bytes:
        """A copy of ``nbytes`` bytes at ``pos`` (bounds checked)."""
        self.need(pos, nbytes, where)
        return bytes(self.data[pos:pos + nbytes])

    # -- structure -----------------------------------------------------------------------------
    def root(self, identifier: bytes | None = None) -> Table:
        """The root table; with ``identifier`` the 4 bytes after the root offset must match."""
        if self.size < 8:
            raise self.fail("too short to hold a root offset", "root",
                            expected=">= 8 bytes", found=f"{self.size} bytes")
        if identifier is not None:
            found = bytes(self.data[4:8])
            if found != identifier:
                raise self.fail("wrong file identifier", "file_identifier",
                                expected=identifier, found=found)
        table = self.table_at(self.u32(0, "root"), "root", 0)
        table.where = ""  # children are named from the root: "subgraphs[0].tensors[3]"
        return table

    def table_at(self, pos: int, where: str, depth: int) -> Table:
        self.tables_visited += 1
        if self.tables_visited > limits.FLATBUFFER_MAX_TABLES:
            raise LimitError(f"{self.what}: too many tables", path=self.path, field=where,
                             expected=f"<= {limits.FLATBUFFER_MAX_TABLES}",
                             found=self.tables_visited)
        if depth > limits.FLATBUFFER_MAX_DEPTH:
            raise LimitError(f"{self.what}: tables nested too deeply", path=self.path,
                             field=where, expected=f"<= {limits.FLATBUFFER_MAX_DEPTH}",
                             found=depth)
        soffset = self.i32(pos, where)
        vtable = pos - soffset
        vt_len = self.u16(vtable, f"{where} (vtable)")
        table_len = self.u16(vtable + 2, f"{where} (vtable)")
        if vt_len < 4 or vt_len % 2:
            raise self.fail("malformed vtable length", where, expected="even, >= 4",
                            found=vt_len)
        if table_len < 4:
            raise self.fail("malformed table length", where, expected=">= 4", found=table_len)
        self.need(vtable, vt_len, f"{where} (vtable)")
        self.need(pos, table_len, where)
        return Table(self, pos, vtable, vt_len, table_len, where, depth)


class Table:
    """One table: field access by 0-based field id, each access bounds checked."""

    __slots__ = ("depth", "fb", "pos", "table_len", "vt_len", "vtable", "where")

    def __init__(self, fb: FlatBuffer, pos: int, vtable: int, vt_len: int, table_len: int,
                 where: str, depth: int) -> None:
        self.fb, self.pos, self.vtable = fb, pos, vtable
        self.vt_len, self.table_len, self.where, self.depth = vt_len, table_len, where, depth

    def path(self, name: str) -> str:
        """The field path of child ``name`` (``subgraphs[0].tensors[3].name``)."""
        return f"{self.where}.{name}" if self.where else name

    def _field(self, field_id: int, nbytes: int, name: str) -> int:
        """Absolute position of a present field (0 if absent), checked inside the table."""
        slot = 4 + 2 * field_id
        if slot + 2 > self.vt_len:
            return 0
        off = _U16.unpack_from(self.fb.data, self.vtable + slot)[0]
        if off == 0:
            return 0
        if off + nbytes > self.table_len:
            raise self.fb.fail("field lies outside its table", self.path(name),
                               expected=f"<= {self.table_len}", found=off + nbytes)
        return self.pos + off

    def has(self, field_id: int) -> bool:
        slot = 4 + 2 * field_id
        return slot + 2 <= self.vt_len and _U16.unpack_from(
            self.fb.data, self.vtable + slot)[0] != 0

    def scalar(self, field_id: int, kind: str, default: Any, name: str) -> Any:
        st = _SCALARS[kind]
        p = self._field(field_id, st.size, name)
        if not p:
            return default
        return st.unpack_from(self.fb.data, p)[0]

    def _target(self, field_id: int, name: str) -> int:
        """Follow the uoffset stored in a field; 0 if the field is absent."""
        p = self._field(field_id, 4, name)
        if not p:
            return 0
        target = p + _U32.unpack_from(self.fb.data, p)[0]
        self.fb.need(target, 4, self.path(name))
        return target

    def table(self, field_id: int, name: str) -> Table | None:
        target = self._target(field_id, name)
        if not target:
            return None
        return self.fb.table_at(target, self.path(name), self.depth + 1)

    def _vector(self, field_id: int, elem_size: int, name: str) -> tuple[int, int] | None:
        """(start of the elements, element count) of a vector field, checked in bounds."""
        target = self._target(field_id, name)
        if not target:
            return None
        count = _U32.unpack_from(self.fb.data, target)[0]
        start = target + 4
        if count * elem_size > self.fb.size - start:
            raise self.fb.fail("vector length past the end of the buffer",
                               self.path(name),
                               expected=f"<= {(self.fb.size - start) // max(elem_size, 1)} "
                                        "elements", found=count)
        return start, count

    def vector_len(self, field_id: int, elem_size: int, name: str) -> int:
        vec = self._vector(field_id, elem_size, name)
        return 0 if vec is None else vec[1]

    def vector_span(self, field_id: int, elem_size: int, name: str) -> tuple[int, int]:
        """(absolute start, byte length) of a vector's elements; (0, 0) if absent."""
        vec = self._vector(field_id, elem_size, name)
        return (0, 0) if vec is None else (vec[0], vec[1] * elem_size)

    def array(self, field_id: int, dtype: str, name: str) -> np.ndarray | None:
        """A copy of a scalar vector as a numpy array (``dtype`` little-endian), None if absent."""
        dt = np.dtype(dtype)
        vec = self._vector(field_id, dt.itemsize, name)
        if vec is None:
            return None
        start, count = vec
        raw = bytes(self.fb.data[start:start + count * dt.itemsize])
        return np.frombuffer(raw, dtype=dt).copy()

    def string(self, field_id: int, name: str) -> str | None:
        """A string field decoded as UTF-8 (invalid bytes replaced), None if absent."""
        raw = self.string_bytes(field_id, name)
        return None if raw is None else raw.decode("utf-8", errors="replace")

    def string_bytes(self, field_id: int, name: str) -> bytes | None:
        vec = self._vector(field_id, 1, name)
        if vec is None:
            return None
        start, count = vec
        where = self.path(name)
        self.fb.need(start, count + 1, where)
        if self.fb.data[start + count] != 0:
            raise self.fb.fail("string is not NUL-terminated", where)
        return bytes(self.fb.data[start:start + count])

    def tables(self, field_id: int, name: str) -> list[Table]:
        """Every table of a vector-of-tables field ([] if absent)."""
        vec = self._vector(field_id, 4, name)
        if vec is None:
            return []
        start, count = vec
        out = []
        for i in range(count):
            p = start + 4 * i
            target = p + _U32.unpack_from(self.fb.data, p)[0]
            out.append(self.fb.table_at(target, f"{self.path(name)}[{i}]", self.depth + 1))
        return out
