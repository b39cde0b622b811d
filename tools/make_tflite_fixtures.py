"""Generate the TFLite fixtures with the real tools (and, where no tool emits a variant, with
LiteRT's own generated schema classes).

Run with the fixture venv (never a runtime dependency of qformat)::

    /work/venv-tflite/bin/python tools/make_tflite_fixtures.py [foreign] [synthetic] [hostile]

* ``foreign`` -> ``fixtures/foreign/tflite/*.tflite`` + ``generated.json``: made by the TF
  converter and ai-edge-quantizer (below);
* ``synthetic`` -> ``fixtures/foreign/tflite/synthetic/`` + ``synthetic.json``: variants no
  tool on this machine writes (UINT4, FLOAT8, BFLOAT16 constants, blockwise with a zero-point
  tensor or ``block_shape``, multi-axis, sparse, external-buffer and string constants, several
  subgraphs, legacy uint8). Built with ``ai_edge_litert.schema_py_generated`` (the flatc output
  of LiteRT's schema.fbs) and packed with ai-edge-quantizer's ``pack_data``; expected values
  are computed here from the chosen codes (ml_dtypes for float8/bfloat16);
* ``hostile`` -> ``fixtures/hostile/tflite/`` + ``hostile.json``: one malformed file per attack,
  with the QFormatError subclass a reader must raise.

That venv holds tensorflow-cpu 2.21, ai-edge-quantizer 0.10 and ai-edge-litert 2.3
(``pip install tensorflow-cpu ai-edge-quantizer ai-edge-litert``).

Each model is tiny (a 64 -> 64 -> 32 MLP; weights have at least 1024 elements so that the
converter's dynamic-range mode quantizes them). For every constant tensor whose values a
reference can be computed for, the sha256 of the float32 reference (little-endian, stored
TFLite shape) is recorded in ``generated.json`` with the reference's source:

* ``litert-dequantize``: the LiteRT interpreter (no delegate) runs a one-op model
  ``DEQUANTIZE(tensor)`` built from the tensor's own type, quantization and bytes;
* ``aeq-params``: ai-edge-quantizer's own ``uniform_dequantize`` applied to the integer codes
  and scales its parameter generator produced (the kernel ignores blockwise parameters, so the
  interpreter cannot be the reference there);
* ``float``: plain float tensors, read by the interpreter's ``get_tensor``.

The same run records, per file, the facts the tests check (label, types, quantized dimension,
block size, buffer locations) in ``generated.json``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "fixtures" / "foreign" / "tflite"

SEED = 20240607


# --------------------------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------------------------
def keras_mlp():
    import keras

    keras.utils.set_random_seed(SEED)
    inp = keras.Input((64,), batch_size=1, name="x")
    # random biases: the converter drops all-zero biases
    bias = keras.initializers.RandomNormal(stddev=0.1, seed=SEED)
    h = keras.layers.Dense(64, activation="relu", name="fc1", bias_initializer=bias)(inp)
    out = keras.layers.Dense(32, name="fc2", bias_initializer=bias)(h)
    return keras.Model(inp, out, name="tiny_mlp")


def representative_data():
    rng = np.random.default_rng(SEED)
    for _ in range(16):
        yield [rng.normal(size=(1, 64)).astype(np.float32)]


def convert(model, **settings):
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    for key, value in settings.items():
        if key == "representative_dataset":
            conv.representative_dataset = representative_data
        elif key == "supported_ops":
            conv.target_spec.supported_ops = value
        elif key == "supported_types":
            conv.target_spec.supported_types = value
        else:
            setattr(conv, key, value)
    return conv.convert()


def qat_int4_model():
    """A tf.Module with 4-bit per-tensor fake-quant weights (the converter's low-bit QAT path)."""
    import tensorflow as tf

    rng = np.random.default_rng(SEED + 1)
    w1 = (rng.normal(size=(64, 64)) * 0.15).astype(np.float32)
    w2 = (rng.normal(size=(64, 32)) * 0.15).astype(np.float32)
    b1 = (rng.normal(size=(64,)) * 0.05).astype(np.float32)
    b2 = (rng.normal(size=(32,)) * 0.05).astype(np.float32)

    class QatMlp(tf.Module):
        def __init__(self):
            super().__init__()
            self.w1, self.w2 = tf.constant(w1), tf.constant(w2)
            self.b1, self.b2 = tf.constant(b1), tf.constant(b2)

        @tf.function(input_signature=[tf.TensorSpec([1, 64], tf.float32, name="x")])
        def __call__(self, x):
            fq = tf.quantization.fake_quant_with_min_max_args
            x = fq(x, min=-4.0, max=4.0, num_bits=8)
            w = fq(self.w1, min=-0.6, max=0.6, num_bits=4, narrow_range=True)
            h = tf.nn.relu(tf.matmul(x, w) + self.b1)
            h = fq(h, min=0.0, max=6.0, num_bits=8)
            w = fq(self.w2, min=-0.6, max=0.6, num_bits=4, narrow_range=True)
            y = tf.matmul(h, w) + self.b2
            return fq(y, min=-8.0, max=8.0, num_bits=8)

    module = QatMlp()
    conv = tf.lite.TFLiteConverter.from_concrete_functions(
        [module.__call__.get_concrete_function()], module)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv._experimental_low_bit_qat = True
    return conv.convert()


# --------------------------------------------------------------------------------------------
# ai-edge-quantizer
# --------------------------------------------------------------------------------------------
def aeq_quantize(float_bytes: bytes, recipe_name: str, calibrate: bool = False):
    """Quantize with ai-edge-quantizer; return (bytes, {tensor name: UniformQuantParams})."""
    from ai_edge_quantizer import quantizer, recipe

    recipe_obj = getattr(recipe, recipe_name)()
    qt = quantizer.Quantizer(bytearray(float_bytes))
    qt.load_quantization_recipe(recipe_obj)
    calib = None
    if calibrate:
        calib = qt.calibrate({"serving_default": [{"x": d[0]} for d in representative_data()]})
    params = qt._get_quantization_params(calib, False)
    result = qt.quantize(calib, enable_progress_report=False)
    codes = {}
    for name, tparams in params.items():
        for cons in tparams.consumers or []:
            qp = cons.parameters
            if qp is not None and getattr(qp, "quantized_data", None) is not None:
                codes[name] = qp
                break
    return bytes(result.quantized_model), codes


# --------------------------------------------------------------------------------------------
# references
# --------------------------------------------------------------------------------------------
def schema():
    from ai_edge_litert import schema_py_generated as s

    return s


def read_obj(data: bytes):
    s = schema()
    return s.ModelT.InitFromObj(s.Model.GetRootAs(bytearray(data), 0))


def buffer_bytes(data: bytes, buf) -> bytes:
    if buf.offset and buf.offset > 1:
        return data[buf.offset: buf.offset + buf.size]
    return b"" if buf.data is None else bytes(np.asarray(buf.data, dtype=np.uint8))


def pack(model_obj) -> bytes:
    import flatbuffers

    b = flatbuffers.Builder(1024)
    b.Finish(model_obj.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def litert_dequantize(tensor, raw: bytes) -> np.ndarray:
    """Run DEQUANTIZE on a copy of ``tensor`` (type, shape, quantization, bytes) in LiteRT."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    s = schema()
    m = s.ModelT()
    m.version = 3
    code = s.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = s.BuiltinOperator.DEQUANTIZE
    code.version = 1
    m.operatorCodes = [code]
    src = copy.deepcopy(tensor)
    src.buffer = 1
    out = s.TensorT()
    out.shape = list(tensor.shape)
    out.type = s.TensorType.FLOAT32
    out.name = b"out"
    out.buffer = 0
    op = s.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0], [1]
    sg = s.SubGraphT()
    sg.tensors, sg.inputs, sg.outputs, sg.operators = [src, out], [], [1], [op]
    m.subgraphs = [sg]
    empty, data = s.BufferT(), s.BufferT()
    data.data = list(raw)
    m.buffers = [empty, data]
    last = None
    for version in (1, 2, 3, 4, 5, 6):
        code.version = version
        try:
            it = Interpreter(model_content=pack(m),
                             experimental_op_resolver_type=OpResolverType
                             .BUILTIN_WITHOUT_DEFAULT_DELEGATES)
            it.allocate_tensors()
            it.invoke()
            return np.array(it.get_tensor(1), dtype=np.float32)
        except (RuntimeError, ValueError) as exc:
            last = exc
    raise RuntimeError(f"LiteRT cannot DEQUANTIZE: {last}")


def aeq_reference(qp, stored_scales: np.ndarray | None) -> np.ndarray:
    """ai-edge-quantizer's own dequantization of its codes (scales as stored in the file)."""
    import dataclasses

    from ai_edge_quantizer.algorithms.uniform_quantize import uniform_quantize_tensor as uqt

    if stored_scales is not None:
        qp = dataclasses.replace(qp, scale=stored_scales.astype(np.float32))
    deq = uqt.uniform_dequantize(np.asarray(qp.quantized_data), qp)
    return np.asarray(deq, dtype=np.float32)


TYPE_NAMES = None


def type_name(code: int) -> str:
    global TYPE_NAMES
    if TYPE_NAMES is None:
        s = schema()
        TYPE_NAMES = {v: k for k, v in vars(s.TensorType).items() if not k.startswith("_")}
    return TYPE_NAMES.get(code, str(code))


def describe(stem: str, data: bytes, tool: str, settings: dict, label: str,
             codes: dict | None = None, extra_expect: dict | None = None) -> dict:
    """Facts and references for every constant tensor of one file."""
    s = schema()
    obj = read_obj(data)
    tensors = []
    op_names = {v: k for k, v in vars(s.BuiltinOperator).items() if not k.startswith("_")}
    sg = obj.subgraphs[0]
    consumers: dict[int, list[str]] = {}
    for op in sg.operators or []:
        oc = obj.operatorCodes[op.opcodeIndex]
        name = op_names.get(max(oc.builtinCode, oc.deprecatedBuiltinCode), "?")
        for slot, t in enumerate(op.inputs):
            if t >= 0:
                consumers.setdefault(int(t), []).append(f"{name}:{slot}")
    blockwise_scale_tensors = set()
    for t in sg.tensors:
        q = t.quantization
        if q is not None and q.detailsType == s.QuantizationDetails.BlockwiseQuantization:
            blockwise_scale_tensors.add(q.details.scales)
    for idx, t in enumerate(sg.tensors):
        buf = obj.buffers[t.buffer]
        raw = buffer_bytes(data, buf)
        if not raw:
            continue
        name = t.name.decode()
        q = t.quantization
        entry = {
            "index": idx,
            "name": name,
            "type": type_name(t.type),
            "shape": [int(d) for d in t.shape],
            "buffer_index": int(t.buffer),
            "buffer_location": "offset" if (buf.offset or 0) > 1 else "inline",
            "stored_bytes": len(raw),
            "consumers": consumers.get(idx, []),
            "scale_count": 0 if q is None or q.scale is None else len(q.scale),
            "zero_point_count": 0 if q is None or q.zeroPoint is None else len(q.zeroPoint),
            "quantized_dimension": 0 if q is None else int(q.quantizedDimension),
            "details": "NONE",
            "reference": None,
        }
        if q is not None and q.detailsType == s.QuantizationDetails.BlockwiseQuantization:
            entry["details"] = "BlockwiseQuantization"
            entry["block_size"] = int(q.details.blockSize)
            entry["blockwise_scales_tensor"] = int(q.details.scales)
            entry["blockwise_zero_points_tensor"] = int(q.details.zeroPoints)
        if idx in blockwise_scale_tensors:
            entry["role"] = "blockwise-scales"
        ref = None
        if entry["details"] == "BlockwiseQuantization":
            if name in (codes or {}):
                st = sg.tensors[q.details.scales]
                sraw = buffer_bytes(data, obj.buffers[st.buffer])
                scales = np.frombuffer(sraw, dtype="<f2").reshape(list(st.shape))
                ref = aeq_reference(codes[name], scales)
                entry["reference"] = "aeq-params"
        elif entry["scale_count"] and t.type != s.TensorType.INT32 and t.type != s.TensorType.INT64:
            ref = litert_dequantize(t, raw)
            entry["reference"] = "litert-dequantize"
            if name in (codes or {}):
                # cross-check the producer's own dequantization where it exists
                alt = aeq_reference(codes[name], None)
                entry["aeq_params_max_abs_diff"] = float(np.max(np.abs(alt - ref)))
        elif t.type == s.TensorType.FLOAT16:
            ref = litert_dequantize(t, raw)
            entry["reference"] = "litert-dequantize"
        elif t.type == s.TensorType.FLOAT32:
            ref = np.frombuffer(raw, dtype="<f4").reshape(entry["shape"]).copy()
            entry["reference"] = "float"
        if ref is not None:
            ref = np.ascontiguousarray(ref, dtype="<f4")
            entry["reference_sha256"] = hashlib.sha256(ref.tobytes()).hexdigest()
            entry["reference_stats"] = {"sum": float(ref.sum(dtype=np.float64)),
                                        "absmax": float(np.abs(ref).max(initial=0.0)),
                                        "first4": [float(v) for v in ref.ravel()[:4]]}
        tensors.append(entry)
    sig_in = [type_name(sg.tensors[i].type) for i in sg.inputs]
    sig_out = [type_name(sg.tensors[i].type) for i in sg.outputs]
    activations = [sg.tensors[i] for i in range(len(sg.tensors))
                   if not buffer_bytes(data, obj.buffers[sg.tensors[i].buffer])]
    act_types = sorted({type_name(t.type) for t in activations})
    quant_act_types = sorted({type_name(t.type) for t in activations
                              if t.quantization is not None and t.quantization.scale is not None
                              and len(t.quantization.scale)})
    return {
        "file": f"{stem}.tflite",
        "sha256": hashlib.sha256(data).hexdigest(),
        "size_bytes": len(data),
        "tool": tool,
        "tool_settings": settings,
        "label": label,
        "input_types": sig_in,
        "output_types": sig_out,
        "metadata_names": [m.name.decode() for m in obj.metadata or []],
        "activation_types": act_types,
        "quantized_activation_types": quant_act_types,
        "tensors": tensors,
        **(extra_expect or {}),
    }


def offset_fields(data: bytes) -> list[dict]:
    """Where each out-of-flatbuffer Buffer.offset field sits (so tests can relocate the data)."""
    s = schema()
    m = s.Model.GetRootAs(bytearray(data), 0)
    out = []
    for i in range(m.BuffersLength()):
        b = m.Buffers(i)
        if b.Offset() > 1:
            out.append({"buffer": i, "offset_field_pos": b._tab.Pos + b._tab.Offset(6),
                        "offset": b.Offset(), "size": b.Size()})
    return out


# --------------------------------------------------------------------------------------------
def make_foreign() -> None:
    import ai_edge_litert
    import ai_edge_quantizer
    import tensorflow as tf

    OUT.mkdir(parents=True, exist_ok=True)
    tfv = f"tensorflow {tf.__version__}"
    aeqv = (f"ai-edge-quantizer {getattr(ai_edge_quantizer, '__version__', '0.10.0')} "
            f"(ai-edge-litert {getattr(ai_edge_litert, '__version__', '2.3.0')})")
    entries = []

    def save(stem: str, data: bytes, tool: str, settings: dict, label: str, **kw) -> None:
        (OUT / f"{stem}.tflite").write_bytes(data)
        entries.append(describe(stem, data, tool, settings, label, **kw))
        print(f"  {stem}.tflite {len(data)} bytes", file=sys.stderr)

    model = keras_mlp()
    conv_tool = f"{tfv} tf.lite.TFLiteConverter.from_keras_model"
    Opt = tf.lite.Optimize
    Ops = tf.lite.OpsSet

    fp32 = convert(model)
    save("mlp_fp32", fp32, conv_tool, {}, "fp32")
    save("mlp_dynamic_int8", convert(model, optimizations=[Opt.DEFAULT]), conv_tool,
         {"optimizations": ["DEFAULT"]}, "tflite/dynamic-range-int8")
    save("mlp_dynamic_int8_per_tensor",
         convert(model, optimizations=[Opt.DEFAULT], _experimental_disable_per_channel=True),
         conv_tool, {"optimizations": ["DEFAULT"], "_experimental_disable_per_channel": True},
         "tflite/dynamic-range-int8")
    with_offsets = convert(model, optimizations=[Opt.DEFAULT],
                           _experimental_use_buffer_offset=True)
    save("mlp_dynamic_int8_buffer_offset", with_offsets,
         conv_tool, {"optimizations": ["DEFAULT"], "_experimental_use_buffer_offset": True},
         "tflite/dynamic-range-int8")
    entries[-1]["offset_fields"] = offset_fields(with_offsets)
    save("mlp_fp16", convert(model, optimizations=[Opt.DEFAULT], supported_types=[tf.float16]),
         conv_tool, {"optimizations": ["DEFAULT"], "supported_types": ["float16"]},
         "tflite/fp16")
    save("mlp_full_int8_uint8_io",
         convert(model, optimizations=[Opt.DEFAULT], representative_dataset=True,
                 supported_ops=[Ops.TFLITE_BUILTINS_INT8],
                 inference_input_type=tf.uint8, inference_output_type=tf.uint8),
         conv_tool, {"optimizations": ["DEFAULT"], "representative_dataset": "16 x N(0,1)",
                     "supported_ops": ["TFLITE_BUILTINS_INT8"],
                     "inference_input_type": "uint8", "inference_output_type": "uint8"},
         "tflite/full-int8")
    save("mlp_full_int8_float_io",
         convert(model, optimizations=[Opt.DEFAULT], representative_dataset=True),
         conv_tool, {"optimizations": ["DEFAULT"], "representative_dataset": "16 x N(0,1)"},
         "tflite/full-int8")
    int16x8 = "EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8"
    save("mlp_int16x8",
         convert(model, optimizations=[Opt.DEFAULT], representative_dataset=True,
                 supported_ops=[getattr(Ops, int16x8)]),
         conv_tool, {"optimizations": ["DEFAULT"], "representative_dataset": "16 x N(0,1)",
                     "supported_ops": [int16x8]},
         "tflite/int16x8")
    try:
        save("qat_int4_per_tensor", qat_int4_model(),
             f"{tfv} tf.lite.TFLiteConverter.from_concrete_functions",
             {"optimizations": ["DEFAULT"], "_experimental_low_bit_qat": True,
              "fake_quant": "4 bit narrow per-tensor weights, 8 bit activations"},
             "tflite/full-int8")
    except Exception as exc:  # the converter's low-bit path is experimental
        print(f"  qat_int4_per_tensor failed: {exc}", file=sys.stderr)

    aeq = [
        ("aeq_dynamic_wi8c", "dynamic_wi8c_afp32", "tflite/dynamic-range-int8", False),
        ("aeq_dynamic_wi4c", "dynamic_wi4c_afp32", "tflite/dynamic-range-int4", False),
        ("aeq_dynamic_wi2c", "dynamic_wi2c_afp32", "tflite/dynamic-range-int2", False),
        ("aeq_weight_only_wi8", "weight_only_wi8_afp32", "tflite/weight-only-int8", False),
        ("aeq_weight_only_wi4", "weight_only_wi4_afp32", "tflite/weight-only-int4", False),
        ("aeq_blockwise_wi4b32", "dynamic_wi4b32_afp32", "tflite/blockwise-int4", False),
        ("aeq_blockwise_wi2b32", "dynamic_wi2b32_afp32", "tflite/blockwise-int2", False),
        ("aeq_static_wi8_ai8", "static_wi8_ai8", "tflite/full-int8", True),
        ("aeq_static_wi8_ai16", "static_wi8_ai16", "tflite/int16x8", True),
    ]
    for stem, recipe_name, label, calibrate in aeq:
        try:
            data, codes = aeq_quantize(fp32, recipe_name, calibrate)
        except Exception as exc:
            print(f"  {stem} failed: {exc!r}", file=sys.stderr)
            continue
        save(stem, data, aeqv, {"recipe": f"ai_edge_quantizer.recipe.{recipe_name}()",
                                "source": "mlp_fp32.tflite"}, label, codes=codes)

    manifest = {
        "schema": "qformat-fixtures/tflite/1",
        "generator": "tools/make_tflite_fixtures.py",
        "environment": {"python": sys.version.split()[0], "tensorflow": tf.__version__,
                        "numpy": np.__version__, "ai-edge-quantizer": aeqv},
        "base_model": "Keras: Input(64, batch 1) -> Dense fc1 64 relu -> Dense fc2 32; "
                      "FULLY_CONNECTED weights stored [out, in]. qat_int4_per_tensor: "
                      "tf.Module with the same sizes and 4-bit fake-quant weights.",
        "references": "reference_sha256: sha256 of the float32 little-endian reference values "
                      "in the stored TFLite shape (source in 'reference')",
        "files": entries,
    }
    with tempfile.NamedTemporaryFile("w", dir=OUT, delete=False) as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    os.replace(f.name, OUT / "generated.json")



# --------------------------------------------------------------------------------------------
# synthetic variants (no tool on this machine writes them)
# --------------------------------------------------------------------------------------------
class Builder:
    """A tiny TFLite model built with LiteRT's generated object API."""

    def __init__(self, description: bytes = b"qformat synthetic fixture"):
        s = self.s = schema()
        self.m = s.ModelT()
        self.m.version = 3
        self.m.description = description
        self.m.operatorCodes, self.m.subgraphs, self.m.metadata = [], [], []
        self.m.buffers = [s.BufferT()]
        self.new_subgraph()

    def new_subgraph(self, name: bytes = b"main"):
        sg = self.s.SubGraphT()
        sg.tensors, sg.inputs, sg.outputs, sg.operators, sg.name = [], [], [], [], name
        self.m.subgraphs.append(sg)
        self.sg = sg
        return sg

    def buffer(self, raw: bytes) -> int:
        b = self.s.BufferT()
        b.data = list(raw)
        self.m.buffers.append(b)
        return len(self.m.buffers) - 1

    def tensor(self, name, shape, ttype, raw: bytes | None = None, quant=None) -> int:
        t = self.s.TensorT()
        t.name, t.shape, t.type = name.encode(), list(shape), ttype
        t.buffer = 0 if raw is None else self.buffer(raw)
        t.quantization = quant
        self.sg.tensors.append(t)
        return len(self.sg.tensors) - 1

    def quant(self, scale=None, zero_point=None, qdim=0, details=None, details_type=0):
        q = self.s.QuantizationParametersT()
        q.scale = None if scale is None else [float(v) for v in scale]
        q.zeroPoint = None if zero_point is None else [int(v) for v in zero_point]
        q.quantizedDimension = qdim
        q.detailsType, q.details = details_type, details
        return q

    def opcode(self, code: int, version: int = 1) -> int:
        for i, oc in enumerate(self.m.operatorCodes):
            if oc.builtinCode == code:
                return i
        oc = self.s.OperatorCodeT()
        oc.builtinCode, oc.version = code, version
        oc.deprecatedBuiltinCode = min(code, 127)
        self.m.operatorCodes.append(oc)
        return len(self.m.operatorCodes) - 1

    def op(self, code: int, inputs, outputs) -> None:
        o = self.s.OperatorT()
        o.opcodeIndex, o.inputs, o.outputs = self.opcode(code), list(inputs), list(outputs)
        self.sg.operators.append(o)

    def fc(self, x: int, w: int, b: int, out_shape, out_type=None, out_quant=None) -> int:
        y = self.tensor(f"y{len(self.sg.tensors)}", out_shape,
                        self.s.TensorType.FLOAT32 if out_type is None else out_type,
                        quant=out_quant)
        self.op(self.s.BuiltinOperator.FULLY_CONNECTED, [x, w, b], [y])
        return y

    def io(self, inputs, outputs) -> None:
        self.sg.inputs, self.sg.outputs = list(inputs), list(outputs)

    def metadata(self, name: bytes, raw: bytes) -> None:
        md = self.s.MetadataT()
        md.name, md.buffer = name, self.buffer(raw)
        self.m.metadata.append(md)

    def bytes(self) -> bytes:
        return pack(self.m)


def packed(codes: np.ndarray, bits: int) -> bytes:
    from ai_edge_quantizer.transformations.transformation_utils import pack_data

    return bytes(pack_data(bits, np.ascontiguousarray(codes, dtype=np.int8).view(np.uint8)))


def sha(values: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(values, dtype="<f4").tobytes()).hexdigest()


def make_synthetic() -> None:
    import ml_dtypes

    s = schema()
    TT = s.TensorType
    out = OUT / "synthetic"
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED + 7)
    files = []

    def mlp_io(b: Builder, k: int):
        x = b.tensor("x", [1, k], TT.FLOAT32)
        return x

    def save(stem: str, b: Builder, label: str, expected: dict, note: str, **kw) -> None:
        data = b.bytes()
        (out / f"{stem}.tflite").write_bytes(data)
        files.append({"file": f"synthetic/{stem}.tflite", "label": label, "note": note,
                      "sha256": hashlib.sha256(data).hexdigest(), "tensors": expected, **kw})

    # 1. UINT4 per-tensor, odd element count (the last byte holds one code)
    b = Builder()
    codes = rng.integers(0, 16, size=(5, 7)).astype(np.int8)
    x = mlp_io(b, 7)
    w = b.tensor("w_uint4", [5, 7], TT.UINT4, packed(codes, 4), b.quant([0.25], [8]))
    y = b.fc(x, w, -1, [1, 5])
    b.io([x], [y])
    exp = (codes.astype(np.int64) - 8).astype(np.float32) * np.float32(0.25)
    save("uint4_per_tensor_odd", b, "tflite/dynamic-range-uint4",
         {"w_uint4": {"sha256": sha(exp), "dtype": "U4", "bits": 4, "group_size": None,
                      "symmetric": False, "stored_bytes": 18}},
         "UINT4 (type 20, unknown to the tflite package), 35 codes in 18 bytes")

    # 2. INT4 per-axis on dimension 1 with odd sizes, INT2 per-tensor asymmetric
    b = Builder()
    codes4 = rng.integers(-8, 8, size=(3, 5)).astype(np.int8)
    sc4 = (rng.uniform(0.01, 0.1, size=5) * rng.choice([-1, 1], size=5)).astype(np.float32)
    zp4 = np.zeros(5, dtype=np.int64)
    codes2 = rng.integers(-2, 2, size=(6, 3)).astype(np.int8)
    x = mlp_io(b, 5)
    w4 = b.tensor("w_int4_axis1", [3, 5], TT.INT4, packed(codes4, 4), b.quant(sc4, zp4, 1))
    w2 = b.tensor("w_int2", [6, 3], TT.INT2, packed(codes2, 2), b.quant([0.5], [-1]))
    y = b.fc(x, w4, -1, [1, 3])
    y2 = b.fc(y, w2, -1, [1, 6])
    b.io([x], [y2])
    exp4 = codes4.astype(np.float32) * sc4[None, :]
    exp2 = (codes2.astype(np.int64) + 1).astype(np.float32) * np.float32(0.5)
    # label: the weight type holding most elements (INT2: 18 of 33)
    save("int4_axis1_int2_asym", b, "tflite/dynamic-range-int2",
         {"w_int4_axis1": {"sha256": sha(exp4), "dtype": "I4", "group_size": -1,
                           "symmetric": True, "quantized_dimension": 1},
          "w_int2": {"sha256": sha(exp2), "dtype": "I2", "group_size": None,
                     "symmetric": False}},
         "INT4 scales along dim 1 (negative scales), INT2 (type 19) with zero point -1")

    # 3. float8 and bfloat16 constants feeding DEQUANTIZE
    b = Builder()
    f = rng.normal(size=(4, 4)).astype(np.float32)
    e4 = f.astype(ml_dtypes.float8_e4m3fn)
    e5 = f.astype(ml_dtypes.float8_e5m2)
    bf = f.astype(ml_dtypes.bfloat16)
    x = mlp_io(b, 4)
    t_e4 = b.tensor("w_f8e4m3", [4, 4], TT.FLOAT8_E4M3FN, e4.tobytes())
    t_e5 = b.tensor("w_f8e5m2", [4, 4], TT.FLOAT8_E5M2, e5.tobytes())
    t_bf = b.tensor("w_bf16", [4, 4], TT.BFLOAT16, bf.tobytes())
    for i, src in enumerate((t_e4, t_e5, t_bf)):
        d = b.tensor(f"deq{i}", [4, 4], TT.FLOAT32)
        b.op(s.BuiltinOperator.DEQUANTIZE, [src], [d])
        x = b.fc(x, d, -1, [1, 4])
    b.io([0], [x])
    save("float8_bf16_constants", b, "tflite/bf16",
         {"w_f8e4m3": {"sha256": sha(e4.astype(np.float32)), "dtype": "F8_E4M3"},
          "w_f8e5m2": {"sha256": sha(e5.astype(np.float32)), "dtype": "F8_E5M2"},
          "w_bf16": {"sha256": sha(bf.astype(np.float32)), "dtype": "BF16"}},
         "FLOAT8_E4M3FN/E5M2 (21/22) and BFLOAT16 constants (values via ml_dtypes)")

    # 4. blockwise with a zero-point tensor and FLOAT32 scales; blockwise with block_shape
    b = Builder()
    n, k, bs = 4, 64, 16
    codes = rng.integers(-8, 8, size=(n, k)).astype(np.int8)
    scales = rng.uniform(0.01, 0.05, size=(n, k // bs)).astype(np.float32)
    zps = rng.integers(-3, 4, size=(n, k // bs)).astype(np.int8)
    x = mlp_io(b, k)
    st = b.tensor("w_bw_scales", [n, k // bs], TT.FLOAT32, scales.tobytes())
    zt = b.tensor("w_bw_zero_points", [n, k // bs], TT.INT8, zps.tobytes())
    bq = s.BlockwiseQuantizationT()
    bq.scales, bq.zeroPoints, bq.blockSize = st, zt, bs
    w = b.tensor("w_bw", [n, k], TT.INT4, packed(codes, 4),
                 b.quant(details=bq, details_type=s.QuantizationDetails.BlockwiseQuantization))
    y = b.fc(x, w, -1, [1, n])
    codes_b = rng.integers(-8, 8, size=(n, k)).astype(np.int8)
    scales_b = rng.uniform(0.01, 0.05, size=(n // 2, k // 32)).astype(np.float16)
    st_b = b.tensor("w_shape_scales", [n // 2, k // 32], TT.FLOAT16, scales_b.tobytes())
    bq2 = s.BlockwiseQuantizationT()
    bq2.scales, bq2.zeroPoints, bq2.blockSize, bq2.blockShape = st_b, -1, 32, [2, 32]
    w_b = b.tensor("w_block_shape", [n, k], TT.INT4, packed(codes_b, 4),
                   b.quant(details=bq2, details_type=s.QuantizationDetails.BlockwiseQuantization))
    y2 = b.fc(x, w_b, -1, [1, n])
    b.io([x], [y, y2])
    exp = ((codes.astype(np.int64) - np.repeat(zps, bs, axis=1)).astype(np.float32)
           * np.repeat(scales, bs, axis=1))
    exp_b = codes_b.astype(np.float32) * np.repeat(np.repeat(
        scales_b.astype(np.float32), 2, axis=0), 32, axis=1)
    save("blockwise_zero_points_block_shape", b, "tflite/blockwise-int4",
         {"w_bw": {"sha256": sha(exp), "group_size": bs, "symmetric": False},
          "w_block_shape": {"sha256": sha(exp_b), "group_size": 32, "symmetric": True}},
         "BlockwiseQuantization with an INT8 zero-point tensor and FLOAT32 scales; and with "
         "the newer block_shape field [2, 32]")

    # 5. legacy uint8 full-integer model; several subgraphs with repeated names; odd tensors
    b = Builder()
    xq = b.quant([0.05], [128])
    x = b.tensor("x", [1, 8], TT.UINT8, quant=xq)
    wcodes = rng.integers(0, 256, size=(4, 8)).astype(np.uint8)
    w = b.tensor("w", [4, 8], TT.UINT8, wcodes.tobytes(), b.quant([0.02], [127]))
    bias = rng.integers(-100, 100, size=4).astype(np.int32)
    bt = b.tensor("b", [4], TT.INT32, bias.tobytes(), b.quant([0.001], [0]))
    y = b.fc(x, w, bt, [1, 4], TT.UINT8, b.quant([0.1], [100]))
    b.io([x], [y])
    b.new_subgraph(b"second")
    w_again = rng.normal(size=(2, 2)).astype(np.float32)
    b.tensor("w", [2, 2], TT.FLOAT32, w_again.tobytes())
    names = np.array([3, 0, 0, 0, 5, 0, 0, 0], dtype=np.uint8)
    b.tensor("strings", [1], TT.STRING, names.tobytes() + b"hello")
    exp_w = (wcodes.astype(np.int64) - 127).astype(np.float32) * np.float32(0.02)
    exp_b = bias.astype(np.float32) * np.float32(0.001)
    save("legacy_uint8_two_subgraphs", b, "tflite/full-uint8",
         {"w": {"sha256": sha(exp_w), "symmetric": False},
          "b": {"sha256": sha(exp_b)},
          "w#s1t0": {"sha256": sha(w_again)},
          "strings": {"unsupported": True}},
         "uint8 activations and weights (TF1-style), INT32 bias, a second subgraph reusing "
         "the name 'w', a STRING constant")

    # 6. two subgraphs (prefill/decode style) sharing one quantized weight buffer
    b = Builder()
    wcodes = rng.integers(-127, 128, size=(8, 16)).astype(np.int8)
    wscale = rng.uniform(0.01, 0.02, 8).astype(np.float32)
    shared = None
    for sgname in (b"prefill", b"decode"):
        if shared is not None:
            b.new_subgraph(sgname)
        else:
            b.sg.name = sgname
        x = b.tensor("x", [1, 16], TT.FLOAT32)
        w = b.tensor("w_shared", [8, 16], TT.INT8,
                     wcodes.tobytes() if shared is None else None,
                     b.quant(wscale, np.zeros(8)))
        if shared is None:
            shared = b.sg.tensors[w].buffer
        else:
            b.sg.tensors[w].buffer = shared
        y = b.fc(x, w, -1, [1, 8])
        b.io([x], [y])
    exp_w = wcodes.astype(np.float32) * wscale[:, None]
    save("shared_weight_two_subgraphs", b, "tflite/dynamic-range-int8",
         {"w_shared": {"sha256": sha(exp_w), "group_size": -1, "symmetric": True}},
         "two subgraphs whose tensors 'w_shared' use the same buffer and parameters: one "
         "constant, listed once", keys=["w_shared"])

    # 7. tensors qformat lists but cannot decode: multi-axis, sparse, external buffer
    b = Builder()
    x = mlp_io(b, 4)
    ms = b.tensor("ma_scales", [2, 4], TT.FLOAT32, np.ones((2, 4), np.float32).tobytes())
    ma = s.MultiAxisQuantizationT()
    ma.scales, ma.zeroPoints, ma.blockSize, ma.quantizedDimensions = ms, -1, 0, [0, 1]
    w = b.tensor("w_multiaxis", [2, 4], TT.INT8, bytes(8),
                 b.quant(details=ma, details_type=s.QuantizationDetails.MultiAxisQuantization))
    y = b.fc(x, w, -1, [1, 2])
    sp = s.SparsityParametersT()
    sp.traversalOrder, sp.blockMap = [0, 1], []
    d0 = s.DimensionMetadataT()
    d0.format, d0.denseSize = s.DimensionType.DENSE, 2
    sp.dimMetadata = [d0]
    w_s = b.tensor("w_sparse", [2, 4], TT.FLOAT32, np.ones(3, np.float32).tobytes())
    b.sg.tensors[w_s].sparsity = sp
    y2 = b.fc(x, w_s, -1, [1, 2])
    w_e = b.tensor("w_external", [2, 4], TT.FLOAT32)
    b.sg.tensors[w_e].externalBuffer = 1
    y3 = b.fc(x, w_e, -1, [1, 2])
    b.io([x], [y, y2, y3])
    save("undecodable_tensors", b, "tflite/dynamic-range-int8",
         {"w_multiaxis": {"unsupported": True, "method": "tflite-multiaxis"},
          "w_sparse": {"unsupported": True},
          "w_external": {"unsupported": True}},
         "MultiAxisQuantization, SparsityParameters, Tensor.external_buffer (schema 3d)")

    manifest = {"schema": "qformat-fixtures/tflite-synthetic/1",
                "generator": "tools/make_tflite_fixtures.py synthetic",
                "builder": "ai_edge_litert.schema_py_generated object API (LiteRT schema.fbs), "
                           "sub-byte codes packed by ai_edge_quantizer pack_data",
                "expected": "sha256 of float32 little-endian values in the stored shape, "
                            "computed from the chosen codes and parameters",
                "files": files}
    (OUT / "synthetic.json").write_text(json.dumps(manifest, indent=1) + "\n")


# --------------------------------------------------------------------------------------------
# hostile files
# --------------------------------------------------------------------------------------------
def hostile_base():
    """A small valid model: x[1,8] -> FC(w INT8 [4,8] per-axis, b FLOAT32 [4]) -> y."""
    s = schema()
    TT = s.TensorType
    b = Builder(b"qformat hostile base")
    x = b.tensor("x", [1, 8], TT.FLOAT32)
    w = b.tensor("w", [4, 8], TT.INT8, bytes(range(32)), b.quant([0.1] * 4, [0] * 4))
    bias = b.tensor("b", [4], TT.FLOAT32, np.ones(4, np.float32).tobytes())
    y = b.fc(x, w, bias, [1, 4])
    b.io([x], [y])
    b.metadata(b"min_runtime_version", b"1.5.0\0\0\0\0\0\0\0\0\0\0\0")
    return b


def aliased_model(n_subgraphs: int, n_tensors: int) -> bytes:
    """Subgraph and tensor vectors whose entries all point at one table (a legal DAG)."""
    import flatbuffers

    s = schema()
    b = hostile_base()
    w = b.sg.tensors[1]
    bld = flatbuffers.Builder(4096)
    t_off = w.Pack(bld)
    s.SubGraphStartTensorsVector(bld, n_tensors)
    for _ in range(n_tensors):
        bld.PrependUOffsetTRelative(t_off)
    tensors = bld.EndVector()
    s.SubGraphStart(bld)
    s.SubGraphAddTensors(bld, tensors)
    sg_off = s.SubGraphEnd(bld)
    s.ModelStartSubgraphsVector(bld, n_subgraphs)
    for _ in range(n_subgraphs):
        bld.PrependUOffsetTRelative(sg_off)
    subgraphs = bld.EndVector()
    bufs = [buf.Pack(bld) for buf in b.m.buffers[:w.buffer + 1]]
    s.ModelStartBuffersVector(bld, len(bufs))
    for off in reversed(bufs):
        bld.PrependUOffsetTRelative(off)
    buffers = bld.EndVector()
    s.ModelStart(bld)
    s.ModelAddVersion(bld, 3)
    s.ModelAddSubgraphs(bld, subgraphs)
    s.ModelAddBuffers(bld, buffers)
    bld.Finish(s.ModelEnd(bld), file_identifier=b"TFL3")
    return bytes(bld.Output())


def field_pos(table, slot: int) -> int:
    o = table._tab.Offset(slot)
    if not o:
        raise RuntimeError("field absent")
    return table._tab.Pos + o


def make_hostile() -> None:
    import struct

    s = schema()
    TT = s.TensorType
    out = ROOT / "fixtures" / "hostile" / "tflite"
    out.mkdir(parents=True, exist_ok=True)
    cases: list[dict] = []

    def add(name: str, data: bytes, error: str, field: str | None, why: str) -> None:
        (out / f"{name}.tflite").write_bytes(data)
        cases.append({"file": f"{name}.tflite", "error": error, "field": field, "why": why})

    def model_obj(mutate) -> bytes:
        b = hostile_base()
        mutate(b)
        return b.bytes()

    base = hostile_base().bytes()
    root = s.Model.GetRootAs(bytearray(base), 0)
    sg = root.Subgraphs(0)

    def patch(data: bytes, pos: int, fmt: str, value) -> bytes:
        buf = bytearray(data)
        struct.pack_into(fmt, buf, pos, value)
        return bytes(buf)

    # --- structure ----------------------------------------------------------------------------
    add("too_short", base[:6], "HeaderError", None, "6 bytes: no room for a root offset")
    add("root_offset_past_end", patch(base, 0, "<I", 0xFFFFFF00), "HeaderError", "root",
        "root table offset points 4 GiB past a small file")
    add("truncated", base[:len(base) // 2], "HeaderError", None,
        "the second half of a valid file is missing")
    add("vtable_offset_past_end", patch(base, root._tab.Pos, "<i", -0x7FFFFFF0),
        "HeaderError", "root", "the root table's vtable offset points past the end")
    tensors_vec = sg._tab.Vector(sg._tab.Offset(4))
    add("vector_length_past_end", patch(base, tensors_vec - 4, "<I", 0x3FFFFFFF),
        "HeaderError", "subgraphs[0].tensors",
        "the tensors vector claims 2**30 entries in a small file")
    name_field = field_pos(sg.Tensors(1), 10)
    name_str = name_field + struct.unpack_from("<I", base, name_field)[0]
    add("string_length_past_end", patch(base, name_str, "<I", 0x7FFFFFF0), "HeaderError",
        "subgraphs[0].tensors[1].name", "a tensor name claims 2 GiB")
    shape_field = field_pos(sg.Tensors(1), 4)
    add("field_offset_past_end", patch(base, shape_field, "<I", 0x7FFFFFF0), "HeaderError",
        "subgraphs[0].tensors[1].shape", "a vector offset points past the end")
    vt = sg.Tensors(1)._tab.Pos - struct.unpack_from("<i", base, sg.Tensors(1)._tab.Pos)[0]
    add("field_outside_table", patch(base, vt + 2, "<H", 4), "HeaderError",
        "subgraphs[0].tensors[1]", "the vtable declares a 4-byte table, fields lie beyond it")
    add("bad_identifier", patch(base, 4, "4s", b"TFL2"), "HeaderError", "file_identifier",
        "identifier TFL2 (read directly, not through sniffing)")

    # aliased tables: a DAG whose fan-out multiplies the tables a reader visits (flatbuffer
    # offsets are unsigned and point forward, so true cycles cannot be written)
    add("aliased_tables", aliased_model(60, 60), "LimitError", "subgraphs",
        "60 subgraph entries alias one subgraph whose 60 tensor entries alias one tensor: "
        "7k table visits from 2 kB (the test lowers the tables-visited cap to 5000)")
    q_field = field_pos(sg.Tensors(1), 12)
    add("backward_child_offset", patch(base, q_field, "<I", 0xFFFFFFF0), "HeaderError",
        "subgraphs[0].tensors[1].quantization",
        "a child offset of 2**32 - 16: it wraps to point backwards (a cycle) in 32-bit "
        "arithmetic; a forward-only reader sees it past the end")

    # --- indices ------------------------------------------------------------------------------
    def set_w(attr, value):
        return lambda b: setattr(b.sg.tensors[1], attr, value)

    add("buffer_index_out_of_range", model_obj(set_w("buffer", 99)), "HeaderError",
        "subgraphs[0].tensors[1].buffer", "tensor buffer index 99 of 5 buffers")
    add("operator_input_out_of_range",
        model_obj(lambda b: setattr(b.sg.operators[0], "inputs", [0, 1, 1000])),
        "HeaderError", "subgraphs[0].operators[0].inputs",
        "operator input 1000 (CVE-2020-15211 class)")
    add("operator_input_negative",
        model_obj(lambda b: setattr(b.sg.operators[0], "inputs", [0, -5, 2])),
        "HeaderError", "subgraphs[0].operators[0].inputs", "operator input -5 (only -1 allowed)")
    add("opcode_index_out_of_range",
        model_obj(lambda b: setattr(b.sg.operators[0], "opcodeIndex", 7)), "HeaderError",
        "subgraphs[0].operators[0].opcode_index", "opcode index 7 of 1 operator code")
    add("subgraph_output_out_of_range", model_obj(lambda b: setattr(b.sg, "outputs", [44])),
        "HeaderError", "subgraphs[0].outputs", "subgraph output 44")
    add("metadata_buffer_out_of_range",
        model_obj(lambda b: setattr(b.m.metadata[0], "buffer", 1000)), "HeaderError",
        "metadata[0].buffer", "GetMinimumRuntime PoC: metadata buffer index out of range")

    # --- buffers ------------------------------------------------------------------------------
    def offset_buffer(offset, size, keep_data=False):
        def mutate(b):
            buf = b.m.buffers[b.sg.tensors[1].buffer]
            if not keep_data:
                buf.data = None
            buf.offset, buf.size = offset, size
        return mutate

    add("buffer_offset_past_eof", model_obj(offset_buffer(1 << 20, 32)), "HeaderError",
        "buffers[1].offset", "Buffer.offset 1 MiB in a small file")
    add("buffer_offset_wraps", model_obj(offset_buffer((1 << 64) - 16, 32)), "HeaderError",
        "buffers[1].offset", "offset + size wraps around 2**64 (the >2 GB PoC)")
    add("buffer_data_and_offset", model_obj(offset_buffer(64, 32, keep_data=True)),
        "HeaderError", "buffers[1]", "inline data and an offset: two answers")
    add("buffer_size_mismatch",
        model_obj(lambda b: setattr(b.m.buffers[b.sg.tensors[1].buffer], "data", list(range(20)))),
        "HeaderError", "subgraphs[0].tensors[1].buffer", "20 bytes for a [4, 8] INT8 tensor")

    # --- shapes and types ---------------------------------------------------------------------
    add("unknown_tensor_type", model_obj(set_w("type", 99)), "UnsupportedError",
        "subgraphs[0].tensors[1].type", "TensorType 99")
    add("negative_dimension", model_obj(set_w("shape", [-4, -8])), "HeaderError",
        "subgraphs[0].tensors[1].shape", "constant with shape [-4, -8]")
    add("huge_dimensions", model_obj(set_w("shape", [1 << 30, 1 << 30, 1 << 30])),
        "LimitError", "subgraphs[0].tensors[1].shape", "2**90 elements")
    add("too_many_dimensions", model_obj(set_w("shape", [1] * 40)), "LimitError",
        "subgraphs[0].tensors[1].shape", "40 dimensions")

    # --- quantization parameters --------------------------------------------------------------
    def set_q(**kw):
        def mutate(b):
            q = b.sg.tensors[1].quantization
            for k, v in kw.items():
                setattr(q, k, v)
        return mutate

    add("scale_count_mismatch", model_obj(set_q(scale=[0.1] * 3, zeroPoint=[0] * 3)),
        "LayoutError", "subgraphs[0].tensors[1].quantization.scale",
        "3 scales for quantized dimension 0 of size 4")
    add("zero_point_count_mismatch", model_obj(set_q(zeroPoint=[0] * 3)), "LayoutError",
        "subgraphs[0].tensors[1].quantization.zero_point", "4 scales, 3 zero points")
    add("zero_point_out_of_range", model_obj(set_q(zeroPoint=[0, 0, 300, 0])), "LayoutError",
        "subgraphs[0].tensors[1].quantization.zero_point",
        "zero point 300 for an INT8 tensor (zero-point dtype mismatch)")
    add("quantized_dimension_out_of_range", model_obj(set_q(quantizedDimension=5)),
        "LayoutError", "subgraphs[0].tensors[1].quantization.quantized_dimension",
        "quantized dimension 5 of a 2-D tensor")
    add("activation_zero_point_count_mismatch",
        model_obj(lambda b: setattr(b.sg.tensors[0], "quantization",
                                    b.quant([0.1, 0.2], [0]))),
        "LayoutError", "subgraphs[0].tensors[0].quantization.zero_point",
        "an activation with 2 scales and 1 zero point")
    add("unknown_details_type",
        model_obj(set_q(detailsType=9, details=s.BlockwiseQuantizationT())),
        "UnsupportedError", "subgraphs[0].tensors[1].quantization.details_type",
        "QuantizationDetails union type 9")

    def blockwise(scales_idx, zp_idx, block, scale_shape=(4, 2), scale_type=None,
                  zp_type=None, code_type=None):
        def mutate(b):
            tt = b.s.TensorType
            st = b.tensor("w_scales", list(scale_shape), scale_type or tt.FLOAT16,
                          np.ones(scale_shape, np.float16).tobytes()
                          if (scale_type or tt.FLOAT16) == tt.FLOAT16
                          else np.ones(scale_shape, np.float32).tobytes())
            if zp_type is not None:
                b.tensor("w_zero_points", list(scale_shape), zp_type,
                         np.zeros(scale_shape, np.float32).tobytes())
            bq = b.s.BlockwiseQuantizationT()
            bq.scales = st if scales_idx is None else scales_idx
            bq.zeroPoints = zp_idx if zp_idx is not None else st + 1
            bq.blockSize = block
            w = b.sg.tensors[1]
            w.quantization = b.quant(details=bq,
                                     details_type=b.s.QuantizationDetails.BlockwiseQuantization)
            if code_type is not None:
                w.type = code_type
        return mutate

    add("blockwise_scale_index_out_of_range", model_obj(blockwise(77, -1, 4)), "HeaderError",
        "subgraphs[0].tensors[1].quantization.details.scales", "scale tensor index 77")
    add("blockwise_scale_is_activation", model_obj(blockwise(0, -1, 4)), "LayoutError",
        "subgraphs[0].tensors[1].quantization.details.scales",
        "the scale 'tensor' is the graph input (no data)")
    add("blockwise_scale_wrong_shape", model_obj(blockwise(None, -1, 4, scale_shape=(4, 3))),
        "LayoutError", "subgraphs[0].tensors[1].quantization.details.scales",
        "scales [4, 3] for [4, 8] with block 4")
    add("blockwise_block_size_zero", model_obj(blockwise(None, -1, 0)), "LayoutError",
        "subgraphs[0].tensors[1].quantization.details.block_size", "block size 0")
    add("blockwise_zero_point_float", model_obj(blockwise(None, None, 4, zp_type=TT.FLOAT32)),
        "LayoutError", "subgraphs[0].tensors[1].quantization.details.zero_points",
        "zero points in a FLOAT32 tensor (zero-point dtype mismatch)")
    add("blockwise_scale_int", model_obj(blockwise(None, -1, 4, scale_type=TT.INT32)),
        "LayoutError", "subgraphs[0].tensors[1].quantization.details.scales",
        "scales in an INT32 tensor")

    manifest = {"schema": "qformat-fixtures/tflite-hostile/1",
                "generator": "tools/make_tflite_fixtures.py hostile",
                "base": "x[1,8] -> FULLY_CONNECTED(w INT8 [4,8] per-axis, b FLOAT32 [4]) -> y, "
                        "built with ai_edge_litert.schema_py_generated, then mutated "
                        "(object level) or patched (byte level)",
                "cases": cases}
    (out / "hostile.json").write_text(json.dumps(manifest, indent=1) + "\n")


def main(argv: list[str]) -> int:
    what = set(argv) or {"foreign", "synthetic", "hostile"}
    unknown = what - {"foreign", "synthetic", "hostile"}
    if unknown:
        print(f"unknown target(s): {sorted(unknown)}", file=sys.stderr)
        return 2
    if "foreign" in what:
        make_foreign()
    if "synthetic" in what:
        make_synthetic()
    if "hostile" in what:
        make_hostile()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
