"""Eight-lane float32 vectors for numba kernels (``F32x8``): load, add, fused multiply-add, sum.

numba has no vector type, and LLVM's auto-vectorizer turns a loop over codebook entries into
emulated gathers across *groups* (measured 5x slower) instead of one 8-wide load per entry. These
intrinsics emit plain LLVM vector IR (``<8 x float>`` loads, ``fadd``, ``llvm.fmuladd``), which
every LLVM target lowers natively (AVX2/FMA: one ``vmovups``/``vaddps``/``vfmadd`` each; SSE or
NEON: two 4-wide halves). They are for ``fast`` kernels only (the sums are reassociated).

* :func:`v8_load` reads 8 consecutive elements of a 1-D float32 array, or of a uint16 array
  holding IEEE half bit patterns (converted exactly: ``fpext half -> float``, one ``vcvtph2ps``
  on x86 with F16C). Use half arrays only when :data:`HALF_LOADS_NATIVE` is true: elsewhere LLVM
  would call a soft-float helper per element.
* :func:`v8_repeat` loads ``8 // times`` consecutive float32 values and repeats each ``times``
  times (one per-lane vector of group scales when a group spans 1, 2 or 4 lanes).
* :func:`half_bits_to_f32` converts one half bit pattern (uint16) to float32 the same way, for
  scalar reads that cannot be vectorized (same :data:`HALF_LOADS_NATIVE` rule).
* :func:`v8_hsum` adds the lanes in a fixed order (``((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7))``),
  so a kernel's result does not depend on anything but its inputs.

Eight-lane uint32 vectors (``I32x8``) unpack packed integer codes in registers: :func:`w8_load`
reads 32 bytes as eight little-endian 32-bit words, :func:`w8_and` / :func:`w8_shr` mask and
shift every lane by the same constant (one ``vpand`` / ``vpsrld`` each), :func:`w8_f32`
converts lanes below 2**31 to float32 exactly (``vcvtdq2ps``). :func:`w8_load3` reads 96
bytes and returns every third word (3-bit codes: lane l then holds the 96-bit unit l).

With ``NUMBA_DISABLE_JIT=1`` the same names are small numpy functions with the same semantics
(each lane rounded to float32), so the kernels still run as plain Python.
"""

from __future__ import annotations

import platform

import numpy as np
from numba import config, types

__all__ = ["HALF_LOADS_NATIVE", "half_bits_to_f32", "v8_add", "v8_fma", "v8_hsum", "v8_load",
           "v8_mul", "v8_repeat", "v8_splat", "v8_store", "v8_zero", "w8_and", "w8_f32", "w8_load",
           "w8_load3", "w8_shr"]


def _half_loads_native() -> bool:
    """True when the compile target converts half to float in hardware (x86 F16C, AArch64)."""
    machine = platform.machine().lower()
    if machine in ("aarch64", "arm64"):
        return True
    if machine not in ("x86_64", "amd64"):
        return False
    if config.CPU_FEATURES:  # NUMBA_CPU_FEATURES overrides the host's features
        return "+f16c" in config.CPU_FEATURES.split(",")
    if config.CPU_NAME and config.CPU_NAME != "host":  # e.g. "generic": no F16C assumed
        return False
    try:
        from llvmlite import binding

        return bool(binding.get_host_cpu_features().get("f16c", False))
    except Exception:  # pragma: no cover - llvmlite without host feature queries
        return False


#: Whether :func:`v8_load` of half bit patterns compiles to hardware conversions here.
HALF_LOADS_NATIVE = _half_loads_native()


