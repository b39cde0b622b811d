"""GGUF files (llama.cpp, gguf-py) read through the one :class:`~qformat.model.Model` interface.

* Listing walks the header with our bounded walker (:mod:`._gguf_header`): metadata and the
  tensor table, no tensor data read, no Python object per vocabulary entry.
* ``get`` dequantizes with qformat's Numba kernels (:mod:`qformat.kernels.ggml`, bit-identical
  to ggml and gguf-py) for F32/F16/BF16, Q4_0/Q4_1/Q5_0/Q5_1/Q8_0, Q2_K..Q6_K, IQ4_NL/IQ4_XS and
  MXFP4; the installed ``gguf`` package decodes the other types it knows (IQ1/IQ2/IQ3, TQ1_0,
  TQ2_0, NVFP4); anything else is an :class:`~qformat.errors.UnsupportedError` for that tensor
  only.
* Big-endian files (detected from the byte-swapped version field) are read with every
  multi-byte field swapped, including the half-precision scales inside quantized blocks, which
  is how ggml stores blocks on a big-endian host and how gguf-py's
  ``gguf_convert_endian.py`` converts them.
* Split models (``name-00001-of-00003.gguf``): opening any shard opens them all as one model.

See ``docs/gguf.md`` for the user-facing description.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import limits
from ..errors import HeaderError, LimitError, QFormatError, UnsupportedError
from ..model import Model, PartInfo, TensorInfo, bits_per_weight
from ._gguf_header import GGMLType, GGUFHeader, TensorRecord, parse_header, read_array

if TYPE_CHECKING:
    from ..layouts.qtensor import QTensor

__all__ = ["CODE_FACTS", "GGUFModel", "read_gguf"]

#: Per ggml type: (bits of one stored code per weight, weights sharing one scale, symmetric).
#: Plain types have no scale (``None``). For the K-quants the group is the sub-block carrying
#: its own scale (16 for Q2_K/Q3_K/Q6_K, 32 for Q4_K/Q5_K/IQ4_XS). For the lattice/codebook
#: IQ1/IQ2/IQ3 types ``bits`` is the index and sign bits per weight without the scales (e.g.
#: IQ2_XXS: an 8-bit grid index and 7 sign bits per 8 weights = 1.875), so that ``bits`` <
#: ``bits_per_weight`` always; TQ1_0 packs 5 ternary digits per byte (52 code bytes / 256).
CODE_FACTS: dict[str, tuple[float, int | None, bool | None]] = {
    "F32": (32, None, None), "F16": (16, None, None), "BF16": (16, None, None),
    "F64": (64, None, None), "I8": (8, None, None), "I16": (16, None, None),
    "I32": (32, None, None), "I64": (64, None, None),
    "Q4_0": (4, 32, True), "Q4_1": (4, 32, False), "Q5_0": (5, 32, True),
    "Q5_1": (5, 32, False), "Q8_0": (8, 32, True), "Q8_1": (8, 32, True),
    "Q2_K": (2, 16, False), "Q3_K": (3, 16, True), "Q4_K": (4, 32, False),
    "Q5_K": (5, 32, False), "Q6_K": (6, 16, True), "Q8_K": (8, 256, True),
    "IQ2_XXS": (1.875, 32, True), "IQ2_XS": (2.0, 16, True), "IQ2_S": (2.25, 16, True),
    "IQ3_XXS": (2.875, 32, True), "IQ3_S": (3.25, 32, True),
    "IQ1_S": (1.375, 32, False), "IQ1_M": (1.375, 16, False),  # a +-delta shift per group
    "IQ4_NL": (4, 32, True), "IQ4_XS": (4, 32, True),
    "TQ1_0": (1.625, 256, True), "TQ2_0": (2, 256, True),
    "MXFP4": (4, 32, True), "NVFP4": (4, 16, True), "Q1_0": (1, 128, True),
}

#: Element types stored unquantized; their values are read as numpy arrays.
_PLAIN = {"F32": "f4", "F16": "f2", "BF16": "u2", "F64": "f8", "I8": "i1", "I16": "i2",
          "I32": "i4", "I64": "i8"}

#: Multi-byte fields (byte offset, width) inside one block, swapped when reading big-endian
#: files: the half-precision scales, and the 32/16-bit words ggml reads in host order.
BIG_ENDIAN_FIELDS: dict[str, tuple[tuple[int, int], ...]] = {
    "Q4_0": ((0, 2),), "Q4_1": ((0, 2), (2, 2)), "Q5_0": ((0, 2), (2, 4)),
    "Q5_1": ((0, 2), (2, 2), (4, 4)), "Q8_0": ((0, 2),),
    "Q2_K": ((80, 2), (82, 2)), "Q3_K": ((108, 2),), "Q4_K": ((0, 2), (2, 2)),
    "Q5_K": ((0, 2), (2, 2)), "Q6_K": ((208, 2),),
    "IQ4_NL": ((0, 2),), "IQ4_XS": ((0, 2), (2, 2)), "MXFP4": (),
    "TQ1_0": ((52, 2),), "TQ2_0": ((64, 2),), "NVFP4": (),
}

_SHARD_NAME = re.compile(r"^(?P<prefix>.+)-(?P<no>\d{5})-of-(?P<count>\d{5})\.gguf$")


@cache
def _file_types() -> dict[int, str]:
    """llama.cpp's ``general.file_type`` values -> names (``MOSTLY_Q4_K_M``), from gguf."""
    from gguf.constants import LlamaFileType

    return {int(t.value): t.name for t in LlamaFileType}


