"""The subset of the TFLite schema qformat reads, parsed with the bounded walker.

Field ids follow LiteRT's ``tflite/converter/schema/schema.fbs`` (schema version 3 up to 3d).
Enum values (TensorType, BuiltinOperator, BuiltinOptions, QuantizationDetails) come from the
installed ``tflite`` package; where it lags the real schema (TensorType INT2 = 19, UINT4 = 20,
FLOAT8_E4M3FN = 21, FLOAT8_E5M2 = 22; QuantizationDetails BlockwiseQuantization = 2,
MultiAxisQuantization = 3; newer BuiltinOperator codes) the gap is filled here explicitly and
``tests/tflite/test_schema.py`` checks the package still lacks (or agrees with) those values.
The ``tflite`` accessors themselves are never used on file bytes: they do no bounds checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from ... import limits
from ...errors import HeaderError, LimitError, UnsupportedError
from .flatbuf import FlatBuffer, Table

__all__ = [
    "CONVERSION_MODES",
    "QUANTIZABLE",
    "TYPES",
    "WEIGHT_CODE_TYPES",
    "ElementType",
    "TfBuffer",
    "TfModel",
    "TfOperator",
    "TfQuant",
    "TfSubgraph",
    "TfTensor",
    "builtin_operator_name",
    "parse_conversion_metadata",
    "parse_model",
]

FILE_IDENTIFIER = b"TFL3"

# Field ids (0-based declaration order in schema.fbs).
_MODEL = {"version": 0, "operator_codes": 1, "subgraphs": 2, "description": 3, "buffers": 4,
          "metadata": 6, "external_buffers": 9}
_SUBGRAPH = {"tensors": 0, "inputs": 1, "outputs": 2, "operators": 3, "name": 4}
_TENSOR = {"shape": 0, "type": 1, "buffer": 2, "name": 3, "quantization": 4, "is_variable": 5,
           "sparsity": 6, "shape_signature": 7, "external_buffer": 10}
_QUANT = {"min": 0, "max": 1, "scale": 2, "zero_point": 3, "details_type": 4, "details": 5,
          "quantized_dimension": 6}
_BLOCKWISE = {"scales": 0, "zero_points": 1, "block_size": 2, "block_shape": 3}
_MULTI_AXIS = {"scales": 0, "zero_points": 1, "block_size": 2, "quantized_dimensions": 3}
_CUSTOM_QUANT = {"custom": 0}
_BUFFER = {"data": 0, "offset": 1, "size": 2}
_OPERATOR = {"opcode_index": 0, "inputs": 1, "outputs": 2, "builtin_options_type": 3,
             "builtin_options": 4}
_OPCODE = {"deprecated_builtin_code": 0, "custom_code": 1, "version": 2, "builtin_code": 3}
_METADATA = {"name": 0, "buffer": 1}
_FC_OPTIONS = {"asymmetric_quantize_inputs": 3, "quantized_bias_type": 4}

#: ``Buffer.offset`` values 0 and 1 mean "no out-of-flatbuffer data" (1 is a writer placeholder).
_OFFSET_UNUSED = 1


# --------------------------------------------------------------------------------------------
# enums (from the tflite package, gaps filled explicitly)
# --------------------------------------------------------------------------------------------
#: TensorType codes newer than the ``tflite`` package on PyPI (2.18.0), from LiteRT's schema.
TENSOR_TYPES_NEWER_THAN_PACKAGE = {19: "INT2", 20: "UINT4", 21: "FLOAT8_E4M3FN",
                                   22: "FLOAT8_E5M2"}
#: QuantizationDetails union members the package lacks (it knows NONE and CustomQuantization).
DETAILS_NEWER_THAN_PACKAGE = {2: "BlockwiseQuantization", 3: "MultiAxisQuantization"}
#: ModelOptimizationMode of CONVERSION_METADATA (tensorflow/lite/python/conversion_metadata.fbs;
#: not in the tflite package).
CONVERSION_MODES = {1001: "PTQ_FLOAT16", 1002: "PTQ_DYNAMIC_RANGE", 1003: "PTQ_FULL_INTEGER",
                    1004: "PTQ_INT16", 2000: "QUANTIZATION_AWARE_TRAINING",
                    3001: "RANDOM_SPARSITY", 3002: "BLOCK_SPARSITY",
                    3003: "STRUCTURED_SPARSITY"}


def _enum_names(module_name: str) -> dict[int, str]:
    try:
        import importlib

        cls_name = module_name.rsplit(".", 1)[1]
        cls = getattr(importlib.import_module(module_name), cls_name)
    except ImportError:
        raise UnsupportedError(
            "reading TFLite needs the 'tflite' package (pip install qformat[tflite])"
        ) from None
    return {v: k for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}


@cache
def package_tensor_types() -> dict[int, str]:
    """TensorType code -> name, as the installed ``tflite`` package knows them."""
    return _enum_names("tflite.TensorType")


@cache
def tensor_type_names() -> dict[int, str]:
    """Every TensorType this reader knows: the package's plus the explicit gap table."""
    names = dict(package_tensor_types())
    for code, name in TENSOR_TYPES_NEWER_THAN_PACKAGE.items():
        names.setdefault(code, name)
    return names


