"""The .qf container: round trips, golden files, streaming, forward compatibility."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import xxhash
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import qformat
from qformat import spec
from qformat.container.reader import QfModel
from qformat.dtypes import bf16_to_f32, f32_to_bf16

from .conftest import FIXTURES

RAW_DTYPES = {
    "F32": np.float32, "F16": np.float16, "I8": np.int8, "U8": np.uint8, "I16": np.int16,
    "I32": np.int32, "F64": np.float64, "I64": np.int64, "U16": np.uint16, "U32": np.uint32,
    "BOOL": np.bool_, "U64": np.uint64,
}
GOLDEN = FIXTURES / "golden" / "v1.0"


def shapes():
    return hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=4)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_round_trip_every_raw_dtype_and_odd_shapes(tmp_path: Path, data) -> None:
    """QF-RAW-001: what is written is read back bit for bit, for every dtype and shape."""
    tensors = {}
    for i, (code, np_dtype) in enumerate(RAW_DTYPES.items()):
        if data.draw(st.booleans(), label=f"include {code}"):
            arr = data.draw(hnp.arrays(np_dtype, shapes()), label=code)
            tensors[f"t{i}.{code}"] = arr
    metadata = data.draw(st.dictionaries(st.text(max_size=8), st.one_of(
        st.integers(), st.text(max_size=20), st.booleans(), st.none(),
        st.lists(st.integers(), max_size=3)), max_size=4), label="metadata")
    path = tmp_path / "rt.qf"
    qformat.save(path, tensors, metadata)
    with qformat.open(path) as m:
        assert m.format == "qformat"
        assert m.keys() == list(tensors)
        assert m.metadata == metadata
        for name, arr in tensors.items():
            qt = m.raw(name)
            stored = qt.parts["data"]
            assert stored.shape == arr.shape
            assert stored.tobytes() == np.ascontiguousarray(arr).tobytes()
            got = m.get(name)
            assert got.dtype == np.float32 and got.shape == arr.shape
            with np.errstate(over="ignore"):
                np.testing.assert_array_equal(got, arr.astype(np.float32))
        m.verify()
    assert path.stat().st_size % 1 == 0 and not list(tmp_path.glob("*.qf-tmp"))


def test_bf16_round_trip_and_rounding(tmp_path: Path) -> None:
    values = np.array([1.0, -2.5, 3.14159, 1e-40, np.inf, -np.inf, 65504.0, 1 + 2**-8],
                      dtype=np.float32)
    qt = qformat.quantize(values, "raw", dtype="BF16")
    assert qt.parts["data"].dtype == np.uint16
    qformat.save(tmp_path / "b.qf", {"b": qt})
    with qformat.open(tmp_path / "b.qf") as m:
        got = m.get("b")
    np.testing.assert_array_equal(got, bf16_to_f32(f32_to_bf16(values)))
    assert got[0] == 1.0 and got[1] == -2.5 and got[7] == 1.0  # ties round to even
    assert abs(got[2] - 3.140625) < 1e-6


def test_reader_views_are_zero_copy_and_read_only(tmp_path: Path) -> None:
    arr = np.arange(1000, dtype=np.float32).reshape(10, 100)
    qformat.save(tmp_path / "v.qf", {"a": np.zeros(3, np.int8), "w": arr})
    with qformat.open(tmp_path / "v.qf") as m:
        data = m.raw("w").parts["data"]
        assert not data.flags.writeable
        assert not data.flags.owndata  # a view of the map, not a copy
        assert data.ctypes.data % spec.ALIGNMENT == 0  # the map is page-aligned
        entry = m.entry("w")
        assert (m.data_start + entry.parts[0].offset) % spec.ALIGNMENT == 0
        np.testing.assert_array_equal(data, arr)


@pytest.mark.parametrize("case", ["empty", "scalar-pair", "raw-dtypes"])
def test_golden_files_decode_and_writer_reproduces_bytes(tmp_path: Path, case: str) -> None:
    """Golden files are write-once: today's reader decodes them, today's writer re-creates them."""
    path = GOLDEN / f"{case}.qf"
    expected = dict(np.load(GOLDEN / f"{case}.npz"))
    with qformat.open(path) as m:
        assert sorted(m.keys()) == sorted(expected)
        for name, arr in expected.items():
            assert m.raw(name).parts["data"].tobytes() == arr.tobytes()
        m.verify()
        metadata, order = m.metadata, m.keys()
    out = tmp_path / "again.qf"
    qformat.save(out, {k: expected[k] for k in order}, metadata)
    assert out.read_bytes() == path.read_bytes()


def test_example_fixture_is_current(tmp_path: Path) -> None:
    """fixtures/example.qf is exactly what tools/make_qf_fixtures.py writes."""
    from tools.make_qf_fixtures import EXAMPLE_METADATA, example_tensors

    out = tmp_path / "example.qf"
    qformat.save(out, example_tensors(), EXAMPLE_METADATA)
    assert out.read_bytes() == (FIXTURES / "example.qf").read_bytes()


def test_streaming_writer_keeps_reserve_when_data_is_large(tmp_path: Path) -> None:
    """Large data: the header goes into the reserved space (no copy), padded with spaces."""
    big = np.zeros((600, 1024), dtype=np.float32)  # 2.4 MB: the unused reserve is under 4 KiB
    path = tmp_path / "big.qf"
    with qformat.writer(path, {"m": 1}, header_reserve=4000) as w:
        w.add("big", big)
        w.add("small", np.ones(3, np.int16))
    raw = path.read_bytes()
    (hlen,) = struct.unpack_from("<Q", raw, 16)
    assert spec.PREAMBLE_SIZE + hlen == spec.align_up(spec.PREAMBLE_SIZE + 4000)
    assert raw[32:32 + hlen].rstrip(b" ").endswith(b"}")
    with qformat.open(path) as m:
        m.verify()
        np.testing.assert_array_equal(m.get("small"), [1, 1, 1])


def test_streaming_writer_compacts_when_header_outgrows_reserve(tmp_path: Path) -> None:
    path = tmp_path / "many.qf"
    with qformat.writer(path, header_reserve=64) as w:
        for i in range(200):
            w.add(f"t{i}", np.full(5, i, dtype=np.int32))
    with qformat.open(path) as m:
        assert len(m) == 200
        np.testing.assert_array_equal(m.get("t199"), [199] * 5)
        m.verify()


def test_writer_refuses_duplicates_and_bad_arguments(tmp_path: Path) -> None:
    path = tmp_path / "d.qf"
    with pytest.raises(qformat.ArgumentError, match="duplicate"), qformat.writer(path) as w:
        w.add("a", np.zeros(2))
        w.add("a", np.zeros(2))
    assert not path.exists()
    with pytest.raises(qformat.ArgumentError, match="numpy array or a QTensor"):
        qformat.save(path, {"a": [1, 2, 3]})
    with pytest.raises(qformat.ArgumentError, match="non-empty"):
        qformat.save(path, {"": np.zeros(1)})
    with pytest.raises(qformat.ArgumentError, match="JSON"):
        qformat.save(path, {"a": np.zeros(1)}, metadata={"x": object()})
    with pytest.raises(qformat.ArgumentError, match="JSON"):
        qformat.save(path, {"a": np.zeros(1)}, metadata={"x": float("nan")})
    with pytest.raises(qformat.ArgumentError, match="unsupported numpy dtype"):
        qformat.save(path, {"a": np.zeros(2, dtype=np.complex64)})
    assert not path.exists() and not list(tmp_path.iterdir())


def test_big_endian_input_is_stored_little_endian(tmp_path: Path) -> None:
    arr = np.arange(5, dtype=">i4")
    qformat.save(tmp_path / "e.qf", {"a": arr})
    with qformat.open(tmp_path / "e.qf") as m:
        assert m.raw("a").parts["data"].dtype == np.dtype("<i4")
        np.testing.assert_array_equal(m.get("a"), [0, 1, 2, 3, 4])


def test_shape_mismatch_between_parts_and_layout_is_refused() -> None:
    from qformat.layouts.qtensor import QTensor
    from qformat.layouts.raw import RawLayout

    with pytest.raises(qformat.LayoutError, match="wrong shape"):
        QTensor(RawLayout(), (2, 3), {"data": np.zeros((3, 2), np.float32)})
    with pytest.raises(qformat.LayoutError, match="wrong dtype"):
        QTensor(RawLayout(), (2,), {"data": np.zeros(2, np.float64)}, dtype="F32")
    with pytest.raises(qformat.LayoutError, match="do not match"):
        QTensor(RawLayout(), (2,), {"codes": np.zeros(2, np.float32)})


def _rewrite_header(path: Path, out: Path, edit, minor: int = 0) -> None:
    raw = path.read_bytes()
    (hlen,) = struct.unpack_from("<Q", raw, 16)
    obj = json.loads(raw[32:32 + hlen])
    edit(obj)
    text = json.dumps(obj, separators=(",", ":")).encode()
    data = raw[32 + hlen:]
    padded = text + b" " * (spec.align_up(32 + len(text)) - 32 - len(text))
    pre = struct.pack("<8sHHIQQ", spec.MAGIC, 1, minor, 0, len(padded),
                      xxhash.xxh3_64_intdigest(padded))
    out.write_bytes(pre + padded + data)


def test_newer_minor_version_ignores_unknown_keys(tmp_path: Path) -> None:
    """QF-VER-002: a 1.1 file with keys this reader does not know is still read."""
    def edit(obj):
        obj["provenance"] = {"tool": "future"}
        obj["tensors"][0]["stats"] = {"mean": 1.5}
        obj["tensors"][0]["parts"][0]["sha256"] = "00" * 32

    src = GOLDEN / "scalar-pair.qf"
    newer = tmp_path / "newer.qf"
    _rewrite_header(src, newer, edit, minor=1)
    with qformat.open(newer) as m:
        np.testing.assert_array_equal(m.get("x"), [1.0, 2.0])
        assert any("newer than this reader" in w for w in m.warnings)
    same = tmp_path / "same-minor.qf"
    _rewrite_header(src, same, edit, minor=0)
    with pytest.raises(qformat.HeaderError, match="unknown keys"):
        QfModel(same)


def test_optional_unknown_layout_is_skipped_with_warning(tmp_path: Path) -> None:
    """QF-TEN-006: must_understand=false lets an old reader skip a tensor it cannot decode."""
    def edit(obj):
        obj["tensors"][0]["layout"] = {"name": "acme.zstd", "config": {"level": 3},
                                       "must_understand": False}

    out = tmp_path / "opt.qf"
    _rewrite_header(GOLDEN / "raw-dtypes.qf", out, edit)
    with qformat.open(out) as m:
        assert "f32" not in m and "f16" in m
        assert any("'f32' skipped" in w for w in m.warnings)
        m.verify()  # checksums of the skipped tensor are still verified


def test_registered_third_party_layout_plugs_in_without_container_changes(tmp_path: Path) -> None:
    """A layout registered at run time is written, listed, validated and decoded."""
    from tests.layout_for_tests import ScaledLayout

    qt = ScaledLayout.encode(np.array([[1.0, -2.0], [3.0, 0.5]], dtype=np.float32))
    qformat.save(tmp_path / "s.qf", {"w": qt})
    with qformat.open(tmp_path / "s.qf") as m:
        info = m.info("w")
        assert info.method == "test.scaled" and info.bits == 8
        assert [p.name for p in info.parts] == ["codes", "scale"]
        np.testing.assert_allclose(m.get("w"), [[1.0, -2.0], [3.0, 0.5]], atol=0.02)
        y = m.raw("w").linear(np.array([1.0, 1.0], dtype=np.float32))
        np.testing.assert_allclose(y, [-1.0, 3.5], atol=0.05)


def test_writer_refuses_nan_scales(tmp_path: Path) -> None:
    from tests.layout_for_tests import ScaledLayout

    qt = ScaledLayout.encode(np.ones((2, 2), np.float32))
    qt.parts["scale"] = np.array([np.nan], dtype=np.float32)
    qt._checked = False
    with pytest.raises(qformat.IntegrityError, match="scale"):
        qformat.save(tmp_path / "n.qf", {"w": qt})
    assert not (tmp_path / "n.qf").exists()


def test_twenty_thousand_tensor_header_lists(tmp_path: Path) -> None:
    """A header with 20,000 tensors opens and lists (speed is measured in tools/bench_header.py)."""
    path = tmp_path / "many.qf"
    with qformat.writer(path) as w:
        for i in range(20_000):
            w.add(f"layer.{i}.weight", np.full(2, i % 100, dtype=np.int8))
    with qformat.open(path) as m:
        assert len(m.keys()) == 20_000
        assert m.info("layer.19999.weight").shape == (2,)
        np.testing.assert_array_equal(m.get("layer.12345.weight"), [45, 45])


class _CountingFile:
    """A file-like object that records each read, like HTTP range requests would."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos, self.reads = data, 0, []

    def seek(self, pos: int) -> None:
        self.pos = pos

    def read(self, n: int) -> bytes:
        self.reads.append((self.pos, n))
        out = self.data[self.pos:self.pos + n]
        self.pos += len(out)
        return out


def test_header_is_readable_with_two_range_reads() -> None:
    from qformat.container.reader import read_header

    data = (GOLDEN / "raw-dtypes.qf").read_bytes()
    f = _CountingFile(data)
    pre, header = read_header(f, len(data))
    assert f.reads == [(0, spec.PREAMBLE_SIZE), (spec.PREAMBLE_SIZE, pre.header_length)]
    assert [t.name for t in header.tensors][:2] == ["f32", "f16"]


def test_writer_memory_is_bounded_by_one_tensor(tmp_path: Path) -> None:
    import tracemalloc

    tensor_bytes = 1 << 20
    tracemalloc.start()
    try:
        with qformat.writer(tmp_path / "stream.qf") as w:
            for i in range(40):  # 40 MiB written in total
                w.add(f"t{i}", np.full(tensor_bytes // 4, i, dtype=np.float32))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * tensor_bytes, f"peak {peak} bytes while streaming 1 MiB tensors"
