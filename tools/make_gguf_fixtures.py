#!/usr/bin/env python3
"""Generate the GGUF test fixtures (run from the project root; needs gguf, numpy).

    /work/venv/bin/python tools/make_gguf_fixtures.py

Writes, deterministically (fixed seeds):

fixtures/foreign/gguf/
  tiny-llama-{Q4_0,Q4_K_M,IQ4_NL}.gguf, corpus-manifest.json
      copied from ../shared/corpus/gguf (llama-quantize output with ground truth); the larger
      corpus files are read from ../shared by the tests.
  types.gguf + types.json
      one small tensor per ggml type qformat claims, the gguf-py fallback types, plain types
      and Q1_0 (which neither qformat nor gguf 0.19 can dequantize), written by gguf-py's
      GGUFWriter. Blocks come from ``gguf.quants.quantize`` where it supports the type,
      otherwise random bytes with finite half-precision scales; types.json holds the sha256 of
      gguf-py's dequantization of every tensor (the oracle).
  metadata.gguf + metadata.json
      every metadata value type, short and long arrays, nested arrays, unicode, a template.
  alignment64.gguf           written with general.alignment = 64
  split-0000{1,2,3}-of-00003.gguf   GGUFWriter(split_max_tensors=2)
  be-writer-{le,be}.gguf     the same content written by GGUFWriter in both byte orders
  be-convert-{le,be}.gguf    the big-endian twin made by gguf-py's gguf_convert_endian.py
  be-own-{le,be}.gguf        block types that script cannot convert, swapped by this script
                             following ggml's block structs (half scales, u32/u16 words)
  unknown-type.gguf          tensor type ids 42 (newer than gguf 0.19) and 4 (removed)
fixtures/hostile/gguf/*.gguf + cases.json
  one malformed file per attack of ../shared/notes/security-anchors.md 1.2 / 1.6 that
  applies to GGUF, with the QFormatError subclass it must raise.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import gguf
import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFEndian, GGUFValueType, GGUFWriter

ROOT = Path(__file__).resolve().parents[1]
FOREIGN = ROOT / "fixtures" / "foreign" / "gguf"
HOSTILE = ROOT / "fixtures" / "hostile" / "gguf"
CORPUS = ROOT.parent / "shared" / "corpus" / "gguf"
COPIED = ["tiny-llama-Q4_0.gguf", "tiny-llama-Q4_K_M.gguf", "tiny-llama-IQ4_NL.gguf"]

T = GGMLQuantizationType

# byte offsets of the half-precision scale fields inside one block (set to finite values in
# random-but-valid blocks; other bytes are codes, grid indices or sub-scales, valid for any value)
HALF_FIELDS: dict[str, tuple[int, ...]] = {
    "Q2_K": (80, 82), "Q3_K": (108,), "Q4_K": (0, 2), "Q5_K": (0, 2), "Q6_K": (208,),
    "IQ4_NL": (0,), "IQ4_XS": (0,), "IQ2_XXS": (0,), "IQ2_XS": (0,), "IQ2_S": (0,),
    "IQ3_XXS": (0,), "IQ3_S": (0,), "IQ1_S": (0,), "Q1_0": (0,), "NVFP4": (),
    "IQ1_M": (),
}
# multi-byte fields swapped for the big-endian twins this script makes itself (ggml's structs)
BE_FIELDS: dict[str, tuple[tuple[int, int], ...]] = {
    "Q4_1": ((0, 2), (2, 2)), "Q5_0": ((0, 2), (2, 4)), "Q5_1": ((0, 2), (2, 2), (4, 4)),
    "Q2_K": ((80, 2), (82, 2)), "Q3_K": ((108, 2),), "Q5_K": ((0, 2), (2, 2)),
    "IQ4_NL": ((0, 2),), "IQ4_XS": ((0, 2), (2, 2)), "TQ1_0": ((52, 2),), "TQ2_0": ((64, 2),),
}
QUANTIZABLE = {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "TQ1_0", "TQ2_0", "MXFP4", "BF16"}


def sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array, dtype="<f4").tobytes()).hexdigest()


def oracle(raw: np.ndarray, type_name: str) -> np.ndarray:
    """gguf-py's dequantization of one tensor's raw (row-shaped) blocks, as float32."""
    with np.errstate(all="ignore"):
        return np.asarray(gguf.quants.dequantize(raw, T[type_name]), dtype=np.float32)


def blocks_for(type_name: str, rows: int, row: int, rng: np.random.Generator) -> np.ndarray:
    """Raw uint8 rows (rows, row_bytes) of ``type_name`` for a (rows, row) float tensor."""
    block, size = GGML_QUANT_SIZES[T[type_name]]
    if type_name in QUANTIZABLE:
        values = rng.normal(0, 0.02, size=(rows, row)).astype(np.float32)
        values[0, :block] = 0.0  # an all-zero block
        out = gguf.quants.quantize(values, T[type_name])
        return out.view(np.uint8).reshape(rows, -1)
    raw = rng.integers(0, 256, size=(rows * row // block, size), dtype=np.uint8)
    for offset in HALF_FIELDS.get(type_name, ()):
        scales = rng.uniform(5e-4, 2e-2, size=raw.shape[0]).astype(np.float16)
        raw[:, offset:offset + 2] = scales.view(np.uint8).reshape(-1, 2)
    return raw.reshape(rows, -1)


# --- valid files written by gguf-py ------------------------------------------------------------
BLOCK_TYPES = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K",
               "IQ4_NL", "IQ4_XS", "MXFP4", "BF16",
               # gguf-py fallback types
               "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ3_XXS", "IQ3_S", "IQ1_S", "IQ1_M", "TQ1_0",
               "TQ2_0", "NVFP4",
               # neither qformat nor gguf 0.19 dequantizes it
               "Q1_0"]


def make_types(rng: np.random.Generator) -> None:
    path = FOREIGN / "types.gguf"
    w = GGUFWriter(path, "llama")
    w.add_name("qformat-types")
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_K_M)
    expected: dict[str, dict[str, object]] = {}

    def add(name: str, array: np.ndarray, type_name: str, values: np.ndarray | None,
            raw_dtype: GGMLQuantizationType | None = None) -> None:
        w.add_tensor(name, array, raw_dtype=raw_dtype)
        entry: dict[str, object] = {"type": type_name}
        if values is None:
            entry["error"] = "UnsupportedError"
        else:
            entry["shape"] = list(values.shape)
            entry["sha256_f32"] = sha256(values)
            entry["oracle"] = "gguf.quants.dequantize" if raw_dtype is not None else "numpy"
        expected[name] = entry

    plain = rng.normal(0, 1, size=(3, 40)).astype(np.float32)
    plain[0, :6] = [np.inf, -np.inf, np.nan, 0.0, -0.0, 1e-40]
    add("plain.F32", plain, "F32", plain)
    half = rng.normal(0, 1, size=(3, 40)).astype(np.float16)
    half.view(np.uint16)[0, :6] = [0x7C00, 0xFC00, 0x7E01, 0x0001, 0x83FF, 0x7C01]
    add("plain.F16", half, "F16", half.astype(np.float32))
    for dt in (np.float64, np.int8, np.int16, np.int32, np.int64):
        arr = (rng.normal(0, 50, size=(2, 5)) if dt == np.float64 else
               rng.integers(-100, 100, size=(2, 5))).astype(dt)
        name = {np.float64: "F64", np.int8: "I8", np.int16: "I16", np.int32: "I32",
                np.int64: "I64"}[dt]
        add(f"plain.{name}", arr, name, arr.astype(np.float32))
    add("plain.empty", np.zeros((0, 8), dtype=np.float32), "F32",
        np.zeros((0, 8), dtype=np.float32))
    for type_name in BLOCK_TYPES:
        block = GGML_QUANT_SIZES[T[type_name]][0]
        row = max(2 * block, 256) if block > 1 else 64
        raw = blocks_for(type_name, 3, row, rng)
        try:
            values = oracle(raw, type_name)
        except NotImplementedError:
            values = None
        add(f"q.{type_name}", raw, type_name, values, raw_dtype=T[type_name])
    # a 3-D tensor: numpy shape is reversed ne
    raw = blocks_for("Q4_K", 6, 256, rng)
    add("q.Q4_K.3d", raw.reshape(2, 3, -1), "Q4_K", oracle(raw, "Q4_K").reshape(2, 3, 256),
        raw_dtype=T.Q4_K)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    (FOREIGN / "types.json").write_text(json.dumps(expected, indent=1) + "\n")


METADATA: list[tuple[str, object, GGUFValueType | None]] = [
    ("m.u8", 200, GGUFValueType.UINT8), ("m.i8", -100, GGUFValueType.INT8),
    ("m.u16", 60000, GGUFValueType.UINT16), ("m.i16", -30000, GGUFValueType.INT16),
    ("m.u32", 4_000_000_000, GGUFValueType.UINT32), ("m.i32", -2_000_000_000,
                                                      GGUFValueType.INT32),
    ("m.f32", 0.5, GGUFValueType.FLOAT32), ("m.bool", True, GGUFValueType.BOOL),
    ("m.str", "héllo wörld ✓", GGUFValueType.STRING),
    ("m.u64", 2**63 + 5, GGUFValueType.UINT64), ("m.i64", -(2**62), GGUFValueType.INT64),
    ("m.f64", 3.141592653589793, GGUFValueType.FLOAT64),
    ("m.empty_str", "", GGUFValueType.STRING),
    ("m.long_str", "x" * 10000, GGUFValueType.STRING),
    ("tokenizer.chat_template", "{% for m in messages %}{{ m.content }}{% endfor %}",
     GGUFValueType.STRING),
    ("m.arr.i32", [1, -2, 3], None),
    ("m.arr.str", ["a", "bé", ""], None),
    ("m.arr.bool", [True, False, True], None),
    ("m.arr.f32.long", [float(i) / 4 for i in range(1000)], None),
    ("m.arr.str.long", [f"tok{i}→" for i in range(100)], None),
    ("m.arr.nested", [[1, 2], [3], [4, 5, 6]], None),
    ("m.arr.nested.str", [["a"], ["b", "c"]], None),
]


def _add_metadata(w: GGUFWriter) -> None:
    for key, value, vtype in METADATA:
        if vtype is None:
            w.add_array(key, value)  # type: ignore[arg-type]
        else:
            w.add_key_value(key, value, vtype)


def make_metadata() -> None:
    path = FOREIGN / "metadata.gguf"
    w = GGUFWriter(path, "llama")
    _add_metadata(w)
    w.add_tensor("x", np.arange(8, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    expected = {key: value for key, value, _ in METADATA}
    (FOREIGN / "metadata.json").write_text(json.dumps(expected, ensure_ascii=False, indent=1)
                                           + "\n")


def write(path: Path, tensors: list[tuple[str, np.ndarray, GGMLQuantizationType | None]],
          endian: GGUFEndian = GGUFEndian.LITTLE, alignment: int | None = None,
          metadata: bool = False, **kwargs: object) -> None:
    w = GGUFWriter(path, "llama", endianess=endian, **kwargs)  # type: ignore[arg-type]
    w.add_name(path.stem)
    if alignment is not None:
        w.add_custom_alignment(alignment)
    if metadata:
        _add_metadata(w)
    for name, array, raw_dtype in tensors:
        w.add_tensor(name, array, raw_dtype=raw_dtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def make_alignment_and_split(rng: np.random.Generator) -> None:
    q8 = blocks_for("Q8_0", 3, 64, rng)
    write(FOREIGN / "alignment64.gguf", [
        ("a", rng.normal(size=(3, 5)).astype(np.float32), None),
        ("b", q8, T.Q8_0),
        ("c", rng.normal(size=(7,)).astype(np.float16), None),
    ], alignment=64)
    tensors = [(f"blk.{i}.w", blocks_for("Q4_0", 2, 64, rng), T.Q4_0) for i in range(4)]
    tensors.append(("norm", rng.normal(size=(64,)).astype(np.float32), None))
    for old in FOREIGN.glob("split-*.gguf"):
        old.unlink()
    write(FOREIGN / "split.gguf", tensors, split_max_tensors=2)


def _swap_fields(raw: np.ndarray, fields: tuple[tuple[int, int], ...], size: int) -> np.ndarray:
    blocks = raw.reshape(-1, size).copy()
    for start, width in fields:
        blocks[:, start:start + width] = blocks[:, start:start + width][:, ::-1]
    return blocks.reshape(raw.shape)


def make_big_endian(rng: np.random.Generator) -> None:
    # 1. GGUFWriter writes typed arrays and metadata in either order
    typed = [("f32", rng.normal(size=(4, 6)).astype(np.float32), None),
             ("f16", rng.normal(size=(2, 8)).astype(np.float16), None),
             ("f64", rng.normal(size=(3,)).astype(np.float64), None),
             ("i16", rng.integers(-999, 999, size=(5,)).astype(np.int16), None),
             ("i32", rng.integers(-99999, 99999, size=(2, 3)).astype(np.int32), None)]
    write(FOREIGN / "be-writer-le.gguf", typed, metadata=True)
    write(FOREIGN / "be-writer-be.gguf", typed, endian=GGUFEndian.BIG, metadata=True)
    # 2. gguf-py's own converter swaps the scale fields of these block types
    convertible = [("f32", rng.normal(size=(2, 64)).astype(np.float32), None),
                   ("f16", rng.normal(size=(2, 64)).astype(np.float16), None)]
    for type_name in ("BF16", "Q4_0", "Q8_0", "Q4_K", "Q6_K", "MXFP4"):
        row = 256 if GGML_QUANT_SIZES[T[type_name]][0] == 256 else 64
        convertible.append((f"q.{type_name}", blocks_for(type_name, 2, row, rng), T[type_name]))
    le, be = FOREIGN / "be-convert-le.gguf", FOREIGN / "be-convert-be.gguf"
    write(le, convertible, metadata=True)
    shutil.copyfile(le, be)
    script = Path(gguf.__file__).parent / "scripts" / "gguf_convert_endian.py"
    subprocess.run([sys.executable, str(script), str(be), "big"], input=b"YES\n", check=True,
                   capture_output=True)
    # 3. the other block types: swapped here, following ggml's block structs
    own_le, own_be = [], []
    for type_name, fields in BE_FIELDS.items():
        block, size = GGML_QUANT_SIZES[T[type_name]]
        raw = blocks_for(type_name, 2, 256 if block == 256 else 64, rng)
        own_le.append((f"q.{type_name}", raw, T[type_name]))
        own_be.append((f"q.{type_name}", _swap_fields(raw, fields, size), T[type_name]))
    write(FOREIGN / "be-own-le.gguf", own_le)
    write(FOREIGN / "be-own-be.gguf", own_be, endian=GGUFEndian.BIG)


def make_unknown_types(rng: np.random.Generator) -> None:
    """Tensor type ids the gguf package does not know: 42 (Q2_0, newer) and 4 (removed)."""
    path = FOREIGN / "unknown-type.gguf"
    write(path, [("a", blocks_for("Q4_0", 2, 64, rng), T.Q4_0),
                 ("b.newer", blocks_for("Q4_0", 2, 64, rng), T.Q4_0),
                 ("c", rng.normal(size=(2, 64)).astype(np.float32), None),
                 ("d.removed", blocks_for("Q8_0", 1, 64, rng), T.Q8_0)])
    reader = gguf.GGUFReader(path)
    patches = {"b.newer": 42, "d.removed": 4}
    offsets = {}
    for t in reader.tensors:
        if t.name in patches:
            # tensor info: name length u64, name, n_dims u32, ne u64 x n_dims, type u32
            offsets[t.name] = t.field.offset + 8 + len(t.name.encode()) + 4 + 8 * len(t.shape)
    del reader
    data = bytearray(path.read_bytes())
    for name, type_id in patches.items():
        struct.pack_into("<I", data, offsets[name], type_id)
    path.write_bytes(bytes(data))


# --- hostile files -----------------------------------------------------------------------------
class Builder:
    """Hand-assembled GGUF bytes, so that every field can be made wrong on purpose."""

    def __init__(self, order: str = "<") -> None:
        self.o = order

    def u32(self, v: int) -> bytes:
        return struct.pack(self.o + "I", v)

    def u64(self, v: int) -> bytes:
        return struct.pack(self.o + "Q", v)

    def string(self, s: bytes | str, length: int | None = None) -> bytes:
        raw = s.encode() if isinstance(s, str) else s
        return self.u64(len(raw) if length is None else length) + raw

    def kv(self, key: bytes | str, vtype: int, payload: bytes) -> bytes:
        return self.string(key) + self.u32(vtype) + payload

    def kv_u32(self, key: str, v: int) -> bytes:
        return self.kv(key, GGUFValueType.UINT32, self.u32(v))

    def kv_str(self, key: str, v: str) -> bytes:
        return self.kv(key, GGUFValueType.STRING, self.string(v))

    def tensor(self, name: str, ne: list[int], type_id: int, offset: int) -> bytes:
        return (self.string(name) + self.u32(len(ne)) + b"".join(self.u64(d) for d in ne)
                + self.u32(type_id) + self.u64(offset))

    def file(self, kvs: list[bytes], tensors: list[bytes], data: bytes = b"", *,
             n_kv: int | None = None, n_tensors: int | None = None, version: int = 3,
             alignment: int = 32, magic: bytes = b"GGUF") -> bytes:
        head = (magic + self.u32(version) + self.u64(len(tensors) if n_tensors is None
                                                     else n_tensors)
                + self.u64(len(kvs) if n_kv is None else n_kv) + b"".join(kvs)
                + b"".join(tensors))
        pad = -len(head) % alignment if alignment else 0
        return head + b"\0" * pad + data


def make_hostile() -> None:
    if HOSTILE.exists():
        shutil.rmtree(HOSTILE)
    HOSTILE.mkdir(parents=True)
    b = Builder()
    cases: dict[str, dict[str, str]] = {}
    f32 = int(T.F32)
    q40 = int(T.Q4_0)
    arr = int(GGUFValueType.ARRAY)
    s_t = int(GGUFValueType.STRING)
    name_kv = b.kv_str("general.name", "x")
    one = b.tensor("w", [8], f32, 0)
    data8 = np.arange(8, dtype="<f4").tobytes()

    def case(name: str, content: bytes, error: str, attack: str, what: str) -> None:
        (HOSTILE / f"{name}.gguf").write_bytes(content)
        cases[name] = {"file": f"{name}.gguf", "error": error, "attack": attack, "what": what}

    valid = b.file([name_kv], [one], data8)
    # header basics
    case("bad-magic", b"GGUX" + valid[4:], "HeaderError", "A12", "magic is not GGUF")
    case("empty", b"", "HeaderError", "A14", "zero-byte file")
    case("truncated-in-counts", valid[:12], "HeaderError", "A14", "file ends inside counts")
    case("version-1", b.file([name_kv], [one], data8, version=1), "UnsupportedError", "A12",
         "obsolete GGUF v1")
    case("version-unknown", b.file([name_kv], [one], data8, version=99), "UnsupportedError",
         "A12", "version 99")
    # A1 huge counts
    case("tensor-count-huge", b.file([name_kv], [one], data8, n_tensors=2**63), "LimitError",
         "A1", "tensor_count = 2^63")
    case("kv-count-huge", b.file([name_kv], [one], data8, n_kv=2**63), "LimitError", "A1",
         "kv_count = 2^63")
    case("kv-count-past-eof", b.file([name_kv], [one], data8, n_kv=100_000), "LimitError", "A1",
         "kv_count 100000 in a 100-byte file")
    case("tensor-count-past-eof", b.file([name_kv], [one], data8, n_tensors=50_000),
         "LimitError", "A1", "tensor_count 50000 in a 100-byte file")
    # A2 huge string and array lengths
    case("key-length-huge", b.file([b.u64(2**63) + b"k" + b.u32(4) + b.u32(1)], [one], data8),
         "LimitError", "A2", "key length 2^63")
    case("string-length-huge", b.file([b.kv("s", s_t, b.u64(2**62) + b"abc")], [one], data8),
         "LimitError", "A2", "string value length 2^62")
    case("string-length-past-eof", b.file([b.kv("s", s_t, b.u64(5000) + b"abc")], [], b""),
         "LimitError", "A2", "string length 5000 with 3 bytes left")
    case("array-length-huge", b.file([b.kv("a", arr, b.u32(int(GGUFValueType.UINT8))
                                            + b.u64(2**62))], [one], data8),
         "LimitError", "A2", "array length 2^62 (gguf-py: MemoryError)")
    case("array-length-past-eof", b.file([b.kv("a", arr, b.u32(int(GGUFValueType.UINT32))
                                                + b.u64(1000) + b.u32(1))], [], b""),
         "LimitError", "A2", "array of 1000 u32 with 4 bytes left")
    case("string-array-past-eof", b.file([b.kv("a", arr, b.u32(s_t) + b.u64(3)
                                                + b.string("ok") + b.string("x", 2**40))], [],
                                         b""),
         "LimitError", "A2", "second string of a string array claims 2^40 bytes")
    case("array-item-type-unknown", b.file([b.kv("a", arr, b.u32(13) + b.u64(1) + b"\0" * 8)],
                                           [one], data8),
         "HeaderError", "A2/A8", "array element type 13")
    case("value-type-unknown", b.file([b.kv("k", 0xFFFFFFFF, b"\0" * 8)], [one], data8),
         "HeaderError", "A8", "value type 0xFFFFFFFF")
    # A9 nesting
    deep = b""
    for _ in range(5000):
        deep = b.u32(arr) + b.u64(1) + deep
    deep = deep + b.u32(int(GGUFValueType.UINT8)) + b.u64(0)
    case("nested-arrays-5000", b.file([b.kv("n", arr, deep)], [one], data8), "LimitError", "A9",
         "arrays nested 5000 deep (gguf-py: RecursionError)")
    # A6 ambiguity
    case("duplicate-key", b.file([name_kv, name_kv], [one], data8), "HeaderError", "A6",
         "general.name twice")
    case("empty-key", b.file([b.kv_u32("", 1)], [one], data8), "HeaderError", "A6",
         "zero-length key")
    case("duplicate-tensor-name", b.file([name_kv], [one, b.tensor("w", [8], f32, 32)],
                                         data8 + b"\0" * 32 + data8),
         "HeaderError", "A6", "tensor w twice")
    # A7 alignment
    for label, value, error in (("zero", 0, "HeaderError"), ("48", 48, "HeaderError"),
                                ("2e31", 2**31, "LimitError")):
        case(f"alignment-{label}", b.file([b.kv_u32("general.alignment", value)], [one], data8),
             error, "A7", f"general.alignment = {value}")
    case("alignment-wrong-type", b.file([b.kv("general.alignment", int(GGUFValueType.UINT64),
                                              b.u64(32))], [one], data8),
         "HeaderError", "A7", "general.alignment stored as UINT64")
    # A3 dimensions
    case("n-dims-5", b.file([name_kv], [b.tensor("w", [1, 1, 1, 1, 8], f32, 0)], data8),
         "LimitError", "A3", "n_dims = 5")
    case("n-dims-huge", b.file([name_kv], [b.string("w") + b.u32(2**32 - 1) + b.u64(8)], data8),
         "LimitError", "A3", "n_dims = 2^32-1 (gguflib stack overflow)")
    case("dim-negative", b.file([name_kv], [b.tensor("w", [2**64 - 8], f32, 0)], data8),
         "HeaderError", "A3", "ne[0] = -8 as int64")
    case("dims-product-overflow", b.file([name_kv], [b.tensor("w", [2**32, 2**32, 2**32], f32,
                                                                0)], data8),
         "LimitError", "A3", "2^96 elements (wraps 64-bit products)")
    case("nbytes-wrap", b.file([name_kv], [b.tensor("w", [2**40, 2**22], q40, 0)], data8),
         "LimitError", "A3", "Q4_0 byte size wraps size_t (CVE-2026-33298 class)")
    case("row-not-multiple-of-block", b.file([name_kv], [b.tensor("w", [33], q40, 0)],
                                             b"\0" * 64),
         "HeaderError", "A3", "Q4_0 row of 33 weights")
    case("quantized-scalar", b.file([name_kv], [b.tensor("w", [], q40, 0)], b"\0" * 32),
         "HeaderError", "A3", "a 0-dimensional Q4_0 tensor (1 weight, 32-weight blocks)")
    # A4 offsets
    case("offset-past-eof", b.file([name_kv], [b.tensor("w", [8], f32, 2**32)], data8),
         "HeaderError", "A4", "offset 2^32 in a tiny file")
    case("offset-wraps", b.file([name_kv], [b.tensor("w", [8], f32, 2**64 - 32)], data8),
         "HeaderError", "A4", "offset 2^64-32 (offset + size wraps)")
    case("data-truncated", b.file([name_kv], [b.tensor("w", [64], f32, 0)], data8),
         "HeaderError", "A4/A14", "256 data bytes declared, 32 present")
    case("data-section-missing", b.file([name_kv], [one], b"")[:-4], "HeaderError", "A14",
         "file ends inside the padding before the data")
    # A5 overlap, gaps, order, alignment of offsets
    two = data8 + data8
    case("overlapping-tensors", b.file([name_kv], [one, b.tensor("v", [8], f32, 0)], two),
         "HeaderError", "A5", "two tensors at offset 0 (gguf-py loads both)")
    case("gap-between-tensors", b.file([name_kv], [one, b.tensor("v", [8], f32, 64)],
                                       data8 + b"\0" * 64 + data8),
         "HeaderError", "A5", "32 unused bytes between tensors")
    case("offsets-reordered", b.file([name_kv], [b.tensor("w", [8], f32, 32),
                                                 b.tensor("v", [8], f32, 0)], two),
         "HeaderError", "A5", "second tensor listed first")
    case("offset-misaligned", b.file([name_kv], [b.tensor("w", [4], f32, 0),
                                                 b.tensor("v", [4], f32, 16)], data8),
         "HeaderError", "A5", "offset 16 with alignment 32")
    # truncation at every region. Family 1: a file with two keys (one a string array) and two
    # tensors; positions are computed from the pieces. Cuts that leave fewer bytes than the
    # declared counts need are caught by the count check (LimitError) before any field.
    kv1 = name_kv
    kv2 = b.kv("tok", arr, b.u32(s_t) + b.u64(3) + b.string("a") + b.string("bb")
               + b.string("ccc"))
    ti1, ti2 = one, b.tensor("v", [8], f32, 32)
    full = b.file([kv1, kv2], [ti1, ti2], data8 + data8)
    k1, k2 = 24, 24 + len(kv1)
    t1 = k2 + len(kv2)
    array_items = k2 + len(b.string("tok")) + 4 + 4 + 8
    cuts: dict[str, tuple[bytes, int, str]] = {
        "magic": (full, 3, "HeaderError"),
        "version": (full, 6, "HeaderError"),
        "key-length": (full, k1 + 4, "LimitError"),  # 2 keys + 2 tensors need >= 74 bytes
        "array-strings": (full, array_items + 9 + 8 + 1, "LimitError"),  # inside "bb"
        "tensor-name": (full, t1 + 8, "LimitError"),  # name length read, no bytes left
        "tensor-dims": (full, t1 + 8 + 1 + 4 + 3, "HeaderError"),
        "tensor-offset": (full, t1 + 8 + 1 + 4 + 8 + 4 + 5, "HeaderError"),
        "padding": (full, t1 + len(ti1) + len(ti2) + 1, "HeaderError"),
        "data": (full, len(full) - 5, "HeaderError"),
    }
    assert len(full) % 32 == 0, "data ends on the alignment"
    assert (t1 + len(ti1) + len(ti2)) % 32, "a padding region exists"
    # Family 2: one long string value and no tensors, so that the count check passes early.
    key = "general.description"
    kv_string = b.file([b.kv(key, s_t, b.string("x" * 100))], [])
    after_key = 24 + 8 + len(key)
    cuts["key"] = (kv_string, 24 + 8 + 5, "LimitError")  # key length 19, 5 bytes left
    cuts["value-type"] = (kv_string, after_key + 2, "HeaderError")
    cuts["string-length"] = (kv_string, after_key + 4 + 3, "HeaderError")
    cuts["string-bytes"] = (kv_string, after_key + 4 + 8 + 50, "LimitError")
    # Family 3: an array of 20 UINT32.
    key = "a.key.long.enough.to.pass.counts"
    kv_array = b.file([b.kv(key, arr, b.u32(int(GGUFValueType.UINT32)) + b.u64(20)
                            + b"\1" * 80)], [])
    after_key = 24 + 8 + len(key) + 4
    cuts["array-item-type"] = (kv_array, after_key + 2, "HeaderError")
    cuts["array-length"] = (kv_array, after_key + 4 + 5, "HeaderError")
    cuts["array-items"] = (kv_array, after_key + 4 + 8 + 40, "LimitError")
    for region, (content, cut, error) in cuts.items():
        case(f"truncated-in-{region}", content[:cut], error, "A14", f"cut at byte {cut}")
    # split models with a missing or inconsistent shard
    split_dir = HOSTILE / "split-missing"
    split_dir.mkdir()
    for k in (1, 3):
        body = b.file([b.kv("split.no", int(GGUFValueType.UINT16), struct.pack("<H", k - 1)),
                       b.kv("split.count", int(GGUFValueType.UINT16), struct.pack("<H", 3))],
                      [b.tensor(f"w{k}", [8], f32, 0)], data8)
        (split_dir / f"m-{k:05d}-of-00003.gguf").write_bytes(body)
    cases["split-missing"] = {"file": "split-missing/m-00001-of-00003.gguf",
                              "error": "HeaderError", "attack": "A14",
                              "what": "shard 2 of 3 absent"}
    def shard(no: int, count: int, tensor: str) -> bytes:
        return b.file([b.kv("split.no", int(GGUFValueType.UINT16), struct.pack("<H", no)),
                       b.kv("split.count", int(GGUFValueType.UINT16), struct.pack("<H", count))],
                      [b.tensor(tensor, [8], f32, 0)], data8)

    for folder, shards, what in (
            ("split-duplicate-tensor", [(0, "w"), (1, "w")], "tensor w in both shards"),
            ("split-wrong-number", [(0, "a"), (0, "b")], "second shard says split.no = 0")):
        (HOSTILE / folder).mkdir()
        for k, (no, tensor) in enumerate(shards, start=1):
            (HOSTILE / folder / f"m-{k:05d}-of-00002.gguf").write_bytes(shard(no, 2, tensor))
        cases[folder] = {"file": f"{folder}/m-00001-of-00002.gguf", "error": "HeaderError",
                         "attack": "A6", "what": what}
    case("split-count-mismatch", b.file([b.kv("split.no", int(GGUFValueType.UINT16),
                                              struct.pack("<H", 0)),
                                         b.kv("split.count", int(GGUFValueType.UINT16),
                                              struct.pack("<H", 3))], [one], data8),
         "HeaderError", "A14", "split.count = 3 but the name is not -NNNNN-of-NNNNN")
    (HOSTILE / "cases.json").write_text(json.dumps(cases, indent=1) + "\n")


def main() -> None:
    FOREIGN.mkdir(parents=True, exist_ok=True)
    if CORPUS.is_dir():
        for name in COPIED:
            shutil.copyfile(CORPUS / name, FOREIGN / name)
        shutil.copyfile(CORPUS / "manifest.json", FOREIGN / "corpus-manifest.json")
    rng = np.random.default_rng(20240606)
    make_types(rng)
    make_metadata()
    make_alignment_and_split(rng)
    make_big_endian(rng)
    make_unknown_types(rng)
    make_hostile()
    print(f"wrote {FOREIGN} and {HOSTILE}")


if __name__ == "__main__":
    main()