@cache
def ggufpy_version() -> str:
    """The installed gguf package's version (it has no ``__version__``)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gguf")
    except PackageNotFoundError:  # pragma: no cover - a source checkout of gguf-py
        return "unknown"


@cache
def _qformat_types() -> frozenset[str]:
    from ..kernels._ref.ggml import BLOCK_GEOMETRY

    return frozenset(BLOCK_GEOMETRY)


@cache
def _ggufpy_decodes(type_name: str) -> bool:
    """Whether the installed gguf package can dequantize ``type_name`` (tried on zero blocks)."""
    import gguf
    from gguf import quants

    qtype = gguf.GGMLQuantizationType[type_name]
    size = gguf.GGML_QUANT_SIZES[qtype][1]
    try:
        quants.dequantize(np.zeros((1, size), dtype=np.uint8), qtype)
    except Exception:  # NotImplementedError for types without numpy code; any failure: no
        return False
    return True


def decoder_of(gtype: GGMLType, big_endian: bool = False) -> str:
    """Which code dequantizes this type: ``qformat``, ``gguf-py``, ``numpy`` or ``none``."""
    if not gtype.known:
        return "none"
    if gtype.name in _qformat_types():
        return "qformat"
    if gtype.name in _PLAIN:
        return "numpy"
    if big_endian and gtype.name not in BIG_ENDIAN_FIELDS:
        return "none"
    return "gguf-py" if _ggufpy_decodes(gtype.name) else "none"


def label_of_file_type(value: int) -> str:
    """``general.file_type`` value -> llama.cpp's label (``15`` -> ``Q4_K_M``)."""
    guessed = bool(value & 1024)
    name = _file_types().get(value & ~1024)
    if name is None:
        label = f"UNKNOWN_FILE_TYPE_{value & ~1024}"
    elif name == "ALL_F32":
        label = "F32"
    else:
        label = name.removeprefix("MOSTLY_")
    return f"{label} (guessed)" if guessed else label


def _label_type(label: str) -> str | None:
    """The tensor type a file-type label is named after (Q4_K_M -> Q4_K, IQ3_M -> IQ3_S)."""
    from gguf.constants import GGMLQuantizationType

    names = set(GGMLQuantizationType.__members__)
    base = label.removesuffix(" (guessed)")
    stem = base.rsplit("_", 1)[0] if "_" in base else base
    for candidate in (base, stem, f"{stem}_S"):
        if candidate in names:
            return candidate
    return None


@dataclass(frozen=True)
class _Entry:
    shard: int
    record: TensorRecord
    start: int  # absolute offset in the shard file


