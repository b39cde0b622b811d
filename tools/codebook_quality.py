"""Reconstruction error of the codebook layout against round-to-nearest at equal bits/weight.

Prints the table of ``docs/codebook.md``. Weights: ``out x in`` Gaussian or heavy-tailed
(Student t, 3 degrees of freedom), each row scaled by a log-normal factor. Error: mean squared
error over mean square of the weight. Round-to-nearest is the ``bitpack`` layout's default
(asymmetric min-max per group, fp16 scale, 8-bit zero point) at the fewest bits per weight that
are still >= the codebook tensor's (every stored byte counted on both sides).

Usage: ``python tools/codebook_quality.py [--size 1024]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import qformat  # noqa: E402

CONFIGS = [
    ("2x8 g1x8 additive (AQLM 2x8)", {"num_codebooks": 2, "codebook_bits": 8,
                                       "in_group_size": 8}),
    ("1x8 g1x4 (VQ)", {"num_codebooks": 1, "codebook_bits": 8, "in_group_size": 4}),
    ("2x8 g1x8 product (PQ)", {"mode": "product", "num_codebooks": 2, "codebook_bits": 8,
                               "in_group_size": 8}),
    ("1x4 g1x2 (VQ)", {"num_codebooks": 1, "codebook_bits": 4, "in_group_size": 2}),
    ("2x4 g1x4 additive", {"num_codebooks": 2, "codebook_bits": 4, "in_group_size": 4}),
    ("3x8 g1x8 additive (3 bits)", {"num_codebooks": 3, "codebook_bits": 8,
                                    "in_group_size": 8}),
]


def weights(kind: str, shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(shape) if kind == "gaussian" else rng.standard_t(3, shape)
    return (w * np.exp(rng.normal(0, 0.5, (shape[0], 1))) * 0.02).astype(np.float32)


def round_to_nearest(w: np.ndarray, bits: int, group: int) -> tuple[np.ndarray, float]:
    qt = qformat.quantize(w, "bitpack", bits=bits, group_size=group)
    return qt.dequantize(), qt.bits_per_weight


def rel_mse(a: np.ndarray, w: np.ndarray) -> float:
    return float(np.mean((a - w) ** 2) / np.mean(w**2))


def rtn_at(w: np.ndarray, bpw: float) -> tuple[float, str, float]:
    options = []
    for bits in (2, 3, 4):
        for group in (16, 32, 64, 128, 256, 512):
            if w.shape[1] % group == 0:
                deq, cost = round_to_nearest(w, bits, group)
                if cost >= bpw:
                    options.append((cost, rel_mse(deq, w), f"{bits}-bit g{group}"))
    cost, err, name = min(options)
    return err, name, cost


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1024)
    args = ap.parse_args(argv)
    shape = (args.size, args.size)
    print(f"weights {shape[0]}x{shape[1]}; relative MSE (lower is better)\n")
    print("| weights | codebook config | bits/weight | rel. MSE | RTN at >= bits | RTN bits/weight "
          "| RTN rel. MSE | ratio | RTN 2-bit g64 | fit time |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for kind in ("gaussian", "heavy-tailed"):
        w = weights(kind, shape)
        rtn64 = rel_mse(round_to_nearest(w, 2, 64)[0], w)
        for name, cfg in CONFIGS:
            t = time.perf_counter()
            qt = qformat.quantize(w, "codebook", **cfg)
            elapsed = time.perf_counter() - t
            err = rel_mse(qt.dequantize(), w)
            rtn_err, rtn_name, rtn_bpw = rtn_at(w, qt.bits_per_weight)
            print(f"| {kind} | {name} | {qt.bits_per_weight:.3f} | {err:.4f} | {rtn_name} | "
                  f"{rtn_bpw:.3f} | {rtn_err:.4f} | {rtn_err / err:.1f}x | {rtn64:.4f} | "
                  f"{elapsed:.1f} s |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
