"""Generate the TFLite fixtures in ``fixtures/foreign/tflite/`` with the real tools.

Run with the fixture venv (never a runtime dependency of qformat)::

    /work/venv-tflite/bin/python tools/make_tflite_fixtures.py

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


# --------------------------------------------------------------------------------------------
def main() -> int:
    import tensorflow as tf
    import ai_edge_quantizer
    import ai_edge_litert

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
    save("mlp_dynamic_int8_buffer_offset",
         convert(model, optimizations=[Opt.DEFAULT], _experimental_use_buffer_offset=True),
         conv_tool, {"optimizations": ["DEFAULT"], "_experimental_use_buffer_offset": True},
         "tflite/dynamic-range-int8")
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
    save("mlp_int16x8",
         convert(model, optimizations=[Opt.DEFAULT], representative_dataset=True,
                 supported_ops=[Ops.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]),
         conv_tool, {"optimizations": ["DEFAULT"], "representative_dataset": "16 x N(0,1)",
                     "supported_ops": ["EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8"]},
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
