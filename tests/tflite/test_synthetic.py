"""Variants no tool on this machine writes, built with LiteRT's generated schema classes and
ai-edge-quantizer's packer (``tools/make_tflite_fixtures.py synthetic``): expected values were
computed there from the chosen codes and parameters (ml_dtypes for float8/bfloat16)."""

from __future__ import annotations

import pytest

import qformat
from qformat.readers.tflite import read_tflite

from .conftest import SYNTHETIC, TFLITE, sha256_f32

pytestmark = pytest.mark.foreign  # built with LiteRT's schema classes and ai-edge-quantizer

FILES = {f["file"]: f for f in SYNTHETIC["files"]}


@pytest.mark.parametrize("name", sorted(FILES))
def test_synthetic_file(name: str) -> None:
    entry = FILES[name]
    with read_tflite(TFLITE / name) as m:
        assert m.quantization()["label"] == entry["label"]
        if "keys" in entry:
            assert m.keys() == entry["keys"]
        for key, exp in entry["tensors"].items():
            info = m.info(key)
            stored = info.extra.get("stored_dtype", info.dtype)
            if "dtype" in exp:  # the manifest records the stored element type
                assert stored == exp["dtype"], key
                assert info.dtype == ("F32" if info.method != "none" else stored), key
            for fact in ("bits", "group_size", "symmetric", "method"):
                if fact in exp:
                    assert getattr(info, fact) == exp[fact], (key, fact)
            if "quantized_dimension" in exp:
                assert info.extra["quantized_dimension"] == exp["quantized_dimension"]
            if "stored_bytes" in exp:
                assert info.parts[0].nbytes == exp["stored_bytes"]
            if exp.get("unsupported"):
                with pytest.raises(qformat.UnsupportedError):
                    m.get(key)
            else:
                assert sha256_f32(m.get(key)) == exp["sha256"], key


def test_repeated_names_get_distinct_keys_and_a_warning() -> None:
    with read_tflite(TFLITE / "synthetic/legacy_uint8_two_subgraphs.tflite") as m:
        assert "w" in m.keys() and "w#s1t0" in m.keys()
        assert m.info("w#s1t0").extra["subgraph"] == 1
        assert any("repeat" in w for w in m.warnings)
        acts = m.activations()
        assert {a["dtype"] for a in acts} == {"UINT8"} and all(a["quantized"] for a in acts)


def test_blockwise_parts_and_params() -> None:
    with read_tflite(TFLITE / "synthetic/blockwise_zero_points_block_shape.tflite") as m:
        info = m.info("w_bw")
        assert [p.name for p in info.parts] == ["data", "scales", "zero_points"]
        assert info.extra["zero_points_tensor"] == "w_bw_zero_points"
        assert info.extra["blocked_axes"] == [1]
        # INT4 codes 128 bytes + FLOAT32 scales 64 bytes + INT8 zero points 16 bytes
        assert info.nbytes == 128 + 64 + 16
        assert m.info("w_bw_zero_points").extra["role"] == "blockwise-params"
        shaped = m.info("w_block_shape")
        assert shaped.extra["block_shape"] == [2, 32] and shaped.extra["blocked_axes"] == [0, 1]
        q = m.quantization()
        # parameter tensors are counted inside their weight, not as weights of their own
        counted = [m.info(k) for k in m.keys() if m.info(k).extra["role"] != "blockwise-params"]
        total = sum(i.nbytes for i in counted) * 8 / sum(i.numel for i in counted)
        assert q["bits_per_weight"] == round(total, 4)


def test_undecodable_tensors_are_listed_with_what_they_are() -> None:
    with read_tflite(TFLITE / "synthetic/undecodable_tensors.tflite") as m:
        assert m.info("w_multiaxis").method == "tflite-multiaxis"
        assert m.info("w_sparse").extra["sparse"] is True
        ext = m.info("w_external")
        assert ext.extra["buffer"]["location"] == "external" and ext.extra["external_buffer"] == 1
        with pytest.raises(qformat.UnsupportedError, match="external file"):
            m.get("w_external")
        with pytest.raises(qformat.UnsupportedError, match="sparse"):
            m.get("w_sparse")


def test_string_constant_is_listed_but_has_no_float_value() -> None:
    with read_tflite(TFLITE / "synthetic/legacy_uint8_two_subgraphs.tflite") as m:
        info = m.info("strings")
        assert info.dtype == "STRING" and info.method == "none" and info.bits is None
        with pytest.raises(qformat.UnsupportedError, match="STRING"):
            m.get("strings")


def test_weight_shared_by_subgraphs_is_listed_once() -> None:
    with read_tflite(TFLITE / "synthetic/shared_weight_two_subgraphs.tflite") as m:
        info = m.info("w_shared")
        assert info.extra["alias_count"] == 1 and info.extra["aliases"] == ["s1t1"]
        assert len(m.activations()) == 4  # x and y of each subgraph
