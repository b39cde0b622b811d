"""Files made by the real tools: the TF converter and ai-edge-quantizer (generated here with
``tools/make_tflite_fixtures.py``) and the team corpus. Values are checked bit for bit against
the LiteRT interpreter's DEQUANTIZE, ai-edge-quantizer's own dequantization, or the corpus
ground truth."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import qformat
from qformat.readers.tflite import TFLiteModel, read_tflite

from .conftest import CORPUS, CORPUS_DIR, GENERATED, TFLITE, sha256_f32

pytestmark = pytest.mark.foreign

GEN_FILES = {f["file"]: f for f in GENERATED["files"]}
CORPUS_FILES = {f["file"]: f for f in CORPUS["files"]}


def by_index(model: TFLiteModel) -> dict[int, str]:
    return {model.info(k).extra["tensor_index"]: k for k in model.keys()
            if model.info(k).extra["subgraph"] == 0}


@pytest.mark.parametrize("name", sorted(GEN_FILES))
def test_generated_file_label_and_values(name: str) -> None:
    entry = GEN_FILES[name]
    with qformat.open(TFLITE / name) as m:
        assert m.format == "tflite"
        q = m.quantization()
        assert q["label"] == entry["label"]
        assert sorted(q["activations"]["dtypes"]) == entry["activation_types"]
        assert sorted(q["activations"]["quantized_dtypes"]) == entry["quantized_activation_types"]
        assert q["activations"]["inputs"] == entry["input_types"]
        assert q["activations"]["outputs"] == entry["output_types"]
        index = by_index(m)
        assert sorted(index) == sorted(t["index"] for t in entry["tensors"])
        for t in entry["tensors"]:
            info = m.info(index[t["index"]])
            assert info.name == t["name"]
            assert list(info.shape) == t["shape"]
            assert info.extra["tflite_type"] == t["type"]
            assert info.parts[0].nbytes == t["stored_bytes"]
            assert info.extra["buffer"]["location"] == t["buffer_location"]
            # the generator records direct consumers; qformat follows DEQUANTIZE one step
            direct = [c if not c.startswith("DEQUANTIZE") else "DEQUANTIZE:0"
                      for c in info.extra.get("consumers", [])]
            assert direct == t["consumers"]
            if t["details"] == "BlockwiseQuantization":
                assert info.method == "tflite-blockwise"
                assert info.group_size == t["block_size"]
                assert info.symmetric is True
                scales = m.info(info.extra["scales_tensor"])
                assert scales.extra["role"] == "blockwise-params"
                assert info.nbytes == t["stored_bytes"] + scales.nbytes
            elif t["scale_count"]:
                assert info.method == "tflite-affine"
                assert info.group_size == (None if t["scale_count"] == 1 else -1)
                assert info.nbytes == t["stored_bytes"] + 12 * t["scale_count"]
                if t["scale_count"] > 1:
                    assert info.extra["quantized_dimension"] == t["quantized_dimension"]
            else:
                assert info.method == "none"
                assert info.nbytes == t["stored_bytes"]
            numel = int(np.prod(t["shape"]))
            assert info.bits_per_weight == round(info.nbytes * 8 / numel, 4)
            values = m.get(info.name)
            assert values.dtype == np.float32 and list(values.shape) == t["shape"]
            if t.get("reference_sha256"):
                assert sha256_f32(values) == t["reference_sha256"], t["reference"]


@pytest.mark.parametrize("name", sorted(CORPUS_FILES))
def test_corpus_file_matches_its_manifest(name: str) -> None:
    entry = CORPUS_FILES[name]
    with qformat.open(CORPUS_DIR / name) as m:
        q = m.quantization()
        assert q["label"] == entry["label"]
        assert q["label_detail"] == entry["label_detail"]
        assert q["activations"]["inputs"] == entry["file_facts"]["input_types"]
        assert q["activations"]["outputs"] == entry["file_facts"]["output_types"]
        index = by_index(m)
        for t in entry["tensors"]:
            info = m.info(index[t["index"]])
            assert info.name == t["name"] and list(info.shape) == t["shape"]
            assert info.extra["tflite_type"] == t["type"]
            assert info.extra["role"] == t["role"]
            if t.get("quantized"):
                assert info.method == "tflite-affine"
                assert info.symmetric == t["zero_points_all_zero"]
                assert info.bits_per_weight == t["bits_per_weight_incl_params"]
                gran = {"per-channel": "per-axis", "per-tensor": "per-tensor"}[t["granularity"]]
                assert info.extra["granularity"] == gran
                if gran == "per-axis":
                    assert info.extra["quantized_dimension"] == t["quantized_dimension"]
            elif "bits_per_weight_incl_params" in t:
                assert info.bits_per_weight == t["bits_per_weight_incl_params"]
            if "dequantized_sha256" in t:
                assert sha256_f32(m.get(info.name)) == t["dequantized_sha256"]
        weights = [m.info(k) for k in m.keys() if m.info(k).extra["role"] == "weight"]
        exp = entry["expected"]
        quantized = [w for w in weights if w.method != "none"]
        assert len(quantized) == exp["quantized_weight_tensor_count"]
        plain = [w for w in weights if w.method == "none"]
        assert sum(w.dtype == "F16" for w in plain) == exp["float16_weight_tensor_count"]
        assert sum(w.dtype == "F32" for w in plain) == exp["float32_weight_tensor_count"]


@pytest.mark.parametrize(("name", "detail"), [
    ("mlp_dynamic_int8_per_tensor.tflite", "tflite/dynamic-range-int8-per-tensor"),
    ("mlp_full_int8_uint8_io.tflite", "tflite/full-int8-uint8-io"),
    ("mlp_full_int8_float_io.tflite", "tflite/full-int8-float-io"),
    ("aeq_static_wi8_ai8.tflite", "tflite/full-int8"),
    ("qat_int4_per_tensor.tflite", "tflite/full-int8-per-tensor-w4-float-io"),
    ("aeq_blockwise_wi4b32.tflite", "tflite/blockwise-int4-b32"),
])
def test_label_detail(name: str, detail: str) -> None:
    with qformat.open(TFLITE / name) as m:
        assert m.quantization()["label_detail"] == detail


def test_conversion_metadata_is_evidence_not_the_decider() -> None:
    with qformat.open(TFLITE / "aeq_dynamic_wi4c.tflite") as m:
        q = m.quantization()
        conv = m.metadata["metadata"]["CONVERSION_METADATA"]
    assert conv["optimization_modes"] == []  # copied from the fp32 source by ai-edge-quantizer
    assert q["label"] == "tflite/dynamic-range-int4"
    assert any("CONVERSION_METADATA" in e and "contradict" in e for e in q["evidence"])
    with qformat.open(TFLITE / "mlp_dynamic_int8.tflite") as m:
        q = m.quantization()
    assert any("PTQ_DYNAMIC_RANGE" in e and "agrees" in e for e in q["evidence"])


def test_buffer_offset_file_reads_like_the_inline_one() -> None:
    with read_tflite(TFLITE / "mlp_dynamic_int8_buffer_offset.tflite") as a, \
            read_tflite(TFLITE / "mlp_dynamic_int8.tflite") as b:
        assert a.metadata["metadata"]["buffer_location"] == "outside flatbuffers"
        assert "CONVERSION_METADATA" not in a.metadata["metadata"]
        assert any("after the flatbuffer" in e for e in a.quantization()["evidence"])
        assert sorted(a.keys()) == sorted(b.keys())
        for k in a.keys():
            assert a.info(k).extra["buffer"]["location"] == "offset"
            buf = a.info(k).extra["buffer"]
            assert buf["offset"] > 1 and buf["offset"] + buf["size"] <= a.file_size
            np.testing.assert_array_equal(a.get(k), b.get(k))


def test_buffer_offsets_beyond_4_gib_are_read_with_64_bit_offsets(tmp_path: Path) -> None:
    """Move the real converter file's out-of-flatbuffer data past 4 GiB (a sparse file)."""
    entry = GEN_FILES["mlp_dynamic_int8_buffer_offset.tflite"]
    src = (TFLITE / entry["file"]).read_bytes()
    shift = (5 << 30) + 16  # 5 GiB + 16: needs more than 32 bits
    path = tmp_path / "far.tflite"
    head = bytearray(src)
    for f in entry["offset_fields"]:
        struct.pack_into("<Q", head, f["offset_field_pos"], f["offset"] + shift)
    try:
        with open(path, "wb") as out:
            out.write(bytes(head))
            for f in entry["offset_fields"]:
                out.seek(f["offset"] + shift)
                out.write(src[f["offset"]:f["offset"] + f["size"]])
    except OSError as exc:  # a filesystem without sparse files or 5 GiB of room
        pytest.skip(f"cannot write a sparse 5 GiB file here: {exc}")
    with read_tflite(path) as far, read_tflite(TFLITE / entry["file"]) as near:
        assert far.file_size > shift
        for k in near.keys():
            assert far.info(k).extra["buffer"]["offset"] > 1 << 32
            np.testing.assert_array_equal(far.get(k), near.get(k))


