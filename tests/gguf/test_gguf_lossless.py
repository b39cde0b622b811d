"""Lossless import: ``GGUFModel.raw(name)`` as a bitpack QTensor whose dequantization is
bit-identical to ``get`` (and to the corpus manifest), through a .qf round trip, in both byte
orders; types bitpack cannot hold keep raising UnsupportedError saying why."""

from __future__ import annotations

import numpy as np
import pytest

import qformat
from qformat.errors import QFormatError, UnsupportedError
from qformat.kernels._ref import bitpack as bitpack_ref
from qformat.kernels._ref import ggml as ref
from qformat.layouts.bitpack import BitPackedLayout, unpack_codes
from qformat.readers._gguf_lossless import (
    LOSSLESS_TYPES,
    bitpack_from_blocks,
    bitpack_from_fields,
)
from qformat.readers.gguf import GGUFModel, read_gguf

from .conftest import CORPUS, FOREIGN, bits, corpus_manifest, corpus_path, sha256_f32

gguf = pytest.importorskip("gguf")

pytestmark = [pytest.mark.foreign, pytest.mark.jit]

#: ggml type -> the bitpack configuration raw() must choose (bits, group_size, zero,
#: scale_dtype, zero_dtype, levels).
EXPECTED_CONFIG = {
    "Q4_0": (4, 32, "none", "F16", None, None),
    "Q4_1": (4, 32, "bias", "F16", "F16", None),
    "Q5_0": (5, 32, "none", "F16", None, None),
    "Q5_1": (5, 32, "bias", "F16", "F16", None),
    "Q8_0": (8, 32, "none", "F16", None, None),
    "Q2_K": (2, 16, "bias", "F32", "F32", None),
    "Q3_K": (3, 16, "none", "F32", None, None),
    "Q4_K": (4, 32, "bias", "F32", "F32", None),
    "Q5_K": (5, 32, "bias", "F32", "F32", None),
    "Q6_K": (6, 16, "none", "F32", None, None),
    "IQ4_NL": (4, 32, "none", "F16", None, "ggml.iq4_nl"),
    "IQ4_XS": (4, 32, "none", "F32", None, "ggml.iq4_nl"),
    "MXFP4": (4, 32, "none", "BF16", None, "ggml.e2m1x2"),
    "NVFP4": (4, 16, "none", "F16", None, "ggml.e2m1x2"),
    "TQ1_0": (2, 256, "none", "F16", None, "ggml.ternary"),
    "TQ2_0": (2, 256, "none", "F16", None, "ggml.ternary"),
}
#: ggml types raw() refuses, with a word its message must contain.
REFUSED = {"IQ2_XXS": "vector-quantized", "IQ2_XS": "vector-quantized",
           "IQ2_S": "vector-quantized", "IQ3_XXS": "vector-quantized",
           "IQ3_S": "vector-quantized", "IQ1_S": "vector-quantized",
           "IQ1_M": "vector-quantized", "Q1_0": "neither qformat nor"}
PLAIN = {"F32", "F16", "BF16", "F64", "I8", "I16", "I32", "I64"}


def check_lossless(model: GGUFModel, name: str) -> qformat.QTensor:
    """raw(name) decodes to get(name) bit for bit, with the documented configuration, through
    the jitted kernels and the numpy reference alike; info() is untouched."""
    info_before = model.info(name).to_dict()
    qt = model.raw(name)
    type_name = info_before["type"]
    expected = model.get(name)
    assert qt.shape == tuple(info_before["shape"]) == expected.shape
    decoded = qt.dequantize()
    assert decoded.dtype == np.float32
    assert np.array_equal(bits(decoded), bits(expected)), f"{name} ({type_name})"
    if type_name in PLAIN:
        assert qt.layout.name == "raw"
    else:
        assert qt.layout.name == "bitpack"
        cfg = qt.layout.to_config()
        assert (cfg["bits"], cfg["group_size"], cfg["zero"], cfg["scale_dtype"],
                cfg["zero_dtype"], cfg["levels"]) == EXPECTED_CONFIG[type_name], name
        assert qt.dtype == "F32"
        with np.errstate(over="ignore"):  # a finite scale times a code may overflow
            numpy_decoded = bitpack_ref.dequantize(**qt.layout.kernel_args(qt))
        assert np.array_equal(bits(numpy_decoded.reshape(qt.shape)), bits(expected)), name
    assert model.info(name).to_dict() == info_before
    return qt


