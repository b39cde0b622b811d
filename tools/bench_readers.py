#!/usr/bin/env python3
"""Benchmark the GGUF reader against gguf-py, measured in the same run.

    /work/venv/bin/python tools/bench_readers.py [--repeat N] [--json]

1. Memory bandwidth before and after the dequantization runs (numba, all threads; the better
   of the two probes): a write-only fill and a read-only sum over 256 MiB; the
   dequantization roofline of a tensor is (input + float32 output bytes) / the slower of the
   two.
2. Dequantization of a 4096x4096 tensor for Q4_0, Q8_0, Q4_K and Q6_K: qformat's kernels
   (``qformat.kernels.ggml``, returning a new array like gguf-py, and into a reused ``out=``
   buffer; all numba threads and one) vs ``gguf.quants.dequantize``, in interleaved rounds;
   outputs are checked bit-identical first. Q4_0/Q8_0 blocks come
   from ``gguf.quants.quantize`` of N(0, 0.02) weights, Q4_K/Q6_K are random blocks with
   finite half-precision scales.
3. Header listing of a GGUF file with a 151,936-token vocabulary (string, float and int
   arrays) and 1000 tensors, written by gguf-py's GGUFWriter: ``qformat.open`` + every
   ``info`` + ``quantization()`` vs ``gguf.GGUFReader(path)``. Peak memory of each is the
   growth of the peak RSS (VmHWM) in a fresh process after imports.

Dequantization variants run in interleaved rounds (medians and bests reported); the header
listing is best-of-N. The machine is shared and noisy: compare the ratios, which are measured
side by side, rather than absolute times.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N = 4096
TYPES = ("Q4_0", "Q8_0", "Q4_K", "Q6_K")
TARGET_DEQUANT = 10.0
TARGET_HEADER = 50.0


def best(fn: Callable[[], object], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def bandwidth(repeat: int) -> dict[str, float]:
    """GB/s of a parallel write-only fill and a parallel read-only sum over 256 MiB."""
    import numba

    @numba.njit(parallel=True, cache=False)
    def fill(a):  # type: ignore[no-untyped-def]
        for i in numba.prange(a.shape[0]):
            a[i] = 1.0

    @numba.njit(parallel=True, cache=False)
    def total(a):  # type: ignore[no-untyped-def]
        s = 0  # integer sum: vectorizes without reassociating floats, so it is memory-bound
        for i in numba.prange(a.shape[0]):
            s += a[i]
        return s

    a = np.empty(64 << 20, dtype=np.float32)  # 256 MiB
    t_fill = best(lambda: fill(a), repeat)
    words = a.view(np.uint32)
    t_sum = best(lambda: total(words), repeat)
    return {"write_GBps": a.nbytes / t_fill / 1e9, "read_GBps": a.nbytes / t_sum / 1e9,
            "threads": numba.get_num_threads()}


def make_blocks(type_name: str, rng: np.random.Generator) -> np.ndarray:
    import gguf

    qtype = gguf.GGMLQuantizationType[type_name]
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    if type_name in ("Q4_0", "Q8_0"):
        weights = rng.normal(0, 0.02, size=(N, N)).astype(np.float32)
        return gguf.quants.quantize(weights, qtype).view(np.uint8).reshape(N, -1)
    raw = rng.integers(0, 256, size=(N * N // block, size), dtype=np.uint8)
    scales = rng.uniform(1e-4, 2e-3, size=(raw.shape[0], 2)).astype("<f2").view(np.uint8)
    fields = {"Q4_K": (0, 2), "Q6_K": (208,)}[type_name]
    for k, start in enumerate(fields):
        raw[:, start:start + 2] = scales[:, 2 * k:2 * k + 2]
    return raw.reshape(N, -1)


def bench_dequant(repeat: int, bw: dict[str, float]) -> list[dict[str, object]]:
    """Interleaved rounds (gguf-py, then ours into a new array and into ``out=``, with all
    numba threads and with one), so that load drifts hit every variant alike; each variant's
    median and best, and the ratios of medians and of bests."""
    import gguf
    import numba

    from qformat.kernels import ggml

    rng = np.random.default_rng(0)
    threads = numba.get_num_threads()
    rows = []
    for type_name in TYPES:
        raw = make_blocks(type_name, rng)
        qtype = gguf.GGMLQuantizationType[type_name]
        ours = ggml.dequantize(raw, type_name)
        theirs = gguf.quants.dequantize(raw, qtype)
        if not np.array_equal(ours.view(np.uint32), theirs.reshape(-1).view(np.uint32)):
            raise SystemExit(f"{type_name}: qformat and gguf-py disagree")
        del ours, theirs
        buf = np.empty(N * N, dtype=np.float32)
        variants = {
            "gguf": lambda raw=raw, qtype=qtype: gguf.quants.dequantize(raw, qtype),
            "new": lambda raw=raw, name=type_name: ggml.dequantize(raw, name),
            "out": lambda raw=raw, name=type_name, buf=buf: ggml.dequantize(raw, name, buf),
        }
        times: dict[str, list[float]] = {f"{v}{t}": [] for v in variants for t in ("", "_1t")
                                         if not (v == "gguf" and t)}
        for f in variants.values():
            f()
        for _ in range(repeat):
            for name, f in variants.items():
                for suffix, n_threads in (("", threads), ("_1t", 1)):
                    if name == "gguf" and suffix:
                        continue
                    numba.set_num_threads(n_threads)
                    t = time.perf_counter()
                    f()
                    times[name + suffix].append(time.perf_counter() - t)
            numba.set_num_threads(threads)
        med = {k: float(np.median(v)) for k, v in times.items()}
        low = {k: float(np.min(v)) for k, v in times.items()}
        row: dict[str, object] = {"type": type_name, "bytes_moved": raw.nbytes + N * N * 4,
                                  "target": TARGET_DEQUANT, "threads": threads}
        for k in times:
            row[f"{k}_ms"] = med[k] * 1e3
            row[f"{k}_best_ms"] = low[k] * 1e3
            if k != "gguf":
                row[f"{k}_ratio"] = med["gguf"] / med[k]
                row[f"{k}_ratio_best"] = low["gguf"] / low[k]
        rows.append(row)
    return rows


def add_roofline(rows: list[dict[str, object]], bw: dict[str, float]) -> None:
    """Roofline of each dequantization: its bytes (input + float32 output) at the slower of the
    read and write bandwidths, and each variant's fraction of it (roofline / median)."""
    roof_gbps = min(bw["write_GBps"], bw["read_GBps"])
    for row in rows:
        roof = float(row["bytes_moved"]) / (roof_gbps * 1e9)  # type: ignore[arg-type]
        row["roofline_ms"] = roof * 1e3
        for k in ("new", "new_1t", "out", "out_1t"):
            row[f"{k}_roofline_fraction"] = roof / (float(row[f"{k}_ms"]) / 1e3)  # type: ignore


