"""Which format is this file? Decided from magic bytes and structure, never the extension.

Imports nothing heavy: it runs on every ``qformat inspect``.
"""

from __future__ import annotations

import json
import os
import stat
import struct

from .. import limits, spec
from ..errors import UnsupportedError

__all__ = ["FORMATS", "sniff", "sniff_bytes"]

#: Formats qformat reads, in the order they are described to users.
FORMATS = ("qformat", "gguf", "safetensors", "onnx", "tflite")
_SUPPORTED = ".qf, GGUF, safetensors (file, sharded index or directory), ONNX, TFLite"

# ModelProto field numbers (onnx.proto): ir_version 1, producer_name 2, producer_version 3,
# domain 4, model_version 5, doc_string 6, graph 7, opset_import 8, metadata_props 14,
# training_info 20, functions 25, configuration 26.
_ONNX_FIELDS = {1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2, 26: 2}


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(buf) and shift < 64:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7
    raise ValueError("bad varint")


def _looks_like_onnx(buf: bytes, file_size: int) -> bool:
    """Walk the first protobuf fields: every tag must be a ModelProto field of the right type.

    A file that starts with a plausible ``ir_version`` (field 1, 1..64: every writer puts it
    first) and then breaks (a length past the end, a bad tag) is still called ONNX, so that the
    reader reports it as a truncated or corrupt model rather than an unknown format.
    """
    pos, seen = 0, 0
    damaged_onnx = False
    try:
        while pos < len(buf) and seen < 8:
            tag, pos = _varint(buf, pos)
            field, wire = tag >> 3, tag & 7
            if _ONNX_FIELDS.get(field) != wire:
                return damaged_onnx
            if wire == 0:
                value, pos = _varint(buf, pos)
                if seen == 0 and field == 1 and 1 <= value <= 64:
                    damaged_onnx = True
            else:
                length, pos = _varint(buf, pos)
                if pos + length > file_size:
                    return damaged_onnx
                pos += length
            seen += 1
    except ValueError:
        return damaged_onnx
    return seen > 0


def sniff_bytes(head: bytes, file_size: int) -> str | None:
    """Format name from the first bytes of a file (up to 4 KiB), or None."""
    if head.startswith(spec.MAGIC):
        return "qformat"
    if head[:4] == b"GGUF":
        return "gguf"
    if len(head) >= 8 and head[4:8] == b"TFL3":
        return "tflite"
    if len(head) >= 9:
        (n,) = struct.unpack_from("<Q", head)
        if head[8:9] == b"{" and 2 <= n <= min(limits.SAFETENSORS_MAX_HEADER_BYTES,
                                                file_size - 8):
            return "safetensors"
    if head[:1] == b"{" and b'"weight_map"' in head:
        return "safetensors"  # a model.safetensors.index.json
    if _looks_like_onnx(head, file_size):
        return "onnx"
    return None


def sniff(path: str | os.PathLike[str]) -> str:
    """The format of ``path`` (a file, or a directory holding a safetensors checkpoint)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        names = os.listdir(path)
        if any(n.endswith(".safetensors") or n.endswith(".safetensors.index.json")
               for n in names):
            return "safetensors"
        raise UnsupportedError("directory holds no safetensors checkpoint", path=path,
                               expected=_SUPPORTED)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise UnsupportedError(f"cannot read file: {exc.strerror}", path=path) from None
    if not stat.S_ISREG(st.st_mode):  # a FIFO or device would block or never end
        raise UnsupportedError("not a regular file", path=path, expected=_SUPPORTED)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(4096)
            if sniff_bytes(head, size) is None and _is_index_json(f, head, size):
                return "safetensors"
    except OSError as exc:
        raise UnsupportedError(f"cannot read file: {exc.strerror}", path=path) from None
    fmt = sniff_bytes(head, size)
    if fmt is None:
        raise UnsupportedError("unrecognised file format", path=path, expected=_SUPPORTED,
                               found=head[:8])
    return fmt


def _is_index_json(f, head: bytes, size: int) -> bool:
    """A sharded checkpoint's index: a JSON object with a ``weight_map`` (anywhere in it)."""
    if head.lstrip()[:1] != b"{" or size > limits.MAX_SIDECAR_JSON_BYTES:
        return False
    f.seek(0)
    try:
        obj = json.loads(f.read(size))
    except (ValueError, RecursionError):
        return False
    return isinstance(obj, dict) and isinstance(obj.get("weight_map"), dict)
