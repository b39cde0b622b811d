"""Benchmark of the bitpack kernels: ratios to baselines and fractions of the bandwidth roofline.

Measured in one run, on this machine, now (the machine is shared, so every figure is a median
of repeated calls and every ratio compares with a baseline timed in the same process):

1. memory bandwidth: read (parallel sum) and write (parallel fill) over 512 MiB arrays, probed
   at start and at the end; the roofline uses the best rate of either probe (on a shared
   machine a probe can only underestimate what the memory system delivers);
2. for each shape ([out, in] = 4096x4096 and 4096x11008) and width (2, 3, 4 bits; group 128;
   asymmetric U8 zero points; F16 scales):
   * dequantize to float32 vs the numpy reference and vs a vectorized numpy shift/mask
     decoder, as a fraction of the dequantize roofline (read the packed parts + write the
     float32 output once), into a reused buffer (``out=``) and into a new array;
   * fused GEMV (batch 1) vs (a) numpy dequantize-then-matmul and (b) numpy float32 GEMV on the
     dense matrix, as a fraction of the GEMV roofline (read every stored byte once); where
     an explicit-SIMD body serves the case, also the previous body (``SIMD_GEMV`` off), calls
     alternating with the new one (``previous_route`` ratio);
   * batch 8 and 32 vs numpy float32 GEMM on the dense matrix;
   * batch-1 GEMV against the group size (16, 32, 64, 128) for 3 and 4 bits, 4096x4096;
3. cold start: the first call of a kernel in a new process, with an empty and with a warm
   numba cache.

Weights rotate through copies totalling >= 256 MiB, so each timed call streams them from
DRAM, not from the 32 MiB L3 cache. Usage::

    python tools/bench_bitpack.py            # full run (about 5-10 minutes)
    python tools/bench_bitpack.py --quick    # small shapes, few repetitions (a smoke test)
    python tools/bench_bitpack.py --json out.json
    python tools/bench_bitpack.py --threads 1   # one numba thread (bandwidth probed likewise)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numba  # noqa: E402

from qformat.kernels import bitpack as kern  # noqa: E402
from qformat.kernels._ref import bitpack as ref  # noqa: E402

MiB = 1 << 20
ROTATION_BYTES = 256 * MiB


# -- bandwidth probes ----------------------------------------------------------------------------
@numba.njit(parallel=True, cache=True, fastmath=True)
def _read_sum(a):  # pragma: no cover - jitted
    total = np.float32(0)
    for i in numba.prange(a.size):
        total += a[i]
    return total


@numba.njit(parallel=True, cache=True)
def _fill(a, v):  # pragma: no cover - jitted
    for i in numba.prange(a.size):
        a[i] = v


def timeit(fn, reps: int, warmup: int = 2) -> tuple[float, float]:
    """(median, min) seconds of ``fn()`` over ``reps`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), float(np.min(times))


def timeit_routes(fn, reps: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """(median, min) of ``fn()`` with the explicit-SIMD GEMV routes on, then off (the previous
    bodies); calls alternate so both see the same machine."""
    previous = kern.SIMD_GEMV
    times: dict[bool, list[float]] = {True: [], False: []}
    try:
        for on in (True, False, True, False):  # warm-up (and compile) both
            kern.SIMD_GEMV = on
            fn()
        for _ in range(reps):
            for on in (True, False):
                kern.SIMD_GEMV = on
                t = time.perf_counter()
                fn()
                times[on].append(time.perf_counter() - t)
    finally:
        kern.SIMD_GEMV = previous
    on, off = ((float(np.median(times[b])), float(np.min(times[b]))) for b in (True, False))
    return on, off


def bandwidth(reps: int, size: int = 512 * MiB) -> dict[str, float]:
    a = np.ones(size // 4, np.float32)
    read = timeit(lambda: _read_sum(a), reps)
    write = timeit(lambda: _fill(a, np.float32(2)), reps)
    return {"read_GBps": size / read[0] / 1e9, "write_GBps": size / write[0] / 1e9,
            "read_best_GBps": size / read[1] / 1e9, "write_best_GBps": size / write[1] / 1e9}


# -- data ------------------------------------------------------------------------------------------
def make_layer(out: int, k: int, bits: int, group: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    g = k // group
    codes = rng.integers(0, 1 << bits, (out, k), dtype=np.uint8)
    scales = (rng.random((out, g), dtype=np.float32) * 0.01 + 1e-3).astype(np.float16)
    return {"codes": kern.pack_codes(codes, bits), "scales": scales,
            "zeros": rng.integers(0, 1 << bits, (out, g), dtype=np.uint8)}


def kernel_args(layer: dict, bits: int, k: int, group: int) -> dict:
    return {"bits": bits, "k": k, "group_size": group, "zero": "int", "zero_dtype": "U8",
            "scale_dtype": "F16", **layer}


def stored_bytes(layer: dict) -> int:
    return sum(a.nbytes for a in layer.values())


def copies(layer: dict, n_bytes: int) -> list[dict]:
    n = max(2, -(-ROTATION_BYTES // max(n_bytes, 1)))
    return [layer] + [{k: v.copy() for k, v in layer.items()} for _ in range(n - 1)]


def rotating(items: list):
    state = {"i": 0}

    def nxt():
        state["i"] = (state["i"] + 1) % len(items)
        return items[state["i"]]
    return nxt


def numpy_dequantize(layer: dict, bits: int, k: int, group: int) -> np.ndarray:
    """A vectorized numpy decoder (shift/mask on whole arrays): the honest numpy baseline."""
    p = layer["codes"]
    if bits == 4:
        q = np.empty((p.shape[0], k), np.uint8)
        q[:, 0::2] = p & 15
        q[:, 1::2] = p >> 4
    elif bits == 2:
        q = np.stack([(p >> s) & 3 for s in (0, 2, 4, 6)], axis=2).reshape(p.shape[0], k)
    else:  # 3 bits: 3 bytes -> one 24-bit integer -> 8 codes
        b = p.reshape(p.shape[0], -1, 3).astype(np.uint32)
        v = b[..., 0] | (b[..., 1] << 8) | (b[..., 2] << 16)
        q = np.stack([(v >> (3 * t)) & 7 for t in range(8)], axis=2).reshape(p.shape[0], k)
    s = layer["scales"].astype(np.float32)
    z = layer["zeros"].astype(np.float32)
    qg = q.reshape(p.shape[0], -1, group).astype(np.float32)
    return (s[:, :, None] * (qg - z[:, :, None])).reshape(p.shape[0], k)


# -- measurements ---------------------------------------------------------------------------------
def bench_layer(out: int, k: int, bits: int, group: int, bw: dict, reps: int,
                slow_reps: int, batches: tuple[int, ...], dense_cache: dict) -> list[dict]:
    rows = []
    layer = make_layer(out, k, bits, group)
    nbytes = stored_bytes(layer)
    pool = copies(layer, nbytes)
    nxt = rotating(pool)
    x1 = np.random.default_rng(1).standard_normal((1, k)).astype(np.float32)
    read_roof = nbytes / (bw["read_GBps"] * 1e9)  # provisional: see finish_roofline
    out_bytes = out * k * 4
    deq_roof = read_roof + out_bytes / (bw["write_GBps"] * 1e9)
    label = f"{out}x{k} int{bits} g{group}"

    # correctness guard: the benchmarked kernels agree with the reference on this layer
    kw0 = kernel_args(layer, bits, k, group)
    w_ref = ref.dequantize(**kw0)
    assert np.array_equal(kern.dequantize(**kw0), w_ref)
    assert np.array_equal(numpy_dequantize(layer, bits, k, group), w_ref)
    y_ref = x1 @ w_ref.T
    err = np.abs(kern.linear(x1, **kw0) - y_ref).max() / np.abs(y_ref).max()
    assert err < 1e-5 * np.sqrt(k), err
    del w_ref

    # numba phases first, after a pause: OpenBLAS threads keep spinning for a while after a
    # BLAS call and would fight numba's threads for the 2 cores (the notes' tick stalls)
    time.sleep(0.5)
    buf = np.empty((out, k), np.float32)
    buf.fill(0)
    t_kern = timeit(lambda: kern.dequantize(**kernel_args(nxt(), bits, k, group),
                                            validate=False, out=buf), reps)
    t_fresh = timeit(lambda: kern.dequantize(**kernel_args(nxt(), bits, k, group),
                                             validate=False), reps)
    t_gemv, t_prev = timeit_routes(lambda: kern.linear(x1, **kernel_args(nxt(), bits, k, group),
                                                       validate=False), reps)
    xbs = {b: np.random.default_rng(3).standard_normal((b, k)).astype(np.float32)
           for b in batches}
    t_batch = {b: timeit(lambda xb=xbs[b]: kern.linear(xb, **kernel_args(nxt(), bits, k, group),
                                                       validate=False), max(3, reps // 2))
               for b in batches}

    # numpy baselines (numpy's BLAS threads from here on)
    t_np = timeit(lambda: numpy_dequantize(nxt(), bits, k, group), slow_reps, warmup=1)
    t_ref = timeit(lambda: ref.dequantize(**kernel_args(nxt(), bits, k, group),
                                          validate=False), max(1, slow_reps // 2), warmup=0)
    key = (out, k)
    if key not in dense_cache:
        dense = np.random.default_rng(2).standard_normal((out, k)).astype(np.float32)
        dense_cache[key] = copies({"w": dense}, dense.nbytes)
    dnext = rotating(dense_cache[key])
    t_dense = timeit(lambda: x1 @ dnext()["w"].T, reps)
    t_np_gemv = timeit(lambda: x1 @ numpy_dequantize(nxt(), bits, k, group).T, slow_reps,
                       warmup=1)
    t_dense_b = {b: timeit(lambda xb=xbs[b]: xb @ dnext()["w"].T, max(3, reps // 2))
                 for b in batches}

    rows.append({"op": "dequantize->f32 (out=)", "layer": label, "ms": t_kern[0] * 1e3,
                 "best_ms": t_kern[1] * 1e3, "roofline_frac": deq_roof / t_kern[0],
                 "read_bytes": nbytes, "write_bytes": out_bytes,
                 "vs_numpy_shiftmask": t_np[0] / t_kern[0], "vs_numpy_reference":
                 t_ref[0] / t_kern[0], "numpy_shiftmask_ms": t_np[0] * 1e3,
                 "numpy_reference_ms": t_ref[0] * 1e3})
    rows.append({"op": "dequantize->f32 (new)", "layer": label, "ms": t_fresh[0] * 1e3,
                 "best_ms": t_fresh[1] * 1e3, "roofline_frac": deq_roof / t_fresh[0],
                 "read_bytes": nbytes, "write_bytes": out_bytes,
                 "vs_numpy_shiftmask": t_np[0] / t_fresh[0]})
    rows.append({"op": "linear batch 1 (GEMV)", "layer": label, "ms": t_gemv[0] * 1e3,
                 "best_ms": t_gemv[1] * 1e3, "roofline_frac": read_roof / t_gemv[0],
                 "read_bytes": nbytes, "write_bytes": 0,
                 "vs_f32_dense_gemv": t_dense[0] / t_gemv[0],
                 "vs_numpy_dequant_matmul": t_np_gemv[0] / t_gemv[0],
                 "f32_dense_gemv_ms": t_dense[0] * 1e3,
                 "numpy_dequant_matmul_ms": t_np_gemv[0] * 1e3})
    with_simd = kern.SIMD_GEMV
    kern.SIMD_GEMV = False
    prev_body = kern._gemv_body(bits, group)
    kern.SIMD_GEMV = with_simd
    if prev_body != kern._gemv_body(bits, group):
        rows.append({"op": f"GEMV previous ({prev_body})", "layer": label,
                     "ms": t_prev[0] * 1e3, "best_ms": t_prev[1] * 1e3,
                     "roofline_frac": read_roof / t_prev[0], "read_bytes": nbytes,
                     "write_bytes": 0})
        rows[-2]["vs_previous_route"] = t_prev[0] / t_gemv[0]
        rows[-2]["previous_route_ms"] = t_prev[0] * 1e3
    for b in batches:
        rows.append({"op": f"linear batch {b}", "layer": label, "ms": t_batch[b][0] * 1e3,
                     "best_ms": t_batch[b][1] * 1e3, "roofline_frac": read_roof / t_batch[b][0],
                     "read_bytes": nbytes, "write_bytes": 0,
                     "vs_f32_dense_gemm": t_dense_b[b][0] / t_batch[b][0],
                     "f32_dense_gemm_ms": t_dense_b[b][0] * 1e3})
    return rows


def bench_group_sweep(out: int, k: int, bits_list: tuple[int, ...], groups: tuple[int, ...],
                      bw: dict, reps: int) -> list[dict]:
    """Batch-1 GEMV time against the group size (issue: small groups, as SpQR's 16, used to be
    several times slower than groups of 128). Interleaved rounds, weights rotating through
    DRAM; each row gives the median and best, the ratio to the same width's largest group
    (median of per-round ratios) and the fraction of the read roofline of its stored bytes."""
    rows = []
    x1 = np.random.default_rng(1).standard_normal((1, k)).astype(np.float32)
    for bits in bits_list:
        pools = {}
        for group in groups:
            layer = make_layer(out, k, bits, group)
            pools[group] = (rotating(copies(layer, stored_bytes(layer))), stored_bytes(layer))
        times: dict[int, list[float]] = {g: [] for g in groups}
        for _ in range(reps):
            for group in groups:
                nxt = pools[group][0]

                def call(nxt=nxt, group=group, bits=bits):
                    return kern.linear(x1, **kernel_args(nxt(), bits, k, group), validate=False)

                call()
                t = time.perf_counter()
                call()
                times[group].append(time.perf_counter() - t)
        ref_group = max(groups)
        for group in groups:
            t = np.array(times[group])
            ratio = np.median(t / np.array(times[ref_group]))
            roof = pools[group][1] / (bw["read_GBps"] * 1e9)
            rows.append({"op": "GEMV group sweep", "layer": f"{out}x{k} int{bits} g{group}",
                         "ms": float(np.median(t)) * 1e3, "best_ms": float(t.min()) * 1e3,
                         "roofline_frac": roof / float(np.median(t)),
                         "read_bytes": pools[group][1], "write_bytes": 0,
                         f"vs_time_over_g{ref_group}": float(ratio)})
    return rows


_COLD_SCRIPT = """
import time, sys
t0 = time.perf_counter()
import numpy as np
sys.path.insert(0, {root!r})
from qformat.kernels import bitpack as kern
t1 = time.perf_counter()
rng = np.random.default_rng(0)
from qformat.kernels._ref.bitpack import pack_codes
packed = pack_codes(rng.integers(0, 16, (64, 256)).astype(np.uint8), 4)
kw = dict(bits=4, k=256, group_size=128, zero="int", zeros=np.zeros((64, 2), np.uint8),
          zero_dtype="U8", scales=np.ones((64, 2), np.float16), scale_dtype="F16")
t2 = time.perf_counter()
kern.linear(np.ones((1, 256), np.float32), packed, **kw)
t3 = time.perf_counter()
kern.dequantize(packed, **kw)
t4 = time.perf_counter()
print(f"{{t1 - t0:.4f}} {{t3 - t2:.4f}} {{t4 - t3:.4f}}")
"""


def cold_start() -> dict[str, float]:
    """First calls in new processes: empty numba cache, then the cache that run filled."""
    script = _COLD_SCRIPT.format(root=str(ROOT))
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        runs = []
        for _ in range(3):
            done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                                  text=True, check=True)
            runs.append([float(v) for v in done.stdout.split()])
    cold, warm = runs[0], runs[1:]
    return {"import_s": float(np.median([r[0] for r in runs])),
            "gemv_first_call_uncached_s": cold[1], "dequant_first_call_uncached_s": cold[2],
            "gemv_first_call_cached_s": float(np.median([r[1] for r in warm])),
            "dequant_first_call_cached_s": float(np.median([r[2] for r in warm]))}


def finish_roofline(rows: list[dict], bw: dict) -> None:
    """Roofline fractions against the best read and write rates of the probes before and after
    the measurements (on a shared machine a probe only ever underestimates the roof): the time
    to read every stored byte once (plus, for dequantization, to write the float32 output)
    over the median time."""
    for r in rows:
        roof = r["read_bytes"] / (bw["read_GBps"] * 1e9) + r["write_bytes"] / (
            bw["write_GBps"] * 1e9)
        r["roofline_frac"] = roof / (r["ms"] / 1e3)
        r["best_roofline_frac"] = roof / (r["best_ms"] / 1e3)


def _fmt_row(r: dict) -> str:
    extra = {k: v for k, v in r.items() if k.startswith("vs_")}
    ratios = "  ".join(f"{k[3:]} x{v:.1f}" for k, v in extra.items())
    return (f"  {r['op']:<24} {r['layer']:<22} {r['ms']:8.3f} ms (best {r['best_ms']:.3f})  "
            f"{100 * r['roofline_frac']:5.1f}% roof (best {100 * r['best_roofline_frac']:5.1f}%)"
            f"  {ratios}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small shapes, few repetitions")
    ap.add_argument("--reps", type=int, default=15, help="timed calls per kernel (median)")
    ap.add_argument("--bits", type=int, nargs="*", default=[2, 3, 4])
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--no-cold-start", action="store_true")
    ap.add_argument("--no-sweep", action="store_true", help="skip the GEMV group-size sweep")
    ap.add_argument("--shapes", default="4096x4096,4096x11008",
                    help="comma-separated OUTxIN layer shapes (default: %(default)s)")
    ap.add_argument("--threads", type=int, default=0,
                    help="numba threads for kernels and bandwidth probes (default: all); "
                         "1 is far less sensitive to other jobs on a busy machine")
    args = ap.parse_args(argv)
    if args.threads:
        numba.set_num_threads(args.threads)
    shapes = [(512, 1024)] if args.quick else [
        tuple(int(v) for v in shape.split("x")) for shape in args.shapes.split(",") if shape]
    reps = 3 if args.quick else args.reps
    slow_reps = 2 if args.quick else 5
    load = os.getloadavg()
    print(f"bench_bitpack: numba {numba.__version__}, {numba.get_num_threads()} threads, "
          f"numpy {np.__version__}, load average {load[0]:.2f}")
    probe_reps, probe_size = (3 if args.quick else 7), (64 if args.quick else 512) * MiB
    bw = bandwidth(reps=probe_reps, size=probe_size)
    print(f"memory bandwidth at start: read {bw['read_GBps']:.1f} GB/s (best "
          f"{bw['read_best_GBps']:.1f}), write {bw['write_GBps']:.1f} GB/s (best "
          f"{bw['write_best_GBps']:.1f})")
    results: dict = {"bandwidth_start": bw, "load_average_start": load, "rows": []}
    dense_cache: dict = {}
    for out, k in shapes:
        for bits in args.bits:
            rows = bench_layer(out, k, bits, 128, bw, reps, slow_reps, (8, 32), dense_cache)
            results["rows"].extend(rows)
            print(f"  ... {rows[0]['layer']} done", file=sys.stderr, flush=True)
    if not args.no_sweep:
        sweep_shape = (512, 1024) if args.quick else (4096, 4096)
        results["rows"].extend(bench_group_sweep(*sweep_shape, (3, 4), (16, 32, 64, 128), bw,
                                                 3 if args.quick else 3 * args.reps))
    bw_end = bandwidth(reps=probe_reps, size=probe_size)
    results["bandwidth_end"] = bw_end
    roof = {"read_GBps": max(bw["read_best_GBps"], bw_end["read_best_GBps"]),
            "write_GBps": max(bw["write_best_GBps"], bw_end["write_best_GBps"])}
    results["roofline_bandwidth"] = roof
    finish_roofline(results["rows"], roof)
    print(f"memory bandwidth at end: read {bw_end['read_GBps']:.1f} GB/s (best "
          f"{bw_end['read_best_GBps']:.1f}), write {bw_end['write_GBps']:.1f} GB/s (best "
          f"{bw_end['write_best_GBps']:.1f}); roofline uses the best of both probes: read "
          f"{roof['read_GBps']:.1f} GB/s, write {roof['write_GBps']:.1f} GB/s")
    print("median ms (best) | % of roofline at the median (at the best) | ratios of medians:"
          " 'x' = baseline time / our time, except time_over_g128 = this group / g128")
    for row in results["rows"]:
        print(_fmt_row(row))
    if not args.no_cold_start:
        cs = cold_start()
        results["cold_start"] = cs
        print(f"cold start (new process): import {cs['import_s']:.2f} s; first GEMV call "
              f"{cs['gemv_first_call_uncached_s']:.2f} s uncached / "
              f"{cs['gemv_first_call_cached_s']:.3f} s cached; first dequantize "
              f"{cs['dequant_first_call_uncached_s']:.2f} s uncached / "
              f"{cs['dequant_first_call_cached_s']:.3f} s cached")
    results["load_average_end"] = os.getloadavg()
    print(f"load average at the end {results['load_average_end'][0]:.2f} (a busy machine "
          "inflates every time; ratios are measured side by side)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
