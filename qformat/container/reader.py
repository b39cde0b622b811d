"""Reading .qf files: two reads for the header, then zero-copy mmap views per part."""

from __future__ import annotations

import gc
import mmap
import os
from typing import Any

import numpy as np
import xxhash

from .. import limits, spec
from ..dtypes import DTYPES
from ..errors import HeaderError, IntegrityError, LimitError, QFormatError
from ..layouts.qtensor import QTensor
from ..model import Model, TensorInfo
from .header import Header, TensorEntry, decode_header
from .preamble import Preamble, parse_preamble

__all__ = ["QfModel", "read_header"]


def _checksum(data: Any) -> int:
    return xxhash.xxh3_64_intdigest(data)


def read_header(f: Any, file_size: int, path: str = "") -> tuple[Preamble, Header]:
    """Read and validate the preamble and header from an open binary file (two reads)."""
    f.seek(0)
    pre = parse_preamble(f.read(spec.PREAMBLE_SIZE), path)
    hlen = pre.header_length
    if hlen > limits.QF_MAX_HEADER_BYTES:
        raise LimitError("header is larger than the limit [QF-PRE-005]", path=path,
                         field="header_length", expected=f"<= {limits.QF_MAX_HEADER_BYTES}",
                         found=hlen)
    if spec.PREAMBLE_SIZE + hlen > file_size:
        raise HeaderError("header extends past the end of the file (truncated?) [QF-PRE-005]",
                          path=path, field="header_length",
                          expected=f"<= {file_size - spec.PREAMBLE_SIZE}", found=hlen)
    if (spec.PREAMBLE_SIZE + hlen) % spec.ALIGNMENT:
        raise HeaderError("data section is not aligned [QF-PRE-006]", path=path,
                          field="header_length",
                          expected=f"preamble + header a multiple of {spec.ALIGNMENT}",
                          found=spec.PREAMBLE_SIZE + hlen)
    raw = f.read(hlen)
    if len(raw) != hlen:
        raise HeaderError("header is truncated [QF-PRE-005]", path=path, field="header",
                          expected=f"{hlen} bytes", found=f"{len(raw)} bytes")
    if _checksum(raw) != pre.header_checksum:
        raise IntegrityError("header checksum mismatch [QF-HDR-001]", path=path,
                             field="header_checksum", expected=f"{pre.header_checksum:016x}",
                             found=f"{_checksum(raw):016x}")
    if raw[:1] != b"{":
        raise HeaderError("header must start with '{' [QF-HDR-002]", path=path, field="header",
                          found=raw[:16])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HeaderError("header is not valid UTF-8 [QF-HDR-002]", path=path, field="header",
                          found=f"byte {exc.start}") from None
    body = text.rstrip(" ")
    if body[-1:] != "}" or any(c in body[body.rfind("}"):] for c in "\t\r\n"):
        raise HeaderError("header must end with '}' followed only by spaces [QF-HDR-002]",
                          path=path, field="header", found=text[-16:])
    # Parsing builds ~5 containers per tensor and frees none of them: the cyclic garbage
    # collector would rescan them all repeatedly (about a third of the time for big headers).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        header = decode_header(body, minor=pre.version_minor,
                               data_available=file_size - spec.PREAMBLE_SIZE - hlen, path=path)
    finally:
        if gc_was_enabled:
            gc.enable()
    return pre, header


