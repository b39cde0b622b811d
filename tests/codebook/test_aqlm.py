"""AQLM import: the corpus checkpoint dequantizes bit-identically to AQLM's own reference.

Ground truth: ``fixtures/foreign/safetensors/corpus/manifest.json`` (sha256 of the float32 weight
that ``aqlm.utils._dequantize_weight`` produced) and ``refs/aqlm-2x8-g8.npz``.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

import qformat
from qformat.layouts.codebook import from_aqlm

from .conftest import AQLM_REF

pytestmark = [pytest.mark.foreign, pytest.mark.jit]

CONFIG = {"in_group_size": 8, "out_group_size": 1, "num_codebooks": 2, "nbits_per_codebook": 8}


def _sha(w: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(w, dtype="<f4").tobytes()).hexdigest()


def _layer(tensors, module):
    return (tensors[f"{module}.codes"], tensors[f"{module}.codebooks"],
            tensors[f"{module}.scales"])


def test_corpus_config_matches(aqlm_entry):
    assert {k: aqlm_entry["tool_settings"][k] for k in
            ("num_codebooks", "nbits_per_codebook", "in_group_size", "out_group_size")} == CONFIG


def test_reference_layers_bit_identical(aqlm_entry, aqlm_tensors):
    """QF-CODEBOOK-005: dequantization equals AQLM's, sha256 of the float32 weight."""
    layers = aqlm_entry["reference"]["layers"]
    assert len(layers) >= 2
    for module, truth in layers.items():
        qt = from_aqlm(*_layer(aqlm_tensors, module), **CONFIG)
        w = qt.dequantize()
        assert w.shape == tuple(truth["shape"])
        assert _sha(w) == truth["sha256_f32"], module
    ref = np.load(AQLM_REF)
    module = "model.layers.0.self_attn.k_proj"
    w = from_aqlm(*_layer(aqlm_tensors, module), **CONFIG).dequantize()
    assert np.array_equal(w.view(np.uint32), ref[module].view(np.uint32))


def test_signed_storage_is_interpreted(aqlm_tensors):
    """Negative int8 codes are codes >= 128: the checkpoint really uses them."""
    codes = aqlm_tensors["model.layers.0.self_attn.k_proj.codes"]
    assert codes.dtype == np.int8
    assert (codes < 0).any()
    qt = from_aqlm(*_layer(aqlm_tensors, "model.layers.0.self_attn.k_proj"), **CONFIG)
    stored = qt.parts["codes"].reshape(codes.shape)
    assert np.array_equal(stored, codes.view(np.uint8))


def test_every_quantized_layer_imports(aqlm_entry, aqlm_tensors):
    for layer in aqlm_entry["quantized_layers"]:
        qt = from_aqlm(*_layer(aqlm_tensors, layer["module"]), **CONFIG)
        info = qt.info(layer["module"] + ".weight")
        assert list(qt.shape) == layer["shape_out_in"]
        assert info.method == "codebook"
        assert info.bits == layer["bits"] == 2
        assert info.group_size == layer["group_size"] == 8
        # the checkpoint stores exactly these bytes (codes + codebooks + scales)
        assert info.bits_per_weight == layer["stored_bits_per_weight"]


def test_save_and_read_back_bit_identical(aqlm_entry, aqlm_tensors, tmp_path):
    """QF-CODEBOOK-006: AQLM layers survive a .qf round trip bit for bit."""
    tensors = {layer["module"] + ".weight": from_aqlm(*_layer(aqlm_tensors, layer["module"]),
                                                      **CONFIG)
               for layer in aqlm_entry["quantized_layers"]}
    path = tmp_path / "aqlm.qf"
    qformat.save(path, tensors, metadata={"source": "aqlm-2x8-g8"})
    with qformat.open(path) as model:
        for name, qt in tensors.items():
            back = model.raw(name)
            assert back.layout == qt.layout
            assert back.shape == qt.shape
            assert back.dtype == "F16"
            for part, arr in qt.parts.items():
                assert np.array_equal(back.parts[part].view(np.uint8), arr.view(np.uint8))
            assert np.array_equal(model.get(name).view(np.uint32),
                                  qt.dequantize().view(np.uint32))
        truth = aqlm_entry["reference"]["layers"]["model.layers.0.self_attn.k_proj"]
        assert _sha(model.get("model.layers.0.self_attn.k_proj.weight")) == truth["sha256_f32"]
        info = model.info("model.layers.0.self_attn.k_proj.weight").to_dict()
        assert (info["method"], info["bits"], info["group_size"]) == ("codebook", 2, 8)
        assert (info["mode"], info["group_shape"]) == ("additive", [1, 8])


