"""``Model.raw``: ONNX weights as exact ``bitpack`` QTensors (issue 7, lossless import).

For every variant on the committed fixtures: ``raw(name).dequantize()`` is bit-identical
(uint32 views) to ``get(name)`` in the same shape (or, with ``transpose=True``, to
``get(name).T``), the QTensor survives a .qf round trip bit for bit, ``info(name)`` is
unchanged, and variants bitpack cannot hold exactly raise UnsupportedError naming why.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import qformat
from qformat.errors import ArgumentError, IntegrityError, QFormatError, UnsupportedError
from qformat.layouts.bitpack import BitPackedLayout, unpack_codes

from .conftest import CORPUS, GENERATED, HOSTILE

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

pytestmark = [pytest.mark.foreign, pytest.mark.jit]

MS = "com.microsoft"


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def _check(model: qformat.Model, name: str, *, transpose: bool = False,
           tmp_path: Path | None = None) -> qformat.QTensor:
    """raw(name) decodes to get(name) bit for bit (transposed on request); .qf round trip."""
    before = model.info(name)
    qt = model.raw(name, transpose=transpose)
    want = model.get(name)
    if transpose:
        want = want.T
    got = qt.dequantize()
    assert got.shape == want.shape == qt.shape
    assert np.array_equal(_bits(got), _bits(want))
    assert model.info(name) == before  # raw() changes nothing the listing reports
    if tmp_path is not None:
        out = tmp_path / "t.qf"
        qformat.save(out, {name: qt})
        with qformat.open(out) as back:
            again = back.raw(name)
            assert again.layout == qt.layout and again.shape == qt.shape
            assert again.dtype == qt.dtype
            for part, arr in qt.parts.items():
                assert np.array_equal(again.parts[part].view(np.uint8),
                                      arr.view(np.uint8)), part
            assert np.array_equal(_bits(back.get(name)), _bits(want))
    return qt


# -- in the reader's own shape ---------------------------------------------------------------
SAME_SHAPE = [
    # (file, tensor, bitpack bits, zero mode): per-tensor, per-channel along a leading axis,
    # GatherBlockQuantized along the last axis, float8 through a level table
    (CORPUS / "mlp_dyn_s8_pertensor.onnx", "fc2.weight_quantized", 8, "none"),
    (CORPUS / "cnn_qdq_s8s8_perchannel.onnx", "conv2.weight_quantized", 8, "none"),
    (CORPUS / "cnn_qdq_s8s8_perchannel.onnx", "fc.weight_quantized", 8, "none"),
    (CORPUS / "cnn_qop_u8s8_perchannel.onnx", "conv1.weight_quantized", 8, "none"),
    (GENERATED / "cnn_dyn_u8_conv.onnx", "conv2.weight_quantized", 8, "int"),
    (GENERATED / "cnn_qop_u8u8_pertensor.onnx", "fc.weight_quantized", 8, "int"),
    (GENERATED / "cnn_qdq_contrib_s8s8_perchannel.onnx", "conv1.weight_quantized", 8, "none"),
    (GENERATED / "mlp_qdq_u8u8_pertensor.onnx", "fc1.weight_quantized", 8, "int"),
    (GENERATED / "mlp_qdq_u8u8_pertensor.onnx", "fc1.bias_quantized", 8, "int"),
    (GENERATED / "mlp_qdq_u8u4_pertensor.onnx", "fc1.weight_quantized", 4, "int"),
    (GENERATED / "mlp_qdq_u8u4_pertensor.onnx", "fc2.weight_quantized", 4, "none"),
    (GENERATED / "mlp_dyn_s8_fused.onnx", "fc1.weight_quantized", 8, "none"),
    (GENERATED / "dq_negative_scales.onnx", "w_quantized", 8, "none"),
    (GENERATED / "dq_negative_scales.onnx", "w2_quantized", 8, "int"),
    (GENERATED / "embed_gbq_int4_b32_sym.onnx", "embed.weight_Q4", 4, "none"),
    (GENERATED / "embed_gbq_uint4_b16_asym.onnx", "embed.weight_Q4", 4, "int"),
    (GENERATED / "embed_gbq_uint8_bits2.onnx", "embed.weight_Q", 2, "int"),
    (GENERATED / "embed_gbq_uint8_bits4.onnx", "embed.weight_Q", 4, "int"),
    (GENERATED / "dq_float8e5m2.onnx", "w_quantized", 8, "none"),
    (GENERATED / "mlp_qdq_fp8e4m3_pertensor.onnx", "fc1.weight_quantized", 8, "none"),
]


@pytest.mark.parametrize(("path", "name", "bits", "zero"), SAME_SHAPE,
                         ids=[f"{p.stem}:{n}" for p, n, _, _ in SAME_SHAPE])
def test_same_shape_import_is_bit_identical(path, name, bits, zero, tmp_path) -> None:
    with qformat.open(path) as m:
        qt = _check(m, name, tmp_path=tmp_path)
        assert qt.layout.bits == bits and qt.layout.zero == zero
        assert qt.shape == m.info(name).shape


# -- transposed: the [N, K] nn.Linear weight of a MatMul B[K, N] --------------------------------
TRANSPOSED = [
    # MatMulNBits: bits 2/3/4/8, with/without zero points, packed zp, 1-D scales, g_idx,
    # float zero points, fp16 scales, external data, accuracy_level
    (CORPUS / "mlp_nbits4_b32_sym.onnx", "fc1.weight_Q4", 4, "none"),
    (GENERATED / "mlp_nbits2_b16_sym_hand.onnx", "fc1.weight_Q2", 2, "none"),
    (GENERATED / "mlp_nbits2_b32_asym.onnx", "fc2.weight_Q2", 2, "int"),
    (GENERATED / "mlp_nbits3_b32_asym.onnx", "fc1.weight_Q3", 3, "int"),
    (GENERATED / "mlp_nbits4_b16_asym.onnx", "fc1.weight_Q4", 4, "int"),
    (GENERATED / "mlp_nbits4_b128_sym.onnx", "fc1.weight_Q4", 4, "none"),
    (GENERATED / "mlp_nbits4_b32_asym_1d.onnx", "fc1.weight_Q4", 4, "int"),
    (GENERATED / "mlp_nbits4_b32_asym_acc4.onnx", "fc2.weight_Q4", 4, "int"),
    (GENERATED / "mlp_nbits4_b32_extdata.onnx", "fc1.weight_Q4", 4, "int"),
    (GENERATED / "mlp_nbits4_b32_floatzp.onnx", "fc1.weight_Q4", 4, "bias"),
    (GENERATED / "mlp_nbits4_b32_gidx_sym.onnx", "fc1.weight_Q4", 4, "none"),
    (GENERATED / "mlp_nbits4_b16_gidx_asym.onnx", "fc2.weight_Q4", 4, "int"),
    (GENERATED / "mlp_nbits8_b32_asym.onnx", "fc1.weight_Q8", 8, "int"),
    (GENERATED / "mlp_nbits8_b64_sym.onnx", "fc2.weight_Q8", 8, "none"),
    (GENERATED / "mlp_fp16_nbits4_b32_asym.onnx", "fc1.weight_Q4", 4, "int"),
    (GENERATED / "embed_gbq_uint4_b16_asym.onnx", "proj.weight_Q4", 4, "int"),
    # blocked QDQ along K (axis 0 of [K, N]), int4 symmetric and uint4 asymmetric
    (GENERATED / "mlp_qdq_blocked_int4_b32_sym.onnx", "fc1.weight_DQ_Q4", 4, "none"),
    (GENERATED / "mlp_qdq_blocked_uint4_b16_asym.onnx", "fc2.weight_DQ_Q4", 4, "int"),
    # per-channel along N (axis 1 of [K, N]): QDQ int4, QOperator int8, dynamic uint8, int2
    (GENERATED / "mlp_qdq_u8s4_perchannel.onnx", "fc1.weight_quantized", 4, "none"),
    (GENERATED / "mlp_qop_u8s8_perchannel.onnx", "fc2.weight_quantized", 8, "none"),
    (GENERATED / "mlp_dyn_u8_perchannel.onnx", "fc1.weight_quantized", 8, "int"),
    (GENERATED / "dq_int2_peraxis.onnx", "w_quantized", 2, "none"),
    # per-tensor tensors transpose too
    (GENERATED / "mlp_qdq_u8u8_pertensor.onnx", "fc1.weight_quantized", 8, "int"),
]


@pytest.mark.parametrize(("path", "name", "bits", "zero"), TRANSPOSED,
                         ids=[f"{p.stem}:{n}" for p, n, _, _ in TRANSPOSED])
def test_transposed_import_is_bit_identical(path, name, bits, zero, tmp_path) -> None:
    with qformat.open(path) as m:
        k, n = m.info(name).shape
        qt = _check(m, name, transpose=True, tmp_path=tmp_path)
        assert qt.shape == (n, k)
        assert qt.layout.bits == bits and qt.layout.zero == zero


@pytest.mark.parametrize(("path", "name"), [(p, n) for p, n, _, _ in TRANSPOSED
                                            if "pertensor" not in p.stem],
                         ids=[f"{p.stem}:{n}" for p, n, _, _ in TRANSPOSED
                              if "pertensor" not in p.stem])
def test_matmul_weights_refused_in_their_own_shape(path, name) -> None:
    with qformat.open(path) as m:
        k, n = m.info(name).shape
        with pytest.raises(UnsupportedError) as info:
            m.raw(name)
    msg = str(info.value)
    assert "one scale per weight" in msg and f"axis 1 of [{k}, {n}]" in msg
    assert f"raw(name, transpose=True) returns the exact transpose [{n}, {k}]" in msg
    assert name in msg and str(path) in msg


def test_matmulnbits_layout_facts() -> None:
    """The bitpack parts are the file's: codes, block size, g_idx order, stored scale type."""
    from qformat.readers._onnx.dequant import nbits_codes

    with qformat.open(GENERATED / "mlp_fp16_nbits4_b32_asym.onnx") as m:
        qt = m.raw("fc1.weight_Q4", transpose=True)
        q = m._entry("fc1.weight_Q4").quant
        assert qt.layout.group_size == q.block_size == 32
        assert qt.layout.scale_dtype == "F16" and qt.dtype == "F16"
        assert np.array_equal(unpack_codes(qt), nbits_codes(q))
        stored = np.asarray(q.scales.values()).reshape(q.N, q.k_blocks)
        assert np.array_equal(qt.parts["scales"].view(np.uint16), stored.view(np.uint16))
    with qformat.open(GENERATED / "mlp_nbits4_b16_gidx_asym.onnx") as m:
        qt = m.raw("fc1.weight_Q4", transpose=True)
        assert qt.layout.perm and "perm" in qt.parts  # act-order columns, stored sorted
        g = m._entry("fc1.weight_Q4").quant.g_idx.values()
        assert np.array_equal(g[qt.parts["perm"]], np.sort(g))


