"""Bit reinterpretation between uint32 and float32 inside jitted kernels (LLVM bitcasts).

numba has no scalar ``view``; these intrinsics compile to a plain ``bitcast``, so loops that use
them still vectorize. Under ``NUMBA_DISABLE_JIT=1`` they fall back to numpy views, so the
kernel bodies keep running as plain Python.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import config, types
from numba.extending import intrinsic

__all__ = ["f32_as_u32", "u32_as_f32"]


@intrinsic
def u32_as_f32(typingctx, bits):  # type: ignore[no-untyped-def]
    """Reinterpret uint32 bits as a float32."""
    if bits != types.uint32:
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.uint32), codegen


@intrinsic
def f32_as_u32(typingctx, value):  # type: ignore[no-untyped-def]
    """Reinterpret a float32's bits as a uint32."""
    if value != types.float32:
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.IntType(32))

    return types.uint32(types.float32), codegen


if config.DISABLE_JIT:  # plain-Python bodies (NUMBA_DISABLE_JIT=1 test run): numpy views

    def u32_as_f32(bits):  # type: ignore[no-untyped-def]
        return np.array(bits, dtype=np.uint32).view(np.float32)[()]

    def f32_as_u32(value):  # type: ignore[no-untyped-def]
        return np.array(value, dtype=np.float32).view(np.uint32)[()]