# --- every type of the per-type fixture --------------------------------------------------------
def test_every_lossless_type_is_in_the_per_type_fixture() -> None:
    with read_gguf(FOREIGN / "types.gguf") as model:
        present = {model.info(n).extra["type"] for n in model}
    assert set(EXPECTED_CONFIG) == LOSSLESS_TYPES
    assert present >= LOSSLESS_TYPES
    assert set(REFUSED) <= present


def test_types_fixture_imports_losslessly_and_refuses_what_bitpack_cannot_hold() -> None:
    with read_gguf(FOREIGN / "types.gguf") as model:
        summary = model.quantization()
        imported = set()
        for name in model:
            type_name = model.info(name).extra["type"]
            if type_name in REFUSED:
                with pytest.raises(UnsupportedError, match=REFUSED[type_name]) as err:
                    model.raw(name)
                assert err.value.tensor == name
                assert err.value.path.endswith("types.gguf")
                assert err.value.field == "type" and err.value.found == type_name
                continue
            check_lossless(model, name)
            imported.add(type_name)
        assert imported == LOSSLESS_TYPES | {"F32", "F16", "BF16", "F64", "I8", "I16", "I32",
                                             "I64"}
        assert model.quantization() == summary


def test_three_dimensional_tensor_keeps_its_shape() -> None:
    with read_gguf(FOREIGN / "types.gguf") as model:
        qt = check_lossless(model, "q.Q4_K.3d")
        assert qt.shape == (2, 3, 256)
        assert qt.parts["scales"].shape == (6, 8)


# --- real llama.cpp files ----------------------------------------------------------------------
CORPUS_FILES = [f["filename"] for f in corpus_manifest()["files"]]


@pytest.mark.parametrize("filename", CORPUS_FILES)
def test_corpus_tensors_import_losslessly(filename: str) -> None:
    """Every tensor of llama-quantize's files, against get() and the manifest's sha256."""
    entry = next(f for f in corpus_manifest()["files"] if f["filename"] == filename)
    with qformat.open(corpus_path(filename)) as model:
        summary = model.quantization()
        for t in entry["tensors"]:
            qt = check_lossless(model, t["name"])
            assert sha256_f32(qt.dequantize()) == t["sha256_f32"], t["name"]
        assert model.quantization() == summary


def test_bundled_corpus_files_cover_the_real_tensor_types() -> None:
    """The bundled llama.cpp files alone exercise these types (the rest: shared corpus)."""
    seen = set()
    for path in FOREIGN.glob("tiny-llama-*.gguf"):
        with read_gguf(path) as model:
            seen |= {model.info(n).extra["type"] for n in model}
    assert {"Q4_0", "Q4_K", "Q5_0", "Q6_K", "Q8_0", "IQ4_NL"} <= seen
    if CORPUS.is_dir():
        assert {f["filename"] for f in corpus_manifest()["files"]} == \
            {p.name for p in CORPUS.glob("*.gguf")}


# --- .qf round trip ----------------------------------------------------------------------------
def test_imported_tensors_save_to_qf_and_read_back_bit_identically(tmp_path) -> None:
    path = tmp_path / "types.qf"
    with read_gguf(FOREIGN / "types.gguf") as model:
        names = [n for n in model if model.info(n).extra["type"] not in REFUSED]
        imported = {n: model.raw(n) for n in names}
        values = {n: model.get(n) for n in names}
    qformat.save(path, imported, metadata={"source": "types.gguf"})
    with qformat.open(path) as qf:
        assert qf.keys() == names
        for name in names:
            assert np.array_equal(bits(qf.get(name)), bits(values[name])), name
            back = qf.raw(name)
            qt = imported[name]
            assert back.layout == qt.layout
            assert back.shape == qt.shape
            assert sorted(back.parts) == sorted(qt.parts)
            for part, arr in qt.parts.items():
                assert np.array_equal(back.parts[part].view(np.uint8),
                                      arr.view(np.uint8)), (name, part)
            info = qf.info(name)
            assert info.method == ("none" if qt.layout.name == "raw" else "bitpack")
            assert info.nbytes == qt.nbytes