@cache
def _builtin_operator_names() -> dict[int, str]:
    return _enum_names("tflite.BuiltinOperator")


@cache
def _builtin_options_codes() -> dict[str, int]:
    return {v: k for k, v in _enum_names("tflite.BuiltinOptions").items()}


def builtin_operator_name(code: int) -> str:
    """Name of a BuiltinOperator code; codes newer than the package read ``BUILTIN_<code>``."""
    return _builtin_operator_names().get(code, f"BUILTIN_{code}")


@dataclass(frozen=True)
class ElementType:
    """How one TensorType is stored: qformat dtype code, bits per element, numpy dtype."""

    name: str
    code: str  # qformat spelling (F32, I8, I4...)
    bits: int | None  # None for variable-size types (STRING, RESOURCE, VARIANT)
    storage: str | None  # numpy dtype of unpacked elements; None if not numeric
    kind: str  # "float", "int", "uint", "bool", "complex", "other"


#: Element type facts by TensorType name (what the bytes mean, not the enum values).
TYPES: dict[str, ElementType] = {t.name: t for t in (
    ElementType("FLOAT32", "F32", 32, "<f4", "float"),
    ElementType("FLOAT16", "F16", 16, "<f2", "float"),
    ElementType("INT32", "I32", 32, "<i4", "int"),
    ElementType("UINT8", "U8", 8, "u1", "uint"),
    ElementType("INT64", "I64", 64, "<i8", "int"),
    ElementType("STRING", "STRING", None, None, "other"),
    ElementType("BOOL", "BOOL", 8, "u1", "bool"),
    ElementType("INT16", "I16", 16, "<i2", "int"),
    ElementType("COMPLEX64", "C64", 64, None, "complex"),
    ElementType("INT8", "I8", 8, "i1", "int"),
    ElementType("FLOAT64", "F64", 64, "<f8", "float"),
    ElementType("COMPLEX128", "C128", 128, None, "complex"),
    ElementType("UINT64", "U64", 64, "<u8", "uint"),
    ElementType("RESOURCE", "RESOURCE", None, None, "other"),
    ElementType("VARIANT", "VARIANT", None, None, "other"),
    ElementType("UINT32", "U32", 32, "<u4", "uint"),
    ElementType("UINT16", "U16", 16, "<u2", "uint"),
    ElementType("INT4", "I4", 4, "i1", "int"),
    ElementType("BFLOAT16", "BF16", 16, "<u2", "float"),
    ElementType("INT2", "I2", 2, "i1", "int"),
    ElementType("UINT4", "U4", 4, "u1", "uint"),
    ElementType("FLOAT8_E4M3FN", "F8_E4M3", 8, "u1", "float"),
    ElementType("FLOAT8_E5M2", "F8_E5M2", 8, "u1", "float"),
)}


#: Integer tensor types that may carry affine (scale/zero-point) or blockwise quantization.
QUANTIZABLE = ("INT2", "INT4", "UINT4", "INT8", "UINT8", "INT16", "UINT16", "INT32", "INT64")
#: Quantized types that hold weight codes (INT32/INT64 quantized constants are biases).
WEIGHT_CODE_TYPES = ("INT2", "INT4", "UINT4", "INT8", "UINT8", "INT16", "UINT16")


# --------------------------------------------------------------------------------------------
# parsed records
# --------------------------------------------------------------------------------------------
@dataclass
class TfBuffer:
    """Where one buffer's bytes are in the file: ``start``/``length`` are file offsets."""

    index: int
    start: int
    length: int
    location: str  # "inline" (inside the flatbuffer), "offset" (after it) or "empty"


