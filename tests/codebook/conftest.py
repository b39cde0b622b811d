"""Fixtures of the codebook-layout tests: the AQLM corpus checkpoint and small helpers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
#: The project's one copy of the safetensors corpus (kept by the safetensors reader's tests).
AQLM_DIR = FIXTURES / "foreign" / "safetensors" / "corpus" / "aqlm-2x8-g8"
AQLM_MANIFEST = FIXTURES / "foreign" / "safetensors" / "corpus" / "manifest.json"
AQLM_REF = FIXTURES / "foreign" / "safetensors" / "refs" / "aqlm-2x8-g8.npz"
HOSTILE = FIXTURES / "hostile" / "qf"


@pytest.fixture(scope="session")
def aqlm_entry() -> dict:
    """The manifest entry of the corpus checkpoint aqlm-2x8-g8 (ground truth)."""
    manifest = json.loads(AQLM_MANIFEST.read_text())
    return next(f for f in manifest["files"] if f["dir"] == "aqlm-2x8-g8")


@pytest.fixture(scope="session")
def aqlm_tensors() -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(AQLM_DIR / "model.safetensors"))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
