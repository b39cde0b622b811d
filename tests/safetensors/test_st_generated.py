"""Checkpoints made by tools/make_safetensors_fixtures.py.

``producer`` variants were written by the real libraries (optimum-quanto, hqq, bitsandbytes,
compressed-tensors 0.20 and 0.13, mlx) and carry the sha256 of the library's own
dequantization. ``packed`` variants (no CPU producer here) carry their integer codes, zeros and
scales in truth.npz; the weight is recomputed below with plain numpy formulas.
"""

from __future__ import annotations

import numpy as np
import pytest
from st_helpers import GEN, load_json, sha_f32

import qformat
from qformat.dtypes import bf16_to_f32, f32_to_bf16
from qformat.errors import UnsupportedError

pytestmark = pytest.mark.foreign

VARIANTS = load_json(GEN / "manifest.json")["variants"]
PRODUCED = sorted(v for v, e in VARIANTS.items() if e["references"])
PACKED = sorted(v for v, e in VARIANTS.items() if e["expect"].get("formula"))
DETECT_ONLY = sorted(v for v in VARIANTS if v.endswith("-detect"))


@pytest.mark.parametrize("variant", PRODUCED)
def test_matches_the_producers_dequantization(variant: str) -> None:
    entry = VARIANTS[variant]
    bf16_output = "bfloat16" in entry["source"] and "nvfp4" in variant
    with qformat.open(GEN / entry["dir"]) as model:
        for name, ref in entry["references"].items():
            w = model.get(name)
            assert w.dtype == np.float32
            assert list(w.shape) == ref["shape"]
            if bf16_output:  # compressed-tensors' fp4 decompress ends with a bf16 cast
                w = bf16_to_f32(f32_to_bf16(w))
            assert sha_f32(w) == ref["sha256_f32"], f"{variant} {name}"
            info = model.info(name)
            assert info.method == entry["expect"]["method"]
            if "bits" in entry["expect"] and "mixed" not in variant:
                assert info.bits == entry["expect"]["bits"]


def _formula(kind: str, truth: dict[str, np.ndarray], prefix: str, gs: int) -> np.ndarray:
    t = {k[len(prefix) + 1:]: v for k, v in truth.items() if k.startswith(prefix + ".")}
    if kind == "gptq":
        g = t["g_idx"]
        return (t["scales"][g] * (t["codes"] - t["zeros"][g]).astype(np.float32)).T
    if kind == "scaled":
        return t["values"] * t["scale"]
    if kind == "block-e8m0":
        return t["values"] * np.repeat(t["scale"], 32, axis=1)
    cols = np.arange(t["codes"].shape[1]) // gs
    if kind in ("awq-gemm", "awq-gemv"):
        return (t["codes"] - t["zeros"][:, cols]).astype(np.float32) * t["scales"][:, cols]
    if kind == "awq-gemv_fast":
        return t["codes"].astype(np.float32) * t["scales"][:, cols] + t["zeros_f16"][:, cols]
    raise AssertionError(kind)


@pytest.mark.parametrize("variant", PACKED)
def test_matches_independent_numpy_formula(variant: str) -> None:
    entry = VARIANTS[variant]
    expect = entry["expect"]
    truth = dict(np.load(GEN / entry["dir"] / "truth.npz"))
    prefixes = sorted({k.rsplit(".", 1)[0] for k in truth})
    with qformat.open(GEN / entry["dir"]) as model:
        assert model.quantization()["methods"] == [expect["method"]]
        for prefix in prefixes:
            info = model.info(prefix + ".weight")
            assert info.method == expect["method"]
            if "bits" in expect:
                assert info.bits == expect["bits"]
            if "group_size" in expect:
                assert info.group_size == expect["group_size"]
            want = _formula(expect["formula"], truth, prefix, info.group_size or 0)
            got = model.get(prefix + ".weight")
            assert got.shape == want.shape == info.shape
            assert np.array_equal(got.view(np.uint32), want.astype(np.float32).view(np.uint32))


@pytest.mark.parametrize("variant", DETECT_ONLY)
def test_detected_with_bits_but_not_dequantized(variant: str) -> None:
    entry = VARIANTS[variant]
    with qformat.open(GEN / entry["dir"]) as model:
        name = "model.layers.0.self_attn.k_proj.weight"
        info = model.info(name)
        assert info.method == entry["expect"]["method"]
        assert info.bits_per_weight is not None
        assert info.bits_per_weight > 0
        assert info.extra["dequantize"].startswith("unsupported")
        assert model.quantization()["evidence"]
        with pytest.raises(UnsupportedError) as exc:
            model.get(name)
        assert exc.value.tensor == name
        assert model.get("model.norm.weight").shape == (256,)


