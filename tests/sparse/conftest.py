"""Helpers of the sparse (SpQR) layout tests: generated weights with planted outliers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"


def planted(rows: int, k: int, *, fraction: float = 0.005, seed: int = 0,
            scale: float = 0.02, outlier_scale: tuple[float, float] = (8.0, 30.0),
            ) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian weights with ``fraction`` planted heavy outliers; returns (weights, mask).

    The outliers are ``+-U(outlier_scale) * scale`` at random positions, the heavy tail that
    SpQR targets (a few weights far outside the range of their group).
    """
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((rows, k)).astype(np.float32) * np.float32(scale)
    n = round(fraction * rows * k)
    flat = rng.choice(rows * k, size=n, replace=False)
    sign = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=n)
    w.reshape(-1)[flat] = sign * rng.uniform(*outlier_scale, size=n).astype(np.float32) * scale
    mask = np.zeros(rows * k, dtype=bool)
    mask[flat] = True
    return w, mask.reshape(rows, k)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
