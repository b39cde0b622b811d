"""Generate the ONNX test fixtures with the real tools, and the hostile ONNX files.

Foreign fixtures (``fixtures/foreign/onnx/generated/``): small float models built with
``onnx.helper``, quantized with onnxruntime's own quantizers (quantize_static QDQ/QOperator,
quantize_dynamic, MatMulNBitsQuantizer in QOperator and QDQ modes, ORT's graph optimizer for
the fused DynamicQuantizeMatMul), plus the variants no tool emits built by hand with
``onnx.helper`` (old 1-D MatMulNBits scales, float zero points, g_idx, 3-bit, uint8
GatherBlockQuantized, float8 E5M2, negative scales, fp16-scaled blocked QDQ). For every
quantized tensor the ground truth is what **onnxruntime computes**: a one-node model
(DequantizeLinear, MatMulNBits with A = identity, GatherBlockQuantized over every row) run on
the same initializers. Only where ORT has no kernel (3-bit MatMulNBits) or no runtime
dequantization (the implicit-scale int32 bias of QLinearConv/QGemm) is the value computed here
in numpy, written independently of qformat. ``manifest.json`` records, per file, the tool and
settings, the expected model label and per-tensor facts and sha256 of the dequantized values.

Hostile fixtures (``fixtures/hostile/onnx/``): one file (or folder) per attack, each of which
qformat must refuse with a specific QFormatError.

Run with the fixture venv (onnx 1.23.2, onnxruntime 1.32.0, onnx-ir; see docs/onnx.md):

    /work/venv-onnx/bin/python tools/make_onnx_fixtures.py [--foreign] [--hostile]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[1]
FOREIGN = ROOT / "fixtures" / "foreign" / "onnx"
GENERATED = FOREIGN / "generated"
HOSTILE = ROOT / "fixtures" / "hostile" / "onnx"
CORPUS = Path(os.environ.get("QFORMAT_SHARED", ROOT.parent / "shared")) / "corpus" / "onnx"
MS = "com.microsoft"
RNG_SEED = 20240607


# ---------------------------------------------------------------------------------------------
# base float models
# ---------------------------------------------------------------------------------------------
def _rng(salt: int = 0) -> np.random.Generator:
    return np.random.default_rng(RNG_SEED + salt)


def _finish(graph: onnx.GraphProto, opset: int, ir: int = 8,
            extra_opsets: tuple[tuple[str, int], ...] = ()) -> onnx.ModelProto:
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v)
                                                 for d, v in extra_opsets]
    m = helper.make_model(graph, opset_imports=opsets, producer_name="qformat-fixtures",
                          producer_version="1")
    m.ir_version = ir
    onnx.checker.check_model(m)
    return m


def mlp(dtype: int = TensorProto.FLOAT, k0: int = 80, k1: int = 48, n: int = 32,
        opset: int = 17) -> onnx.ModelProto:
    """input[1,k0] -> MatMul fc1[k0,k1] + Add -> Relu -> MatMul fc2[k1,n] + Add."""
    r = _rng(1)
    npdt = np.float16 if dtype == TensorProto.FLOAT16 else np.float32
    w1 = (r.standard_normal((k0, k1)) * 0.2).astype(npdt)
    b1 = (r.standard_normal(k1) * 0.05).astype(npdt)
    w2 = (r.standard_normal((k1, n)) * 0.2).astype(npdt)
    b2 = (r.standard_normal(n) * 0.05).astype(npdt)
    inits = [numpy_helper.from_array(a, nm) for a, nm in
             ((w1, "fc1.weight"), (b1, "fc1.bias"), (w2, "fc2.weight"), (b2, "fc2.bias"))]
    nodes = [
        helper.make_node("MatMul", ["input", "fc1.weight"], ["h1"], name="/fc1/MatMul"),
        helper.make_node("Add", ["h1", "fc1.bias"], ["h1b"], name="/fc1/Add"),
        helper.make_node("Relu", ["h1b"], ["a1"], name="/relu/Relu"),
        helper.make_node("MatMul", ["a1", "fc2.weight"], ["h2"], name="/fc2/MatMul"),
        helper.make_node("Add", ["h2", "fc2.bias"], ["output"], name="/fc2/Add"),
    ]
    g = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("input", dtype, [1, k0])],
                          [helper.make_tensor_value_info("output", dtype, [1, n])], inits)
    return _finish(g, opset)


def cnn(opset: int = 17) -> onnx.ModelProto:
    """input[1,3,8,8] -> Conv[8,3,3,3] -> Relu -> Conv[16,8,3,3] s2 -> Relu -> GAP -> Gemm."""
    r = _rng(2)
    arrays = {
        "conv1.weight": (r.standard_normal((8, 3, 3, 3)) * 0.3).astype(np.float32),
        "conv1.bias": (r.standard_normal(8) * 0.05).astype(np.float32),
        "conv2.weight": (r.standard_normal((16, 8, 3, 3)) * 0.2).astype(np.float32),
        "conv2.bias": (r.standard_normal(16) * 0.05).astype(np.float32),
        "fc.weight": (r.standard_normal((10, 16)) * 0.3).astype(np.float32),
        "fc.bias": (r.standard_normal(10) * 0.05).astype(np.float32),
    }
    nodes = [
        helper.make_node("Conv", ["input", "conv1.weight", "conv1.bias"], ["c1"],
                         name="/conv1/Conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="/relu1/Relu"),
        helper.make_node("Conv", ["r1", "conv2.weight", "conv2.bias"], ["c2"],
                         name="/conv2/Conv", pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c2"], ["r2"], name="/relu2/Relu"),
        helper.make_node("GlobalAveragePool", ["r2"], ["gap"], name="/gap/GlobalAveragePool"),
        helper.make_node("Flatten", ["gap"], ["flat"], name="/flatten/Flatten"),
        helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["output"], name="/fc/Gemm",
                         transB=1),
    ]
    g = helper.make_graph(
        nodes, "cnn", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 10])],
        [numpy_helper.from_array(a, k) for k, a in arrays.items()])
    return _finish(g, opset)


def embed() -> onnx.ModelProto:
    """input_ids[1,8] -> Gather embed.weight[64,48] -> MatMul proj.weight[48,32]. Opset 21."""
    r = _rng(3)
    table = (r.standard_normal((64, 48)) * 0.5).astype(np.float32)
    proj = (r.standard_normal((48, 32)) * 0.2).astype(np.float32)
    nodes = [helper.make_node("Gather", ["embed.weight", "input_ids"], ["emb"],
                              name="/embed/Gather"),
             helper.make_node("MatMul", ["emb", "proj.weight"], ["output"], name="/proj/MatMul")]
    g = helper.make_graph(
        nodes, "embed", [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 8, 32])],
        [numpy_helper.from_array(table, "embed.weight"), numpy_helper.from_array(proj,
                                                                                  "proj.weight")])
    return _finish(g, 21, ir=10)


class _Reader:
    """Calibration data for quantize_static: a few fixed random inputs."""

    def __init__(self, model: onnx.ModelProto, n: int = 4) -> None:
        inp = model.graph.input[0]
        shape = [d.dim_value for d in inp.type.tensor_type.shape.dim]
        r = _rng(4)
        self.data = iter([{inp.name: r.standard_normal(shape).astype(np.float32)}
                          for _ in range(n)])

    def get_next(self):
        return next(self.data, None)

    def rewind(self) -> None:  # pragma: no cover - not used by MinMax
        pass


# ---------------------------------------------------------------------------------------------
# quantizers (the real tools)
# ---------------------------------------------------------------------------------------------
def q_static(model: onnx.ModelProto, out: Path, **kw) -> onnx.ModelProto:
    from onnxruntime.quantization import quantize_static

    src = out.with_suffix(".float.onnx")
    onnx.save(model, src)
    quantize_static(str(src), str(out), _Reader(model), **kw)
    src.unlink()
    return onnx.load(out)


def q_dynamic(model: onnx.ModelProto, out: Path, **kw) -> onnx.ModelProto:
    from onnxruntime.quantization import quantize_dynamic

    src = out.with_suffix(".float.onnx")
    onnx.save(model, src)
    quantize_dynamic(str(src), str(out), **kw)
    src.unlink()
    return onnx.load(out)


def q_nbits(model: onnx.ModelProto, **kw) -> onnx.ModelProto:
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    q = MatMulNBitsQuantizer(onnx.ModelProto.FromString(model.SerializeToString()), **kw)
    q.process()
    return q.model.model


def ort_optimize(src: Path, out: Path) -> onnx.ModelProto:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    so.optimized_model_filepath = str(out)
    ort.InferenceSession(str(src), so, providers=["CPUExecutionProvider"])
    return onnx.load(out)


# ---------------------------------------------------------------------------------------------
# ground truth: what onnxruntime computes
# ---------------------------------------------------------------------------------------------
def _run(nodes, inputs, outputs, inits, opset: int, ir: int, ms: bool = False) -> np.ndarray:
    import onnxruntime as ort

    opsets = [("", opset)] + ([(MS, 1)] if ms else [])
    g = helper.make_graph(nodes, "oracle", inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets])
    m.ir_version = ir
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    feeds = {}
    for vi in inputs:
        feeds[vi.name] = _FEEDS[vi.name]
    return sess.run(None, feeds)[0]


_FEEDS: dict[str, np.ndarray] = {}


def _copy(t: onnx.TensorProto, name: str | None = None) -> onnx.TensorProto:
    c = onnx.TensorProto()
    c.CopyFrom(t)
    if name:
        c.name = name
    return c


def _sha(a: np.ndarray) -> str:
    a = np.ascontiguousarray(np.asarray(a, dtype=np.float32) + np.float32(0.0))  # -0 -> +0
    return hashlib.sha256(a.astype("<f4").tobytes()).hexdigest()


def _opset(model: onnx.ModelProto, domain: str = "") -> int:
    for o in model.opset_import:
        if o.domain in ((domain,) if domain else ("", "ai.onnx")):
            return o.version
    return 0


def oracle_dq(model, inits, codes, scale, zp, attrs, domain="") -> np.ndarray:
    """Run one DequantizeLinear (domain/opset of the model) on the stored initializers."""
    ts = [_copy(inits[codes]), _copy(inits[scale])] + ([_copy(inits[zp])] if zp else [])
    ins = [codes, scale] + ([zp] if zp else [])
    opset = max(_opset(model), 13)
    if inits[codes].data_type in (TensorProto.INT4, TensorProto.UINT4, TensorProto.INT16,
                                  TensorProto.UINT16) or attrs.get("block_size"):
        opset = max(opset, 21)
    out_type = inits[scale].data_type if not attrs.get("output_dtype") else attrs["output_dtype"]
    node = helper.make_node("DequantizeLinear", ins, ["y"], domain=domain, **attrs)
    y = helper.make_tensor_value_info("y", out_type, None)
    return _run([node], [], [y], ts, opset, ir=10, ms=bool(domain))


def oracle_nbits(inits, node) -> np.ndarray:
    a = {x.name: helper.get_attribute_value(x) for x in node.attribute}
    K, N = a["K"], a["N"]
    scales = inits[node.input[2]]
    is16 = scales.data_type == TensorProto.FLOAT16
    attrs = {k: v for k, v in a.items() if k in ("K", "N", "bits", "block_size")}
    ins = ["A", *list(node.input[1:])]
    ts = [_copy(inits[n]) for n in node.input[1:] if n]
    _FEEDS["A"] = np.eye(K, dtype=np.float16 if is16 else np.float32)
    n = helper.make_node("MatMulNBits", ins, ["y"], domain=MS, **attrs)
    dt = TensorProto.FLOAT16 if is16 else TensorProto.FLOAT
    return _run([n], [helper.make_tensor_value_info("A", dt, [K, K])],
                [helper.make_tensor_value_info("y", dt, [K, N])], ts, 21, 10, ms=True)


def oracle_gbq(inits, node, rows: int) -> np.ndarray:
    a = {x.name: helper.get_attribute_value(x) for x in node.attribute}
    ins = [node.input[0], "idx", *list(node.input[2:])]
    ts = [_copy(inits[n]) for n in ins if n and n != "idx"]
    _FEEDS["idx"] = np.arange(rows, dtype=np.int64)
    n = helper.make_node("GatherBlockQuantized", ins, ["y"], domain=MS, **a)
    dt = inits[node.input[2]].data_type
    return _run([n], [helper.make_tensor_value_info("idx", TensorProto.INT64, [rows])],
                [helper.make_tensor_value_info("y", dt, None)], ts, 21, 10, ms=True)


def _values(t: onnx.TensorProto) -> np.ndarray:
    return numpy_helper.to_array(t)


def _sym(codes_type: int, zp: onnx.TensorProto | None, default_mid: bool = False,
         bits: int | None = None) -> bool:
    signed = codes_type in (TensorProto.INT8, TensorProto.INT16, TensorProto.INT4,
                            TensorProto.INT2, TensorProto.INT32)
    floats = codes_type in (TensorProto.FLOAT8E4M3FN, TensorProto.FLOAT8E5M2,
                            TensorProto.FLOAT8E4M3FNUZ, TensorProto.FLOAT8E5M2FNUZ)
    if floats:
        return True
    b = bits or {TensorProto.INT8: 8, TensorProto.UINT8: 8, TensorProto.INT16: 16,
                 TensorProto.UINT16: 16, TensorProto.INT4: 4, TensorProto.UINT4: 4,
                 TensorProto.INT32: 32, TensorProto.INT2: 2, TensorProto.UINT2: 2}[codes_type]
    mid = 0 if signed else 1 << (b - 1)
    if zp is None:
        return default_mid or mid == 0
    return bool(np.all(_values(zp).astype(np.int64) == mid))


_BITS = {TensorProto.INT8: 8, TensorProto.UINT8: 8, TensorProto.INT16: 16, TensorProto.UINT16: 16,
         TensorProto.INT4: 4, TensorProto.UINT4: 4, TensorProto.INT32: 32, TensorProto.INT2: 2,
         TensorProto.UINT2: 2, TensorProto.FLOAT8E4M3FN: 8, TensorProto.FLOAT8E5M2: 8}


def _nbits_reference(inits, node) -> np.ndarray:
    """MatMulNBits dequantization written out element by element from the op definition.

    Packed uint8 zero points: ``(q - zp) * scale``; float zero points: ``q*scale - scale*zp``
    (how onnxruntime, the only implementation, evaluates it); ``g_idx[k]`` picks the block of
    row ``k``. Used where onnxruntime has no kernel (3-bit) or disagrees with the definition.
    """
    a = {x.name: helper.get_attribute_value(x) for x in node.attribute}
    K, N, bits, B = a["K"], a["N"], a.get("bits", 4), a["block_size"]
    kb = (K + B - 1) // B
    packed = _values(inits[node.input[1]]).reshape(N, -1)
    scales = _values(inits[node.input[2]]).astype(np.float32).reshape(N, kb)
    zp_t = inits.get(node.input[3]) if len(node.input) > 3 and node.input[3] else None
    g_t = inits.get(node.input[4]) if len(node.input) > 4 and node.input[4] else None
    g = _values(g_t).tolist() if g_t is not None else [k // B for k in range(K)]
    float_zp = zp_t is not None and zp_t.data_type != TensorProto.UINT8
    out = np.zeros((K, N), dtype=np.float32)
    for n in range(N):
        stream = sum(int(v) << (8 * i) for i, v in enumerate(packed[n]))
        zrow = None
        if zp_t is not None and not float_zp:
            zbytes = _values(zp_t).reshape(N, -1)[n]
            zrow = sum(int(v) << (8 * i) for i, v in enumerate(zbytes))
        for k in range(K):
            q = (stream >> (k * bits)) & ((1 << bits) - 1)
            blk = g[k]
            s = scales[n, blk]
            if float_zp:
                z = np.float32(_values(zp_t).astype(np.float32).reshape(N, kb)[n, blk])
                out[k, n] = np.float32(np.float32(q) * s) - np.float32(s * z)
                continue
            z = (zrow >> (blk * bits)) & ((1 << bits) - 1) if zrow is not None else \
                1 << (bits - 1)
            out[k, n] = np.float32(q - z) * s
    return out


def describe(model: onnx.ModelProto) -> dict[str, dict]:
    """Every quantized stored tensor of ``model`` with what ORT says it dequantizes to."""
    inits = {t.name: t for t in model.graph.initializer}
    out: dict[str, dict] = {}

    def add(name, method, bits, group, sym, values, oracle, **extra):
        out[name] = {"method": method, "bits": bits, "group_size": group, "symmetric": sym,
                     "shape": list(values.shape), "dtype": str(values.dtype),
                     "sha256": _sha(values), "oracle": oracle, **extra}

    def group_of(codes, scale, attrs):
        s = inits[scale]
        numel = int(np.prod(s.dims)) if s.dims else 1
        if attrs.get("block_size"):
            axis = attrs.get("axis", 1) % len(codes.dims)
            return -1 if s.dims[axis] == 1 else attrs["block_size"]
        return None if numel == 1 else -1

    for node in model.graph.node:
        ins = list(node.input) + [""] * 8
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "DequantizeLinear" and ins[0] in inits:
            codes = inits[ins[0]]
            dq_attrs = {k: v for k, v in attrs.items() if k in ("axis", "block_size",
                                                                  "output_dtype")}
            y = oracle_dq(model, inits, ins[0], ins[1], ins[2] or None, dq_attrs,
                          node.domain if node.domain == MS else "")
            add(ins[0], "onnx-qdq", _BITS[codes.data_type], group_of(codes, ins[1], attrs),
                _sym(codes.data_type, inits.get(ins[2])), y,
                f"onnxruntime {node.domain or 'ai.onnx'}::DequantizeLinear",
                ort_dtype=str(y.dtype))
        slots = {"QLinearConv": [(3, 4, 5, 0)], "QLinearMatMul": [(3, 4, 5, 1), (0, 1, 2, 0)],
                 "QGemm": [(3, 4, 5, 0 if attrs.get("transB") else 1)],
                 "QLinearAdd": [(0, 1, 2, None), (3, 4, 5, None)],
                 "QLinearMul": [(0, 1, 2, None), (3, 4, 5, None)],
                 "DynamicQuantizeMatMul": [(1, 2, 3, 1)],
                 "MatMulIntegerToFloat": [(1, 3, 5, 1)]}.get(node.op_type, [])
        method = "onnx-dynamic" if node.op_type in ("DynamicQuantizeMatMul",
                                                    "MatMulIntegerToFloat") else "onnx-qoperator"
        for w, s, z, axis in slots:
            if ins[w] in inits:
                codes = inits[ins[w]]
                snum = int(np.prod(inits[ins[s]].dims)) if inits[ins[s]].dims else 1
                y = oracle_dq(model, inits, ins[w], ins[s], ins[z] or None,
                              {"axis": axis} if snum > 1 else {})
                add(ins[w], method, _BITS[codes.data_type], None if snum == 1 else -1,
                    _sym(codes.data_type, inits.get(ins[z])), y,
                    "onnxruntime ai.onnx::DequantizeLinear on the same initializers")
        if node.op_type in ("QLinearConv", "QGemm"):
            b = ins[8] if node.op_type == "QLinearConv" else ins[6]
            if b in inits:
                xs = _values(inits[ins[1]]).astype(np.float32)
                ws = _values(inits[ins[4]]).astype(np.float32)
                y = _values(inits[b]).astype(np.float32) * (xs * ws).astype(np.float32)
                add(b, "onnx-qoperator", 32, -1 if ws.size > 1 else None, True, y,
                    "numpy: int32 bias x (input scale x weight scale), no runtime dequantizes "
                    "it")
        if node.op_type in ("MatMulInteger", "ConvInteger") and ins[1] in inits:
            codes = inits[ins[1]]
            base = ins[1][: -len("_quantized")] if ins[1].endswith("_quantized") else ins[1]
            scale = base + "_scale"
            snum = int(np.prod(inits[scale].dims)) if inits[scale].dims else 1
            axis = (1 if node.op_type == "MatMulInteger" else 0)
            y = oracle_dq(model, inits, ins[1], scale, ins[3] or None,
                          {"axis": axis} if snum > 1 else {})
            add(ins[1], "onnx-dynamic", _BITS[codes.data_type], None if snum == 1 else -1,
                _sym(codes.data_type, inits.get(ins[3])), y,
                "onnxruntime ai.onnx::DequantizeLinear on the same initializers")
        if node.op_type == "MatMulNBits":
            bits = attrs.get("bits", 4)
            zp = inits.get(ins[3]) if ins[3] else None
            if zp is not None and zp.data_type != TensorProto.UINT8:
                sym = bool(np.all(_values(zp).astype(np.float32) == (1 << (bits - 1))))
            elif zp is not None:
                kb = (attrs["K"] + attrs["block_size"] - 1) // attrs["block_size"]
                raw = _values(zp).reshape(attrs["N"], -1)
                zs = [(sum(int(v) << (8 * i) for i, v in enumerate(r)) >> (j * bits))
                      & ((1 << bits) - 1) for r in raw for j in range(kb)]
                sym = all(z == 1 << (bits - 1) for z in zs)
            else:
                sym = True
            extra = {}
            if bits not in (2, 4, 8):
                y = _nbits_reference(inits, node)
                oracle = f"numpy bit-stream reference (onnxruntime has no {bits}-bit kernel)"
            elif ins[4] in inits:
                # onnxruntime's g_idx kernel evaluates q*s + (-s*zp) (1-ulp differences) and
                # ignores packed uint8 zero points (zp_f is never assigned): the reference is
                # the op definition, and how far ORT is from it is recorded
                y = _nbits_reference(inits, node)
                ort_y = oracle_nbits(inits, node)
                extra["ort_max_abs_diff"] = float(np.abs(ort_y - y).max())
                oracle = "numpy reference of the op definition (onnxruntime 1.32's g_idx path " \
                         "ignores packed zero points)"
                if zp is None and extra["ort_max_abs_diff"] > 1e-6 * float(np.abs(y).max()):
                    raise AssertionError("g_idx reference disagrees with onnxruntime")
            else:
                y = oracle_nbits(inits, node)
                oracle = "onnxruntime com.microsoft::MatMulNBits(A = identity)"
                if zp is not None and zp.data_type != TensorProto.UINT8:
                    ref = _nbits_reference(inits, node)
                    if not np.array_equal(ref, y):
                        raise AssertionError("float zero-point reference disagrees with ORT")
            add(ins[1], "onnx-matmulnbits", bits, attrs["block_size"], sym, y, oracle,
                ort_dtype=str(y.dtype), **extra)
        if node.op_type == "GatherBlockQuantized":
            data = inits[ins[0]]
            gax = attrs.get("gather_axis", 0)
            y = oracle_gbq(inits, node, data.dims[gax])
            bits = attrs.get("bits", 4)
            zp = inits.get(ins[3]) if ins[3] else None
            if data.data_type == TensorProto.UINT8:
                sym = zp is None or bool(np.all(_nibbles(_values(zp), bits) == 1 << (bits - 1)))
            else:
                sym = _sym(data.data_type, zp)
            add(ins[0], "onnx-gatherblockquantized", bits, attrs.get("block_size", 128), sym, y,
                "onnxruntime com.microsoft::GatherBlockQuantized over every row",
                ort_dtype=str(y.dtype))
    return out


def _nibbles(packed: np.ndarray, bits: int) -> np.ndarray:
    p = packed.astype(np.uint8).reshape(-1)
    per = 8 // bits
    return np.stack([(p >> (bits * j)) & ((1 << bits) - 1) for j in range(per)], 1).reshape(-1)


# ---------------------------------------------------------------------------------------------
# hand-built variants (no tool emits them)
# ---------------------------------------------------------------------------------------------
def _init(model: onnx.ModelProto, name: str) -> onnx.TensorProto:
    for t in model.graph.initializer:
        if t.name == name:
            return t
    raise KeyError(name)


def _replace(model: onnx.ModelProto, t: onnx.TensorProto) -> None:
    for i, old in enumerate(model.graph.initializer):
        if old.name == t.name:
            model.graph.initializer[i].CopyFrom(t)
            return
    model.graph.initializer.append(t)


def nbits_1d(model: onnx.ModelProto) -> onnx.ModelProto:
    """Older quantizers wrote MatMulNBits scales [N*k_blocks] and zero points 1-D."""
    for node in model.graph.node:
        if node.op_type == "MatMulNBits":
            for name in node.input[2:4]:
                if name:
                    arr = _values(_init(model, name))
                    _replace(model, numpy_helper.from_array(arr.reshape(-1), name))
    return model


def nbits_float_zp(model: onnx.ModelProto) -> onnx.ModelProto:
    """Float zero points (the type of A), as HQQ-style quantizers write them."""
    r = _rng(5)
    for node in model.graph.node:
        if node.op_type == "MatMulNBits":
            scales = _values(_init(model, node.input[2]))
            zp = (7.5 + r.standard_normal(scales.shape) * 0.5).astype(scales.dtype)
            name = node.input[1].replace("_Q4", "") + "_zero_points"
            model.graph.initializer.append(numpy_helper.from_array(zp, name))
            inputs = [*list(node.input[:3]), name, *list(node.input[4:])]
            del node.input[:]
            node.input.extend(inputs)
    return model


def nbits_g_idx(model: onnx.ModelProto) -> onnx.ModelProto:
    """Act-order g_idx: row k uses block g_idx[k] (a permutation of the natural order)."""
    r = _rng(6)
    for node in model.graph.node:
        if node.op_type == "MatMulNBits":
            a = {x.name: helper.get_attribute_value(x) for x in node.attribute}
            K, B = a["K"], a["block_size"]
            g = (np.arange(K) // B).astype(np.int32)
            r.shuffle(g)
            name = node.input[1] + "_g_idx"
            model.graph.initializer.append(numpy_helper.from_array(g, name))
            inputs = list(node.input[:4]) + [""] * (4 - len(node.input))
            inputs = [*inputs[:4], name]
            del node.input[:]
            node.input.extend(inputs)
    return model


def _pack_stream(codes: np.ndarray, bits: int) -> np.ndarray:
    """Pack a 1-D sequence of codes as a little-endian bit stream (any width)."""
    total = int(codes.size) * bits
    out = np.zeros((total + 7) // 8, dtype=np.uint8)
    for i, c in enumerate(codes.tolist()):
        pos = i * bits
        v = int(c) << (pos % 8)
        j = pos // 8
        while v:
            out[j] |= v & 0xFF
            v >>= 8
            j += 1
    return out


def nbits_hand(bits: int, block: int, asym: bool) -> onnx.ModelProto:
    """A MatMulNBits model built by hand (for widths the quantizer does not write)."""
    base = mlp()
    r = _rng(7 + bits)
    nodes, inits = [], []
    prev = "input"
    for i, name in enumerate(("fc1.weight", "fc2.weight")):
        w = _values(_init(base, name))
        K, N = w.shape
        kb = (K + block - 1) // block
        qmax = (1 << bits) - 1
        codes = r.integers(0, qmax + 1, size=(N, kb * block)).astype(np.uint8)
        codes[:, K:] = 0
        scales = (np.abs(r.standard_normal((N, kb))) * 0.02 + 0.001).astype(np.float32)
        scales[:, ::2] *= -1  # negative scales are legal
        packed = np.stack([_pack_stream(codes[n], bits) for n in range(N)]).reshape(
            N, kb, block * bits // 8)
        ins = [prev, f"{name}_Q{bits}", f"{name}_scales"]
        inits += [numpy_helper.from_array(packed, f"{name}_Q{bits}"),
                  numpy_helper.from_array(scales, f"{name}_scales")]
        if asym:
            zp = r.integers(0, qmax + 1, size=(N, kb)).astype(np.uint8)
            zpk = np.stack([_pack_stream(zp[n], bits) for n in range(N)])
            inits.append(numpy_helper.from_array(zpk, f"{name}_zero_points"))
            ins.append(f"{name}_zero_points")
        out = "output" if i == 1 else f"h{i}"
        nodes.append(helper.make_node("MatMulNBits", ins, [out], name=f"/fc{i + 1}/MatMul_Q{bits}",
                                      domain=MS, K=K, N=N, bits=bits, block_size=block))
        prev = out
    g = helper.make_graph(nodes, "mlp_nbits_hand",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 80])],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 32])],
                          inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17),
                                            helper.make_opsetid(MS, 1)],
                          producer_name="qformat-fixtures", producer_version="1")
    m.ir_version = 8
    return m


def dq_hand(kind: str) -> onnx.ModelProto:
    """Hand-built DequantizeLinear weights for variants quantize_static does not produce."""
    r = _rng(8)
    inits, nodes = [], []
    K, N = 64, 24
    if kind == "negative_scales":
        opset, ir = 13, 8
        q = r.integers(-127, 128, size=(K, N)).astype(np.int8)
        s = -(np.abs(r.standard_normal(1)) * 0.01 + 0.001).astype(np.float32).reshape(())
        inits += [numpy_helper.from_array(q, "w_quantized"),
                  numpy_helper.from_array(s, "w_scale"),
                  numpy_helper.from_array(np.array(0, np.int8), "w_zero_point")]
        q2 = r.integers(0, 256, size=(N, 16)).astype(np.uint8)
        s2 = (r.standard_normal(N) * 0.01).astype(np.float32)  # mixed signs, per axis 0
        z2 = r.integers(100, 156, size=N).astype(np.uint8)
        inits += [numpy_helper.from_array(q2, "w2_quantized"),
                  numpy_helper.from_array(s2, "w2_scale"),
                  numpy_helper.from_array(z2, "w2_zero_point")]
        nodes += [helper.make_node("DequantizeLinear", ["w_quantized", "w_scale",
                                                        "w_zero_point"], ["w"]),
                  helper.make_node("DequantizeLinear", ["w2_quantized", "w2_scale",
                                                        "w2_zero_point"], ["w2"], axis=0)]
        n_out = 16
    elif kind == "blocked_int8_fp16":
        opset, ir = 21, 10
        B = 16
        q = r.integers(-128, 128, size=(K, N)).astype(np.int8)
        s = (np.abs(r.standard_normal((K // B, N))) * 0.01 + 0.0005).astype(np.float16)
        inits += [numpy_helper.from_array(q, "w_quantized"),
                  numpy_helper.from_array(s, "w_scale")]
        nodes.append(helper.make_node("DequantizeLinear", ["w_quantized", "w_scale"], ["w16"],
                                      axis=0, block_size=B))
        nodes.append(helper.make_node("Cast", ["w16"], ["w"], to=TensorProto.FLOAT))
        w2 = r.standard_normal((N, 16)).astype(np.float32) * 0.1
        inits.append(numpy_helper.from_array(w2, "w2"))
        n_out = 16
    elif kind == "float8_e5m2":
        opset, ir = 19, 9
        import ml_dtypes

        vals = (r.standard_normal((K, N)) * 2).astype(ml_dtypes.float8_e5m2)
        t = helper.make_tensor("w_quantized", TensorProto.FLOAT8E5M2, [K, N],
                               vals.view(np.uint8).tobytes(), raw=True)
        inits += [t, numpy_helper.from_array(np.array(0.05, np.float32), "w_scale")]
        nodes.append(helper.make_node("DequantizeLinear", ["w_quantized", "w_scale"], ["w"]))
        w2 = r.standard_normal((N, 16)).astype(np.float32) * 0.1
        inits.append(numpy_helper.from_array(w2, "w2"))
        n_out = 16
    elif kind == "int2":
        opset, ir = 25, 13
        vals = r.integers(-2, 2, size=(K, N)).astype(np.int8)
        t = helper.make_tensor("w_quantized", TensorProto.INT2, [K, N],
                               _pack_stream((vals & 3).astype(np.uint8).reshape(-1), 2).tobytes(),
                               raw=True)
        s = (np.abs(r.standard_normal(N)) * 0.05 + 0.01).astype(np.float32)
        inits += [t, numpy_helper.from_array(s, "w_scale")]
        nodes.append(helper.make_node("DequantizeLinear", ["w_quantized", "w_scale"], ["w"],
                                      axis=1))
        w2 = r.standard_normal((N, 16)).astype(np.float32) * 0.1
        inits.append(numpy_helper.from_array(w2, "w2"))
        n_out = 16
    else:
        raise ValueError(kind)
    nodes.append(helper.make_node("MatMul", ["input", "w"], ["h"]))
    nodes.append(helper.make_node("MatMul", ["h", "w2"], ["output"]))
    g = helper.make_graph(nodes, f"dq_{kind}",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, K])],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT,
                                                         [1, n_out])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="qformat-fixtures", producer_version="1")
    m.ir_version = ir
    return m


def gbq_uint8(bits: int) -> onnx.ModelProto:
    """GatherBlockQuantized with uint8 data packing 8/bits codes per byte, packed zero points."""
    r = _rng(9 + bits)
    rows, D, B = 16, 64, 16
    comps = 8 // bits
    codes = r.integers(0, 1 << bits, size=(rows, D)).astype(np.uint8)
    packed = np.stack([_pack_stream(codes[i], bits) for i in range(rows)])
    nb = D // B
    scales = (np.abs(r.standard_normal((rows, nb))) * 0.05 + 0.01).astype(np.float32)
    zp = r.integers(0, 1 << bits, size=(rows, nb)).astype(np.uint8)
    zpk = np.stack([_pack_stream(zp[i], bits) for i in range(rows)])
    assert packed.shape == (rows, D // comps)
    inits = [numpy_helper.from_array(packed, "embed.weight_Q"),
             numpy_helper.from_array(scales, "embed.weight_scales"),
             numpy_helper.from_array(zpk, "embed.weight_zero_points")]
    node = helper.make_node("GatherBlockQuantized", ["embed.weight_Q", "input_ids",
                                                     "embed.weight_scales",
                                                     "embed.weight_zero_points"], ["output"],
                            domain=MS, gather_axis=0, quantize_axis=1, block_size=B, bits=bits)
    g = helper.make_graph([node], "gbq_uint8",
                          [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, 4])],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT,
                                                         [1, 4, D])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 21),
                                            helper.make_opsetid(MS, 1)],
                          producer_name="qformat-fixtures", producer_version="1")
    m.ir_version = 10
    return m


def check_runs(path: Path) -> None:
    """Every fixture must load in onnxruntime (3-bit MatMulNBits excepted: no kernel)."""
    import onnxruntime as ort

    ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


# ---------------------------------------------------------------------------------------------
# the foreign fixture set
# ---------------------------------------------------------------------------------------------
def make_foreign() -> None:
    import onnxruntime
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType

    if GENERATED.exists():
        shutil.rmtree(GENERATED)
    GENERATED.mkdir(parents=True)
    entries = []

    def record(fname: str, model: onnx.ModelProto | None, tool: str, settings: dict,
               label: str, *, runs: bool = True, save: bool = True, **extra) -> None:
        path = GENERATED / fname
        if save:
            onnx.save(model, path)
        model = onnx.load(path, load_external_data=True) if model is None or extra.get(
            "external") else model
        if runs:
            check_runs(path)
        tensors = describe(model)
        entries.append({"file": fname, "tool": tool, "tool_settings": settings, "label": label,
                        "size_bytes": path.stat().st_size, "tensors": tensors, **extra})
        print(f"{fname}: {label}, {len(tensors)} quantized tensors", file=sys.stderr)

    tmp = GENERATED / "tmp.onnx"
    # --- quantize_static, QDQ ---
    for fname, act, wt, pc, label in (
        ("mlp_qdq_u8u8_pertensor.onnx", QuantType.QUInt8, QuantType.QUInt8, False,
         "onnx/qdq-uint8-per-tensor"),
        ("mlp_qdq_s16s16_perchannel.onnx", QuantType.QInt16, QuantType.QInt16, True,
         "onnx/qdq-int16-per-channel"),
        ("mlp_qdq_u16u16_pertensor.onnx", QuantType.QUInt16, QuantType.QUInt16, False,
         "onnx/qdq-uint16-per-tensor"),
        ("mlp_qdq_u8s4_perchannel.onnx", QuantType.QUInt8, QuantType.QInt4, True,
         "onnx/qdq-int4-per-channel"),
        ("mlp_qdq_u8u4_pertensor.onnx", QuantType.QUInt8, QuantType.QUInt4, False,
         "onnx/qdq-uint4-per-tensor"),
    ):
        m = q_static(mlp(), tmp, quant_format=QuantFormat.QDQ, activation_type=act,
                     weight_type=wt, per_channel=pc)
        record(fname, m, "onnxruntime.quantization.quantize_static",
               {"quant_format": "QDQ", "activation_type": act.name, "weight_type": wt.name,
                "per_channel": pc}, label)
    m = q_static(mlp(), tmp, quant_format=QuantFormat.QDQ,
                 activation_type=QuantType.QFLOAT8E4M3FN, weight_type=QuantType.QFLOAT8E4M3FN,
                 calibrate_method=CalibrationMethod.Distribution)
    record("mlp_qdq_fp8e4m3_pertensor.onnx", m, "onnxruntime.quantization.quantize_static",
           {"quant_format": "QDQ", "activation_type": "QFLOAT8E4M3FN",
            "weight_type": "QFLOAT8E4M3FN", "calibrate_method": "Distribution"},
           "onnx/qdq-float8e4m3fn-per-tensor")
    m = q_static(cnn(), tmp, quant_format=QuantFormat.QDQ, activation_type=QuantType.QInt8,
                 weight_type=QuantType.QInt8, per_channel=True,
                 extra_options={"UseQDQContribOps": True})
    record("cnn_qdq_contrib_s8s8_perchannel.onnx", m, "onnxruntime.quantization.quantize_static",
           {"quant_format": "QDQ", "activation_type": "QInt8", "weight_type": "QInt8",
            "per_channel": True, "extra_options": {"UseQDQContribOps": True}},
           "onnx/qdq-int8-per-channel")
    # --- quantize_static, QOperator ---
    for fname, model_fn, act, wt, pc, label in (
        ("mlp_qop_u8u8_pertensor.onnx", mlp, QuantType.QUInt8, QuantType.QUInt8, False,
         "onnx/qoperator-uint8-per-tensor"),
        ("mlp_qop_u8s8_perchannel.onnx", mlp, QuantType.QUInt8, QuantType.QInt8, True,
         "onnx/qoperator-int8-per-channel"),
        ("cnn_qop_u8u8_pertensor.onnx", cnn, QuantType.QUInt8, QuantType.QUInt8, False,
         "onnx/qoperator-uint8-per-tensor"),
    ):
        m = q_static(model_fn(), tmp, quant_format=QuantFormat.QOperator, activation_type=act,
                     weight_type=wt, per_channel=pc)
        record(fname, m, "onnxruntime.quantization.quantize_static",
               {"quant_format": "QOperator", "activation_type": act.name,
                "weight_type": wt.name, "per_channel": pc}, label)
    # --- quantize_dynamic ---
    m = q_dynamic(mlp(), tmp, weight_type=QuantType.QUInt8, per_channel=True)
    record("mlp_dyn_u8_perchannel.onnx", m, "onnxruntime.quantization.quantize_dynamic",
           {"weight_type": "QUInt8", "per_channel": True}, "onnx/dynamic-uint8-per-channel")
    m = q_dynamic(cnn(), tmp, weight_type=QuantType.QUInt8, op_types_to_quantize=["Conv"])
    record("cnn_dyn_u8_conv.onnx", m, "onnxruntime.quantization.quantize_dynamic",
           {"weight_type": "QUInt8", "op_types_to_quantize": ["Conv"]},
           "onnx/dynamic-uint8-per-tensor")
    src = GENERATED / "dyn_src.onnx"
    q_dynamic(mlp(), src, weight_type=QuantType.QInt8)
    m = ort_optimize(src, GENERATED / "mlp_dyn_s8_fused.onnx")
    src.unlink()
    record("mlp_dyn_s8_fused.onnx", None, "quantize_dynamic + onnxruntime "
           "GraphOptimizationLevel.ORT_ENABLE_EXTENDED (optimized_model_filepath)",
           {"weight_type": "QInt8"}, "onnx/dynamic-int8-per-tensor", save=False)
    # --- MatMulNBitsQuantizer, QOperator ---
    for fname, bits, block, sym, acc, label in (
        ("mlp_nbits2_b32_asym.onnx", 2, 32, False, None, "onnx/matmulnbits-int2-b32-asym"),
        ("mlp_nbits4_b16_asym.onnx", 4, 16, False, None, "onnx/matmulnbits-int4-b16-asym"),
        ("mlp_nbits4_b128_sym.onnx", 4, 128, True, None, "onnx/matmulnbits-int4-b128-sym"),
        ("mlp_nbits4_b32_asym_acc4.onnx", 4, 32, False, 4, "onnx/matmulnbits-int4-b32-asym"),
        ("mlp_nbits8_b32_asym.onnx", 8, 32, False, None, "onnx/matmulnbits-int8-b32-asym"),
        ("mlp_nbits8_b64_sym.onnx", 8, 64, True, None, "onnx/matmulnbits-int8-b64-sym"),
    ):
        m = q_nbits(mlp(), bits=bits, block_size=block, is_symmetric=sym, accuracy_level=acc)
        record(fname, m, "onnxruntime.quantization.matmul_nbits_quantizer.MatMulNBitsQuantizer",
               {"bits": bits, "block_size": block, "is_symmetric": sym,
                "accuracy_level": acc, "quant_format": "QOperator"}, label)
    m16 = q_nbits(mlp(TensorProto.FLOAT16), bits=4, block_size=32, is_symmetric=False)
    record("mlp_fp16_nbits4_b32_asym.onnx", m16,
           "onnxruntime.quantization.matmul_nbits_quantizer.MatMulNBitsQuantizer on an fp16 "
           "model", {"bits": 4, "block_size": 32, "is_symmetric": False},
           "onnx/matmulnbits-int4-b32-asym")
    # hand-modified MatMulNBits variants
    base = q_nbits(mlp(), bits=4, block_size=32, is_symmetric=False)
    record("mlp_nbits4_b32_asym_1d.onnx", nbits_1d(base),
           "MatMulNBitsQuantizer, then scales/zero points reshaped to the old 1-D layout",
           {"bits": 4, "block_size": 32, "is_symmetric": False},
           "onnx/matmulnbits-int4-b32-asym")
    base = q_nbits(mlp(), bits=4, block_size=32, is_symmetric=True)
    record("mlp_nbits4_b32_floatzp.onnx", nbits_float_zp(base),
           "MatMulNBitsQuantizer, then float zero points (type of A) added by hand",
           {"bits": 4, "block_size": 32}, "onnx/matmulnbits-int4-b32-asym")
    base = q_nbits(mlp(), bits=4, block_size=16, is_symmetric=False)
    record("mlp_nbits4_b16_gidx_asym.onnx", nbits_g_idx(base),
           "MatMulNBitsQuantizer, then an act-order g_idx added by hand",
           {"bits": 4, "block_size": 16, "is_symmetric": False},
           "onnx/matmulnbits-int4-b16-asym")
    base = q_nbits(mlp(), bits=4, block_size=32, is_symmetric=True)
    record("mlp_nbits4_b32_gidx_sym.onnx", nbits_g_idx(base),
           "MatMulNBitsQuantizer, then an act-order g_idx added by hand",
           {"bits": 4, "block_size": 32, "is_symmetric": True},
           "onnx/matmulnbits-int4-b32-sym")
    record("mlp_nbits3_b32_asym.onnx", nbits_hand(3, 32, True),
           "onnx.helper (3-bit MatMulNBits, bit-stream packing; no quantizer writes it)",
           {"bits": 3, "block_size": 32}, "onnx/matmulnbits-int3-b32-asym", runs=False)
    record("mlp_nbits2_b16_sym_hand.onnx", nbits_hand(2, 16, False),
           "onnx.helper (2-bit MatMulNBits without zero points, negative scales)",
           {"bits": 2, "block_size": 16}, "onnx/matmulnbits-int2-b16-sym")
    # --- MatMulNBitsQuantizer, QDQ (blocked DequantizeLinear, opset 21) ---
    for fname, block, sym, label in (
        ("mlp_qdq_blocked_int4_b32_sym.onnx", 32, True, "onnx/qdq-int4-blocked-b32-sym"),
        ("mlp_qdq_blocked_uint4_b16_asym.onnx", 16, False, "onnx/qdq-uint4-blocked-b16-asym"),
    ):
        m = q_nbits(mlp(), bits=4, block_size=block, is_symmetric=sym,
                    quant_format=QuantFormat.QDQ)
        record(fname, m, "onnxruntime.quantization.matmul_nbits_quantizer.MatMulNBitsQuantizer",
               {"bits": 4, "block_size": block, "is_symmetric": sym, "quant_format": "QDQ"},
               label)
    # --- GatherBlockQuantized (with MatMulNBits for the projection) ---
    for fname, block, sym, label in (
        ("embed_gbq_int4_b32_sym.onnx", 32, True, "onnx/matmulnbits-int4-b32-sym"),
        ("embed_gbq_uint4_b16_asym.onnx", 16, False, "onnx/matmulnbits-int4-b16-asym"),
    ):
        m = q_nbits(embed(), bits=4, block_size=block, is_symmetric=sym,
                    op_types_to_quantize=("MatMul", "Gather"), quant_axes=(("Gather", 1),))
        record(fname, m, "onnxruntime.quantization.matmul_nbits_quantizer.MatMulNBitsQuantizer",
               {"bits": 4, "block_size": block, "is_symmetric": sym,
                "op_types_to_quantize": ["MatMul", "Gather"]}, label)
    for bits in (4, 2):
        record(f"embed_gbq_uint8_bits{bits}.onnx", gbq_uint8(bits),
               "onnx.helper (uint8 GatherBlockQuantized, packed codes and zero points)",
               {"bits": bits, "block_size": 16},
               f"onnx/gatherblockquantized-uint{bits}-b16-asym")
    # --- hand-built DequantizeLinear variants ---
    record("dq_negative_scales.onnx", dq_hand("negative_scales"), "onnx.helper",
           {"note": "negative per-tensor and mixed-sign per-axis scales"},
           "onnx/qdq-int8-per-tensor")
    record("dq_blocked_int8_b16_fp16scale.onnx", dq_hand("blocked_int8_fp16"), "onnx.helper",
           {"note": "blocked INT8, FLOAT16 scales (fp16 DequantizeLinear output)"},
           "onnx/qdq-int8-blocked-b16-sym")
    record("dq_float8e5m2.onnx", dq_hand("float8_e5m2"), "onnx.helper",
           {"note": "FLOAT8E5M2 per-tensor"}, "onnx/qdq-float8e5m2-per-tensor")
    try:
        record("dq_int2_peraxis.onnx", dq_hand("int2"), "onnx.helper",
               {"note": "INT2 per-axis (opset 25)"}, "onnx/qdq-int2-per-channel")
    except Exception as exc:
        print(f"dq_int2_peraxis.onnx skipped: {exc}", file=sys.stderr)
        (GENERATED / "dq_int2_peraxis.onnx").unlink(missing_ok=True)
    # --- external data, in a sub-folder ---
    m = q_nbits(mlp(), bits=4, block_size=32, is_symmetric=False)
    (GENERATED / "weights").mkdir()
    onnx.save(m, GENERATED / "mlp_nbits4_b32_extdata.onnx", save_as_external_data=True,
              all_tensors_to_one_file=True, location="weights/mlp_nbits4.bin",
              size_threshold=0)
    record("mlp_nbits4_b32_extdata.onnx", None,
           "MatMulNBitsQuantizer + onnx.save(save_as_external_data=True, location in a "
           "sub-folder)", {"bits": 4, "block_size": 32, "is_symmetric": False},
           "onnx/matmulnbits-int4-b32-asym", save=False, external=True,
           companion_files=["weights/mlp_nbits4.bin"])
    tmp.unlink(missing_ok=True)
    manifest = {
        "schema": "qformat-fixtures/onnx/1",
        "description": "ONNX files made by onnxruntime's quantizers (and by hand with onnx.helper"
                       " where no tool emits the variant); ground truth = onnxruntime's output "
                       "for the same initializers. Regenerate with tools/make_onnx_fixtures.py.",
        "environment": {"onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__,
                        "numpy": np.__version__},
        "conventions": {
            "sha256": "sha256 of float32 little-endian bytes of the dequantized tensor with "
                      "-0.0 mapped to +0.0; when ort_dtype is float16 the reader's float32 "
                      "values are compared after rounding to float16",
        },
        "files": entries,
    }
    (GENERATED / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


def copy_corpus() -> None:
    """Copy the shared corpus files and their manifest (ground truth) next to the fixtures."""
    dst = FOREIGN / "corpus"
    dst.mkdir(parents=True, exist_ok=True)
    for p in sorted(CORPUS.iterdir()):
        shutil.copyfile(p, dst / p.name)


# ---------------------------------------------------------------------------------------------
# hostile files
# ---------------------------------------------------------------------------------------------
def _tiny_model(inits: list[onnx.TensorProto], nodes: list[onnx.NodeProto] | None = None,
                opset: int = 21, ms: bool = False) -> onnx.ModelProto:
    nodes = nodes or []
    outs = [helper.make_tensor_value_info(n.output[0], TensorProto.FLOAT, None) for n in nodes]
    if not outs:
        outs = [helper.make_tensor_value_info(inits[0].name, TensorProto.FLOAT, None)]
    g = helper.make_graph(nodes, "hostile", [], outs, inits)
    ops = [helper.make_opsetid("", opset)] + ([helper.make_opsetid(MS, 1)] if ms else [])
    m = helper.make_model(g, opset_imports=ops, producer_name="qformat-hostile")
    m.ir_version = 10
    return m


def _ext_tensor(name: str, location: str, offset: int | str = 0,
                length: int | str | None = 64) -> onnx.TensorProto:
    t = onnx.TensorProto()
    t.name = name
    t.data_type = TensorProto.FLOAT
    t.dims.extend([16])
    t.data_location = TensorProto.EXTERNAL
    kv = [("location", location), ("offset", str(offset))]
    if length is not None:
        kv.append(("length", str(length)))
    for k, v in kv:
        e = t.external_data.add()
        e.key, e.value = k, v
    return t


def _varint(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def _save(model: onnx.ModelProto, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())


def make_hostile() -> dict[str, str]:
    """Write every hostile case; returns {relative path: what it attacks}."""
    if HOSTILE.exists():
        shutil.rmtree(HOSTILE)
    HOSTILE.mkdir(parents=True)
    cases: dict[str, str] = {}
    good = mlp(k0=16, k1=8, n=4)
    blob = good.SerializeToString()

    def put(rel: str, data: bytes | onnx.ModelProto, what: str) -> None:
        p = HOSTILE / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data if isinstance(data, bytes) else data.SerializeToString())
        cases[rel] = what

    # malformed protobuf / truncation
    put("truncated.onnx", blob[: len(blob) * 2 // 3], "file cut inside the graph field")
    bad = bytearray(blob)
    graph_at = bad.index(b"\x3a")  # field 7 (graph), wire type 2
    bad[graph_at + 1:graph_at + 6] = b"\xff\xff\xff\xff\x0f"  # length varint far past the end
    put("malformed_length.onnx", bytes(bad), "graph length varint past the end of the file")
    put("malformed_wiretype.onnx", b"\x08\x08" + b"\x3f" + bytes(range(40)),
        "protobuf field with an invalid wire type after a valid ir_version")
    put("no_graph.onnx", onnx.ModelProto(ir_version=8, producer_name="x").SerializeToString(),
        "a valid ModelProto with no graph")
    # external data escaping the folder
    for rel, loc, what in (
        ("extdata_absolute/model.onnx", "/etc/passwd", "absolute location"),
        ("extdata_dotdot/model.onnx", "../outside.bin", "'..' location"),
        ("extdata_nested_dotdot/model.onnx", "sub/../../outside.bin",
         "nested 'a/../../' location (CVE-2024-27318)"),
        ("extdata_backslash/model.onnx", "..\\outside.bin", "Windows-style '..\\' location"),
        ("extdata_drive/model.onnx", "C:\\Windows\\win.ini", "drive-letter location"),
    ):
        put(rel, _tiny_model([_ext_tensor("w", loc)]), what)
    (HOSTILE / "outside.bin").write_bytes(b"\x00" * 64)
    cases["outside.bin"] = "64 bytes outside every model folder (target of the '..' cases)"
    d = HOSTILE / "extdata_symlink"
    put("extdata_symlink/model.onnx", _tiny_model([_ext_tensor("w", "weights.bin")]),
        "location is a symlink to a file outside the folder")
    os.symlink("../outside.bin", d / "weights.bin")
    d = HOSTILE / "extdata_symlink_inside"
    put("extdata_symlink_inside/model.onnx", _tiny_model([_ext_tensor("w", "link.bin")]),
        "location is a symlink to a file inside the folder (still refused)")
    (d / "real.bin").write_bytes(b"\x00" * 64)
    os.symlink("real.bin", d / "link.bin")
    d = HOSTILE / "extdata_symlink_dir"
    put("extdata_symlink_dir/model.onnx", _tiny_model([_ext_tensor("w", "sub/w.bin")]),
        "a directory symlink (to a sibling folder) makes the location resolve outside")
    os.symlink("../extdata_past_end", d / "sub")  # not "..": no cycle for tree walkers
    d = HOSTILE / "extdata_past_end"
    put("extdata_past_end/model.onnx", _tiny_model([_ext_tensor("w", "w.bin", offset=32)]),
        "offset + length past the end of the data file")
    (d / "w.bin").write_bytes(b"\x00" * 64)
    d = HOSTILE / "extdata_huge_offset"
    put("extdata_huge_offset/model.onnx",
        _tiny_model([_ext_tensor("w", "w.bin", offset=2 ** 63 - 1)]), "offset near 2**63")
    (d / "w.bin").write_bytes(b"\x00" * 64)
    d = HOSTILE / "extdata_negative_length"
    put("extdata_negative_length/model.onnx",
        _tiny_model([_ext_tensor("w", "w.bin", length="-1")]), "negative length")
    (d / "w.bin").write_bytes(b"\x00" * 64)
    d = HOSTILE / "extdata_length_mismatch"
    put("extdata_length_mismatch/model.onnx",
        _tiny_model([_ext_tensor("w", "w.bin", length=1 << 40)]),
        "length disagrees with the tensor's dims (a petabyte read)")
    (d / "w.bin").write_bytes(b"\x00" * 64)
    d = HOSTILE / "extdata_missing"
    put("extdata_missing/model.onnx", _tiny_model([_ext_tensor("w", "nope.bin")]),
        "external data file does not exist")
    d = HOSTILE / "extdata_fifo"
    put("extdata_fifo/model.onnx", _tiny_model([_ext_tensor("w", "pipe")]),
        "location is a FIFO (opening it must not hang)")
    # quantization parameters inconsistent with the data
    q = numpy_helper.from_array(np.zeros((8, 4), np.int8), "w_quantized")
    s_wrong = numpy_helper.from_array(np.ones(5, np.float32), "w_scale")
    z_ok = numpy_helper.from_array(np.zeros(4, np.int8), "w_zero_point")
    put("scale_wrong_length.onnx", _tiny_model(
        [q, s_wrong, z_ok], [helper.make_node("DequantizeLinear", ["w_quantized", "w_scale",
                                                                   "w_zero_point"], ["w"],
                                              axis=1)]),
        "per-axis scale of length 5 for an axis of 4")
    s4 = numpy_helper.from_array(np.ones(4, np.float32), "w_scale")
    z_u8 = numpy_helper.from_array(np.zeros(4, np.uint8), "w_zero_point")
    put("zero_point_dtype_mismatch.onnx", _tiny_model(
        [q, s4, z_u8], [helper.make_node("DequantizeLinear", ["w_quantized", "w_scale",
                                                              "w_zero_point"], ["w"], axis=1)]),
        "INT8 data with a UINT8 zero point")
    s_blk = numpy_helper.from_array(np.ones((3, 4), np.float32), "w_scale")
    put("blocked_scale_wrong_shape.onnx", _tiny_model(
        [q, s_blk], [helper.make_node("DequantizeLinear", ["w_quantized", "w_scale"], ["w"],
                                      axis=0, block_size=4)]),
        "blocked scale [3,4] where ceil(8/4)=2 blocks are needed")
    put("axis_out_of_range.onnx", _tiny_model(
        [q, s4], [helper.make_node("DequantizeLinear", ["w_quantized", "w_scale"], ["w"],
                                   axis=7)]), "quantization axis 7 on a 2-D tensor")
    # element types, dims, sizes
    t = numpy_helper.from_array(np.zeros(4, np.float32), "w")
    t.data_type = 99
    put("unknown_dtype.onnx", _tiny_model([t]), "data_type 99")
    t = numpy_helper.from_array(np.zeros(4, np.float32), "w")
    t.data_type = 0
    put("undefined_dtype.onnx", _tiny_model([t]), "data_type 0 (UNDEFINED)")
    t = numpy_helper.from_array(np.zeros(4, np.float32), "w")
    del t.dims[:]
    t.dims.extend([1 << 40, 1 << 40])
    put("huge_dims.onnx", _tiny_model([t]), "dims 2**40 x 2**40 with 16 bytes of data")
    t = numpy_helper.from_array(np.zeros(4, np.float32), "w")
    del t.dims[:]
    t.dims.extend([8])
    put("raw_data_short.onnx", _tiny_model([t]), "raw_data holds 4 of 8 declared floats")
    t = numpy_helper.from_array(np.zeros(4, np.float32), "w")
    del t.dims[:]
    t.dims.extend([-4])
    put("negative_dim.onnx", _tiny_model([t]), "negative dimension")
    t = helper.make_tensor("w", TensorProto.FLOAT, [1] * 20, [0.0])
    put("too_many_dims.onnx", _tiny_model([t]), "20 dimensions")
    t = onnx.TensorProto(name="w", data_type=TensorProto.INT8, dims=[4],
                         int32_data=[1, 2, 3, 400])
    put("int32_data_out_of_range.onnx", _tiny_model([t]), "INT8 value 400 in int32_data")
    a = numpy_helper.from_array(np.zeros(4, np.float32), "w")
    b = numpy_helper.from_array(np.ones(4, np.float32), "w")
    put("duplicate_initializer.onnx", _tiny_model([a, b]), "two initializers named 'w'")
    # MatMulNBits with inconsistent attributes
    bq = numpy_helper.from_array(np.zeros((4, 2, 16), np.uint8), "w_Q4")
    bs = numpy_helper.from_array(np.ones((4, 2), np.float32), "w_scales")
    put("nbits_shape_mismatch.onnx", _tiny_model(
        [bq, bs], [helper.make_node("MatMulNBits", ["x", "w_Q4", "w_scales"], ["y"], domain=MS,
                                    K=64, N=4, bits=4, block_size=16)], ms=True),
        "B [4,2,16] where K=64, block 16 needs [4,4,8]")
    put("nbits_bad_bits.onnx", _tiny_model(
        [bq, bs], [helper.make_node("MatMulNBits", ["x", "w_Q4", "w_scales"], ["y"], domain=MS,
                                    K=64, N=4, bits=12, block_size=32)], ms=True),
        "bits=12")
    bsc = numpy_helper.from_array(np.ones((4, 3), np.float32), "w_scales")
    put("nbits_scales_wrong.onnx", _tiny_model(
        [bq, bsc], [helper.make_node("MatMulNBits", ["x", "w_Q4", "w_scales"], ["y"], domain=MS,
                                     K=64, N=4, bits=4, block_size=32)], ms=True),
        "scales [4,3] where 2 blocks exist")
    # attributes of the wrong type or with sizes no data backs
    dq = helper.make_node("DequantizeLinear", ["w_quantized", "w_scale"], ["w"])
    dq.attribute.append(helper.make_attribute("axis", 1.5))
    put("attr_wrong_type.onnx", _tiny_model([q, s4], [dq]), "DequantizeLinear axis=1.5 (FLOAT)")
    empty = numpy_helper.from_array(np.zeros((0, 2, 16), np.uint8), "w_Q4")
    no_scales = numpy_helper.from_array(np.zeros(0, np.float32), "w_scales")
    put("nbits_omitted_huge.onnx", _tiny_model(
        [empty, no_scales],
        [helper.make_node("MatMulNBits", ["x", "w_Q4", "w_scales"], ["y"], domain=MS,
                          K=1 << 20, N=1 << 20, bits=4, block_size=32)], ms=True),
        "empty B with K = N = 2**20: listed, but a K x N zero weight (4 TiB) is never made")
    put("nbits_huge_attrs.onnx", _tiny_model(
        [empty, no_scales],
        [helper.make_node("MatMulNBits", ["x", "w_Q4", "w_scales"], ["y"], domain=MS,
                          K=1 << 40, N=1 << 40, bits=4, block_size=32)], ms=True),
        "K = N = 2**40: K x N beyond the element cap")
    sp = helper.make_sparse_tensor(numpy_helper.from_array(np.ones(1, np.float32), "sp"),
                                   numpy_helper.from_array(np.zeros(1, np.int64), "sp_i"),
                                   [1 << 20, 1 << 20])
    g = helper.make_graph([], "g", [], [helper.make_tensor_value_info("sp", 1, None)],
                          sparse_initializer=[sp])
    put("sparse_huge.onnx", helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]),
        "sparse initializer of 2**40 dense elements with one value")
    w1 = numpy_helper.from_array(np.zeros(4, np.int8), "w1")
    put("qgemm_scale_rank.onnx", _tiny_model(
        [w1, numpy_helper.from_array(np.ones(4, np.float32), "ws"),
         numpy_helper.from_array(np.zeros(4, np.int8), "wz")],
        [helper.make_node("QGemm", ["a", "as", "az", "w1", "ws", "wz"], ["y"], domain=MS,
                          transB=0)], ms=True),
        "QGemm with a 1-D weight and a per-column scale (axis 1 does not exist)")
    named = bytearray(_tiny_model([numpy_helper.from_array(np.zeros(4, np.float32),
                                                           "wZZ")]).SerializeToString())
    while b"wZZ" in named:  # the initializer and the graph output name
        i = named.index(b"wZZ")
        named[i + 1:i + 3] = b"\xff\xfe"
    put("invalid_utf8_name.onnx", bytes(named), "tensor name that is not valid UTF-8")
    # deeply nested subgraphs, serialized by hand (the protobuf library refuses to build them)
    def ld(field_no: int, payload: bytes) -> bytes:  # length-delimited field
        return _varint(field_no << 3 | 2) + _varint(len(payload)) + payload

    graph = ld(2, b"leaf")  # GraphProto.name
    for _ in range(60):
        attr = ld(1, b"then_branch") + _varint(20 << 3) + _varint(5) + ld(6, graph)
        node = ld(4, b"If") + ld(5, attr)  # NodeProto.op_type, .attribute
        graph = ld(1, node)  # GraphProto.node
    model = _varint(1 << 3) + _varint(8) + ld(7, graph)  # ir_version 8, graph
    put("deep_subgraphs.onnx", model, "60 nested If bodies (protobuf depth)")
    put("not_onnx.onnx", b"\x00\x01\x02 this is not a model" * 4, "not a protobuf at all")
    (HOSTILE / "README.md").write_text(
        "# Hostile ONNX files\n\nGenerated by `tools/make_onnx_fixtures.py --hostile`; each must "
        "be refused by qformat with a specific QFormatError (tests/onnx/test_hostile.py).\n"
        "The FIFO case is created by the test itself (git cannot store a FIFO).\n\n" +
        "\n".join(f"- `{k}`: {v}" for k, v in sorted(cases.items())) + "\n")
    return cases


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--foreign", action="store_true", help="foreign fixtures (needs ORT)")
    ap.add_argument("--hostile", action="store_true", help="hostile fixtures")
    args = ap.parse_args()
    if not (args.foreign or args.hostile):
        args.foreign = args.hostile = True
    if args.hostile:
        make_hostile()
    if args.foreign:
        copy_corpus()
        make_foreign()


if __name__ == "__main__":
    main()
