"""Which files make up a checkpoint, read safely: shards, the index, and JSON side files.

A checkpoint is one ``.safetensors`` file, a ``*.safetensors.index.json`` naming shards, or a
directory holding either. Shard names from an index must stay inside the checkpoint folder (no
absolute paths, no ``..``, no symlink leading out), except that a Hugging Face cache snapshot's
links into its own ``blobs`` folder are followed. Side files (``config.json``...) are read as
inert JSON evidence, size-capped, never executed. Tensor data is memory-mapped on first use.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import re
import stat
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np

from ... import limits
from ...errors import HeaderError, IntegrityError, LimitError, QFormatError, UnsupportedError
from ..sniff import sniff_bytes
from .header import StoredTensor, loads_json_strict, read_safetensors_header

__all__ = ["SIDECARS", "Checkpoint", "Shard", "open_checkpoint", "storage_dtype"]

#: JSON side files read as evidence when they sit beside the weights.
SIDECARS = ("config.json", "quantize_config.json", "quant_config.json", "quanto_qmap.json")

_STORAGE = {
    "BOOL": "u1", "U8": "u1", "I8": "i1", "F8_E5M2": "u1", "F8_E4M3": "u1", "F8_E8M0": "u1",
    "F8_E4M3FNUZ": "u1", "F8_E5M2FNUZ": "u1", "I16": "<i2", "U16": "<u2", "F16": "<f2",
    "BF16": "<u2", "I32": "<i4", "U32": "<u4", "F32": "<f4", "C64": "<c8", "F64": "<f8",
    "I64": "<i8", "U64": "<u8",
}
_DRIVE = re.compile(r"^[A-Za-z]:")


def storage_dtype(code: str) -> np.dtype | None:
    """numpy dtype of one stored element, or None for packed sub-byte dtypes (F4, F6_*)."""
    s = _STORAGE.get(code)
    return None if s is None else np.dtype(s)


@dataclass
class Shard:
    """One ``.safetensors`` file of a checkpoint; mapped lazily, never written."""

    path: str
    name: str
    size: int
    metadata: dict[str, str] | None
    _mm: mmap.mmap | None = None

    def mapping(self) -> mmap.mmap:
        if self._mm is None:
            try:
                with open_regular(self.path) as f:
                    size = os.fstat(f.fileno()).st_size
                    if size != self.size:
                        raise IntegrityError("file changed size since its header was read",
                                             path=self.path, field="file_size",
                                             expected=self.size, found=size)
                    self._mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            except OSError as exc:
                raise HeaderError(f"cannot map file: {exc.strerror}", path=self.path) from None
        return self._mm

    def close(self) -> None:
        mm, self._mm = self._mm, None
        if mm is not None:
            # arrays may still view the map; it then closes when they are freed
            with contextlib.suppress(BufferError):
                mm.close()


@dataclass
class Checkpoint:
    """All shards' tensors (unique names), side-file JSON and the index, header-only."""

    path: str
    folder: str
    shards: list[Shard]
    tensors: dict[str, StoredTensor]
    sidecars: dict[str, Any] = field(default_factory=dict)
    index_metadata: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def file_size(self) -> int:
        return sum(s.size for s in self.shards)

    closed: bool = False

    def array(self, t: StoredTensor) -> np.ndarray:
        """A read-only zero-copy view of a stored tensor (packed sub-byte types as uint8)."""
        if self.closed:
            raise QFormatError("checkpoint is closed", path=self.path, tensor=t.name)
        mm = self.shards[t.shard].mapping()
        dt = storage_dtype(t.dtype)
        if dt is None:
            return np.frombuffer(mm, dtype=np.uint8, count=t.nbytes, offset=t.start)
        count = t.nbytes // dt.itemsize
        return np.frombuffer(mm, dtype=dt, count=count, offset=t.start).reshape(t.shape)

    def close(self) -> None:
        self.closed = True
        for s in self.shards:
            s.close()


# -- path safety ----------------------------------------------------------------------------
def open_regular(path: str) -> BinaryIO:
    """Open a regular file for reading without blocking (a FIFO or device is an error)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise HeaderError("not a regular file (FIFO, device or directory)", path=path,
                              field="file_type")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _inside(folder_real: str, candidate_real: str) -> bool:
    try:
        return os.path.commonpath([folder_real, candidate_real]) == folder_real
    except ValueError:  # different drives
        return False


def _hf_blob(folder: str, real: str) -> bool:
    """A Hugging Face cache snapshot file linking into the same repository's ``blobs``."""
    folder_abs = os.path.abspath(folder)
    if os.path.basename(os.path.dirname(folder_abs)) != "snapshots":
        return False
    blobs = os.path.realpath(os.path.join(folder_abs, os.pardir, os.pardir, "blobs"))
    return os.path.dirname(real) == blobs