def test_inspect_json_lists_constants_and_summarises_activations() -> None:
    report = qformat.inspect(TFLITE / "mlp_full_int8_uint8_io.tflite").to_dict()
    assert report["format"] == "tflite"
    q = report["quantization"]
    assert q["label"] == "tflite/full-int8"
    assert q["activations"]["inputs"] == ["UINT8"] and q["activations"]["quantized_dtypes"]
    assert q["methods"] == ["tflite-affine"]
    names = [t["name"] for t in report["tensors"]]
    assert "serving_default_x:0" not in names  # the input is an activation, not listed
    w = next(t for t in report["tensors"] if t["name"].endswith("fc1_1/MatMul"))
    assert (w["method"], w["bits"], w["group_size"], w["symmetric"]) == \
        ("tflite-affine", 8, -1, True)
    assert w["tflite_type"] == "INT8" and w["quantized_dimension"] == 0
    assert [p["name"] for p in w["parts"]] == ["data", "scale", "zero_point"]
    json.dumps(report, allow_nan=False)


def test_cli_inspect_and_dequantize(tmp_path: Path) -> None:
    src = TFLITE / "aeq_blockwise_wi2b32.tflite"
    out = subprocess.run([sys.executable, "-m", "qformat.cli", "inspect", "--json", str(src)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["quantization"]["label"] == "tflite/blockwise-int2"
    name = next(t["name"] for t in report["tensors"] if t["method"] == "tflite-blockwise")
    npy = tmp_path / "w.npy"
    out = subprocess.run([sys.executable, "-m", "qformat.cli", "dequantize", str(src), name,
                          "-o", str(npy), "-q"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    with qformat.open(src) as m:
        np.testing.assert_array_equal(np.load(npy), m.get(name))


def test_inspect_does_not_import_numba() -> None:
    code = ("import sys, qformat; r = qformat.inspect(sys.argv[1]); "
            "assert r.quantization['label']; "
            "print('numba' in sys.modules, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(TFLITE / "mlp_fp16.tflite")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


def test_sniffing_not_extension_decides(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    shutil.copy(TFLITE / "mlp_fp32.tflite", path)
    with qformat.open(path) as m:
        assert m.format == "tflite" and m.quantization()["label"] == "fp32"


def test_closed_model_refuses_reads_and_arrays_outlive_it() -> None:
    for name in ("mlp_fp32.tflite", "mlp_fp16.tflite", "aeq_dynamic_wi4c.tflite"):
        m = read_tflite(TFLITE / name)
        arrays = {k: m.get(k) for k in m.keys()}
        m.close()
        for k, a in arrays.items():
            assert a.flags.writeable and a.flags.c_contiguous, k  # a copy, not a file view
            a += 1  # still valid after the file is unmapped
        with pytest.raises(qformat.QFormatError, match="closed"):
            m.get(next(iter(arrays)))
        m.close()  # idempotent


def test_unknown_option_is_refused() -> None:
    with pytest.raises(qformat.ArgumentError):
        read_tflite(TFLITE / "mlp_fp32.tflite", lazy=True)


def test_raw_of_an_unknown_tensor() -> None:
    # the lossless import itself is tested in tests/tflite/test_lossless.py
    with read_tflite(TFLITE / "aeq_dynamic_wi4c.tflite") as m:
        with pytest.raises(qformat.QFormatError, match="no such tensor"):
            m.raw("missing")
