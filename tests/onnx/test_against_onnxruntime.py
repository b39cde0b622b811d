"""Randomised small models, dequantized by qformat and by onnxruntime: the values must agree
exactly (onnxruntime is the oracle; fixed seeds keep the run deterministic)."""

from __future__ import annotations

import itertools
import zlib
from pathlib import Path

import numpy as np
import pytest

import qformat

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
ml_dtypes = pytest.importorskip("ml_dtypes")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

pytestmark = pytest.mark.foreign
MS = "com.microsoft"

_INT_TYPES = {
    "INT8": (-128, 127, np.int8), "UINT8": (0, 255, np.uint8),
    "INT16": (-32768, 32767, np.int16), "UINT16": (0, 65535, np.uint16),
    "INT4": (-8, 7, ml_dtypes.int4), "UINT4": (0, 15, ml_dtypes.uint4),
    "INT2": (-2, 1, ml_dtypes.int2), "UINT2": (0, 3, ml_dtypes.uint2),
}


def _run(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> np.ndarray:
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), so,
                                providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)[0]


def _model(nodes, inits, inputs, out_type, opset: int, ms: bool = False) -> onnx.ModelProto:
    g = helper.make_graph(nodes, "t", inputs, [helper.make_tensor_value_info("y", out_type, None)],
                          inits)
    ops = [helper.make_opsetid("", opset)] + ([helper.make_opsetid(MS, 1)] if ms else [])
    m = helper.make_model(g, opset_imports=ops)
    m.ir_version = 10 if opset < 25 else 13
    return m


def _dq_cases():
    shapes = [(24, 40), (7, 33)]
    grans = ["tensor", "axis0", "axis1", "axis-1", "block0", "block1"]
    for (name, shape, gran, scale16, zp) in itertools.product(
            [*list(_INT_TYPES), "FLOAT8E4M3FN", "FLOAT8E5M2"], shapes, grans, (False, True),
            (False, True)):
        if name.startswith("FLOAT8") and (gran.startswith("block") or zp):
            continue
        yield name, shape, gran, scale16, zp


_DQ = list(_dq_cases())


@pytest.mark.parametrize(("name", "shape", "gran", "scale16", "zp"), _DQ,
                         ids=["-".join(map(str, (*c[:1], f"{c[1][0]}x{c[1][1]}", *c[2:])))
                              for c in _DQ])