def resolve_member(folder: str, name: Any, *, what: str, origin: str,
                   follow_symlinks: bool = False) -> str:
    """The path of file ``name`` (as written in ``origin``) inside ``folder``, checked."""
    if not isinstance(name, str) or not name or "\x00" in name:
        raise HeaderError(f"{what} name must be a non-empty string", path=origin,
                          field="weight_map", found=name)
    if os.path.isabs(name) or name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise HeaderError(f"{what} name is an absolute path (must stay inside the checkpoint "
                          "folder)", path=origin, field="weight_map", found=name)
    if ".." in re.split(r"[\\/]", name):
        raise HeaderError(f"{what} name climbs out of the checkpoint folder with '..'",
                          path=origin, field="weight_map", found=name)
    joined = os.path.join(folder, name)
    real = os.path.realpath(joined)
    if not _inside(os.path.realpath(folder), real) and not _hf_blob(folder, real) \
            and not follow_symlinks:
        raise HeaderError(f"{what} is a symlink leading outside the checkpoint folder "
                          "(pass follow_symlinks=True to allow)", path=origin,
                          field="weight_map", found=f"{name} -> {real}")
    return joined


def read_json_file(path: str, what: str) -> Any:
    """A size-capped, strictly parsed JSON side file."""
    try:
        with open_regular(path) as f:
            size = os.fstat(f.fileno()).st_size
            if size > limits.MAX_SIDECAR_JSON_BYTES:
                raise LimitError(f"{what} is larger than the limit", path=path,
                                 field="file_size",
                                 expected=f"<= {limits.MAX_SIDECAR_JSON_BYTES}", found=size)
            raw = f.read(size)
            if len(raw) != size:
                raise HeaderError(f"{what} changed while being read", path=path,
                                  field="file_size", expected=size, found=len(raw))
    except OSError as exc:
        raise HeaderError(f"cannot read {what}: {exc.strerror}", path=path) from None
    try:
        return loads_json_strict(raw, what)
    except QFormatError as exc:
        raise exc.with_context(path=path) from None


# -- opening --------------------------------------------------------------------------------
def _open_shard(path: str, name: str, index: int) -> tuple[Shard, list[StoredTensor], list[str]]:
    try:
        with open_regular(path) as f:
            size = os.fstat(f.fileno()).st_size
            meta, tensors, warnings = read_safetensors_header(f, size, path=path, shard=index)
    except FileNotFoundError:
        raise HeaderError("shard file is missing (incomplete download?)", path=path,
                          field="weight_map", found=name) from None
    except IsADirectoryError:
        raise HeaderError("shard is a directory, not a file", path=path) from None
    except OSError as exc:
        raise HeaderError(f"cannot read shard: {exc.strerror}", path=path) from None
    return Shard(path, name, size, meta), tensors, warnings


def _read_sidecars(folder: str, ckpt: Checkpoint, follow_symlinks: bool) -> None:
    for name in SIDECARS:
        p = os.path.join(folder, name)
        if not os.path.lexists(p):
            continue
        try:
            resolve_member(folder, name, what="side file", origin=folder,
                           follow_symlinks=follow_symlinks)
            ckpt.sidecars[name] = read_json_file(p, name)
        except QFormatError as exc:
            ckpt.warnings.append(f"{name} ignored: {exc}")


def _find_index(folder: str) -> str | None:
    names = sorted(n for n in os.listdir(folder) if n.endswith(".safetensors.index.json"))
    if not names:
        return None
    if "model.safetensors.index.json" in names:
        return "model.safetensors.index.json"
    return names[0]


