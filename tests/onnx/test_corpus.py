"""The ONNX reader against the shared corpus (real files, ground truth from the producing tools)."""

from __future__ import annotations

from typing import Any

import pytest

import qformat

from .conftest import CORPUS, load_manifest, sha256_f32

pytestmark = pytest.mark.foreign

_FILES = load_manifest(CORPUS)["files"]
_METHOD = {"qdq": "onnx-qdq", "qoperator": "onnx-qoperator",
           "qoperator-dynamic": "onnx-dynamic", "matmulnbits": "onnx-matmulnbits",
           "fp16": "none"}


def _ids(entry: dict[str, Any]) -> str:
    return entry["file"]


@pytest.mark.parametrize("entry", _FILES, ids=_ids)
def test_label_and_summary(entry: dict[str, Any]) -> None:
    with qformat.open(CORPUS / entry["file"]) as m:
        assert m.format == "onnx"
        q = m.quantization()
    exp = entry["expected"]
    assert q["label"] == entry["label"]
    assert q["labels"] == entry["labels"]
    assert q["is_quantized"] is exp["is_quantized"]
    assert q["scheme"] == exp["scheme"].replace("qoperator-static", "qoperator-static")
    assert q["granularity"] == exp["granularity"]
    assert q["block_size"] == exp["block_size"]
    assert q["activation_dtype"] == exp["activation_dtype"]
    assert q["weight_dtype"] == exp["weight_dtype"]
    assert q["weight_bits"] == exp["weight_bits"]
    assert q["symmetric_weights"] == exp["symmetric_weights"]
    assert q["evidence"], "a label always comes with evidence"


@pytest.mark.parametrize("entry", _FILES, ids=_ids)
def test_quantized_tensor_counts(entry: dict[str, Any]) -> None:
    exp = entry["expected"]
    with qformat.open(CORPUS / entry["file"]) as m:
        infos = [m.info(k) for k in m.keys()]
    quant = [i for i in infos if i.method != "none"]
    weights = [i for i in quant if i.extra["role"] == "weight"]
    biases = [i for i in quant if i.extra["role"] == "bias"]
    assert len(weights) == exp["quantized_weight_tensor_count"]
    assert len(biases) == exp["quantized_bias_tensor_count"]
    f16 = [i for i in infos if i.extra.get("stored_dtype") == "FLOAT16"]
    assert len(f16) == exp["float16_initializer_count"]


_TENSORS = [(e["file"], t) for e in _FILES for t in e["quantized_tensors"]]


@pytest.mark.parametrize(("fname", "t"), _TENSORS, ids=[f"{f}:{t['name']}" for f, t in _TENSORS])
def test_tensor_matches_ground_truth(fname: str, t: dict[str, Any]) -> None:
    with qformat.open(CORPUS / fname) as m:
        assert t["name"] in m.keys()
        info = m.info(t["name"])
        values = m.get(t["name"])
    assert info.method == _METHOD[t["format"]]
    assert list(info.shape) == t["dequantized_shape"] == list(values.shape)
    assert values.dtype.name == "float32"
    assert sha256_f32(values) == t["dequantized_sha256"]
    assert info.bits_per_weight == pytest.approx(t["bits_per_weight_incl_params"], abs=1e-4)
    if t["format"] == "fp16":
        assert info.dtype == "F16" and info.bits == 16
        return
    assert info.extra["granularity"] == t["granularity"].replace("block", "blocked")
    if t["format"] == "matmulnbits":
        assert info.bits == t["bits"]
        assert info.group_size == t["block_size"]
        assert info.symmetric is t["symmetric"]
        assert info.extra["K"], info.extra["N"] == tuple(t["logical_shape"])
        assert info.extra["scale"] == t["scale"]
        return
    assert info.extra["stored_dtype"] == t["stored_dtype"]
    assert info.extra["axis"] == t["axis"]
    assert info.group_size == (-1 if t["granularity"] == "per-channel" else None)
    if isinstance(t.get("scale"), str) and not t["scale"].startswith("implicit"):
        assert info.extra["scale"] == t["scale"]
    if t.get("zero_point"):
        assert info.extra["zero_point"] == t["zero_point"]


def test_external_data_file_is_read() -> None:
    entry = next(e for e in _FILES if e["expected"]["external_data"])
    with qformat.open(CORPUS / entry["file"]) as ext, \
            qformat.open(CORPUS / "mlp_fp32.onnx") as inline:
        assert ext.keys() == inline.keys()
        assert ext.metadata["external_data_files"] == ["mlp_fp32_extdata.onnx.data"]
        where = {name: ext.info(name).extra["data_location"] for name in ext.keys()}
        # onnx.save keeps tensors under 1 KiB inline
        assert {n for n, w in where.items() if w == "external"} >= {
            "fc1.weight", "fc2.weight", "fc3.weight"}
        assert where["fc3.bias"] == "inline"
        for name in ext.keys():
            assert sha256_f32(ext.get(name)) == sha256_f32(inline.get(name))


def test_activations_are_reported_separately() -> None:
    with qformat.open(CORPUS / "cnn_qdq_s8s8_perchannel.onnx") as m:
        q = m.quantization()
        keys = set(m.keys())
    acts = q["activations"]
    assert acts and all(a["dtype"] == "int8" and not a["dynamic"] for a in acts)
    assert not keys & {a["name"] for a in acts}
    # activation scales/zero points are parameters of the activations, not listed tensors
    assert not any(k.endswith(("_scale", "_zero_point")) for k in keys)
    with qformat.open(CORPUS / "mlp_dyn_s8_pertensor.onnx") as m:
        q = m.quantization()
    assert q["activations"] and all(a["dynamic"] and a["dtype"] == "uint8"
                                    for a in q["activations"])
    assert q["activation_dtype"] is None


def test_negative_scales_are_counted() -> None:
    with qformat.open(CORPUS / "mlp_nbits4_b32_sym.onnx") as m:
        negs = [m.info(k).extra.get("negative_scales") for k in m.keys()
                if m.info(k).method != "none"]
    assert all(n and n > 0 for n in negs)
