"""Benchmark of the codebook layout's GEMV (batch 1) and small-batch GEMM on 4096x4096.

For each configuration (AQLM 1x16, 2x8 and 8x8 with in_group 8, plus 8x8 with in_group 32, the
2-bit 8x8 variant) and each thread count (``--threads 1,2``: one child process per count, with
``NUMBA_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and ``OMP_NUM_THREADS`` set to it), in one
process:

* ``qformat``: ``QTensor.linear(x)`` as a user calls it (F16 codebooks and scales as stored);
* ``F32 matmul``: ``np.matmul`` on the dense float32 matrix (OpenBLAS sgemv/sgemm), the target
  "2x faster than F32" is measured against;
* ``decode+matmul (numpy)``: a vectorized numpy decode (one gather per codebook) then
  ``np.matmul``; this is what a decode-then-matmul path costs (AQLM's own CPU path for 1x16 is
  the same in torch: ``embedding_bag`` decode + ``F.linear``);
* ``decode+matmul (numba)``: our jitted decode then ``np.matmul``;
* ``AQLM-style kernel`` (8-bit codebooks, batch 1): the algorithm of AQLM's numba CPU kernel
  (lookup table, then ``prange`` over input groups adding into a shared output), timed with one
  thread because it races with more (AQLM#86); with 2 threads the child reports its error.

Timing: qformat and the F32 matmul alternate in ``--rounds`` rounds of ``--reps`` calls each,
every call on the next of enough copies of the quantized parts (and of the dense matrix) to
exceed the last-level cache, so the data comes from DRAM; the report gives the median and the
best call of each. The first call of each block is not counted: numba's OpenMP workers and
OpenBLAS's threads both spin for a while after a parallel region, and on two cores the first
call after a hand-over between the two pools can wait for a scheduler tick
(``../shared/notes/performance-anchors.md`` §2.4); within a block the pool stays warm.
(``OMP_WAIT_POLICY=passive`` removes the stalls too, but then every numba call wakes sleeping
workers: measured 1.2-2x slower medians for the 2-thread kernels on the shared machine.)
The slow decode baselines are timed a few times only. The DRAM read bandwidth
is measured at the start of each child with the same thread count (parallel numba sum over
512 MiB, median and best of several passes); the roofline time of a GEMV is (codes + codebooks +
scales bytes) / bandwidth, and the fraction of the roofline uses the median bandwidth.

``--batches 1,8`` sets the batch sizes; at batch > 1 the child also times both of ``linear``'s
routes (the batched kernels and decode-then-matmul, forced through
``DECODE_MATMUL_MIN_BATCH``) to locate the crossover.

The machine is shared: read ratios measured in the same child, not absolute times.

Usage: ``python tools/bench_codebook.py [--threads 1,2] [--batches 1,8] [--rounds 7]
[--reps 5] [--only "2x8 g8"] [--quick] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qformat.kernels._jit import fast, prange  # noqa: E402
from qformat.layouts.codebook import from_codes  # noqa: E402

#: Bytes the rotation sets must exceed (L3 on the reference machine is 32 MiB).
COLD_BYTES = 256 * 1024 * 1024

# name, num_codebooks, codebook_bits, in_group_size
CONFIGS = [
    ("1x16 g8", 1, 16, 8),
    ("2x8 g8", 2, 8, 8),
    ("8x8 g8", 8, 8, 8),
    ("8x8 g32", 8, 8, 32),
]


@fast(parallel=True)
def _read_sum(buf, partial):
    chunk = buf.shape[0] // partial.shape[0]
    for p in prange(partial.shape[0]):
        seg = buf[p * chunk:(p + 1) * chunk]  # loop from 0 over a slice: vectorizes in prange
        s = np.float32(0.0)
        for i in range(seg.shape[0]):
            s += seg[i]
        partial[p] = s


@fast(parallel=True)
def _aqlm_style_gemv(codes_jom, lut, out):
    """The algorithm of AQLM's CPU kernel as described in ../shared/notes/performance-anchors.md
    §3 (written here from that description): lut [J, M, K]; codes permuted to [J, out, M];
    ``prange`` over input groups, every thread adding into the shared output. Correct with one
    thread only (the race AQLM#86 reports); timed here at 1 thread as the peer baseline."""
    n_groups, rows, m = codes_jom.shape
    for i in range(rows):
        out[i] = 0.0
    for j in prange(n_groups):
        table = lut[j]
        codes = codes_jom[j]
        for i in range(rows):
            s = np.float32(0.0)
            for c in range(m):
                s += table[c, np.intp(codes[i, c])]
            out[i] += s


def aqlm_style_linear(x, codes_jom, books, scales, ig):
    """LUT (x groups . entries, numpy einsum) then the AQLM-style gather, times the scales."""
    n_groups = codes_jom.shape[0]
    lut = np.einsum("jt,mkt->jmk", x.reshape(n_groups, ig), books).astype(np.float32)
    out = np.empty(codes_jom.shape[1], dtype=np.float32)
    _aqlm_style_gemv(codes_jom, lut, out)
    return out * scales


def measure_bandwidth(reps: int = 9) -> tuple[float, float]:
    """DRAM read bandwidth in bytes/s, (median, best) over passes of a parallel numba sum over
    512 MiB with the process's thread count."""
    buf = np.ones(128 * 1024 * 1024, dtype=np.float32)
    partial = np.zeros(64, dtype=np.float32)
    _read_sum(buf, partial)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        _read_sum(buf, partial)
        times.append(time.perf_counter() - t)
    return buf.nbytes / statistics.median(times), buf.nbytes / min(times)


def sample(fn, args_list, count: int, start: int = 0) -> list[float]:
    """Seconds of ``count`` calls of ``fn(*args)``, cycling through ``args_list``, after one
    uncounted call (the hand-over from the other thread pool, see the module docstring)."""
    fn(*args_list[(start - 1) % len(args_list)])
    times = []
    for i in range(count):
        args = args_list[(start + i) % len(args_list)]
        t = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t)
    return times


