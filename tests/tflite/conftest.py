"""Fixtures of the TFLite tests: the generated, synthetic, corpus and hostile files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from ..conftest import FIXTURES, SHARED

TFLITE = FIXTURES / "foreign" / "tflite"
HOSTILE = FIXTURES / "hostile" / "tflite"
CORPUS_COPY = TFLITE / "corpus"
SHARED_CORPUS = SHARED / "corpus" / "tflite"


def load_json(path: Path) -> dict:
    return json.loads(path.read_text())


GENERATED = load_json(TFLITE / "generated.json")
SYNTHETIC = load_json(TFLITE / "synthetic.json")
HOSTILE_CASES = load_json(HOSTILE / "hostile.json")["cases"]
#: The corpus manifest: the shared one when present (every file), else the copied subset.
CORPUS_DIR = SHARED_CORPUS if (SHARED_CORPUS / "manifest.json").exists() else CORPUS_COPY
CORPUS = load_json(CORPUS_DIR / "manifest.json")


def sha256_f32(values: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(values, dtype="<f4").tobytes()).hexdigest()


@pytest.fixture
def tflite_dir() -> Path:
    return TFLITE