def test_codes_are_the_ggml_codes_in_weight_order() -> None:
    """Q8_0 codes are the stored int8 values + 128, in the file's weight order."""
    with read_gguf(FOREIGN / "types.gguf") as model:
        qt = model.raw("q.Q8_0")
        blocks = model._bytes(model._entry("q.Q8_0")).reshape(-1, 34)
        stored = blocks[:, 2:].view(np.int8).astype(np.int16).reshape(3, 256)
        assert np.array_equal(unpack_codes(qt).astype(np.int16) - 128, stored)
        halves = blocks[:, :2].copy().view("<f2").reshape(3, 8)
        assert np.array_equal(qt.parts["scales"].view(np.uint16), halves.view(np.uint16))


# --- byte order --------------------------------------------------------------------------------
@pytest.mark.parametrize("stem", ["be-convert", "be-own"])
def test_big_endian_blocks_import_like_their_little_endian_twin(stem: str) -> None:
    with read_gguf(FOREIGN / f"{stem}-le.gguf") as le, read_gguf(FOREIGN / f"{stem}-be.gguf") as be:
        assert be.header.byte_order == ">"
        seen = set()
        for name in le:
            type_name = le.info(name).extra["type"]
            qt_be = check_lossless(be, name)
            qt_le = le.raw(name)
            assert np.array_equal(bits(qt_be.dequantize()), bits(le.get(name))), name
            assert qt_be.layout == qt_le.layout
            for part, arr in qt_le.parts.items():
                assert np.array_equal(qt_be.parts[part].view(np.uint8), arr.view(np.uint8))
            seen.add(type_name)
    block_types = seen - PLAIN
    assert block_types <= LOSSLESS_TYPES
    assert len(block_types) >= 5


def test_big_endian_twins_cover_every_block_type_with_multibyte_fields() -> None:
    seen = set()
    for stem in ("be-convert", "be-own"):
        with read_gguf(FOREIGN / f"{stem}-be.gguf") as be:
            seen |= {be.info(n).extra["type"] for n in be}
    assert LOSSLESS_TYPES - {"NVFP4"} <= seen  # NVFP4 has only single-byte fields


