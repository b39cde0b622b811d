"""Every file of the shared corpus (real producers) against its manifest's ground truth."""

from __future__ import annotations

from typing import Any

import pytest
from st_helpers import CORPUS, load_json, sha_f32

import qformat

pytestmark = pytest.mark.foreign

MANIFEST = load_json(CORPUS / "manifest.json")
FILES = {f["dir"]: f for f in MANIFEST["files"]}
FAMILY_METHOD = {"aqlm": "aqlm", "awq": "awq", "bitsandbytes-4bit": "bnb-nf4",
                 "compressed-tensors": "compressed-tensors", "gptq": "gptq", "fp8-block": "fp8",
                 "hqq": "hqq", "mlx": "mlx", "quanto": "quanto"}


def _group(expected: Any) -> Any:
    """The manifest writes per-channel as null and 2-D blocks as [bo, bi]."""
    if expected is None:
        return -1
    if isinstance(expected, list):
        return expected[1]
    return expected


@pytest.mark.parametrize("name", sorted(FILES))
def test_layers_match_manifest(name: str) -> None:
    entry = FILES[name]
    method = FAMILY_METHOD[entry["expected"]["family"]]
    with qformat.open(CORPUS / name) as model:
        q = model.quantization()
        assert q["methods"] == [method]
        assert q["quantized_bits_per_weight"] == entry["stored_bits_per_weight_quantized_layers"]
        for layer in entry["quantized_layers"]:
            info = model.info(layer["module"] + ".weight")
            assert info.method == method
            assert list(info.shape) == layer["shape_out_in"]
            assert info.bits == layer["bits"]
            assert info.group_size == _group(layer["group_size"])
            assert info.bits_per_weight == layer["stored_bits_per_weight"]
            if isinstance(layer["group_size"], list):
                assert info.extra["block_size"] == layer["group_size"]
        for module in entry["unquantized_linear_like"]:
            assert model.info(module + ".weight").method == "none"
        plain = {model.info(k).dtype for k in model if model.info(k).method == "none"}
        assert plain <= set(entry["unquantized_tensor_dtypes"])
        n_quant = sum(1 for k in model if model.info(k).method != "none")
        assert n_quant == entry["n_quantized_layers"]


@pytest.mark.parametrize("name", sorted(FILES))
def test_dequantization_is_bit_exact(name: str) -> None:
    entry = FILES[name]
    with qformat.open(CORPUS / name) as model:
        for module, ref in entry["reference"]["layers"].items():
            w = model.get(module + ".weight")
            assert w.shape == tuple(ref["shape"])
            assert sha_f32(w) == ref["sha256_f32"], f"{name} {module}"


@pytest.mark.parametrize("name", sorted(FILES))
def test_evidence_is_listed_in_order(name: str) -> None:
    entry = FILES[name]
    report = qformat.inspect(CORPUS / name).to_dict()
    evidence = report["quantization"]["evidence"]
    assert evidence, name
    ranks = [0 if e.startswith(("config.json", "quantize_config.json", "quanto_qmap.json"))
             else 1 if e.startswith("__metadata__") else 2 for e in evidence]
    assert ranks == sorted(ranks)
    assert any(e.startswith("tensor names:") for e in evidence)
    if entry["config_quantization_config_present"]:
        assert ranks[0] == 0
    if entry["safetensors_metadata"]:
        assert any(e.startswith("__metadata__") for e in evidence)
    assert report["format"] == "safetensors"
    assert {t["name"] for t in report["tensors"]} >= {
        layer["module"] + ".weight" for layer in entry["quantized_layers"]}
