"""The command line: inspect, verify, dequantize; exit codes; no numba on the inspect path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import qformat
from qformat.cli import main

from .conftest import FIXTURES, ROOT

EXAMPLE = FIXTURES / "example.qf"
HOSTILE = FIXTURES / "hostile" / "qf"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qformat.cli", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def test_inspect_json_has_the_contract_shape(capsys) -> None:
    assert main(["inspect", str(EXAMPLE), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert set(d) == {"format", "path", "file_size", "quantization", "metadata", "tensors",
                      "warnings"}
    assert d["format"] == "qformat" and d["file_size"] == EXAMPLE.stat().st_size
    assert set(d["quantization"]) >= {"methods", "label", "bits_per_weight", "evidence"}
    assert d["metadata"]["description"].startswith("qformat example")
    names = [t["name"] for t in d["tensors"]]
    assert "mlp.down.weight" in names and "token_ids" in names
    for t in d["tensors"]:
        assert set(t) >= {"name", "shape", "dtype", "method", "bits", "group_size", "symmetric",
                          "bits_per_weight", "nbytes"}
    head = next(t for t in d["tensors"] if t["name"] == "lm_head.weight")
    assert head["dtype"] == "BF16" and head["bits_per_weight"] == 16.0
    assert head["shape"] == [64, 96] and head["nbytes"] == 64 * 96 * 2
    up = next(t for t in d["tensors"] if t["name"] == "mlp.up.weight")
    assert (up["method"], up["bits"], up["group_size"]) == ("bitpack", 4, 32)
    assert 4 < up["bits_per_weight"] < 5
    down = next(t for t in d["tensors"] if t["name"] == "mlp.down.weight")
    assert down["method"] == "sparse"
    assert d["quantization"]["methods"] == ["bitpack", "codebook", "sparse"]


def test_inspect_text_lists_tensors(capsys) -> None:
    assert main(["inspect", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "qformat" in out and "mlp.up.weight" in out and "96x64" in out and "bitpack" in out


def test_inspect_truncates_long_metadata(tmp_path: Path, capsys) -> None:
    import qformat

    path = tmp_path / "m.qf"
    qformat.save(path, {"a": np.zeros(1)}, {"template": "{{ evil }}" * 1000,
                                            "vocab": list(range(100))})
    assert main(["inspect", str(path), "--json"]) == 0
    meta = json.loads(capsys.readouterr().out)["metadata"]
    assert len(meta["template"]) < 400 and meta["template"].endswith("[10000 chars]")
    assert len(meta["vocab"]) == 17 and meta["vocab"][-1] == "... [100 items]"


def test_verify_exit_codes(tmp_path: Path, capsys) -> None:
    assert main(["verify", str(EXAMPLE)]) == 0
    assert "OK" in capsys.readouterr().out
    assert main(["verify", str(HOSTILE / "QF-DAT-004-flipped-bit.qf")]) == 1
    assert "CORRUPT" in capsys.readouterr().out
    assert main(["verify", str(HOSTILE / "QF-DAT-003-dirty-padding.qf"), "--json"]) == 1
    d = json.loads(capsys.readouterr().out)
    assert d["ok"] is False and d["tensor"] == "b"
    assert main(["verify", str(HOSTILE / "QF-PRE-003-newer-major.qf")]) == 2
    assert "major version" in capsys.readouterr().err
    assert main(["verify", str(tmp_path / "missing.qf")]) == 2
    (tmp_path / "junk.bin").write_bytes(b"hello world, not a model")
    assert main(["verify", str(tmp_path / "junk.bin")]) == 2
    assert "unrecognised file format" in capsys.readouterr().err


def test_dequantize_writes_npy(tmp_path: Path, capsys) -> None:
    out = tmp_path / "w.npy"
    assert main(["dequantize", str(EXAMPLE), "mlp.down.weight", "-o", str(out)]) == 0
    arr = np.load(out)
    assert arr.dtype == np.float32 and arr.shape == (64, 96)
    import qformat

    with qformat.open(EXAMPLE) as m:
        np.testing.assert_array_equal(arr, m.get("mlp.down.weight"))
    assert main(["dequantize", str(EXAMPLE), "nope", "-o", str(out)]) == 2
    assert "no such tensor" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.npy"]


def test_usage_errors_exit_2() -> None:
    with pytest.raises(SystemExit) as info:
        main(["inspect"])
    assert info.value.code == 2
    assert main([]) == 2


def test_console_script_inspect_does_not_import_numba_or_matplotlib() -> None:
    code = (
        "import sys, io, contextlib\n"
        "from qformat.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main(['inspect', {str(EXAMPLE)!r}, '--json'])\n"
        "heavy = [m for m in ('numba', 'matplotlib', 'onnx', 'tflite', 'gguf', 'torch')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_help_runs_as_a_module() -> None:
    res = run("--help")
    assert res.returncode == 0 and "inspect" in res.stdout and "verify" in res.stdout


def test_sniff_finds_index_json_with_a_large_metadata_block_first(tmp_path: Path) -> None:
    import json as _json

    from qformat.readers.sniff import sniff

    index = {"metadata": {"note": "x" * 10_000}, "weight_map": {"a": "model.safetensors"}}
    (tmp_path / "model.safetensors.index.json").write_text(_json.dumps(index))
    assert sniff(tmp_path / "model.safetensors.index.json") == "safetensors"
    (tmp_path / "other.json").write_text(_json.dumps({"metadata": {"note": "x" * 10_000}}))
    with pytest.raises(qformat.UnsupportedError, match="unrecognised"):
        sniff(tmp_path / "other.json")


def test_sniff_refuses_fifos_without_blocking(tmp_path: Path) -> None:
    import os

    from qformat.readers.sniff import sniff

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(qformat.UnsupportedError, match="not a regular file"):
        sniff(fifo)