if config.DISABLE_JIT:  # plain-Python semantics for NUMBA_DISABLE_JIT=1 runs

    def v8_zero() -> np.ndarray:
        return np.zeros(8, dtype=np.float32)

    def v8_load(arr: np.ndarray, index: int) -> np.ndarray:
        lanes = arr[index:index + 8]
        if lanes.dtype == np.uint16:
            return lanes.view(np.float16).astype(np.float32)
        return lanes.astype(np.float32)

    def v8_splat(value: float) -> np.ndarray:
        return np.full(8, value, dtype=np.float32)

    def v8_store(arr: np.ndarray, index: int, v: np.ndarray) -> None:
        arr[index:index + 8] = v

    def v8_add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (a + b).astype(np.float32)

    def v8_fma(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
        return (a * b + c).astype(np.float32)

    def v8_hsum(v: np.ndarray) -> np.float32:
        s4 = v[:4] + v[4:]
        s2 = s4[:2] + s4[2:]
        return np.float32(s2[0] + s2[1])

    def v8_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (a * b).astype(np.float32)

    def v8_repeat(arr: np.ndarray, index: int, times: int) -> np.ndarray:
        return np.repeat(arr[index:index + 8 // times], times).astype(np.float32)

    def w8_load(arr: np.ndarray, index: int) -> np.ndarray:
        return arr[index:index + 32].view("<u4").astype(np.uint32)

    def w8_load3(arr: np.ndarray, index: int, m: int) -> np.ndarray:
        return arr[index:index + 96].view("<u4").astype(np.uint32)[m::3].copy()

    def w8_and(v: np.ndarray, mask: int) -> np.ndarray:
        return v & np.uint32(mask)

    def w8_shr(v: np.ndarray, n: int) -> np.ndarray:
        return v >> np.uint32(n)

    def w8_f32(v: np.ndarray) -> np.ndarray:
        return v.view(np.int32).astype(np.float32)

    def half_bits_to_f32(h: int) -> np.float32:
        return np.float32(np.array([h], dtype=np.uint16).view(np.float16)[0])

else:
    from llvmlite import ir
    from numba.core import cgutils
    from numba.extending import intrinsic, models, register_model

    class F32x8Type(types.Type):
        """Eight float32 lanes held in one LLVM ``<8 x float>`` value."""

        def __init__(self) -> None:
            super().__init__(name="F32x8")

    f32x8 = F32x8Type()
    _VEC = ir.VectorType(ir.FloatType(), 8)
    _HALF_VEC = ir.VectorType(ir.HalfType(), 8)
    _I32 = ir.IntType(32)

    @register_model(F32x8Type)
    class _F32x8Model(models.PrimitiveModel):
        def __init__(self, dmm, fe_type):  # type: ignore[no-untyped-def]
            super().__init__(dmm, fe_type, _VEC)

    @intrinsic
    def v8_zero(typingctx):  # type: ignore[no-untyped-def]
        """Eight +0.0 lanes."""

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            return ir.Constant(_VEC, None)

        return f32x8(), codegen

    @intrinsic
    def v8_load(typingctx, arr, index):  # type: ignore[no-untyped-def]
        """Lanes ``arr[index:index+8]`` of a C-contiguous 1-D float32 array or uint16 array of
        half bit patterns (unchecked: the caller guarantees the range)."""
        if not (isinstance(arr, types.Array) and arr.ndim == 1 and arr.layout == "C"
                and arr.dtype in (types.float32, types.uint16)
                and isinstance(index, types.Integer)):
            return None
        half = arr.dtype == types.uint16

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            array = context.make_array(signature.args[0])(context, builder, args[0])
            i = context.cast(builder, args[1], signature.args[1], types.intp)
            ptr = builder.gep(array.data, [i])
            if half:
                lanes = builder.load(builder.bitcast(ptr, _HALF_VEC.as_pointer()), align=2)
                return builder.fpext(lanes, _VEC)
            return builder.load(builder.bitcast(ptr, _VEC.as_pointer()), align=4)

        return f32x8(arr, index), codegen

    @intrinsic
    def v8_splat(typingctx, value):  # type: ignore[no-untyped-def]
        """Eight copies of a float32 scalar."""
        if value != types.float32:
            return None

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            one = builder.insert_element(ir.Constant(_VEC, None), args[0], ir.Constant(_I32, 0))
            return builder.shuffle_vector(one, one, ir.Constant(ir.VectorType(_I32, 8), [0] * 8))

        return f32x8(value), codegen

    @intrinsic
    def v8_store(typingctx, arr, index, v):  # type: ignore[no-untyped-def]
        """``arr[index:index+8] = v`` for a C-contiguous 1-D float32 array (unchecked)."""
        if not (isinstance(arr, types.Array) and arr.ndim == 1 and arr.layout == "C"
                and arr.dtype == types.float32 and arr.mutable
                and isinstance(index, types.Integer) and v == f32x8):
            return None

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            array = context.make_array(signature.args[0])(context, builder, args[0])
            i = context.cast(builder, args[1], signature.args[1], types.intp)
            ptr = builder.gep(array.data, [i])
            builder.store(args[2], builder.bitcast(ptr, _VEC.as_pointer()), align=4)
            return context.get_dummy_value()

        return types.none(arr, index, v), codegen

    @intrinsic
    def v8_add(typingctx, a, b):  # type: ignore[no-untyped-def]
        """Lane-wise ``a + b``."""
        if a != f32x8 or b != f32x8:
            return None

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            return builder.fadd(args[0], args[1])

        return f32x8(a, b), codegen

    @intrinsic
    def v8_fma(typingctx, a, b, c):  # type: ignore[no-untyped-def]
        """Lane-wise ``a * b + c`` (fused where the target has FMA)."""
        if a != f32x8 or b != f32x8 or c != f32x8:
            return None

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(_VEC, [_VEC, _VEC, _VEC]),
                "llvm.fmuladd.v8f32")
            return builder.call(fn, list(args))

        return f32x8(a, b, c), codegen

    def _shuffle(builder, v, lanes):  # type: ignore[no-untyped-def]
        mask = ir.Constant(ir.VectorType(_I32, len(lanes)), list(lanes))
        return builder.shuffle_vector(v, v, mask)

    @intrinsic
    def v8_hsum(typingctx, v):  # type: ignore[no-untyped-def]
        """Sum of the lanes, in the fixed order ``((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7))``."""
        if v != f32x8:
            return None

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            s4 = builder.fadd(_shuffle(builder, args[0], (0, 1, 2, 3)),
                              _shuffle(builder, args[0], (4, 5, 6, 7)))
            s2 = builder.fadd(_shuffle(builder, s4, (0, 1)), _shuffle(builder, s4, (2, 3)))
            return builder.fadd(builder.extract_element(s2, ir.Constant(_I32, 0)),
                                builder.extract_element(s2, ir.Constant(_I32, 1)))

        return types.float32(v), codegen

    @intrinsic
    def v8_mul(typingctx, a, b):  # type: ignore[no-untyped-def]
        """Lane-wise ``a * b``."""
        if a != f32x8 or b != f32x8:
            return None

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            return builder.fmul(args[0], args[1])

        return f32x8(a, b), codegen

    @intrinsic(prefer_literal=True)
    def v8_repeat(typingctx, arr, index, times):  # type: ignore[no-untyped-def]
        """Lane l = ``arr[index + l // times]`` for a C-contiguous 1-D float32 array (times: a
        literal 1, 2, 4 or 8; unchecked)."""
        if not (isinstance(arr, types.Array) and arr.ndim == 1 and arr.layout == "C"
                and arr.dtype == types.float32 and isinstance(index, types.Integer)
                and isinstance(times, types.IntegerLiteral)
                and times.literal_value in (1, 2, 4, 8)):
            return None
        rep = times.literal_value
        part = ir.VectorType(ir.FloatType(), 8 // rep)

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            array = context.make_array(signature.args[0])(context, builder, args[0])
            i = context.cast(builder, args[1], signature.args[1], types.intp)
            ptr = builder.gep(array.data, [i])
            values = builder.load(builder.bitcast(ptr, part.as_pointer()), align=4)
            mask = ir.Constant(ir.VectorType(_I32, 8), [lane // rep for lane in range(8)])
            return builder.shuffle_vector(values, values, mask)

        return f32x8(arr, index, times), codegen

    class I32x8Type(types.Type):
        """Eight 32-bit integer lanes (treated as unsigned) in one LLVM ``<8 x i32>`` value."""

        def __init__(self) -> None:
            super().__init__(name="I32x8")

    i32x8 = I32x8Type()
    _IVEC = ir.VectorType(_I32, 8)

    @register_model(I32x8Type)
    class _I32x8Model(models.PrimitiveModel):
        def __init__(self, dmm, fe_type):  # type: ignore[no-untyped-def]
            super().__init__(dmm, fe_type, _IVEC)

    def _isplat(context, builder, value, value_type):  # type: ignore[no-untyped-def]
        """Eight copies of an integer scalar, truncated to 32 bits (constants fold)."""
        v = builder.trunc(context.cast(builder, value, value_type, types.int64), _I32)
        one = builder.insert_element(ir.Constant(_IVEC, None), v, ir.Constant(_I32, 0))
        return builder.shuffle_vector(one, one, ir.Constant(_IVEC, [0] * 8))

    @intrinsic
    def w8_load(typingctx, arr, index):  # type: ignore[no-untyped-def]
        """Bytes ``arr[index:index+32]`` of a C-contiguous 1-D uint8 array as eight
        little-endian 32-bit words (unchecked, unaligned; little-endian hosts only)."""
        if not (isinstance(arr, types.Array) and arr.ndim == 1 and arr.layout == "C"
                and arr.dtype == types.uint8 and isinstance(index, types.Integer)):
            return None

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            array = context.make_array(signature.args[0])(context, builder, args[0])
            i = context.cast(builder, args[1], signature.args[1], types.intp)
            ptr = builder.gep(array.data, [i])
            return builder.load(builder.bitcast(ptr, _IVEC.as_pointer()), align=1)

        return i32x8(arr, index), codegen

    @intrinsic(prefer_literal=True)
    def w8_load3(typingctx, arr, index, m):  # type: ignore[no-untyped-def]
        """Words ``m, m+3, ..., m+21`` of the 24 little-endian 32-bit words at bytes
        ``arr[index:index+96]`` (m: a literal 0, 1 or 2; unchecked, unaligned). The three calls
        of a block share one load after LLVM's common-subexpression elimination."""
        if not (isinstance(arr, types.Array) and arr.ndim == 1 and arr.layout == "C"
                and arr.dtype == types.uint8 and isinstance(index, types.Integer)
                and isinstance(m, types.IntegerLiteral) and 0 <= m.literal_value <= 2):
            return None
        first = m.literal_value
        wide = ir.VectorType(_I32, 24)

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            array = context.make_array(signature.args[0])(context, builder, args[0])
            i = context.cast(builder, args[1], signature.args[1], types.intp)
            ptr = builder.gep(array.data, [i])
            words = builder.load(builder.bitcast(ptr, wide.as_pointer()), align=1)
            mask = ir.Constant(_IVEC, [first + 3 * lane for lane in range(8)])
            return builder.shuffle_vector(words, words, mask)

        return i32x8(arr, index, m), codegen

    @intrinsic
    def w8_and(typingctx, v, mask):  # type: ignore[no-untyped-def]
        """Lane-wise ``v & mask`` (mask: an integer, the same for every lane)."""
        if v != i32x8 or not isinstance(mask, types.Integer):
            return None

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            return builder.and_(args[0], _isplat(context, builder, args[1], signature.args[1]))

        return i32x8(v, mask), codegen

    @intrinsic
    def w8_shr(typingctx, v, n):  # type: ignore[no-untyped-def]
        """Lane-wise logical ``v >> n`` (0 <= n < 32, the same for every lane)."""
        if v != i32x8 or not isinstance(n, types.Integer):
            return None

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            return builder.lshr(args[0], _isplat(context, builder, args[1], signature.args[1]))

        return i32x8(v, n), codegen

    @intrinsic
    def w8_f32(typingctx, v):  # type: ignore[no-untyped-def]
        """Lanes as float32 (signed conversion: exact for lanes below 2**24, and for larger
        lanes below 2**31 with at most 24 significant bits)."""
        if v != i32x8:
            return None

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            return builder.sitofp(args[0], _VEC)

        return f32x8(v), codegen

    @intrinsic
    def half_bits_to_f32(typingctx, h):  # type: ignore[no-untyped-def]
        """float32 value of the IEEE half with bit pattern ``h`` (a uint16): ``fpext``, one
        ``vcvtph2ps`` with F16C, exact for every half. For scalar reads that cannot be
        vectorized over contiguous halves; only where :data:`HALF_LOADS_NATIVE` is true."""
        if h != types.uint16:
            return None

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            return builder.fpext(builder.bitcast(args[0], ir.HalfType()), ir.FloatType())

        return types.float32(h), codegen