@dataclass
class TfQuant:
    """QuantizationParameters, with the union's blockwise/multi-axis members decoded."""

    scale: np.ndarray | None  # float32
    zero_point: np.ndarray | None  # int64
    min_count: int
    max_count: int
    quantized_dimension: int
    details_type: int
    details_name: str
    block_scales: int | None = None  # tensor index (Blockwise/MultiAxis)
    block_zero_points: int | None = None  # tensor index, -1 = none
    block_size: int | None = None
    block_shape: tuple[int, ...] | None = None
    quantized_dimensions: tuple[int, ...] | None = None
    custom_bytes: int = 0

    @property
    def scale_count(self) -> int:
        return 0 if self.scale is None else int(self.scale.size)

    @property
    def zero_point_count(self) -> int:
        return 0 if self.zero_point is None else int(self.zero_point.size)


@dataclass
class TfTensor:
    subgraph: int
    index: int
    name: str
    shape: tuple[int, ...]
    type_code: int
    type_name: str
    buffer: int
    quant: TfQuant | None
    is_variable: bool
    sparse: bool
    external_buffer: int
    where: str

    @property
    def etype(self) -> ElementType:
        return TYPES[self.type_name]


@dataclass
class TfOperator:
    index: int
    opcode_index: int
    op_name: str  # builtin name, or the custom code for CUSTOM ops
    version: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class TfSubgraph:
    index: int
    name: str
    tensors: list[TfTensor]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    operators: list[TfOperator]


@dataclass
class TfModel:
    version: int
    description: str | None
    subgraphs: list[TfSubgraph]
    buffers: list[TfBuffer]
    metadata: list[tuple[str, int]]  # (name, buffer index)
    operator_codes: list[tuple[str, int]]  # (name, version)


# --------------------------------------------------------------------------------------------
# parsing
# --------------------------------------------------------------------------------------------
def _int_tuple(table: Table, field_id: int, name: str) -> tuple[int, ...]:
    arr = table.array(field_id, "<i4", name)
    return () if arr is None else tuple(int(v) for v in arr)


def _parse_buffers(fb: FlatBuffer, root: Table, file_size: int) -> list[TfBuffer]:
    out = []
    for i, t in enumerate(root.tables(_MODEL["buffers"], "buffers")):
        start, length = t.vector_span(_BUFFER["data"], 1, "data")
        offset = t.scalar(_BUFFER["offset"], "u64", 0, "offset")
        size = t.scalar(_BUFFER["size"], "u64", 0, "size")
        if offset > _OFFSET_UNUSED and size:
            if length:
                raise HeaderError("buffer has both inline data and an offset", path=fb.path,
                                  field=f"buffers[{i}]",
                                  found=f"{length} inline bytes, offset {offset}")
            # Python ints: offset + size cannot wrap (the uint64 overflow of the PoCs)
            if offset + size > file_size:
                raise HeaderError("buffer data lies outside the file", path=fb.path,
                                  field=f"buffers[{i}].offset",
                                  expected=f"offset + size <= file size {file_size}",
                                  found=f"offset {offset} + size {size} = {offset + size}")
            out.append(TfBuffer(i, int(offset), int(size), "offset"))
        elif length:
            out.append(TfBuffer(i, start, length, "inline"))
        else:
            out.append(TfBuffer(i, 0, 0, "empty"))
    return out


def _parse_quant(fb: FlatBuffer, t: Table | None, where: str) -> TfQuant | None:
    if t is None:
        return None
    scale = t.array(_QUANT["scale"], "<f4", "scale")
    zero_point = t.array(_QUANT["zero_point"], "<i8", "zero_point")
    details_type = t.scalar(_QUANT["details_type"], "u8", 0, "details_type")
    q = TfQuant(
        scale=scale, zero_point=zero_point,
        min_count=t.vector_len(_QUANT["min"], 4, "min"),
        max_count=t.vector_len(_QUANT["max"], 4, "max"),
        quantized_dimension=t.scalar(_QUANT["quantized_dimension"], "i32", 0,
                                     "quantized_dimension"),
        details_type=details_type,
        details_name="NONE",
    )
    if details_type == 0:
        return q
    details = t.table(_QUANT["details"], "details")
    package = _enum_names("tflite.QuantizationDetails")
    name = package.get(details_type) or DETAILS_NEWER_THAN_PACKAGE.get(details_type)
    q.details_name = name or f"unknown ({details_type})"
    if details is None:
        raise HeaderError("quantization details type set but the details table is missing",
                          path=fb.path, field=f"{where}.details", found=q.details_name)
    if name == "BlockwiseQuantization":
        q.block_scales = details.scalar(_BLOCKWISE["scales"], "i32", 0, "scales")
        q.block_zero_points = details.scalar(_BLOCKWISE["zero_points"], "i32", 0,
                                             "zero_points")
        q.block_size = details.scalar(_BLOCKWISE["block_size"], "i32", 0, "block_size")
        shape = details.array(_BLOCKWISE["block_shape"], "<i4", "block_shape")
        q.block_shape = None if shape is None or not shape.size else tuple(int(v) for v in shape)
    elif name == "MultiAxisQuantization":
        q.block_scales = details.scalar(_MULTI_AXIS["scales"], "i32", 0, "scales")
        q.block_zero_points = details.scalar(_MULTI_AXIS["zero_points"], "i32", 0,
                                             "zero_points")
        q.block_size = details.scalar(_MULTI_AXIS["block_size"], "i32", 0, "block_size")
        q.quantized_dimensions = _int_tuple(details, _MULTI_AXIS["quantized_dimensions"],
                                            "quantized_dimensions")
    elif name == "CustomQuantization":
        q.custom_bytes = details.vector_len(_CUSTOM_QUANT["custom"], 1, "custom")
    return q


