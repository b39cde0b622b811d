"""Header speed: open and list a file with 20,000 tensors, .qf vs safetensors, same run.

Prints median times (and the ratio) for
  * qformat: ``qformat.open`` (preamble + header read + full validation) and ``keys()``;
  * qformat: the same plus ``info()`` for every tensor (what ``inspect`` does);
  * safetensors: ``safe_open`` + ``keys()`` (the reference reader, Rust) on the same tensors;
  * a bare ``json.loads`` of the same header text, to calibrate a noisy machine.
Usage: python tools/bench_header.py [--tensors N] [--repeat R]
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

import qformat  # noqa: E402


def median_time(fn, repeat: int) -> float:
    fn()  # warm the page cache and imports
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tensors", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)
    from safetensors import safe_open
    from safetensors.numpy import save_file

    n = args.tensors
    tensors = {f"model.layers.{i // 10}.block.{i % 10}.weight": np.full((4, 4), i % 7, np.float16)
               for i in range(n)}
    with tempfile.TemporaryDirectory() as tmp:
        qf, st = Path(tmp) / "many.qf", Path(tmp) / "many.safetensors"
        qformat.save(qf, tensors)
        save_file(tensors, str(st))

        def qf_list():
            with qformat.open(qf) as m:
                assert len(m.keys()) == n

        def qf_inspect():
            with qformat.open(qf) as m:
                for k in m.keys():
                    m.info(k)

        def st_list():
            with safe_open(str(st), framework="numpy") as f:
                assert len(list(f.keys())) == n

        import json
        import struct

        raw = qf.read_bytes()
        (hlen,) = struct.unpack_from("<Q", raw, 16)
        text = raw[32:32 + hlen].decode()

        def bare_json():
            json.loads(text)

        t_js = median_time(bare_json, args.repeat)
        t_qf = median_time(qf_list, args.repeat)
        t_qi = median_time(qf_inspect, args.repeat)
        t_st = median_time(st_list, args.repeat)
        with qformat.open(qf) as m:
            header_bytes = m.data_start
        print(f"{n} tensors: .qf header {header_bytes} bytes ({qf.stat().st_size} total), "
              f"safetensors {st.stat().st_size} total")
        print(f"bare json.loads of header  : {t_js * 1e3:8.1f} ms  (calibration: this machine now)")
        print(f"qformat open+validate+keys : {t_qf * 1e3:8.1f} ms  ({t_qf / t_js:.1f}x bare json)")
        print(f"qformat + info() per tensor: {t_qi * 1e3:8.1f} ms")
        print(f"safetensors safe_open+keys : {t_st * 1e3:8.1f} ms")
        print(f"ratio qformat/safetensors  : {t_qf / t_st:8.2f}x (open+keys)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
