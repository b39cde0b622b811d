"""Every hard cap qformat enforces, in one place.

Each reader checks counts, lengths and offsets read from a file against these caps *and* against
the bytes that remain in the file before it allocates anything. The .qf spec cites the caps by
name (``specs/qformat.md``, table generated from this module by ``tools/gen_spec_tables.py``).
A cap is a promise about resources, not about formats: raise it here if a real file needs more.
"""

from __future__ import annotations

# --- the .qf container -------------------------------------------------------------------------
#: Largest JSON header of a .qf file, in bytes (the header is parsed in memory).
QF_MAX_HEADER_BYTES = 256 * 1024 * 1024
#: Most tensors one .qf file may list.
QF_MAX_TENSORS = 1_000_000
#: Most stored parts one tensor may have (codes, scales, zeros, codebooks, outliers...).
QF_MAX_PARTS = 32
#: Longest tensor or part name, in UTF-8 bytes.
QF_MAX_NAME_BYTES = 1024
#: Nesting depth of JSON values in the header (metadata, layout configuration).
QF_MAX_JSON_DEPTH = 32

# --- any format --------------------------------------------------------------------------------
#: Most dimensions of a tensor in any format.
MAX_NDIM = 16
#: Largest element count of one tensor (2**48, about 2.8e14; far above any real model tensor).
MAX_ELEMENTS = 1 << 48
#: Largest JSON side file read as evidence (config.json, index.json, quantize_config.json).
MAX_SIDECAR_JSON_BYTES = 64 * 1024 * 1024
#: Most shards of one sharded checkpoint.
MAX_SHARDS = 10_000

# --- GGUF --------------------------------------------------------------------------------------
#: Longest GGUF string (key, value or tensor name), as in ggml's gguf.cpp.
GGUF_MAX_STRING_BYTES = 1 << 30
#: Most elements of one GGUF metadata array, as in ggml's gguf.cpp.
GGUF_MAX_ARRAY_ELEMENTS = 1 << 30
#: Most dimensions of a GGUF tensor (GGML_MAX_DIMS).
GGUF_MAX_NDIM = 4
#: Largest ``general.alignment`` accepted (it must also be a power of two).
GGUF_MAX_ALIGNMENT = 1 << 20
#: Deepest nesting of GGUF arrays of arrays.
GGUF_MAX_NESTING = 8
#: Most tensors / metadata pairs in one GGUF file.
GGUF_MAX_TENSORS = 1_000_000
GGUF_MAX_KV = 1_000_000

# --- safetensors -------------------------------------------------------------------------------
#: Largest safetensors JSON header (the reference implementation's MAX_HEADER_SIZE).
SAFETENSORS_MAX_HEADER_BYTES = 100_000_000
#: Most tensors one safetensors header may list (a 100 MB header holds ~1.5M minimal entries).
SAFETENSORS_MAX_TENSORS = 1_000_000
#: Longest safetensors tensor name, in UTF-8 bytes.
SAFETENSORS_MAX_NAME_BYTES = 4096
#: Most tensors one sharded checkpoint's index may map.
SAFETENSORS_MAX_INDEX_ENTRIES = 10_000_000
#: Fewest stored bits per logical weight a quantized tensor may claim: a decompression-bomb
#: guard (real schemes store >= ~1 bit per weight; AQLM 1x8 with groups of 16 stores 0.5).
SAFETENSORS_MIN_BITS_PER_WEIGHT = 0.1

# --- ONNX / TFLite -----------------------------------------------------------------------------
#: Largest ONNX protobuf read into memory (protobuf's own 2 GiB message limit).
ONNX_MAX_PROTO_BYTES = (2 << 30) - 1
#: Deepest flatbuffer table nesting and most tables visited (flatbuffers' verifier defaults).
FLATBUFFER_MAX_DEPTH = 64
FLATBUFFER_MAX_TABLES = 1_000_000

# --- layouts -----------------------------------------------------------------------------------
#: Widest code of a codebook layout, in bits (2**16 entries per codebook).
CODEBOOK_MAX_BITS = 16
#: Most codebooks of one codebook-layout tensor.
CODEBOOK_MAX_COUNT = 64
#: Largest level table of a bit-packed layout (one entry per code, so 2**8).
LEVEL_TABLE_MAX_ENTRIES = 256
#: Most weights in one codebook group (out_group_size x in_group_size); bounds per-group scratch.
CODEBOOK_MAX_GROUP_ELEMENTS = 4096

# --- TFLite ----------------------------------------------------------------------------------
#: Largest TFLite metadata entry decoded for display (CONVERSION_METADATA, version strings);
#: longer entries are listed by size only.
TFLITE_MAX_METADATA_BYTES = 1 << 20

# --- ONNX ------------------------------------------------------------------------------------
#: Deepest nesting of ONNX subgraphs (If/Loop/Scan bodies) walked by the reader.
ONNX_MAX_GRAPH_DEPTH = 32
#: Largest dense element count an ONNX sparse initializer may expand to (1 GiB of float32).
ONNX_MAX_SPARSE_DENSE_ELEMENTS = 1 << 28
