"""GGUF reader: real llama.cpp files against their manifest, every ggml type against gguf-py,
big-endian twins, split models, unknown type ids, the model-level summary."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import qformat
from qformat.errors import ArgumentError, QFormatError, UnsupportedError
from qformat.readers.gguf import CODE_FACTS, GGUFModel, label_of_file_type, read_gguf

from .conftest import (
    FOREIGN,
    bits,
    corpus_manifest,
    corpus_path,
    same_values,
    sha256_f32,
)

gguf = pytest.importorskip("gguf")

#: every test here reads files written by gguf-py or llama.cpp
pytestmark = pytest.mark.foreign

CORPUS_FILES = [f["filename"] for f in corpus_manifest()["files"]]


# --- real files made by llama-quantize ---------------------------------------------------------
@pytest.mark.jit
@pytest.mark.parametrize("filename", CORPUS_FILES)
def test_corpus_file_matches_its_manifest(filename: str) -> None:
    entry = next(f for f in corpus_manifest()["files"] if f["filename"] == filename)
    with qformat.open(corpus_path(filename)) as model:
        assert isinstance(model, GGUFModel)
        assert model.format == "gguf"
        assert model.header.version == entry["gguf_version"]
        assert model.header.endianness == entry["endianness"]
        assert model.header.alignment == entry["alignment"]
        assert model.header.data_start == entry["data_offset"]
        assert model.header.header_end == entry["end_of_tensor_infos"]
        assert model.file_size == entry["bytes"]
        assert list(model.metadata) == entry["kv_keys"]
        for key, value in entry["kv_scalar_values"].items():
            assert model.metadata[key] == (pytest.approx(value) if isinstance(value, float)
                                           else value), key
        for key, length in entry["kv_array_lengths"].items():
            assert len(model.metadata_array(key)) == length
        assert model.keys() == [t["name"] for t in entry["tensors"]]
        for t in entry["tensors"]:
            info = model.info(t["name"])
            assert info.extra["type"] == t["ggml_type"]
            assert info.extra["type_id"] == t["ggml_type_id"]
            assert info.extra["ne"] == t["shape_ggml_ne"]
            assert list(info.shape) == t["shape_numpy"]
            assert info.nbytes == t["n_bytes"]
            assert info.extra["offset"] == t["abs_offset"]
            assert info.extra["block_size"] == t["block_size"]
            assert info.extra["type_size"] == t["type_size"]
            assert info.bits_per_weight == round(t["type_size"] * 8 / t["block_size"], 4)
            values = model.get(t["name"])
            assert values.dtype == np.float32
            assert list(values.shape) == t["shape_numpy"]
            assert sha256_f32(values) == t["sha256_f32"], t["name"]
        q = model.quantization()
        assert q["bits_per_weight"] == entry["bpw_all_tensors"]
        assert q["file_type"]["id"] == entry["general.file_type"]
        assert "MOSTLY_" + q["label"] == entry["file_type_name"]
        counts = {name: row["tensors"] for name, row in q["tensor_types"].items()}
        assert counts == entry["tensor_type_counts"]
        assert sum(row["share"] for row in q["tensor_types"].values()) == pytest.approx(1.0)
        assert q["label_matches_tensors"] is True


def test_corpus_q4_k_m_reports_the_real_tensor_mix() -> None:
    with qformat.open(corpus_path("tiny-llama-Q4_K_M.gguf")) as model:
        q = model.quantization()
        assert q["methods"] == ["gguf"]
        assert q["label"] == "Q4_K_M"
        assert q["dominant_type"] == "Q4_K"
        assert set(q["tensor_types"]) == {"Q4_K", "Q6_K", "Q5_0", "Q8_0", "F32"}
        # llama-quantize fell back to Q5_0 / Q8_0 for ffn_down (640 columns, not 256-divisible)
        assert model.info("blk.0.ffn_down.weight").extra["type"] == "Q5_0"
        assert model.info("blk.1.ffn_down.weight").extra["type"] == "Q8_0"
        assert any("Q4_K_M" in e and "Q4_K" in e for e in q["evidence"])
        norm = model.info("output_norm.weight")
        assert (norm.method, norm.dtype, norm.bits, norm.group_size) == ("none", "F32", 32, None)
        k = model.info("blk.0.attn_q.weight")
        assert (k.method, k.dtype, k.bits, k.group_size, k.symmetric) == ("gguf", "F32", 4, 32,
                                                                           False)
        assert k.parts[0].name == "blocks"
        assert k.parts[0].shape == (256, 256 // 256 * 144)


# --- every ggml type, written by gguf-py --------------------------------------------------------
TYPES = json.loads((FOREIGN / "types.json").read_text())


@pytest.mark.jit
@pytest.mark.parametrize("name", sorted(TYPES))
def test_every_type_matches_ggufpy(name: str) -> None:
    expected = TYPES[name]
    reader = gguf.GGUFReader(FOREIGN / "types.gguf")
    raw = next(t for t in reader.tensors if t.name == name)
    with read_gguf(FOREIGN / "types.gguf") as model:
        info = model.info(name)
        assert info.extra["type"] == expected["type"]
        if "error" in expected:
            with pytest.raises(UnsupportedError, match=expected["type"]):
                model.get(name)
            assert info.extra["dequantize"] == "none"
            return
        values = model.get(name)
        assert list(values.shape) == expected["shape"]
        assert sha256_f32(values) == expected["sha256_f32"]
        # live differential against the installed gguf-py on the same bytes
        if expected["oracle"] == "gguf.quants.dequantize":
            with np.errstate(all="ignore"):
                live = gguf.quants.dequantize(np.asarray(raw.data), raw.tensor_type)
            assert same_values(values, np.asarray(live, dtype=np.float32).reshape(values.shape))
        else:
            assert np.array_equal(bits(values), bits(np.asarray(raw.data).astype(np.float32)
                                                     .reshape(values.shape)))
        decoder = info.extra["dequantize"]
        assert decoder == ("qformat" if expected["type"] in ("F32", "F16", "BF16")
                           or expected["type"] in _qformat_types() else
                           "numpy" if expected["type"] in ("F64", "I8", "I16", "I32", "I64")
                           else "gguf-py")


def _qformat_types() -> set[str]:
    from qformat.kernels._ref.ggml import BLOCK_GEOMETRY

    return set(BLOCK_GEOMETRY)


def test_type_facts_are_consistent_with_block_sizes() -> None:
    """bits (code width) never exceeds bits per weight; every package type has facts."""
    for t in gguf.GGMLQuantizationType:
        block, size = gguf.GGML_QUANT_SIZES[t]
        assert t.name in CODE_FACTS, t.name
        code_bits, group, _ = CODE_FACTS[t.name]
        assert code_bits <= size * 8 / block + 1e-9, t.name
        if group is not None:
            assert block % group == 0 or group % block == 0, t.name


# --- byte order ---------------------------------------------------------------------------------
@pytest.mark.jit
@pytest.mark.parametrize("stem", ["be-writer", "be-convert", "be-own"])
def test_big_endian_twin_reads_the_same_values(stem: str) -> None:
    with read_gguf(FOREIGN / f"{stem}-le.gguf") as le, read_gguf(FOREIGN / f"{stem}-be.gguf") as be:
        assert le.header.byte_order == "<"
        assert be.header.byte_order == ">"
        assert le.keys() == be.keys()
        for name in le:
            a, b = le.info(name), be.info(name)
            assert (a.shape, a.extra["type"], a.nbytes) == (b.shape, b.extra["type"], b.nbytes)
            assert np.array_equal(bits(le.get(name)), bits(be.get(name))), name
        shown = {k: v for k, v in le.metadata.items() if k != "general.name"}
        assert shown == {k: v for k, v in be.metadata.items() if k != "general.name"}
        for key, value in le.metadata.items():
            if isinstance(value, dict) and value["item_type"] not in ("ARRAY",):
                a, b = le.metadata_array(key), be.metadata_array(key)
                assert (a == b) if isinstance(a, list) else np.array_equal(a, b), key
        assert be.quantization()["byte_order"] == "big"


@pytest.mark.jit
def test_big_endian_quantized_blocks_are_not_read_as_little_endian() -> None:
    """gguf-py returns big-endian blocks as raw bytes: its dequantize gives wrong values there;
    qformat swaps the scale fields first (the converted file is gguf-py's own output)."""
    with read_gguf(FOREIGN / "be-convert-be.gguf") as be, \
            read_gguf(FOREIGN / "be-convert-le.gguf") as le:
        reader = gguf.GGUFReader(FOREIGN / "be-convert-be.gguf")
        raw = next(t for t in reader.tensors if t.name == "q.Q4_K")
        with np.errstate(all="ignore"):
            naive = gguf.quants.dequantize(np.asarray(raw.data), raw.tensor_type)
        assert not np.array_equal(bits(naive.reshape(-1)), bits(be.get("q.Q4_K").reshape(-1)))
        assert np.array_equal(bits(le.get("q.Q4_K")), bits(be.get("q.Q4_K")))


# --- split models -------------------------------------------------------------------------------
@pytest.mark.jit
@pytest.mark.parametrize("shard", [1, 2, 3])
def test_any_shard_opens_the_whole_split_model(shard: int) -> None:
    path = FOREIGN / f"split-{shard:05d}-of-00003.gguf"
    with qformat.open(path) as model:
        assert model.keys() == ["blk.0.w", "blk.1.w", "blk.2.w", "blk.3.w", "norm"]
        assert len(model.shard_paths) == 3
        assert model.metadata["split.count"] == 3
        assert model.metadata["general.name"] == "split"
        for k in range(1, 4):
            reader = gguf.GGUFReader(FOREIGN / f"split-{k:05d}-of-00003.gguf")
            for t in reader.tensors:
                info = model.info(t.name)
                assert info.extra["shard"] == f"split-{k:05d}-of-00003.gguf"
                assert info.extra["offset"] == t.data_offset
                expected = gguf.quants.dequantize(np.asarray(t.data), t.tensor_type)
                assert np.array_equal(bits(model.get(t.name)),
                                      bits(np.asarray(expected, dtype=np.float32)))
        assert any("3 shards" in e for e in model.quantization()["evidence"])


def test_split_shard_alone_and_missing_shards(tmp_path) -> None:
    with read_gguf(FOREIGN / "split-00002-of-00003.gguf", shards=False) as model:
        assert model.keys() == ["blk.2.w", "blk.3.w"]
        assert any("shard 2 of 3" in w for w in model.warnings)
    for k in (1, 3):
        shutil.copyfile(FOREIGN / f"split-{k:05d}-of-00003.gguf",
                        tmp_path / f"split-{k:05d}-of-00003.gguf")
    with pytest.raises(QFormatError, match="shard 2 of 3 is missing") as err:
        qformat.open(tmp_path / "split-00001-of-00003.gguf")
    assert err.value.path.endswith("split-00002-of-00003.gguf")
    shutil.copyfile(FOREIGN / "split-00001-of-00003.gguf", tmp_path / "renamed.gguf")
    with pytest.raises(QFormatError, match="NNNNN-of-NNNNN"):
        qformat.open(tmp_path / "renamed.gguf")
    shutil.copyfile(FOREIGN / "split-00001-of-00003.gguf", tmp_path / "x-00001-of-00004.gguf")
    with pytest.raises(QFormatError, match="disagree"):
        qformat.open(tmp_path / "x-00001-of-00004.gguf")


# --- type ids newer than the gguf package -------------------------------------------------------
@pytest.mark.jit
def test_unknown_type_ids_are_listed_and_fail_only_on_decode() -> None:
    with pytest.raises(ValueError, match="GGMLQuantizationType"):
        gguf.GGUFReader(FOREIGN / "unknown-type.gguf")  # gguf-py cannot open the file at all
    with qformat.open(FOREIGN / "unknown-type.gguf") as model:
        assert model.keys() == ["a", "b.newer", "c", "d.removed"]
        newer = model.info("b.newer")
        assert newer.extra["type"] == "UNKNOWN_42"
        assert newer.extra["type_id"] == 42
        assert newer.extra["nbytes_inferred"] is True
        assert newer.extra["dequantize"] == "none"
        assert newer.bits is None
        assert newer.method == "gguf"
        assert newer.nbytes == 96  # 72 bytes of Q4_0 data + padding to 32, up to tensor c
        assert model.info("d.removed").extra["type"] == "UNKNOWN_4"
        with pytest.raises(UnsupportedError, match="type id 42") as err:
            model.get("b.newer")
        assert err.value.tensor == "b.newer"
        assert model.get("a").shape == (2, 64)
        assert model.get("c").shape == (2, 64)
        q = model.quantization()
        assert any("UNKNOWN_42" in e for e in q["evidence"])
        qformat.inspect(FOREIGN / "unknown-type.gguf").to_dict()


# --- model-level summary ------------------------------------------------------------------------
def _write(path, file_type: int | None, tensors) -> None:
    w = gguf.GGUFWriter(path, "llama")
    if file_type is not None:
        w.add_file_type(file_type)
    for name, array, raw_dtype in tensors:
        w.add_tensor(name, array, raw_dtype=raw_dtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def test_label_that_differs_from_the_tensors_is_reported(tmp_path) -> None:
    """llama-quantize's MXFP4_MOE on a dense model writes only Q8_0 tensors."""
    q8 = gguf.quants.quantize(np.ones((4, 64), np.float32), gguf.GGMLQuantizationType.Q8_0)
    path = tmp_path / "moe.gguf"
    _write(path, int(gguf.LlamaFileType.MOSTLY_MXFP4_MOE),
           [("w", q8, gguf.GGMLQuantizationType.Q8_0),
            ("norm", np.ones(64, np.float32), None)])
    with qformat.open(path) as model:
        q = model.quantization()
        assert q["label"] == "MXFP4_MOE"
        assert q["label_type"] == "MXFP4"
        assert q["dominant_type"] == "Q8_0"
        assert q["label_matches_tensors"] is False
        assert any("differs" in e for e in q["evidence"])


def test_label_without_file_type_is_the_main_tensor_type(tmp_path) -> None:
    q4 = gguf.quants.quantize(np.ones((4, 64), np.float32), gguf.GGMLQuantizationType.Q4_0)
    path = tmp_path / "nofiletype.gguf"
    _write(path, None, [("w", q4, gguf.GGMLQuantizationType.Q4_0),
                        ("big", np.ones((64, 64), np.float32), None)])
    with qformat.open(path) as model:
        q = model.quantization()
        assert q["file_type"] is None
        assert q["label"] == "Q4_0"  # the quantized type, even though F32 holds more weights
        assert next(iter(q["tensor_types"])) == "F32"
        assert q["label_matches_tensors"] is None


def test_file_type_labels() -> None:
    assert label_of_file_type(15) == "Q4_K_M"
    assert label_of_file_type(0) == "F32"
    assert label_of_file_type(1) == "F16"
    assert label_of_file_type(7 | 1024) == "Q8_0 (guessed)"
    assert label_of_file_type(999) == "UNKNOWN_FILE_TYPE_999"


# --- raw(), errors, lifecycle -------------------------------------------------------------------
@pytest.mark.jit
def test_raw_holds_plain_tensors_exactly_and_refuses_blocks() -> None:
    with read_gguf(FOREIGN / "be-writer-be.gguf") as be, \
            read_gguf(FOREIGN / "be-writer-le.gguf") as le:
        for name in ("f32", "f16", "i32", "i16", "f64"):
            qt = be.raw(name)
            assert qt.layout.name == "raw"
            assert qt.shape == be.info(name).shape
            assert np.array_equal(bits(qt.dequantize()), bits(le.get(name)))
    with read_gguf(FOREIGN / "types.gguf") as model:
        with pytest.raises(UnsupportedError, match="Q4_K"):
            model.raw("q.Q4_K")
        with pytest.raises(QFormatError, match="no such tensor"):
            model.raw("nope")


def test_errors_name_file_tensor_and_option(tmp_path) -> None:
    with read_gguf(FOREIGN / "types.gguf") as model:
        with pytest.raises(QFormatError, match="no such tensor") as err:
            model.get("missing.weight")
        assert err.value.tensor == "missing.weight"
        assert "missing.weight" not in model
        assert "q.Q4_0" in model
        assert len(model) == len(TYPES)
    with pytest.raises(QFormatError, match="closed"):
        model.get("q.Q4_0")
    with pytest.raises(ArgumentError, match="unknown option"):
        read_gguf(FOREIGN / "types.gguf", mmap=False)
    with pytest.raises(QFormatError, match="cannot read"):
        read_gguf(tmp_path / "absent.gguf")


def test_big_endian_blocks_without_a_known_field_layout_are_unsupported(tmp_path) -> None:
    raw = np.zeros((1, 66), dtype=np.uint8)  # one IQ2_XXS block
    path = tmp_path / "be-iq2.gguf"
    w = gguf.GGUFWriter(path, "llama", endianess=gguf.GGUFEndian.BIG)
    w.add_tensor("w", raw, raw_dtype=gguf.GGMLQuantizationType.IQ2_XXS)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with qformat.open(path) as model:
        assert model.info("w").extra["type"] == "IQ2_XXS"
        assert model.info("w").extra["dequantize"] == "none"
        with pytest.raises(UnsupportedError, match="big-endian IQ2_XXS"):
            model.get("w")