def test_dequantize_linear(tmp_path: Path, name: str, shape: tuple[int, int], gran: str,
                           scale16: bool, zp: bool) -> None:
    r = np.random.default_rng(zlib.crc32(repr((name, shape, gran, scale16, zp)).encode()))
    if name.startswith("FLOAT8"):
        dt = getattr(ml_dtypes, "float8_e4m3fn" if "E4M3" in name else "float8_e5m2")
        q = (r.standard_normal(shape) * 3).astype(dt)
    else:
        lo, hi, dt = _INT_TYPES[name]
        q = r.integers(lo, hi + 1, size=shape).astype(dt)
    attrs: dict[str, int] = {}
    if gran == "tensor":
        sshape: tuple[int, ...] = ()
    elif gran.startswith("axis"):
        ax = int(gran[4:])
        attrs["axis"] = ax
        sshape = (shape[ax],)
    else:
        ax = int(gran[5:])
        bs = 16
        attrs.update(axis=ax, block_size=bs)
        sshape = tuple((d + bs - 1) // bs if i == ax else d for i, d in enumerate(shape))
    sdt = np.float16 if scale16 else np.float32
    scale = (r.standard_normal(sshape) * 0.05).astype(sdt)  # negative scales included
    inits = [numpy_helper.from_array(q, "w_quantized"), numpy_helper.from_array(scale, "w_scale")]
    ins = ["w_quantized", "w_scale"]
    if zp:
        lo, hi, dt = _INT_TYPES[name]
        inits.append(numpy_helper.from_array(r.integers(lo, hi + 1, size=sshape).astype(dt),
                                             "w_zero_point"))
        ins.append("w_zero_point")
    opset = 25 if name in ("INT2", "UINT2") else 21
    node = helper.make_node("DequantizeLinear", ins, ["y"], **attrs)
    out_type = TensorProto.FLOAT16 if scale16 else TensorProto.FLOAT
    model = _model([node], inits, [], out_type, opset)
    want = _run(model, {}).astype(np.float32)
    onnx.save(model, tmp_path / "m.onnx")
    with qformat.open(tmp_path / "m.onnx") as m:
        got = m.get("w_quantized")
        info = m.info("w_quantized")
    assert info.extra["stored_dtype"] == name
    assert got.shape == want.shape
    assert np.array_equal(got, want, equal_nan=True)


_NB = list(itertools.product((2, 4, 8), (16, 32, 128), (40, 80, 130), (False, True),
                             (False, True)))


@pytest.mark.parametrize(("bits", "block", "K", "asym", "fp16"), _NB,
                         ids=[f"b{b}-B{B}-K{k}-{'asym' if a else 'sym'}-{'f16' if h else 'f32'}"
                              for b, B, k, a, h in _NB])
def test_matmulnbits(tmp_path: Path, bits: int, block: int, K: int, asym: bool,
                     fp16: bool) -> None:
    r = np.random.default_rng(bits * 1000 + block * 10 + K + asym)
    N = 8
    kb = (K + block - 1) // block
    codes = r.integers(0, 1 << bits, size=(N, kb * block)).astype(np.uint8)
    per = 8 // bits
    packed = np.zeros((N, kb * block // per), np.uint8)
    for j in range(per):
        packed |= codes[:, j::per] << (j * bits)
    sdt = np.float16 if fp16 else np.float32
    scales = (r.standard_normal((N, kb)) * 0.05).astype(sdt)
    inits = [numpy_helper.from_array(packed.reshape(N, kb, -1), "w_Q"),
             numpy_helper.from_array(scales, "w_scales")]
    ins = ["A", "w_Q", "w_scales"]
    if asym:
        zp = r.integers(0, 1 << bits, size=(N, kb)).astype(np.uint8)
        zb = (kb * bits + 7) // 8
        zpk = np.zeros((N, zb), np.uint8)
        for j in range(kb):
            zpk[:, j * bits // 8] |= zp[:, j] << ((j * bits) % 8)
        inits.append(numpy_helper.from_array(zpk, "w_zp"))
        ins.append("w_zp")
    node = helper.make_node("MatMulNBits", ins, ["y"], domain=MS, K=K, N=N, bits=bits,
                            block_size=block)
    t = TensorProto.FLOAT16 if fp16 else TensorProto.FLOAT
    model = _model([node], inits, [helper.make_tensor_value_info("A", t, [K, K])], t, 21,
                   ms=True)
    want = _run(model, {"A": np.eye(K, dtype=sdt)}).astype(np.float32)
    onnx.save(model, tmp_path / "m.onnx")
    with qformat.open(tmp_path / "m.onnx") as m:
        got = m.get("w_Q")
        info = m.info("w_Q")
    assert info.shape == (K, N) and info.bits == bits and info.group_size == block
    if fp16:  # the runtime's fp16 output is the float32 value rounded to fp16
        got = got.astype(np.float16).astype(np.float32)
    assert np.array_equal(got + 0.0, want + 0.0)  # I @ W may turn -0.0 into +0.0


# (data type, bits, unused, gather_axis, quantize_axis, block_size, zero points)
_GBQ = [("INT4", 4, None, 0, 1, 16, False), ("INT4", 4, None, 1, 0, 32, True),
        ("UINT4", 4, None, 0, 1, 16, True), ("UINT4", 4, None, 1, 0, 16, False),
        ("UINT8", 8, None, 0, 1, 16, True), ("UINT8", 4, None, 0, 1, 32, True),
        ("UINT8", 4, None, 0, 1, 16, False), ("UINT8", 2, None, 0, 1, 16, True)]


@pytest.mark.parametrize(("dtype", "bits", "_", "gax", "qax", "block", "zp"), _GBQ)
def test_gather_block_quantized(tmp_path: Path, dtype: str, bits: int, _: None, gax: int,
                                qax: int, block: int, zp: bool) -> None:
    r = np.random.default_rng(bits * 100 + gax * 10 + qax + block)
    rows, cols = 12, 64
    shape = [rows, cols]
    nb = (shape[qax] + block - 1) // block
    sshape = [nb if i == qax else d for i, d in enumerate(shape)]
    scales = (r.standard_normal(sshape) * 0.05).astype(np.float32)
    inits = [numpy_helper.from_array(scales, "s")]
    attrs = {"gather_axis": gax, "quantize_axis": qax, "block_size": block}
    if dtype == "UINT8":
        attrs["bits"] = bits
        codes = r.integers(0, 1 << bits, size=shape).astype(np.uint8)
        per = 8 // bits
        packed = np.zeros((rows, cols // per), np.uint8)
        for j in range(per):
            packed |= codes[:, j::per] << (j * bits)
        data = numpy_helper.from_array(packed, "d")
        if zp:
            z = r.integers(0, 1 << bits, size=sshape).astype(np.uint8)
            zs = list(sshape)
            zs[-1] = (zs[-1] + per - 1) // per
            zpk = np.zeros(zs, np.uint8)
            for j in range(sshape[-1]):
                zpk[:, j // per] |= z[:, j] << ((j % per) * bits)
            inits.append(numpy_helper.from_array(zpk, "z"))
    else:
        lo, hi, dt = _INT_TYPES[dtype]
        data = numpy_helper.from_array(r.integers(lo, hi + 1, size=shape).astype(dt), "d")
        if zp:
            inits.append(numpy_helper.from_array(
                r.integers(lo, hi + 1, size=sshape).astype(dt), "z"))
    inits.append(data)
    ins = ["d", "idx", "s"] + (["z"] if zp else [])
    node = helper.make_node("GatherBlockQuantized", ins, ["y"], domain=MS, **attrs)
    n_idx = shape[gax]
    model = _model([node], inits, [helper.make_tensor_value_info("idx", TensorProto.INT64,
                                                                 [n_idx])],
                   TensorProto.FLOAT, 21, ms=True)
    want = _run(model, {"idx": np.arange(n_idx, dtype=np.int64)})
    # gathering every index in order along gather_axis returns the whole table
    onnx.save(model, tmp_path / "m.onnx")
    with qformat.open(tmp_path / "m.onnx") as m:
        got = m.get("d")
        assert m.info("d").shape == tuple(shape)
    assert np.array_equal(got, want.astype(np.float32))
