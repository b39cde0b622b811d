"""AQLM's own CPU path against ours, in one process: the peer baseline of the codebook GEMV.

AQLM (``aqlm`` on PyPI) has no CPU kernel for 16-bit codebooks: on CPU a 1x16 layer decodes its
weight with ``torch.nn.functional.embedding_bag`` (one bag of ``M`` codebook rows per group,
summed), scales it, and calls ``F.linear``. This script rebuilds that path in torch from its
description (no ``aqlm`` import: the package pulls CUDA/triton requirements) and times it
against ``QTensor.linear`` on the same codes, codebooks and scales, for 4096x4096 layers and
each thread count (torch and numba limited to it), interleaving the two in every round.

Needs an interpreter with torch and qformat's dependencies (torch is never a qformat
dependency), e.g. ``/path/to/venv-with-torch/bin/python tools/bench_aqlm_torch.py``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def torch_path(torch, x, codes, books, scales, out_features, in_features):  # type: ignore[no-untyped-def]
    """AQLM's CPU forward for og=1: embedding_bag decode, per-row scales, F.linear."""
    m, size, og, ig = books.shape
    flat = books.reshape(m * size, og * ig)
    offsets = torch.arange(m, dtype=codes.dtype) * size
    index = (codes + offsets).reshape(-1, m)  # one bag of M rows per (row group, input group)
    decoded = torch.nn.functional.embedding_bag(index, flat, mode="sum")
    weight = decoded.reshape(out_features, in_features) * scales.reshape(-1, 1)
    return torch.nn.functional.linear(x, weight)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--configs", default="1x16,2x8")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is None:
        import subprocess

        for t in args.threads.split(","):
            env = {**os.environ, "NUMBA_NUM_THREADS": t, "OMP_NUM_THREADS": t,
                   "OPENBLAS_NUM_THREADS": t, "MKL_NUM_THREADS": t}
            subprocess.run([sys.executable, __file__, "--child", t, "--rounds", str(args.rounds),
                            "--configs", args.configs], env=env, check=True)
        return 0

    import torch

    from qformat.layouts.codebook import from_aqlm

    torch.set_num_threads(int(args.child))
    rng = np.random.default_rng(0)
    out_f = in_f = 4096
    print(f"== 4096x4096, {args.child} thread(s), torch {torch.__version__} "
          f"({torch.get_num_threads()} threads); medians (best) of {args.rounds} rounds")
    for name in args.configs.split(","):
        m, bits = (int(v) for v in name.split("x"))
        ig = 8
        codes = rng.integers(0, 1 << bits, (out_f, in_f // ig, m))
        books = (rng.standard_normal((m, 1 << bits, 1, ig)) * 0.05).astype(np.float32)
        scales = rng.uniform(0.5, 2, (out_f, 1, 1, 1)).astype(np.float32)
        stored = codes.astype(np.int16 if bits == 16 else np.int8, casting="unsafe") \
            if bits in (8, 16) else codes
        qt = from_aqlm(stored, books.astype(np.float16), scales.astype(np.float16),
                       in_group_size=ig, out_group_size=1, num_codebooks=m,
                       nbits_per_codebook=bits)
        # torch side gets the same (float16-rounded) values, in float32 as AQLM runs on CPU
        t_codes = torch.from_numpy(codes.astype(np.int64))
        t_books = torch.from_numpy(books.astype(np.float16).astype(np.float32))
        t_scales = torch.from_numpy(scales.astype(np.float16).astype(np.float32))
        x = rng.standard_normal((1, in_f)).astype(np.float32)
        tx = torch.from_numpy(x)
        with torch.inference_mode():
            want = torch_path(torch, tx, t_codes, t_books, t_scales, out_f, in_f).numpy()
            got = qt.linear(x)
            err = float(np.abs(got - want).max() / np.abs(want).max())
            ours, peer = [], []
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                qt.linear(x)
                t1 = time.perf_counter()
                torch_path(torch, tx, t_codes, t_books, t_scales, out_f, in_f)
                t2 = time.perf_counter()
                ours.append((t1 - t0) * 1e3)
                peer.append((t2 - t1) * 1e3)
        ratios = [p / o for p, o in zip(peer, ours, strict=True)]
        print(f"{name} g8 batch 1: qformat {statistics.median(ours):.2f} ms ({min(ours):.2f}) | "
              f"AQLM torch CPU path {statistics.median(peer):.1f} ms ({min(peer):.1f}) | "
              f"ratio {statistics.median(ratios):.1f}x (median of per-round ratios) | "
              f"max rel. diff {err:.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
