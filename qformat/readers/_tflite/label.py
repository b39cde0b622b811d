"""The model-level TFLite label, decided from the tensors and operators (not from metadata).

Order of the rules (first match wins):

1. quantized activations (non-constant INT8/UINT8/INT16 tensors with scales): INT16 ones give
   ``tflite/int16x8``; UINT8 activations with UINT8 weights ``tflite/full-uint8`` (legacy
   TF1 uint8 models); otherwise ``tflite/full-int8`` (whatever the I/O type);
2. quantized weight codes (INT2/INT4/UINT4/INT8/UINT8/INT16 constants with parameters) and
   float activations: ``tflite/blockwise-<type>`` if any uses BlockwiseQuantization, else
   ``tflite/weight-only-<type>`` if every one reaches its consumer only through DEQUANTIZE,
   else ``tflite/dynamic-range-<type>`` (hybrid kernels); ``<type>`` is the weight type
   holding most elements (``int8``, ``int4``, ``int2``...);
3. FLOAT16 constants: ``tflite/fp16``; BFLOAT16 constants: ``tflite/bf16``;
4. otherwise ``fp32``.

``label_detail`` adds what the label leaves out: ``-per-tensor`` weights, the I/O type of
full-integer models other than int8 (``-uint8-io``, ``-float-io``), non-8-bit weights of
full-integer models (``-w4``), the block size of blockwise ones (``-b32``).

``CONVERSION_METADATA`` is reported as evidence and compared with the result, but never decides
it: ai-edge-quantizer copies the source model's metadata unchanged.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from ...model import bits_per_weight
from .schema import TYPES, WEIGHT_CODE_TYPES

if TYPE_CHECKING:
    from ..tflite import TFLiteModel

__all__ = ["decide_label"]

QUANTIZED_METHODS = ("tflite-affine", "tflite-blockwise", "tflite-multiaxis", "tflite-custom")
#: What each converter optimization mode would make the label start with.
_MODE_FAMILY = {
    "PTQ_FLOAT16": "tflite/fp16",
    "PTQ_DYNAMIC_RANGE": "tflite/dynamic-range",
    "PTQ_FULL_INTEGER": "tflite/full-",
    "PTQ_INT16": "tflite/int16x8",
}


def _counts(items: list[str]) -> str:
    return ", ".join(f"{n} {k}" for k, n in sorted(Counter(items).items()))


def _majority_type(consts: list[Any]) -> str:
    weight = Counter()
    for c in consts:
        weight[c.tensor.type_name] += c.numel
    return weight.most_common(1)[0][0]


def decide_label(model: TFLiteModel) -> dict[str, Any]:
    """``quantization()`` of a TFLite model: methods, label, bits per weight, evidence."""
    consts = list(model._consts.values())
    weights = [c for c in consts if c.method in QUANTIZED_METHODS
               and c.tensor.type_name in WEIGHT_CODE_TYPES]
    biases = [c for c in consts if c.method == "tflite-affine"
              and c.tensor.type_name in ("INT32", "INT64")]
    acts = model._activations
    qacts = [t for t in acts if t.quant is not None and t.quant.scale_count
             and t.type_name in ("INT8", "UINT8", "INT16")]
    subgraphs = model._model.subgraphs
    io_in = [subgraphs[0].tensors[i].type_name for i in subgraphs[0].inputs] if subgraphs else []
    io_out = [subgraphs[0].tensors[i].type_name for i in subgraphs[0].outputs] if subgraphs \
        else []
    f16 = [c for c in consts if c.tensor.type_name == "FLOAT16" and c.role != "blockwise-params"]
    bf16 = [c for c in consts if c.tensor.type_name == "BFLOAT16"]
    evidence: list[str] = []

    if weights:
        gran = Counter(c.extra.get("granularity", c.method) for c in weights)
        evidence.append(f"quantized weights: {_counts([c.tensor.type_name for c in weights])} "
                        f"({', '.join(f'{n} {g}' for g, n in sorted(gran.items()))})")
    if biases:
        evidence.append(f"quantized biases: {_counts([c.tensor.type_name for c in biases])}")

    if qacts:
        act_types = {t.type_name for t in qacts}
        evidence.append(f"quantized activations: {_counts([t.type_name for t in qacts])}")
        wtypes = {c.tensor.type_name for c in weights}
        if "INT16" in act_types:
            label = "tflite/int16x8"
        elif act_types == {"UINT8"} and wtypes <= {"UINT8"}:
            label = "tflite/full-uint8"
        else:
            label = "tflite/full-int8"
        if weights and _majority_type(weights) not in ("INT8", "UINT8"):
            evidence.append(f"weights are {_majority_type(weights)}, not 8-bit")
    elif weights:
        wtype = _majority_type(weights).lower()
        blockwise = [c for c in weights if c.method == "tflite-blockwise"]
        dq_only = [c for c in weights if c.via_dequantize_only]
        if blockwise:
            label = f"tflite/blockwise-{_majority_type(blockwise).lower()}"
            sizes = sorted({c.group_size for c in blockwise})
            evidence.append(f"{len(blockwise)} BlockwiseQuantization weights, block size "
                            f"{'/'.join(map(str, sizes))}, scales in separate tensors")
        elif len(dq_only) == len(weights):
            label = f"tflite/weight-only-{wtype}"
            evidence.append(f"every quantized weight feeds a DEQUANTIZE op "
                            f"({len(dq_only)} of {len(weights)}); float activations")
        else:
            label = f"tflite/dynamic-range-{wtype}"
            direct = len(weights) - len(dq_only)
            evidence.append(f"{direct} quantized weights feed float-activation ops directly "
                            "(hybrid kernels)")
        fcs = [op for sg in subgraphs for op in sg.operators
               if op.options.get("asymmetric_quantize_inputs")]
        if fcs:
            evidence.append(f"{len(fcs)} FULLY_CONNECTED with asymmetric_quantize_inputs")
    elif f16:
        label = "tflite/fp16"
        via = sum(1 for c in f16 if c.via_dequantize_only)
        evidence.append(f"{len(f16)} FLOAT16 constants, {via} feeding DEQUANTIZE ops")
    elif bf16:
        label = "tflite/bf16"
        evidence.append(f"{len(bf16)} BFLOAT16 constants")
    else:
        label = "fp32"
        floats = sum(1 for c in consts if c.tensor.type_name == "FLOAT32")
        evidence.append(f"no quantized tensors; {floats} FLOAT32 constants")

    if io_in or io_out:
        evidence.append(f"I/O: inputs {'/'.join(io_in) or '-'}, outputs "
                        f"{'/'.join(io_out) or '-'}")
    bias_types = {op.options["quantized_bias_type"] for sg in subgraphs for op in sg.operators
                  if "quantized_bias_type" in op.options}
    if bias_types:
        evidence.append(f"FULLY_CONNECTED quantized_bias_type {'/'.join(sorted(bias_types))}")
    offsets = sum(1 for b in model._model.buffers if b.location == "offset")
    if offsets:
        evidence.append(f"{offsets} buffers stored after the flatbuffer (offset/size)")
    conv = model._conversion
    if conv is None:
        evidence.append("no CONVERSION_METADATA")
    else:
        modes = conv.get("optimization_modes", [])
        families = [_MODE_FAMILY[m] for m in modes if m in _MODE_FAMILY]
        if not modes:
            agrees = label == "fp32"
            implied = "fp32"
        else:
            agrees = any(label.startswith(f) for f in families) or (
                "QUANTIZATION_AWARE_TRAINING" in modes and label != "fp32")
            implied = " or ".join(families) or "a quantized model"
        verdict = ("agrees with the tensors" if agrees else
                   f"implies {implied}, which the tensors contradict: ignored "
                   "(tools such as ai-edge-quantizer copy it unchanged)")
        evidence.append(f"CONVERSION_METADATA modes [{', '.join(modes)}] {verdict}")

    detail = label
    if weights and all(c.extra.get("granularity") == "per-tensor" for c in weights):
        detail += "-per-tensor"
    if label.startswith("tflite/full-"):
        if weights and _majority_type(weights) not in ("INT8", "UINT8"):
            detail += f"-w{TYPES[_majority_type(weights)].bits}"
        io = set(io_in) | set(io_out)
        if io == {"UINT8"} and label == "tflite/full-int8":
            detail += "-uint8-io"
        elif io == {"FLOAT32"}:
            detail += "-float-io"
        elif len(io) > 1:
            detail += "-mixed-io"
    if label.startswith("tflite/blockwise-"):
        sizes = sorted({c.group_size for c in weights if c.method == "tflite-blockwise"})
        detail += "-b" + "/".join(map(str, sizes))

    counted = [c for c in consts if c.role != "blockwise-params"]
    act_types = Counter(t.type_name for t in acts)
    return {
        "methods": sorted({c.method for c in consts if c.method != "none"}),
        "label": label,
        "label_detail": detail,
        "bits_per_weight": bits_per_weight(sum(c.nbytes for c in counted),
                                           sum(c.numel for c in counted)),
        "evidence": evidence,
        "activations": {
            "count": len(acts),
            "dtypes": dict(sorted(act_types.items())),
            "quantized_dtypes": dict(sorted(Counter(t.type_name for t in qacts).items())),
            "inputs": io_in,
            "outputs": io_out,
        },
    }