def test_float_zero_points_follow_onnxruntime_order() -> None:
    """MatMulNBits float zero points: get() is q*s - s*zp; bitpack bias b = -(s*zp) gives it.

    (s*q) + (-(s*zp)) is q*s - s*zp exactly (x - y is x + (-y) in IEEE arithmetic); the
    textbook (q - zp) * s rounds differently, which the fixture shows.
    """
    from qformat.readers._onnx.dequant import effective_zero_points, nbits_codes

    with qformat.open(GENERATED / "mlp_nbits4_b32_floatzp.onnx") as m:
        qt = m.raw("fc1.weight_Q4", transpose=True)
        q = m._entry("fc1.weight_Q4").quant
        s = np.asarray(q.scales.values(), np.float32).reshape(q.N, q.k_blocks)
        z = effective_zero_points(q)
        assert z.dtype == np.float32
        assert qt.layout.zero == "bias" and qt.layout.zero_dtype == "F32"
        assert np.array_equal(_bits(qt.parts["bias"]), _bits(-(s * z)))
        codes = nbits_codes(q).astype(np.float32)
        blk = np.arange(q.K) // q.block_size
        ort = codes * s[:, blk] - s[:, blk] * z[:, blk]
        textbook = (codes - z[:, blk]) * s[:, blk]
        got = qt.dequantize()
        assert np.array_equal(_bits(got), _bits(ort))
        assert np.array_equal(_bits(got), _bits(m.get("fc1.weight_Q4").T))
        assert not np.array_equal(_bits(got), _bits(textbook))  # the order matters


