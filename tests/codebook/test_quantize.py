"""Quantizing into the codebook layout: quality against round-to-nearest, determinism, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest

import qformat
from qformat.layouts.codebook import CodebookLayout

from ..conftest import ROOT

pytestmark = pytest.mark.jit


def _rtn_at_equal_bits(weight: np.ndarray, bits_per_weight: float) -> tuple[float, float]:
    """Round-to-nearest through the ``bitpack`` layout (asymmetric, fp16 scale and 8-bit zero
    per group) with the fewest bits per weight that are still >= ours, every stored byte
    counted on both sides; among equal costs, the lowest error."""
    candidates = []
    for bits in (2, 3, 4):
        for group in (16, 32, 64, 128, 256, 512):
            if weight.shape[1] % group:
                continue
            rtn = qformat.quantize(weight, "bitpack", bits=bits, group_size=group)
            if rtn.bits_per_weight >= bits_per_weight:
                err = float(np.mean((rtn.dequantize() - weight) ** 2) / np.mean(weight**2))
                candidates.append((rtn.bits_per_weight, err))
    bpw, err = min(candidates)
    return err, bpw


def _weights(kind: str, shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "gaussian":
        w = rng.standard_normal(shape)
    else:  # heavy-tailed: Student t with 3 degrees of freedom (kurtosis unbounded)
        w = rng.standard_t(3, shape)
    # per-row scale spread, as in real layers
    return (w * np.exp(rng.normal(0, 0.5, (shape[0], 1))) * 0.02).astype(np.float32)


# Configurations at about 2 bits per weight. Under NUMBA_DISABLE_JIT (the CI run that executes
# the kernel bodies as plain Python, ~1000x slower) only the smallest case runs: the same code
# paths, on a size where pure Python finishes; the quality claims are asserted by the normal run.
if numba.config.DISABLE_JIT:
    QUALITY = [
        ("1x4 g2 (VQ)", {"num_codebooks": 1, "codebook_bits": 4, "in_group_size": 2}, (32, 64)),
    ]
else:
    QUALITY = [
        ("1x4 g2 (VQ)", {"num_codebooks": 1, "codebook_bits": 4, "in_group_size": 2},
         (128, 256)),
        ("2x4 g4 product", {"mode": "product", "num_codebooks": 2, "codebook_bits": 4,
                            "in_group_size": 4}, (128, 256)),
        ("2x4 g4 additive", {"num_codebooks": 2, "codebook_bits": 4, "in_group_size": 4},
         (128, 256)),
        ("2x8 g8 (AQLM)", {"num_codebooks": 2, "codebook_bits": 8, "in_group_size": 8},
         (256, 1024)),
        ("1x8 g4", {"num_codebooks": 1, "codebook_bits": 8, "in_group_size": 4}, (256, 1024)),
    ]


@pytest.mark.parametrize("kind", ["gaussian", "heavy-tailed"])
@pytest.mark.parametrize(("name", "config", "shape"), QUALITY, ids=[q[0] for q in QUALITY])
def test_beats_round_to_nearest_at_equal_bits(kind, name, config, shape):
    """Lower error than round-to-nearest (``bitpack``) given at least as many bits per weight."""
    w = _weights(kind, shape)
    qt = qformat.quantize(w, "codebook", **config)
    err = float(np.mean((qt.dequantize() - w) ** 2) / np.mean(w**2))
    rtn_err, rtn_bpw = _rtn_at_equal_bits(w, qt.bits_per_weight)
    assert qt.bits_per_weight <= rtn_bpw
    assert qt.bits_per_weight < 2.6  # about 2 bits, every stored byte counted
    assert err < 0.7 * rtn_err, (name, kind, err, rtn_err)


def test_refinement_and_iterations_lower_the_error():
    """Additive refinement passes only ever lower the error (coordinate descent)."""
    w = _weights("gaussian", (32, 64), seed=3)
    cfg = {"num_codebooks": 3, "codebook_bits": 3, "in_group_size": 4, "iterations": 8}
    errors = []
    for passes in (0, 1, 3):
        qt = qformat.quantize(w, "codebook", refine_passes=passes, **cfg)
        errors.append(float(np.mean((qt.dequantize() - w) ** 2)))
    assert errors[1] <= errors[0] * 1.0001
    assert errors[2] <= errors[1] * 1.0001
    assert errors[2] < errors[0]
    one_cb = qformat.quantize(w, "codebook", num_codebooks=1, codebook_bits=3, in_group_size=4,
                              iterations=8)
    assert errors[0] < float(np.mean((one_cb.dequantize() - w) ** 2))  # more codebooks help


@pytest.mark.parametrize("mode", ["additive", "product"])
def test_exact_when_the_weight_has_few_distinct_groups(mode):
    """Every row is a permutation of the same 8 groups times its own scale: 16 entries
    represent them exactly, so k-means must find them (float32 storage: exact to rounding)."""
    rng = np.random.default_rng(5)
    protos = rng.standard_normal((8, 4)).astype(np.float32)
    rows = [protos[rng.permutation(8)].reshape(-1) * rng.uniform(0.1, 3.0) for _ in range(32)]
    w = np.stack(rows).astype(np.float32)
    m = 1 if mode == "additive" else 2
    bits = 4 if mode == "additive" else 3  # product: 2 codebooks of 8 entries per half-group
    qt = qformat.quantize(w, "codebook", mode=mode, num_codebooks=m, codebook_bits=bits,
                          in_group_size=4, codebook_dtype="F32", scale_dtype="F32")
    np.testing.assert_allclose(qt.dequantize(), w, rtol=1e-5, atol=1e-6)


def test_deterministic_under_a_seed():
    w = _weights("heavy-tailed", (32, 32), seed=9)
    cfg = {"num_codebooks": 2, "codebook_bits": 4, "in_group_size": 4, "seed": 11,
           "iterations": 6}
    a = qformat.quantize(w, "codebook", **cfg)
    b = qformat.quantize(w, "codebook", **cfg)
    c = qformat.quantize(w, "codebook", **{**cfg, "seed": 12})
    for part in a.parts:
        assert np.array_equal(a.parts[part], b.parts[part])
    assert not np.array_equal(a.parts["codes"], c.parts["codes"])


_SEED_SCRIPT = textwrap.dedent("""
    import hashlib, json, sys
    import numpy as np
    sys.path.insert(0, {root!r})
    import numba, qformat
    rng = np.random.default_rng(1)
    w = (rng.standard_t(3, (128, 256)) * 0.02).astype(np.float32)
    out = {{}}
    for cfg in ({{"num_codebooks": 2, "codebook_bits": 6, "in_group_size": 8}},
                {{"mode": "product", "num_codebooks": 2, "codebook_bits": 4,
                  "in_group_size": 4}}):
        qt = qformat.quantize(w, "codebook", seed=3, **cfg)
        h = hashlib.sha256()
        for name in sorted(qt.parts):
            h.update(qt.parts[name].tobytes())
        out[json.dumps(cfg, sort_keys=True)] = h.hexdigest()
    print(json.dumps({{"threads": numba.get_num_threads(), "digests": out}}))
