"""Decoding of stored ONNX tensors: every element type and storage field, against onnx's own
``numpy_helper.to_array``; bit unpacking against a plain per-bit reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import qformat
from qformat.readers._onnx.types import onnx_type, sign_extend, to_float32, unpack_bits

onnx = pytest.importorskip("onnx")
ml_dtypes = pytest.importorskip("ml_dtypes")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def _reference_unpack(data: bytes, bits: int, count: int) -> list[int]:
    stream = int.from_bytes(data, "little")
    return [(stream >> (i * bits)) & ((1 << bits) - 1) for i in range(count)]


@settings(max_examples=200, deadline=None)
@given(bits=st.integers(1, 8), data=st.binary(min_size=0, max_size=64), cut=st.integers(0, 8))
def test_unpack_bits_matches_bit_stream(bits: int, data: bytes, cut: int) -> None:
    count = max(0, len(data) * 8 // bits - cut)
    got = unpack_bits(np.frombuffer(data, dtype=np.uint8), bits, count)
    assert got.dtype == np.uint8
    assert got.tolist() == _reference_unpack(data, bits, count)


@pytest.mark.parametrize("bits", [2, 4])
def test_sign_extend(bits: int) -> None:
    codes = np.arange(1 << bits, dtype=np.uint8)
    want = [c - (1 << bits) if c >= 1 << (bits - 1) else c for c in codes.tolist()]
    assert sign_extend(codes, bits).tolist() == want


@pytest.mark.parametrize("name", ["FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2",
                                  "FLOAT8E5M2FNUZ", "FLOAT8E8M0", "FLOAT4E2M1", "FLOAT6E2M3",
                                  "FLOAT6E3M2", "BFLOAT16"])
def test_float_code_tables_match_ml_dtypes(name: str) -> None:
    t = onnx_type(getattr(TensorProto, name))
    np_dt = helper.tensor_dtype_to_np_dtype(t.code)
    n = 1 << min(t.bits, 16)
    codes = np.arange(n, dtype=np.uint16 if t.bits == 16 else np.uint8)
    want = codes.view(np_dt) if t.bits in (8, 16) else codes.astype(np.uint8).view(np_dt)
    want = want.astype(np.float32)
    got = to_float32(codes, t)
    assert np.array_equal(got, want, equal_nan=True)


# (TensorProto type, numpy values) for every numeric element type
def _samples() -> list[tuple[str, np.ndarray]]:
    r = np.random.default_rng(0)
    out = [
        ("FLOAT", r.standard_normal(7).astype(np.float32)),
        ("DOUBLE", r.standard_normal(7)),
        ("FLOAT16", r.standard_normal(7).astype(np.float16)),
        ("BFLOAT16", r.standard_normal(7).astype(ml_dtypes.bfloat16)),
        ("INT8", r.integers(-128, 128, 7).astype(np.int8)),
        ("UINT8", r.integers(0, 256, 7).astype(np.uint8)),
        ("INT16", r.integers(-32768, 32768, 7).astype(np.int16)),
        ("UINT16", r.integers(0, 65536, 7).astype(np.uint16)),
        ("INT32", r.integers(-2**31, 2**31, 7).astype(np.int32)),
        ("INT64", r.integers(-2**40, 2**40, 7).astype(np.int64)),
        ("UINT32", r.integers(0, 2**32, 7).astype(np.uint32)),
        ("UINT64", r.integers(0, 2**40, 7).astype(np.uint64)),
        ("BOOL", r.integers(0, 2, 7).astype(bool)),
        ("INT4", r.integers(-8, 8, 7).astype(ml_dtypes.int4)),
        ("UINT4", r.integers(0, 16, 7).astype(ml_dtypes.uint4)),
        ("INT2", r.integers(-2, 2, 7).astype(ml_dtypes.int2)),
        ("UINT2", r.integers(0, 4, 7).astype(ml_dtypes.uint2)),
        ("FLOAT8E4M3FN", r.standard_normal(7).astype(ml_dtypes.float8_e4m3fn)),
        ("FLOAT8E5M2", r.standard_normal(7).astype(ml_dtypes.float8_e5m2)),
        ("FLOAT8E4M3FNUZ", r.standard_normal(7).astype(ml_dtypes.float8_e4m3fnuz)),
        ("FLOAT4E2M1", r.standard_normal(7).astype(ml_dtypes.float4_e2m1fn)),
    ]
    return out


def _model(tensors: list) -> onnx.ModelProto:
    g = helper.make_graph([], "t", [], [helper.make_tensor_value_info(tensors[0].name, 1, None)],
                          tensors)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 21)])
    m.ir_version = 10
    return m


@pytest.mark.parametrize("raw", [True, False], ids=["raw_data", "typed_field"])
@pytest.mark.parametrize(("name", "values"), _samples(), ids=[s[0] for s in _samples()])
def test_stored_tensor_decodes_like_onnx(tmp_path: Path, name: str, values: np.ndarray,
                                         raw: bool) -> None:
    code = getattr(TensorProto, name)
    arr = values.reshape(7, 1)
    t = numpy_helper.from_array(arr, "t")
    if not raw:
        # the same values in the typed field onnx.helper.make_tensor(raw=False) uses
        t = helper.make_tensor("t", code, list(arr.shape), arr.reshape(-1).tolist()
                               if name not in ("FLOAT16", "BFLOAT16") and "FLOAT8" not in name
                               and "FLOAT4" not in name else arr.reshape(-1), raw=False)
    assert t.data_type == code
    onnx.save(_model([t]), tmp_path / "t.onnx")
    want = numpy_helper.to_array(onnx.load(tmp_path / "t.onnx").graph.initializer[0])
    with qformat.open(tmp_path / "t.onnx") as m:
        info = m.info("t")
        got = m.get("t")
    assert info.extra["stored_dtype"] == name
    assert got.shape == (7, 1) and got.dtype == np.float32
    assert np.array_equal(got, want.astype(np.float32), equal_nan=True)


def test_string_tensor_is_listed_but_not_numeric(tmp_path: Path) -> None:
    t = helper.make_tensor("s", TensorProto.STRING, [2], [b"a", b"b"])
    onnx.save(_model([t]), tmp_path / "s.onnx")
    with qformat.open(tmp_path / "s.onnx") as m:
        assert m.info("s").dtype == "STRING"
        with pytest.raises(qformat.UnsupportedError, match="no numeric values"):
            m.get("s")


def test_sparse_initializer_is_densified(tmp_path: Path) -> None:
    values = numpy_helper.from_array(np.array([1.5, -2.0, 3.25], np.float32), "sp")
    indices = numpy_helper.from_array(np.array([1, 5, 10], np.int64), "sp_idx")
    sp = helper.make_sparse_tensor(values, indices, [3, 4])
    g = helper.make_graph([], "t", [], [helper.make_tensor_value_info("sp", 1, None)],
                          sparse_initializer=[sp])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(m, tmp_path / "sp.onnx")
    with qformat.open(tmp_path / "sp.onnx") as model:
        got = model.get("sp")
        assert model.info("sp").extra["sparse"] is True
    want = np.zeros(12, np.float32)
    want[[1, 5, 10]] = [1.5, -2.0, 3.25]
    assert np.array_equal(got, want.reshape(3, 4))
