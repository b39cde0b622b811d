"""Enum values come from the ``tflite`` package; where it lags LiteRT's schema, our gap table."""

from __future__ import annotations

import tflite

from qformat.readers._tflite import schema


def test_tensor_types_come_from_the_package() -> None:
    names = schema.tensor_type_names()
    for name, code in vars(tflite.TensorType).items():
        if not name.startswith("_"):
            assert names[code] == name


def test_package_lags_for_int2_uint4_float8_and_gap_table_fills_it() -> None:
    package = schema.package_tensor_types()
    for code, name in schema.TENSOR_TYPES_NEWER_THAN_PACKAGE.items():
        # if a future tflite release adds these codes, it must agree with LiteRT's schema
        assert package.get(code, name) == name
        assert schema.tensor_type_names()[code] == name
    assert 19 not in package, "tflite 2.18 has no INT2; drop the gap entry when it does"
    assert schema.tensor_type_names()[19] == "INT2"


def test_every_known_type_has_storage_facts() -> None:
    assert set(schema.tensor_type_names().values()) <= set(schema.TYPES)
    assert schema.TYPES["INT4"].bits == 4 and schema.TYPES["INT2"].bits == 2
    assert schema.TYPES["UINT4"].kind == "uint"


def test_quantization_details_gap() -> None:
    package = {v: k for k, v in vars(tflite.QuantizationDetails).items()
               if not k.startswith("_")}
    assert package[1] == "CustomQuantization"
    for code, name in schema.DETAILS_NEWER_THAN_PACKAGE.items():
        assert package.get(code, name) == name


def test_builtin_operator_names_and_newer_codes() -> None:
    assert schema.builtin_operator_name(tflite.BuiltinOperator.FULLY_CONNECTED) \
        == "FULLY_CONNECTED"
    assert schema.builtin_operator_name(6) == "DEQUANTIZE"
    assert schema.builtin_operator_name(100_000) == "BUILTIN_100000"