class _Shard:
    """One open GGUF file: header plus a read-only memory map."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            with open(path, "rb") as f:
                self.size = os.fstat(f.fileno()).st_size
                self.mm: mmap.mmap | None = (
                    mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if self.size else None)
        except OSError as exc:
            raise UnsupportedError(f"cannot read file: {exc.strerror}", path=path) from None
        try:
            self.header: GGUFHeader = parse_header(self.mm if self.mm is not None else b"",
                                                   self.size, path)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.mm is not None:
            with contextlib.suppress(BufferError):  # a caller still holds a view; GC unmaps
                self.mm.close()
            self.mm = None


def _split_int(header: GGUFHeader, key: str) -> int | None:
    kv = header.kvs.get(key)
    if kv is None:
        return None
    if isinstance(kv.value, bool) or not isinstance(kv.value, int):
        raise HeaderError("split metadata must be an integer", path=header.path, field=key,
                          found=kv.type)
    return int(kv.value)


class GGUFModel(Model):
    """A GGUF model (one file or all shards of a split model) opened for reading."""

    format = "gguf"

    def __init__(self, path: str | os.PathLike[str], *, shards: bool = True) -> None:
        super().__init__(os.fspath(path))
        self._shards: list[_Shard] = []
        try:
            self._open(shards)
        except BaseException:
            self.close()
            raise

    # -- opening -------------------------------------------------------------------------------
    def _open(self, open_shards: bool) -> None:
        first = _Shard(self.path)
        self._shards.append(first)
        count = _split_int(first.header, "split.count")
        if count is not None and count > 1:
            if open_shards:
                self._open_split(first, count)
            else:
                no = _split_int(first.header, "split.no")
                self.warnings.append(f"this file is shard {(no or 0) + 1} of {count}; the other "
                                     "shards were not opened (shards=False)")
        head = self._shards[0].header
        self.file_size = sum(s.size for s in self._shards)
        self.metadata = {k: kv.shown() for k, kv in head.kvs.items()}
        self._entries: dict[str, _Entry] = {}
        for i, shard in enumerate(self._shards):
            for rec in shard.header.tensors:
                if rec.name in self._entries:
                    raise HeaderError("tensor name appears in two shards", path=shard.path,
                                      tensor=rec.name)
                self._entries[rec.name] = _Entry(i, rec, shard.header.data_start + rec.offset)
            self.warnings.extend(shard.header.warnings if len(self._shards) == 1 else
                                 [f"{os.path.basename(shard.path)}: {w}"
                                  for w in shard.header.warnings])
        total = _split_int(head, "split.tensors.count")
        if len(self._shards) > 1 and total is not None and total != len(self._entries):
            raise HeaderError("the shards hold a different number of tensors than declared",
                              path=head.path, field="split.tensors.count", expected=total,
                              found=len(self._entries))
        for key in head.kvs:
            if key.endswith("chat_template") or ".chat_template." in key:
                self.warnings.append(f"metadata {key!r} is a Jinja template: shown as inert "
                                     "text, never rendered")
        self._infos: dict[str, TensorInfo] = {}

    def _open_split(self, first: _Shard, count: int) -> None:
        if count > limits.MAX_SHARDS:
            raise LimitError("split.count is larger than the limit", path=self.path,
                             field="split.count", expected=f"<= {limits.MAX_SHARDS}",
                             found=count)
        directory, base = os.path.split(self.path)
        match = _SHARD_NAME.match(base)
        if match is None:
            raise HeaderError(f"file is one shard of {count} but its name does not end in "
                              "-NNNNN-of-NNNNN.gguf, so the other shards cannot be found "
                              "(open with shards=False to read this shard alone)",
                              path=self.path, field="split.count", found=count)
        if int(match["count"]) != count:
            raise HeaderError("the file name and split.count disagree on the number of shards",
                              path=self.path, field="split.count", expected=int(match["count"]),
                              found=count)
        no = _split_int(first.header, "split.no")
        if no is not None and no + 1 != int(match["no"]):
            raise HeaderError("the file name and split.no disagree on the shard number",
                              path=self.path, field="split.no", expected=int(match["no"]) - 1,
                              found=no)
        width = len(match["no"])
        paths = [os.path.join(directory, f"{match['prefix']}-{k:0{width}d}-of-{match['count']}"
                              ".gguf") for k in range(1, count + 1)]
        opened = {os.path.abspath(self.path): first}
        shards = []
        for k, shard_path in enumerate(paths):
            shard = opened.get(os.path.abspath(shard_path))
            if shard is None:
                if not os.path.exists(shard_path):
                    raise HeaderError(f"shard {k + 1} of {count} is missing", path=shard_path,
                                      field="split.count", expected=f"{count} shard files")
                shard = _Shard(shard_path)
                self._shards.append(shard)  # closed with the model even if a check fails
            if _split_int(shard.header, "split.count") != count:
                raise HeaderError("shards disagree on split.count", path=shard_path,
                                  field="split.count", expected=count,
                                  found=_split_int(shard.header, "split.count"))
            if _split_int(shard.header, "split.no") not in (k, None):
                raise HeaderError("shard has the wrong split.no", path=shard_path,
                                  field="split.no", expected=k,
                                  found=_split_int(shard.header, "split.no"))
            shards.append(shard)
        self._shards = shards

    # -- listing -------------------------------------------------------------------------------
    def keys(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def _entry(self, name: str) -> _Entry:
        try:
            return self._entries[name]
        except KeyError:
            raise QFormatError("no such tensor", path=self.path, tensor=name) from None

    @property
    def header(self) -> GGUFHeader:
        """The (first shard's) parsed header: version, byte order, alignment, offsets."""
        return self._shards[0].header

    @property
    def shard_paths(self) -> list[str]:
        return [s.path for s in self._shards]

    def info(self, name: str) -> TensorInfo:
        cached = self._infos.get(name)
        if cached is None:
            cached = self._infos[name] = self._describe(self._entry(name))
        return cached

    def _describe(self, entry: _Entry) -> TensorInfo:
        rec = entry.record
        gtype = rec.type
        bits, group, symmetric = CODE_FACTS.get(gtype.name, (None, None, None))
        plain = gtype.name in _PLAIN
        shape = rec.shape
        if plain:
            parts = (PartInfo("data", gtype.name, shape, rec.nbytes),)
        elif gtype.known and rec.ne:
            block, size = gtype.geometry()
            row_bytes = rec.ne[0] // block * size
            parts = (PartInfo("blocks", "U8", (*shape[:-1], row_bytes), rec.nbytes),)
        else:
            parts = (PartInfo("blocks", "U8", (rec.nbytes,), rec.nbytes),)
        extra: dict[str, Any] = {
            "type": gtype.name,
            "type_id": gtype.id,
            "block_size": gtype.block_size,
            "type_size": gtype.type_size,
            "ne": list(rec.ne),
            "offset": entry.start,
            "dequantize": decoder_of(gtype,
                                     self._shards[entry.shard].header.byte_order == ">"),
        }
        if not rec.nbytes_exact:
            extra["nbytes_inferred"] = True
            extra["note"] = ("type id unknown to the installed gguf package; nbytes is the span "
                             "up to the next tensor (padding included)")
        if len(self._shards) > 1:
            extra["shard"] = os.path.basename(self._shards[entry.shard].path)
        return TensorInfo(
            name=rec.name,
            shape=shape,
            dtype=gtype.name if plain else "F32",
            method="none" if plain else "gguf",
            bits=bits,
            group_size=group,
            symmetric=symmetric,
            bits_per_weight=bits_per_weight(rec.nbytes, rec.numel),
            nbytes=rec.nbytes,
            parts=parts,
            extra=extra,
        )

    def metadata_array(self, key: str) -> Any:
        """Every value of the metadata array ``key`` (e.g. ``tokenizer.ggml.tokens``): a numpy
        array for numbers and booleans, a list of str for strings, nested lists for arrays of
        arrays. ``metadata`` itself shows arrays longer than 64 items only as a summary."""
        shard = self._shards[0]
        if shard.mm is None:
            raise QFormatError("model is closed", path=self.path, field=key)
        return read_array(shard.mm, shard.header, key)

    # -- model-level summary -------------------------------------------------------------------
    def tensor_type_mix(self) -> dict[str, dict[str, Any]]:
        """Per ggml type: tensors, weights, bytes and share of all weights (largest first)."""
        mix: dict[str, dict[str, Any]] = {}
        total = 0
        for entry in self._entries.values():
            rec = entry.record
            row = mix.setdefault(rec.type.name, {"tensors": 0, "weights": 0, "bytes": 0})
            row["tensors"] += 1
            row["weights"] += rec.numel
            row["bytes"] += rec.nbytes
            total += rec.numel
        for row in mix.values():
            row["share"] = round(row["weights"] / total, 6) if total else 0.0
        return dict(sorted(mix.items(), key=lambda kv: (-kv[1]["weights"], kv[0])))

    def quantization(self) -> dict[str, Any]:
        head = self.header
        infos = [self.info(k) for k in self.keys()]
        mix = self.tensor_type_mix()
        quantized = [t for t in mix if t not in _PLAIN]
        total_bytes = sum(i.nbytes for i in infos)
        total_weights = sum(i.numel for i in infos)
        evidence = [f"GGUF v{head.version}, {head.endianness}-endian, {len(infos)} tensors, "
                    f"{len(head.kvs)} metadata keys, alignment {head.alignment}"]
        if len(self._shards) > 1:
            evidence.append(f"split model: {len(self._shards)} shards opened as one")
        dominant = next(iter(mix), None)
        # the quantized type holding most weights (F32 norms never decide the label)
        main = quantized[0] if quantized else dominant
        file_type: dict[str, Any] | None = None
        kv = head.kvs.get("general.file_type")
        if kv is not None and isinstance(kv.value, int) and not isinstance(kv.value, bool):
            label = label_of_file_type(kv.value)
            file_type = {"id": kv.value, "name": _file_types().get(kv.value & ~1024),
                         "label": label}
            evidence.append(f"general.file_type = {kv.value} ({label}): llama.cpp's label for "
                            "the file, not a per-tensor fact")
        else:
            label = main or "empty"
            why = ("no general.file_type key" if kv is None else
                   f"general.file_type is a {kv.type}, not an integer")
            evidence.append(f"{why}: label is the quantized tensor type holding most weights")
        qv = head.kvs.get("general.quantization_version")
        if qv is not None:
            evidence.append(f"general.quantization_version = {qv.value}")
        shares = ", ".join(f"{t} {row['share'] * 100:.1f}%" for t, row in mix.items())
        if shares:
            evidence.append(f"tensor types by share of weights: {shares}")
        expected = _label_type(label) if file_type else None
        matches: bool | None = None
        if file_type is not None:
            if expected is None:
                evidence.append(f"label {label} names no single tensor type")
            else:
                share = mix.get(expected, {}).get("share", 0.0)
                matches = expected == main
                verdict = "consistent" if matches else "differs from the tensors"
                evidence.append(f"label {label} expects mostly {expected}: {share * 100:.1f}% "
                                f"of weights are {expected}; most quantized weights are "
                                f"{main} ({verdict})")
        unknown = sorted({i.extra["type"] for i in infos if i.extra["dequantize"] == "none"})
        if unknown:
            evidence.append(f"types no installed decoder can dequantize: {', '.join(unknown)}")
        return {
            "methods": ["gguf"] if quantized else [],
            "label": label,
            "bits_per_weight": bits_per_weight(total_bytes, total_weights),
            "evidence": evidence,
            "file_type": file_type,
            "tensor_types": mix,
            "dominant_type": main,
            "label_type": expected,
            "label_matches_tensors": matches,
            "gguf_version": head.version,
            "byte_order": head.endianness,
        }

    # -- data ----------------------------------------------------------------------------------
    def _bytes(self, entry: _Entry) -> np.ndarray:
        shard = self._shards[entry.shard]
        if shard.mm is None:
            raise QFormatError("model is closed", path=self.path, tensor=entry.record.name)
        return np.frombuffer(shard.mm, dtype=np.uint8, count=entry.record.nbytes,
                             offset=entry.start)

    def get(self, name: str) -> np.ndarray:
        entry = self._entry(name)
        try:
            flat = self._decode(entry)
        except QFormatError as exc:
            raise exc.with_context(path=self._shards[entry.shard].path, tensor=name) from None
        return flat.reshape(entry.record.shape)

    def _decode(self, entry: _Entry) -> np.ndarray:
        rec = entry.record
        gtype = rec.type
        big = self._shards[entry.shard].header.byte_order == ">"
        if not gtype.known:
            raise UnsupportedError(f"ggml type id {gtype.id} is unknown to qformat and to the "
                                   f"installed gguf package ({ggufpy_version()}); listing works, "
                                   "dequantizing needs a newer gguf", field="type",
                                   found=gtype.name)
        if rec.numel == 0:
            return np.empty(0, dtype=np.float32)
        data = self._bytes(entry)
        if gtype.name in _PLAIN:
            return self._decode_plain(data, gtype.name, big)
        if big:
            data = _blocks_to_little_endian(data, gtype)
        from ..kernels import ggml

        if gtype.name in ggml.DEQUANTIZERS:
            return ggml.DEQUANTIZERS[gtype.name](data)
        return _dequantize_with_ggufpy(data, gtype, rec.ne[0] if rec.ne else 1)

    @staticmethod
    def _decode_plain(data: np.ndarray, type_name: str, big: bool) -> np.ndarray:
        if type_name in ("F32", "F16", "BF16"):
            from ..kernels import ggml

            if big:
                data = data.view(">u" + _PLAIN[type_name][1]).byteswap().view(np.uint8)
            return ggml.DEQUANTIZERS[type_name](data)
        order = ">" if big else "<"
        dtype = np.dtype(order + _PLAIN[type_name]) if type_name != "I8" else np.dtype("i1")
        return data.view(dtype).astype(np.float32)

    def raw(self, name: str) -> QTensor:
        """The stored tensor as a QTensor: ``raw`` layout for F32/F16/BF16/F64/I8..I64 tensors
        (exact). Quantized ggml blocks need the ``bitpack`` layout, not available yet."""
        entry = self._entry(name)
        rec = entry.record
        if rec.type.name not in _PLAIN:
            raise UnsupportedError(f"no qformat layout holds {rec.type.name} blocks exactly in "
                                   "this version", path=self.path, tensor=name, field="type",
                                   found=rec.type.name)
        from ..layouts.qtensor import QTensor
        from ..layouts.raw import RawLayout

        big = self._shards[entry.shard].header.byte_order == ">"
        code = _PLAIN[rec.type.name]
        dtype = np.dtype(code) if code in ("i1",) else np.dtype((">" if big else "<") + code)
        values = self._bytes(entry).view(dtype)
        if big or not values.flags.c_contiguous:
            values = values.astype(dtype.newbyteorder("<"))
        else:
            values = values.copy()
        return QTensor(RawLayout(), rec.shape, {"data": values.reshape(rec.shape)},
                       dtype=rec.type.name)

    def close(self) -> None:
        for shard in getattr(self, "_shards", []):
            shard.close()


def _blocks_to_little_endian(data: np.ndarray, gtype: GGMLType) -> np.ndarray:
    """A little-endian copy of big-endian blocks (every multi-byte field swapped)."""
    fields = BIG_ENDIAN_FIELDS.get(gtype.name)
    if fields is None:
        raise UnsupportedError(f"big-endian {gtype.name} blocks cannot be decoded: the byte "
                               "order of its fields is not defined here", field="type",
                               expected=sorted(BIG_ENDIAN_FIELDS), found=gtype.name)
    blocks = data.reshape(-1, gtype.geometry()[1]).copy()
    for start, width in fields:
        blocks[:, start:start + width] = blocks[:, start:start + width][:, ::-1]
    return blocks.reshape(-1)


def _dequantize_with_ggufpy(data: np.ndarray, gtype: GGMLType, row: int) -> np.ndarray:
    """Types qformat has no kernel for, through gguf-py's numpy code (IQ1/IQ2/IQ3, TQ, ...)."""
    import gguf
    from gguf import quants

    if not _ggufpy_decodes(gtype.name):
        raise UnsupportedError(f"neither qformat nor the installed gguf package "
                               f"({ggufpy_version()}) can dequantize {gtype.name}",
                               field="type", found=gtype.name)
    block, size = gtype.geometry()
    row_bytes = row // block * size
    rows = data.reshape(-1, row_bytes) if row_bytes else data.reshape(1, -1)
    qtype = gguf.GGMLQuantizationType[gtype.name]
    with np.errstate(all="ignore"):
        try:
            out = quants.dequantize(rows, qtype)
        except (NotImplementedError, ValueError, TypeError) as exc:
            raise UnsupportedError(f"gguf-py failed to dequantize {gtype.name}: {exc}",
                                   field="type", found=gtype.name) from None
    return np.ascontiguousarray(out, dtype=np.float32).reshape(-1)


def read_gguf(path: str | os.PathLike[str], **options: Any) -> GGUFModel:
    """Open a GGUF file (or every shard of a split model) for reading.

    Options: ``shards=False`` reads only the named file of a split model.
    """
    unknown = set(options) - {"shards"}
    if unknown:
        from ..errors import ArgumentError

        raise ArgumentError("unknown option for GGUF files", field="options",
                            expected=["shards"], found=sorted(unknown))
    return GGUFModel(path, **options)
