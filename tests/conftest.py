"""Shared test helpers: paths to the bundled fixtures and the team's shared corpus."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
#: ../shared beside the project (present on developer machines and in CI)
SHARED = Path(os.environ.get("QFORMAT_SHARED", ROOT.parent / "shared"))


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
