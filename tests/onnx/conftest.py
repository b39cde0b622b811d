"""Fixtures for the ONNX reader tests: paths to the bundled files and manifest helpers."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ..conftest import FIXTURES

ONNX_FOREIGN = FIXTURES / "foreign" / "onnx"
CORPUS = ONNX_FOREIGN / "corpus"
GENERATED = ONNX_FOREIGN / "generated"
HOSTILE = FIXTURES / "hostile" / "onnx"


def load_manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "manifest.json").read_text())


def sha256_f32(values: np.ndarray, *, as_float16: bool = False,
               normalize_zero: bool = False) -> str:
    """sha256 of float32 little-endian bytes (optionally via float16, optionally -0 -> +0)."""
    a = np.asarray(values, dtype=np.float32)
    if as_float16:
        a = a.astype(np.float16).astype(np.float32)
    if normalize_zero:
        a = a + np.float32(0.0)
    return hashlib.sha256(np.ascontiguousarray(a, dtype="<f4").tobytes()).hexdigest()


@pytest.fixture(scope="session")
def corpus_manifest() -> dict[str, Any]:
    return load_manifest(CORPUS)


@pytest.fixture(scope="session")
def generated_manifest() -> dict[str, Any]:
    return load_manifest(GENERATED)
