"""Benchmark of the codebook layout's GEMV (batch 1) and small-batch GEMM on 4096x4096.

For each configuration (AQLM 1x16, 2x8 and 8x8 with in_group 8, plus 8x8 with in_group 32, the
2-bit 8x8 variant), in one process:

* ``qformat``: ``QTensor.linear(x)`` (lookup-table or direct kernels, f16 codebook/scales
  converted on every call, as a user calls it);
* ``decode+matmul (numpy)``: a vectorized numpy decode (one gather per codebook) then
  ``np.matmul``; this is what a decode-then-matmul path costs (AQLM's own CPU path for 1x16
  is the same in torch: ``embedding_bag`` decode + ``F.linear``);
* ``decode+matmul (numba)``: our jitted decode then ``np.matmul``;
* ``F32 GEMV``: ``np.matmul`` on the dense float32 matrix (OpenBLAS sgemv/sgemm);
* ``AQLM-style kernel`` (8-bit codebooks, batch 1): the algorithm of AQLM's numba CPU kernel
  (lookup table, then ``prange`` over input groups adding into a shared output), run with one
  thread because it races with more (AQLM#86).

Every time is the median of ``--reps`` calls, rotating through enough copies of the quantized
parts (and of the dense matrix) to exceed the last-level cache, so the data comes from DRAM.
The DRAM read bandwidth is measured at start with a parallel numba sum over 512 MiB (median of
several passes); the roofline time of a GEMV is (codes + codebooks + scales bytes) / bandwidth.
The machine is shared: read ratios measured in the same run, not absolute times.

Usage: ``python tools/bench_codebook.py [--reps 15] [--quick] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
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


def measure_bandwidth(reps: int = 7) -> float:
    """DRAM read bandwidth in bytes/s (parallel numba sum over 512 MiB, median of passes)."""
    buf = np.ones(128 * 1024 * 1024, dtype=np.float32)
    partial = np.zeros(64, dtype=np.float32)
    _read_sum(buf, partial)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        _read_sum(buf, partial)
        times.append(time.perf_counter() - t)
    return buf.nbytes / statistics.median(times)


def timed(fn, args_list, reps: int) -> float:
    """Median seconds of ``fn(*args)``, cycling through ``args_list`` (after one warm-up)."""
    fn(*args_list[0])
    times = []
    for i in range(reps):
        args = args_list[i % len(args_list)]
        t = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


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


def bench_config(name, m, bits, ig, *, out, inp, reps, bandwidth, rng, batches):
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
    layout = base.layout
    row = {"config": name, "bits_per_weight": base.bits_per_weight, "stored_bytes": nbytes,
           "roofline_ms": nbytes / bandwidth * 1e3}
    for n in batches:
        x = rng.standard_normal((n, inp)).astype(np.float32)
        want = x.astype(np.float64) @ dense.astype(np.float64).T
        got = base.linear(x)
        err = float(np.abs(got - want).max() / (np.abs(x).sum(1).max() * np.abs(dense).max()))

        def ours(qt, x=x):
            return qt.linear(x)

        def numpy_decode_matmul(qt, x=x):
            return x @ numpy_decode(qt, m, bits, ig).T

        def numba_decode_matmul(qt, x=x):
            return x @ qt.dequantize().T

        def f32(w, x=x):
            return x @ w.T

        t_ours = timed(ours, [(t,) for t in tensors], reps)
        t_aqlm = None
        if n == 1 and bits == 8:
            import numba

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
                t_aqlm = timed(aqlm_style_linear, [(x[0], jom, m_books, scales32, ig)], reps)
            finally:
                numba.set_num_threads(saved)
        t_f32 = timed(f32, [(w,) for w in dense_copies], reps)
        t_nb = timed(numba_decode_matmul, [(t,) for t in tensors], max(3, reps // 3))
        t_np = timed(numpy_decode_matmul, [(t,) for t in tensors], 3)
        key = f"b{n}"
        row[key] = {
            "qformat_ms": t_ours * 1e3,
            "f32_matmul_ms": t_f32 * 1e3,
            "numba_decode_matmul_ms": t_nb * 1e3,
            "numpy_decode_matmul_ms": t_np * 1e3,
            "aqlm_style_1thread_ms": None if t_aqlm is None else t_aqlm * 1e3,
            "aqlm_style_all_threads_max_rel_error": None if t_aqlm is None else race,
            "speedup_vs_aqlm_style_1thread": None if t_aqlm is None else t_aqlm / t_ours,
            "speedup_vs_f32": t_f32 / t_ours,
            "speedup_vs_numpy_decode_matmul": t_np / t_ours,
            "speedup_vs_numba_decode_matmul": t_nb / t_ours,
            "fraction_of_roofline": (nbytes / bandwidth) / t_ours,
            "rel_error": err,
        }
    del layout
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--quick", action="store_true", help="1024x1024, fewer repetitions")
    ap.add_argument("--batches", default="1,8", help="comma-separated batch sizes")
    ap.add_argument("--only", default="", help="comma-separated config names to run")
    ap.add_argument("--json", type=Path, help="also write the results as JSON")
    args = ap.parse_args(argv)
    size = 1024 if args.quick else 4096
    reps = 5 if args.quick else args.reps
    batches = [int(b) for b in args.batches.split(",") if b]
    rng = np.random.default_rng(0)
    bandwidth = measure_bandwidth()
    threads = os.environ.get("NUMBA_NUM_THREADS", str(os.cpu_count()))
    print(f"{size}x{size}, threads={threads}, DRAM read bandwidth {bandwidth / 1e9:.1f} GB/s "
          f"(median), times are medians of {reps} (machine shared: compare ratios)")
    rows = []
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    for name, m, bits, ig in CONFIGS:
        if only and name not in only:
            continue
        row = bench_config(name, m, bits, ig, out=size, inp=size, reps=reps,
                           bandwidth=bandwidth, rng=rng, batches=batches)
        rows.append(row)
        print(f"\n{name}: {row['bits_per_weight']:.3f} bits/weight stored, "
              f"{row['stored_bytes'] / 2**20:.2f} MiB, roofline {row['roofline_ms']:.3f} ms")
        for n in batches:
            r = row[f"b{n}"]
            print(f"  batch {n}: qformat {r['qformat_ms']:.3f} ms | F32 matmul "
                  f"{r['f32_matmul_ms']:.3f} ms ({r['speedup_vs_f32']:.2f}x) | numpy "
                  f"decode+matmul {r['numpy_decode_matmul_ms']:.1f} ms "
                  f"({r['speedup_vs_numpy_decode_matmul']:.1f}x) | numba decode+matmul "
                  f"{r['numba_decode_matmul_ms']:.2f} ms "
                  f"({r['speedup_vs_numba_decode_matmul']:.1f}x) | "
                  f"{100 * r['fraction_of_roofline']:.1f}% of roofline | "
                  f"rel.err {r['rel_error']:.1e}"
                  + ("" if r["aqlm_style_1thread_ms"] is None else
                     f" | AQLM-style kernel 1 thread {r['aqlm_style_1thread_ms']:.3f} ms "
                     f"({r['speedup_vs_aqlm_style_1thread']:.2f}x), its error with all "
                     f"threads {r['aqlm_style_all_threads_max_rel_error']:.1e}"))
    if args.json:
        args.json.write_text(json.dumps({"size": size, "bandwidth_bytes_per_s": bandwidth,
                                         "threads": threads, "results": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
