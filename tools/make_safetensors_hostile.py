"""Generate the hostile safetensors fixtures (``fixtures/hostile/safetensors/``).

One file or directory per malformed case of ``../shared/notes/security-anchors.md`` §1.1 and
§1.6 that applies to safetensors checkpoints, plus quantization-level inconsistencies. Each case
is listed in ``cases.json`` with the QFormatError subclass the reader must raise and the stage
that raises it (``open`` = opening/listing the checkpoint, ``get`` = decoding one tensor).
Run: ``/work/venv/bin/python tools/make_safetensors_hostile.py`` (numpy only, deterministic).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "fixtures" / "hostile" / "safetensors"
CASES: dict[str, dict[str, Any]] = {}


def st_bytes(header: bytes | str, data: bytes = b"", *, pad: bytes = b" ",
             length: int | None = None) -> bytes:
    """A safetensors file from a raw header (padded to 8 bytes) and a data buffer."""
    h = header.encode() if isinstance(header, str) else header
    if pad:
        h += pad * ((-len(h)) % 8)
    n = len(h) if length is None else length
    return struct.pack("<Q", n) + h + data


def entry(dtype: str, shape: list[int], begin: int, end: int) -> dict[str, Any]:
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def case(name: str, content: bytes, error: str, stage: str, clause: str,
         what: str) -> None:
    (OUT / name).write_bytes(content)
    CASES[name] = {"error": error, "stage": stage, "clause": clause, "attack": what}


def ok_header(**tensors: dict[str, Any]) -> str:
    return json.dumps(tensors)


def files() -> None:
    four = b"\x00" * 4
    case("header_length_huge.safetensors", struct.pack("<Q", 1 << 40) + b"{}" + b" " * 6,
         "LimitError", "open", "A13 / 1.1 HeaderTooLarge",
         "declared header length 2**40 (allocation bomb)")
    case("header_length_past_eof.safetensors", st_bytes("{}", length=4096),
         "HeaderError", "open", "A4 / 1.1 InvalidHeaderLength",
         "header length larger than the file")
    case("file_too_short.safetensors", b"\x10\x00\x00", "HeaderError", "open", "A14",
         "truncated before the 8-byte length")
    case("header_not_utf8.safetensors", st_bytes(b'{"a\xff\xfe": {}}'), "HeaderError", "open",
         "1.1 InvalidHeader", "header bytes are not UTF-8")
    case("header_invalid_json.safetensors", st_bytes('{"t": {"dtype": "F32",'), "HeaderError",
         "open", "1.1 InvalidHeaderDeserialization", "truncated JSON")
    case("header_nul_padding.safetensors",
         st_bytes(ok_header(t=entry("F32", [1], 0, 4)), four, pad=b"\x00"),
         "HeaderError", "open", "1.1 padding (st_09)", "header padded with NUL, not 0x20")
    case("header_not_object.safetensors", st_bytes('{"t": 1}'), "HeaderError", "open",
         "1.1 schema", "tensor entry is not an object")
    case("header_nan_constant.safetensors",
         st_bytes('{"t": {"dtype": "F32", "shape": [NaN], "data_offsets": [0, 4]}}', four),
         "HeaderError", "open", "1.1 JSON", "non-standard JSON constant NaN")
    dup = ('{"t": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}, '
           '"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}')
    case("duplicate_tensor_key.safetensors", st_bytes(dup, four), "HeaderError", "open",
         "A6 (st_07)", "same tensor name twice: loader and auditor see different tensors")
    dup_meta = ('{"__metadata__": {"format": "pt", "format": "mlx"}, '
                '"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}')
    case("duplicate_metadata_key.safetensors", st_bytes(dup_meta, four), "HeaderError", "open",
         "A6", "duplicate key inside __metadata__")
    case("overlapping_offsets.safetensors",
         st_bytes(ok_header(a=entry("F32", [2], 0, 8), b=entry("F32", [1], 4, 8)), b"\0" * 8),
         "HeaderError", "open", "A5 / 1.1 InvalidOffset", "two tensors share bytes")
    case("hole_between_tensors.safetensors",
         st_bytes(ok_header(a=entry("F32", [1], 0, 4), b=entry("F32", [1], 8, 12)),
                  b"\0" * 12), "HeaderError", "open", "A5", "unindexed bytes between tensors")
    case("trailing_bytes_polyglot.safetensors",
         st_bytes(ok_header(a=entry("F32", [1], 0, 4)), four + b"PK\x03\x04payload"),
         "HeaderError", "open", "A5 / 1.1 MetadataIncompleteBuffer",
         "bytes after the last tensor (polyglot file)")
    case("offset_past_eof.safetensors",
         st_bytes(ok_header(a=entry("F32", [4], 0, 16)), four), "HeaderError", "open",
         "A4 (CVE-2026-7482 class)", "tensor range beyond the end of the file")
    case("zero_size_inside_tensor.safetensors",
         st_bytes(ok_header(a=entry("F32", [2], 0, 8), z=entry("F32", [0], 4, 4)), b"\0" * 8),
         "HeaderError", "open", "A5 (F002 class)", "empty tensor aliasing the middle of another")
    case("zero_size_past_eof.safetensors",
         st_bytes(ok_header(a=entry("F32", [1], 0, 4), z=entry("F32", [0], 64, 64)), four),
         "HeaderError", "open", "A4/A5", "empty tensor pointing past the buffer")
    case("shape_offset_mismatch.safetensors",
         st_bytes(ok_header(a=entry("F32", [2], 0, 4)), four), "HeaderError", "open",
         "1.1 TensorInvalidInfo", "byte range smaller than shape x dtype")
    case("begin_after_end.safetensors",
         st_bytes(ok_header(a=entry("F32", [0], 4, 0)), four), "HeaderError", "open",
         "A4", "data_offsets begin > end")
    case("dims_product_overflow.safetensors",
         st_bytes(ok_header(a=entry("F32", [1 << 32, 1 << 32, 1 << 32], 0, 0))), "LimitError",
         "open", "A3 (CVE-2026-33298 class)", "dims product wraps 64-bit arithmetic")
    case("negative_dimension.safetensors",
         st_bytes(ok_header(a=entry("F32", [-1, 4], 0, 0))), "HeaderError", "open", "A3",
         "negative dimension")
    case("too_many_dims.safetensors",
         st_bytes(ok_header(a=entry("F32", [1] * 40, 0, 4)), four), "LimitError", "open", "A3",
         "40 dimensions")
    case("unknown_dtype.safetensors",
         st_bytes(ok_header(a=entry("F128", [1], 0, 16)), b"\0" * 16), "UnsupportedError",
         "open", "A8", "dtype outside the safetensors enum")
    case("bool_in_shape.safetensors",
         st_bytes('{"a": {"dtype": "F32", "shape": [true], "data_offsets": [0, 4]}}', four),
         "HeaderError", "open", "1.1 schema", "JSON true where an integer is required")
    case("metadata_not_strings.safetensors",
         st_bytes('{"__metadata__": {"n": 1}, "a": ' + json.dumps(entry("F32", [1], 0, 4)) + "}",
                  four), "HeaderError", "open", "1.1 __metadata__", "non-string metadata value")
    case("subbyte_misaligned.safetensors",
         st_bytes(ok_header(a=entry("F4", [3], 0, 2)), b"\0\0"), "HeaderError", "open",
         "1.1 MisalignedSlice", "3 four-bit values do not end on a byte")
    deep = '{"a": ' + "[" * 100000 + "]" * 100000 + "}"
    case("deep_json_nesting.safetensors", st_bytes(deep), "LimitError", "open", "A9",
         "100000 nested arrays (recursion bomb)")
    case("tensor_name_too_long.safetensors",
         st_bytes(json.dumps({"x" * 5000: entry("F32", [1], 0, 4)}), four), "LimitError",
         "open", "A2", "5000-byte tensor name")
    case("empty_tensor_name.safetensors",
         st_bytes(json.dumps({"": entry("F32", [1], 0, 4)}), four), "HeaderError", "open",
         "1.1 schema", "empty tensor name")


def write_dir(name: str, files_: dict[str, bytes | str | dict], error: str, stage: str,
              clause: str, what: str, tensor: str | None = None) -> None:
    d = OUT / name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    for fname, content in files_.items():
        p = d / fname
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, dict):
            content = json.dumps(content)
        p.write_bytes(content.encode() if isinstance(content, str) else content)
    CASES[name] = {"error": error, "stage": stage, "clause": clause, "attack": what}
    if tensor:
        CASES[name]["tensor"] = tensor


def shard(**tensors: tuple[str, list[int], bytes]) -> bytes:
    header, data, pos = {}, b"", 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = entry(dtype, shape, pos, pos + len(raw))
        data += raw
        pos += len(raw)
    return st_bytes(json.dumps(header), data)


def directories() -> None:
    good = shard(**{"w": ("F32", [1], b"\0" * 4)})
    idx = {"weight_map": {"w": "model-00001.safetensors"}}
    write_dir("index_absolute_path", {
        "model.safetensors.index.json": {"weight_map": {"w": "/etc/passwd"}}},
        "HeaderError", "open", "A10", "index names an absolute shard path")
    write_dir("index_dotdot", {
        "model.safetensors.index.json": {"weight_map": {"w": "../outside.safetensors"}}},
        "HeaderError", "open", "A10 (CVE-2022-25882 class)", "index climbs out with '..'")
    write_dir("index_missing_shard", {"model.safetensors.index.json": idx}, "HeaderError",
              "open", "A14", "index names a shard that is not there")
    write_dir("index_tensor_missing", {
        "model.safetensors.index.json": {"weight_map": {"w": "model-00001.safetensors",
                                                        "v": "model-00001.safetensors"}},
        "model-00001.safetensors": good}, "HeaderError", "open", "A14",
        "index lists a tensor its shard lacks")
    write_dir("index_wrong_shard", {
        "model.safetensors.index.json": {"weight_map": {"w": "model-00002.safetensors",
                                                        "v": "model-00001.safetensors"}},
        "model-00001.safetensors": good,
        "model-00002.safetensors": shard(**{"v": ("F32", [1], b"\0" * 4)})},
        "HeaderError", "open", "A6", "index and shards disagree on where a tensor lives")
    write_dir("index_duplicate_tensor", {
        "model.safetensors.index.json": {"weight_map": {"w": "model-00001.safetensors",
                                                        "x": "model-00002.safetensors"}},
        "model-00001.safetensors": good,
        "model-00002.safetensors": shard(**{"w": ("F32", [1], b"\0" * 4),
                                            "x": ("F32", [1], b"\0" * 4)})},
        "HeaderError", "open", "A6", "the same tensor stored in two shards")
    write_dir("index_duplicate_key", {
        "model.safetensors.index.json":
            '{"weight_map": {"w": "model-00001.safetensors", "w": "other.safetensors"}}',
        "model-00001.safetensors": good}, "HeaderError", "open", "A6",
        "duplicate key in the index JSON")
    write_dir("index_weight_map_not_object", {
        "model.safetensors.index.json": {"weight_map": ["model-00001.safetensors"]},
        "model-00001.safetensors": good}, "HeaderError", "open", "1.1 schema",
        "weight_map is a list")
    write_dir("index_shard_not_string", {
        "model.safetensors.index.json": {"weight_map": {"w": 7}}}, "HeaderError", "open",
        "1.1 schema", "shard name is a number")
    write_dir("index_shard_is_directory", {
        "model.safetensors.index.json": {"weight_map": {"w": "sub"}},
        "sub/placeholder": ""}, "HeaderError", "open", "A10", "shard path is a directory")
    # a symlink leading outside the checkpoint folder
    d = OUT / "index_symlink_escape"
    write_dir("index_symlink_escape", {
        "model.safetensors.index.json": {"weight_map": {"w": "model-00001.safetensors"}}},
        "HeaderError", "open", "A10 (CVE-2026-27489 class)",
        "shard is a symlink to a file outside the folder")
    os.symlink("../outside_target.safetensors", d / "model-00001.safetensors")
    (OUT / "outside_target.safetensors").write_bytes(good)
    # quantization-level inconsistencies: listing works, get() fails with a named field
    gptq = {"quant_method": "gptq", "bits": 4, "group_size": 128, "desc_act": True, "sym": True}
    qweight = b"\0" * (16 * 8 * 4)  # [in*4/32=16, out=8] for in=128
    write_dir("gptq_g_idx_out_of_range", {
        "config.json": {"quantization_config": gptq},
        "model.safetensors": shard(**{
            "m.qweight": ("I32", [16, 8], qweight),
            "m.qzeros": ("I32", [1, 1], b"\x77\x77\x77\x77"),
            "m.scales": ("F16", [1, 8], b"\0\x3c" * 8),
            "m.g_idx": ("I32", [128], (b"\0\0\0\0" * 127) + struct.pack("<i", 99))})},
        "LayoutError", "get", "A8", "g_idx names group 99 of 1", tensor="m.weight")
    write_dir("gptq_scales_shape_mismatch", {
        "config.json": {"quantization_config": gptq},
        "model.safetensors": shard(**{
            "m.qweight": ("I32", [16, 8], qweight),
            "m.qzeros": ("I32", [1, 1], b"\x77\x77\x77\x77"),
            "m.scales": ("F16", [1, 9], b"\0\x3c" * 9)})},
        "LayoutError", "get", "1.1 TensorInvalidInfo (semantic)",
        "scales columns disagree with qweight", tensor="m.weight")
    qs = json.dumps({"quant_type": "nf4", "blocksize": 64, "dtype": "float16",
                     "shape": [8, 1024]}).encode()
    write_dir("bnb_shape_mismatch", {
        "model.safetensors": shard(**{
            "m.weight": ("U8", [64, 1], b"\x11" * 64),
            "m.weight.absmax": ("F32", [2], b"\0" * 8),
            "m.weight.quant_map": ("F32", [16], b"\0" * 64),
            "m.weight.quant_state.bitsandbytes__nf4": ("U8", [len(qs)], qs)})},
        "LayoutError", "get", "A3 (semantic)",
        "quant_state shape claims 8192 weights, 128 are stored", tensor="m.weight")
    bad_qs = b'{"quant_type": "nf4", "quant_type": "fp4"}'
    write_dir("bnb_quant_state_duplicate_key", {
        "model.safetensors": shard(**{
            "m.weight": ("U8", [2, 1], b"\x11\x11"),
            "m.weight.absmax": ("F32", [1], b"\0" * 4),
            "m.weight.quant_map": ("F32", [16], b"\0" * 64),
            "m.weight.quant_state.bitsandbytes__nf4": ("U8", [len(bad_qs)], bad_qs)})},
        "HeaderError", "get", "A6", "duplicate key in the embedded quant_state JSON",
        tensor="m.weight")
    big = b'{"quant_type": "nf4", "pad": "' + b"x" * 70000 + b'"}'
    write_dir("bnb_quant_state_huge", {
        "model.safetensors": shard(**{
            "m.weight": ("U8", [2, 1], b"\x11\x11"),
            "m.weight.absmax": ("F32", [1], b"\0" * 4),
            "m.weight.quant_map": ("F32", [16], b"\0" * 64),
            "m.weight.quant_state.bitsandbytes__nf4": ("U8", [len(big)], big)})},
        "LimitError", "get", "A2", "70 KB embedded quant_state JSON", tensor="m.weight")
    write_dir("hqq_unknown_packing", {
        "model.safetensors": shard(**{
            "m.W_q": ("U8", [4, 4], b"\0" * 16),
            "m.scale": ("F16", [4, 1], b"\0" * 8),
            "m.zero": ("F16", [4, 1], b"\0" * 8),
            "m.shape": ("I64", [2], struct.pack("<qq", 4, 4)),
            "m.packing": ("U8", [7], b"9bit_u8")})},
        "UnsupportedError", "get", "A8", "packing name outside the known set",
        tensor="m.weight")
    mask = bytes([0b00000011])  # keeps 2 of 8 values; compressed claims 4
    write_dir("sparse24_bitmask_count_mismatch", {
        "model.safetensors": shard(**{
            "m.compressed": ("F16", [1, 4], b"\0\x3c" * 4),
            "m.bitmask": ("U8", [1, 1], mask),
            "m.shape": ("I64", [2, 1], struct.pack("<qq", 1, 8))})},
        "LayoutError", "get", "A5 (semantic)", "bitmask keeps fewer values than stored",
        tensor="m.weight")
    write_dir("aqlm_decompression_bomb", {
        "model.safetensors": shard(**{
            "m.codes": ("I8", [64, 64, 1], b"\0" * (64 * 64)),
            "m.codebooks": ("F16", [1, 2, 64, 64], b"\0" * (2 * 64 * 64 * 2)),
            "m.scales": ("F16", [64, 1, 1, 1], b"\0" * 128)})},
        "LimitError", "get", "A1/A3 (amplification)",
        "20 KB of codes and codebooks that would decode to 4096 x 4096 floats (64 MiB)",
        tensor="m.weight")
    write_dir("config_invalid_json_and_auto_map", {
        "config.json": '{"auto_map": {"AutoModel": "evil.Model"}, ',
        "model.safetensors": good}, "none", "open", "A11",
        "broken config.json: ignored with a warning, tensors still listed")
    write_dir("config_auto_map", {
        "config.json": {"auto_map": {"AutoModel": "modeling_evil.EvilModel"},
                        "model_type": "evil"},
        "model.safetensors": good}, "none", "open", "A11",
        "auto_map names custom code: flagged in warnings, never imported")
    redos = {"quant_method": "compressed-tensors", "format": "pack-quantized",
             "config_groups": {"g": {"targets": ["re:(a+)+$"],
                                     "weights": {"num_bits": 4, "type": "int",
                                                 "symmetric": True, "strategy": "channel"}}}}
    write_dir("ct_redos_target", {
        "config.json": {"quantization_config": redos},
        "model.safetensors": shard(**{
            ("a" * 40 + "!.weight_packed"): ("I32", [1, 8], b"\x98\x88\x88\x88" * 8),
            ("a" * 40 + "!.weight_scale"): ("F16", [1, 1], b"\0\x3c"),
            ("a" * 40 + "!.weight_shape"): ("I64", [2], struct.pack("<qq", 1, 64))})},
        "none", "open", "A9 (ReDoS)",
        "catastrophic-backtracking target regex: not evaluated, shapes decide")


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    files()
    directories()
    (OUT / "cases.json").write_text(json.dumps(CASES, indent=1, sort_keys=True))
    print(f"{len(CASES)} hostile cases in {OUT}")


if __name__ == "__main__":
    main()
