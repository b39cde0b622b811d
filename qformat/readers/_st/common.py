"""Shared pieces of the scheme decoders: the logical tensor record, detection context, and
vectorised numpy bit unpacking and float decoding used by several schemes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from ... import limits
from ...dtypes import DTYPES, to_float32
from ...errors import LayoutError, LimitError, QFormatError, UnsupportedError
from .header import ST_DTYPE_BITS, StoredTensor

if TYPE_CHECKING:
    from ...layouts.qtensor import QTensor
    from .evidence import Evidence

__all__ = [
    "CONFIG", "DETECT_ERRORS",
    "E2M1",
    "METADATA",
    "NAMES",
    "SHAPES",
    "Detect",
    "Logical",
    "Source",
    "e8m0_to_f32",
    "float_of",
    "int_param",
    "shape2",
    "unpack_lsb",
    "unpack_nibbles",
]

#: What a detector may raise for one malformed module: recorded on that module, never fatal.
DETECT_ERRORS = (QFormatError, ValueError, TypeError, IndexError, KeyError, OverflowError,
                 ZeroDivisionError)

# Evidence ranks: config > metadata > tensor names > shapes (lower sorts first).
CONFIG, METADATA, NAMES, SHAPES = 0, 1, 2, 3

#: FP4 E2M1 magnitudes by 3-bit code; bit 3 is the sign (OCP MX spec, NVFP4).
E2M1 = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0,
                 -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0], dtype=np.float32)


class Source:
    """What a decoder may read: stored tensors by name as read-only views."""

    path: str
    tensors: dict[str, StoredTensor]

    def array(self, name: str) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError


Decoder = Callable[[Source], np.ndarray]


@dataclass(slots=True)
class Logical:
    """One logical tensor: the name/shape the unquantized checkpoint would use, its parts.

    ``decode`` is None for a plain stored tensor (``plain=True``: converted as stored) or for a
    scheme qformat can only detect (``unsupported`` says why).
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    method: str
    parts: tuple[str, ...]
    bits: float | None = None
    group_size: int | None = None
    symmetric: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    decode: Decoder | None = None
    #: Why ``decode`` is None (UnsupportedError message), or a LayoutError found at detection.
    unsupported: str | None = None
    error: QFormatError | None = None
    raw: Callable[[Source], QTensor] | None = None
    plain: bool = False


class Detect:
    """Detection state: every stored tensor, which are claimed, and evidence gathered."""

    def __init__(self, tensors: dict[str, StoredTensor], evidence: Evidence, path: str,
                 source: Source) -> None:
        self.tensors = tensors
        self.ev = evidence
        self.path = path
        self.source = source
        self.claimed: set[str] = set()
        self.logicals: list[Logical] = []
        self.warnings: list[str] = []
        by_last: dict[str, list[str]] = {}
        for name in tensors:
            by_last.setdefault(name.rpartition(".")[2], []).append(name)
        self._by_last = by_last

    def with_suffix(self, suffix: str) -> list[str]:
        """Module prefixes of unclaimed tensors named ``<prefix><suffix>`` (file order)."""
        n = len(suffix)
        return [name[:-n] for name in self._by_last.get(suffix.rpartition(".")[2], ())
                if name.endswith(suffix) and name not in self.claimed and len(name) > n]

    def get(self, name: str) -> StoredTensor | None:
        """The unclaimed stored tensor ``name``, or None."""
        t = self.tensors.get(name)
        return None if t is None or name in self.claimed else t

    def read_small(self, t: StoredTensor, max_bytes: int = 1 << 16) -> np.ndarray:
        """Contents of a small metadata tensor (shape vectors, JSON blobs), size-capped."""
        if t.nbytes > max_bytes:
            raise LimitError("metadata tensor is larger than expected", tensor=t.name,
                             field="shape", expected=f"<= {max_bytes} bytes",
                             found=f"{t.nbytes} bytes")
        return np.array(self.source.array(t.name))

    def model_dtype(self) -> str:
        """The checkpoint's declared float dtype (config ``torch_dtype``/``dtype``), else F16."""
        cfg = self.ev.config
        value = cfg.get("torch_dtype", cfg.get("dtype"))
        return {"float16": "F16", "bfloat16": "BF16", "float32": "F32"}.get(
            str(value).replace("torch.", ""), "F16")

    def add(self, logical: Logical) -> None:
        for p in logical.parts:
            if p in self.claimed:
                raise LayoutError("stored tensor claimed twice", tensor=p)
        numel = 1
        for dim in logical.shape:
            numel *= dim
        stored_bits = 8 * sum(self.tensors[p].nbytes for p in logical.parts)
        if logical.error is None and logical.method != "none" and (
                numel > limits.MAX_ELEMENTS or
                stored_bits < numel * limits.SAFETENSORS_MIN_BITS_PER_WEIGHT):
            err = LimitError("logical tensor is far larger than its stored bytes "
                             "(decompression bomb)", path=self.path, tensor=logical.name,
                             field="shape",
                             expected=f">= {limits.SAFETENSORS_MIN_BITS_PER_WEIGHT} stored "
                                      "bits per weight", found=f"{stored_bits} bits for "
                                                               f"{numel} weights")
            logical = Logical(name=logical.name, shape=(), dtype=logical.dtype,
                              method=logical.method, parts=logical.parts, error=err,
                              extra={"error": str(err)})
            self.warnings.append(f"{logical.name}: {err.detail} (listed, but get() will fail)")
        self.claimed.update(logical.parts)
        self.logicals.append(logical)

    def fail(self, name: str, method: str, parts: list[str], exc: Exception) -> None:
        """Record a module whose signature matched but whose parts are inconsistent."""
        if not isinstance(exc, QFormatError):  # a value no check anticipated: still typed
            exc = LayoutError(f"malformed {method} module ({type(exc).__name__}: {exc})")
        err = exc.with_context(path=self.path, tensor=name)
        self.add(Logical(name=name, shape=(), dtype="F32", method=method, parts=tuple(parts),
                         error=err, extra={"error": str(err)}))
        self.warnings.append(f"{name}: {err.detail} (listed, but get() will fail)")


