"""The ``codebook`` layout: vector, product and additive (AQLM-style) quantization.

A weight ``W[out, in]`` is cut into groups of ``out_group_size x in_group_size`` weights. Each
group stores ``num_codebooks`` (M) codes of ``codebook_bits`` (B) bits, each an index into its
own codebook of ``2**B`` entries. In ``additive`` mode (AQLM, residual VQ) a group is the sum of
one entry from every codebook; in ``product`` mode (PQ) codebook ``c`` covers the ``c``-th
slice of the group's columns. Every output row has a scale. Normative description, bit order and
float32 operation order: ``specs/layouts/codebook.md`` (clauses ``QF-CODEBOOK-NNN``).

Parts (exact dtypes and shapes, checked by the container before any data is read):

* ``codes`` ``U8 [out/og, ceil((in/ig) * M * B / 8)]``: per row of groups, an LSB-first bit
  stream of the codes in order (in-group ``j``, codebook ``c``), code index ``j*M + c``;
* ``codebooks`` ``codebook_dtype [M, 2**B, og, sub]`` with ``sub = ig`` (additive) or
  ``ig / M`` (product);
* ``scales`` ``scale_dtype [out]``.

Besides :meth:`CodebookLayout.encode` (k-means / residual fitting), :func:`from_codes` builds a
tensor from unsigned codes and :func:`from_aqlm` from the arrays of an AQLM checkpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .. import limits
from ..dtypes import DTYPES, bf16_to_f32, dtype_of
from ..errors import ArgumentError, IntegrityError, LayoutError, QFormatError
from .base import Layout, PartSpec, require_keys
from .qtensor import QTensor

__all__ = ["MODES", "CodebookLayout", "from_aqlm", "from_codes"]

#: Ways the codebooks of one group combine.
MODES = ("additive", "product")
#: Element types codebooks and scales may be stored in.
FLOAT_STORAGE = ("F32", "F16", "BF16")
_CONFIG_KEYS = {"mode", "num_codebooks", "codebook_bits", "in_group_size", "out_group_size",
                "codebook_dtype", "scale_dtype"}


def _positive_int(value: Any, field: str, upper: int | None = None) -> int:
    if type(value) is not int or value < 1 or (upper is not None and value > upper):
        raise LayoutError("codebook configuration value out of range [QF-CODEBOOK-001]",
                          field=field, expected=f"integer 1..{upper}" if upper else "integer >= 1",
                          found=value)
    return value


def _f32(stored: np.ndarray, code: str) -> np.ndarray:
    """A stored float part as float32 (F16 through the jitted exact converter)."""
    if code == "F32":
        return np.asarray(stored, dtype=np.float32)
    if code == "BF16":
        return bf16_to_f32(stored)
    from ..kernels.codebook import f16_to_f32

    return f16_to_f32(np.asarray(stored).view(np.uint16))


def _nonfinite_count(stored: np.ndarray, code: str) -> int:
    """How many stored floats are NaN or infinite, from the bit patterns (no conversion)."""
    if code == "F32":
        return int(stored.size - np.count_nonzero(np.isfinite(stored)))
    bits = np.asarray(stored).view(np.uint16)
    exp_mask = np.uint16(0x7C00 if code == "F16" else 0x7F80)
    return int(np.count_nonzero((bits & exp_mask) == exp_mask))


@dataclass(frozen=True)
class CodebookLayout(Layout):
    """Configuration of a codebook-quantized 2-D weight (see the module docstring)."""

    name: ClassVar[str] = "codebook"

    mode: str = "additive"
    num_codebooks: int = 2
    codebook_bits: int = 8
    in_group_size: int = 8
    out_group_size: int = 1
    codebook_dtype: str = "F16"
    scale_dtype: str = "F16"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise LayoutError("unknown codebook mode [QF-CODEBOOK-001]", field="mode",
                              expected=list(MODES), found=self.mode)
        _positive_int(self.num_codebooks, "num_codebooks", limits.CODEBOOK_MAX_COUNT)
        _positive_int(self.codebook_bits, "codebook_bits", limits.CODEBOOK_MAX_BITS)
        _positive_int(self.in_group_size, "in_group_size", limits.CODEBOOK_MAX_GROUP_ELEMENTS)
        _positive_int(self.out_group_size, "out_group_size", limits.CODEBOOK_MAX_GROUP_ELEMENTS)
        if self.in_group_size * self.out_group_size > limits.CODEBOOK_MAX_GROUP_ELEMENTS:
            raise LayoutError("codebook group is too large [QF-CODEBOOK-001]",
                              field="in_group_size",
                              expected=f"out_group_size*in_group_size <= "
                                       f"{limits.CODEBOOK_MAX_GROUP_ELEMENTS}",
                              found=self.in_group_size * self.out_group_size)
        if self.mode == "product" and self.in_group_size % self.num_codebooks:
            raise LayoutError("product mode splits the group's columns evenly among the "
                              "codebooks [QF-CODEBOOK-001]", field="in_group_size",
                              expected=f"a multiple of num_codebooks={self.num_codebooks}",
                              found=self.in_group_size)
        for key in ("codebook_dtype", "scale_dtype"):
            if getattr(self, key) not in FLOAT_STORAGE:
                raise LayoutError("unsupported storage type [QF-CODEBOOK-001]", field=key,
                                  expected=list(FLOAT_STORAGE), found=getattr(self, key))

    # -- configuration -------------------------------------------------------------------------
    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> CodebookLayout:
        try:
            require_keys(config, "codebook", _CONFIG_KEYS)
        except LayoutError as exc:
            raise LayoutError(f"{exc.detail} [QF-CODEBOOK-001]", field=exc.field,
                              expected=exc.expected, found=exc.found) from None
        return cls(**{k: config[k] for k in _CONFIG_KEYS})

    def to_config(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "num_codebooks": self.num_codebooks,
            "codebook_bits": self.codebook_bits,
            "in_group_size": self.in_group_size,
            "out_group_size": self.out_group_size,
            "codebook_dtype": self.codebook_dtype,
            "scale_dtype": self.scale_dtype,
        }

    @property
    def product(self) -> bool:
        return self.mode == "product"

    @property
    def codebook_size(self) -> int:
        """Entries per codebook, ``2**codebook_bits``."""
        return 1 << self.codebook_bits

    @property
    def sub_group_size(self) -> int:
        """Columns one codebook entry spans: the whole group, or its slice in product mode."""
        return self.in_group_size // self.num_codebooks if self.product else self.in_group_size

    @property
    def code_bits_per_weight(self) -> float:
        """Code bits per weight, ``M * B / (og * ig)`` (TensorInfo.bits)."""
        return self.num_codebooks * self.codebook_bits / (self.in_group_size
                                                          * self.out_group_size)

    def code_row_bytes(self, in_features: int) -> int:
        """Bytes of one row of ``codes``: ``in/ig * M`` codes of B bits, rounded up to a byte."""
        return (in_features // self.in_group_size * self.num_codebooks * self.codebook_bits
                + 7) // 8

    def part_specs(self, shape: tuple[int, ...], dtype: str) -> tuple[PartSpec, ...]:
        if len(shape) != 2:
            raise LayoutError("the codebook layout stores 2-D weights [out, in] "
                              "[QF-CODEBOOK-002]", field="shape", expected="2 dimensions",
                              found=list(shape))
        if dtype not in DTYPES or DTYPES[dtype].kind != "float":
            raise LayoutError("codebook-quantized tensors have a float logical dtype "
                              "[QF-CODEBOOK-002]", field="dtype", expected="F32, F16, BF16...",
                              found=dtype)
        out, inp = int(shape[0]), int(shape[1])
        if out % self.out_group_size:
            raise LayoutError("out_group_size does not divide the rows [QF-CODEBOOK-002]",
                              field="out_group_size",
                              expected=f"a divisor of out_features={out}",
                              found=self.out_group_size)
        if inp % self.in_group_size:
            raise LayoutError("in_group_size does not divide the columns [QF-CODEBOOK-002]",
                              field="in_group_size", expected=f"a divisor of in_features={inp}",
                              found=self.in_group_size)
        return (
            PartSpec("codes", "U8", (out // self.out_group_size, self.code_row_bytes(inp))),
            PartSpec("codebooks", self.codebook_dtype,
                     (self.num_codebooks, self.codebook_size, self.out_group_size,
                      self.sub_group_size)),
            PartSpec("scales", self.scale_dtype, (out,)),
        )

    # -- content checks ------------------------------------------------------------------------
    def check_parts(self, qt: QTensor) -> None:
        """Finite codebooks and scales; zero pad bits at the end of every code row.

        Codes cannot exceed the codebook: each is stored in exactly ``codebook_bits`` bits.
        The jitted kernels rely on these checks and do no bounds checking of their own.
        """
        for part, code in (("codebooks", self.codebook_dtype), ("scales", self.scale_dtype)):
            bad = _nonfinite_count(qt.parts[part], code)
            if bad:
                raise IntegrityError(f"{part} contain NaN or infinite values [QF-CODEBOOK-004]",
                                     field=f"parts.{part}", expected="finite values",
                                     found=f"{bad} non-finite")
        codes = qt.parts["codes"]
        used = qt.shape[1] // self.in_group_size * self.num_codebooks * self.codebook_bits
        tail = used % 8
        if tail and codes.shape[0]:
            last = codes[:, -1]
            stray = np.count_nonzero(last >> np.uint8(tail))
            if stray:
                raise IntegrityError("pad bits after the last code of a row are not zero "
                                     "[QF-CODEBOOK-003]", field="parts.codes",
                                     expected=f"bits {tail}..7 of each row's last byte zero",
                                     found=f"stray bits in {stray} of {codes.shape[0]} rows")

    # -- compute -------------------------------------------------------------------------------
    def _kernel_args(self, qt: QTensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (qt.parts["codes"], _f32(qt.parts["codebooks"], self.codebook_dtype),
                _f32(qt.parts["scales"], self.scale_dtype))

    def decode(self, qt: QTensor) -> np.ndarray:
        from ..kernels.codebook import decode_codebook

        codes, books, scales = self._kernel_args(qt)
        return decode_codebook(codes, books, scales, self.codebook_bits, self.product,
                               qt.shape[1] // self.in_group_size)

    def linear(self, qt: QTensor, x: np.ndarray) -> np.ndarray:
        """``x @ W.T`` with the codebook kernels (lookup tables for small codebooks)."""
        from ..kernels.codebook import linear_codebook

        books = qt.parts["codebooks"]
        if self.codebook_dtype == "F16":  # half bits as stored: the kernels convert in registers
            books = np.asarray(books).view(np.uint16)
        else:
            books = _f32(books, self.codebook_dtype)
        return linear_codebook(x, qt.parts["codes"], books, _f32(qt.parts["scales"],
                               self.scale_dtype), self.codebook_bits, self.product,
                               qt.shape[1] // self.in_group_size)

    def describe(self, qt: QTensor) -> dict[str, Any]:
        bits = self.code_bits_per_weight
        return {
            "method": "codebook",
            "bits": int(bits) if float(bits).is_integer() else round(bits, 4),
            "group_size": self.in_group_size,
            "symmetric": None,
            "extra": {
                "mode": self.mode,
                "num_codebooks": self.num_codebooks,
                "codebook_bits": self.codebook_bits,
                "group_shape": [self.out_group_size, self.in_group_size],
                "codebook_dtype": self.codebook_dtype,
                "scale_dtype": self.scale_dtype,
            },
        }

    @classmethod
    def encode(cls, array: np.ndarray, **config: Any) -> QTensor:
        """Quantize a 2-D float weight; see :func:`qformat.layouts._codebook_fit.fit`."""
        from ._codebook_fit import fit

        return fit(cls, np.asarray(array), **config)


# -- building tensors from codes -----------------------------------------------------------------
def _float_part(array: Any, code: str | None, field: str) -> tuple[np.ndarray, str]:
    """A float array and its storage code (``code`` declares raw uint16 bits as F16/BF16)."""
    arr = np.asarray(array)
    if code is None:
        try:
            code = dtype_of(arr)
        except QFormatError:
            code = None
        if code not in FLOAT_STORAGE:
            raise ArgumentError(f"{field} must be float32, float16 or bfloat16", field=field,
                                expected=list(FLOAT_STORAGE), found=str(arr.dtype))
    elif code not in FLOAT_STORAGE:
        raise ArgumentError("unsupported storage type", field=f"{field}_dtype",
                            expected=list(FLOAT_STORAGE), found=code)
    storage = DTYPES[code].storage
    if arr.dtype.itemsize != storage.itemsize or arr.dtype.kind not in "fuV":
        raise ArgumentError(f"{field} do not hold {code} values", field=field,
                            expected=str(storage), found=str(arr.dtype))
    stored = arr.view(storage) if arr.dtype != storage else arr
    return np.ascontiguousarray(stored), code


def pack_codes(codes: np.ndarray, bits: int) -> np.ndarray:
    """Unsigned codes ``[rows, n]`` -> the ``codes`` part (``uint8 [rows, ceil(n*bits/8)]``)."""
    codes = np.asarray(codes)
    if bits == 8:
        return np.ascontiguousarray(codes, dtype=np.uint8)
    if bits == 16:
        return np.ascontiguousarray(codes, dtype="<u2").view(np.uint8)
    from ..kernels.codebook import pack_codes as packer

    return packer(codes, bits)


def from_codes(
    codes: np.ndarray,
    codebooks: np.ndarray,
    scales: np.ndarray,
    *,
    mode: str = "additive",
    dtype: str = "F32",
    codebook_dtype: str | None = None,
    scale_dtype: str | None = None,
) -> QTensor:
    """A codebook QTensor from unsigned codes, codebooks and per-row scales.

    ``codes``: integers ``[out/og, in/ig, M]`` in ``0 .. 2**B - 1``; ``codebooks``:
    ``[M, 2**B, og, sub]`` (``sub = ig`` additive, ``ig/M`` product), float32/float16/bfloat16
    (or uint16 bit patterns with ``codebook_dtype`` ``"F16"``/``"BF16"``); ``scales``: ``[out]``
    (same rule, ``scale_dtype``). ``dtype`` is the logical dtype recorded for the weight.
    Raises :class:`~qformat.ArgumentError` / :class:`~qformat.LayoutError` naming the field.
    """
    codes = np.asarray(codes)
    if codes.ndim != 3 or codes.dtype.kind not in "iu":
        raise ArgumentError("codes must be integers [out_groups, in_groups, num_codebooks]",
                            field="codes", found=f"{codes.dtype}{list(codes.shape)}")
    books, book_code = _float_part(codebooks, codebook_dtype, "codebooks")
    if books.ndim != 4:
        raise LayoutError("codebooks must be [num_codebooks, 2**bits, out_group, sub_group] "
                          "[QF-CODEBOOK-002]", field="codebooks", found=list(books.shape))
    n_books, size, og, sub = books.shape
    bits = size.bit_length() - 1
    if size < 2 or size != 1 << bits:
        raise LayoutError("codebook size must be a power of two 2..65536 [QF-CODEBOOK-002]",
                          field="codebooks", expected="2**codebook_bits entries", found=size)
    if codes.shape[2] != n_books:
        raise LayoutError("codes and codebooks disagree on the number of codebooks "
                          "[QF-CODEBOOK-002]", field="codes", expected=n_books,
                          found=codes.shape[2])
    ig = sub * n_books if mode == "product" else sub
    out, inp = codes.shape[0] * og, codes.shape[1] * ig
    scale_arr, scale_code = _float_part(scales, scale_dtype, "scales")
    if scale_arr.shape != (out,):
        raise LayoutError("scales must have one value per output row [QF-CODEBOOK-002]",
                          field="scales", expected=[out], found=list(scale_arr.shape))
    layout = CodebookLayout(mode=mode, num_codebooks=n_books, codebook_bits=bits,
                            in_group_size=ig, out_group_size=og, codebook_dtype=book_code,
                            scale_dtype=scale_code)
    if codes.size:
        lo, hi = int(codes.min()), int(codes.max())
        if lo < 0 or hi >= size:
            raise LayoutError("code beyond the codebook size [QF-CODEBOOK-003]", field="codes",
                              expected=f"0..{size - 1}", found=f"{lo}..{hi}")
    packed = pack_codes(codes.reshape(codes.shape[0], -1), bits)
    qt = QTensor(layout, (out, inp), {"codes": packed, "codebooks": books,
                                      "scales": scale_arr}, dtype=dtype)
    qt.check()
    return qt


def from_aqlm(
    codes: np.ndarray,
    codebooks: np.ndarray,
    scales: np.ndarray,
    *,
    in_group_size: int,
    out_group_size: int,
    num_codebooks: int,
    nbits_per_codebook: int,
    dtype: str = "F16",
    codebooks_dtype: str | None = None,
    scales_dtype: str | None = None,
) -> QTensor:
    """A codebook QTensor holding one AQLM layer exactly as its checkpoint stores it.

    Takes the three tensors of an AQLM (``quant_method: aqlm``) safetensors checkpoint and the
    four numbers of its ``quantization_config``:

    * ``codes``: ``[out/og, in/ig, M]`` int8 (8-bit codebooks) or int16 (16-bit), unsigned
      codes in signed storage (AQLM's ``pack_int_data``: values ``>= 2**(B-1)`` wrap negative);
      the code is ``value mod 2**B``. Stored values outside ``-2**(B-1) .. 2**B - 1`` are
      rejected (a code beyond the codebook). Unsigned storage is accepted as well.
    * ``codebooks``: ``[M, 2**B, og, ig]`` float16/bfloat16/float32 (pass raw uint16 bits with
      ``codebooks_dtype="F16"`` or ``"BF16"``).
    * ``scales``: ``out/og`` values, shaped ``[out/og, 1, 1, 1]`` in AQLM (any shape with that
      many elements and the leading dimension ``out/og``); one per row of groups, repeated to
      every row of the group (exact: AQLM multiplies each group element by it).

    ``dtype`` is the logical dtype of the weight (the checkpoint's ``torch_dtype``). The result
    dequantizes bit-identically to ``aqlm.utils._dequantize_weight(unpack_int_data(codes, B),
    codebooks.float(), scales.float())`` and saves to .qf unchanged. Errors are
    :class:`~qformat.LayoutError` / :class:`~qformat.ArgumentError` naming the field.
    """
    bits = _positive_int(nbits_per_codebook, "nbits_per_codebook", limits.CODEBOOK_MAX_BITS)
    m = _positive_int(num_codebooks, "num_codebooks", limits.CODEBOOK_MAX_COUNT)
    ig = _positive_int(in_group_size, "in_group_size", limits.CODEBOOK_MAX_GROUP_ELEMENTS)
    og = _positive_int(out_group_size, "out_group_size", limits.CODEBOOK_MAX_GROUP_ELEMENTS)
    codes = np.asarray(codes)
    if codes.ndim != 3 or codes.dtype.kind not in "iu":
        raise LayoutError("AQLM codes must be integers [out_groups, in_groups, num_codebooks]",
                          field="codes", found=f"{codes.dtype}{list(codes.shape)}")
    if codes.shape[2] != m:
        raise LayoutError("AQLM codes do not match num_codebooks", field="codes",
                          expected=f"[*, *, {m}]", found=list(codes.shape))
    books = np.asarray(codebooks)
    want = (m, 1 << bits, og, ig)
    if books.shape != want:
        raise LayoutError("AQLM codebooks do not match the configuration", field="codebooks",
                          expected=list(want), found=list(books.shape))
    scales = np.asarray(scales)
    n_out_groups = codes.shape[0]
    if scales.size != n_out_groups or (scales.ndim and scales.shape[0] != n_out_groups):
        raise LayoutError("AQLM scales must hold one value per output group", field="scales",
                          expected=f"[{n_out_groups}, 1, 1, 1]", found=list(scales.shape))
    size = 1 << bits
    if codes.size:
        lo, hi = int(codes.min()), int(codes.max())
        low_ok = -(size >> 1) if codes.dtype.kind == "i" else 0
        if lo < low_ok or hi >= size:
            raise LayoutError("code beyond the codebook size", field="codes",
                              expected=f"stored values {low_ok}..{size - 1} "
                                       f"({bits}-bit codes, signed storage wraps)",
                              found=f"{lo}..{hi}")
    if codes.dtype.kind == "i" and codes.dtype.itemsize * 8 == bits:
        native = codes.astype(codes.dtype.newbyteorder("="), copy=False)
        unsigned = native.view(f"u{native.dtype.itemsize}")  # two's complement: value mod 2**B
    elif codes.dtype.kind == "i":
        unsigned = codes.astype(np.int64) % size
    else:
        unsigned = codes
    row_scales = np.repeat(scales.reshape(n_out_groups), og)
    return from_codes(unsigned, books, row_scales, mode="additive", dtype=dtype,
                      codebook_dtype=codebooks_dtype, scale_dtype=scales_dtype)
