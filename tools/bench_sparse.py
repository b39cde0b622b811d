"""Benchmark the sparse (SpQR) layout's GEMV against its baselines, in one run.

Weights: 4096 x 4096 Gaussian (sigma 0.02) with 0.5 % planted outliers of 8..30 sigma.
Layouts: ``sparse`` with a 3-bit base, groups of 16, 3-bit statistics over 16 rows, and 0.5 %
or 1 % outliers; ``bitpack`` with the same base (3 bits, groups of 16, F16 scales and F16
float zero points: the same decode formula with the statistics stored instead of quantized),
and bitpack's default integer zero points.

Timed, batch 1 (and small batches with ``--batch``):

* ``sparse``: ``QTensor.linear`` (statistics decode + bitpack GEMV on the base + CSR pass);
* ``bitpack``: the plain bitpack GEMV of the same base bits;
* ``numpy``: decode with the numpy reference, then ``x @ W.T`` (numpy decode-then-matmul);
* ``decode+matmul``: decode with our kernels, then numpy's matmul;
* ``fp32 sgemv``: numpy on the unquantized float32 matrix.

The machine is shared, so the numba variants are timed in interleaved rounds (each round runs
every variant once, in a shuffled order; the BLAS-based baselines are timed apart, afterwards,
because OpenBLAS's spinning threads stall numba's parallel regions) and the report gives the
median and the best time of each plus the median of the per-round ratios, which cancels most
of the load drift. Roofline: the best read bandwidth seen in the run (a parallel numba sum and
numpy's sum over 256 MiB at start, and fp32 sgemv streaming the float32 matrix); a variant's
fraction is (stored bytes / bandwidth) / time. Both 1 and 2 numba threads are timed: on a
loaded machine every parallel region waits for all its threads to be scheduled, so 1-thread
figures are the steadier ones.

Run ``python tools/bench_sparse.py`` (``--quick`` for 1024 x 1024, ``--json`` for JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numba  # noqa: E402

import qformat  # noqa: E402
from qformat.kernels import sparse as sparse_kernels  # noqa: E402
from qformat.kernels._ref import sparse as sparse_ref  # noqa: E402


@numba.njit(parallel=True, cache=False, fastmath=True)
def _parallel_sum(a):  # pragma: no cover - jitted
    chunks = 64
    n = a.shape[0]
    step = (n + chunks - 1) // chunks
    partial = np.zeros(chunks, dtype=np.float64)
    for c in numba.prange(chunks):
        acc = np.float32(0)
        for i in range(c * step, min((c + 1) * step, n)):
            acc += a[i]
        partial[c] = acc
    return partial.sum()


def read_bandwidth(mib: int = 256, reps: int = 15) -> float:
    """Best read bandwidth (bytes/s) seen over ``mib`` MiB of float32: a parallel numba sum
    and numpy's sum, best of ``reps`` each (on a loaded machine any single probe is low)."""
    a = np.ones(mib * (1 << 20) // 4, dtype=np.float32)
    _parallel_sum(a)
    best = float("inf")
    for _ in range(reps):
        for f in (_parallel_sum, np.sum):
            t = time.perf_counter()
            f(a)
            best = min(best, time.perf_counter() - t)
    return a.nbytes / best


def planted(n: int, fraction: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((n, n)).astype(np.float32) * np.float32(0.02)
    count = round(fraction * n * n)
    flat = rng.choice(n * n, size=count, replace=False)
    sign = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=count)
    w.reshape(-1)[flat] = sign * rng.uniform(8.0, 30.0, size=count).astype(np.float32) * 0.02
    return w


def interleaved(variants: dict[str, Callable[[], object]], rounds: int,
                seed: int = 0) -> dict[str, np.ndarray]:
    """Seconds per call of each variant over ``rounds`` shuffled rounds (after a warm-up)."""
    for f in variants.values():
        f()
    names = list(variants)
    times = {n: np.empty(rounds) for n in names}
    order = np.random.default_rng(seed)
    for r in range(rounds):
        for i in order.permutation(len(names)):
            name = names[i]
            t = time.perf_counter()
            variants[name]()
            times[name][r] = time.perf_counter() - t
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4096, help="matrix size (default 4096)")
    parser.add_argument("--quick", action="store_true", help="1024 x 1024, fewer rounds")
    parser.add_argument("--rounds", type=int, default=60, help="timing rounds (default 60)")
    parser.add_argument("--batch", type=int, default=8, help="small-batch size also timed")
    parser.add_argument("--threads", type=lambda v: [int(t) for t in v.split(",")],
                        default=[1, 2], help="numba thread counts to time (default 1,2)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    n = 1024 if args.quick else args.n
    rounds = 15 if args.quick else args.rounds

    max_threads = numba.config.NUMBA_NUM_THREADS
    thread_counts = [t for t in args.threads if 1 <= t <= max_threads] or [max_threads]
    numba.set_num_threads(max(thread_counts))
    bandwidth = read_bandwidth(64 if args.quick else 256)
    w = planted(n, 0.005)
    rng = np.random.default_rng(1)
    x1 = rng.standard_normal((1, n)).astype(np.float32)
    xb = rng.standard_normal((args.batch, n)).astype(np.float32)

    t0 = time.perf_counter()
    tensors = {
        "sparse 1%": qformat.quantize(w, "sparse", bits=3, group_size=16, stat_bits=3,
                                      stat_group=16, outlier_fraction=0.01),
        "sparse 0.5%": qformat.quantize(w, "sparse", bits=3, group_size=16, stat_bits=3,
                                        stat_group=16, outlier_fraction=0.005),
    }
    quantize_seconds = (time.perf_counter() - t0) / 2
    tensors["bitpack 3b g16 float-zero"] = qformat.quantize(w, "bitpack", bits=3, group_size=16,
                                                            zero="float")
    tensors["bitpack 3b g16 int-zero"] = qformat.quantize(w, "bitpack", bits=3, group_size=16)
    for qt in tensors.values():
        qt.check()
    sp1 = tensors["sparse 1%"]
    arrays = sp1.layout.arrays(sp1)
    nbytes = {name: qt.nbytes for name, qt in tensors.items()}
    base = "bitpack 3b g16 float-zero"

    def gemv(qt: qformat.QTensor, x: np.ndarray) -> Callable[[], object]:
        return lambda: qt.layout.linear(qt, x)

    def row(name: str, t: np.ndarray, nbytes: int | None) -> dict[str, object]:
        med, best = float(np.median(t)), float(t.min())
        out: dict[str, object] = {"name": name, "median_ms": med * 1e3, "best_ms": best * 1e3}
        if nbytes:
            roof = nbytes / bandwidth
            out["roofline_fraction_median"] = roof / med
            out["roofline_fraction_best"] = roof / best
        return out

    runs = []
    best_sgemv = float("inf")
    for threads in thread_counts:
        numba.set_num_threads(threads)
        variants: dict[str, Callable[[], object]] = {
            name: gemv(qt, x1) for name, qt in tensors.items()}
        times = interleaved(variants, rounds)
        batch_variants = {f"{name} B={args.batch}": gemv(qt, xb)
                          for name, qt in tensors.items() if name in ("sparse 1%", base)}
        times_batch = interleaved(batch_variants, max(5, rounds // 3))
        # BLAS last and apart: its spinning threads stall numba's parallel regions
        blas = {"fp32 sgemv (OpenBLAS threads)": lambda: x1 @ w.T,
                "decode+matmul (sparse 1%)": lambda: x1 @ sp1.layout.decode(sp1).T}
        times_blas = interleaved(blas, max(5, rounds // 2))
        best_sgemv = min(best_sgemv, float(times_blas["fp32 sgemv (OpenBLAS threads)"].min()))
        paired = {}
        for name in ("sparse 1%", "sparse 0.5%", "bitpack 3b g16 int-zero"):
            paired[f"{name} / {base}"] = float(np.median(times[name] / times[base]))
        for name, t in times_blas.items():  # not interleaved with the base: ratio of medians
            paired[f"{name} / {base} (medians)"] = float(np.median(t) / np.median(times[base]))
        paired[f"sparse 1% / {base}, B={args.batch}"] = float(np.median(
            times_batch[f"sparse 1% B={args.batch}"] / times_batch[f"{base} B={args.batch}"]))
        runs.append({"numba_threads": threads, "times": {**times, **times_batch, **times_blas},
                     "median_paired_ratios": paired,
                     "sparse_1pct_median_ms": float(np.median(times["sparse 1%"])) * 1e3})
    # the roofline: the best read rate seen in this run (probe, or fp32 sgemv streaming W)
    bandwidth = max(bandwidth, w.nbytes / best_sgemv)
    for run in runs:
        run["timings"] = [row(name, t, nbytes.get(name, w.nbytes if "fp32" in name else None))
                          for name, t in run.pop("times").items()]
    numba.set_num_threads(max(thread_counts))

    numpy_rounds = max(3, rounds // 10)  # the numpy reference is ~100x slower
    t_numpy = interleaved({"numpy": lambda: x1 @ sparse_ref.dequantize(arrays,
                                                                       validate=False).T},
                          numpy_rounds)["numpy"]
    for run in runs:
        run["timings"].append(row("numpy decode-then-matmul (sparse 1%)", t_numpy, None))
        run["median_paired_ratios"]["numpy decode-then-matmul / sparse 1%"] = float(
            np.median(t_numpy) * 1e3 / run.pop("sparse_1pct_median_ms"))

    # correctness of what was timed, and quality of each layout on this matrix
    y_ref = sparse_ref.linear(x1, arrays)
    y = sp1.linear(x1)
    scale = float((np.abs(x1) @ np.abs(sparse_kernels.dequantize(arrays)).T).max())
    quality = {name: float(np.sqrt(np.mean((qt.dequantize() - w) ** 2)))
               for name, qt in tensors.items()}
    report = {
        "n": n, "rounds": rounds, "threading_layer": numba.threading_layer(),
        "read_bandwidth_gb_s": bandwidth / 1e9,
        "load_average": os.getloadavg()[0],
        "quantize_seconds": quantize_seconds,
        "bits_per_weight": {name: qt.bits_per_weight for name, qt in tensors.items()},
        "stored_bytes": nbytes,
        "rmse": quality,
        "linear_max_abs_diff_vs_reference": float(np.abs(y - y_ref).max()),
        "linear_scale": scale,
        "runs": runs,
    }
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(f"sparse GEMV benchmark, {n} x {n}, {rounds} rounds, numba threading layer "
          f"{report['threading_layer']}, load average {report['load_average']:.1f}")
    print(f"read bandwidth (roofline): {report['read_bandwidth_gb_s']:.1f} GB/s; "
          f"quantize (sparse, numpy): {quantize_seconds:.1f} s per tensor")
    for name in tensors:
        print(f"  {name:28s} {tensors[name].bits_per_weight:6.3f} bits/weight, "
              f"{nbytes[name] / 2**20:6.2f} MiB, RMSE {quality[name]:.3e}")
    for run in runs:
        print(f"-- numba threads: {run['numba_threads']}")
        print(f"{'variant':44s} {'median ms':>10s} {'best ms':>9s} {'roof med':>9s} "
              f"{'roof best':>9s}")
        for r in run["timings"]:
            roof = (f"{r['roofline_fraction_median']:9.1%} {r['roofline_fraction_best']:9.1%}"
                    if "roofline_fraction_median" in r else "")
            print(f"{r['name']:44s} {r['median_ms']:10.3f} {r['best_ms']:9.3f} {roof}")
        print("median of per-round time ratios:")
        for k, v in run["median_paired_ratios"].items():
            print(f"  {k:60s} {v:6.2f}")
    print(f"linear vs numpy reference: max |diff| {report['linear_max_abs_diff_vs_reference']:.2e}"
          f" (|x| @ |W|.T up to {scale:.2e})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