# -- small validation helpers ---------------------------------------------------------------
def shape2(t: StoredTensor, what: str) -> tuple[int, int]:
    if len(t.shape) != 2:
        raise LayoutError(f"{what} must be 2-D", tensor=t.name, field="shape",
                          expected="2 dims", found=list(t.shape))
    return t.shape[0], t.shape[1]


def need_dtype(t: StoredTensor, allowed: tuple[str, ...]) -> None:
    if t.dtype not in allowed:
        raise LayoutError("unexpected dtype for this scheme", tensor=t.name, field="dtype",
                          expected=list(allowed), found=t.dtype)


def need_shape(t: StoredTensor, shape: tuple[int, ...]) -> None:
    if tuple(t.shape) != tuple(shape):
        raise LayoutError("unexpected shape for this scheme", tensor=t.name, field="shape",
                          expected=list(shape), found=list(t.shape))


def int_param(value: Any, what: str, lo: int = 1, hi: int = 1 << 30) -> int:
    """A config integer, validated (bool rejected, range checked)."""
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise LayoutError(f"{what} out of range", field=what, expected=f"integer {lo}..{hi}",
                          found=value)
    return value


FLOAT_DTYPES = ("F16", "BF16", "F32")


def float_of(arr: np.ndarray, code: str) -> np.ndarray:
    """Any stored float (or integer) array as float32, exactly."""
    if code in DTYPES:
        return to_float32(arr, code)
    if code == "F8_E8M0":
        return e8m0_to_f32(arr)
    if code in ("F8_E4M3FNUZ", "F8_E5M2FNUZ"):
        return _fnuz_table(code)[np.asarray(arr, dtype=np.uint8)]
    if code == "F4":
        return E2M1[unpack_nibbles(arr, low_first=True)]
    raise UnsupportedError("cannot convert this dtype to float32", field="dtype", found=code)


def e8m0_to_f32(arr: np.ndarray) -> np.ndarray:
    """E8M0 scale bytes -> 2**(e - 127) as float32 (255 is NaN), exactly."""
    e = np.asarray(arr, dtype=np.uint8).astype(np.int32)
    bits = np.where(e == 0, np.int32(0x00400000), e << 23).astype(np.uint32)
    out = bits.view(np.float32).copy()
    out[e == 255] = np.nan
    return out