def open_checkpoint(path: str | os.PathLike[str], *, follow_symlinks: bool = False
                    ) -> Checkpoint:
    """Open a single file, an index JSON or a directory; read every header, map nothing."""
    path = os.fspath(path)
    warnings: list[str] = []
    index_name: str | None = None
    if os.path.isdir(path):
        folder = path
        index_name = _find_index(folder)
        if index_name is None:
            files = sorted(n for n in os.listdir(folder) if n.endswith(".safetensors"))
            if not files:
                raise UnsupportedError("directory holds no safetensors checkpoint", path=path)
            if len(files) > limits.MAX_SHARDS:
                raise LimitError("too many safetensors files in the directory", path=path,
                                 expected=f"<= {limits.MAX_SHARDS}", found=len(files))
            shard_names = files
            if len(files) > 1:
                warnings.append(f"no index file: reading all {len(files)} .safetensors files "
                                "in the directory as shards of one checkpoint")
        else:
            warnings += [] if index_name == "model.safetensors.index.json" else [
                f"using index {index_name}"]
    else:
        folder = os.path.dirname(os.path.abspath(path))
        with open_regular(path) as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(4096)
        # an index is JSON text; anything else is parsed (and reported) as a binary file
        if head[:1] == b"{" and sniff_bytes(head, size) == "safetensors" and not (
                head[8:9] == b"{" and int.from_bytes(head[:8], "little") <= size - 8):
            index_name = os.path.basename(path)
        else:
            shard_names = [os.path.basename(path)]

    index_meta: dict[str, Any] | None = None
    weight_map: dict[str, str] | None = None
    origin = path
    if index_name is not None:
        origin = os.path.join(folder, index_name)
        index = read_json_file(origin, "safetensors index")
        if not isinstance(index, dict) or not isinstance(index.get("weight_map"), dict):
            raise HeaderError("index must be an object with a 'weight_map' object", path=origin,
                              field="weight_map",
                              found=type(index.get("weight_map") if isinstance(index, dict)
                                         else index).__name__)
        weight_map = index["weight_map"]
        if len(weight_map) > limits.SAFETENSORS_MAX_INDEX_ENTRIES:
            raise LimitError("index maps too many tensors", path=origin, field="weight_map",
                             expected=f"<= {limits.SAFETENSORS_MAX_INDEX_ENTRIES}",
                             found=len(weight_map))
        meta = index.get("metadata")
        if meta is not None and not isinstance(meta, dict):
            raise HeaderError("index 'metadata' must be an object", path=origin,
                              field="metadata", found=type(meta).__name__)
        index_meta = meta
        shard_names = []
        seen: set[str] = set()
        for tname, fname in weight_map.items():
            if not isinstance(fname, str):
                raise HeaderError("weight_map values must be file names", path=origin,
                                  tensor=tname, field="weight_map", found=fname)
            if fname not in seen:
                seen.add(fname)
                shard_names.append(fname)
                if len(shard_names) > limits.MAX_SHARDS:
                    raise LimitError("index names too many shards", path=origin,
                                     field="weight_map", expected=f"<= {limits.MAX_SHARDS}",
                                     found=f"> {limits.MAX_SHARDS}")
        if not shard_names:
            raise HeaderError("index maps no tensors", path=origin, field="weight_map")
        shard_names.sort()  # "-00001-of-0000N" order

    shards: list[Shard] = []
    tensors: dict[str, StoredTensor] = {}
    for i, name in enumerate(shard_names):
        if index_name is not None or os.path.isdir(path):
            spath = resolve_member(folder, name, what="shard", origin=origin,
                                   follow_symlinks=follow_symlinks)
        else:
            spath = path
        shard, stored, shard_warnings = _open_shard(spath, name, i)
        shards.append(shard)
        warnings += [f"{name}: {w}" for w in shard_warnings[:20]]
        for t in stored:
            if t.name in tensors:
                raise HeaderError("tensor is stored in two shards", path=spath, tensor=t.name,
                                  field="weight_map",
                                  found=[shards[tensors[t.name].shard].name, name])
            tensors[t.name] = t
    if weight_map is not None:
        for tname, fname in weight_map.items():
            t = tensors.get(tname)
            if t is None:
                raise HeaderError("tensor listed in the index is missing from its shard",
                                  path=origin, tensor=tname, field="weight_map", found=fname)
            if shards[t.shard].name != fname:
                raise HeaderError("tensor is stored in a different shard than the index says",
                                  path=origin, tensor=tname, field="weight_map",
                                  expected=fname, found=shards[t.shard].name)
        extra = [n for n in tensors if n not in weight_map]
        if extra:
            warnings.append(f"{len(extra)} tensor(s) in the shards are not in the index, "
                            f"e.g. {extra[0]!r}")
    ckpt = Checkpoint(path=path, folder=folder, shards=shards, tensors=tensors,
                      index_metadata=index_meta, warnings=warnings)
    _read_sidecars(folder, ckpt, follow_symlinks)
    return ckpt