class QfModel(Model):
    """A .qf file opened for reading (see ``specs/qformat.md``)."""

    format = "qformat"

    def __init__(self, path: str | os.PathLike[str], *, verify_checksums: bool = True) -> None:
        super().__init__(os.fspath(path))
        self.verify_checksums = verify_checksums
        with open(self.path, "rb") as f:
            self.file_size = os.fstat(f.fileno()).st_size
            self.preamble, self.header = read_header(f, self.file_size, self.path)
            self._mm: mmap.mmap | None = (
                mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if self.file_size else None
            )
        self.data_start = spec.PREAMBLE_SIZE + self.preamble.header_length
        self.metadata = self.header.metadata
        self._entries = {t.name: t for t in self.header.tensors if t.layout is not None}
        self._verified: set[str] = set()
        for name in self.header.skipped:
            self.warnings.append(f"tensor {name!r} skipped: unknown optional layout")
        if self.preamble.version_minor > spec.VERSION[1]:
            self.warnings.append(
                f"file is format 1.{self.preamble.version_minor}, newer than this reader "
                f"(1.{spec.VERSION[1]}); unknown keys were ignored"
            )

    # -- listing -------------------------------------------------------------------------------
    def keys(self) -> list[str]:
        return list(self._entries)

    def entry(self, name: str) -> TensorEntry:
        try:
            return self._entries[name]
        except KeyError:
            raise QFormatError("no such tensor", path=self.path, tensor=name) from None

    def info(self, name: str) -> TensorInfo:
        e = self.entry(name)
        try:
            info = self._qtensor(e).info(name)
        except QFormatError as exc:
            raise exc.with_context(path=self.path, tensor=name) from None
        return info

    def quantization(self) -> dict[str, Any]:
        q = super().quantization()
        q["evidence"] = [f".qf {self.preamble.version_major}.{self.preamble.version_minor} "
                         "header: layout per tensor"]
        return q

    # -- data ----------------------------------------------------------------------------------
    def _view(self, e: TensorEntry, i: int) -> np.ndarray:
        p = e.parts[i]
        if self._mm is None:
            raise QFormatError("file is closed", path=self.path, tensor=e.name)
        storage = DTYPES[p.dtype].storage
        count = p.nbytes // storage.itemsize
        arr = np.frombuffer(self._mm, dtype=storage, count=count,
                            offset=self.data_start + p.offset)
        return arr.reshape(p.shape)

    def _qtensor(self, e: TensorEntry) -> QTensor:
        assert e.layout is not None
        parts = {p.name: self._view(e, i) for i, p in enumerate(e.parts)}
        return QTensor(e.layout, e.shape, parts, dtype=e.dtype)

    def _check(self, e: TensorEntry) -> None:
        if not self.verify_checksums or e.name in self._verified:
            return
        self._verify_entry(e)
        self._verified.add(e.name)

    def _verify_entry(self, e: TensorEntry) -> None:
        assert self._mm is not None
        for p in e.parts:
            start = self.data_start + p.offset
            got = _checksum(memoryview(self._mm)[start:start + p.nbytes])
            if got != p.checksum:
                raise IntegrityError(f"checksum mismatch in part {p.name!r} [QF-DAT-004]",
                                     path=self.path, tensor=e.name, field=f"parts.{p.name}",
                                     expected=f"{p.checksum:016x}", found=f"{got:016x}")

    def raw(self, name: str) -> QTensor:
        """The stored tensor as a QTensor whose parts are read-only views of the file."""
        e = self.entry(name)
        self._check(e)
        try:
            qt = self._qtensor(e)
            qt.check()
        except QFormatError as exc:
            raise exc.with_context(path=self.path, tensor=name) from None
        return qt

    def get(self, name: str) -> np.ndarray:
        qt = self.raw(name)
        try:
            return qt.dequantize()
        except QFormatError as exc:
            raise exc.with_context(path=self.path, tensor=name) from None

    def verify(self) -> None:
        """Re-hash every part and check all padding; IntegrityError names the first bad one."""
        if self._mm is None:
            raise QFormatError("file is closed", path=self.path)
        mv = memoryview(self._mm)
        pos = 0
        for t in self.header.tensors:
            for p in t.parts:
                pad = mv[self.data_start + pos:self.data_start + p.offset]
                if any(pad):
                    raise IntegrityError("padding before part is not zero [QF-DAT-003]",
                                         path=self.path, tensor=t.name, field=f"parts.{p.name}")
                pos = p.offset + p.nbytes
            self._verify_entry(t)
            self._verified.add(t.name)

    def close(self) -> None:
        mm, self._mm = self._mm, None
        if mm is not None:
            try:
                mm.close()
            except BufferError:  # arrays still view the map; it closes when they are freed
                pass