def _parse_tensor(fb: FlatBuffer, t: Table, sg: int, index: int, n_buffers: int) -> TfTensor:
    where = t.where
    type_code = t.scalar(_TENSOR["type"], "i8", 0, "type")
    type_name = tensor_type_names().get(type_code)
    name = t.string(_TENSOR["name"], "name") or ""
    if type_name is None or type_name not in TYPES:
        raise UnsupportedError("unknown TFLite tensor type", path=fb.path, tensor=name or where,
                               field=f"{where}.type",
                               expected=sorted(tensor_type_names().values()), found=type_code)
    shape = _int_tuple(t, _TENSOR["shape"], "shape")
    if len(shape) > limits.MAX_NDIM:
        raise LimitError("tensor has too many dimensions", path=fb.path, tensor=name or where,
                         field=f"{where}.shape", expected=f"<= {limits.MAX_NDIM}",
                         found=len(shape))
    buffer = t.scalar(_TENSOR["buffer"], "u32", 0, "buffer")
    if buffer >= n_buffers:
        raise HeaderError("buffer index out of range", path=fb.path, tensor=name or where,
                          field=f"{where}.buffer", expected=f"< {n_buffers}", found=buffer)
    return TfTensor(
        subgraph=sg, index=index, name=name, shape=shape, type_code=type_code,
        type_name=type_name, buffer=buffer,
        quant=_parse_quant(fb, t.table(_TENSOR["quantization"], "quantization"),
                           f"{where}.quantization"),
        is_variable=bool(t.scalar(_TENSOR["is_variable"], "bool", False, "is_variable")),
        sparse=t.has(_TENSOR["sparsity"]),
        external_buffer=t.scalar(_TENSOR["external_buffer"], "u32", 0, "external_buffer"),
        where=where,
    )


def _check_indices(fb: FlatBuffer, values: tuple[int, ...], n: int, where: str,
                   optional: bool) -> None:
    for v in values:
        if (v == -1 and optional) or 0 <= v < n:
            continue
        raise HeaderError("tensor index out of range", path=fb.path, field=where,
                          expected=f"-1 or 0..{n - 1}" if optional else f"0..{n - 1}",
                          found=v)


def _parse_operator_codes(root: Table) -> list[tuple[str, int]]:
    codes = []
    for t in root.tables(_MODEL["operator_codes"], "operator_codes"):
        deprecated = t.scalar(_OPCODE["deprecated_builtin_code"], "i8", 0,
                              "deprecated_builtin_code")
        builtin = t.scalar(_OPCODE["builtin_code"], "i32", 0, "builtin_code")
        code = max(deprecated, builtin)
        name = builtin_operator_name(code)
        if name == "CUSTOM":
            name = "CUSTOM:" + (t.string(_OPCODE["custom_code"], "custom_code") or "?")
        codes.append((name, t.scalar(_OPCODE["version"], "i32", 1, "version")))
    return codes


