"""Writing .qf files: streaming, one tensor at a time, published atomically.

Data is streamed into an anonymous temporary file in the target's directory (``O_TMPFILE`` on
Linux, so a killed process leaves nothing behind; a hidden named temp file elsewhere), starting at
a reserved offset. At close the header is written in front of the data: into the reserved space
when it fits without wasting much, otherwise into a second temporary file followed by an
in-kernel copy of the data. The file is fsynced, given its name with an atomic rename, and the
directory is fsynced. A failure at any point leaves whatever was at the path before untouched.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Mapping
from typing import Any

import numpy as np
import xxhash

from .. import spec
from ..errors import ArgumentError, QFormatError
from ..layouts.qtensor import QTensor
from .header import check_metadata, check_name, decode_header, dump_header, loads_strict
from .preamble import build_preamble

__all__ = ["Writer", "save"]

_CHUNK = 16 * 1024 * 1024
_DEFAULT_RESERVE = 1024 * 1024  # header space reserved in front of the data (bytes)


def _link_fd(fd: int, dst: str) -> None:
    """Give the anonymous (O_TMPFILE) file ``fd`` the name ``dst``; OSError if impossible."""
    try:
        os.link(f"/proc/self/fd/{fd}", dst, follow_symlinks=True)
        return
    except OSError as exc:
        if exc.errno == errno.EEXIST:
            raise
    import ctypes  # linkat(fd, "", AT_FDCWD, dst, AT_EMPTY_PATH): the same, without /proc

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.linkat(fd, b"", -100, os.fsencode(dst), 0x1000) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), dst)


_ANONYMOUS_OK: dict[int, bool] = {}  # st_dev -> can we create and then name O_TMPFILE files?


def _open_anonymous(directory: str) -> int:
    """An O_TMPFILE descriptor in ``directory`` that we know how to name later, or -1."""
    flags = getattr(os, "O_TMPFILE", 0)
    if not flags:
        return -1
    try:
        fd = os.open(directory, flags | os.O_RDWR, 0o666)
    except OSError:
        return -1
    dev = os.fstat(fd).st_dev
    if dev not in _ANONYMOUS_OK:  # probe once per file system: naming needs /proc or privileges
        probe = os.path.join(directory, f".qf-probe-{os.getpid()}-{os.urandom(4).hex()}")
        try:
            _link_fd(fd, probe)
            os.unlink(probe)
            _ANONYMOUS_OK[dev] = True
        except OSError:
            _ANONYMOUS_OK[dev] = False
        if _ANONYMOUS_OK[dev]:  # the probe named this file once; start from a fresh one
            os.close(fd)
            fd = os.open(directory, flags | os.O_RDWR, 0o666)
    if not _ANONYMOUS_OK[dev]:
        os.close(fd)
        return -1
    return fd


class _TempFile:
    """An unnamed (O_TMPFILE) or, where that is unavailable, hidden named temporary file."""

    def __init__(self, directory: str, base: str) -> None:
        self.directory = directory
        self.name: str | None = None
        self.fd = _open_anonymous(directory)
        if self.fd < 0:
            self.fd, self.name = tempfile.mkstemp(prefix=f".{base}.", suffix=".qf-tmp",
                                                  dir=directory)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(self.name, 0o666 & ~umask)

    def publish(self, path: str) -> None:
        os.fsync(self.fd)
        if self.name is None:  # give the anonymous file a temporary name, then rename it
            for _ in range(100):
                tmp = os.path.join(self.directory,
                                   f".{os.path.basename(path)}.{os.urandom(6).hex()}.qf-tmp")
                try:  # link never replaces an existing name, so a clash just retries
                    _link_fd(self.fd, tmp)
                except FileExistsError:
                    continue
                self.name = tmp
                break
            else:
                raise OSError("could not name the temporary file")
        os.replace(self.name, path)
        self.name = None
        self.close()
        try:
            dfd = os.open(self.directory, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(dfd)
        except OSError:
            pass
        finally:
            os.close(dfd)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.name is not None:
            try:
                os.unlink(self.name)
            except FileNotFoundError:
                pass
            self.name = None


def _write_all(fd: int, data: memoryview, offset: int) -> None:
    while data:
        n = os.pwrite(fd, data, offset)
        data = data[n:]
        offset += n


def _copy_range(src: int, dst: int, count: int, src_off: int, dst_off: int) -> None:
    while count > 0:
        try:
            n = os.copy_file_range(src, dst, min(count, 1 << 30), src_off, dst_off)
        except (OSError, AttributeError):
            n = 0
        if n <= 0:  # not supported here (or EOF): copy through user space
            buf = os.pread(src, min(count, _CHUNK), src_off)
            if not buf:
                raise OSError("unexpected end of temporary data")
            _write_all(dst, memoryview(buf), dst_off)
            n = len(buf)
        count -= n
        src_off += n
        dst_off += n


class Writer:
    """Stream tensors into a new .qf file: ``with qformat.writer(path) as w: w.add(name, t)``.

    Memory is bounded by one tensor. Nothing appears at ``path`` until :meth:`close` succeeds;
    an exception inside the ``with`` block discards the output.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        metadata: Mapping[str, Any] | None = None,
        *,
        header_reserve: int = _DEFAULT_RESERVE,
    ) -> None:
        self.path = os.path.abspath(os.fspath(path))
        if os.path.isdir(self.path):
            raise ArgumentError("output path is a directory", path=self.path)
        self.metadata = self._check_metadata(metadata or {})
        directory = os.path.dirname(self.path)
        # data starts at a multiple of the alignment after the preamble and reserved header
        self._data_start = spec.align_up(spec.PREAMBLE_SIZE + max(0, header_reserve))
        self._tmp = _TempFile(directory, os.path.basename(self.path))
        self._pos = 0  # bytes of data written, relative to the data section
        self._tensors: list[dict[str, Any]] = []
        self._names: set[str] = set()
        self._closed = False

    @staticmethod
    def _check_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(metadata, Mapping) or not all(isinstance(k, str) for k in metadata):
            raise ArgumentError("metadata must map strings to JSON values", field="metadata")
        try:
            text = json.dumps(dict(metadata), allow_nan=False, ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise ArgumentError("metadata is not JSON-serializable", field="metadata",
                                found=str(exc)) from None
        return check_metadata(loads_strict(text, "metadata"))

    # -- adding tensors ------------------------------------------------------------------------
    def add(self, name: str, tensor: np.ndarray | QTensor) -> None:
        """Append one tensor (a numpy array is stored with the ``raw`` layout)."""
        if self._closed:
            raise ArgumentError("writer is closed", path=self.path, tensor=name)
        try:
            check_name(name, "name", "QF-TEN-003")
        except QFormatError as exc:
            raise ArgumentError(exc.detail, path=self.path, field="name", found=name) from None
        if name in self._names:
            raise ArgumentError("duplicate tensor name [QF-TEN-003]", path=self.path,
                                tensor=name)
        if isinstance(tensor, QTensor):
            qt = tensor
        elif isinstance(tensor, np.ndarray | np.generic):
            from ..layouts.raw import RawLayout

            qt = RawLayout.encode(np.asarray(tensor))
        else:
            raise ArgumentError("tensor must be a numpy array or a QTensor", path=self.path,
                                tensor=name, found=type(tensor).__name__)
        try:
            qt.check()  # refuses NaN/Inf scales, out-of-range codes... before writing
        except QFormatError as exc:
            raise exc.with_context(path=self.path, tensor=name) from None
        parts = []
        for ps in qt.part_specs:
            parts.append(self._write_part(ps.name, ps.dtype, ps.shape, qt.parts[ps.name]))
        self._names.add(name)
        self._tensors.append({
            "name": name,
            "dtype": qt.dtype,
            "shape": list(qt.shape),
            "layout": qt.layout.to_dict(),
            "parts": parts,
        })

    def _write_part(self, name: str, dtype: str, shape: tuple[int, ...],
                    arr: np.ndarray) -> dict[str, Any]:
        offset = spec.align_up(self._pos)
        pad = offset - self._pos
        fd = self._tmp.fd
        if pad:
            _write_all(fd, memoryview(bytes(pad)), self._data_start + self._pos)
        flat = np.ascontiguousarray(arr).reshape(-1).view(np.uint8)
        h = xxhash.xxh3_64()
        for start in range(0, flat.size, _CHUNK):
            chunk = memoryview(flat[start:start + _CHUNK])
            h.update(chunk)
            _write_all(fd, chunk, self._data_start + offset + start)
        self._pos = offset + flat.size
        return {"name": name, "dtype": dtype, "shape": list(shape), "offset": offset,
                "nbytes": int(flat.size), spec.CHECKSUM: h.hexdigest()}

    # -- finishing -----------------------------------------------------------------------------
    def close(self) -> None:
        """Write the header, fsync, and publish the file atomically at ``path``."""
        if self._closed:
            return
        try:
            self._finish()
        except BaseException:
            self.abort()
            raise
        self._closed = True

    def _finish(self) -> None:
        body = dump_header(self.metadata, self._tensors)
        # read-back check: the reader's own validation must accept what we are about to publish
        decode_header(body.decode(), minor=spec.VERSION[1],
                     data_available=self._pos, path=self.path)
        needed = spec.align_up(spec.PREAMBLE_SIZE + len(body))
        waste = self._data_start - needed
        if waste >= 0 and waste <= max(4096, self._pos // 1024):
            target, data_start = self._tmp, self._data_start
        else:  # header does not fit, or would waste space: rewrite into a compact file
            target = _TempFile(self._tmp.directory, os.path.basename(self.path))
            data_start = needed
            try:
                _copy_range(self._tmp.fd, target.fd, self._pos, self._data_start, data_start)
            except BaseException:
                target.close()
                raise
        header = body + spec.HEADER_PAD * (data_start - spec.PREAMBLE_SIZE - len(body))
        pre = build_preamble(len(header), xxhash.xxh3_64_intdigest(header))
        _write_all(target.fd, memoryview(pre + header), 0)
        os.ftruncate(target.fd, data_start + self._pos)
        if target is not self._tmp:
            self._tmp.close()
        target.publish(self.path)

    def abort(self) -> None:
        """Discard everything written; ``path`` keeps its previous content."""
        self._closed = True
        self._tmp.close()

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            self.abort()


def save(
    path: str | os.PathLike[str],
    tensors: Mapping[str, np.ndarray | QTensor],
    metadata: Mapping[str, Any] | None = None,
) -> None:
    """Write ``tensors`` (name -> array or QTensor) to a new .qf file at ``path``."""
    if not isinstance(tensors, Mapping):
        raise ArgumentError("tensors must be a mapping of names to arrays or QTensors",
                            field="tensors", found=type(tensors).__name__)
    with Writer(path, metadata) as w:
        for name, tensor in tensors.items():
            w.add(name, tensor)