""")


def test_same_result_on_one_and_two_threads():
    script = _SEED_SCRIPT.format(root=str(ROOT))
    digests = {}
    for threads in ("1", "2"):
        env = {**os.environ, "NUMBA_NUM_THREADS": threads, "NUMBA_DISABLE_JIT": "0"}  # real threads
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              env=env, timeout=600)
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout)
        assert result["threads"] == int(threads)
        digests[threads] = result["digests"]
    assert digests["1"] == digests["2"]


@pytest.mark.parametrize(("dtype", "code"), [(np.float16, "F16"), (np.float64, "F64")])
def test_input_dtypes_are_recorded(dtype, code):
    w = _weights("gaussian", (16, 32)).astype(dtype)
    qt = qformat.quantize(w, "codebook", num_codebooks=1, codebook_bits=4, in_group_size=4)
    assert qt.dtype == code
    assert qt.dequantize().dtype == np.float32


def test_storage_dtypes(tmp_path):
    w = _weights("gaussian", (16, 32))
    for book, scale in (("BF16", "F32"), ("F32", "BF16"), ("F16", "F16")):
        qt = qformat.quantize(w, "codebook", num_codebooks=2, codebook_bits=3, in_group_size=4,
                              codebook_dtype=book, scale_dtype=scale)
        assert qt.layout == CodebookLayout(num_codebooks=2, codebook_bits=3, in_group_size=4,
                                           codebook_dtype=book, scale_dtype=scale)
        qformat.save(tmp_path / f"{book}.qf", {"w": qt})
        with qformat.open(tmp_path / f"{book}.qf") as model:
            assert np.array_equal(model.get("w"), qt.dequantize())
        assert np.mean((qt.dequantize() - w) ** 2) < 0.5 * np.mean(w**2)


def test_zero_rows_and_constant_weight():
    w = _weights("gaussian", (16, 32))
    w[3] = 0.0
    qt = qformat.quantize(w, "codebook", num_codebooks=1, codebook_bits=4, in_group_size=4)
    out = qt.dequantize()
    assert not out[3].any()
    zeros = qformat.quantize(np.zeros((8, 8), np.float32), "codebook", num_codebooks=1,
                             codebook_bits=2, in_group_size=4)
    assert not zeros.dequantize().any()


@pytest.mark.parametrize(("array", "config", "error", "match"), [
    (np.full((4, 8), np.nan, np.float32), {}, qformat.ArgumentError, "NaN"),
    (np.ones(8, np.float32), {}, qformat.ArgumentError, "2-D float"),
    (np.ones((4, 8), np.int32), {}, qformat.ArgumentError, "2-D float"),
    (np.ones((4, 12), np.float32), {}, qformat.LayoutError, "in_group_size does not divide"),
    (np.ones((4, 8), np.float32), {"codebook_bits": 20}, qformat.LayoutError, "codebook_bits"),
    (np.ones((4, 8), np.float32), {"beam": 4}, qformat.ArgumentError, "unknown codebook option"),
    (np.ones((4, 8), np.float32), {"iterations": -1}, qformat.ArgumentError, "iterations"),
    (np.ones((4, 8), np.float32), {"seed": 1.5}, qformat.ArgumentError, "seed"),
])
def test_bad_arguments(array, config, error, match):
    with pytest.raises(error, match=match):
        qformat.quantize(array, "codebook", **config)
