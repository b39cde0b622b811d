"""Reading ONNX external data without ever leaving the model's folder.

A ``TensorProto`` with ``data_location = EXTERNAL`` names a file (``location``) relative to the
model plus ``offset``/``length``. Parsers that joined that path blindly read arbitrary files
(CVE-2022-25882 with ``../``, CVE-2024-27318 with nested ``a/../../``, CVE-2026-27489 with
symlinks). Here a location is refused when it is empty, absolute, has a drive letter, a ``..``
component or a NUL byte; the file is then opened one path component at a time relative to the
model folder with ``O_NOFOLLOW`` (so no component may be a symlink), must be a regular file with
a single hard link, and ``offset + length`` must lie inside it. Nothing is ever written.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass

from ...errors import HeaderError, LimitError, UnsupportedError

__all__ = ["ExternalRef", "parse_external", "read_external", "stat_external"]

_KEYS = {"location", "offset", "length", "checksum", "basepath"}
_INT = re.compile(r"^[0-9]{1,20}$")
_DRIVE = re.compile(r"^[A-Za-z]:")
#: Largest offset or length accepted (2**62: far beyond any file, far below int64 overflow).
_MAX_INT = 1 << 62
_CHUNK = 64 << 20


@dataclass(frozen=True)
class ExternalRef:
    """Where one tensor's bytes live: path components under the model folder, offset, length."""

    location: str
    parts: tuple[str, ...]
    offset: int
    length: int
    checksum: str | None


def _refuse(reason: str, *, path: str, tensor: str, location: object) -> HeaderError:
    return HeaderError(f"external data location refused: {reason}", path=path, tensor=tensor,
                       field="external_data.location",
                       expected="a relative path inside the model's folder", found=location)


def parse_external(entries: list[tuple[str, str]], nbytes: int, *, path: str,
                   tensor: str) -> ExternalRef:
    """Validate a tensor's ``external_data`` key/value list; ``nbytes`` is what its dims need."""
    seen: dict[str, str] = {}
    for key, value in entries:
        if key in seen:
            raise HeaderError("duplicate external_data key", path=path, tensor=tensor,
                              field=f"external_data.{key}", found=key)
        seen[key] = value
    unknown = sorted(set(seen) - _KEYS)
    if unknown:
        raise HeaderError("unknown external_data keys", path=path, tensor=tensor,
                          field="external_data", expected=sorted(_KEYS), found=unknown)
    location = seen.get("location")
    if not location:
        raise HeaderError("external data has no location", path=path, tensor=tensor,
                          field="external_data.location", found=location)
    if "\x00" in location:
        raise _refuse("NUL byte", path=path, tensor=tensor, location=location)
    if location.startswith(("/", "\\")) or _DRIVE.match(location) or os.path.isabs(location):
        raise _refuse("absolute path", path=path, tensor=tensor, location=location)
    parts = tuple(p for p in re.split(r"[\\/]", location) if p not in ("", "."))
    if any(p == ".." for p in parts):
        raise _refuse("'..' component", path=path, tensor=tensor, location=location)
    if not parts:
        raise _refuse("names no file", path=path, tensor=tensor, location=location)

    def number(key: str, default: int | None) -> int | None:
        text = seen.get(key)
        if text is None:
            return default
        if not _INT.match(text.strip()):
            raise HeaderError(f"external_data {key} is not a non-negative integer", path=path,
                              tensor=tensor, field=f"external_data.{key}", found=text)
        value = int(text)
        if value > _MAX_INT:
            raise LimitError(f"external_data {key} is too large", path=path, tensor=tensor,
                             field=f"external_data.{key}", expected=f"<= {_MAX_INT}",
                             found=value)
        return value

    offset = number("offset", 0)
    length = number("length", None)
    if length is not None and length != nbytes:
        raise HeaderError("external_data length does not match the tensor's dims and type",
                          path=path, tensor=tensor, field="external_data.length",
                          expected=nbytes, found=length)
    return ExternalRef(location, parts, int(offset or 0), nbytes, seen.get("checksum"))


