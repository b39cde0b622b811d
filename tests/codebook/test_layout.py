"""The codebook layout: configuration, parts, content checks, description, .qf round trips."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import qformat
from qformat import limits
from qformat.layouts import layout_class, layout_from_dict
from qformat.layouts.codebook import CodebookLayout, from_codes

from ..conftest import ROOT

pytestmark = pytest.mark.jit  # most tests pack codes or decode through the kernels

CONFIG = {"mode": "additive", "num_codebooks": 2, "codebook_bits": 8, "in_group_size": 8,
          "out_group_size": 1, "codebook_dtype": "F16", "scale_dtype": "F16"}


def _tensor(rng, out=16, inp=32, m=2, bits=8, og=1, ig=8, mode="additive", book_dtype=np.float16,
            scale_dtype=np.float16):
    sub = ig // m if mode == "product" else ig
    codes = rng.integers(0, 1 << bits, (out // og, inp // ig, m))
    books = rng.standard_normal((m, 1 << bits, og, sub)).astype(book_dtype)
    scales = rng.uniform(0.5, 2.0, out).astype(scale_dtype)
    return from_codes(codes, books, scales, mode=mode, dtype="F16")


# -- configuration -----------------------------------------------------------------------------
def test_registered_and_round_trips():
    assert layout_class("codebook") is CodebookLayout
    layout = CodebookLayout.from_config(CONFIG)
    assert layout.to_config() == CONFIG
    assert layout_from_dict(layout.to_dict()) == layout
    assert layout.codebook_size == 256
    assert layout.code_bits_per_weight == 2.0


@pytest.mark.parametrize(("key", "value"), [
    ("mode", "scalar"), ("mode", 1),
    ("num_codebooks", 0), ("num_codebooks", limits.CODEBOOK_MAX_COUNT + 1),
    ("num_codebooks", True), ("num_codebooks", 2.0),
    ("codebook_bits", 0), ("codebook_bits", 17), ("codebook_bits", "8"),
    ("in_group_size", 0), ("in_group_size", -8), ("in_group_size", 10**30),
    ("out_group_size", 0), ("out_group_size", False),
    ("codebook_dtype", "F64"), ("codebook_dtype", "I8"), ("scale_dtype", "U8"),
])
def test_bad_configuration_is_refused(key, value):
    """QF-CODEBOOK-001: every key checked; the error names it."""
    with pytest.raises(qformat.LayoutError, match="QF-CODEBOOK-001") as err:
        CodebookLayout.from_config({**CONFIG, key: value})
    assert err.value.field == key


def test_configuration_key_set_is_exact():
    """QF-CODEBOOK-001: no missing and no unknown keys."""
    with pytest.raises(qformat.LayoutError, match="lacks keys"):
        CodebookLayout.from_config({k: v for k, v in CONFIG.items() if k != "scale_dtype"})
    with pytest.raises(qformat.LayoutError, match="unknown keys"):
        CodebookLayout.from_config({**CONFIG, "scales": True})
    with pytest.raises(qformat.LayoutError, match="must be an object"):
        CodebookLayout.from_config([1, 2])


def test_group_limits_and_product_split():
    with pytest.raises(qformat.LayoutError, match="too large"):
        CodebookLayout(in_group_size=128, out_group_size=64)
    with pytest.raises(qformat.LayoutError, match="evenly"):
        CodebookLayout(mode="product", num_codebooks=3, in_group_size=8)
    assert CodebookLayout(mode="product", num_codebooks=4, in_group_size=8).sub_group_size == 2


# -- parts -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("config", "shape", "codes", "books"), [
    ({}, (16, 32), (16, 8), (2, 256, 1, 8)),                                   # 2x8 g8
    ({"num_codebooks": 1, "codebook_bits": 16}, (4, 16), (4, 4), (1, 65536, 1, 8)),
    ({"num_codebooks": 3, "codebook_bits": 5, "in_group_size": 4, "out_group_size": 2},
     (6, 20), (3, 10), (3, 32, 2, 4)),                                          # 75 bits/row
    ({"mode": "product", "num_codebooks": 4, "codebook_bits": 3, "in_group_size": 8},
     (2, 24), (2, 5), (4, 8, 1, 2)),                                            # 36 bits/row
])
def test_part_specs(config, shape, codes, books):
    """QF-CODEBOOK-002: exact part names, dtypes and shapes."""
    layout = CodebookLayout(**{**CONFIG, **config})
    specs = layout.part_specs(shape, "F32")
    assert [(s.name, s.dtype, s.shape) for s in specs] == [
        ("codes", "U8", codes), ("codebooks", layout.codebook_dtype, books),
        ("scales", layout.scale_dtype, (shape[0],))]


@pytest.mark.parametrize(("shape", "dtype", "field"), [
    ((16,), "F32", "shape"), ((2, 16, 8), "F32", "shape"), ((16, 30), "F32", "in_group_size"),
    ((16, 32), "I8", "dtype"), ((16, 32), "U8", "dtype"),
])
def test_unsuitable_tensors_are_refused(shape, dtype, field):
    """QF-CODEBOOK-002: 2-D float weights whose sides the group sizes divide."""
    with pytest.raises(qformat.LayoutError, match="QF-CODEBOOK-002") as err:
        CodebookLayout().part_specs(shape, dtype)
    assert err.value.field == field
    with pytest.raises(qformat.LayoutError, match="out_group_size does not divide"):
        CodebookLayout(out_group_size=3).part_specs((16, 32), "F32")


# -- content checks ----------------------------------------------------------------------------
@pytest.mark.parametrize("book_dtype", ["F16", "BF16", "F32"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_codebooks_and_scales_are_refused(rng, book_dtype, bad):
    """QF-CODEBOOK-004: checked on the stored bits, before any kernel runs."""
    qt = _tensor(rng)
    layout = CodebookLayout(**{**CONFIG, "codebook_dtype": book_dtype, "scale_dtype": book_dtype})
    books = qt.parts["codebooks"].astype(np.float32)
    scales = qt.parts["scales"].astype(np.float32)
    storage = {"F32": lambda a: a, "F16": lambda a: a.astype(np.float16),
               "BF16": lambda a: qformat.dtypes.f32_to_bf16(a)}[book_dtype]
    for part in ("codebooks", "scales"):
        parts = {"codes": qt.parts["codes"], "codebooks": storage(books),
                 "scales": storage(scales)}
        target = parts[part].copy()
        target.reshape(-1)[target.size // 2] = storage(np.array([bad], np.float32))[0]
        parts[part] = target
        bad_qt = qformat.QTensor(layout, qt.shape, parts, dtype="F32")
        with pytest.raises(qformat.IntegrityError, match="QF-CODEBOOK-004") as err:
            bad_qt.dequantize()
        assert err.value.field == f"parts.{part}"
        with pytest.raises(qformat.IntegrityError):
            bad_qt.linear(np.ones((1, 32), np.float32))


def test_stray_pad_bits_are_refused(rng):
    """QF-CODEBOOK-003: 3 codes of 5 bits per row use 15 of 16 bits; bit 15 must be zero."""
    qt = _tensor(rng, out=4, inp=12, m=3, bits=5, ig=12)
    assert qt.parts["codes"].shape == (4, 2)
    codes = qt.parts["codes"].copy()
    codes[2, 1] |= 0x80
    bad = qformat.QTensor(qt.layout, qt.shape, {**qt.parts, "codes": codes}, dtype="F16")
    with pytest.raises(qformat.IntegrityError, match="QF-CODEBOOK-003"):
        bad.dequantize()
    with pytest.raises(qformat.IntegrityError, match="pad bits"):
        qformat.save(ROOT / "never-written.qf", {"w": bad})
    assert not (ROOT / "never-written.qf").exists()


def test_from_codes_refuses_codes_beyond_the_codebook(rng):
    """QF-CODEBOOK-003: importers refuse codes that do not fit in codebook_bits."""
    codes = rng.integers(0, 16, (4, 2, 1))
    codes[1, 1, 0] = 16
    books = np.zeros((1, 16, 1, 4), np.float32)
    with pytest.raises(qformat.LayoutError, match="beyond the codebook"):
        from_codes(codes, books, np.ones(4, np.float32))
    codes[1, 1, 0] = -1
    with pytest.raises(qformat.LayoutError, match="beyond the codebook"):
        from_codes(codes, books, np.ones(4, np.float32))


def test_from_codes_argument_errors(rng):
    books = np.zeros((1, 16, 1, 4), np.float32)
    with pytest.raises(qformat.ArgumentError, match="integers"):
        from_codes(np.zeros((4, 2), np.int64), books, np.ones(4, np.float32))
    with pytest.raises(qformat.LayoutError, match="power of two"):
        from_codes(np.zeros((4, 2, 1), np.int64), books[:, :12], np.ones(4, np.float32))
    with pytest.raises(qformat.LayoutError, match="one value per output row"):
        from_codes(np.zeros((4, 2, 1), np.int64), books, np.ones(5, np.float32))
    with pytest.raises(qformat.ArgumentError, match="float32, float16 or bfloat16"):
        from_codes(np.zeros((4, 2, 1), np.int64), books.astype(np.int32), np.ones(4))
    # raw uint16 bit patterns declared as BF16 are accepted
    qt = from_codes(np.zeros((4, 2, 1), np.int64), qformat.dtypes.f32_to_bf16(books),
                    np.ones(4, np.float32), codebook_dtype="BF16")
    assert qt.layout.codebook_dtype == "BF16"


# -- description -------------------------------------------------------------------------------
@pytest.mark.parametrize(("config", "bits"), [
    ({}, 2), ({"num_codebooks": 1, "codebook_bits": 16}, 2),
    ({"num_codebooks": 8, "in_group_size": 32}, 2), ({"num_codebooks": 8}, 8),
    ({"num_codebooks": 1, "codebook_bits": 12, "in_group_size": 4, "out_group_size": 2}, 1.5),
    ({"num_codebooks": 3, "codebook_bits": 5, "in_group_size": 4}, 3.75),
])
def test_describe(config, bits):
    """QF-CODEBOOK-008: bits = M*B/(og*ig), group_size = ig, extra facts; no data read."""
    layout = CodebookLayout(**{**CONFIG, **config})
    shape = (4 * layout.out_group_size, 4 * layout.in_group_size)

    class NoParts:  # describe must not touch the parts
        @property
        def parts(self):
            raise AssertionError("describe read the parts")

    d = layout.describe(NoParts())
    assert d["method"] == "codebook"
    assert d["bits"] == bits
    assert isinstance(d["bits"], int) == float(bits).is_integer()
    assert d["group_size"] == layout.in_group_size
    assert d["symmetric"] is None
    assert d["extra"] == {"mode": layout.mode, "num_codebooks": layout.num_codebooks,
                          "codebook_bits": layout.codebook_bits,
                          "group_shape": [layout.out_group_size, layout.in_group_size],
                          "codebook_dtype": "F16", "scale_dtype": "F16"}
    assert layout.part_specs(shape, "F32")


def test_save_inspect_and_read_back(rng, tmp_path):
    """QF-CODEBOOK-008 in inspect --json; parts survive the container bit for bit."""
    tensors = {
        "additive": _tensor(rng),
        "product": _tensor(rng, m=2, ig=8, mode="product", book_dtype=np.float32,
                           scale_dtype=np.float32),
        "odd": _tensor(rng, out=6, inp=20, m=3, bits=5, og=2, ig=4),
    }
    path = tmp_path / "cb.qf"
    qformat.save(path, {**tensors, "bias": np.zeros(16, np.float32)})
    report = qformat.inspect(path).to_dict()
    entries = {t["name"]: t for t in report["tensors"]}
    assert report["quantization"]["methods"] == ["codebook"]
    add = entries["additive"]
    assert (add["method"], add["bits"], add["group_size"], add["symmetric"]) == (
        "codebook", 2, 8, None)
    assert add["bits_per_weight"] == tensors["additive"].bits_per_weight
    assert add["nbytes"] == 16 * 8 + 2 * 256 * 8 * 2 + 16 * 2
    assert (add["mode"], add["group_shape"], add["num_codebooks"]) == ("additive", [1, 8], 2)
    assert entries["product"]["mode"] == "product"
    assert entries["odd"]["bits"] == 1.875  # 3 codes x 5 bits / (2 x 4)
    json.dumps(report)
    with qformat.open(path) as model:
        for name, qt in tensors.items():
            back = model.raw(name)
            assert back.layout == qt.layout
            for part, arr in qt.parts.items():
                assert np.array_equal(back.parts[part].view(np.uint8), arr.view(np.uint8))
            got = model.get(name)
            assert np.array_equal(got.view(np.uint32), qt.dequantize().view(np.uint32))
            x = rng.standard_normal((2, qt.shape[1])).astype(np.float32)
            assert np.array_equal(back.linear(x), qt.linear(x))


def test_inspect_does_not_import_numba(rng, tmp_path):
    """Listing a .qf with codebook tensors reads headers only: numba is never imported."""
    qt = from_codes(rng.integers(0, 4, (4, 2, 1)), np.zeros((1, 4, 1, 4), np.float32),
                    np.ones(4, np.float32))
    path = tmp_path / "cb.qf"
    qformat.save(path, {"w": qt})
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        import qformat
        report = qformat.inspect({str(path)!r}).to_dict()
        assert report["tensors"][0]["method"] == "codebook", report
        print("numba" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_spec_limits_table_matches_the_code():
    text = (ROOT / "specs" / "layouts" / "codebook.md").read_text()
    table = text.split("<!-- generated:codebook-limits -->")[1].split("<!--")[0]
    rows = dict(re.findall(r"\| `(\w+)` \| (\d+) \|", table))
    assert rows == {name: str(getattr(limits, name)) for name in
                    ("CODEBOOK_MAX_BITS", "CODEBOOK_MAX_COUNT", "CODEBOOK_MAX_GROUP_ELEMENTS")}