# --- what bitpack cannot hold ------------------------------------------------------------------
def _write(path, tensors) -> None:
    w = gguf.GGUFWriter(path, "llama")
    for name, array, raw_dtype in tensors:
        w.add_tensor(name, array, raw_dtype=raw_dtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def _blocks(type_name: str, n_blocks: int, seed: int) -> np.ndarray:
    """Random blocks with finite half-precision fields (scales), as gguf-py would store."""
    size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType[type_name]][1]
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 256, size=(n_blocks, size), dtype=np.uint8)
    halves = rng.uniform(-0.05, 0.05, size=(n_blocks, size // 2)).astype("<f2")
    raw[:, : size // 2 * 2] = halves.view(np.uint8)
    return raw


@pytest.mark.parametrize(("type_name", "offset", "what"), [
    ("Q4_0", 0, "scale"), ("Q4_1", 2, "min \\(m\\)"), ("Q4_K", 0, "scale"),
    ("Q4_K", 2, "min \\(dmin"), ("Q2_K", 82, "min \\(dmin"), ("Q6_K", 208, "scale"),
])
def test_nonfinite_scale_or_min_is_refused_naming_the_block(tmp_path, type_name: str,
                                                            offset: int, what: str) -> None:
    """ggml decodes a NaN/inf scale to NaN/inf values; bitpack requires finite scales, so
    raw() says which block holds one (get() still decodes it)."""
    blocks = _blocks(type_name, 6, seed=offset)
    blocks[4, offset:offset + 2] = np.array([np.inf], dtype="<f2").view(np.uint8)
    path = tmp_path / f"inf-{type_name}.gguf"
    block = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType[type_name]][0]
    _write(path, [("w", blocks.reshape(2, -1), gguf.GGMLQuantizationType[type_name])])
    with read_gguf(path) as model:
        assert model.info("w").shape == (2, 3 * block)
        assert not np.isfinite(model.get("w")).all()
        with pytest.raises(UnsupportedError, match=f"block 4 has a NaN or infinite {what}") \
                as err:
            model.raw("w")
        assert err.value.tensor == "w"
        assert err.value.path == str(path)
        assert err.value.field == "blocks[4]"


def test_types_without_a_decoder_and_unknown_ids_are_refused() -> None:
    with qformat.open(FOREIGN / "unknown-type.gguf") as model:
        with pytest.raises(UnsupportedError, match="type id 42") as err:
            model.raw("b.newer")
        assert err.value.tensor == "b.newer"
        check_lossless(model, "a")  # Q4_0 beside it imports
    with pytest.raises(UnsupportedError, match="no exact bitpack mapping is defined for Q1_0"):
        bitpack_from_blocks(np.zeros(18, np.uint8), "Q1_0", (1, 128))
    with pytest.raises(UnsupportedError, match="IQ2_S is vector-quantized"):
        bitpack_from_blocks(np.zeros(82, np.uint8), "IQ2_S", (1, 256))
    with pytest.raises(QFormatError, match="no such tensor"):
        read_gguf(FOREIGN / "types.gguf").raw("missing")


def test_ggml_dot_product_types_are_refused(tmp_path) -> None:
    """Q8_K and Q8_1 have no decoder in qformat or gguf 0.19: nothing to be identical to."""
    path = tmp_path / "q8k.gguf"
    _write(path, [("k", np.zeros((1, 292), np.uint8), gguf.GGMLQuantizationType.Q8_K),
                  ("one", np.zeros((1, 40), np.uint8), gguf.GGMLQuantizationType.Q8_1)])
    with read_gguf(path) as model:
        for name, type_name in (("k", "Q8_K"), ("one", "Q8_1")):
            assert model.info(name).extra["dequantize"] == "none"
            with pytest.raises(UnsupportedError, match=f"decodes {type_name}, so there is no"):
                model.raw(name)


def test_fields_bitpack_has_no_formula_for_are_refused() -> None:
    """Guard of the mapping: an offset other than bitpack's implied 2**(bits-1)."""
    fields = ref.split_q4_0(_blocks("Q4_0", 2, seed=3).reshape(-1))
    with pytest.raises(UnsupportedError, match="no formula"):
        bitpack_from_fields(fields._replace(offset=7), "Q4_0", (2, 32))
    with pytest.raises(UnsupportedError, match="no formula"):
        bitpack_from_fields(fields._replace(offset=0), "Q4_0", (2, 32))
    assert bitpack_from_fields(fields, "Q4_0", (2, 32)).shape == (2, 32)


def test_empty_tensor_imports(tmp_path) -> None:
    path = tmp_path / "empty.gguf"
    _write(path, [("e", np.zeros((0, 144), np.uint8), gguf.GGMLQuantizationType.Q4_K),
                  ("w", _blocks("Q4_K", 2, seed=5), gguf.GGMLQuantizationType.Q4_K)])
    with read_gguf(path) as model:
        qt = model.raw("e")
        assert qt.shape == model.info("e").shape == (0, 256)
        assert qt.dequantize().shape == (0, 256)
        check_lossless(model, "w")


# --- why the import is exact -------------------------------------------------------------------
def test_products_of_a_half_and_a_small_integer_are_exact_in_float32() -> None:
    """d * sc (K-quant sub-block scales: -128..127 for Q6_K, 0..63 for Q4_K/Q5_K mins) is
    exact in float32 for every finite half d: the value stored equals the real product."""
    halves = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
    halves = halves[np.isfinite(halves)].astype(np.float32)
    for sc in range(-128, 128):
        product = halves * np.float32(sc)
        assert np.array_equal(product.astype(np.float64), halves.astype(np.float64) * sc), sc


def test_mxfp4_and_nvfp4_scales_fit_their_narrow_storage_exactly() -> None:
    every_byte = np.arange(256, dtype=np.uint8)
    mx = ref.split_mxfp4(np.repeat(every_byte, 17).reshape(256, 17)
                         .copy().reshape(-1)).scale.reshape(-1)
    assert np.all(mx.view(np.uint32) & 0xFFFF == 0)  # a float32 with a BF16 bit pattern
    assert mx[0] == 2.0 ** -128 and mx[255] == 2.0 ** 127
    nv_blocks = np.zeros((64, 36), dtype=np.uint8)
    nv_blocks[:, :4] = every_byte.reshape(64, 4)
    nv = ref.split_nvfp4(nv_blocks.reshape(-1)).scale.reshape(-1)
    assert np.array_equal(nv.astype(np.float16).astype(np.float32).view(np.uint32),
                          nv.view(np.uint32))


def test_extreme_scales_survive_the_import(tmp_path) -> None:
    """Subnormal and largest halves, MXFP4 exponents 0, 1 and 255 (2**-128 .. 2**127)."""
    q4k = _blocks("Q4_K", 4, seed=9)
    q4k[:, 0:2] = np.array([6e-8, 65504.0, -6e-8, -65504.0], "<f2").view(np.uint8).reshape(4, 2)
    q4k[:, 2:4] = np.array([65504.0, 6e-8, 0.0, -0.0], "<f2").view(np.uint8).reshape(4, 2)
    mx = _blocks("MXFP4", 8, seed=10)
    mx[:, 0] = [0, 1, 2, 127, 128, 200, 254, 255]
    path = tmp_path / "extreme.gguf"
    _write(path, [("k", q4k.reshape(1, -1), gguf.GGMLQuantizationType.Q4_K),
                  ("mx", mx.reshape(2, -1), gguf.GGMLQuantizationType.MXFP4)])
    with read_gguf(path) as model:
        for name in ("k", "mx"):
            check_lossless(model, name)


def test_imported_tensor_outlives_the_model() -> None:
    """The QTensor holds its own arrays, not views of the file's memory map."""
    with read_gguf(FOREIGN / "types.gguf") as model:
        for name in ("q.Q8_0", "q.Q4_1", "q.Q4_K"):
            qt, expected = model.raw(name), model.get(name)
            mapped = model._bytes(model._entry(name))
            assert not any(np.shares_memory(arr, mapped) for arr in qt.parts.values()), name
    assert np.array_equal(bits(qt.dequantize()), bits(expected))


def test_importer_output_is_a_valid_bitpack_tensor() -> None:
    """The QTensor is built through BitPackedLayout.from_codes and passes its checks."""
    with read_gguf(FOREIGN / "types.gguf") as model:
        qt = model.raw("q.Q5_K")
    assert isinstance(qt.layout, BitPackedLayout)
    qt.check()
    assert qt.info("x").method == "bitpack"


def test_imported_k_quant_multiplies_like_its_dequantized_weight() -> None:
    """linear(x) = x @ W.T on the imported tensor, within bitpack's float32 tolerance."""
    with read_gguf(FOREIGN / "tiny-llama-Q4_K_M.gguf") as model:
        name = next(n for n in model if model.info(n).extra["type"] == "Q4_K"
                    and len(model.info(n).shape) == 2)
        qt, weight = model.raw(name), model.get(name)
    x = np.random.default_rng(2).normal(size=(3, weight.shape[1])).astype(np.float32)
    want = x.astype(np.float64) @ weight.T.astype(np.float64)
    got = qt.linear(x)
    err = np.abs(got - want).max() / np.abs(want).max()
    assert err <= 1e-5 * np.sqrt(weight.shape[1])
