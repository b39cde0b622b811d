"""The ONNX Model through the public API and CLI, and graph patterns beyond the fixtures:
Constant-held weights, subgraphs, fake quantization, run-time scales, unsupported contrib ops."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import qformat
from qformat.errors import ArgumentError, HeaderError, QFormatError, UnsupportedError
from qformat.readers.onnx import read_onnx
from qformat.readers.sniff import sniff

from .conftest import CORPUS, GENERATED

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

MS = "com.microsoft"
ROOT = Path(__file__).resolve().parents[2]


def _save(tmp_path: Path, nodes, inits, *, opset: int = 21, ms: bool = False,
          outputs=("y",), name: str = "m.onnx") -> Path:
    g = helper.make_graph(nodes, "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                     None)],
                          [helper.make_tensor_value_info(o, TensorProto.FLOAT, None)
                           for o in outputs], inits)
    ops = [helper.make_opsetid("", opset)] + ([helper.make_opsetid(MS, 1)] if ms else [])
    m = helper.make_model(g, opset_imports=ops)
    m.ir_version = 10
    path = tmp_path / name
    onnx.save(m, path)
    return path


@pytest.mark.foreign
def test_every_fixture_sniffs_as_onnx() -> None:
    files = sorted(CORPUS.glob("*.onnx")) + sorted(GENERATED.glob("*.onnx"))
    assert len(files) > 30
    assert {sniff(p) for p in files} == {"onnx"}


@pytest.mark.foreign
def test_inspect_json_via_cli() -> None:
    path = CORPUS / "mlp_nbits4_b32_sym.onnx"
    out = subprocess.run([sys.executable, "-m", "qformat.cli", "inspect", str(path), "--json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["format"] == "onnx" and d["file_size"] == path.stat().st_size
    assert d["quantization"]["label"] == "onnx/matmulnbits-int4-b32-sym"
    t = {x["name"]: x for x in d["tensors"]}
    w = t["fc1.weight_Q4"]
    assert (w["method"], w["bits"], w["group_size"], w["symmetric"], w["shape"]) == (
        "onnx-matmulnbits", 4, 32, True, [96, 256])
    assert w["bits_per_weight"] == 5.0 and w["block_size"] == 32 and w["axis"] == 0
    assert "fc1.weight_scales" not in t  # a part of the weight, not a tensor of its own


@pytest.mark.foreign
def test_inspect_does_not_load_numba() -> None:
    code = ("import sys, qformat\n"
            f"qformat.inspect({str(CORPUS / 'cnn_qdq_s8s8_perchannel.onnx')!r}).to_dict()\n"
            "print('numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


@pytest.mark.foreign
def test_cli_dequantize_writes_npy(tmp_path: Path) -> None:
    from qformat.cli import main

    out = tmp_path / "w.npy"
    rc = main(["dequantize", str(CORPUS / "mlp_dyn_s8_pertensor.onnx"), "fc2.weight_quantized",
               "-o", str(out), "-q"])
    assert rc == 0
    with qformat.open(CORPUS / "mlp_dyn_s8_pertensor.onnx") as m:
        assert np.array_equal(np.load(out), m.get("fc2.weight_quantized"))


@pytest.mark.foreign
def test_raw_of_plain_tensors_and_refusal_for_quantized() -> None:
    with qformat.open(CORPUS / "mlp_fp16.onnx") as m:
        qt = m.raw("fc1.weight")
        assert qt.dtype == "F16" and qt.shape == (96, 256)
        assert np.array_equal(qt.dequantize(), m.get("fc1.weight"))
    with qformat.open(CORPUS / "mlp_nbits4_b32_sym.onnx") as m:
        with pytest.raises(UnsupportedError, match="no qformat layout"):
            m.raw("fc1.weight_Q4")


@pytest.mark.foreign
def test_closed_model_refuses_reads() -> None:
    with qformat.open(CORPUS / "mlp_fp32.onnx") as m:
        name = m.keys()[0]
    with pytest.raises(QFormatError, match="closed"):
        m.get(name)


@pytest.mark.foreign
def test_unknown_tensor_and_options() -> None:
    with qformat.open(CORPUS / "mlp_fp32.onnx") as m:
        with pytest.raises(QFormatError, match="no such tensor"):
            m.get("nope")
        with pytest.raises(QFormatError, match="no such tensor"):
            m.info("nope")
    with pytest.raises(ArgumentError):
        read_onnx(CORPUS / "mlp_fp32.onnx", lazy=False)


def test_weight_held_by_a_constant_node(tmp_path: Path) -> None:
    q = np.arange(-6, 6, dtype=np.int8).reshape(3, 4)
    nodes = [
        helper.make_node("Constant", [], ["wq"], value=numpy_helper.from_array(q, "wq")),
        helper.make_node("Constant", [], ["shape"], value=numpy_helper.from_array(
            np.array([4, 3], np.int64), "shape")),
        helper.make_node("DequantizeLinear", ["wq", "s"], ["w"]),
        helper.make_node("MatMul", ["x", "w"], ["y"]),
    ]
    path = _save(tmp_path, nodes, [numpy_helper.from_array(np.float32(0.5), "s")])
    with qformat.open(path) as m:
        assert m.keys() == ["wq"]  # the shape Constant is not a weight: not listed
        assert m.info("wq").method == "onnx-qdq" and m.info("wq").extra["role"] == "weight"
        assert np.array_equal(m.get("wq"), q.astype(np.float32) * 0.5)


def test_weights_inside_subgraphs(tmp_path: Path) -> None:
    q = np.array([[1, -2], [3, 4]], np.int8)
    body = helper.make_graph(
        [helper.make_node("DequantizeLinear", ["bq", "bs"], ["bw"]),
         helper.make_node("MatMul", ["x", "bw"], ["bo"])], "then", [],
        [helper.make_tensor_value_info("bo", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(q, "bq"), numpy_helper.from_array(np.float32(0.25), "bs")])
    other = helper.make_graph([helper.make_node("Identity", ["x"], ["eo"])], "else", [],
                              [helper.make_tensor_value_info("eo", TensorProto.FLOAT, None)])
    nodes = [helper.make_node("If", ["c"], ["y"], then_branch=body, else_branch=other)]
    path = _save(tmp_path, nodes, [numpy_helper.from_array(np.array(True), "c")], opset=17)
    with qformat.open(path) as m:
        assert "bq" in m.keys()
        assert np.array_equal(m.get("bq"), q.astype(np.float32) * 0.25)


def test_fake_quantized_float_weight(tmp_path: Path) -> None:
    w = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    nodes = [helper.make_node("QuantizeLinear", ["w", "s", "z"], ["wq"]),
             helper.make_node("DequantizeLinear", ["wq", "s", "z"], ["wd"]),
             helper.make_node("MatMul", ["x", "wd"], ["y"])]
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.float32(0.01), "s"),
             numpy_helper.from_array(np.int8(0), "z")]
    with qformat.open(_save(tmp_path, nodes, inits)) as m:
        assert m.keys() == ["w"]
        info = m.info("w")
        assert info.method == "none" and info.dtype == "F32"
        assert "QuantizeLinear" in info.extra["fake_quantized_by"]
        assert any("fake quantization" in w for w in m.warnings)
        assert m.quantization()["activations"] == []  # the weight's Q output is not one
        assert np.array_equal(m.get("w"), w)


def test_scale_computed_at_run_time(tmp_path: Path) -> None:
    nodes = [helper.make_node("Abs", ["x"], ["s"]),
             helper.make_node("DequantizeLinear", ["wq", "s"], ["y"])]
    inits = [numpy_helper.from_array(np.ones((2, 2), np.int8), "wq")]
    with qformat.open(_save(tmp_path, nodes, inits)) as m:
        info = m.info("wq")
        assert info.method == "onnx-qdq" and "run time" in info.extra["unsupported"]
        with pytest.raises(UnsupportedError, match="computed at run time"):
            m.get("wq")


def test_zero_point_computed_at_run_time(tmp_path: Path) -> None:
    nodes = [helper.make_node("Cast", ["x"], ["z"], to=TensorProto.INT8),
             helper.make_node("DequantizeLinear", ["wq", "s", "z"], ["y"])]
    inits = [numpy_helper.from_array(np.ones((2, 2), np.int8), "wq"),
             numpy_helper.from_array(np.float32(0.5), "s")]
    with qformat.open(_save(tmp_path, nodes, inits)) as m:
        assert m.info("wq").method == "onnx-qdq"
        with pytest.raises(UnsupportedError, match="computed at run time"):
            m.get("wq")


def test_unsupported_contrib_op_weights(tmp_path: Path) -> None:
    inits = [numpy_helper.from_array(np.zeros(64, np.uint8), "wb"),
             numpy_helper.from_array(np.ones(2, np.float32), "absmax")]
    nodes = [helper.make_node("MatMulBnb4", ["x", "wb", "absmax"], ["y"], domain=MS, K=16, N=8,
                              block_size=64, quant_type=1)]
    with qformat.open(_save(tmp_path, nodes, inits, ms=True)) as m:
        assert m.info("wb").method == "none"
        assert any("MatMulBnb4" in w for w in m.warnings)
        with pytest.raises(UnsupportedError, match="not decoded"):
            m.get("wb")


def test_two_dequantize_nodes_disagreeing(tmp_path: Path) -> None:
    nodes = [helper.make_node("DequantizeLinear", ["wq", "s1"], ["a"]),
             helper.make_node("DequantizeLinear", ["wq", "s2"], ["y"])]
    inits = [numpy_helper.from_array(np.ones(4, np.int8), "wq"),
             numpy_helper.from_array(np.float32(1), "s1"),
             numpy_helper.from_array(np.float32(2), "s2")]
    with pytest.raises(HeaderError, match="two nodes with different parameters"):
        qformat.open(_save(tmp_path, nodes, inits))


def test_bf16_model_label(tmp_path: Path) -> None:
    import ml_dtypes

    w = np.ones((4, 4), ml_dtypes.bfloat16)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"])]
    with qformat.open(_save(tmp_path, nodes, [numpy_helper.from_array(w, "w")])) as m:
        q = m.quantization()
        assert q["label"] == "onnx/bf16" and q["scheme"] == "bf16"
        assert m.info("w").dtype == "BF16"


def test_matmulnbits_omitted_projection_and_prepacked(tmp_path: Path) -> None:
    empty = numpy_helper.from_array(np.zeros((0, 2, 16), np.uint8), "wq")
    scales = numpy_helper.from_array(np.zeros((0,), np.float32), "ws")
    nodes = [helper.make_node("MatMulNBits", ["x", "wq", "ws"], ["y"], domain=MS, K=64, N=8,
                              bits=4, block_size=32)]
    with qformat.open(_save(tmp_path, nodes, [empty, scales], ms=True)) as m:
        assert m.info("wq").shape == (64, 8)
        assert m.info("wq").extra["omitted_projection"] is True
        with pytest.raises(UnsupportedError, match="omitted projection"):
            m.get("wq")  # K x N zeros would be an allocation sized by attributes alone
    packed = numpy_helper.from_array(np.zeros((8, 2, 16), np.uint8), "wq")
    scales = numpy_helper.from_array(np.ones((8, 2), np.float32), "ws")
    nodes = [helper.make_node("MatMulNBits", ["x", "wq", "ws"], ["y"], domain=MS, K=64, N=8,
                              bits=4, block_size=32, weight_prepacked=1)]
    with qformat.open(_save(tmp_path, nodes, [packed, scales], ms=True, name="p.onnx")) as m:
        with pytest.raises(UnsupportedError, match="prepacked"):
            m.get("wq")


def test_dynamic_weight_without_findable_scale(tmp_path: Path) -> None:
    nodes = [helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
             helper.make_node("MatMulInteger", ["xq", "w_q", "xz"], ["y"])]
    with qformat.open(_save(tmp_path, nodes, [numpy_helper.from_array(
            np.ones((4, 2), np.int8), "w_q")])) as m:
        assert m.info("w_q").method == "onnx-dynamic"
        assert m.quantization()["activations"][0]["dynamic"] is True
        with pytest.raises(UnsupportedError, match="scale was not found"):
            m.get("w_q")


@pytest.mark.parametrize("op", ["MatMulIntegerToFloat", "QAttention"])
def test_other_contrib_weight_slots(tmp_path: Path, op: str) -> None:
    """Weights of ops not in the fixtures: per-column scale and zero point, by definition."""
    r = np.random.default_rng(5)
    w = r.integers(-128, 128, size=(16, 12)).astype(np.int8)
    ws = (r.random(12) * 0.01 + 0.001).astype(np.float32)
    wz = r.integers(-3, 4, size=12).astype(np.int8)
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(ws, "ws"),
             numpy_helper.from_array(wz, "wz"), numpy_helper.from_array(np.float32(0.1), "as"),
             numpy_helper.from_array(np.int8(0), "az")]
    if op == "MatMulIntegerToFloat":  # A, B, a_scale, b_scale, a_zero_point, b_zero_point
        node = helper.make_node(op, ["x", "w", "as", "ws", "az", "wz"], ["y"], domain=MS)
        method = "onnx-dynamic"
    else:  # input, weight, bias, input_scale, weight_scale, mask, input_zp, weight_zp
        inits.append(numpy_helper.from_array(np.zeros(12, np.float32), "b"))
        node = helper.make_node(op, ["x", "w", "b", "as", "ws", "", "az", "wz"], ["y"],
                                domain=MS, num_heads=2)
        method = "onnx-qoperator"
    with qformat.open(_save(tmp_path, [node], inits, ms=True)) as m:
        info = m.info("w")
        got = m.get("w")
        assert "ws" not in m.keys() and "wz" not in m.keys()
    assert info.method == method and info.group_size == -1 and info.extra["axis"] == 1
    want = (w.astype(np.int32) - wz).astype(np.float32) * ws
    assert np.array_equal(got, want)
