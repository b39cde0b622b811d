"""``Model.raw``: the stored tensor as a qformat QTensor (bitpack / codebook layouts) whose
dequantization is bit-identical to ``Model.get``.

The bit-identity tests need the ``bitpack`` and ``codebook`` layouts (issues landing in
parallel); until they are installed those tests are skipped and ``raw`` raises a clear
UnsupportedError, which the last test checks.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from st_helpers import CORPUS, GEN

import qformat

pytestmark = pytest.mark.foreign

#: (checkpoint folder, logical tensor) pairs covering every lossless importer
BITPACK_CASES = [
    (CORPUS / "gptq-int4-g128-sym", "model.layers.1.mlp.down_proj.weight"),
    (CORPUS / "awq-gemm-int4-g128", "model.layers.0.self_attn.k_proj.weight"),
    (CORPUS / "hqq-int4-g64", "model.layers.0.self_attn.k_proj.weight"),
    (CORPUS / "quanto-qint4", "model.layers.0.self_attn.k_proj.weight"),
    (CORPUS / "ct-w4a16-rtn", "model.layers.0.self_attn.k_proj.weight"),
    (CORPUS / "mlx-int4-g64", "model.embed_tokens.weight"),
    (CORPUS / "bnb-nf4", "model.layers.0.self_attn.k_proj.weight"),
    *[(GEN / v, t) for v in ("gptq-int2-g64", "gptq-int3-g128", "gptq-int8-perchannel",
                             "gptq-int4-g64-actorder", "gptq-int4-g128-v2",
                             "awq-gemv-int4-g64", "awq-gemv_fast-int4-g64", "hqq-int3-g64-axis1",
                             "hqq-int1-g64-axis1", "quanto-qint2", "ct-pack-w3-g64-asym",
                             "ct-pack-w4-channel-asym", "ct013-pack-w3-g64-legacy",
                             "ct013-pack-w4-g64-asym-actorder", "mlx-affine-int6-g64",
                             "bnb-fp4-dq")
      for t in ("model.layers.0.self_attn.k_proj.weight", "model.layers.0.mlp.down_proj.weight")],
]


def _identical(model: qformat.Model, name: str) -> None:
    qt = model.raw(name)
    a, b = qt.dequantize(), model.get(name)
    assert a.shape == b.shape == model.info(name).shape
    assert np.array_equal(a.view(np.uint32), b.view(np.uint32))


@pytest.mark.parametrize(("folder", "name"), BITPACK_CASES,
                         ids=[f"{f.name}:{n.split('.')[-2]}" for f, n in BITPACK_CASES])
def test_bitpack_raw_is_bit_identical(folder, name) -> None:
    pytest.importorskip("qformat.layouts.bitpack")
    with qformat.open(folder) as model:
        _identical(model, name)


def test_aqlm_raw_is_bit_identical() -> None:
    pytest.importorskip("qformat.layouts.codebook")
    with qformat.open(CORPUS / "aqlm-2x8-g8") as model:
        for name in ("model.layers.0.self_attn.k_proj.weight",
                     "model.layers.1.mlp.down_proj.weight"):
            _identical(model, name)


def test_raw_without_the_layout_is_a_clear_unsupported_error(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "qformat.layouts.bitpack", None)
    monkeypatch.setitem(sys.modules, "qformat.layouts.codebook", None)
    for folder, layout in ((CORPUS / "gptq-int4-g128-sym", "bitpack"),
                           (CORPUS / "aqlm-2x8-g8", "codebook")):
        with qformat.open(folder) as model, \
                pytest.raises(qformat.UnsupportedError, match=f"{layout} layout"):
            model.raw("model.layers.0.self_attn.k_proj.weight")


def test_schemes_without_an_exact_layout_say_so() -> None:
    with qformat.open(GEN / "bnb-int8") as model, pytest.raises(qformat.UnsupportedError):
        model.raw("model.layers.0.self_attn.k_proj.weight")
    with qformat.open(GEN / "hqq-int4-g32-axis0") as model, \
            pytest.raises(qformat.UnsupportedError, match="axis"):
        model.raw("model.layers.0.self_attn.k_proj.weight")