def _open_beneath(base_dir: str, ref: ExternalRef, *, path: str, tensor: str) -> int:
    """Open ``ref`` under ``base_dir`` following no symlink; returns a read-only fd."""
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
    nofollow = getattr(os, "O_NOFOLLOW", 0)
    directory = getattr(os, "O_DIRECTORY", 0)
    nonblock = getattr(os, "O_NONBLOCK", 0)  # a FIFO must not block the open
    try:
        if os.open in os.supports_dir_fd and nofollow:
            dfd = os.open(base_dir, flags | directory)
            try:
                for comp in ref.parts[:-1]:
                    nxt = os.open(comp, flags | directory | nofollow, dir_fd=dfd)
                    os.close(dfd)
                    dfd = nxt
                fd = os.open(ref.parts[-1], flags | nofollow | nonblock, dir_fd=dfd)
            finally:
                os.close(dfd)
        else:  # pragma: no cover - platforms without openat (Windows)
            full = base_dir
            for comp in ref.parts:
                full = os.path.join(full, comp)
                if os.path.islink(full):
                    raise _refuse("symlink", path=path, tensor=tensor, location=ref.location)
            fd = os.open(full, flags | nofollow)
    except HeaderError:
        raise
    except OSError as exc:
        import errno

        if exc.errno in (errno.ELOOP, errno.EMLINK) or (
                exc.errno == errno.ENOTDIR and _has_symlink(base_dir, ref.parts)):
            raise _refuse("path goes through a symlink", path=path, tensor=tensor,
                          location=ref.location) from None
        raise HeaderError(f"cannot open external data file: {exc.strerror}", path=path,
                          tensor=tensor, field="external_data.location",
                          found=ref.location) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _refuse("not a regular file", path=path, tensor=tensor, location=ref.location)
        if st.st_nlink != 1:
            raise _refuse("file has several hard links", path=path, tensor=tensor,
                          location=ref.location)
        # belt and braces: the opened file must still resolve inside the model folder
        real_base = os.path.realpath(base_dir)
        real = os.path.realpath(os.path.join(base_dir, *ref.parts))
        if os.path.commonpath([real_base, real]) != real_base:
            raise _refuse("resolves outside the model's folder", path=path, tensor=tensor,
                          location=ref.location)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _has_symlink(base_dir: str, parts: tuple[str, ...]) -> bool:
    full = base_dir
    for comp in parts:
        full = os.path.join(full, comp)
        if os.path.islink(full):
            return True
    return False


def _check_range(ref: ExternalRef, size: int, *, path: str, tensor: str) -> None:
    if ref.offset > size or ref.offset + ref.length > size:
        raise HeaderError("external data range lies past the end of its file", path=path,
                          tensor=tensor, field="external_data.offset",
                          expected=f"offset + length <= {size} ({ref.location})",
                          found=f"offset {ref.offset} + length {ref.length}")


def stat_external(base_dir: str, ref: ExternalRef, *, path: str, tensor: str) -> int:
    """Check that ``ref`` can be read safely and lies inside its file; returns the file size."""
    fd = _open_beneath(base_dir, ref, path=path, tensor=tensor)
    try:
        size = os.fstat(fd).st_size
    finally:
        os.close(fd)
    _check_range(ref, size, path=path, tensor=tensor)
    return size


def read_external(base_dir: str, ref: ExternalRef, *, path: str, tensor: str) -> bytearray:
    """The ``length`` bytes at ``offset`` of the external file (re-checked at read time)."""
    fd = _open_beneath(base_dir, ref, path=path, tensor=tensor)
    try:
        _check_range(ref, os.fstat(fd).st_size, path=path, tensor=tensor)
        buf = bytearray(ref.length)
        view = memoryview(buf)
        pos = 0
        while pos < ref.length:
            n = min(_CHUNK, ref.length - pos)
            chunk = os.pread(fd, n, ref.offset + pos)
            if not chunk:
                raise HeaderError("external data file is shorter than declared (truncated?)",
                                  path=path, tensor=tensor, field="external_data.length",
                                  expected=ref.offset + ref.length, found=ref.offset + pos)
            view[pos:pos + len(chunk)] = chunk
            pos += len(chunk)
        return buf
    except OSError as exc:
        raise UnsupportedError(f"cannot read external data: {exc.strerror}", path=path,
                               tensor=tensor, field="external_data.location",
                               found=ref.location) from None
    finally:
        os.close(fd)
