"""Paths and helpers for the GGUF tests (fixtures are made by tools/make_gguf_fixtures.py)."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ..conftest import FIXTURES, ROOT, SHARED

FOREIGN = FIXTURES / "foreign" / "gguf"
HOSTILE = FIXTURES / "hostile" / "gguf"
CORPUS = SHARED / "corpus" / "gguf"
__all__ = ["CORPUS", "FOREIGN", "HOSTILE", "ROOT", "bits", "corpus_manifest", "corpus_path",
           "same_values", "sha256_f32", "vocab_gguf"]


def sha256_f32(array: np.ndarray) -> str:
    """sha256 of C-order little-endian float32 bytes (the corpus manifest's convention)."""
    return hashlib.sha256(np.ascontiguousarray(array, dtype="<f4").tobytes()).hexdigest()


def bits(array: np.ndarray) -> np.ndarray:
    """float32 values as uint32 bit patterns, so NaNs compare by payload."""
    return np.ascontiguousarray(array, dtype=np.float32).view(np.uint32)


def same_values(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit-identical float32 arrays, except that NaN payloads may differ where two NaN
    operands meet (``d * q + m`` with NaN ``d`` and ``m``: which payload survives depends on
    the operand order the compiler picks). NaN positions must still match exactly."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    b = np.ascontiguousarray(b, dtype=np.float32)
    if a.shape != b.shape:
        return False
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    return bool(np.array_equal(nan_a, nan_b)
                and np.array_equal(a.view(np.uint32)[~nan_a], b.view(np.uint32)[~nan_b]))


def corpus_manifest() -> dict[str, Any]:
    return json.loads((FOREIGN / "corpus-manifest.json").read_text())


def corpus_path(filename: str) -> Path:
    """A corpus file: the bundled copy, else ../shared/corpus/gguf (skipped only if absent)."""
    local = FOREIGN / filename
    if local.exists():
        return local
    shared = CORPUS / filename
    if not shared.exists():
        pytest.skip(f"{filename} is not bundled and ../shared/corpus/gguf is absent "
                    f"(set QFORMAT_SHARED to the shared folder)")
    return shared


def vocab_gguf(path: Path, n_tokens: int = 151_936, n_tensors: int = 64) -> Path:
    """A GGUF file shaped like a real tokenizer header (string, float and int arrays of
    ``n_tokens``), assembled directly as bytes so that making it takes milliseconds."""
    from gguf import GGMLQuantizationType, GGUFValueType

    def string(s: bytes) -> bytes:
        return struct.pack("<Q", len(s)) + s

    tokens = [b"tok%d_%s" % (i, b"x" * (i % 13)) for i in range(n_tokens)]
    kvs = [
        string(b"general.architecture") + struct.pack("<I", GGUFValueType.STRING)
        + string(b"llama"),
        string(b"tokenizer.ggml.tokens") + struct.pack("<IIQ", GGUFValueType.ARRAY,
                                                       GGUFValueType.STRING, n_tokens)
        + b"".join(string(t) for t in tokens),
        string(b"tokenizer.ggml.scores") + struct.pack("<IIQ", GGUFValueType.ARRAY,
                                                       GGUFValueType.FLOAT32, n_tokens)
        + np.arange(n_tokens, dtype="<f4").tobytes(),
        string(b"tokenizer.ggml.token_type") + struct.pack("<IIQ", GGUFValueType.ARRAY,
                                                           GGUFValueType.INT32, n_tokens)
        + np.ones(n_tokens, dtype="<i4").tobytes(),
    ]
    infos = [string(b"blk.%d.w" % i) + struct.pack("<IQQIQ", 2, 32, 4, GGMLQuantizationType.F32,
                                                   i * 512) for i in range(n_tensors)]
    head = b"GGUF" + struct.pack("<IQQ", 3, n_tensors, len(kvs)) + b"".join(kvs) + b"".join(infos)
    head += b"\0" * (-len(head) % 32)
    path.write_bytes(head + np.zeros(n_tensors * 128, dtype="<f4").tobytes())
    return path
