"""The only place that calls ``numba.njit``: one policy for caching, threads and fast-math.

* every kernel is a top-level function compiled with ``cache=True`` (factory-made closures
  never hit numba's cache, see ../shared notes), ``nogil=True`` and no bounds checks, so the
  public wrappers must validate shapes, dtypes and index ranges first;
* ``exact`` kernels (dequantization) never use fast-math, so results are bit-identical to the
  numpy references (no fused multiply-add contraction, no reassociation);
* ``fast`` kernels (dot products, matmuls) allow reassociation so that reductions vectorize;
  they are compared to references with a tolerance.

``NUMBA_DISABLE_JIT=1`` turns every kernel into plain Python (used by one CI run to keep the
bodies honest).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numba

F = TypeVar("F", bound=Callable[..., Any])

#: fast-math flags for reductions (no 'nnan'/'ninf': NaN inputs must propagate, not vanish)
FAST_FLAGS = frozenset({"reassoc", "nsz", "arcp", "contract"})


def exact(fn: F | None = None, *, parallel: bool = False, inline: str = "never") -> Any:
    """Compile a bit-exact kernel (no fast-math).

    ``inline="always"`` inlines a small helper into its callers at numba-IR level (LLVM does
    not inline numba's calls reliably: each costs a call with exploded array arguments).
    """
    deco = numba.njit(cache=True, nogil=True, parallel=parallel, fastmath=False,
                      error_model="numpy", boundscheck=False, inline=inline)
    return deco if fn is None else deco(fn)


def fast(fn: F | None = None, *, parallel: bool = False, inline: str = "never") -> Any:
    """Compile a kernel whose reductions may be reassociated (tolerance-compared)."""
    deco = numba.njit(cache=True, nogil=True, parallel=parallel, fastmath=set(FAST_FLAGS),
                      error_model="numpy", boundscheck=False, inline=inline)
    return deco if fn is None else deco(fn)


prange = numba.prange
