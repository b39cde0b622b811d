"""bitpack tensors in .qf files: save/load bit-identically, mmap'd parts, inspect, hostile files."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import qformat
from qformat import IntegrityError, LayoutError, QFormatError
from qformat.cli import main
from qformat.layouts.bitpack import BitPackedLayout

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ROOT / "fixtures" / "hostile" / "qformat"


def _tool():
    spec = importlib.util.spec_from_file_location("gen_bitpack_hostile",
                                                  ROOT / "tools" / "gen_bitpack_hostile.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def every_mode_tensors(parts) -> dict[str, qformat.QTensor]:
    """One tensor per zero mode x storage dtype x table x permutation (and odd shapes)."""
    out = {}
    cases = [(4, "none", "F16", None, False, False), (3, "int", "BF16", "U8", False, True),
             (2, "float", "F16", "F16", False, False), (8, "bias", "F32", "BF16", False, True),
             (4, "none", "F32", None, True, False), (5, "bias", "F16", "F32", True, True),
             (6, "float", "BF16", "F32", True, False), (1, "int", "F16", "U8", False, False)]
    for i, (bits, zero, sdt, zdt, levels, perm) in enumerate(cases):
        kw = parts(bits, 6, 70, 16, zero=zero, scale_dtype=sdt, zero_dtype=zdt, levels=levels,
                   perm=perm, seed=i)["kwargs"]
        lay = BitPackedLayout(bits=bits, group_size=16, zero=zero, scale_dtype=sdt,
                              zero_dtype=zdt, levels="custom" if levels else None, perm=perm)
        names = [s.name for s in lay.part_specs((6, 70), "F32")]
        store = {"zeros": kw["zeros"], "bias": kw["bias"]}
        p = {n: store.get(n, kw.get(n)) for n in names}
        out[f"t{i}.{bits}bit.{zero}"] = qformat.QTensor(lay, (6, 70), p, dtype="F32")
    w = np.random.default_rng(0).standard_normal((2, 3, 50)).astype(np.float16)
    out["nd.nf4"] = qformat.quantize(w, "bitpack", bits=4, group_size=32, levels="nf4")
    out["vector.fp4"] = qformat.quantize(w[0, 0], "bitpack", bits=4, group_size=-1,
                                         levels="fp4", zero="bias")
    return out


@pytest.mark.jit
def test_every_mode_round_trips_through_a_file(parts, tmp_path):
    tensors = every_mode_tensors(parts)
    path = tmp_path / "modes.qf"
    qformat.save(path, {**tensors, "plain": np.arange(6, dtype=np.float32)},
                 metadata={"note": "bitpack modes"})
    with qformat.open(path) as model:
        assert model.keys() == [*tensors, "plain"]
        for name, qt in tensors.items():
            raw = model.raw(name)
            assert raw.layout == qt.layout
            assert (raw.shape, raw.dtype) == (qt.shape, qt.dtype)
            for part, arr in qt.parts.items():
                mapped = raw.parts[part]
                assert not mapped.flags.writeable, part          # zero-copy views of the map
                assert mapped.tobytes() == arr.tobytes(), part
            want = qt.dequantize()
            got = model.get(name)
            assert np.array_equal(got.view(np.uint32), want.view(np.uint32)), name
            if len(qt.shape) == 2:
                x = np.random.default_rng(1).standard_normal((3, qt.shape[1])).astype(np.float32)
                np.testing.assert_allclose(raw.linear(x), x @ want.T, rtol=1e-4, atol=1e-5)
                np.testing.assert_allclose(raw.linear(x[0]), x[0] @ want.T, rtol=1e-4,
                                           atol=1e-5)
                x3 = x.reshape(3, 1, -1)
                assert raw.linear(x3).shape == (3, 1, qt.shape[0])


def test_inspect_reports_bits_group_and_true_bits_per_weight(tmp_path, capsys):
    w = np.random.default_rng(0).standard_normal((64, 256)).astype(np.float32)
    tensors = {
        "int4": qformat.quantize(w, "bitpack", bits=4, group_size=128),
        "int3": qformat.quantize(w, "bitpack", bits=3, group_size=64, zero="bias",
                                 scale_dtype="BF16"),
        "nf4": qformat.quantize(w, "bitpack", bits=4, group_size=64, levels="nf4"),
    }
    path = tmp_path / "q.qf"
    qformat.save(path, tensors)
    assert main(["inspect", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    by_name = {t["name"]: t for t in report["tensors"]}
    # 4 bits + F16 scale (16) + U8 zero (8) per 128 values
    assert by_name["int4"]["bits_per_weight"] == 4 + 24 / 128
    # 3 bits + BF16 scale + BF16 bias per 64 values
    assert by_name["int3"]["bits_per_weight"] == 3 + 32 / 64
    # 4 bits + F16 scale per 64 values + the 16-entry F32 table over 64*256 values
    assert by_name["nf4"]["bits_per_weight"] == round(4 + 16 / 64 + 16 * 32 / (64 * 256), 4)
    for name, qt in tensors.items():
        t = by_name[name]
        assert (t["method"], t["bits"], t["group_size"]) == ("bitpack", qt.layout.bits,
                                                             qt.layout.group_size)
        assert t["symmetric"] == (qt.layout.zero == "none")
        assert t["zero_point"] == qt.layout.zero
        assert t["nbytes"] == qt.nbytes
    assert by_name["nf4"]["level_table"] == "nf4"
    assert report["quantization"]["methods"] == ["bitpack"]


def test_inspect_does_not_import_numba(tmp_path):
    """Header-only commands never load numba (DEVELOPING.md)."""
    path = tmp_path / "q.qf"
    w = np.ones((4, 32), np.float32)
    qformat.save(path, {"w": qformat.quantize(w, "bitpack", bits=4, group_size=32)})
    code = ("import sys, qformat.cli as c; c.main(['inspect', sys.argv[1], '--json']); "
            "sys.exit(3 if 'numba' in sys.modules else 0)")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tensors"][0]["method"] == "bitpack"


def test_writer_refuses_invalid_content_and_leaves_nothing(tmp_path):
    q = np.zeros((2, 8), np.uint8)
    qt = BitPackedLayout.from_codes(q, np.ones((2, 1), np.float16), bits=4, group_size=8)
    qt.parts["scales"][1, 0] = np.inf          # corrupted after construction
    qt._checked = False
    path = tmp_path / "bad.qf"
    with pytest.raises(IntegrityError) as exc:
        qformat.save(path, {"w": qt})
    assert exc.value.tensor == "w"
    assert "QF-BITPACK-040" in str(exc.value)
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("stem", sorted(_tool().CASES))
def test_hostile_files(stem):
    """Each hostile file raises its error class, naming the file, tensor and field."""
    expected = {"IntegrityError": IntegrityError, "LayoutError": LayoutError}[
        _tool().CASES[stem]]
    path = HOSTILE / f"{stem}.qf"
    with pytest.raises(expected) as exc, qformat.open(path) as model:
        model.raw("w")
    err = exc.value
    assert isinstance(err, QFormatError)
    assert err.path == str(path)
    assert err.tensor == "w"
    assert err.field
    clause = "-".join(stem.split("-")[1:4])   # e.g. QF-BITPACK-040
    # shape mismatches are caught by the container's part check (QF-PRT-002) first
    assert ("QF-PRT-002" if clause == "QF-BITPACK-004" else clause) in str(err)


def test_hostile_fixtures_are_what_the_tool_writes(tmp_path):
    tool = _tool()
    for path in tool.generate(tmp_path):
        assert path.read_bytes() == (HOSTILE / path.name).read_bytes(), path.name
    assert sorted(p.stem for p in HOSTILE.glob("bitpack-*.qf")) == sorted(tool.CASES)