@cache
def _fnuz_table(code: str) -> np.ndarray:
    """FNUZ float8 variants: no infinities, no negative zero, 0x80 is NaN."""
    exp_bits, man_bits, bias = (4, 3, 8) if code == "F8_E4M3FNUZ" else (5, 2, 16)
    b = np.arange(256, dtype=np.int64)
    sign = np.where(b >> 7, -1.0, 1.0)
    exp = (b >> man_bits) & ((1 << exp_bits) - 1)
    man = b & ((1 << man_bits) - 1)
    val = sign * np.where(exp == 0, np.ldexp(man / (1 << man_bits), 1 - bias),
                          np.ldexp(1 + man / (1 << man_bits), exp - bias))
    val[0x80] = np.nan
    return val.astype(np.float32)


def dtype_bits(code: str) -> int:
    return ST_DTYPE_BITS[code]


# -- bit unpacking --------------------------------------------------------------------------
def unpack_nibbles(data: np.ndarray, *, low_first: bool) -> np.ndarray:
    """Bytes -> 4-bit codes, two per byte, in the given order (flattened)."""
    b = np.asarray(data).reshape(-1).view(np.uint8)
    out = np.empty(b.size * 2, dtype=np.uint8)
    lo, hi = b & 0x0F, b >> 4
    out[0::2], out[1::2] = (lo, hi) if low_first else (hi, lo)
    return out


