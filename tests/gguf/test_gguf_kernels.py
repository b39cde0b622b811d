"""ggml dequantization kernels: Numba vs the numpy reference vs gguf-py, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from qformat.errors import ArgumentError, UnsupportedError
from qformat.kernels import ggml
from qformat.kernels._ref import ggml as ref

from .conftest import bits, same_values

gguf = pytest.importorskip("gguf")

KERNEL_TYPES = sorted(ggml.DEQUANTIZERS)
BLOCK_TYPES = [t for t in KERNEL_TYPES if ggml.BLOCK_GEOMETRY[t][0] > 1]


def _fn(module, type_name: str):
    return getattr(module, f"dequant_{type_name.lower()}")


def _oracle(data: np.ndarray, type_name: str) -> np.ndarray:
    """gguf-py's dequantization of flat raw bytes, flattened."""
    size = ggml.BLOCK_GEOMETRY[type_name][1]
    with np.errstate(all="ignore"):
        return np.asarray(gguf.quants.dequantize(data.reshape(1, -1) if data.size else
                                                 data.reshape(0, size),
                                                 gguf.GGMLQuantizationType[type_name]),
                          dtype=np.float32).reshape(-1)


def test_block_geometry_matches_the_gguf_package() -> None:
    for name, geometry in ggml.BLOCK_GEOMETRY.items():
        qtype = gguf.GGMLQuantizationType[name]
        assert tuple(gguf.GGML_QUANT_SIZES[qtype]) == geometry, name


def test_every_kernel_has_a_reference_and_the_reference_matches_gguf() -> None:
    rng = np.random.default_rng(1)
    for name in KERNEL_TYPES:
        size = ggml.BLOCK_GEOMETRY[name][1]
        data = rng.integers(0, 256, size=9 * size, dtype=np.uint8)
        assert np.array_equal(bits(_fn(ref, name)(data)), bits(_oracle(data, name))), name


@pytest.mark.jit
@pytest.mark.parametrize("type_name", KERNEL_TYPES)
@pytest.mark.parametrize("n_blocks", [1, 3, 1100])  # 1100 > 2 chunks of 512, with a tail
def test_kernel_matches_reference_and_ggufpy_on_random_blocks(type_name: str,
                                                               n_blocks: int) -> None:
    rng = np.random.default_rng(n_blocks)
    size = ggml.BLOCK_GEOMETRY[type_name][1]
    data = rng.integers(0, 256, size=n_blocks * size, dtype=np.uint8)  # NaN/inf scales too
    ours = _fn(ggml, type_name)(data)
    assert ours.dtype == np.float32
    assert ours.shape == (n_blocks * ggml.BLOCK_GEOMETRY[type_name][0],)
    assert same_values(ours, _fn(ref, type_name)(data))
    assert same_values(ours, _oracle(data, type_name))


