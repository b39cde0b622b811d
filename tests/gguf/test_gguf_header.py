"""The bounded GGUF header walker: metadata values, lazy arrays, layout checks, byte order."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest

import qformat
from qformat.errors import HeaderError, QFormatError
from qformat.readers._gguf_header import INLINE_ARRAY_ITEMS, ggml_type, parse_header
from qformat.readers.gguf import read_gguf

from .conftest import FOREIGN, vocab_gguf

gguf = pytest.importorskip("gguf")

#: every test here reads files written by gguf-py or llama.cpp
pytestmark = pytest.mark.foreign


def test_metadata_values_match_what_was_written() -> None:
    written = json.loads((FOREIGN / "metadata.json").read_text())
    with read_gguf(FOREIGN / "metadata.gguf") as model:
        for key, value in written.items():
            shown = model.metadata[key]
            if isinstance(value, list) and (len(value) > INLINE_ARRAY_ITEMS
                                            or isinstance(value[0], list)):
                assert shown["type"] == "array"
                assert shown["length"] == len(value)
                full = model.metadata_array(key)
                if isinstance(value[0], list):
                    assert [list(np.asarray(v).tolist()) if not isinstance(v, list) else v
                            for v in full] == value
                else:
                    assert list(np.asarray(full).tolist()) == value
            elif key == "m.f32":
                assert shown == pytest.approx(value)
            else:
                assert shown == value, key
        assert model.metadata["m.arr.str.long"]["item_type"] == "STRING"
        assert model.metadata_array("m.arr.bool").dtype == np.bool_
        assert model.metadata_array("m.arr.f32.long").dtype == np.float32
        assert any("chat_template" in w and "never rendered" in w for w in model.warnings)
        with pytest.raises(HeaderError, match="no such metadata array"):
            model.metadata_array("m.u8")


def test_metadata_agrees_with_gguf_reader() -> None:
    """Differential: every key, in order, with gguf-py's decoded contents."""
    reader = gguf.GGUFReader(FOREIGN / "metadata.gguf")
    with read_gguf(FOREIGN / "metadata.gguf") as model:
        theirs = {k: f for k, f in reader.fields.items() if not k.startswith("GGUF.")}
        assert list(model.metadata) == list(theirs)
        for key, field in theirs.items():
            shown = model.metadata[key]
            if isinstance(shown, dict) and shown.get("item_type") == "ARRAY":
                continue  # gguf-py flattens nested arrays; compared against the writer above
            expected = field.contents()
            if field.types[0] == gguf.GGUFValueType.ARRAY:
                ours = model.metadata_array(key)
                ours = ours if isinstance(ours, list) else ours.tolist()
            else:
                ours = shown
            assert ours == pytest.approx(expected) if isinstance(expected, float) or (
                isinstance(expected, list) and isinstance(expected[0], float)) \
                else ours == expected, key


def test_big_vocabulary_is_listed_without_per_token_objects(tmp_path) -> None:
    path = vocab_gguf(tmp_path / "vocab.gguf")
    size = path.stat().st_size
    qformat.open(path).close()  # warm imports and caches
    tracemalloc.start()
    try:
        with qformat.open(path) as model:
            infos = [model.info(k) for k in model]
            q = model.quantization()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # 151,936 Python str objects would need > 8 MiB; the walker keeps offsets only
    assert peak < min(size, 2 << 20), peak
    assert len(infos) == 64
    assert q["methods"] == []
    with qformat.open(path) as model:
        summary = model.metadata["tokenizer.ggml.tokens"]
        assert summary == {"type": "array", "item_type": "STRING", "length": 151_936}
        tokens = model.metadata_array("tokenizer.ggml.tokens")
        assert len(tokens) == 151_936
        assert tokens[0] == "tok0_"
        assert tokens[-1] == "tok151935_" + "x" * (151935 % 13)
        scores = model.metadata_array("tokenizer.ggml.scores")
        assert scores.shape == (151_936,)
        assert scores[-1] == 151935.0


def test_alignment_64_is_honoured() -> None:
    with read_gguf(FOREIGN / "alignment64.gguf") as model:
        assert model.header.alignment == 64
        assert model.header.data_start % 64 == 0
        reader = gguf.GGUFReader(FOREIGN / "alignment64.gguf")
        assert model.header.data_start == reader.data_offset
        for t in reader.tensors:
            assert model.info(t.name).extra["offset"] == t.data_offset
            assert model.info(t.name).extra["offset"] % 64 == 0


def test_type_ids_come_from_the_gguf_package() -> None:
    for t in gguf.GGMLQuantizationType:
        known = ggml_type(int(t.value))
        assert known.name == t.name
        assert known.geometry() == tuple(gguf.GGML_QUANT_SIZES[t])
    newer = ggml_type(42)
    assert newer.name == "UNKNOWN_42"
    assert not newer.known
    with pytest.raises(QFormatError):
        newer.geometry()


def test_big_endian_is_detected_from_the_version_field() -> None:
    for name in ("be-writer-be.gguf", "be-convert-be.gguf", "be-own-be.gguf"):
        data = (FOREIGN / name).read_bytes()
        header = parse_header(data, len(data), name)
        assert header.byte_order == ">"
        assert header.version == 3
        assert data[4:8] == b"\0\0\0\3"
    data = (FOREIGN / "be-writer-le.gguf").read_bytes()
    assert parse_header(data, len(data), "le").byte_order == "<"


def test_header_agrees_with_gguf_reader_on_every_valid_fixture() -> None:
    """Differential against gguf-py: names, ne, types, data offsets, byte sizes."""
    names = ["types.gguf", "metadata.gguf", "alignment64.gguf", "be-writer-le.gguf",
             "be-writer-be.gguf", "be-convert-le.gguf", "be-convert-be.gguf",
             "split-00001-of-00003.gguf", "tiny-llama-Q4_K_M.gguf"]
    for name in names:
        reader = gguf.GGUFReader(FOREIGN / name)
        data = (FOREIGN / name).read_bytes()
        header = parse_header(data, len(data), name)
        assert header.data_start == reader.data_offset, name
        assert [t.name for t in header.tensors] == [t.name for t in reader.tensors]
        for ours, theirs in zip(header.tensors, reader.tensors):
            assert list(ours.ne) == [int(d) for d in theirs.shape], ours.name
            assert ours.type.id == int(theirs.tensor_type)
            assert header.data_start + ours.offset == theirs.data_offset
            assert ours.nbytes == theirs.n_bytes


def test_trailing_bytes_and_dirty_padding_are_reported(tmp_path) -> None:
    data = bytearray((FOREIGN / "alignment64.gguf").read_bytes())
    header = parse_header(bytes(data), len(data), "x")
    path = tmp_path / "trailing.gguf"
    path.write_bytes(bytes(data) + b"POLYGLOT" * 16)
    with read_gguf(path) as model:
        assert any("follow the last tensor" in w for w in model.warnings)
    if header.data_start > header.header_end:
        data[header.header_end] = 0xAB
        path.write_bytes(bytes(data))
        with read_gguf(path) as model:
            assert any("padding bytes" in w for w in model.warnings)


def test_invalid_utf8_is_shown_replaced_with_a_warning(tmp_path) -> None:
    data = bytearray((FOREIGN / "metadata.gguf").read_bytes())
    at = data.find(b"h\xc3\xa9llo")
    data[at + 1] = 0xFF  # break the 2-byte sequence
    path = tmp_path / "utf8.gguf"
    path.write_bytes(bytes(data))
    with read_gguf(path) as model:
        assert "\ufffd" in model.metadata["m.str"]
        assert any("not valid UTF-8" in w for w in model.warnings)