def unpack_lsb(words: np.ndarray, bits: int, count: int) -> np.ndarray:
    """Continuous LSB-first bit stream along the last axis of uint32 words -> codes.

    Element k of a row sits at bit ``k * bits`` of the row's stream (word ``k*bits // 32``,
    low bits first); values may straddle two words. Returns uint8 (bits <= 8) or uint32.
    """
    w = np.ascontiguousarray(words).view(np.uint32)
    lead = w.shape[:-1]
    nwords = w.shape[-1]
    if count * bits > nwords * 32:
        raise LayoutError("packed row is too short for its element count", field="shape",
                          expected=f">= {-(-count * bits // 32)} words", found=nwords)
    mask = (1 << bits) - 1
    out_dtype = np.uint8 if bits <= 8 else np.uint32
    if 8 % bits == 0:
        # whole bytes hold 8/bits codes, low bits first (words are little-endian)
        per = 8 // bits
        by = w.view(np.uint8).reshape(*lead, nwords * 4)[..., : -(-count // per)]
        if per == 1:
            return by[..., :count].copy()
        out = np.empty((*lead, by.shape[-1], per), dtype=np.uint8)
        for k in range(per):
            out[..., k] = (by >> np.uint8(k * bits)) & np.uint8(mask)
        return out.reshape(*lead, by.shape[-1] * per)[..., :count]
    if 32 % bits == 0:
        per = 32 // bits
        shifts = (np.arange(per, dtype=np.uint32) * bits)
        used = -(-count // per)
        vals = (w[..., :used, None] >> shifts) & np.uint32(mask)
        return vals.reshape(*lead, used * per)[..., :count].astype(out_dtype)
    if bits <= 8 and nwords * 32 % 8 == 0:
        # byte-wise gather of a 16-bit window: never crosses more than two bytes
        by = w.view(np.uint8).reshape(*lead, nwords * 4)
        pad = np.zeros((*lead, 1), dtype=np.uint8)
        by = np.concatenate([by, pad], axis=-1).astype(np.uint16)
        pos = np.arange(count, dtype=np.int64) * bits
        i, o = pos >> 3, (pos & 7).astype(np.uint16)
        window = by[..., i] | (by[..., i + 1] << np.uint16(8))
        return ((window >> o) & np.uint16(mask)).astype(out_dtype)
    w64 = np.concatenate([w, np.zeros((*lead, 1), dtype=np.uint32)], axis=-1).astype(np.uint64)
    pos = np.arange(count, dtype=np.int64) * bits
    i, o = pos >> 5, (pos & 31).astype(np.uint64)
    window = w64[..., i] | (w64[..., i + 1] << np.uint64(32))
    return ((window >> o) & np.uint64(mask)).astype(out_dtype)


def unpack_lsb_axis(words: np.ndarray, bits: int, count: int, axis: int) -> np.ndarray:
    """:func:`unpack_lsb` along ``axis`` (e.g. GPTQ packs down the input rows)."""
    moved = np.moveaxis(np.asarray(words), axis, -1)
    return np.moveaxis(unpack_lsb(moved, bits, count), -1, axis)


def linear_shape_hint(d: Detect, prefix: str, numel: int) -> tuple[tuple[int, int] | None, str]:
    """``[out, in]`` of a Linear whose file does not store it (quanto's grouped data).

    Tries, in order: the module's own ``bias`` (its length is ``out``), then the model config
    (hidden/intermediate sizes and head counts, llama-style module names). Returns
    ``(shape or None, how it was found)``.
    """
    bias = d.tensors.get(prefix + ".bias")
    if bias is not None and len(bias.shape) == 1 and bias.shape[0] and \
            numel % bias.shape[0] == 0:
        return (bias.shape[0], numel // bias.shape[0]), "out from the module's bias length"
    cfg = d.ev.config
    text = cfg.get("text_config")
    if isinstance(text, dict) and "hidden_size" not in cfg:
        cfg = text

    def get(key: str) -> int | None:
        v = cfg.get(key)
        return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else None

    hidden, inter, vocab = get("hidden_size"), get("intermediate_size"), get("vocab_size")
    heads = get("num_attention_heads")
    kv = get("num_key_value_heads") or heads
    head_dim = get("head_dim") or (hidden // heads if hidden and heads else None)
    last = prefix.rsplit(".", 1)[-1]
    table: dict[str, tuple[int | None, int | None]] = {
        "q_proj": (heads * head_dim if heads and head_dim else None, hidden),
        "k_proj": (kv * head_dim if kv and head_dim else None, hidden),
        "v_proj": (kv * head_dim if kv and head_dim else None, hidden),
        "o_proj": (hidden, heads * head_dim if heads and head_dim else None),
        "gate_proj": (inter, hidden), "up_proj": (inter, hidden), "down_proj": (hidden, inter),
        "w1": (inter, hidden), "w3": (inter, hidden), "w2": (hidden, inter),
        "fc1": (inter, hidden), "fc2": (hidden, inter),
        "lm_head": (vocab, hidden), "embed_tokens": (vocab, hidden),
    }
    out_in = table.get(last)
    if out_in and out_in[0] and out_in[1] and out_in[0] * out_in[1] == numel:
        return (out_in[0], out_in[1]), "from config.json sizes (llama-style module name)"
    return None, "original shape not stored in the file"


# -- grouped dequantization -------------------------------------------------------------------
def _per_column(values: np.ndarray, cols: np.ndarray | None, group_size: int,
                ncols: int) -> tuple[np.ndarray, bool]:
    """[R, G] per-group values -> broadcastable against [R, C] (or [R, G, gs] when grouped)."""
    if cols is None and group_size > 0 and ncols % group_size == 0 and \
            values.shape[1] == ncols // group_size:
        return values[:, :, None], True
    if cols is None:
        cols = np.arange(ncols) // group_size if group_size > 0 else np.zeros(ncols, np.intp)
    return values[:, cols], False


def grouped_sub_mul(codes: np.ndarray, scale: np.ndarray, *, group_size: int,
                    zero: np.ndarray | None = None, offset: float = 0.0,
                    cols: np.ndarray | None = None) -> np.ndarray:
    """``((codes - offset) - zero) * scale`` per column group, float32 [R, C].

    ``codes - offset - zero`` is exact in float32 for integer zeros (GPTQ, AWQ,
    compressed-tensors) and one rounding for float zeros (HQQ), then one rounding for the
    product: the same operations, in the same order, as the producers' float32 decoders.
    ``cols`` maps each column to its group (act-order); otherwise column i is group i // gs.
    """
    rows, ncols = codes.shape
    s, grouped = _per_column(scale, cols, group_size, ncols)
    z = None if zero is None else _per_column(zero, cols, group_size, ncols)[0]
    q = codes.reshape(rows, -1, group_size) if grouped else codes
    d = q.astype(np.float32)
    if offset:
        d -= np.float32(offset)
    if z is not None:
        d -= z
    d *= s
    return d.reshape(rows, ncols)


def grouped_mul_add(codes: np.ndarray, scale: np.ndarray, bias: np.ndarray, *,
                    group_size: int, negate_bias: bool = False) -> np.ndarray:
    """``codes * scale + bias`` (or ``- bias``) per column group, float32 [R, C], two roundings
    as MLX, optimum-quanto and AWQ GEMV_FAST compute it."""
    rows, ncols = codes.shape
    s, grouped = _per_column(scale, None, group_size, ncols)
    b = _per_column(bias, None, group_size, ncols)[0]
    q = codes.reshape(rows, -1, group_size) if grouped else codes
    out = q.astype(np.float32)
    out *= s
    if negate_bias:
        out -= b
    else:
        out += b
    return out.reshape(rows, ncols)
