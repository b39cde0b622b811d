#!/usr/bin/env python3
"""Benchmark the lossless GGUF import (``GGUFModel.raw`` -> bitpack), measured in one run.

    /work/venv/bin/python tools/bench_gguf_lossless.py [--repeat N] [--json]

1. Memory bandwidth at start (``tools/bench_readers.py``'s numba fill and sum over 256 MiB).
2. For 4096x4096 tensors of Q4_0, Q8_0, Q4_K, Q6_K, IQ4_XS and MXFP4 in a GGUF file written
   by gguf-py (from the memory-mapped file, as a user calls it): ``model.raw(name)`` against
   two baselines, gguf-py's ``gguf.quants.dequantize`` (numpy work of the same kind: unpack
   every code of the tensor) and qformat's own ``model.get(name)`` (Numba kernels). The
   import's roofline is (block bytes read + bitpack bytes written) / the slower bandwidth.
   The imported tensor's ``dequantize()`` is checked bit-identical to ``get`` first and timed
   too (bitpack kernels against ggml kernels).

Times are best-of-N wall clock after a warm-up call (the warm-up also loads the numba
kernels). The machine is shared and noisy: read the ratios, measured seconds apart, rather
than the absolute times.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from bench_readers import N, bandwidth, best  # noqa: E402

TYPES = ("Q4_0", "Q8_0", "Q4_K", "Q6_K", "IQ4_XS", "MXFP4")


def make_blocks(type_name: str, rng: np.random.Generator) -> np.ndarray:
    """(N, row_bytes) blocks: gguf-py's quantizer where it has one, else random blocks with
    finite half-precision fields (the scales) and MXFP4 exponents near 127."""
    import gguf

    qtype = gguf.GGMLQuantizationType[type_name]
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    if type_name in ("Q4_0", "Q8_0", "MXFP4"):
        weights = rng.normal(0, 0.02, size=(N, N)).astype(np.float32)
        return gguf.quants.quantize(weights, qtype).view(np.uint8).reshape(N, -1)
    raw = rng.integers(0, 256, size=(N * N // block, size), dtype=np.uint8)
    halves = {"Q4_K": (0, 2), "Q6_K": (208,), "IQ4_XS": (0,)}[type_name]
    for start in halves:
        scales = rng.uniform(1e-4, 2e-3, size=raw.shape[0]).astype("<f2")
        raw[:, start:start + 2] = scales.view(np.uint8).reshape(-1, 2)
    return raw.reshape(N, -1)


def bench(repeat: int, bw: dict[str, float]) -> list[dict[str, object]]:
    import gguf

    from qformat.readers.gguf import read_gguf

    rng = np.random.default_rng(0)
    roof_gbps = min(bw["write_GBps"], bw["read_GBps"])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.gguf"
        w = gguf.GGUFWriter(path, "llama")
        blocks = {}
        for type_name in TYPES:
            blocks[type_name] = make_blocks(type_name, rng)
            w.add_tensor(type_name, blocks[type_name],
                         raw_dtype=gguf.GGMLQuantizationType[type_name])
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        with read_gguf(path) as model:
            for type_name in TYPES:
                qt = model.raw(type_name)
                if not np.array_equal(qt.dequantize().view(np.uint32),
                                      model.get(type_name).view(np.uint32)):
                    raise SystemExit(f"{type_name}: raw() does not decode like get()")
                qtype = gguf.GGMLQuantizationType[type_name]
                raw_blocks = blocks[type_name]
                t_raw = best(lambda n=type_name: model.raw(n), repeat)
                t_get = best(lambda n=type_name: model.get(n), repeat)
                t_ggufpy = best(lambda b=raw_blocks, q=qtype: gguf.quants.dequantize(b, q),
                                max(2, repeat // 3))
                t_decode = best(qt.dequantize, repeat)
                moved = raw_blocks.nbytes + qt.nbytes
                roof = moved / (roof_gbps * 1e9)
                rows.append({
                    "type": type_name, "raw_ms": t_raw * 1e3, "get_ms": t_get * 1e3,
                    "ggufpy_dequantize_ms": t_ggufpy * 1e3,
                    "raw_vs_ggufpy": t_ggufpy / t_raw, "raw_vs_get": t_get / t_raw,
                    "raw_Mweights_per_s": N * N / t_raw / 1e6,
                    "roofline_ms": roof * 1e3, "roofline_fraction": roof / t_raw,
                    "bitpack_dequantize_ms": t_decode * 1e3,
                    "gguf_bits_per_weight": raw_blocks.nbytes * 8 / (N * N),
                    "bitpack_bits_per_weight": qt.bits_per_weight,
                })
                del qt
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed repetitions (best of)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    bw = bandwidth(args.repeat)
    rows = bench(args.repeat, bw)
    if args.json:
        print(json.dumps({"machine": {"cpus": os.cpu_count(), **bw},
                          "raw_4096x4096": rows}, indent=1))
        return
    print(f"bandwidth ({bw['threads']} threads): write {bw['write_GBps']:.1f} GB/s, "
          f"read {bw['read_GBps']:.1f} GB/s")
    print("model.raw(name) of a 4096x4096 tensor -> bitpack QTensor; baselines in the same run: "
          "gguf-py dequantize (numpy) and model.get (qformat kernels)")
    print(f"{'type':7} {'raw ms':>8} {'Mw/s':>6} {'gguf-py ms':>10} {'vs gguf-py':>10} "
          f"{'get ms':>7} {'vs get':>7} {'%roof':>6} {'decode ms':>9} {'bpw gguf->qf':>13}")
    for r in rows:
        print(f"{r['type']:7} {r['raw_ms']:8.1f} {r['raw_Mweights_per_s']:6.0f} "
              f"{r['ggufpy_dequantize_ms']:10.1f} {r['raw_vs_ggufpy']:9.2f}x "
              f"{r['get_ms']:7.1f} {r['raw_vs_get']:6.2f}x {r['roofline_fraction'] * 100:5.1f}% "
              f"{r['bitpack_dequantize_ms']:9.1f} "
              f"{r['gguf_bits_per_weight']:5.3g} -> {r['bitpack_bits_per_weight']:.4g}")


if __name__ == "__main__":
    main()
