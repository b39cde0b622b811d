"""Scalar IEEE half -> float32 for the sparse kernels: ``half_bits_to_f32(h)``.

The batch-1 sparse GEMV decodes the second-order statistics (F16 bit patterns stored
``[group, row]``) a few values per group and tile, so the loop cannot be vectorized over
contiguous halves. LLVM's ``fpext half -> float`` is one ``vcvtph2ps`` on x86 with F16C (and
one instruction on AArch64) instead of the dozen integer operations of a portable conversion;
it is exact for every half, subnormals included. Use it only where
:data:`qformat.kernels._simd.HALF_LOADS_NATIVE` is true: elsewhere LLVM would call a
soft-float helper per value.

With ``NUMBA_DISABLE_JIT=1`` the same name is a small numpy function with the same result.
"""

from __future__ import annotations

import numpy as np
from numba import config, types

__all__ = ["half_bits_to_f32"]

if config.DISABLE_JIT:

    def half_bits_to_f32(h: int) -> np.float32:
        """float32 value of the IEEE half with bit pattern ``h``."""
        return np.float32(np.array([h], dtype=np.uint16).view(np.float16)[0])

else:
    from llvmlite import ir
    from numba.extending import intrinsic

    @intrinsic
    def half_bits_to_f32(typingctx, h):  # type: ignore[no-untyped-def]
        """float32 value of the IEEE half with bit pattern ``h`` (a uint16)."""
        if h != types.uint16:
            return None

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            half = builder.bitcast(args[0], ir.HalfType())
            return builder.fpext(half, ir.FloatType())

        return types.float32(h), codegen