def test_gptq_act_order_and_v1_v2_zero_points() -> None:
    with qformat.open(GEN / "gptq-int4-g64-actorder") as model:
        info = model.info("model.layers.0.self_attn.k_proj.weight")
        assert info.extra["act_order"] is True
        assert info.extra["format"] == "gptq"
    with qformat.open(GEN / "gptq-int4-g128-v2") as model:
        assert model.info("model.layers.0.self_attn.k_proj.weight").extra["format"] == "gptq_v2"


def test_gptq_without_config_is_found_from_shapes() -> None:
    with qformat.open(GEN / "gptq-int4-g128-noconfig") as model:
        info = model.info("model.layers.0.self_attn.k_proj.weight")
        assert info.method == "gptq"
        assert info.bits == 4
        assert info.group_size == 128
        assert any("qzeros width" in e for e in info.extra["evidence"])


def test_auto_gptq_quantize_config_and_metadata_are_evidence() -> None:
    with qformat.open(GEN / "autogptq-int4-g128") as model:
        ev = model.quantization()["evidence"]
        assert ev[0].startswith("quantize_config.json")
        assert any(e.startswith("__metadata__") and "gptq_bits" in e for e in ev)
        assert model.info("model.layers.0.mlp.down_proj.bias").method == "none"


def test_quanto_shape_comes_from_bias_or_config() -> None:
    with qformat.open(GEN / "quanto-qint2") as model:
        k = model.info("model.layers.0.self_attn.k_proj.weight")
        d = model.info("model.layers.0.mlp.down_proj.weight")
        assert k.shape == (64, 256)
        assert d.shape == (128, 256)
        assert any("config.json" in e for e in k.extra["evidence"])
        assert any("bias" in e for e in d.extra["evidence"])
        assert d.parts[-1].name.endswith("output_scale")


def test_sharded_checkpoint_by_directory_and_by_index() -> None:
    d = GEN / "sharded-gptq"
    truth = dict(np.load(d / "truth.npz"))
    for target in (d, d / "model.safetensors.index.json"):
        with qformat.open(target) as model:
            assert model.metadata["shards"] == ["model-00001-of-00002.safetensors",
                                                "model-00002-of-00002.safetensors"]
            for prefix in ("model.layers.0.self_attn.k_proj", "model.layers.0.mlp.down_proj"):
                got = model.get(prefix + ".weight")
                assert np.array_equal(got, _formula("gptq", truth, prefix, 0))


def test_mixed_mlx_precision_per_module() -> None:
    with qformat.open(GEN / "mlx-affine-mixed") as model:
        assert model.info("model.layers.0.mlp.down_proj.weight").bits == 5
        assert model.info("model.layers.0.self_attn.k_proj.weight").bits == 8
        assert "+" in model.quantization()["label"]


def test_config_outranks_shapes(tmp_path) -> None:
    """GPTQ-shaped tensors under a config that says AWQ: the config decides, the shapes then
    fail loudly (listed with the error, get() raises it naming the tensor)."""
    import json
    import shutil

    from qformat.errors import LayoutError

    d = tmp_path / "ckpt"
    shutil.copytree(GEN / "gptq-int4-g128-v2", d)
    cfg = json.loads((d / "config.json").read_text())
    cfg["quantization_config"] = {"quant_method": "awq", "bits": 4, "group_size": 128,
                                  "version": "gemm"}
    (d / "config.json").write_text(json.dumps(cfg))
    name = "model.layers.0.self_attn.k_proj.weight"
    with qformat.open(d) as model:
        info = model.info(name)
        assert info.method == "awq"
        assert "error" in info.extra
        assert any(name in w for w in model.warnings)
        with pytest.raises(LayoutError) as exc:
            model.get(name)
        assert exc.value.field in ("shape", "parts")  # g_idx has no place in AWQ


def test_shapes_decide_without_config(tmp_path) -> None:
    """AWQ GEMM without any config is told from GPTQ by its [in, out/8] qweight."""
    import shutil

    d = tmp_path / "ckpt"
    shutil.copytree(GEN / "awq-gemm-int4-g64", d)
    (d / "config.json").unlink()
    truth = dict(np.load(d / "truth.npz"))
    with qformat.open(d) as model:
        assert model.quantization()["evidence"][0].startswith("__metadata__")
        for prefix in ("model.layers.0.self_attn.k_proj", "model.layers.0.mlp.down_proj"):
            info = model.info(prefix + ".weight")
            assert info.method == "awq"
            assert info.group_size == 64
            assert np.array_equal(model.get(prefix + ".weight"),
                                  _formula("awq-gemm", truth, prefix, 64))
