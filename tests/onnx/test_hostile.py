"""Hostile ONNX files: each is refused with a specific QFormatError, no crash, hang or huge
allocation, and nothing outside the model's folder is ever opened."""

from __future__ import annotations

import builtins
import os
import shutil
import tracemalloc
from pathlib import Path

import pytest

import qformat
from qformat.errors import HeaderError, LimitError, QFormatError, UnsupportedError

from .conftest import HOSTILE

CASES: dict[str, tuple[type[QFormatError], str]] = {
    "truncated.onnx": (HeaderError, "malformed ONNX protobuf"),
    "malformed_length.onnx": (HeaderError, "malformed ONNX protobuf"),
    "malformed_wiretype.onnx": (HeaderError, "malformed ONNX protobuf"),
    "deep_subgraphs.onnx": (HeaderError, "malformed ONNX protobuf"),
    "no_graph.onnx": (HeaderError, "no graph"),
    "not_onnx.onnx": (UnsupportedError, "unrecognised file format"),
    "extdata_absolute/model.onnx": (HeaderError, "absolute path"),
    "extdata_dotdot/model.onnx": (HeaderError, "'..' component"),
    "extdata_nested_dotdot/model.onnx": (HeaderError, "'..' component"),
    "extdata_backslash/model.onnx": (HeaderError, "'..' component"),
    "extdata_drive/model.onnx": (HeaderError, "absolute path"),
    "extdata_symlink/model.onnx": (HeaderError, "symlink"),
    "extdata_symlink_inside/model.onnx": (HeaderError, "symlink"),
    "extdata_symlink_dir/model.onnx": (HeaderError, "symlink"),
    "extdata_past_end/model.onnx": (HeaderError, "past the end"),
    "extdata_huge_offset/model.onnx": (LimitError, "offset is too large"),
    "extdata_negative_length/model.onnx": (HeaderError, "not a non-negative integer"),
    "extdata_length_mismatch/model.onnx": (HeaderError, "length does not match"),
    "extdata_missing/model.onnx": (HeaderError, "cannot open external data"),
    "scale_wrong_length.onnx": (HeaderError, "scale length does not match"),
    "zero_point_dtype_mismatch.onnx": (HeaderError, "zero point type differs"),
    "blocked_scale_wrong_shape.onnx": (HeaderError, "blocked scale shape"),
    "axis_out_of_range.onnx": (HeaderError, "axis out of range"),
    "unknown_dtype.onnx": (UnsupportedError, "unknown or unsupported ONNX element type"),
    "undefined_dtype.onnx": (HeaderError, "UNDEFINED"),
    "huge_dims.onnx": (LimitError, "more elements than the cap"),
    "raw_data_short.onnx": (HeaderError, "raw_data size does not match"),
    "negative_dim.onnx": (HeaderError, "negative dimension"),
    "too_many_dims.onnx": (LimitError, "too many dimensions"),
    "int32_data_out_of_range.onnx": (HeaderError, "out of the type's range"),
    "duplicate_initializer.onnx": (HeaderError, "duplicate tensor name"),
    "nbits_shape_mismatch.onnx": (HeaderError, "B shape does not match"),
    "nbits_bad_bits.onnx": (HeaderError, "bits out of range"),
    "nbits_scales_wrong.onnx": (HeaderError, "scales shape does not match"),
    "attr_wrong_type.onnx": (HeaderError, "attribute must be an integer"),
    "nbits_omitted_huge.onnx": (UnsupportedError, "omitted projection"),
    "nbits_huge_attrs.onnx": (LimitError, "K x N exceeds the element cap"),
    "sparse_huge.onnx": (LimitError, "too large to densify"),
    "qgemm_scale_rank.onnx": (HeaderError, "too low rank"),
    "invalid_utf8_name.onnx": (HeaderError, "not valid UTF-8"),
}


def _read_everything(path: Path) -> None:
    with qformat.open(path) as m:
        for name in m.keys():
            m.info(name)
            m.get(name)
        m.quantization()


def test_every_hostile_file_has_a_case() -> None:
    on_disk = {str(p.relative_to(HOSTILE)) for p in HOSTILE.rglob("*.onnx")
               if "extdata_symlink_dir/sub" not in str(p)}
    on_disk.discard("extdata_fifo/model.onnx")  # the FIFO is made by test_fifo_does_not_hang
    assert on_disk == set(CASES)


