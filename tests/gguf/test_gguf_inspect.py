"""``qformat inspect`` on GGUF: the JSON contract, no numba import, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import qformat

from .conftest import FOREIGN, HOSTILE, ROOT

pytest.importorskip("gguf")

#: every test here reads files written by gguf-py or llama.cpp
pytestmark = pytest.mark.foreign


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qformat.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_inspect_json_contract() -> None:
    report = qformat.inspect(FOREIGN / "tiny-llama-Q4_K_M.gguf").to_dict()
    assert report["format"] == "gguf"
    assert report["file_size"] == (FOREIGN / "tiny-llama-Q4_K_M.gguf").stat().st_size
    q = report["quantization"]
    assert {"methods", "label", "bits_per_weight", "evidence"} <= set(q)
    assert q["label"] == "Q4_K_M"
    assert all(isinstance(e, str) for e in q["evidence"])
    assert report["metadata"]["tokenizer.ggml.tokens"]["length"] == 259
    for t in report["tensors"]:
        assert {"name", "shape", "dtype", "method", "bits", "group_size", "symmetric",
                "bits_per_weight", "nbytes", "type"} <= set(t)
        assert t["method"] in ("gguf", "none")
    json.dumps(report, allow_nan=False)


def test_cli_inspect_does_not_import_numba() -> None:
    code = ("import sys, qformat; r = qformat.inspect(sys.argv[1]).to_dict(); "
            "print(len(r['tensors']), 'numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(FOREIGN / "types.gguf")], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["34", "False"]


def test_cli_inspect_json_and_text() -> None:
    out = _run("inspect", str(FOREIGN / "split-00001-of-00003.gguf"), "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert [t["name"] for t in report["tensors"]] == ["blk.0.w", "blk.1.w", "blk.2.w",
                                                      "blk.3.w", "norm"]
    assert report["tensors"][0]["type"] == "Q4_0"
    text = _run("inspect", str(FOREIGN / "metadata.gguf"))
    assert text.returncode == 0, text.stderr
    assert "chat_template" in text.stdout
    assert "never rendered" in text.stdout


def test_cli_exit_code_2_on_hostile_file() -> None:
    out = _run("inspect", str(HOSTILE / "nested-arrays-5000.gguf"), "--json")
    assert out.returncode == 2
    assert "nested deeper than the limit" in out.stderr


@pytest.mark.jit
def test_cli_dequantize_writes_the_tensor(tmp_path) -> None:
    import numpy as np

    target = tmp_path / "w.npy"
    out = _run("dequantize", str(FOREIGN / "types.gguf"), "q.Q6_K", "-o", str(target), "-q")
    assert out.returncode == 0, out.stderr
    with qformat.open(FOREIGN / "types.gguf") as model:
        assert np.array_equal(np.load(target), model.get("q.Q6_K"))