def test_float_zero_point_identity_on_random_values() -> None:
    """The bias identity on random float32 scales and zero points, through the layout."""
    rng = np.random.default_rng(7)
    rows, k, g = 6, 64, 16
    codes = rng.integers(0, 16, (rows, k))
    s = (rng.standard_normal((rows, k // g)) * 0.05).astype(np.float32)
    z = (rng.random((rows, k // g)) * 15).astype(np.float32)
    qt = BitPackedLayout.from_codes(codes, s, bias=-(s * z), bits=4, group_size=g)
    blk = np.arange(k) // g
    want = codes.astype(np.float32) * s[:, blk] - s[:, blk] * z[:, blk]
    assert np.array_equal(_bits(qt.dequantize()), _bits(want))


def test_signed_codes_and_zero_points_are_offset() -> None:
    """int8 codes q and zero points z become q + 128 and z + 128 (so q - z is unchanged)."""
    from qformat.readers._bitpack_import import affine_to_bitpack

    q = np.array([[-128, -1, 0, 127], [5, -5, 100, -100]], np.int8)
    s = np.array([[0.5], [-0.25]], np.float32)  # negative scales are legal
    z = np.array([[-3], [7]], np.int64)
    qt = affine_to_bitpack(q, bits=8, signed=True, scales=s, scale_code="F32", blocks=(1, 4),
                           dtype="F32", zeros=z)
    assert np.array_equal(unpack_codes(qt), (q.astype(np.int16) + 128).astype(np.uint8))
    assert np.array_equal(qt.parts["zeros"], np.array([[125], [135]], np.uint8))
    want = (q.astype(np.float32) - z.astype(np.float32)) * s
    assert np.array_equal(_bits(qt.dequantize()), _bits(want))
    # zero points all at 0: no zeros part (bitpack's symmetric offset 2**(bits-1) is q's 0)
    sym = affine_to_bitpack(q, bits=8, signed=True, scales=s, scale_code="F32", blocks=(1, 4),
                            dtype="F32")
    assert sym.layout.zero == "none" and "zeros" not in sym.parts
    assert np.array_equal(_bits(sym.dequantize()), _bits(q.astype(np.float32) * s))


def test_negative_scales_are_accepted_by_bitpack() -> None:
    with qformat.open(GENERATED / "dq_negative_scales.onnx") as m:
        assert m.info("w_quantized").extra["negative_scales"] > 0
        qt = m.raw("w_quantized")
        assert (qt.parts["scales"] < 0).any()
        assert np.array_equal(_bits(qt.dequantize()), _bits(m.get("w_quantized")))
    with qformat.open(CORPUS / "mlp_nbits4_b32_sym.onnx") as m:  # ORT's symmetric 4-bit
        assert m.info("fc1.weight_Q4").extra["negative_scales"] > 0
        qt = m.raw("fc1.weight_Q4", transpose=True)
        assert (qt.parts["scales"] < 0).any()
        qt.check()


def test_transposed_weight_is_the_linear_weight() -> None:
    """raw(B, transpose=True).linear(x) is x @ B, the MatMul the weight feeds."""
    with qformat.open(GENERATED / "mlp_nbits4_b16_asym.onnx") as m:
        b = m.get("fc1.weight_Q4")
        qt = m.raw("fc1.weight_Q4", transpose=True)
    x = np.random.default_rng(0).standard_normal((3, b.shape[0])).astype(np.float32)
    np.testing.assert_allclose(qt.linear(x), x @ b, rtol=1e-5, atol=1e-5)


def test_unquantized_tensors_use_the_raw_layout(tmp_path) -> None:
    with qformat.open(CORPUS / "mlp_fp16.onnx") as m:
        qt = _check(m, "fc1.weight", tmp_path=tmp_path)
        assert qt.layout.name == "raw" and qt.dtype == "F16"
        assert _check(m, "fc1.weight", transpose=True).shape == (256, 96)
    with qformat.open(CORPUS / "mlp_fp32_extdata.onnx") as m:
        name = next(k for k in m.keys() if len(m.info(k).shape) == 2)
        _check(m, name, tmp_path=tmp_path)


# -- refusals --------------------------------------------------------------------------------
REFUSED = [
    (GENERATED / "mlp_qdq_s16s16_perchannel.onnx", "fc1.weight_quantized", False,
     "INT16 codes are 16 bits wide; bitpack holds codes of 1 to 8 bits"),
    (GENERATED / "mlp_qdq_u16u16_pertensor.onnx", "fc2.weight_quantized", True,
     "UINT16 codes are 16 bits wide"),
    (CORPUS / "cnn_qdq_s8s8_perchannel.onnx", "conv1.bias_quantized", False,
     "INT32 codes are 32 bits wide"),
    (GENERATED / "dq_blocked_int8_b16_fp16scale.onnx", "w_quantized", True,
     "outputs FLOAT16: the op rounds (q - zero_point) * scale to float16"),
    (CORPUS / "cnn_qdq_s8s8_perchannel.onnx", "conv2.weight_quantized", True,
     "transpose=True is offered for 2-D tensors only"),
    (CORPUS / "cnn_qdq_s8s8_perchannel.onnx", "fc.weight_quantized", True,
     "transposed: the scale changes from one weight to the next along the last axis"),
    (GENERATED / "mlp_qdq_fp8e4m3_pertensor.onnx", "fc1.bias_quantized", True,
     "2-D tensors only"),
]


@pytest.mark.parametrize(("path", "name", "transpose", "words"), REFUSED,
                         ids=[f"{p.stem}:{n}:{'T' if t else 'same'}" for p, n, t, _ in REFUSED])
def test_variants_bitpack_cannot_hold_are_refused(path, name, transpose, words) -> None:
    with qformat.open(path) as m:
        before = m.info(name)
        with pytest.raises(UnsupportedError) as info:
            m.raw(name, transpose=transpose)
        assert m.info(name) == before
    msg = str(info.value)
    assert words in msg
    assert name in msg and str(path) in msg


def _save(tmp_path: Path, nodes, inits, *, opset: int = 21, ms: bool = False) -> Path:
    g = helper.make_graph(nodes, "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                     None)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    ops = [helper.make_opsetid("", opset)] + ([helper.make_opsetid(MS, 1)] if ms else [])
    model = helper.make_model(g, opset_imports=ops)
    model.ir_version = 10
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    return path


def _dq_model(tmp_path: Path, q: np.ndarray, s: np.ndarray, **attrs) -> Path:
    nodes = [helper.make_node("DequantizeLinear", ["wq", "s"], ["w"], **attrs),
             helper.make_node("MatMul", ["x", "w"], ["y"])]
    return _save(tmp_path, nodes, [numpy_helper.from_array(q, "wq"),
                                   numpy_helper.from_array(s, "s")])


def test_non_finite_scale_is_refused(tmp_path) -> None:
    q = np.arange(12, dtype=np.int8).reshape(3, 4)
    s = np.array([0.5, np.inf, 0.25], np.float32)
    with qformat.open(_dq_model(tmp_path, q, s, axis=0)) as m:
        assert np.isinf(m.get("wq")[1]).any()  # the op's values: infinite
        with pytest.raises(UnsupportedError, match=r"scale inf at index \[1, 0\]: bitpack "
                                                   "requires finite scales"):
            m.raw("wq")


def test_float8_code_with_nan_value_is_refused(tmp_path) -> None:
    q = np.array([[0x38, 0x7F], [0x40, 0x00]], np.uint8)  # 0x7F is NaN in float8e4m3fn
    t = helper.make_tensor("wq", TensorProto.FLOAT8E4M3FN, q.shape, q.tobytes(), raw=True)
    nodes = [helper.make_node("DequantizeLinear", ["wq", "s"], ["w"]),
             helper.make_node("MatMul", ["x", "w"], ["y"])]
    path = _save(tmp_path, nodes, [t, numpy_helper.from_array(np.float32(2.0), "s")])
    with qformat.open(path) as m:
        assert np.isnan(m.get("wq")[0, 1])
        with pytest.raises(UnsupportedError, match="holds code 0x7f, whose value is nan"):
            m.raw("wq")
    q[0, 1] = 0x30  # without the NaN code the same table imports (NaN entries stored as 0)
    t = helper.make_tensor("wq", TensorProto.FLOAT8E4M3FN, q.shape, q.tobytes(), raw=True)
    path = _save(tmp_path, nodes, [t, numpy_helper.from_array(np.float32(2.0), "s")])
    with qformat.open(path) as m:
        qt = _check(m, "wq", tmp_path=tmp_path)
        assert qt.layout.levels == "onnx-float8e4m3fn"
        assert qt.parts["levels"][0x7F] == 0.0


def _nbits_model(tmp_path: Path, g_idx: np.ndarray, *, k: int = 32, n: int = 4,
                 block: int = 16) -> Path:
    rng = np.random.default_rng(3)
    kb = (k + block - 1) // block
    b = rng.integers(0, 256, (n, kb, block // 2), dtype=np.uint8)
    s = rng.random((n, kb)).astype(np.float32)
    nodes = [helper.make_node("MatMulNBits", ["x", "B", "s", "", "g"], ["y"], domain=MS, K=k,
                              N=n, bits=4, block_size=block)]
    inits = [numpy_helper.from_array(b, "B"), numpy_helper.from_array(s, "s"),
             numpy_helper.from_array(g_idx.astype(np.int32), "g")]
    return _save(tmp_path, nodes, inits, ms=True)


def test_g_idx_that_bitpack_cannot_group_is_refused(tmp_path) -> None:
    uneven = np.array([0] * 20 + [1] * 12)  # 20 columns in group 0: not groups of 16
    with qformat.open(_nbits_model(tmp_path, uneven)) as m:
        m.get("B")  # the reader decodes it (act-order may be arbitrary)
        with pytest.raises(UnsupportedError, match="g_idx cannot be held by bitpack"):
            m.raw("B", transpose=True)


def test_g_idx_out_of_range_is_an_integrity_error(tmp_path) -> None:
    bad = np.array([0] * 16 + [5] * 16)
    with qformat.open(_nbits_model(tmp_path, bad)) as m:
        with pytest.raises(IntegrityError, match="g_idx entry out of range"):
            m.raw("B", transpose=True)


def test_transpose_must_be_a_bool() -> None:
    with qformat.open(CORPUS / "mlp_nbits4_b32_sym.onnx") as m:
        with pytest.raises(ArgumentError, match="transpose must be True or False"):
            m.raw("fc1.weight_Q4", transpose="yes")
        with pytest.raises(QFormatError, match="no such tensor"):
            m.raw("missing", transpose=True)


@pytest.mark.parametrize("rel", sorted(str(p.relative_to(HOSTILE)) for p in HOSTILE.rglob(
    "*.onnx") if "fifo" not in str(p) and "symlink_dir/sub" not in str(p)))
def test_raw_on_hostile_files_only_raises_qformat_errors(rel: str) -> None:
    tracemalloc.start()
    try:
        try:
            m = qformat.open(HOSTILE / rel)
        except QFormatError:
            return
        with m:
            for name in m.keys():
                for transpose in (False, True):
                    try:
                        m.raw(name, transpose=transpose)
                    except QFormatError:
                        pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024


def _dq_zp_model(tmp_path: Path, q: np.ndarray, s: np.ndarray, z: np.ndarray | None,
                 **attrs) -> Path:
    ins = ["wq", "s"] + (["z"] if z is not None else [])
    inits = [numpy_helper.from_array(q, "wq"), numpy_helper.from_array(s, "s")]
    if z is not None:
        inits.append(numpy_helper.from_array(z, "z"))
    nodes = [helper.make_node("DequantizeLinear", ins, ["w"], **attrs),
             helper.make_node("MatMul", ["x", "w"], ["y"])]
    return _save(tmp_path, nodes, inits)


_I8 = np.arange(-24, 24, dtype=np.int8)
_LIN = np.linspace(-1.0, 1.0, 24).astype(np.float32)
SHAPES = {
    # name: (codes, scale, zero point, DequantizeLinear attributes, bitpack group_size)
    "no-rows": (np.zeros((0, 4), np.int8), np.float32(0.5), None, {}, -1),
    "no-columns": (np.zeros((4, 0), np.int8), np.float32(0.5), None, {}, -1),
    "1-d-per-element": (_I8[:6], _LIN[:6], None, {"axis": 0}, 1),
    "3-d-blocked-last-axis": (_I8.reshape(2, 3, 8), _LIN.reshape(2, 3, 4), None,
                              {"axis": 2, "block_size": 2}, 2),
    "partial-last-block-int8-zp": (np.resize(_I8, 40).reshape(4, 10), _LIN[:12].reshape(4, 3),
                                   np.arange(-6, 6, dtype=np.int8).reshape(4, 3),
                                   {"axis": 1, "block_size": 4}, 4),
    "uint8-zp-200": (np.arange(40, dtype=np.uint8).reshape(4, 10), np.float32(0.3),
                     np.uint8(200), {}, -1),
    "int8-zp-minus-128": (np.resize(_I8, 40).reshape(4, 10), np.float32(0.3), np.int8(-128),
                          {}, -1),
}


@pytest.mark.parametrize("case", sorted(SHAPES))
def test_shapes_and_zero_points_beyond_the_fixtures(case: str, tmp_path) -> None:
    q, s, z, attrs, group = SHAPES[case]
    with qformat.open(_dq_zp_model(tmp_path, q, s, z, **attrs)) as m:
        qt = _check(m, "wq", tmp_path=tmp_path)
        assert qt.layout.group_size == group


def test_scalars_and_blocks_along_a_middle_axis_are_refused(tmp_path) -> None:
    with qformat.open(_dq_zp_model(tmp_path, np.array(3, np.int8), np.float32(0.5),
                                   None)) as m:
        with pytest.raises(UnsupportedError, match="a scalar: bitpack tensors need at least "
                                                   "one dimension"):
            m.raw("wq")
    q, s = _I8.reshape(2, 4, 6), _LIN.reshape(2, 2, 6)
    with qformat.open(_dq_zp_model(tmp_path, q, s, None, axis=1, block_size=2)) as m:
        with pytest.raises(UnsupportedError, match=r"axis 2 of \[2, 4, 6\]"):
            m.raw("wq")


def test_float4_codes_use_the_builtin_fp4_table(tmp_path) -> None:
    flat = np.arange(16, dtype=np.uint8).repeat(3)[:40]
    packed = (flat[0::2] | (flat[1::2] << 4)).astype(np.uint8)
    t = helper.make_tensor("wq", TensorProto.FLOAT4E2M1, [4, 10], packed.tobytes(), raw=True)
    nodes = [helper.make_node("DequantizeLinear", ["wq", "s"], ["w"], axis=0),
             helper.make_node("MatMul", ["x", "w"], ["y"])]
    s = numpy_helper.from_array(np.array([0.5, -1.0, 2.0, 0.25], np.float32), "s")
    with qformat.open(_save(tmp_path, [*nodes], [t, s], opset=23)) as m:
        qt = _check(m, "wq", tmp_path=tmp_path)
        assert qt.layout.levels == "fp4" and qt.layout.bits == 4


def test_broadcast_form_scales_and_uint8_blocks(tmp_path) -> None:
    """QLinearMatMul ``b`` with a [1, N] scale (broadcast form) and a blocked UINT8 weight."""
    rng = np.random.default_rng(5)
    b = rng.integers(-128, 128, (6, 5), dtype=np.int8)
    inits = [numpy_helper.from_array(np.float32(0.1), "as"),
             numpy_helper.from_array(np.uint8(128), "az"),
             numpy_helper.from_array(b, "b"),
             numpy_helper.from_array(np.linspace(0.1, 0.5, 5, dtype=np.float32)[None], "bs"),
             numpy_helper.from_array(np.arange(-2, 3, dtype=np.int8)[None], "bz"),
             numpy_helper.from_array(np.float32(0.2), "ys"),
             numpy_helper.from_array(np.uint8(128), "yz")]
    nodes = [helper.make_node("QLinearMatMul", ["x", "as", "az", "b", "bs", "bz", "ys", "yz"],
                              ["y"])]
    with qformat.open(_save(tmp_path, nodes, inits)) as m:
        assert m.info("b").extra["granularity"] == "per-channel"
        with pytest.raises(UnsupportedError, match="one scale per weight"):
            m.raw("b")
        qt = _check(m, "b", transpose=True, tmp_path=tmp_path)
        assert qt.layout.zero == "int" and qt.layout.group_size == -1
    q = rng.integers(0, 256, (40, 6), dtype=np.uint8)
    s = rng.random((3, 6)).astype(np.float32)
    z = rng.integers(0, 256, (3, 6), dtype=np.uint8)
    with qformat.open(_dq_zp_model(tmp_path, q, s, z, axis=0, block_size=16)) as m:
        qt = _check(m, "wq", transpose=True, tmp_path=tmp_path)
        assert (qt.layout.bits, qt.layout.group_size, qt.layout.zero) == (8, 16, "int")


def test_a_refusal_reads_no_codes(monkeypatch) -> None:
    from qformat.readers._onnx import dequant

    def boom(*args, **kwargs):
        raise AssertionError("codes were unpacked")

    monkeypatch.setattr(dequant, "nbits_codes", boom)
    with qformat.open(CORPUS / "mlp_nbits4_b32_sym.onnx") as m:
        with pytest.raises(UnsupportedError, match="one scale per weight"):
            m.raw("fc1.weight_Q4")
        with pytest.raises(AssertionError, match="codes were unpacked"):
            m.raw("fc1.weight_Q4", transpose=True)


def test_inconsistent_parameter_grid_is_an_argument_error() -> None:
    """The planner checks the grid itself (the readers validate it at open already)."""
    from qformat.readers._bitpack_import import affine_to_bitpack

    with pytest.raises(ArgumentError, match="parameter grid does not match"):
        affine_to_bitpack(np.zeros((4, 8), np.int8), bits=8, signed=True,
                          scales=np.ones((4, 3), np.float32), scale_code="F32", blocks=(1, 4),
                          dtype="F32")
    with pytest.raises(ArgumentError, match="shape is required"):
        affine_to_bitpack(lambda: np.zeros((4, 8), np.int8), bits=8, signed=True,
                          scales=np.ones((4, 2), np.float32), scale_code="F32", blocks=(1, 4),
                          dtype="F32")
