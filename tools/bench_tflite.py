"""TFLite reader speed, as ratios against baselines measured in the same run.

1. Roofline: numpy copy bandwidth (bytes read + written per second) on 256 MiB arrays.
2. Header: open a model with many quantized tensors and describe every tensor (what
   ``qformat inspect`` does), against walking the same fields with the ``tflite`` package's
   generated accessors (no bounds checks: the peer qformat replaces).
3. Dequantization (``Model.get``) of 4096 x 4096 weights stored after the flatbuffer
   (``Buffer.offset``): INT8 per-axis, INT4 per-axis, INT4 blockwise (block 32, FLOAT16 scale
   tensor), FLOAT16; against a minimal numpy expression on codes already in memory, and as a
   fraction of the copy roofline for the bytes ``get`` must move (stored bytes read + float32
   written).

The machine is shared: numbers are medians of a few runs and vary by tens of percent.
Usage: python tools/bench_tflite.py [--dim 4096] [--tensors 3000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qformat.readers.tflite import read_tflite  # noqa: E402


def median_time(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def copy_bandwidth(repeat: int) -> float:
    a = np.ones(1 << 26, dtype=np.float32)  # 256 MiB
    b = np.empty_like(a)
    t = median_time(lambda: np.copyto(b, a), repeat)
    return 2 * a.nbytes / t


# --------------------------------------------------------------------------------------------
# a model writer (flatbuffers builder + the tflite package's builder functions)
# --------------------------------------------------------------------------------------------
class Spec:
    def __init__(self, name, shape, ttype, data: bytes, scale=None, zp=None, qdim=0,
                 blockwise=None):
        self.name, self.shape, self.ttype, self.data = name, shape, ttype, data
        self.scale, self.zp, self.qdim, self.blockwise = scale, zp, qdim, blockwise


def write_model(path: Path, specs: list[Spec], offsets: bool) -> None:
    import flatbuffers
    import tflite

    b = flatbuffers.Builder(1 << 20)
    tail = bytearray()
    buf_offsets = []
    # buffers: 0 empty, then one per tensor
    buffer_tables = []
    for spec in specs:
        if offsets:
            tflite.BufferStart(b)
            tflite.BufferAddOffset(b, len(tail) + 1)  # patched to absolute below
            tflite.BufferAddSize(b, len(spec.data))
            buffer_tables.append(tflite.BufferEnd(b))
            buf_offsets.append(len(tail))
            tail += spec.data
            tail += bytes(-len(tail) % 64)
        else:
            vec = b.CreateNumpyVector(np.frombuffer(spec.data, dtype=np.uint8))
            tflite.BufferStart(b)
            tflite.BufferAddData(b, vec)
            buffer_tables.append(tflite.BufferEnd(b))
    tflite.BufferStart(b)
    empty = tflite.BufferEnd(b)
    tflite.ModelStartBuffersVector(b, len(specs) + 1)
    for t in reversed([empty, *buffer_tables]):
        b.PrependUOffsetTRelative(t)
    buffers = b.EndVector()
    tensors = []
    for i, spec in enumerate(specs):
        name = b.CreateString(spec.name)
        shape = b.CreateNumpyVector(np.asarray(spec.shape, dtype=np.int32))
        quant = None
        if spec.scale is not None:
            sc = b.CreateNumpyVector(np.asarray(spec.scale, dtype=np.float32))
            zp = b.CreateNumpyVector(np.asarray(spec.zp, dtype=np.int64))
            tflite.QuantizationParametersStart(b)
            tflite.QuantizationParametersAddScale(b, sc)
            tflite.QuantizationParametersAddZeroPoint(b, zp)
            tflite.QuantizationParametersAddQuantizedDimension(b, spec.qdim)
            quant = tflite.QuantizationParametersEnd(b)
        elif spec.blockwise is not None:
            scales_index, block = spec.blockwise
            b.StartObject(3)  # BlockwiseQuantization {scales, zero_points, block_size}
            b.PrependInt32Slot(0, scales_index, 0)
            b.PrependInt32Slot(1, -1, 0)
            b.PrependInt32Slot(2, block, 0)
            details = b.EndObject()
            tflite.QuantizationParametersStart(b)
            tflite.QuantizationParametersAddDetailsType(b, 2)
            tflite.QuantizationParametersAddDetails(b, details)
            quant = tflite.QuantizationParametersEnd(b)
        tflite.TensorStart(b)
        tflite.TensorAddShape(b, shape)
        tflite.TensorAddType(b, spec.ttype)
        tflite.TensorAddBuffer(b, i + 1)
        tflite.TensorAddName(b, name)
        if quant is not None:
            tflite.TensorAddQuantization(b, quant)
        tensors.append(tflite.TensorEnd(b))
    tflite.SubGraphStartTensorsVector(b, len(tensors))
    for t in reversed(tensors):
        b.PrependUOffsetTRelative(t)
    tvec = b.EndVector()
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, tvec)
    sg = tflite.SubGraphEnd(b)
    tflite.ModelStartSubgraphsVector(b, 1)
    b.PrependUOffsetTRelative(sg)
    sgs = b.EndVector()
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, 3)
    tflite.ModelAddSubgraphs(b, sgs)
    tflite.ModelAddBuffers(b, buffers)
    b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
    head = bytearray(b.Output())
    if offsets:
        base = len(head) + (-len(head) % 64)
        model = tflite.Model.GetRootAs(head, 0)
        for i, rel in enumerate(buf_offsets):
            buf = model.Buffers(i + 1)
            pos = buf._tab.Pos + buf._tab.Offset(6)
            head[pos:pos + 8] = (base + rel).to_bytes(8, "little")
        head += bytes(base - len(head))
    path.write_bytes(bytes(head) + bytes(tail))


# --------------------------------------------------------------------------------------------
def bench_header(tmp: Path, n: int, repeat: int) -> None:
    import tflite

    rng = np.random.default_rng(0)
    specs = [Spec(f"model/layer_{i}/dense/MatMul", [16, 16], tflite.TensorType.INT8,
                  rng.integers(-127, 128, 256, dtype=np.int8).tobytes(),
                  scale=rng.uniform(0.01, 0.02, 16), zp=np.zeros(16, np.int64))
             for i in range(n)]
    path = tmp / "many.tflite"
    write_model(path, specs, offsets=False)

    def ours():
        with read_tflite(path) as m:
            for k in m.keys():
                m.info(k)
            m.quantization()

    def peer():
        data = path.read_bytes()
        model = tflite.Model.GetRootAs(data, 0)
        sg = model.Subgraphs(0)
        out = []
        for i in range(sg.TensorsLength()):
            t = sg.Tensors(i)
            q = t.Quantization()
            out.append((t.Name(), t.Type(), t.ShapeAsNumpy(), t.Buffer(),
                        q.ScaleAsNumpy(), q.ZeroPointAsNumpy(), q.QuantizedDimension(),
                        model.Buffers(t.Buffer()).DataLength()))
        return out

    t_ours = median_time(ours, repeat)
    t_peer = median_time(peer, repeat)
    print(f"header, {n} INT8 per-axis tensors ({path.stat().st_size / 1e6:.1f} MB):")
    print(f"  qformat open + info() all + label (bounded walk): {t_ours * 1e3:8.1f} ms")
    print(f"  tflite package accessors, same fields (no checks): {t_peer * 1e3:8.1f} ms")
    print(f"  ratio qformat / tflite package                  : {t_ours / t_peer:8.2f}x")


def bench_dequant(tmp: Path, dim: int, repeat: int, bandwidth: float) -> None:
    import tflite

    rng = np.random.default_rng(1)
    TT = tflite.TensorType
    n = dim * dim
    codes8 = rng.integers(-127, 128, (dim, dim), dtype=np.int8)
    codes4 = rng.integers(-8, 8, (dim, dim), dtype=np.int8)
    packed4 = ((codes4.reshape(-1, 2)[:, 0] & 15) | (codes4.reshape(-1, 2)[:, 1] << 4)) \
        .astype(np.uint8)
    scale = rng.uniform(0.001, 0.01, dim).astype(np.float32)
    bscales = rng.uniform(0.001, 0.01, (dim, dim // 32)).astype(np.float16)
    f16 = rng.normal(size=(dim, dim)).astype(np.float16)
    specs = [
        Spec("int8_axis", [dim, dim], TT.INT8, codes8.tobytes(), scale, np.zeros(dim)),
        Spec("int4_axis", [dim, dim], TT.INT4, packed4.tobytes(), scale, np.zeros(dim)),
        Spec("int4_block32", [dim, dim], TT.INT4, packed4.tobytes(), blockwise=(3, 32)),
        Spec("int4_block32_scales", [dim, dim // 32], TT.FLOAT16, bscales.tobytes()),
        Spec("fp16", [dim, dim], TT.FLOAT16, f16.tobytes()),
    ]
    path = tmp / "big.tflite"
    write_model(path, specs, offsets=True)

    def unpack4(raw: np.ndarray) -> np.ndarray:
        lo = (raw & 15).astype(np.int8)
        hi = (raw >> 4).astype(np.int8)
        both = np.stack([lo, hi], axis=-1).reshape(dim, dim)
        return np.where(both > 7, both - 16, both).astype(np.int8)

    baselines = {
        "int8_axis": lambda: codes8.astype(np.float32) * scale[:, None],
        "int4_axis": lambda: unpack4(packed4).astype(np.float32) * scale[:, None],
        "int4_block32": lambda: (unpack4(packed4).astype(np.float32).reshape(dim, -1, 32)
                                 * bscales.astype(np.float32)[:, :, None]).reshape(dim, dim),
        "fp16": lambda: f16.astype(np.float32),
    }
    stored = {"int8_axis": n, "int4_axis": n // 2, "int4_block32": n // 2 + bscales.nbytes,
              "fp16": 2 * n}
    print(f"dequantize {dim} x {dim} (data after the flatbuffer, {path.stat().st_size / 1e6:.0f}"
          f" MB file), copy roofline {bandwidth / 1e9:.1f} GB/s:")
    print(f"  {'tensor':14s} {'qformat ms':>10s} {'numpy ms':>9s} {'ratio':>6s} "
          f"{'GB/s':>6s} {'roofline':>8s}")
    with read_tflite(path) as m:
        for name, base in baselines.items():
            ref = base()
            np.testing.assert_array_equal(m.get(name), ref)
            t_ours = median_time(lambda name=name: m.get(name), repeat)
            t_base = median_time(base, repeat)
            moved = stored[name] + 4 * n
            print(f"  {name:14s} {t_ours * 1e3:10.1f} {t_base * 1e3:9.1f} "
                  f"{t_ours / t_base:6.2f} {moved / t_ours / 1e9:6.2f} "
                  f"{moved / t_ours / bandwidth:8.1%}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dim", type=int, default=4096)
    ap.add_argument("--tensors", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    bandwidth = copy_bandwidth(args.repeat)
    print(f"numpy copy bandwidth: {bandwidth / 1e9:.1f} GB/s (read + write, 256 MiB)")
    with tempfile.TemporaryDirectory() as tmp:
        bench_header(Path(tmp), args.tensors, args.repeat)
        bench_dequant(Path(tmp), args.dim, args.repeat, bandwidth)
    return 0


if __name__ == "__main__":
    sys.exit(main())
