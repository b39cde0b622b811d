"""Paths and helpers for the safetensors reader tests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
ST_FIXTURES = ROOT / "fixtures" / "foreign" / "safetensors"
CORPUS = ST_FIXTURES / "corpus"
GEN = ST_FIXTURES / "gen"
HOSTILE = ROOT / "fixtures" / "hostile" / "safetensors"


def sha_f32(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a, dtype="<f4").tobytes()).hexdigest()


def load_json(path: Path) -> Any:
    return json.loads(path.read_text())


def write_st(path: Path, tensors: dict[str, np.ndarray], metadata: dict | None = None) -> Path:
    """Write with the real ``safetensors`` package (numpy arrays)."""
    from safetensors.numpy import save_file

    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(path),
              metadata=metadata)
    return path


