"""The strict safetensors header parser, cross-checked against files the real package writes."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from st_helpers import write_st

import qformat
from qformat.errors import HeaderError, LimitError, UnsupportedError
from qformat.readers._st.header import parse_safetensors_header
from qformat.readers.safetensors import read_safetensors

_NP = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I8": np.int8,
       "U8": np.uint8, "I16": np.int16, "I32": np.int32, "I64": np.int64, "U16": np.uint16,
       "U32": np.uint32, "U64": np.uint64, "BOOL": np.bool_}

tensor_dicts = st.dictionaries(
    keys=st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1,
                 max_size=12).filter(lambda k: k != "__metadata__"),
    values=st.tuples(st.sampled_from(sorted(_NP)),
                     st.lists(st.integers(0, 5), min_size=0, max_size=3)),
    max_size=8)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=tensor_dicts, seed=st.integers(0, 2**31))
def test_listing_matches_the_reference_reader(tmp_path: Path, spec: dict, seed: int) -> None:
    """Files written by ``safetensors`` (incl. empty tensors) list and read back identically."""
    from safetensors import safe_open

    rng = np.random.default_rng(seed)
    arrays = {k: (rng.standard_normal(shape) * 100).astype(_NP[d]) for k, (d, shape) in
              spec.items()}
    path = write_st(tmp_path / f"t{seed}.safetensors", arrays, metadata={"k": "v"})
    with read_safetensors(path) as model, safe_open(str(path), "numpy") as ref:
        names = list(ref.keys())
        assert sorted(model.keys()) == sorted(names)
        assert model.metadata["__metadata__"] == {"k": "v"}
        for name in names:
            info = model.info(name)
            want = ref.get_tensor(name)
            assert info.method == "none"
            assert info.shape == want.shape
            assert info.nbytes == want.nbytes
            got = model.get(name)
            assert got.dtype == np.float32
            assert np.array_equal(got, want.astype(np.float32))


def _raw(header: dict | str, data: bytes = b"") -> tuple[bytes, int]:
    h = header if isinstance(header, str) else json.dumps(header)
    return h.encode(), len(data)


def test_header_accepts_space_padding_and_reports_absolute_offsets() -> None:
    raw = b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' + b" " * 5
    meta, tensors, warnings = parse_safetensors_header(raw, 8, data_start=64)
    assert meta is None
    assert warnings == []
    assert tensors[0].start == 64
    assert tensors[0].nbytes == 8
    assert tensors[0].shape == (2,)


def test_unknown_entry_keys_warn_but_do_not_fail() -> None:
    raw = b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}}'
    _, _, warnings = parse_safetensors_header(raw, 4)
    assert warnings
    assert "extra" in warnings[0]


@pytest.mark.parametrize(("header", "size", "error", "field"), [
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
      "b": {"dtype": "F32", "shape": [0], "data_offsets": [2, 2]}}, 4, HeaderError,
     "data_offsets"),
    ({"a": {"dtype": "Q4", "shape": [1], "data_offsets": [0, 1]}}, 1, UnsupportedError,
     "dtype"),
    ({"a": {"dtype": "F32", "shape": [2**25, 2**25], "data_offsets": [0, 0]}}, 0, LimitError,
     "shape"),
    ({"a": {"dtype": "F32", "shape": [1]}}, 4, HeaderError, "header"),
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4.0]}}, 4, HeaderError,
     "data_offsets"),
    ({"__metadata__": {"x": ["y"]}}, 0, HeaderError, "__metadata__"),
    ({"__metadata__": "text"}, 0, HeaderError, "__metadata__"),
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, 5, HeaderError,
     "data_offsets"),
])
def test_invalid_headers_raise_typed_errors(header: dict, size: int, error: type,
                                            field: str) -> None:
    raw, _ = _raw(header)
    with pytest.raises(error) as info:
        parse_safetensors_header(raw, size, path="x.safetensors")
    assert info.value.field == field
    assert "x.safetensors" in str(info.value)


def test_empty_tensor_on_a_boundary_is_what_the_reference_writer_makes(tmp_path: Path) -> None:
    path = write_st(tmp_path / "e.safetensors", {"a": np.zeros(0, np.float32),
                                                 "b": np.ones(2, np.float32)})
    with read_safetensors(path) as model:
        assert model.get("a").shape == (0,)
        assert model.get("b").tolist() == [1.0, 1.0]


def test_many_tensors_header(tmp_path: Path) -> None:
    """A 5,000-tensor header parses with every tensor (speed is measured in the benchmark)."""
    n = 5000
    header = {f"layer.{i}.w": {"dtype": "U8", "shape": [1], "data_offsets": [i, i + 1]}
              for i in range(n)}
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path = tmp_path / "many.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(range(256)) * (n // 256)
                     + bytes(range(n % 256)))
    with qformat.open(path) as model:
        assert len(model) == n
        assert model.get("layer.4999.w").tolist() == [(4999 % 256)]


def test_bf16_f8_e8m0_and_f4_tensors_decode_exactly(tmp_path: Path) -> None:
    """Dtypes numpy lacks, laid out as the reference writer lays them out (little-endian)."""
    tensors = {"bf": ("BF16", [2], np.array([0x3FC0, 0xC000], "<u2").tobytes()),   # 1.5, -2
               "e4": ("F8_E4M3", [2], bytes([0x30, 0xFE])),                       # 0.5, -448
               "e8": ("F8_E8M0", [2], bytes([127, 130])),                          # 1, 8
               "f4": ("F4", [2], bytes([0x92]))}                                  # 1.0, -0.5
    header, data, pos = {}, b"", 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [pos, pos + len(raw)]}
        data += raw
        pos += len(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    path = tmp_path / "x.safetensors"
    path.write_bytes(struct.pack("<Q", len(h)) + h + data)
    with qformat.open(path) as model:
        assert model.get("bf").tolist() == [1.5, -2.0]
        assert model.get("e4").tolist() == [0.5, -448.0]
        assert model.get("e8").tolist() == [1.0, 8.0]
        assert model.get("f4").tolist() == [1.0, -0.5]
        assert model.info("f4").bits == 4
        assert model.info("f4").nbytes == 1