def make_vocab_file(path: Path) -> None:
    import gguf

    w = gguf.GGUFWriter(path, "llama")
    n = 151_936
    w.add_tokenizer_model("gpt2")
    w.add_token_list([f"tok{i}" + "x" * (i % 11) for i in range(n)])
    w.add_token_scores([float(i) for i in range(n)])
    w.add_token_types([1] * n)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
    block = gguf.quants.quantize(np.ones((4, 64), np.float32), gguf.GGMLQuantizationType.Q8_0)
    for i in range(1000):
        w.add_tensor(f"blk.{i}.weight", block, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


_LIST_QFORMAT = """
import qformat
with qformat.open(PATH) as m:
    infos = [m.info(k) for k in m.keys()]
    m.quantization()
"""
_LIST_GGUF = """
import gguf
r = gguf.GGUFReader(PATH)
tensors = [(t.name, t.tensor_type, t.shape) for t in r.tensors]
"""


def peak_rss_growth(code: str, path: Path) -> float:
    """MiB the peak RSS grows by when ``code`` runs in a fresh process (after imports).

    Reads VmHWM from /proc/self/status: unlike ``ru_maxrss`` it belongs to the new address
    space and does not inherit the (large) peak of this benchmark process across fork/exec.
    """
    probe = (
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "import numpy, gguf, qformat, qformat.readers.gguf\n"
        "def hwm():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmHWM:'):\n"
        "            return int(line.split()[1])\n"
        "base = hwm()\n"
        f"PATH = {str(path)!r}\n" + code +
        "\nprint((hwm() - base) / 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return float(out.stdout.split()[-1])


def bench_header(repeat: int) -> dict[str, object]:
    import gguf

    import qformat

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vocab150k.gguf"
        make_vocab_file(path)

        def ours() -> None:
            with qformat.open(path) as m:
                [m.info(k) for k in m]
                m.quantization()

        t_ours = best(ours, repeat)
        t_gguf = best(lambda: gguf.GGUFReader(path), max(1, repeat // 5))
        mem_ours = peak_rss_growth(_LIST_QFORMAT, path)
        mem_gguf = peak_rss_growth(_LIST_GGUF, path)
        size = path.stat().st_size
    return {"file_MiB": size / 2**20, "gguf_ms": t_gguf * 1e3, "qformat_ms": t_ours * 1e3,
            "ratio": t_gguf / t_ours, "gguf_peak_rss_MiB": mem_gguf,
            "qformat_peak_rss_MiB": mem_ours, "target": TARGET_HEADER}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed repetitions (best of)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--no-header", action="store_true", help="skip the header listing")
    args = parser.parse_args()
    load = os.getloadavg()
    bw_start = bandwidth(args.repeat)
    dequant = bench_dequant(args.repeat, bw_start)
    bw_end = bandwidth(args.repeat)
    # a probe on a shared machine only ever underestimates: take the better of the two
    bw = {k: max(bw_start[k], bw_end[k]) for k in bw_start}
    add_roofline(dequant, bw)
    header = None if args.no_header else bench_header(args.repeat)
    result = {"machine": {"cpus": os.cpu_count(), "load_average": load, **bw},
              "dequantize_4096x4096": dequant, "header_150k_vocab": header}
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print(f"load average {load[0]:.2f}; bandwidth ({bw['threads']} threads, best of a probe "
          f"before and after): write {bw['write_GBps']:.1f} GB/s, read {bw['read_GBps']:.1f} GB/s")
    print("dequantize 4096x4096 -> float32, medians (best) in ms over interleaved rounds. "
          "'new': returns a new array (gguf-py's semantics, includes the page faults of "
          "64 MiB); 'out=': into a reused buffer (ggml's to_float); '1T': one numba thread. "
          "ratio = gguf-py / ours (of medians; of bests); %roof = roofline / median")
    for r in dequant:
        print(f"{r['type']:5} gguf-py {r['gguf_ms']:6.1f} ({r['gguf_best_ms']:.1f})  "
              f"roofline {r['roofline_ms']:.2f}")
        for k, label in (("new", f"new {r['threads']}T"), ("new_1t", "new 1T"),
                         ("out", f"out= {r['threads']}T"), ("out_1t", "out= 1T")):
            print(f"      {label:9} {r[k + '_ms']:6.2f} ({r[k + '_best_ms']:5.2f})  "
                  f"x{r[k + '_ratio']:5.1f} (x{r[k + '_ratio_best']:5.1f})  "
                  f"{100 * r[k + '_roofline_fraction']:4.0f}% roof"
                  + (f"   target >= {TARGET_DEQUANT:.0f}x: "
                     f"{'ok' if r[k + '_ratio'] >= TARGET_DEQUANT else 'BELOW'}"
                     if k.startswith("new") else ""))
    h = header
    if h is None:
        return
    print(f"header listing, 151,936-token vocab + 1000 tensors ({h['file_MiB']:.1f} MiB): "
          f"gguf-py {h['gguf_ms']:.0f} ms / {h['gguf_peak_rss_MiB']:.0f} MiB peak RSS, "
          f"qformat {h['qformat_ms']:.1f} ms / {h['qformat_peak_rss_MiB']:.1f} MiB -> "
          f"{h['ratio']:.0f}x (target >= {TARGET_HEADER:.0f}x: "
          f"{'ok' if h['ratio'] >= TARGET_HEADER else 'BELOW TARGET'})")


if __name__ == "__main__":
    main()
