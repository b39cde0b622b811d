"""The jitted bodies run as plain Python under NUMBA_DISABLE_JIT=1 and give the same results
(DESIGN §5: one run keeps the Python bodies honest; here on small shapes, in a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import sys
import numpy as np
sys.path.insert(0, "tests/bitpack")
from conftest import MODE_CASES, make_parts
from qformat.kernels import bitpack as kern
from qformat.kernels._ref import bitpack as ref
import numba
assert numba.config.DISABLE_JIT
checked = 0
for bits in (2, 3, 4, 5, 8):
    for i, (zero, sdt, zdt, levels) in enumerate(MODE_CASES):
        kw = make_parts(bits, 3, 37 if i % 2 else 48, 8, zero=zero, scale_dtype=sdt,
                        zero_dtype=zdt, levels=levels, perm=i % 3 == 0, seed=i)["kwargs"]
        for out_dtype in ("F32", "F16"):
            a = kern.dequantize(**kw, out_dtype=out_dtype)
            b = ref.dequantize(**kw, out_dtype=out_dtype)
            assert a.tobytes() == b.tobytes(), (bits, zero, out_dtype)
        for batch in (1, 3):
            x = np.random.default_rng(batch).standard_normal((batch, kw["k"])).astype(np.float32)
            y, want = kern.linear(x, **kw), ref.linear(x, **kw)
            assert np.abs(y - want).max() <= 1e-4 * max(np.abs(want).max(), 1e-30), (bits, zero)
        assert np.array_equal(kern.unpack_codes(kw["codes"], bits, kw["k"]),
                              ref.unpack_codes(kw["codes"], bits, kw["k"]))
        checked += 1
print(checked)
"""


def test_kernels_as_plain_python_match_the_reference():
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout.split()[-1]) == 45