def _parse_operator(fb: FlatBuffer, t: Table, index: int, codes: list[tuple[str, int]],
                    n_tensors: int) -> TfOperator:
    opcode_index = t.scalar(_OPERATOR["opcode_index"], "u32", 0, "opcode_index")
    if opcode_index >= len(codes):
        raise HeaderError("operator code index out of range", path=fb.path,
                          field=f"{t.where}.opcode_index", expected=f"< {len(codes)}",
                          found=opcode_index)
    op_name, version = codes[opcode_index]
    inputs = _int_tuple(t, _OPERATOR["inputs"], "inputs")
    outputs = _int_tuple(t, _OPERATOR["outputs"], "outputs")
    _check_indices(fb, inputs, n_tensors, f"{t.where}.inputs", optional=True)
    _check_indices(fb, outputs, n_tensors, f"{t.where}.outputs", optional=True)
    options: dict[str, Any] = {}
    if op_name == "FULLY_CONNECTED":
        opt_type = t.scalar(_OPERATOR["builtin_options_type"], "u8", 0, "builtin_options_type")
        if opt_type == _builtin_options_codes().get("FullyConnectedOptions"):
            opt = t.table(_OPERATOR["builtin_options"], "builtin_options")
            if opt is not None:
                options["asymmetric_quantize_inputs"] = bool(opt.scalar(
                    _FC_OPTIONS["asymmetric_quantize_inputs"], "bool", False,
                    "asymmetric_quantize_inputs"))
                bias_type = opt.scalar(_FC_OPTIONS["quantized_bias_type"], "i8", 0,
                                       "quantized_bias_type")
                if bias_type:
                    options["quantized_bias_type"] = tensor_type_names().get(
                        bias_type, str(bias_type))
    return TfOperator(index, opcode_index, op_name, version, inputs, outputs, options)


def parse_model(data: Any, file_size: int, path: str) -> TfModel:
    """Parse the Model table of a TFLite file held in ``data`` (bytes or mmap)."""
    fb = FlatBuffer(data, file_size, path, "TFLite flatbuffer")
    root = fb.root(FILE_IDENTIFIER)
    version = root.scalar(_MODEL["version"], "u32", 0, "version")
    buffers = _parse_buffers(fb, root, file_size)
    codes = _parse_operator_codes(root)
    subgraphs = []
    for s, sgt in enumerate(root.tables(_MODEL["subgraphs"], "subgraphs")):
        tensors = [_parse_tensor(fb, tt, s, i, len(buffers))
                   for i, tt in enumerate(sgt.tables(_SUBGRAPH["tensors"], "tensors"))]
        inputs = _int_tuple(sgt, _SUBGRAPH["inputs"], "inputs")
        outputs = _int_tuple(sgt, _SUBGRAPH["outputs"], "outputs")
        _check_indices(fb, inputs, len(tensors), f"{sgt.where}.inputs", optional=False)
        _check_indices(fb, outputs, len(tensors), f"{sgt.where}.outputs", optional=False)
        operators = [_parse_operator(fb, ot, i, codes, len(tensors))
                     for i, ot in enumerate(sgt.tables(_SUBGRAPH["operators"], "operators"))]
        subgraphs.append(TfSubgraph(s, sgt.string(_SUBGRAPH["name"], "name") or "", tensors,
                                    inputs, outputs, operators))
    metadata = []
    for i, mt in enumerate(root.tables(_MODEL["metadata"], "metadata")):
        buf = mt.scalar(_METADATA["buffer"], "u32", 0, "buffer")
        if buf >= len(buffers):
            raise HeaderError("metadata buffer index out of range", path=path,
                              field=f"metadata[{i}].buffer", expected=f"< {len(buffers)}",
                              found=buf)
        metadata.append((mt.string(_METADATA["name"], "name") or "", buf))
    return TfModel(version, root.string(_MODEL["description"], "description"), subgraphs,
                   buffers, metadata, codes)


def parse_conversion_metadata(raw: bytes, path: str) -> dict[str, Any]:
    """The converter's CONVERSION_METADATA flatbuffer (environment and optimization modes)."""
    fb = FlatBuffer(raw, len(raw), path, "CONVERSION_METADATA")
    root = fb.root()
    out: dict[str, Any] = {}
    env = root.table(0, "environment")
    if env is not None:
        tf_version = env.string(0, "tensorflowVersion")
        if tf_version is not None:
            out["tensorflow_version"] = tf_version
        out["api_version"] = env.scalar(1, "u32", 0, "apiVersion")
        out["model_type"] = env.scalar(2, "i32", 0, "modelType")
    options = root.table(1, "options")
    modes = None if options is None else options.array(0, "<i4", "modelOptimizationModes")
    out["optimization_modes"] = ([] if modes is None else
                                 [CONVERSION_MODES.get(int(m), f"MODE_{int(m)}") for m in modes])
    return out
