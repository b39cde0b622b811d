"""Benchmark the ONNX reader: open/inspect and dequantization, as ratios to baselines measured
in the same run, plus the fraction of the memory-bandwidth roofline measured at start.

Baselines: ``onnx.load`` (parsing, what any ONNX tool pays), onnxruntime's DequantizeLinear
kernel (the peer: a C++ dequantizer) on the same initializers, and a straightforward numpy
decode (``onnx.numpy_helper.to_array`` + broadcasting). Timings are the best of ``--reps``
runs; the machine is shared, so read the ratios, not the absolute times.

    python tools/bench_onnx.py [--k 4096] [--n 4096] [--reps 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import qformat

MS = "com.microsoft"


def best(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def best_pair(f, g, reps: int) -> tuple[float, float]:
    """Best times of ``f`` and ``g`` measured alternately (machine drift hits both alike)."""
    tf, tg = [], []
    for _ in range(reps):
        for fn, acc in ((f, tf), (g, tg)):
            t0 = time.perf_counter()
            fn()
            acc.append(time.perf_counter() - t0)
    return min(tf), min(tg)


def roofline_gbps(reps: int) -> float:
    """Copy bandwidth (read + write bytes per second) of a 256 MiB buffer."""
    src = np.ones(32 << 20, dtype=np.float64)
    dst = np.empty_like(src)
    t = best(lambda: np.copyto(dst, src), reps)
    return 2 * src.nbytes / t / 1e9


def build_models(folder: Path, K: int, N: int) -> dict[str, tuple[Path, str, int]]:
    """Three weights of K x N: MatMulNBits 4-bit b32 asym, blocked int4 QDQ, int8 per-channel."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    r = np.random.default_rng(0)
    B = 32
    kb = K // B
    out: dict[str, tuple[Path, str, int]] = {}

    def save(name, nodes, inits, ms=False):
        g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", 1, None)],
                              [helper.make_tensor_value_info("y", 1, None)], inits)
        ops = [helper.make_opsetid("", 21)] + ([helper.make_opsetid(MS, 1)] if ms else [])
        m = helper.make_model(g, opset_imports=ops)
        m.ir_version = 10
        p = folder / f"{name}.onnx"
        onnx.save(m, p)
        return p

    codes = r.integers(0, 16, size=(N, K), dtype=np.uint8)
    packed = (codes[:, 0::2] | (codes[:, 1::2] << 4)).reshape(N, kb, B // 2)
    scales = (r.standard_normal((N, kb)) * 0.02).astype(np.float32)
    zp = r.integers(0, 16, size=(N, kb), dtype=np.uint8)
    zpk = zp[:, 0::2] | (zp[:, 1::2] << 4)
    p = save("nbits", [helper.make_node("MatMulNBits", ["x", "wq", "ws", "wz"], ["y"],
                                        domain=MS, K=K, N=N, bits=4, block_size=B)],
             [numpy_helper.from_array(packed, "wq"), numpy_helper.from_array(scales, "ws"),
              numpy_helper.from_array(zpk, "wz")], ms=True)
    out["matmulnbits int4 b32"] = (p, "wq", packed.nbytes + scales.nbytes + zpk.nbytes)
    # the same weights as a blocked int4 QDQ (DequantizeLinear axis 0, block 32) on [K, N]
    codes_kn = np.ascontiguousarray(codes.T).reshape(-1)
    u4 = helper.make_tensor("dq_q", TensorProto.UINT4, [K, N],
                            (codes_kn[0::2] | (codes_kn[1::2] << 4)).tobytes(), raw=True)
    zkn = np.ascontiguousarray(zp.T).reshape(-1)
    u4z = helper.make_tensor("dq_z", TensorProto.UINT4, [kb, N],
                             (zkn[0::2] | (zkn[1::2] << 4)).tobytes(), raw=True)
    p = save("qdq_blocked", [helper.make_node("DequantizeLinear", ["dq_q", "dq_s", "dq_z"],
                                              ["w"], axis=0, block_size=B),
                             helper.make_node("MatMul", ["x", "w"], ["y"])],
             [u4, numpy_helper.from_array(np.ascontiguousarray(scales.T), "dq_s"), u4z])
    out["qdq uint4 blocked b32"] = (p, "dq_q", K * N // 2 + scales.nbytes + kb * N // 2)
    q8 = r.integers(-127, 128, size=(N, K), dtype=np.int8)
    s8 = (r.random(N) * 0.01).astype(np.float32)
    p = save("qdq_int8", [helper.make_node("DequantizeLinear", ["w8", "s8", "z8"], ["w"], axis=0),
                          helper.make_node("MatMul", ["x", "w"], ["y"])],
             [numpy_helper.from_array(q8, "w8"), numpy_helper.from_array(s8, "s8"),
              numpy_helper.from_array(np.zeros(N, np.int8), "z8")])
    out["qdq int8 per-channel"] = (p, "w8", q8.nbytes + s8.nbytes + N)
    return out


def ort_dequantize(path: Path, name: str):
    """A session computing just the DequantizeLinear of ``name`` (None for MatMulNBits)."""
    import onnx
    import onnxruntime as ort
    from onnx import helper

    m = onnx.load(path)
    dq = [n for n in m.graph.node if n.op_type == "DequantizeLinear" and n.input[0] == name]
    if not dq:
        return None
    g = helper.make_graph([dq[0]], "dq", [], [helper.make_tensor_value_info(dq[0].output[0], 1,
                                                                            None)],
                          list(m.graph.initializer))
    mm = helper.make_model(g, opset_imports=m.opset_import)
    mm.ir_version = m.ir_version
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(mm.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return lambda: sess.run(None, {})


def numpy_naive(path: Path, name: str):
    """onnx.numpy_helper.to_array + numpy broadcasting, the obvious implementation."""
    import onnx
    from onnx import numpy_helper

    m = onnx.load(path)
    inits = {t.name: t for t in m.graph.initializer}
    node = next(n for n in m.graph.node if name in n.input)
    if node.op_type == "MatMulNBits":
        a = {x.name: onnx.helper.get_attribute_value(x) for x in node.attribute}
        K, N, B = a["K"], a["N"], a["block_size"]

        def run():
            b = numpy_helper.to_array(inits[node.input[1]]).reshape(N, -1)
            q = np.stack([b & 15, b >> 4], -1).reshape(N, -1)[:, :K].astype(np.float32)
            s = numpy_helper.to_array(inits[node.input[2]]).reshape(N, -1)
            zb = numpy_helper.to_array(inits[node.input[3]]).reshape(N, -1)
            z = np.stack([zb & 15, zb >> 4], -1).reshape(N, -1)[:, : s.shape[1]]
            return ((q - np.repeat(z, B, 1)[:, :K]) * np.repeat(s, B, 1)[:, :K]).T
        return run
    axis = next((x.i for x in node.attribute if x.name == "axis"), 1)
    block = next((x.i for x in node.attribute if x.name == "block_size"), 0)

    def run():
        q = numpy_helper.to_array(inits[node.input[0]]).astype(np.int32)
        s = numpy_helper.to_array(inits[node.input[1]])
        z = numpy_helper.to_array(inits[node.input[2]]).astype(np.int32)
        if block:
            s = np.repeat(s, block, axis)
            z = np.repeat(z, block, axis)
        else:
            shape = [1] * q.ndim
            shape[axis] = -1
            s, z = s.reshape(shape), z.reshape(shape)
        return (q - z).astype(np.float32) * s
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--k", type=int, default=4096)
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    import onnx

    bw = roofline_gbps(args.reps)
    print(f"roofline (numpy copy of 256 MiB, read+write): {bw:.1f} GB/s")
    print(f"cores: {os.cpu_count()}  K={args.k} N={args.n}  best of {args.reps}; "
          "shared machine: ratios, not absolute times")
    with tempfile.TemporaryDirectory() as tmp:
        models = build_models(Path(tmp), args.k, args.n)
        print("\n== open + inspect (every TensorInfo and the model label) vs onnx.load ==")
        for label, (path, _, _) in models.items():
            def ours(p=path):
                with qformat.open(p) as m:
                    for k in m.keys():
                        m.info(k)
                    m.quantization()
            t_ours, t_onnx = best_pair(ours, lambda p=path: onnx.load(p), args.reps)
            print(f"{label:24s} qformat {t_ours * 1e3:7.1f} ms   onnx.load {t_onnx * 1e3:7.1f} ms"
                  f"   ratio {t_ours / t_onnx:5.2f}x  ({path.stat().st_size / 2**20:.1f} MiB)")
        print("\n== get(): dequantize one weight to float32 ==")
        for label, (path, name, in_bytes) in models.items():
            m = qformat.open(path)
            m.get(name)
            naive = numpy_naive(path, name)
            t_ours, t_np = best_pair(lambda m=m, n=name: m.get(n), naive, args.reps)
            out_bytes = args.k * args.n * 4
            gbps = (in_bytes + out_bytes) / t_ours / 1e9
            line = (f"{label:24s} qformat {t_ours * 1e3:7.1f} ms  {gbps:5.2f} GB/s = "
                    f"{gbps / bw:5.1%} of roofline")
            line += f" | numpy naive {t_np * 1e3:7.1f} ms ({t_np / t_ours:4.2f}x ours)"
            ort_fn = ort_dequantize(path, name)
            if ort_fn is not None:
                ort_fn()
                _, t_ort = best_pair(lambda m=m, n=name: m.get(n), ort_fn, args.reps)
                line += f" | onnxruntime 1 thread {t_ort * 1e3:7.1f} ms ({t_ort / t_ours:4.2f}x)"
            print(line)
            tracemalloc.start()
            m.get(name)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"{'':24s} peak allocation during get: {peak / out_bytes:4.2f}x the output")


if __name__ == "__main__":
    main()
