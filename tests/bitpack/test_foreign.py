"""Real quantized files held losslessly by bitpack (what the format importers will do).

Each test unpacks a file made by the real tool (GPTQModel, mlx-lm, HQQ, bitsandbytes,
llama.cpp's llama-quantize) with numpy, builds the tensor with
``BitPackedLayout.from_codes`` and requires the bitpack decode to equal the producing library's
own float32 dequantization bit for bit (sha256 from the corpus manifests, see
``fixtures/foreign/bitpack-refs.json``). Covers every zero-point mode, level tables, F32
sub-block scales of the K-quants and 5/6-bit codes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from qformat.kernels._ref.bitpack import dequantize as ref_dequantize
from qformat.kernels._ref.bitpack import unpack_codes as ref_unpack
from qformat.layouts.bitpack import BitPackedLayout, unpack_codes

pytestmark = [pytest.mark.foreign, pytest.mark.jit]

FOREIGN = Path(__file__).resolve().parents[2] / "fixtures" / "foreign"
REFS = json.loads((FOREIGN / "bitpack-refs.json").read_text())


def sha256_f32(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a, dtype="<f4").tobytes()).hexdigest()


def check(qt, ref_sha: str, npz: np.ndarray | None = None) -> None:
    w = qt.dequantize()
    if npz is not None:
        assert np.array_equal(w.view(np.uint32), npz.view(np.uint32))
    assert sha256_f32(w) == ref_sha
    # the numpy reference agrees
    assert sha256_f32(ref_dequantize(**qt.layout.kernel_args(qt)).reshape(qt.shape)) == ref_sha


def st_layer(name: str) -> tuple[dict[str, np.ndarray], dict, np.ndarray]:
    from safetensors import safe_open

    entry = REFS["safetensors"][name]
    prefix = entry["layer"] + "."
    with safe_open(FOREIGN / "safetensors" / "corpus" / name / "model.safetensors", "np") as f:
        names = [k for k in f.keys() if k.startswith(prefix)]
        layer = {k[len(prefix):]: f.get_tensor(k) for k in names}
    ref = np.load(FOREIGN / "safetensors" / "refs" / f"{name}.npz")[entry["layer"]]
    return layer, entry, ref


def nibbles_lsb_first(words: np.ndarray, axis: int) -> np.ndarray:
    """int32 words -> 8 nibbles each, least significant first, expanded along ``axis``."""
    u = words.view(np.uint32)
    parts = [(u >> (4 * t)) & 15 for t in range(8)]
    return np.stack(parts, axis=axis + 1).reshape(
        *u.shape[:axis], u.shape[axis] * 8, *u.shape[axis + 1:]).astype(np.uint8)


def test_mlx_affine_is_bias_mode_and_byte_identical():
    """MLX: w = scale*q + bias; its uint32 rows are already our LSB-first stream."""
    layer, entry, ref = st_layer("mlx-int4-g64")
    packed = layer["weight"].view(np.uint8)
    k = packed.shape[1] * 2
    codes = ref_unpack(np.ascontiguousarray(packed), 4, k)
    qt = BitPackedLayout.from_codes(codes, layer["scales"], bias=layer["biases"], bits=4,
                                    group_size=64)
    assert qt.layout.zero == "bias"
    assert np.array_equal(qt.parts["codes"], packed)  # zero-copy import is possible
    assert np.array_equal(unpack_codes(qt), codes)
    check(qt, entry["sha256_f32"], ref)


def test_gptq_int_zero_points_and_g_idx():
    """GPTQ v1: codes packed down the input axis, stored zero = zero - 1, g_idx groups."""
    layer, entry, ref = st_layer("gptq-int4-g128-sym")
    q = nibbles_lsb_first(layer["qweight"], axis=0)               # [in, out]
    z = (nibbles_lsb_first(layer["qzeros"], axis=1).astype(np.int32) + 1) & 15  # [G, out]
    qt = BitPackedLayout.from_codes(q.T, layer["scales"].T, z.T, bits=4, group_size=128,
                                    g_idx=layer["g_idx"])
    assert qt.layout.zero == "int"
    assert not qt.layout.perm  # g_idx = i // 128 is the identity order: no permutation stored
    check(qt, entry["sha256_f32"], ref)


def test_gptq_act_order_permutation():
    """The same layer with its columns shuffled and g_idx permuted (desc_act) decodes to the
    same weight with columns shuffled: perm part, groups in stored order, linear applies it."""
    layer, _, ref = st_layer("gptq-int4-g128-sym")
    q = nibbles_lsb_first(layer["qweight"], axis=0).T
    z = ((nibbles_lsb_first(layer["qzeros"], axis=1).astype(np.int32) + 1) & 15).T
    shuffle = np.random.default_rng(0).permutation(q.shape[1])
    g_idx = layer["g_idx"][shuffle]
    qt = BitPackedLayout.from_codes(q[:, shuffle], layer["scales"].T, z, bits=4,
                                    group_size=128, g_idx=g_idx)
    assert qt.layout.perm
    w = qt.dequantize()
    assert np.array_equal(w.view(np.uint32), ref[:, shuffle].view(np.uint32))
    x = np.random.default_rng(1).standard_normal((2, q.shape[1])).astype(np.float32)
    np.testing.assert_allclose(qt.linear(x), x @ ref[:, shuffle].T, rtol=1e-4, atol=1e-5)


def test_hqq_float_zero_points():
    """HQQ: W_q slices (first slice in the high nibble), float zero not rounded."""
    layer, entry, ref = st_layer("hqq-int4-g64")
    wq = layer["W_q"]
    grouped = np.concatenate([wq >> 4, wq & 15])               # [G, 64] groups in order
    out, k = (int(v) for v in layer["shape"])
    qt = BitPackedLayout.from_codes(grouped.reshape(out, k), layer["scale"].reshape(out, -1),
                                    layer["zero"].reshape(out, -1), bits=4,
                                    group_size=int(layer["group_size"]))
    assert (qt.layout.zero, qt.layout.zero_dtype) == ("float", "F16")
    check(qt, entry["sha256_f32"], ref)


def test_bitsandbytes_nf4_level_table():
    """bnb NF4: w = quant_map[code] * absmax, first element in the high nibble; the file's
    quant_map is our built-in nf4 table bit for bit."""
    layer, entry, ref = st_layer("bnb-nf4")
    state = json.loads(bytes(layer["weight.quant_state.bitsandbytes__nf4"]).decode())
    out, k = state["shape"]
    flat = layer["weight"].reshape(-1)
    codes = np.stack([flat >> 4, flat & 15], axis=1).reshape(out, k)
    qt = BitPackedLayout.from_codes(codes, layer["weight.absmax"].reshape(out, -1), bits=4,
                                    group_size=state["blocksize"], levels="nf4")
    assert np.array_equal(qt.parts["levels"].view(np.uint32),
                          layer["weight.quant_map"].view(np.uint32))
    check(qt, entry["sha256_f32"], ref)


# -- GGUF ---------------------------------------------------------------------------------------
def _f16(raw: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(raw).view(np.float16)[..., 0]


def gguf_q4_0(blocks):  # [rows, nb, 18]
    d = _f16(blocks[..., :2])
    qs = blocks[..., 2:]
    codes = np.concatenate([qs & 15, qs >> 4], axis=-1)            # 32 codes per block
    return {"codes": codes, "scales": d, "bits": 4, "group_size": 32}


def gguf_q5_0(blocks):  # [rows, nb, 22]
    d = _f16(blocks[..., :2])
    qh = np.ascontiguousarray(blocks[..., 2:6]).view(np.uint32)[..., 0]
    qs = blocks[..., 6:]
    low = np.concatenate([qs & 15, qs >> 4], axis=-1)
    high = (qh[..., None] >> np.arange(32, dtype=np.uint32)) & 1
    return {"codes": (low | (high << 4)).astype(np.uint8), "scales": d, "bits": 5,
            "group_size": 32}


def gguf_q8_0(blocks):  # [rows, nb, 34]
    d = _f16(blocks[..., :2])
    qs = blocks[..., 2:].view(np.int8).astype(np.int16) + 128      # signed -> unsigned code
    return {"codes": qs.astype(np.uint8), "scales": d, "bits": 8, "group_size": 32}


def gguf_iq4_nl(blocks):
    from gguf.quants import IQ4_NL

    out = gguf_q4_0(blocks)
    out["levels"] = np.array(IQ4_NL.kvalues, np.float32)
    out["level_name"] = "iq4_nl"
    return out


def gguf_q4_k(blocks):  # [rows, nb, 144]: 8 sub-blocks of 32 -> F32 scale and bias each
    from gguf.quants import Q4_K

    rows, nb = blocks.shape[:2]
    flat = blocks.reshape(rows * nb, 144)
    d = _f16(flat[:, 0:2]).astype(np.float32)
    dmin = _f16(flat[:, 2:4]).astype(np.float32)
    sc, m = Q4_K.get_scale_min(flat[:, 4:16])
    qs = flat[:, 16:].reshape(-1, 4, 32)
    codes = np.stack([qs & 15, qs >> 4], axis=2).reshape(rows, nb * 256)
    s = (d[:, None] * sc.reshape(-1, 8).astype(np.float32)).reshape(rows, nb * 8)
    b = -(dmin[:, None] * m.reshape(-1, 8).astype(np.float32)).reshape(rows, nb * 8)
    return {"codes": codes, "scales": s, "bias": b, "bits": 4, "group_size": 32}


def gguf_q6_k(blocks):  # [rows, nb, 210]: 16 sub-blocks of 16, s = d * scale (F32)
    rows, nb = blocks.shape[:2]
    flat = blocks.reshape(rows * nb, 210)
    ql, qh = flat[:, :128], flat[:, 128:192]
    sc = flat[:, 192:208].view(np.int8).astype(np.float32)
    d = _f16(flat[:, 208:210]).astype(np.float32)
    codes = np.empty((rows * nb, 256), np.uint8)
    for half in range(2):
        lo, hi = ql[:, 64 * half:64 * half + 64], qh[:, 32 * half:32 * half + 32]
        base = 128 * half
        codes[:, base:base + 32] = (lo[:, :32] & 15) | ((hi & 3) << 4)
        codes[:, base + 32:base + 64] = (lo[:, 32:] & 15) | (((hi >> 2) & 3) << 4)
        codes[:, base + 64:base + 96] = (lo[:, :32] >> 4) | (((hi >> 4) & 3) << 4)
        codes[:, base + 96:base + 128] = (lo[:, 32:] >> 4) | (((hi >> 6) & 3) << 4)
    s = (d[:, None] * sc).reshape(rows, nb * 16)
    return {"codes": codes.reshape(rows, nb * 256), "scales": s, "bits": 6, "group_size": 16}


GGUF_DECODERS = {"Q4_0": (gguf_q4_0, 18), "Q5_0": (gguf_q5_0, 22), "Q8_0": (gguf_q8_0, 34),
                 "IQ4_NL": (gguf_iq4_nl, 18), "Q4_K": (gguf_q4_k, 144),
                 "Q6_K": (gguf_q6_k, 210)}


@pytest.mark.parametrize("filename", sorted(REFS["gguf"]))
def test_gguf_tensors(filename):
    """Every quantized tensor of the file: Q4_0/Q5_0/Q8_0 (none), IQ4_NL (int8 table),
    Q4_K (bias with F32 sub-block scales), Q6_K (6-bit none with F32 sub-block scales)."""
    import gguf

    refs = REFS["gguf"][filename]["tensors"]
    reader = gguf.GGUFReader(FOREIGN / "gguf" / filename)
    seen = set()
    for t in reader.tensors:
        if t.name not in refs:
            continue
        kind = t.tensor_type.name
        decoder, size = GGUF_DECODERS[kind]
        shape = tuple(refs[t.name]["shape_numpy"])
        rows = int(np.prod(shape[:-1]))
        blocks = np.asarray(t.data).reshape(rows, -1, size)
        args = decoder(blocks)
        codes = np.asarray(args.pop("codes")).reshape(shape)
        scales = args.pop("scales")
        qt = BitPackedLayout.from_codes(codes, scales.reshape(rows, -1), **args)
        assert sha256_f32(qt.dequantize()) == refs[t.name]["sha256_f32"], (t.name, kind)
        seen.add(kind)
    assert seen == {REFS["gguf"][filename]["tensors"][n]["ggml_type"] for n in refs}
