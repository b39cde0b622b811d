"""Stored ONNX tensors: validated at open (dims, type, sizes), decoded on demand.

A ``TensorProto`` keeps its elements in ``raw_data`` (little-endian, sub-byte types packed),
in one typed field (``float_data``, ``int32_data``, ...) or in an external file. Every size is
checked against the dims before anything is allocated, so a tensor that claims 2**80 elements
with ten bytes of data is refused, not allocated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ... import limits
from ...errors import HeaderError, LimitError, UnsupportedError
from .extdata import ExternalRef, parse_external, read_external
from .types import OnnxType, onnx_type, sign_extend, unpack_bits, values_per_int32

__all__ = ["StoredTensor", "stored_from_proto"]

_EXTERNAL = 1  # TensorProto.DataLocation.EXTERNAL
# typed field -> how many entries one element takes (complex types take two)
_FIELD_OF_STORAGE = {
    "FLOAT": "float_data", "COMPLEX64": "float_data", "INT64": "int64_data",
    "DOUBLE": "double_data", "COMPLEX128": "double_data", "UINT32": "uint64_data",
    "UINT64": "uint64_data", "STRING": "string_data",
}
_INT_RANGE = {
    "INT8": (-128, 127), "UINT8": (0, 255), "INT16": (-32768, 32767), "UINT16": (0, 65535),
    "BOOL": (0, 1),
}


def _field_of(t: OnnxType) -> str:
    return _FIELD_OF_STORAGE.get(t.name, "int32_data")


def _entries_needed(t: OnnxType, numel: int) -> int:
    if t.kind == "complex":
        return 2 * numel
    per = values_per_int32(t) if _field_of(t) == "int32_data" else 1
    return (numel + per - 1) // per


@dataclass
class StoredTensor:
    """One stored tensor (initializer, Constant value or sparse values), checked at open."""

    name: str
    type: OnnxType
    dims: tuple[int, ...]
    origin: str  # "initializer", "constant", "sparse"
    proto: Any
    external: ExternalRef | None
    path: str
    base_dir: str

    @property
    def numel(self) -> int:
        n = 1
        for d in self.dims:
            n *= d
        return n

    @property
    def nbytes(self) -> int:
        """Bytes of the elements, packed as ``raw_data`` would hold them."""
        return self.type.nbytes(self.numel)

    @property
    def location(self) -> str:
        return "external" if self.external is not None else "inline"

    def _err(self, cls: type, message: str, **kw: Any) -> Exception:
        return cls(message, path=self.path, tensor=self.name, **kw)

    def raw_bytes(self) -> bytes | bytearray | None:
        """The packed little-endian bytes if the tensor is stored that way, else None."""
        if self.external is not None:
            return read_external(self.base_dir, self.external, path=self.path, tensor=self.name)
        if self.proto.HasField("raw_data"):
            return self.proto.raw_data
        return None

    def values(self) -> np.ndarray:
        """Element values in the tensor's dims.

        Integer types come back as integers (4/2-bit types sign-extended to int8 or as uint8),
        FLOAT/FLOAT16/DOUBLE as floats, BFLOAT16 as uint16 bit patterns, float8/float4/float6
        as uint8 codes (see :func:`types.to_float32`), BOOL as bool.
        """
        t = self.type
        n = self.numel
        if t.kind in ("string", "complex"):
            raise self._err(UnsupportedError, f"{t.name} tensors have no numeric values",
                            field="data_type", found=t.name)
        raw = self.raw_bytes()
        if raw is not None:
            if t.packed:
                codes = unpack_bits(np.frombuffer(raw, dtype=np.uint8), t.bits, n)
            else:
                codes = np.frombuffer(raw, dtype=np.dtype(t.storage))
                codes = codes.astype(codes.dtype.newbyteorder("="), copy=False)
        else:
            field = _field_of(t)
            data = getattr(self.proto, field)
            if field == "int32_data":
                entries = np.fromiter(data, dtype=np.int64, count=len(data))
                if t.packed:
                    if entries.size and (entries.min() < 0 or entries.max() > 255):
                        raise self._err(HeaderError, "packed int32_data entry out of byte range",
                                        field="int32_data", expected="0..255",
                                        found=f"{entries.min()}..{entries.max()}")
                    per = values_per_int32(t)
                    if per > 1:  # one packed byte per entry
                        codes = unpack_bits(entries.astype(np.uint8), t.bits, n)
                    else:  # FLOAT6: one element per entry, low 6 bits
                        codes = (entries & ((1 << t.bits) - 1)).astype(np.uint8)
                else:
                    lo, hi = _INT_RANGE.get(t.name, (None, None))
                    if t.name in ("FLOAT16", "BFLOAT16"):
                        lo, hi = 0, 65535
                    elif t.storage == "u1":
                        lo, hi = 0, 255
                    elif t.name == "INT32":
                        lo, hi = -(1 << 31), (1 << 31) - 1
                    if entries.size and lo is not None and (entries.min() < lo
                                                            or entries.max() > hi):
                        raise self._err(HeaderError, "int32_data entry out of the type's range",
                                        field="int32_data", expected=f"{lo}..{hi} ({t.name})",
                                        found=f"{entries.min()}..{entries.max()}")
                    if t.name in ("FLOAT16",):
                        codes = entries.astype(np.uint16).view(np.float16)
                    else:
                        codes = entries.astype(np.dtype(t.storage).newbyteorder("="))
            elif t.name == "UINT32":
                entries = np.fromiter(data, dtype=np.uint64, count=len(data))
                if entries.size and entries.max() > 0xFFFFFFFF:
                    raise self._err(HeaderError, "uint64_data entry out of UINT32 range",
                                    field="uint64_data", found=int(entries.max()))
                codes = entries.astype(np.uint32)
            else:
                codes = np.asarray(data, dtype=np.dtype(t.storage).newbyteorder("="))
        if t.packed and t.kind == "int":
            codes = sign_extend(codes, t.bits)
        if t.name == "BOOL":
            codes = codes.astype(bool)
        return codes.reshape(self.dims)


def _utf8(value: str | bytes, path: str, name: str) -> str:
    if isinstance(value, bytes):  # the protobuf runtime returns bytes for invalid UTF-8
        raise HeaderError("external_data entry is not valid UTF-8", path=path, tensor=name,
                          field="external_data", found=value[:64])
    return value


def _check_dims(dims: list[int], *, path: str, name: str) -> tuple[int, ...]:
    if len(dims) > limits.MAX_NDIM:
        raise LimitError("tensor has too many dimensions", path=path, tensor=name,
                         field="dims", expected=f"<= {limits.MAX_NDIM}", found=len(dims))
    numel = 1
    for d in dims:
        if d < 0:
            raise HeaderError("negative dimension", path=path, tensor=name, field="dims",
                              found=list(dims))
        if d > limits.MAX_ELEMENTS:
            raise LimitError("dimension exceeds the element cap", path=path, tensor=name,
                             field="dims", expected=f"<= {limits.MAX_ELEMENTS}", found=d)
        numel *= d
    if numel > limits.MAX_ELEMENTS:
        raise LimitError("tensor has more elements than the cap", path=path, tensor=name,
                         field="dims", expected=f"<= {limits.MAX_ELEMENTS}", found=numel)
    return tuple(int(d) for d in dims)


def stored_from_proto(proto: Any, *, name: str, origin: str, path: str, base_dir: str,
                      file_size: int) -> StoredTensor:
    """Validate one ``TensorProto`` (type, dims, data size, external reference) without reading.

    ``file_size`` bounds inline data (it is already inside the parsed protobuf, so this only
    guards the arithmetic); external references are checked by the caller with
    :func:`extdata.stat_external`.
    """
    if proto.HasField("segment"):
        raise UnsupportedError("segmented tensors are not supported", path=path, tensor=name,
                               field="segment")
    if proto.data_type == 0:
        raise HeaderError("tensor has no element type (UNDEFINED)", path=path, tensor=name,
                          field="data_type", found=0)
    t = onnx_type(proto.data_type, path=path, tensor=name)
    dims = _check_dims(list(proto.dims), path=path, name=name)
    numel = 1
    for d in dims:
        numel *= d
    nbytes = t.nbytes(numel)
    external = None
    typed = [f for f in ("float_data", "int32_data", "string_data", "int64_data",
                         "double_data", "uint64_data") if len(getattr(proto, f))]
    has_raw = proto.HasField("raw_data")
    if proto.data_location == _EXTERNAL:
        if has_raw or typed:
            raise HeaderError("external tensor also carries inline data", path=path,
                              tensor=name, field="data_location")
        if t.kind == "string":
            raise UnsupportedError("external STRING tensors are not supported", path=path,
                                   tensor=name, field="data_type")
        entries = [(_utf8(e.key, path, name), _utf8(e.value, path, name))
                   for e in proto.external_data]
        external = parse_external(entries, nbytes, path=path, tensor=name)
    elif proto.data_location != 0:
        raise HeaderError("unknown data_location", path=path, tensor=name,
                          field="data_location", expected="0 (DEFAULT) or 1 (EXTERNAL)",
                          found=proto.data_location)
    elif has_raw:
        if typed:
            raise HeaderError("tensor has both raw_data and a typed data field", path=path,
                              tensor=name, field="raw_data", found=typed)
        if t.kind == "string":
            raise HeaderError("STRING tensors cannot use raw_data", path=path, tensor=name,
                              field="raw_data")
        if len(proto.raw_data) != nbytes:
            raise HeaderError("raw_data size does not match dims and type", path=path,
                              tensor=name, field="raw_data",
                              expected=f"{nbytes} bytes ({t.name} {list(dims)})",
                              found=f"{len(proto.raw_data)} bytes")
    else:
        if len(typed) > 1:
            raise HeaderError("tensor has several typed data fields", path=path, tensor=name,
                              field="data", found=typed)
        want_field = _field_of(t)
        if typed and typed[0] != want_field:
            raise HeaderError("typed data field does not match the element type", path=path,
                              tensor=name, field=typed[0], expected=want_field, found=typed[0])
        got = len(getattr(proto, want_field))
        need = _entries_needed(t, numel)
        if got != need:
            raise HeaderError("typed data has the wrong number of entries", path=path,
                              tensor=name, field=want_field,
                              expected=f"{need} ({t.name} {list(dims)})", found=got)
    if nbytes > max(file_size, 0) * 8 + (1 << 20) and external is None:
        # inline data is inside the parsed file; this only catches inconsistent arithmetic
        raise LimitError("tensor is larger than its file", path=path, tensor=name,
                         field="dims", expected=f"<= {file_size} bytes", found=nbytes)
    return StoredTensor(name, t, dims, origin, proto, external, path, base_dir)