@pytest.mark.parametrize("rel", sorted(CASES))
def test_hostile_file_is_refused(rel: str) -> None:
    cls, words = CASES[rel]
    path = HOSTILE / rel
    tracemalloc.start()
    try:
        with pytest.raises(cls) as info:
            _read_everything(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    msg = str(info.value)
    assert words in msg
    assert str(path) in msg, "the error names the file"
    # nothing is allocated beyond a small multiple of the file (the huge-dims cases included)
    assert peak < 16 * 1024 * 1024


@pytest.mark.parametrize("rel", sorted(r for r in CASES if r.startswith("extdata_")))
def test_nothing_outside_the_folder_is_opened(rel: str, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = (HOSTILE / rel).parent.resolve()
    opened: list[str] = []
    real_os_open, real_open = os.open, builtins.open

    def spy_os_open(p, flags, mode=0o777, *, dir_fd=None):
        opened.append(os.path.join(f"<fd {dir_fd}>", os.fsdecode(p)) if dir_fd is not None
                      else os.fsdecode(p))
        return real_os_open(p, flags, mode, dir_fd=dir_fd)

    def spy_open(p, *a, **kw):
        if isinstance(p, str | bytes | os.PathLike):
            opened.append(os.fsdecode(p))
        return real_open(p, *a, **kw)

    monkeypatch.setattr(os, "open", spy_os_open)
    monkeypatch.setattr(builtins, "open", spy_open)
    with pytest.raises(QFormatError):
        _read_everything(HOSTILE / rel)
    for p in opened:
        if p.startswith("<fd "):
            name = p.split(">", 1)[1].lstrip("/")
            assert name not in ("..", "outside.bin", "passwd"), p
            continue
        resolved = Path(p).resolve()
        assert resolved == folder or folder in resolved.parents, f"opened {p} outside {folder}"


def _tiny_external_model(folder: Path, location: str) -> Path:
    """A copy of the past-end case with a fresh location (symlinks/FIFOs made by the test)."""
    import onnx

    src = HOSTILE / "extdata_past_end" / "model.onnx"
    m = onnx.load(src, load_external_data=False)
    t = m.graph.initializer[0]
    for e in t.external_data:
        if e.key == "location":
            e.value = location
        if e.key == "offset":
            e.value = "0"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.onnx"
    path.write_bytes(m.SerializeToString())
    return path


def test_fifo_does_not_hang(tmp_path: Path) -> None:
    path = _tiny_external_model(tmp_path / "m", "pipe")
    os.mkfifo(tmp_path / "m" / "pipe")
    with pytest.raises(HeaderError, match="not a regular file"):
        _read_everything(path)


def test_hard_link_is_refused(tmp_path: Path) -> None:
    path = _tiny_external_model(tmp_path / "m", "w.bin")
    (tmp_path / "secret.bin").write_bytes(b"\x01" * 64)
    os.link(tmp_path / "secret.bin", tmp_path / "m" / "w.bin")
    with pytest.raises(HeaderError, match="several hard links"):
        _read_everything(path)


def test_data_file_truncated_after_open(tmp_path: Path) -> None:
    path = _tiny_external_model(tmp_path / "m", "w.bin")
    (tmp_path / "m" / "w.bin").write_bytes(b"\x00" * 64)
    with qformat.open(path) as m:
        assert m.get("w").shape == (16,)
        (tmp_path / "m" / "w.bin").write_bytes(b"\x00" * 10)
        with pytest.raises(HeaderError, match="past the end"):
            m.get("w")


def test_data_file_replaced_by_symlink_after_open(tmp_path: Path) -> None:
    path = _tiny_external_model(tmp_path / "m", "w.bin")
    (tmp_path / "m" / "w.bin").write_bytes(b"\x00" * 64)
    (tmp_path / "outside.bin").write_bytes(b"\x01" * 64)
    with qformat.open(path) as m:
        os.unlink(tmp_path / "m" / "w.bin")
        os.symlink(tmp_path / "outside.bin", tmp_path / "m" / "w.bin")
        with pytest.raises(HeaderError, match="symlink"):
            m.get("w")


def test_protobuf_size_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from qformat import limits

    src = HOSTILE / "extdata_past_end" / "model.onnx"
    shutil.copyfile(src, tmp_path / "model.onnx")
    monkeypatch.setattr(limits, "ONNX_MAX_PROTO_BYTES", 16)
    with pytest.raises(LimitError, match="2 GiB"):
        qformat.open(tmp_path / "model.onnx")


def test_nested_subgraphs_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Graph nesting the protobuf parser accepts is still capped by ONNX_MAX_GRAPH_DEPTH."""
    import onnx
    from onnx import helper

    from qformat import limits

    leaf = helper.make_graph([], "leaf", [], [helper.make_tensor_value_info("c", 1, None)])
    inner = leaf
    for i in range(6):
        node = helper.make_node("If", ["cond"], [f"o{i}"], then_branch=inner, else_branch=leaf)
        inner = helper.make_graph([node], f"g{i}", [],
                                  [helper.make_tensor_value_info(f"o{i}", 1, None)])
    m = helper.make_model(inner, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(m, tmp_path / "nested.onnx")
    with qformat.open(tmp_path / "nested.onnx") as model:
        assert model.keys() == []
    monkeypatch.setattr(limits, "ONNX_MAX_GRAPH_DEPTH", 3)
    with pytest.raises(LimitError, match="nested too deeply"):
        qformat.open(tmp_path / "nested.onnx")
