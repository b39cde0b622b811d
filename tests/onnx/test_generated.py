"""The ONNX reader against files made by onnxruntime's quantizers (tools/make_onnx_fixtures.py).

Each quantized tensor's ground truth is what onnxruntime computes for the same initializers
(or, where ORT has no kernel or disagrees with the op definition, an independent numpy
reference checked against ORT when the fixtures were made).
"""

from __future__ import annotations

from typing import Any

import pytest

import qformat

from .conftest import GENERATED, load_manifest, sha256_f32

pytestmark = pytest.mark.foreign

_FILES = load_manifest(GENERATED)["files"]


@pytest.mark.parametrize("entry", _FILES, ids=lambda e: e["file"])
def test_label(entry: dict[str, Any]) -> None:
    with qformat.open(GENERATED / entry["file"]) as m:
        q = m.quantization()
    assert q["label"] == entry["label"]
    assert q["is_quantized"] is True
    assert set(q["methods"]) == {t["method"] for t in entry["tensors"].values()}


@pytest.mark.parametrize("entry", _FILES, ids=lambda e: e["file"])
def test_every_quantized_tensor_found(entry: dict[str, Any]) -> None:
    with qformat.open(GENERATED / entry["file"]) as m:
        found = {k for k in m.keys() if m.info(k).method != "none"}
    assert found == set(entry["tensors"])


_TENSORS = [(e["file"], name, t) for e in _FILES for name, t in e["tensors"].items()]


@pytest.mark.parametrize(("fname", "name", "t"), _TENSORS,
                         ids=[f"{f}:{n}" for f, n, _ in _TENSORS])
def test_tensor_matches_onnxruntime(fname: str, name: str, t: dict[str, Any]) -> None:
    with qformat.open(GENERATED / fname) as m:
        info = m.info(name)
        values = m.get(name)
    assert info.method == t["method"]
    assert info.bits == t["bits"]
    assert info.group_size == t["group_size"]
    assert info.symmetric is t["symmetric"]
    assert list(info.shape) == t["shape"] == list(values.shape)
    assert values.dtype.name == "float32"
    as16 = t.get("ort_dtype") == "float16"
    assert sha256_f32(values, as_float16=as16, normalize_zero=True) == t["sha256"], t["oracle"]


def test_fp16_dequantize_linear_output_is_rounded_to_fp16() -> None:
    with qformat.open(GENERATED / "dq_blocked_int8_b16_fp16scale.onnx") as m:
        info = m.info("w_quantized")
        values = m.get("w_quantized")
    assert info.dtype == "F16" and info.extra["granularity"] == "blocked"
    assert (values.astype("float16").astype("float32") == values).all()


def test_external_quantized_weights_in_a_subfolder() -> None:
    with qformat.open(GENERATED / "mlp_nbits4_b32_extdata.onnx") as ext, \
            qformat.open(GENERATED / "mlp_nbits4_b32_asym_1d.onnx") as inline:
        assert ext.metadata["external_data_files"] == ["weights/mlp_nbits4.bin"]
        for name in ("fc1.weight_Q4", "fc2.weight_Q4"):
            info = ext.info(name)
            assert info.extra["data_location"] == "external"
            assert info.extra["zero_point"] == name.replace("_Q4", "_zero_points")
            # the 1-D variant holds the same codes/scales/zero points in the old layout
            assert sha256_f32(ext.get(name)) == sha256_f32(inline.get(name))


def test_old_1d_layout_equals_2d_layout() -> None:
    with qformat.open(GENERATED / "mlp_nbits4_b32_asym_1d.onnx") as m:
        for name in ("fc1.weight_Q4", "fc2.weight_Q4"):
            parts = {p.name.split(":")[0]: p.shape for p in m.info(name).parts}
            assert len(parts["scales"]) == 1 and len(parts["zero_point"]) == 1


def test_gather_block_quantized_is_an_embedding() -> None:
    with qformat.open(GENERATED / "embed_gbq_uint4_b16_asym.onnx") as m:
        info = m.info("embed.weight_Q4")
        q = m.quantization()
    assert info.extra["role"] == "embedding"
    assert info.method == "onnx-gatherblockquantized"
    assert info.extra["quantized_type"] == "uint4" and info.symmetric is False
    # the matmul weight decides the model label; the embedding scheme is listed after it
    assert q["labels"] == ["onnx/matmulnbits-int4-b16-asym",
                           "onnx/gatherblockquantized-uint4-b16-asym"]


def test_fused_dynamic_quantize_matmul() -> None:
    with qformat.open(GENERATED / "mlp_dyn_s8_fused.onnx") as m:
        infos = [m.info(k) for k in m.keys() if m.info(k).method != "none"]
        ops = m.metadata["op_counts"]
    assert ops.get("com.microsoft::DynamicQuantizeMatMul") == 2
    assert {i.extra["quant_op"] for i in infos} == {"com.microsoft::DynamicQuantizeMatMul"}


def test_contrib_qdq_ops_are_recognised() -> None:
    with qformat.open(GENERATED / "cnn_qdq_contrib_s8s8_perchannel.onnx") as m:
        infos = [m.info(k) for k in m.keys() if m.info(k).method != "none"]
    assert infos and {i.extra["quant_op"] for i in infos} == {
        "com.microsoft::DequantizeLinear"}


def test_three_bit_matmulnbits() -> None:
    with qformat.open(GENERATED / "mlp_nbits3_b32_asym.onnx") as m:
        info = m.info("fc1.weight_Q3")
    assert (info.bits, info.group_size, info.shape) == (3, 32, (80, 48))
    # 3 packed blocks of 32*3/8 = 12 bytes per column, scales and packed zero points
    assert info.nbytes == 48 * 3 * 12 + 48 * 3 * 4 + 48 * 2
    assert info.bits_per_weight == round(info.nbytes * 8 / (80 * 48), 4)
