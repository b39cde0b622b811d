"""``Model.raw``: TFLite constants as exact QTensors (issue 7, lossless import).

Quantized constants (affine per-tensor / per-axis, blockwise with a separate scale tensor)
become ``bitpack`` QTensors, plain constants ``raw`` ones. For each variant on the committed
fixtures: ``raw(name).dequantize()`` is bit-identical (uint32 views) to ``get(name)`` in the
same shape, the QTensor survives a .qf round trip, ``info(name)`` is unchanged, and what
bitpack cannot hold exactly is refused with UnsupportedError naming the reason.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import qformat
from qformat.layouts.bitpack import unpack_codes

from .conftest import CORPUS_COPY, HOSTILE, TFLITE

pytestmark = [pytest.mark.foreign, pytest.mark.jit]

SYN = TFLITE / "synthetic"
FC1 = "tiny_mlp_1/fc1_1/MatMul"
FC2 = "tiny_mlp_1/fc2_1/MatMul"


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def _check(model: qformat.Model, name: str, *, transpose: bool = False,
           tmp_path: Path | None = None) -> qformat.QTensor:
    before = model.info(name)
    qt = model.raw(name, transpose=transpose)
    want = model.get(name)
    if transpose:
        want = want.T
    got = qt.dequantize()
    assert got.shape == want.shape == qt.shape
    assert np.array_equal(_bits(got), _bits(want))
    assert model.info(name) == before
    if tmp_path is not None:
        out = tmp_path / "t.qf"
        qformat.save(out, {name: qt})
        with qformat.open(out) as back:
            again = back.raw(name)
            assert again.layout == qt.layout and again.shape == qt.shape
            for part, arr in qt.parts.items():
                assert np.array_equal(again.parts[part].view(np.uint8), arr.view(np.uint8))
            assert np.array_equal(_bits(back.get(name)), _bits(want))
    return qt


CASES = [
    # (file, tensor, bits, group_size, zero mode)
    ("aeq_dynamic_wi8c.tflite", FC1, 8, -1, "none"),           # per-axis int8
    ("aeq_dynamic_wi4c.tflite", FC2, 4, -1, "none"),           # per-axis int4
    ("aeq_dynamic_wi2c.tflite", FC1, 2, -1, "none"),           # per-axis int2
    ("aeq_weight_only_wi4.tflite", FC1, 4, -1, "none"),
    ("aeq_static_wi8_ai16.tflite", FC2, 8, -1, "none"),
    ("mlp_dynamic_int8.tflite", FC1, 8, -1, "none"),           # TF converter dynamic range
    ("mlp_dynamic_int8_buffer_offset.tflite", FC2, 8, -1, "none"),  # data after the flatbuffer
    ("mlp_dynamic_int8_per_tensor.tflite", FC1, 8, -1, "none"),  # per-tensor
    ("mlp_full_int8_float_io.tflite", FC1, 8, -1, "none"),
    ("qat_int4_per_tensor.tflite", "MatMul;FakeQuantWithMinMaxArgs_1", 4, -1, "none"),
    ("aeq_blockwise_wi4b32.tflite", FC1, 4, 32, "none"),       # blockwise int4, FLOAT16 scales
    ("aeq_blockwise_wi2b32.tflite", FC2, 2, 32, "none"),       # blockwise int2
    ("corpus/cnn_full_int8.tflite", "tiny_cnn_1/conv2_1/convolution", 8, -1, "none"),
    ("corpus/mlp_aeq_dynamic_wi4_channelwise.tflite", "tiny_mlp_1/fc2_1/MatMul", 4, -1, "none"),
    ("corpus/mlp_dynamic_range.tflite", "tiny_mlp_1/fc3_1/MatMul", 8, -1, "none"),
    ("synthetic/uint4_per_tensor_odd.tflite", "w_uint4", 4, -1, "none"),   # zero point 8
    ("synthetic/int4_axis1_int2_asym.tflite", "w_int2", 2, -1, "int"),     # zero point -1
    ("synthetic/legacy_uint8_two_subgraphs.tflite", "w", 8, -1, "int"),     # legacy uint8
    ("synthetic/shared_weight_two_subgraphs.tflite", "w_shared", 8, -1, "none"),
    ("synthetic/blockwise_zero_points_block_shape.tflite", "w_bw", 4, 16, "int"),
    ("synthetic/blockwise_zero_points_block_shape.tflite", "w_block_shape", 4, 32, "none"),
]


@pytest.mark.parametrize(("rel", "name", "bits", "group", "zero"), CASES,
                         ids=[f"{Path(r).stem}:{n.split('/')[-2] if '/' in n else n}"
                              for r, n, *_ in CASES])
def test_quantized_constant_is_bit_identical(rel, name, bits, group, zero, tmp_path) -> None:
    with qformat.open(TFLITE / rel) as m:
        qt = _check(m, name, tmp_path=tmp_path)
        assert qt.layout.name == "bitpack" and qt.dtype == "F32"
        assert (qt.layout.bits, qt.layout.group_size, qt.layout.zero) == (bits, group, zero)


def test_blockwise_scales_are_stored_as_the_file_stores_them() -> None:
    with qformat.open(TFLITE / "aeq_blockwise_wi4b32.tflite") as m:
        c = m._const(FC1)
        qt = m.raw(FC1)
        scales = m._codes(c.scale_tensor)  # the FLOAT16 scale tensor, as stored
        assert qt.layout.scale_dtype == "F16"
        assert np.array_equal(qt.parts["scales"].view(np.uint16), scales.view(np.uint16))
        # int4 codes -8..7 are stored as code + 8 (bitpack's symmetric offset)
        assert np.array_equal(unpack_codes(qt), (m._codes(c.tensor) + 8).astype(np.uint8))


def test_block_shape_over_two_axes_repeats_scales_per_row() -> None:
    """block_shape [2, 32]: rows 0-1 share a scale row, so bitpack repeats it (exactly)."""
    with qformat.open(SYN / "blockwise_zero_points_block_shape.tflite") as m:
        qt = m.raw("w_block_shape")
        c = m._const("w_block_shape")
        grid = m._codes(c.scale_tensor)
        assert grid.shape == (2, 2)
        assert np.array_equal(qt.parts["scales"], np.repeat(grid, 2, axis=0))


def test_axis_one_needs_the_transpose(tmp_path) -> None:
    with qformat.open(SYN / "int4_axis1_int2_asym.tflite") as m:
        with pytest.raises(qformat.UnsupportedError,
                           match=r"one scale per weight; raw\(name, transpose=True\) returns "
                                 r"the exact transpose \[5, 3\]"):
            m.raw("w_int4_axis1")
        qt = _check(m, "w_int4_axis1", transpose=True, tmp_path=tmp_path)
        assert qt.shape == (5, 3) and (qt.parts["scales"] < 0).any()  # negative scales kept


def test_plain_constants_use_the_raw_layout(tmp_path) -> None:
    with qformat.open(TFLITE / "mlp_fp16.tflite") as m:
        name = next(k for k in m.keys() if m.info(k).dtype == "F16")
        qt = _check(m, name, tmp_path=tmp_path)
        assert qt.layout.name == "raw" and qt.dtype == "F16"
    with qformat.open(SYN / "float8_bf16_constants.tflite") as m:
        for name in ("w_f8e4m3", "w_f8e5m2", "w_bf16"):
            assert _check(m, name, tmp_path=tmp_path).dtype == m.info(name).dtype
    with qformat.open(TFLITE / "mlp_fp32.tflite") as m:
        name = next(k for k in m.keys() if len(m.info(k).shape) == 2)
        assert _check(m, name, transpose=True).shape == m.info(name).shape[::-1]


def test_qtensor_outlives_the_model() -> None:
    with qformat.open(TFLITE / "aeq_dynamic_wi4c.tflite") as m:
        qt, want = m.raw(FC1), m.get(FC1)
    assert np.array_equal(_bits(qt.dequantize()), _bits(want))  # parts are copies, not maps


REFUSED = [
    ("mlp_full_int8_float_io.tflite", "tiny_mlp_1/fc2_1/BiasAdd", False,
     "INT32 codes are 32 bits wide; bitpack holds codes of 1 to 8 bits"),
    ("mlp_int16x8.tflite", "tiny_mlp_1/fc2_1/BiasAdd", False, "INT64 codes are 64 bits wide"),
    ("corpus/cnn_full_int8.tflite", "tiny_cnn_1/dwconv_1/depthwise", False,
     "along the last axis (axis 3 of [1, 3, 3, 16])"),
    ("corpus/cnn_full_int8.tflite", "tiny_cnn_1/conv1_1/convolution", True,
     "transpose=True is offered for 2-D tensors only"),
    ("aeq_blockwise_wi4b32.tflite", FC1, True,
     "transposed: the scale changes from one weight to the next"),
    ("aeq_dynamic_wi8c.tflite", FC2, True, "transposed:"),
    ("synthetic/undecodable_tensors.tflite", "w_multiaxis", False,
     "MultiAxisQuantization parameters are not decoded"),
    ("synthetic/undecodable_tensors.tflite", "w_sparse", False, "sparse TFLite tensors"),
    ("synthetic/undecodable_tensors.tflite", "w_external", False, "ExternalBuffer"),
    ("synthetic/legacy_uint8_two_subgraphs.tflite", "strings", False,
     "STRING tensors have no float value"),
]


@pytest.mark.parametrize(("rel", "name", "transpose", "words"), REFUSED,
                         ids=[f"{Path(r).stem}:{n.split('/')[-1]}:{'T' if t else 'same'}"
                              for r, n, t, _ in REFUSED])
def test_what_bitpack_cannot_hold_is_refused(rel, name, transpose, words) -> None:
    with qformat.open(TFLITE / rel) as m:
        before = m.info(name)
        with pytest.raises(qformat.UnsupportedError) as info:
            m.raw(name, transpose=transpose)
        assert m.info(name) == before
    msg = str(info.value)
    assert words in msg and str(TFLITE / rel) in msg and name in msg


def test_depthwise_refusal_names_the_reason() -> None:
    with qformat.open(CORPUS_COPY / "cnn_full_int8.tflite") as m:
        with pytest.raises(qformat.UnsupportedError,
                           match=r"bitpack groups run along the last axis, so this shape would "
                                 r"need one scale per weight \(transpose=True is offered for "
                                 r"2-D tensors only\)"):
            m.raw("tiny_cnn_1/dwconv_1/depthwise")


def test_transpose_must_be_a_bool() -> None:
    with qformat.open(TFLITE / "aeq_dynamic_wi8c.tflite") as m:
        with pytest.raises(qformat.ArgumentError, match="transpose must be True or False"):
            m.raw(FC1, transpose=1)


@pytest.mark.parametrize("rel", sorted(p.name for p in HOSTILE.glob("*.tflite")))
def test_raw_on_hostile_files_only_raises_qformat_errors(rel: str) -> None:
    tracemalloc.start()
    try:
        try:
            m = qformat.open(HOSTILE / rel)
        except qformat.QFormatError:
            return
        with m:
            for name in m.keys():
                for transpose in (False, True):
                    try:
                        m.raw(name, transpose=transpose)
                    except qformat.QFormatError:
                        pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024
