"""Fixtures of the bitpack tests: random parts in every zero-point mode, storage dtype, table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from qformat.dtypes import f32_to_bf16
from qformat.kernels._bitpack_common import n_groups
from qformat.kernels._ref.bitpack import pack_codes

#: (zero mode, scale dtype, zero dtype, level table?) combinations exercised by kernel tests
MODE_CASES = [
    ("none", "F16", None, False),
    ("none", "F32", None, True),
    ("int", "F16", "U8", False),
    ("int", "BF16", "U8", True),
    ("float", "F16", "F16", False),
    ("float", "F32", "BF16", True),
    ("bias", "BF16", "F16", False),
    ("bias", "F16", "F32", True),
    ("bias", "F32", "F32", False),
]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "mode_case" in metafunc.fixturenames:
        metafunc.parametrize(
            "mode_case", MODE_CASES,
            ids=[f"{z}-{s}-{zd}{'-levels' if lv else ''}" for z, s, zd, lv in MODE_CASES])


def stored(values: np.ndarray, dtype: str) -> np.ndarray:
    """float values -> the storage array of ``dtype`` (F16 float16, BF16 uint16 bits, F32)."""
    values = np.asarray(values, dtype=np.float32)
    if dtype == "F16":
        return values.astype(np.float16)
    if dtype == "BF16":
        return f32_to_bf16(values)
    return values


def make_parts(bits: int, rows: int, k: int, group_size: int, zero: str = "none",
               scale_dtype: str = "F16", zero_dtype: str | None = None, levels: bool = False,
               perm: bool = False, seed: int = 0, scale: float = 0.05) -> dict[str, Any]:
    """Random valid arrays for the kernel functions: ``kwargs`` plus the unpacked ``q``."""
    rng = np.random.default_rng(seed)
    g = n_groups(k, group_size)
    q = rng.integers(0, 1 << bits, (rows, k)).astype(np.uint8)
    kw: dict[str, Any] = {
        "codes": pack_codes(q, bits), "bits": bits, "k": k, "group_size": group_size,
        "zero": zero, "scale_dtype": scale_dtype, "zero_dtype": zero_dtype,
        "scales": stored(rng.standard_normal((rows, g)) * scale, scale_dtype),
        "zeros": None, "bias": None, "levels": None, "perm": None,
    }
    if zero == "int":
        kw["zeros"] = rng.integers(0, 1 << bits, (rows, g)).astype(np.uint8)
    elif zero == "float":
        kw["zeros"] = stored(rng.standard_normal((rows, g)) * (1 << bits) / 4, zero_dtype)
    elif zero == "bias":
        kw["bias"] = stored(rng.standard_normal((rows, g)) * scale, zero_dtype)
    if levels:
        kw["levels"] = np.sort(rng.standard_normal(1 << bits)).astype(np.float32)
    if perm:
        kw["perm"] = rng.permutation(k).astype(np.int32)
    return {"kwargs": kw, "q": q}


@pytest.fixture
def parts() -> Callable[..., dict[str, Any]]:
    """Factory: ``parts(bits, rows, k, group_size, zero=..., ...)`` (see :func:`make_parts`)."""
    return make_parts


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def to_stored() -> Callable[[np.ndarray, str], np.ndarray]:
    """``to_stored(values, dtype)``: float values -> storage array of an F16/BF16/F32 part."""
    return stored