def numpy_decode(qt, m: int, bits: int, ig: int) -> np.ndarray:
    """A fast numpy decode (the decode-then-matmul baseline): one fancy-index gather per
    codebook on the code words, summed, times the scales (AQLM's torch path does the same
    with embedding_bag). Checked equal to the reference decode in the run."""
    codes = qt.parts["codes"]
    words = codes if bits == 8 else codes.view("<u2")
    books = qt.parts["codebooks"].astype(np.float32)[:, :, 0, :]  # [M, K, ig]
    out = books[0][words[:, 0::m]]
    for c in range(1, m):
        out += books[c][words[:, c::m]]
    out *= qt.parts["scales"].astype(np.float32)[:, None, None]
    return out.reshape(codes.shape[0], -1)


def make_tensor(rng, out, inp, m, bits, ig):
    codes = rng.integers(0, 1 << bits, (out, inp // ig, m), dtype=np.int64)
    books = (rng.standard_normal((m, 1 << bits, 1, ig)) * 0.05).astype(np.float16)
    scales = rng.uniform(0.5, 1.5, out).astype(np.float16)
    return from_codes(codes, books, scales, mode="additive", dtype="F16")


def _stats(times: list[float]) -> dict[str, float]:
    return {"median_ms": statistics.median(times) * 1e3, "best_ms": min(times) * 1e3}


def bench_config(name, m, bits, ig, *, out, inp, rounds, reps, bandwidth, rng, batches):
    import numba

    from qformat.kernels import codebook as kernels

    base = make_tensor(rng, out, inp, m, bits, ig)
    nbytes = base.nbytes
    copies = max(2, -(-COLD_BYTES // nbytes))
    tensors = [base] + [
        type(base)(base.layout, base.shape, {k: v.copy() for k, v in base.parts.items()},
                   dtype=base.dtype)
        for _ in range(copies - 1)
    ]
    dense = base.dequantize()
    if not np.array_equal(numpy_decode(base, m, bits, ig), dense):
        raise SystemExit(f"{name}: the numpy baseline decode disagrees with qformat")
    dense_copies = [dense] + [dense.copy() for _ in range(max(1, -(-COLD_BYTES // dense.nbytes))
                                                          - 1)]
    roof_s = nbytes / bandwidth
    row = {"config": name, "bits_per_weight": base.bits_per_weight, "stored_bytes": nbytes,
           "roofline_ms": roof_s * 1e3}
    for n in batches:
        x = rng.standard_normal((n, inp)).astype(np.float32)
        want = x.astype(np.float64) @ dense.astype(np.float64).T
        got = base.linear(x)
        err = float(np.abs(got - want).max() / (np.abs(x).sum(1).max() * np.abs(dense).max()))

        def ours(qt, x=x):
            return qt.linear(x)

        def f32(w, x=x):
            return x @ w.T

        qts = [(t,) for t in tensors]
        ws = [(w,) for w in dense_copies]
        ours(*qts[0])
        f32(*ws[0])
        t_ours: list[float] = []
        t_f32: list[float] = []
        for r in range(rounds):  # interleaved: both see the same machine load
            t_ours += sample(ours, qts, reps, start=r * reps)
            t_f32 += sample(f32, ws, reps, start=r * reps)
        t_nb = sample(lambda qt, x=x: x @ qt.dequantize().T, qts, 3)
        t_np = sample(lambda qt, x=x: x @ numpy_decode(qt, m, bits, ig).T, qts, 2)
        entry = {
            "qformat": _stats(t_ours),
            "f32_matmul": _stats(t_f32),
            "numba_decode_matmul": _stats(t_nb),
            "numpy_decode_matmul": _stats(t_np),
            "rel_error": err,
        }
        med = statistics.median
        entry["speedup_vs_f32"] = med(t_f32) / med(t_ours)
        entry["speedup_vs_f32_best"] = min(t_f32) / min(t_ours)
        entry["speedup_vs_numpy_decode_matmul"] = med(t_np) / med(t_ours)
        entry["speedup_vs_numba_decode_matmul"] = med(t_nb) / med(t_ours)
        entry["fraction_of_roofline"] = roof_s / med(t_ours)
        entry["fraction_of_roofline_best"] = roof_s / min(t_ours)
        if n == 1 and bits == 8:
            m_books = base.parts["codebooks"].astype(np.float32)[:, :, 0, :]
            jom = np.ascontiguousarray(base.parts["codes"].reshape(out, inp // ig, m)
                                       .transpose(1, 0, 2))
            scales32 = base.parts["scales"].astype(np.float32)
            saved = numba.get_num_threads()
            scale_ref = np.abs(want).max()
            race = 0.0
            if saved > 1:  # show the race: the shared-output kernel with all threads
                for _ in range(5):
                    got_peer = aqlm_style_linear(x[0], jom, m_books, scales32, ig)
                    race = max(race, float(np.abs(got_peer - want[0]).max() / scale_ref))
            numba.set_num_threads(1)  # the peer kernel is only correct with one thread
            try:
                peer = aqlm_style_linear(x[0], jom, m_books, scales32, ig)
                if not np.allclose(peer, want[0], rtol=1e-4, atol=1e-4 * scale_ref):
                    raise SystemExit(f"{name}: the AQLM-style baseline disagrees")
                args = [(x[0], jom, m_books, scales32, ig)]
                t_aqlm = sample(aqlm_style_linear, args, rounds * 2)
            finally:
                numba.set_num_threads(saved)
            entry["aqlm_style_1thread"] = _stats(t_aqlm)
            entry["aqlm_style_all_threads_max_rel_error"] = race if saved > 1 else None
            entry["speedup_vs_aqlm_style_1thread"] = med(t_aqlm) / med(t_ours)
        if n > 1:  # both routes of linear(), forced, for the crossover
            saved_min = kernels.DECODE_MATMUL_MIN_BATCH
            routes = {}
            try:
                for route, threshold in (("kernels", 1 << 30), ("decode_matmul", 1)):
                    kernels.DECODE_MATMUL_MIN_BATCH = threshold
                    routes[route] = _stats(sample(ours, qts, max(3, reps), start=1))
            finally:
                kernels.DECODE_MATMUL_MIN_BATCH = saved_min
            entry["routes"] = routes
        row[f"b{n}"] = entry
    return row


def child(args) -> dict:
    """One thread count: bandwidth, then every configuration (prints JSON on stdout)."""
    import numba

    size = 1024 if args.quick else 4096
    batches = [int(b) for b in args.batches.split(",") if b]
    rng = np.random.default_rng(0)
    bw_median, bw_best = measure_bandwidth()
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    rows = []
    for name, m, bits, ig in CONFIGS:
        if only and name not in only:
            continue
        rows.append(bench_config(name, m, bits, ig, out=size, inp=size, rounds=args.rounds,
                                 reps=args.reps, bandwidth=bw_median, rng=rng,
                                 batches=batches))
    return {"size": size, "threads": numba.get_num_threads(),
            "bandwidth_bytes_per_s": bw_median, "bandwidth_best_bytes_per_s": bw_best,
            "results": rows}


def _print(report: dict) -> None:
    print(f"\n== {report['size']}x{report['size']}, {report['threads']} thread(s); DRAM read "
          f"bandwidth {report['bandwidth_bytes_per_s'] / 1e9:.1f} GB/s median "
          f"({report['bandwidth_best_bytes_per_s'] / 1e9:.1f} best); times: median / best")
    for row in report["results"]:
        print(f"{row['config']}: {row['bits_per_weight']:.3f} bits/weight stored, "
              f"{row['stored_bytes'] / 2**20:.2f} MiB, roofline {row['roofline_ms']:.3f} ms")
        for key, r in row.items():
            if not key.startswith("b") or not isinstance(r, dict):
                continue
            q, f = r["qformat"], r["f32_matmul"]
            line = (f"  batch {key[1:]}: qformat {q['median_ms']:.3f} / {q['best_ms']:.3f} ms | "
                    f"F32 {f['median_ms']:.3f} / {f['best_ms']:.3f} ms "
                    f"({r['speedup_vs_f32']:.2f}x / {r['speedup_vs_f32_best']:.2f}x) | "
                    f"numpy decode+matmul {r['numpy_decode_matmul']['median_ms']:.1f} ms "
                    f"({r['speedup_vs_numpy_decode_matmul']:.1f}x) | numba decode+matmul "
                    f"{r['numba_decode_matmul']['median_ms']:.1f} ms "
                    f"({r['speedup_vs_numba_decode_matmul']:.1f}x) | roofline "
                    f"{100 * r['fraction_of_roofline']:.1f}% / "
                    f"{100 * r['fraction_of_roofline_best']:.1f}% | err {r['rel_error']:.1e}")
            if "aqlm_style_1thread" in r:
                a = r["aqlm_style_1thread"]
                line += (f" | AQLM-style 1 thread {a['median_ms']:.3f} ms "
                         f"({r['speedup_vs_aqlm_style_1thread']:.2f}x)")
                if r["aqlm_style_all_threads_max_rel_error"] is not None:
                    line += (f", its error with {report['threads']} threads "
                             f"{r['aqlm_style_all_threads_max_rel_error']:.1e}")
            if "routes" in r:
                line += " | routes: " + ", ".join(
                    f"{k} {v['median_ms']:.1f} ms" for k, v in r["routes"].items())
            print(line)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--rounds", type=int, default=7, help="interleaved timing rounds")
    ap.add_argument("--reps", type=int, default=5, help="calls per round")
    ap.add_argument("--quick", action="store_true", help="1024x1024, fewer repetitions")
    ap.add_argument("--batches", default="1,8", help="comma-separated batch sizes")
    ap.add_argument("--only", default="", help="comma-separated config names to run")
    ap.add_argument("--json", type=Path, help="also write the results as JSON")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds, args.reps = min(args.rounds, 3), min(args.reps, 3)
    if args.child:
        print(json.dumps(child(args)))
        return 0
    reports = []
    for threads in [int(t) for t in args.threads.split(",") if t]:
        env = {**os.environ, "NUMBA_NUM_THREADS": str(threads),
               "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child",
               "--rounds", str(args.rounds), "--reps", str(args.reps),
               "--batches", args.batches, "--only", args.only] + (["--quick"] if args.quick
                                                                  else [])
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if proc.returncode:
            sys.stderr.write(proc.stderr)
            return proc.returncode
        report = json.loads(proc.stdout.strip().splitlines()[-1])
        _print(report)
        reports.append(report)
    if args.json:
        with open("/proc/loadavg") as fh:
            load = fh.read().split()[:3]
        args.json.write_text(json.dumps({"date": datetime.now(UTC).isoformat(timespec="seconds"),
                                         "loadavg_at_end": load, "runs": reports}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