@pytest.mark.jit
@pytest.mark.parametrize("type_name", BLOCK_TYPES)
def test_kernel_is_bit_identical_with_finite_scales(type_name: str) -> None:
    """With finite scales (every real file) all bits match, NaN payloads included."""
    rng = np.random.default_rng(11)
    _block, size = ggml.BLOCK_GEOMETRY[type_name]
    blocks = rng.integers(0, 256, size=(700, size), dtype=np.uint8)
    halves = rng.uniform(-2.0, 2.0, size=(700, size // 2)).astype("<f2").view(np.uint8)
    if type_name == "MXFP4":
        blocks[:, 0] = rng.integers(100, 150, size=700)
    else:  # every aligned 2-byte field finite: scales, and harmless for the code bytes
        blocks[:, : size // 2 * 2] = halves
    data = blocks.reshape(-1)
    ours = _fn(ggml, type_name)(data)
    assert not np.isnan(ours).any()
    assert np.array_equal(bits(ours), bits(_oracle(data, type_name)))


@pytest.mark.jit
@pytest.mark.parametrize("type_name", BLOCK_TYPES)
def test_kernel_edge_scales(type_name: str) -> None:
    """All-zero blocks, and every half/E8M0 scale field set to extreme values."""
    size = ggml.BLOCK_GEOMETRY[type_name][1]
    rng = np.random.default_rng(7)
    extremes = np.array([0x0000, 0x8000, 0x0001, 0x03FF, 0x0400, 0x7BFF, 0xFBFF, 0x7C00, 0xFC00,
                         0x7E00, 0x7C01, 0x3C00], dtype="<u2")
    blocks = rng.integers(0, 256, size=(len(extremes) + 1, size), dtype=np.uint8)
    blocks[-1] = 0
    # every 2-byte window of the block gets the extreme value: covers d/dmin wherever they are
    for k, value in enumerate(extremes):
        for start in range(0, size - 1, 2):
            blocks[k, start:start + 2] = np.frombuffer(value.tobytes(), np.uint8)
    data = blocks.reshape(-1)
    ours = _fn(ggml, type_name)(data)
    assert same_values(ours, _oracle(data, type_name))
    assert same_values(ours, _fn(ref, type_name)(data))
    zero = ours[-ggml.BLOCK_GEOMETRY[type_name][0]:]
    assert np.all(zero == 0.0) or type_name in ("Q3_K", "IQ4_NL", "IQ4_XS", "MXFP4", "Q4_0",
                                                "Q5_0", "Q6_K")  # zero code != zero value


@pytest.mark.jit
def test_f16_kernel_is_exact_for_all_65536_halves() -> None:
    halves = np.arange(65536, dtype=np.uint16)
    expected = halves.view(np.float16).astype(np.float32)
    assert np.array_equal(bits(ggml.dequant_f16(halves)), bits(expected))
    assert np.array_equal(bits(ggml.dequant_f16(halves.view(np.uint8))), bits(expected))


@pytest.mark.jit
def test_bf16_kernel_is_exact_for_all_65536_patterns() -> None:
    patterns = np.arange(65536, dtype=np.uint16)
    expected = gguf.quants.dequantize(patterns.view(np.uint8).reshape(1, -1),
                                      gguf.GGMLQuantizationType.BF16).reshape(-1)
    assert np.array_equal(bits(ggml.dequant_bf16(patterns)), bits(expected))


@pytest.mark.jit
def test_mxfp4_every_exponent_byte() -> None:
    size = ggml.BLOCK_GEOMETRY["MXFP4"][1]
    blocks = np.zeros((256, size), dtype=np.uint8)
    blocks[:, 0] = np.arange(256)
    blocks[:, 1:] = np.arange(16, dtype=np.uint8) * 17  # every code in both nibbles
    data = blocks.reshape(-1)
    assert np.array_equal(bits(ggml.dequant_mxfp4(data)), bits(_oracle(data, "MXFP4")))


@pytest.mark.jit
def test_kernels_accept_read_only_memory_maps(tmp_path) -> None:
    rng = np.random.default_rng(3)
    size = ggml.BLOCK_GEOMETRY["Q4_K"][1]
    raw = rng.integers(0, 256, size=5 * size, dtype=np.uint8)
    path = tmp_path / "blocks.bin"
    raw.tofile(path)
    mapped = np.memmap(path, dtype=np.uint8, mode="r")
    assert not mapped.flags.writeable
    assert np.array_equal(bits(ggml.dequant_q4_k(mapped)), bits(ggml.dequant_q4_k(raw)))
    # a non-contiguous view is copied, not misread
    strided = np.repeat(raw, 2)[::2]
    assert np.array_equal(bits(ggml.dequant_q4_k(strided)), bits(ggml.dequant_q4_k(raw)))


@pytest.mark.jit
def test_empty_input_gives_empty_output() -> None:
    for name in ("Q4_0", "Q6_K", "F16"):
        out = ggml.dequantize(np.zeros(0, dtype=np.uint8), name)
        assert out.shape == (0,)
        assert out.dtype == np.float32


def test_bad_arguments_are_argument_errors() -> None:
    with pytest.raises(ArgumentError, match="uint8"):
        ggml.dequant_q4_0(np.zeros(18, dtype=np.int8))
    with pytest.raises(ArgumentError, match="whole number of blocks"):
        ggml.dequant_q4_0(np.zeros(19, dtype=np.uint8))
    with pytest.raises(ArgumentError, match="numpy array"):
        ggml.dequant_q8_0(b"\0" * 34)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError):
        ref.dequant_q6_k(np.zeros(209, dtype=np.uint8))
    with pytest.raises(UnsupportedError, match="IQ2_XXS"):
        ggml.dequantize(np.zeros(66, dtype=np.uint8), "IQ2_XXS")


@pytest.mark.jit
@pytest.mark.parametrize("type_name", ["F16", "Q4_0", "Q6_K", "IQ4_XS"])
def test_out_buffer_is_filled_in_place(type_name: str) -> None:
    rng = np.random.default_rng(5)
    block, size = ggml.BLOCK_GEOMETRY[type_name]
    data = rng.integers(0, 256, size=4 * size, dtype=np.uint8)
    out = np.full((2, 2 * block), 7.0, dtype=np.float32)
    result = ggml.dequantize(data, type_name, out=out)
    assert np.shares_memory(result, out)
    assert same_values(out.reshape(-1), ggml.dequantize(data, type_name))
    with pytest.raises(ArgumentError, match="wrong size"):
        ggml.dequantize(data, type_name, out=np.empty(4 * block + 1, np.float32))
    with pytest.raises(ArgumentError, match="float32"):
        ggml.dequantize(data, type_name, out=np.empty(4 * block, np.float64))
    with pytest.raises(ArgumentError, match="C-contiguous"):
        ggml.dequantize(data, type_name, out=np.empty(8 * block, np.float32)[::2])
    frozen = np.empty(4 * block, np.float32)
    frozen.flags.writeable = False
    with pytest.raises(ArgumentError, match="writable"):
        ggml.dequantize(data, type_name, out=frozen)