def test_linear_matches_dequantized(aqlm_tensors, rng):
    qt = from_aqlm(*_layer(aqlm_tensors, "model.layers.0.mlp.down_proj"), **CONFIG)
    w = qt.dequantize().astype(np.float64)
    for batch in (1, 3):
        x = rng.standard_normal((batch, w.shape[1])).astype(np.float32)
        np.testing.assert_allclose(qt.linear(x), x @ w.T, rtol=0, atol=1e-5 * np.abs(x).sum())


def _generated_aqlm(rng, out, inp, m, bits, og, ig, storage):
    """AQLM-format arrays made from the documented layout (for configs the corpus lacks)."""
    size = 1 << bits
    codes = rng.integers(0, size, (out // og, inp // ig, m))
    codes = np.where(codes >= size // 2, codes - size, codes).astype(storage)  # pack_int_data
    books = (rng.standard_normal((m, size, og, ig)) * 0.1).astype(np.float16)
    scales = rng.uniform(0.5, 2.0, (out // og, 1, 1, 1)).astype(np.float16)
    return codes, books, scales


def _aqlm_reference(codes, books, scales, bits):
    """AQLM's _dequantize_weight in numpy: embedding-bag sum in float32, then * scale."""
    idx = codes.astype(np.int64) % (1 << bits)
    m, _, og, ig = books.shape
    acc = np.zeros((*idx.shape[:2], og, ig), dtype=np.float32)
    for c in range(m):
        acc = acc + books[c].astype(np.float32)[idx[:, :, c]]
    acc = acc * scales.astype(np.float32)
    return acc.swapaxes(1, 2).reshape(idx.shape[0] * og, idx.shape[1] * ig)


@pytest.mark.parametrize(("m", "bits", "og", "ig", "storage"), [
    (1, 16, 1, 2, np.int16),   # 16-bit codes (1x16 is not in the corpus: generated here)
    (2, 8, 1, 8, np.int8),
    (8, 8, 1, 8, np.int8),
    (1, 8, 2, 4, np.int8),     # out groups of 2 share a scale
    (3, 12, 1, 4, np.int16),   # 12-bit codes in int16
])
def test_generated_configs(rng, m, bits, og, ig, storage, tmp_path):
    codes, books, scales = _generated_aqlm(rng, 16, 32, m, bits, og, ig, storage)
    qt = from_aqlm(codes, books, scales, in_group_size=ig, out_group_size=og,
                   num_codebooks=m, nbits_per_codebook=bits)
    want = _aqlm_reference(codes, books, scales, bits)
    assert np.array_equal(qt.dequantize().view(np.uint32), want.view(np.uint32))
    qformat.save(tmp_path / "t.qf", {"w": qt})
    with qformat.open(tmp_path / "t.qf") as model:
        assert np.array_equal(model.get("w").view(np.uint32), want.view(np.uint32))
    x = rng.standard_normal((2, 32)).astype(np.float32)
    np.testing.assert_allclose(qt.linear(x), x.astype(np.float64) @ want.astype(np.float64).T,
                               rtol=0, atol=1e-5 * np.abs(x).sum() * np.abs(want).max())


class TestBadInput:
    def _args(self, rng):
        return _generated_aqlm(rng, 8, 16, 2, 8, 1, 8, np.int8)

    def test_code_beyond_codebook(self, rng):
        codes, books, scales = _generated_aqlm(rng, 8, 16, 1, 10, 1, 8, np.int16)
        codes[0, 0, 0] = 1024  # 10-bit codes: 1024 is past the 1024-entry codebook
        with pytest.raises(qformat.LayoutError, match="beyond the codebook") as err:
            from_aqlm(codes, books, scales, in_group_size=8, out_group_size=1,
                      num_codebooks=1, nbits_per_codebook=10)
        assert err.value.field == "codes"
        codes[0, 0, 0] = -513  # below the signed-storage range
        with pytest.raises(qformat.LayoutError, match="beyond the codebook"):
            from_aqlm(codes, books, scales, in_group_size=8, out_group_size=1,
                      num_codebooks=1, nbits_per_codebook=10)

    def test_codebook_shape_mismatch(self, rng):
        codes, books, scales = self._args(rng)
        with pytest.raises(qformat.LayoutError, match="codebooks do not match") as err:
            from_aqlm(codes, books[:, :128], scales, in_group_size=8, out_group_size=1,
                      num_codebooks=2, nbits_per_codebook=8)
        assert err.value.field == "codebooks"
        with pytest.raises(qformat.LayoutError, match="codebooks do not match"):
            from_aqlm(codes, books, scales, in_group_size=4, out_group_size=1,
                      num_codebooks=2, nbits_per_codebook=8)
        with pytest.raises(qformat.LayoutError, match="num_codebooks"):
            from_aqlm(codes, books, scales, in_group_size=8, out_group_size=1,
                      num_codebooks=3, nbits_per_codebook=8)

    def test_scales_mismatch(self, rng):
        codes, books, scales = self._args(rng)
        with pytest.raises(qformat.LayoutError, match="scales") as err:
            from_aqlm(codes, books, scales[:4], in_group_size=8, out_group_size=1,
                      num_codebooks=2, nbits_per_codebook=8)
        assert err.value.field == "scales"

    def test_nan_in_codebooks(self, rng):
        codes, books, scales = self._args(rng)
        books[1, 7, 0, 3] = np.nan
        with pytest.raises(qformat.IntegrityError, match="NaN") as err:
            from_aqlm(codes, books, scales, in_group_size=8, out_group_size=1,
                      num_codebooks=2, nbits_per_codebook=8)
        assert err.value.field == "parts.codebooks"

    def test_inf_in_scales(self, rng):
        codes, books, scales = self._args(rng)
        scales[3] = np.inf
        with pytest.raises(qformat.IntegrityError, match="scales"):
            from_aqlm(codes, books, scales, in_group_size=8, out_group_size=1,
                      num_codebooks=2, nbits_per_codebook=8)

    @pytest.mark.parametrize("bad", [0, 17, True, 8.0])
    def test_bad_config_numbers(self, rng, bad):
        codes, books, scales = self._args(rng)
        with pytest.raises(qformat.LayoutError, match=r"out of range"):
            from_aqlm(codes, books, scales, in_group_size=8, out_group_size=1,
                      num_codebooks=2, nbits_per_codebook=bad)

    def test_float_codes_rejected(self, rng):
        codes, books, scales = self._args(rng)
        with pytest.raises(qformat.LayoutError, match="integers"):
            from_aqlm(codes.astype(np.float32), books, scales, in_group_size=8,
                      out_group_size=1, num_codebooks=2, nbits_per_codebook=8)


@pytest.mark.parametrize("storage", [">i2", "<u2", "<i4"])
def test_other_code_storage(rng, storage):
    """Big-endian, unsigned and wider storage of 16-bit codes decode the same codes."""
    codes, books, scales = _generated_aqlm(rng, 8, 8, 1, 16, 1, 2, np.int16)
    want = _aqlm_reference(codes, books, scales, 16)
    stored = (codes.astype(np.int64) % 65536 if storage == "<u2" else codes).astype(storage)
    qt = from_aqlm(stored, books, scales, in_group_size=2, out_group_size=1, num_codebooks=1,
                   nbits_per_codebook=16)
    assert np.array_equal(qt.dequantize().view(np.uint32), want.view(np.uint32))


def test_qformat_open_gives_codebook_tensors(aqlm_entry, aqlm_tensors, tmp_path):
    """End to end through the safetensors reader: ``raw`` is this layout, ``get`` its decode,
    and a whole-checkpoint conversion to .qf keeps every layer bit-identical."""
    from .conftest import AQLM_DIR

    converted = {}
    with qformat.open(AQLM_DIR) as model:
        for layer in aqlm_entry["quantized_layers"]:
            name = layer["module"] + ".weight"
            qt = model.raw(name)
            assert qt.layout == from_aqlm(*_layer(aqlm_tensors, layer["module"]), **CONFIG).layout
            w = model.get(name)
            assert np.array_equal(w.view(np.uint32), qt.dequantize().view(np.uint32))
            converted[name] = qt
        truth = aqlm_entry["reference"]["layers"]["model.layers.1.mlp.down_proj"]
        assert _sha(model.get("model.layers.1.mlp.down_proj.weight")) == truth["sha256_f32"]
    qformat.save(tmp_path / "aqlm.qf", converted)
    with qformat.open(tmp_path / "aqlm.qf") as back:
        for name, qt in converted.items():
            assert np.array_equal(back.get(name).view(np.uint32), qt.dequantize().view(np.uint32))
