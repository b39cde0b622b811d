"""Opening checkpoints: sniffing, shards and side files, path safety, the report and the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from st_helpers import CORPUS, GEN, ROOT, write_st

import qformat
from qformat import limits
from qformat.cli import main as cli_main
from qformat.errors import (
    ArgumentError,
    HeaderError,
    IntegrityError,
    LimitError,
    QFormatError,
)
from qformat.readers.safetensors import read_safetensors


def _tiny(folder: Path, name: str = "model.safetensors") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write_st(folder / name, {"a.weight": np.arange(6, dtype=np.float32).reshape(2, 3),
                                    "b.bias": np.ones(2, np.float16)})


def test_open_file_directory_and_index_by_content(tmp_path: Path) -> None:
    path = _tiny(tmp_path / "m")
    renamed = tmp_path / "m" / "weights.bin"  # the extension does not matter
    shutil.copy(path, renamed)
    for target in (path, tmp_path / "m", renamed):
        with qformat.open(target) as model:
            assert model.format == "safetensors"
            assert model.get("a.weight").tolist() == [[0, 1, 2], [3, 4, 5]]
    (tmp_path / "m" / "weights.bin").unlink()
    index = {"metadata": {"total_size": 28},
             "weight_map": {"a.weight": "model.safetensors", "b.bias": "model.safetensors"}}
    idx = tmp_path / "m" / "custom.safetensors.index.json"
    idx.write_text(json.dumps(index))
    with qformat.open(idx) as model:
        assert sorted(model.keys()) == ["a.weight", "b.bias"]
        assert model.metadata["index.metadata"] == {"total_size": 28}


def test_directory_without_index_reads_every_file_with_a_warning(tmp_path: Path) -> None:
    write_st(tmp_path / "one.safetensors", {"x": np.zeros(1, np.float32)})
    write_st(tmp_path / "two.safetensors", {"y": np.zeros(1, np.float32)})
    with qformat.open(tmp_path) as model:
        assert sorted(model.keys()) == ["x", "y"]
        assert any("no index file" in w for w in model.warnings)
    write_st(tmp_path / "three.safetensors", {"y": np.zeros(1, np.float32)})
    with pytest.raises(HeaderError, match="two shards"):
        qformat.open(tmp_path)


def test_hugging_face_cache_links_into_blobs_are_followed(tmp_path: Path) -> None:
    repo = tmp_path / "models--org--name"
    blob = _tiny(repo / "blobs", "0123abcd")
    snap = repo / "snapshots" / "rev1"
    snap.mkdir(parents=True)
    os.symlink(os.path.relpath(blob, snap), snap / "model.safetensors")
    with qformat.open(snap) as model:
        assert "a.weight" in model
    # the same link anywhere else is refused, unless the caller opts in
    other = tmp_path / "plain"
    other.mkdir()
    os.symlink(os.path.relpath(blob, other), other / "model.safetensors")
    with pytest.raises(HeaderError, match="symlink leading outside"):
        qformat.open(other)
    with read_safetensors(other, follow_symlinks=True) as model:
        assert "a.weight" in model


def test_escaping_config_symlink_is_ignored_not_read(tmp_path: Path) -> None:
    _tiny(tmp_path / "m")
    secret = tmp_path / "secret.json"
    secret.write_text('{"quantization_config": {"quant_method": "gptq"}}')
    os.symlink("../secret.json", tmp_path / "m" / "config.json")
    with qformat.open(tmp_path / "m") as model:
        assert any(w.startswith("config.json ignored") for w in model.warnings)
        assert model.quantization()["evidence"] == []


def test_side_file_and_index_size_caps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tiny(tmp_path / "m")
    (tmp_path / "m" / "config.json").write_text(json.dumps({"pad": "x" * 400}))
    (tmp_path / "m" / "model.safetensors.index.json").write_text(json.dumps(
        {"weight_map": {"a.weight": "model.safetensors", "b.bias": "model.safetensors"},
         "pad": "y" * 400}))
    monkeypatch.setattr(limits, "MAX_SIDECAR_JSON_BYTES", 300)
    with pytest.raises(LimitError) as exc:
        qformat.open(tmp_path / "m")
    assert exc.value.field == "file_size"
    (tmp_path / "m" / "model.safetensors.index.json").unlink()
    with qformat.open(tmp_path / "m") as model:
        assert any("larger than the limit" in w for w in model.warnings)


def test_shard_count_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_SHARDS", 2)
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(
        {"weight_map": {f"t{i}": f"s{i}.safetensors" for i in range(5)}}))
    with pytest.raises(LimitError, match="too many shards"):
        qformat.open(tmp_path)


def test_file_truncated_after_open_is_reported(tmp_path: Path) -> None:
    path = _tiny(tmp_path / "m")
    model = qformat.open(path)
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size - 4)
    with pytest.raises(IntegrityError, match="changed size"):
        model.get("b.bias")
    model.close()


def test_errors_for_unknown_names_options_and_closed_models(tmp_path: Path) -> None:
    path = _tiny(tmp_path / "m")
    with pytest.raises(ArgumentError):
        read_safetensors(path, mmap=False)
    model = qformat.open(path)
    with pytest.raises(QFormatError) as exc:
        model.info("nope")
    assert exc.value.tensor == "nope"
    w = model.get("a.weight")
    assert not w.flags.writeable  # plain float32 tensors are zero-copy views of the map
    model.close()
    with pytest.raises(QFormatError, match="closed"):
        model.get("a.weight")


def test_raw_is_unsupported_for_plain_tensors(tmp_path: Path) -> None:
    with qformat.open(_tiny(tmp_path / "m")) as model, pytest.raises(qformat.UnsupportedError):
        model.raw("a.weight")


@pytest.mark.foreign
def test_inspect_report_and_cli_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    target = CORPUS / "gptq-int4-g128-sym"
    report = qformat.inspect(target).to_dict()
    assert report["quantization"]["methods"] == ["gptq"]
    t = next(x for x in report["tensors"]
             if x["name"] == "model.layers.0.self_attn.k_proj.weight")
    assert t["method"] == "gptq"
    assert t["bits"] == 4
    assert t["group_size"] == 128
    assert [p["name"].rsplit(".", 1)[1] for p in t["parts"]] == ["qweight", "qzeros",
                                                                 "scales", "g_idx"]
    assert isinstance(t["evidence"], list)
    assert cli_main(["inspect", str(target), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["quantization"]["evidence"] == report["quantization"]["evidence"]
    assert cli_main(["inspect", str(target)]) == 0
    text = capsys.readouterr().out
    assert "evidence: config.json quantization_config" in text
    assert "gptq" in text
    npy = tmp_path / "w.npy"
    assert cli_main(["dequantize", str(target), "model.layers.0.self_attn.k_proj.weight",
                     "-o", str(npy), "-q"]) == 0
    assert np.load(npy).shape == (128, 256)


def test_cli_reports_hostile_file_with_exit_2(capsys: pytest.CaptureFixture) -> None:
    bad = ROOT / "fixtures" / "hostile" / "safetensors" / "duplicate_tensor_key.safetensors"
    assert cli_main(["inspect", str(bad)]) == 2
    assert "duplicate key" in capsys.readouterr().err


@pytest.mark.foreign
def test_inspect_never_imports_numba_or_torch() -> None:
    code = ("import sys, qformat; r = qformat.inspect(sys.argv[1]).to_dict(); "
            "m = qformat.open(sys.argv[1]); m.get('model.layers.0.self_attn.k_proj.weight'); "
            "print(sorted(k for k in ('numba', 'torch', 'safetensors') if k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(GEN / "gptq-int3-g128")],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_metadata_is_shown_inert(tmp_path: Path) -> None:
    path = tmp_path / "m"
    _tiny(path)
    (path / "config.json").write_text(json.dumps({
        "auto_map": {"AutoModel": "modeling.Evil"}, "model_type": "llama",
        "quantization_config": {"quant_method": "torchao", "note": "{{ 7*7 }}" + "z" * 600}}))
    report = qformat.inspect(path).to_dict()
    note = report["metadata"]["config.quantization_config"]["note"]
    assert note.startswith("{{ 7*7 }}")
    assert note.endswith("chars]")
    assert any("auto_map" in w for w in report["warnings"])
    assert any("not a scheme qformat decodes" in w for w in report["warnings"])
