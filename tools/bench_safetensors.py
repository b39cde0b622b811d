"""Benchmark the safetensors reader: header listing and per-scheme dequantization.

    /work/venv/bin/python tools/bench_safetensors.py [--size 4096] [--tensors 20000]

Everything is measured in this run: a memory-bandwidth roofline (numpy copy), the reference
``safetensors`` package listing the same header, and a numpy float16->float32 conversion of
the same element count as the simplest "dequantization" baseline. Timings are best of N on a
shared machine, so treat them as noisy; the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout


def best(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def roofline_gbps() -> float:
    """Bytes read + written per second by a large numpy copy."""
    a = np.ones(64 << 20, dtype=np.float32)  # 256 MiB
    b = np.empty_like(a)
    t = best(lambda: np.copyto(b, a))
    return 2 * a.nbytes / t / 1e9


def write_many(path: Path, n: int, modules: bool) -> None:
    """A header of ``n`` tiny tensors (or n/4 GPTQ-shaped modules), written directly."""
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    pos = 0
    if modules:
        parts = (("qweight", "I32", [4, 8], 128), ("qzeros", "I32", [1, 1], 4),
                 ("scales", "F16", [1, 8], 16), ("g_idx", "I32", [32], 128))
        for i in range(n // 4):
            for suffix, dtype, shape, size in parts:
                header[f"model.layers.{i}.proj.{suffix}"] = {
                    "dtype": dtype, "shape": shape, "data_offsets": [pos, pos + size]}
                pos += size
    else:
        for i in range(n):
            header[f"model.layers.{i // 10}.tensor_{i % 10}.weight"] = {
                "dtype": "F16", "shape": [4], "data_offsets": [pos, pos + 8]}
            pos += 8
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw + bytes(pos))


def bench_headers(tmp: Path, n: int) -> None:
    from safetensors import safe_open

    from qformat.readers.safetensors import read_safetensors

    for modules in (False, True):
        path = tmp / f"many_{modules}.safetensors"
        write_many(path, n, modules)
        if modules:
            (tmp / "config.json").write_text(json.dumps({"quantization_config": {
                "quant_method": "gptq", "bits": 4, "group_size": 32, "sym": True}}))

        def ours(path: Path = path) -> None:
            with read_safetensors(path) as model:
                for k in list(model):
                    model.info(k)

        def ref(path: Path = path) -> None:
            with safe_open(str(path), "numpy") as f:
                for k in list(f.keys()):
                    s = f.get_slice(k)
                    s.get_shape()
                    s.get_dtype()

        def open_only(path: Path = path) -> None:
            read_safetensors(path).close()

        t_open, t_ours, t_ref = best(open_only), best(ours), best(ref)
        what = f"{n // 4} GPTQ modules ({n} tensors)" if modules else f"{n} plain tensors"
        print(f"header, {what}: qformat open (parse + validate + detect) {t_open * 1e3:.0f} ms,"
              f" + info() of every tensor {t_ours * 1e3:.0f} ms; safetensors safe_open "
              f"(keys + shape/dtype) {t_ref * 1e3:.0f} ms; ratio {t_ours / t_ref:.1f}x")
        (tmp / "config.json").unlink(missing_ok=True)


def make_schemes(tmp: Path, size: int) -> dict[str, tuple[Path, str]]:
    """One 4-bit [size, size] module per scheme (random codes), written with safetensors."""
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    out, inn = size, size
    words = lambda *shape: rng.integers(0, 2**32, shape, dtype=np.uint64).astype(  # noqa: E731
        np.uint32).view(np.int32)
    f16 = lambda *shape: (rng.random(shape) * 0.01).astype(np.float16)  # noqa: E731
    g = inn // 128
    cases = {
        "gptq-int4-g128": ({"m.qweight": words(inn // 8, out), "m.qzeros": words(g, out // 8),
                            "m.scales": f16(g, out),
                            "m.g_idx": (np.arange(inn) // 128).astype(np.int32)},
                           {"quant_method": "gptq", "bits": 4, "group_size": 128}),
        "awq-gemm-int4-g128": ({"m.qweight": words(inn, out // 8),
                                "m.qzeros": words(g, out // 8), "m.scales": f16(g, out)},
                               {"quant_method": "awq", "bits": 4, "group_size": 128,
                                "version": "gemm"}),
        "ct-pack-int4-g128": ({"m.weight_packed": words(out, inn // 8),
                               "m.weight_scale": f16(out, g),
                               "m.weight_shape": np.array([out, inn], np.int64)},
                              {"quant_method": "compressed-tensors", "format": "pack-quantized",
                               "version": "0.19.0"}),
        "mlx-int4-g64": ({"m.weight": words(out, inn // 8).view(np.uint32),
                          "m.scales": f16(out, inn // 64), "m.biases": f16(out, inn // 64)},
                         None),
        "hqq-int4-g64": ({"m.W_q": rng.integers(0, 256, (out * inn // 128, 64), dtype=np.uint8),
                          "m.scale": f16(out * inn // 64, 1), "m.zero": f16(out * inn // 64, 1),
                          "m.shape": np.array([out, inn], np.int64),
                          "m.nbits": np.array(4, np.int32),
                          "m.group_size": np.array(64, np.int32),
                          "m.axis": np.array(1, np.int32),
                          "m.packing": np.frombuffer(b"4bit_u8", np.uint8)}, None),
        "bnb-nf4": ({"m.weight": rng.integers(0, 256, (out * inn // 2, 1), dtype=np.uint8),
                     "m.weight.absmax": rng.random(out * inn // 64).astype(np.float32),
                     "m.weight.quant_map": np.linspace(-1, 1, 16, dtype=np.float32),
                     "m.weight.quant_state.bitsandbytes__nf4": np.frombuffer(json.dumps(
                         {"quant_type": "nf4", "blocksize": 64, "dtype": "float16",
                          "shape": [out, inn]}).encode(), np.uint8)}, None),
    }
    paths = {}
    for name, (tensors, qc) in cases.items():
        d = tmp / name
        d.mkdir()
        save_file(tensors, str(d / "model.safetensors"))
        if qc is not None:
            (d / "config.json").write_text(json.dumps({"quantization_config": qc}))
        paths[name] = (d, "m.weight")
    return paths


def bench_dequant(tmp: Path, size: int, roof: float) -> None:
    import qformat

    src = np.random.default_rng(1).random((size, size)).astype(np.float16)
    t_base = best(lambda: src.astype(np.float32))
    print(f"baseline numpy float16->float32 of {size}x{size}: {t_base * 1e3:.1f} ms")
    for name, (path, tensor) in make_schemes(tmp, size).items():
        with qformat.open(path) as model:
            info = model.info(tensor)
            t = best(lambda model=model, tensor=tensor: model.get(tensor))
        moved = info.nbytes + size * size * 4  # packed bytes read + float32 written
        gbps = moved / t / 1e9
        print(f"get {name:20s} {t * 1e3:7.1f} ms  {gbps:5.2f} GB/s = {gbps / roof:5.1%} of "
              f"roofline; {t / t_base:4.1f}x the fp16->fp32 baseline time")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--tensors", type=int, default=20000)
    args = ap.parse_args()
    roof = roofline_gbps()
    print(f"memory roofline (numpy copy, read+write): {roof:.1f} GB/s; cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        bench_headers(Path(tmp), args.tensors)
        bench_dequant(Path(tmp), args.size, roof)


if __name__ == "__main__":
    main()
