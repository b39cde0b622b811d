"""Mutated ONNX files (flipped bytes, truncations, splices) only ever raise QFormatError."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qformat

from .conftest import GENERATED

# small files covering every method (and external data)
_BASES = ["mlp_qdq_u8s4_perchannel.onnx", "mlp_qop_u8u8_pertensor.onnx",
          "mlp_dyn_s8_fused.onnx", "mlp_nbits3_b32_asym.onnx", "embed_gbq_uint8_bits2.onnx",
          "dq_blocked_int8_b16_fp16scale.onnx", "mlp_qdq_blocked_uint4_b16_asym.onnx"]
_DATA = {name: (GENERATED / name).read_bytes() for name in _BASES}


def _exercise(path: Path) -> None:
    try:
        with qformat.open(path) as m:
            m.quantization()
            for name in m.keys():
                m.info(name)
                m.get(name)
    except qformat.QFormatError:
        pass


@pytest.mark.foreign
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(_BASES), data=st.data())
def test_mutations_raise_only_qformat_errors(base: str, data: st.DataObject) -> None:
    blob = bytearray(_DATA[base])
    kind = data.draw(st.sampled_from(["flip", "truncate", "splice", "varint"]))
    if kind == "flip":
        for _ in range(data.draw(st.integers(1, 8))):
            i = data.draw(st.integers(0, len(blob) - 1))
            blob[i] ^= 1 << data.draw(st.integers(0, 7))
    elif kind == "truncate":
        blob = blob[: data.draw(st.integers(1, len(blob) - 1))]
    elif kind == "splice":
        i = data.draw(st.integers(0, len(blob) - 1))
        blob[i:i] = data.draw(st.binary(min_size=1, max_size=16))
    else:  # overwrite a byte with a large varint continuation run
        i = data.draw(st.integers(0, len(blob) - 6))
        blob[i:i + 5] = b"\xff\xff\xff\xff\x0f"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.onnx"
        path.write_bytes(bytes(blob))
        _exercise(path)
