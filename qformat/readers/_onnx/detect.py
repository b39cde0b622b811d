"""Which stored tensors are quantized, how, and with which parameters: the graph analysis.

Quantization lives in the graph, not in the tensors. A weight is found through the node that
consumes it:

- QDQ: ``DequantizeLinear`` (ai.onnx or com.microsoft) whose input is a stored tensor;
- QOperator: ``QLinearConv``, ``QLinearMatMul``, ``QGemm``, ``QLinearAdd``... whose weight slot
  is a stored tensor, with the scale and zero point in the neighbouring slots;
- dynamic: ``MatMulInteger``/``ConvInteger`` (the weight scale is not an input: it is found in
  the ``Mul`` after the integer op, or by ORT's ``<weight>_scale`` naming) and the fused
  ``DynamicQuantizeMatMul``/``MatMulIntegerToFloat``;
- ``MatMulNBits`` and ``GatherBlockQuantized`` (com.microsoft), weight-only blockwise.

Scale and zero-point tensors become parts of the weight they describe and are not listed on
their own; quantization parameters of activations are reported with the activation.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ... import limits
from ...errors import HeaderError, LimitError, UnsupportedError
from .graph import Graph, Node
from .tensors import StoredTensor
from .types import OnnxType, onnx_type

__all__ = ["Activation", "Affine", "Analysis", "Entry", "GatherBQ", "NBits", "analyse"]

MS = "com.microsoft"
ONNX = "ai.onnx"

# ops through which a weight passes unchanged on its way to the op that uses it
_PASS_THROUGH = {"Transpose", "Reshape", "Squeeze", "Unsqueeze", "Cast", "Flatten", "Identity",
                 "Expand", "CastLike"}
# (op) -> input slots that hold a weight of a linear-algebra op
_WEIGHT_SLOTS: dict[str, set[int]] = {
    "MatMul": {0, 1}, "Gemm": {0, 1}, "Conv": {1}, "ConvTranspose": {1}, "Einsum": set(range(16)),
    "FusedMatMul": {0, 1}, "FusedGemm": {0, 1}, "FusedConv": {1}, "LSTM": {1, 2}, "GRU": {1, 2},
    "RNN": {1, 2}, "Attention": {1}, "MultiHeadAttention": {1, 2}, "MatMulNBits": {1},
}
_BIAS_SLOTS: dict[str, set[int]] = {"Conv": {2}, "ConvTranspose": {2}, "Gemm": {2},
                                    "FusedConv": {3}, "FusedGemm": {2}, "Attention": {2},
                                    "LSTM": {3}, "GRU": {3}, "RNN": {3}}
_Q_OPS = {"QuantizeLinear", "DequantizeLinear"}
# contrib ops with packed low-bit weights qformat does not decode (yet)
_UNSUPPORTED_QUANT_OPS = {"MatMulBnb4", "MatMulFpQ4", "QMoE", "MatMulBlockQuantizedFp8Weight",
                          "MatMulBlockQuantizedFp4Weight", "GatherPacked", "MatMulPacked",
                          "QOrderedMatMul", "QOrderedLinear", "QEmbedLayerNormalization",
                          "DynamicQuantizeLSTM"}
# op -> ((weight slot, scale slot, zero slot, axis rule), ...) for QOperator/dynamic ops whose
# weights carry their scale and zero point as neighbouring inputs. Axis rules: "out" = dim 0,
# "row" = dim -2, "col" = dim -1, "gemm" = 0 if transB else 1, "none" = per-tensor only.
_QOP_SLOTS: dict[tuple[str, str], tuple[tuple[int, int, int, str], ...]] = {
    (ONNX, "QLinearConv"): ((3, 4, 5, "out"),),
    (ONNX, "QLinearMatMul"): ((0, 1, 2, "row"), (3, 4, 5, "col")),
    (MS, "QGemm"): ((0, 1, 2, "none"), (3, 4, 5, "gemm")),
    (MS, "QLinearAdd"): ((0, 1, 2, "none"), (3, 4, 5, "none")),
    (MS, "QLinearMul"): ((0, 1, 2, "none"), (3, 4, 5, "none")),
    (MS, "QLinearWhere"): ((1, 2, 3, "none"), (4, 5, 6, "none")),
    (MS, "QAttention"): ((1, 4, 7, "col"), (0, 3, 6, "none")),
    (MS, "QLinearConv"): ((3, 4, 5, "out"),),
    (MS, "MatMulIntegerToFloat"): ((1, 3, 5, "col"), (0, 2, 4, "row")),
    (MS, "DynamicQuantizeMatMul"): ((1, 2, 3, "col"),),
}
# QOperator ops whose output is a quantized activation: op -> index of the output zero point
_QOP_OUTPUT_ZP: dict[tuple[str, str], int] = {
    (ONNX, "QLinearConv"): 7, (ONNX, "QLinearMatMul"): 7, (MS, "QGemm"): 8,
    (MS, "QLinearAdd"): 7, (MS, "QLinearMul"): 7, (MS, "QLinearWhere"): 8,
    (MS, "QLinearConv"): 7, (MS, "QLinearSigmoid"): 4, (MS, "QLinearLeakyRelu"): 4,
    (MS, "QLinearSoftmax"): 4, (MS, "QLinearAveragePool"): 4,
    (MS, "QLinearGlobalAveragePool"): 4, (MS, "QLinearReduceMean"): 4, (MS, "QLinearConcat"): 1,
}
_DYNAMIC_METHOD_OPS = {"MatMulIntegerToFloat", "DynamicQuantizeMatMul"}


@dataclass
class Affine:
    """``(q - zero_point) * scale`` with per-tensor, per-axis or blocked parameters."""

    codes: StoredTensor
    scale: StoredTensor | None  # None: not recoverable from the file (computed at run time)
    zero: StoredTensor | None
    granularity: str  # "per-tensor", "per-channel", "blocked"
    axis: int | None
    block_size: int | None
    out_type: OnnxType  # float type of the dequantized values
    round_output: bool  # the op's output is a tensor of out_type (DequantizeLinear, fp16)
    scale_factors: tuple[StoredTensor, ...] = ()  # implicit scale = product of these
    scale_axis_shape: tuple[int, ...] | None = None  # broadcast-form scales (QLinearMatMul N-D)


@dataclass
class NBits:
    """com.microsoft::MatMulNBits: packed ``bits``-wide codes along K, blocks of ``block_size``."""

    codes: StoredTensor
    scales: StoredTensor
    zero: StoredTensor | None
    g_idx: StoredTensor | None
    K: int
    N: int
    bits: int
    block_size: int
    k_blocks: int
    accuracy_level: int | None
    prepacked: int


@dataclass
class GatherBQ:
    """com.microsoft::GatherBlockQuantized: a blockwise-quantized embedding table."""

    codes: StoredTensor
    scales: StoredTensor
    zero: StoredTensor | None
    bits: int
    components: int  # codes per stored element (uint8 data packs 8/bits codes)
    gather_axis: int
    quantize_axis: int
    block_size: int  # effective block size along quantize_axis
    block_attr: int
    shape: tuple[int, ...]


@dataclass
class Entry:
    """One tensor the model lists: stored as is (``quant`` None) or quantized."""

    name: str
    stored: StoredTensor | None
    shape: tuple[int, ...]
    method: str = "none"
    role: str = "other"  # weight, embedding, bias, other
    quant: Affine | NBits | GatherBQ | None = None
    ops: list[str] = field(default_factory=list)  # ops that use the tensor
    quant_op: str | None = None  # the node that defines the quantization
    evidence: list[str] = field(default_factory=list)
    unsupported: str | None = None  # why get() cannot decode it (None: it can)
    sparse: Any = None  # SparseTensorProto for sparse initializers
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def parts(self) -> list[tuple[str, StoredTensor]]:
        q = self.quant
        if q is None:
            return [("data", self.stored)] if self.stored is not None else []
        out: list[tuple[str, StoredTensor]] = [("codes", q.codes)]
        if isinstance(q, Affine):
            if q.scale is not None and q.scale is not q.codes:
                out.append(("scale", q.scale))
        else:
            out.append(("scales", q.scales))
        if q.zero is not None:
            out.append(("zero_point", q.zero))
        if isinstance(q, NBits) and q.g_idx is not None:
            out.append(("g_idx", q.g_idx))
        return out


@dataclass
class Activation:
    """A quantized activation (a graph value, not stored): reported by dtype only."""

    name: str
    dtype: OnnxType | None
    op: str
    dynamic: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype.label if self.dtype else None,
                "op": self.op, "dynamic": self.dynamic}


@dataclass
class Analysis:
    entries: dict[str, Entry]
    activations: dict[str, Activation]
    fake_quant: dict[str, str]


def _norm_axis(axis: int, rank: int, *, where: dict[str, Any], field_name: str) -> int:
    a = axis + rank if axis < 0 else axis
    if not 0 <= a < rank:
        raise HeaderError("quantization axis out of range", **where, field=field_name,
                          expected=f"{-rank}..{rank - 1}", found=axis)
    return a


class _Analyser:
    def __init__(self, g: Graph, path: str) -> None:
        self.g = g
        self.path = path
        self.entries: dict[str, Entry] = {}
        self.activations: dict[str, Activation] = {}
        self.absorbed: set[str] = set()  # stored tensors that are parts of something else
        self.fake_quant: dict[str, str] = {}

    # -- helpers -------------------------------------------------------------------------------
    def where(self, tensor: str | None = None) -> dict[str, Any]:
        return {"path": self.path, "tensor": tensor}

    def stored(self, name: str | None) -> StoredTensor | None:
        return self.g.stored.get(name) if name else None

    def value_type(self, name: str | None) -> OnnxType | None:
        if not name:
            return None
        st = self.stored(name)
        if st is not None:
            return st.type
        return self.g.value_types.get(name)

    def role_of(self, value: str, *, limit: int = 16) -> tuple[str, list[str]]:
        """What the value feeds (following shape-only ops): weight, embedding, bias or other."""
        ops: list[str] = []
        frontier = [value]
        seen = set()
        role = "other"
        steps = 0
        while frontier and steps < limit:
            steps += 1
            v = frontier.pop(0)
            if v in seen:
                continue
            seen.add(v)
            for node, idx in self.g.consumers.get(v, []):
                ops.append(node.qual)
                if node.op in _PASS_THROUGH:
                    frontier.extend(o for o in node.outputs if o)
                    continue
                if node.op in ("Gather", "GatherElements", "GatherND") and idx == 0:
                    role = "embedding" if role == "other" else role
                elif idx in _WEIGHT_SLOTS.get(node.op, set()):
                    role = "weight"
                elif idx in _BIAS_SLOTS.get(node.op, set()) or node.op in ("Add", "Sum"):
                    role = "bias" if role == "other" else role
        return role, sorted(set(ops))

    def add_entry(self, entry: Entry) -> None:
        prev = self.entries.get(entry.name)
        if prev is not None and prev.quant is not None:
            # the same stored tensor quantized twice (e.g. two DequantizeLinear nodes): keep the
            # first and say so; differing parameters would make "the" dequantized value ambiguous
            if entry.quant is not None and not _same_quant(prev.quant, entry.quant):
                raise HeaderError("tensor is dequantized by two nodes with different "
                                  "parameters", **self.where(entry.name), field="inputs",
                                  expected=prev.quant_op, found=entry.quant_op)
            prev.ops = sorted(set(prev.ops) | set(entry.ops))
            return
        self.entries[entry.name] = entry

    def absorb(self, *names: str | None) -> None:
        for n in names:
            if n:
                self.absorbed.add(n)

    def note_activation(self, name: str | None, dtype: OnnxType | None, op: str,
                        dynamic: bool = False) -> None:
        if not name or name in self.g.stored:
            return
        if name not in self.activations:
            self.activations[name] = Activation(name, dtype, op, dynamic)
        elif self.activations[name].dtype is None and dtype is not None:
            self.activations[name].dtype = dtype

    # -- the affine family ---------------------------------------------------------------------
    def affine(self, node: Node, codes_name: str, scale_name: str | None, zp_name: str | None,
               *, axis: int | None, block_size: int, rule: str | None,
               round_output: bool, out_type: OnnxType | None = None) -> Affine:
        """Build and validate an Affine from a node's slots (scale/zero must be stored)."""
        codes = self.g.stored[codes_name]
        where = self.where(codes_name)
        if codes.type.kind not in ("int", "uint", "float") or codes.type.name in (
                "FLOAT", "FLOAT16", "BFLOAT16", "DOUBLE"):
            raise HeaderError("quantized input has a non-quantized element type", **where,
                              field=f"{node.label()} input x", found=codes.type.name)
        scale = self.stored(scale_name)
        if scale_name and scale is None:
            scale_t = self.value_type(scale_name)
        else:
            scale_t = scale.type if scale is not None else None
        if scale is not None and scale.type.kind != "float":
            raise HeaderError("scale is not a float tensor", **where, field="scale",
                              expected="FLOAT, FLOAT16, BFLOAT16 or FLOAT8E8M0",
                              found=f"{scale.name}: {scale.type.name}")
        zero = self.stored(zp_name)
        if zp_name and zero is None:  # computed at run time: the caller marks it unsupported
            scale = None
        if zero is not None and zero.type.code != codes.type.code:
            raise HeaderError("zero point type differs from the quantized data type", **where,
                              field="zero_point", expected=codes.type.name,
                              found=f"{zero.name}: {zero.type.name}")
        if out_type is None:
            out_type = scale_t if scale_t is not None and scale_t.name in (
                "FLOAT", "FLOAT16", "BFLOAT16") else onnx_type(1)
        dims = codes.dims
        rank = len(dims)
        gran, ax, bs = "per-tensor", None, None
        bshape = None
        if scale is not None:
            sd = scale.dims
            if block_size:
                if block_size < 0:
                    raise HeaderError("negative block_size", **where, field="block_size",
                                      found=block_size)
                if len(sd) != rank:
                    raise HeaderError("blocked scale must have the rank of the data", **where,
                                      field="scale", expected=f"rank {rank}", found=list(sd))
                ax = _norm_axis(axis if axis is not None else 1, rank, where=where,
                                field_name="axis")
                want = [(d + block_size - 1) // block_size if i == ax else d
                        for i, d in enumerate(dims)]
                if list(sd) != want:
                    raise HeaderError("blocked scale shape does not match data and block_size",
                                      **where, field="scale", expected=want, found=list(sd))
                gran, bs = ("per-channel" if want[ax] == 1 and rank > 1 else "blocked"), \
                    block_size
            elif scale.numel == 1 and all(d == 1 for d in sd):
                gran = "per-tensor"
            elif len(sd) == 1:
                if rule == "none":
                    raise HeaderError("scale must be a scalar for this op", **where,
                                      field=f"{node.label()} scale", found=list(sd))
                if rule in ("out", "row", "col", "gemm"):
                    ax = {"out": 0, "row": rank - 2, "col": rank - 1,
                          "gemm": 0 if node.int_attr("transB", 0) else 1}[rule]
                    if not 0 <= ax < rank:
                        raise HeaderError("per-axis scale on a tensor of too low rank", **where,
                                          field="scale", found=list(dims))
                else:
                    ax = _norm_axis(axis if axis is not None else 1, rank, where=where,
                                    field_name="axis")
                if sd[0] != dims[ax]:
                    raise HeaderError("scale length does not match the quantized dimension",
                                      **where, field="scale",
                                      expected=f"{dims[ax]} (dim {ax} of {list(dims)})",
                                      found=sd[0])
                gran = "per-channel"
            elif len(sd) == rank and rule in ("row", "col") and all(
                    s in (1, d) for s, d in zip(sd, dims)):
                big = [i for i, (s, d) in enumerate(zip(sd, dims)) if s == d and d > 1]
                gran, bshape = "per-channel", tuple(sd)
                ax = big[-1] if big else None
            else:
                raise HeaderError("scale shape fits neither per-tensor, per-axis nor blocked",
                                  **where, field="scale", expected=f"scalar or 1-D along an "
                                  f"axis of {list(dims)}", found=list(sd))
            if zero is not None and list(zero.dims) != list(sd) and not (
                    zero.numel == 1 and scale.numel == 1):
                raise HeaderError("zero point shape differs from scale shape", **where,
                                  field="zero_point", expected=list(sd), found=list(zero.dims))
        if codes.type.kind == "float" and zero is not None:
            zero_vals = zero.values()
            if zero_vals.size and (zero_vals.astype("u1") != 0).any():
                raise HeaderError("float8 zero point must be zero", **where, field="zero_point")
        return Affine(codes, scale, zero, gran, ax, bs, out_type, round_output,
                      scale_axis_shape=bshape)

    # -- node handlers -------------------------------------------------------------------------
    def on_dequantize(self, node: Node) -> None:
        x, s, z = node.inp(0), node.inp(1), node.inp(2)
        if x is None or s is None:
            raise HeaderError("DequantizeLinear lacks inputs", path=self.path,
                              field=f"{node.label()} inputs", found=node.inputs)
        if x in self.g.stored:
            out_type = None
            od = node.int_attr("output_dtype")
            if od:
                out_type = onnx_type(od, path=self.path, tensor=x, field="output_dtype")
            q = self.affine(node, x, s, z, axis=node.int_attr("axis", 1),
                            block_size=node.int_attr("block_size", 0), rule=None,
                            round_output=True, out_type=out_type)
            self.absorb(s, z)
            role, ops = self.role_of(node.outputs[0]) if node.outputs else ("other", [])
            if q.codes.type.name == "INT32":
                role = "bias"
            ev = [f"{node.label()}", f"scale {s}"] + ([f"zero point {z}"] if z else [])
            why = None
            if q.scale is None:
                why = "the scale or zero point is computed at run time, not stored"
                ev.append("scale or zero point computed at run time")
            self.add_entry(Entry(x, q.codes, q.codes.dims, "onnx-qdq", role, q, ops,
                                 node.qual, ev, why))
            return
        # an activation: quantized upstream (or a quantized graph input)
        prod = self.g.producer.get(x)
        if prod is not None and prod.op == "QuantizeLinear" and prod.inp(0) in self.g.stored:
            return  # fake-quantized weight, handled by on_quantize
        dtype = self.value_type(z) or self.value_type(x)
        self.note_activation(x, dtype, node.qual)
        self.absorb(s, z)

    def on_quantize(self, node: Node) -> None:
        x, s, z = node.inp(0), node.inp(1), node.inp(2)
        if x is None:
            return
        dtype = self.value_type(z)
        if dtype is None and node.int_attr("output_dtype"):
            dtype = onnx_type(node.int_attr("output_dtype"), path=self.path,
                              field="output_dtype")
        if dtype is None and z is None:
            dtype = onnx_type(2)  # UINT8, the spec's default
        st = self.stored(x)
        self.absorb(s, z)
        if st is not None and st.type.kind == "float":
            # QuantizeLinear on a float weight: the file stores float; the graph rounds it
            self.fake_quant[x] = f"{node.label()} to {dtype.name if dtype else '?'}"
            return
        if node.outputs:
            self.note_activation(node.outputs[0], dtype, node.qual)

    def on_qoperator(self, node: Node, slots: tuple[tuple[int, int, int, str], ...]) -> None:
        dynamic = node.op in _DYNAMIC_METHOD_OPS
        method = "onnx-dynamic" if dynamic else "onnx-qoperator"
        for w, s, z, rule in slots:
            name = node.inp(w)
            if name is None:
                continue
            st = self.stored(name)
            if st is None or st.type.kind not in ("int", "uint"):
                if not dynamic:
                    self.note_activation(name, self.value_type(node.inp(z)) or
                                         self.value_type(name), node.qual)
                self.absorb(node.inp(s), node.inp(z))
                continue
            q = self.affine(node, name, node.inp(s), node.inp(z), axis=None, block_size=0,
                            rule=rule, round_output=False)
            self.absorb(node.inp(s), node.inp(z))
            why = None if q.scale is not None else \
                "the weight scale or zero point is not a stored tensor"
            role = "weight" if rule != "none" or node.op in ("QGemm",) else (
                "bias" if node.op == "QLinearAdd" else "other")
            ev = [node.label(), f"scale {node.inp(s)}"] + (
                [f"zero point {node.inp(z)}"] if node.inp(z) else [])
            self.add_entry(Entry(name, st, st.dims, method, role, q, [node.qual], node.qual, ev,
                                 why))
        # implicit-scale int32 bias: scale = input scale * weight scale
        bias_slot = {"QLinearConv": (8, 1, 4), "QGemm": (6, 1, 4)}.get(node.op)
        if bias_slot and node.inp(bias_slot[0]):
            b, xs, ws = (node.inp(i) for i in bias_slot)
            st = self.stored(b)
            if st is not None:
                self.bias_entry(node, st, xs, ws, method)
        zp_out = _QOP_OUTPUT_ZP.get((node.domain, node.op))
        if zp_out is not None and node.outputs:
            self.absorb(node.inp(zp_out), node.inp(zp_out - 1))
            if node.inp(zp_out) or node.op != "QGemm":
                self.note_activation(node.outputs[0], self.value_type(node.inp(zp_out)) or
                                     onnx_type(2), node.qual)
        if node.op == "QLinearConcat":  # inputs: Y_scale, Y_zp, then (X, X_scale, X_zp)*
            for i in range(2, len(node.inputs), 3):
                self.absorb(node.inp(i + 1), node.inp(i + 2))
                self.note_activation(node.inp(i), self.value_type(node.inp(i + 2)), node.qual)
        elif (node.domain, node.op) in _QOP_OUTPUT_ZP and not slots:
            self.note_activation(node.inp(0), self.value_type(node.inp(2)), node.qual)
            self.absorb(node.inp(1), node.inp(2))

    def bias_entry(self, node: Node, st: StoredTensor, xs: str | None, ws: str | None,
                   method: str) -> None:
        where = self.where(st.name)
        if st.type.name != "INT32":
            raise HeaderError("quantized bias must be INT32", **where, field="bias",
                              found=st.type.name)
        factors = [self.stored(xs), self.stored(ws)]
        if any(f is None or f.type.kind != "float" for f in factors):
            self.add_entry(Entry(st.name, st, st.dims, method, "bias", None, [node.qual],
                                 node.qual, [node.label()],
                                 "the bias scale (input scale x weight scale) is not stored"))
            return
        xsc, wsc = factors
        if xsc.numel != 1:
            raise HeaderError("input scale of a quantized op must be a scalar", **where,
                              field="x_scale", found=list(xsc.dims))
        if len(st.dims) != 1 or wsc.numel not in (1, st.dims[0]):
            raise HeaderError("bias length does not match the weight scale", **where,
                              field="bias", expected=f"[{wsc.numel}] or scalar scale",
                              found=list(st.dims))
        gran = "per-channel" if wsc.numel > 1 else "per-tensor"
        q = Affine(st, None, None, gran, 0 if gran == "per-channel" else None, None,
                   onnx_type(1), False, scale_factors=(xsc, wsc))
        ev = [node.label(), f"implicit scale {xsc.name} x {wsc.name}, zero point 0"]
        self.add_entry(Entry(st.name, st, st.dims, method, "bias", q, [node.qual], node.qual,
                             ev))

    def dynamic_scale(self, node: Node, weight: str, n_out: int) -> tuple[StoredTensor | None,
                                                                             str]:
        """The weight scale of MatMulInteger/ConvInteger: it multiplies the op's result."""
        def fits(st: StoredTensor | None) -> bool:
            return st is not None and st.type.kind == "float" and st.numel in (1, n_out)

        frontier = [o for o in node.outputs if o]
        for _ in range(4):
            nxt = []
            for v in frontier:
                for c, idx in self.g.consumers.get(v, []):
                    if c.op in ("Cast", "Identity"):
                        nxt.extend(o for o in c.outputs if o)
                    elif c.op == "Mul" and len(c.inputs) == 2:
                        other = c.inputs[1 - idx]
                        st = self.g.float_stored(other)
                        if fits(st):
                            return st, f"multiplied in by {c.label()}"
                        p = self.g.producer.get(other)
                        if p is not None and p.op == "Mul":
                            cands = [self.g.float_stored(i) for i in p.inputs]
                            cands = [c2 for c2 in cands if fits(c2)]
                            if len(cands) == 1:
                                return cands[0], (f"multiplied in by {c.label()} "
                                                  f"(product {p.label()})")
            frontier = nxt
        base = weight[: -len("_quantized")] if weight.endswith("_quantized") else weight
        st = self.g.float_stored(base + "_scale")
        if fits(st):
            return st, "found by name (<weight>_scale)"
        return None, "weight scale not found"

    def on_integer_op(self, node: Node) -> None:
        # MatMulInteger(A, B, a_zero_point, b_zero_point) / ConvInteger(x, w, x_zp, w_zp)
        for w, z in ((1, 3), (0, 2)):
            name = node.inp(w)
            st = self.stored(name)
            if st is None:
                if name and w == 0:
                    self.absorb(node.inp(z))
                continue
            dims = st.dims
            if node.op == "ConvInteger":
                n_out, rule = (dims[0] if dims else 1), "out"
            else:
                n_out, rule = (dims[-1] if w == 1 else dims[-2]) if len(dims) >= 2 else 1, (
                    "col" if w == 1 else "row")
            scale, how = self.dynamic_scale(node, name, n_out)
            zp = node.inp(z)
            if scale is None:
                zero = self.stored(zp)
                if zero is not None and zero.type.code != st.type.code:
                    raise HeaderError("zero point type differs from the quantized data type",
                                      **self.where(name), field="zero_point",
                                      expected=st.type.name, found=zero.type.name)
                q = Affine(st, None, zero, "per-tensor", None, None, onnx_type(1), False)
                self.absorb(zp)
                self.add_entry(Entry(name, st, dims, "onnx-dynamic", "weight", q,
                                     [node.qual], node.qual, [node.label(), how],
                                     "the weight scale was not found in the graph"))
                continue
            q = self.affine(node, name, scale.name, zp, axis=None, block_size=0, rule=rule,
                            round_output=False)
            self.absorb(scale.name, zp)
            self.add_entry(Entry(name, st, dims, "onnx-dynamic", "weight", q, [node.qual],
                                 node.qual, [node.label(), f"scale {scale.name} {how}"] +
                                 ([f"zero point {zp}"] if zp else [])))

    def on_matmulnbits(self, node: Node) -> None:
        b = node.inp(1)
        st = self.stored(b)
        if st is None:
            return
        where = self.where(b)
        K, N, block = (node.int_attr(a) for a in ("K", "N", "block_size"))
        if K is None or N is None or block is None:
            raise HeaderError("MatMulNBits lacks a required attribute", **where,
                              field=f"{node.label()} attribute", expected="K, N, block_size",
                              found=sorted(node.attrs))
        bits = node.int_attr("bits", 4)
        if not 1 <= bits <= 8:
            raise HeaderError("MatMulNBits bits out of range", **where, field="bits",
                              expected="2..8", found=bits)
        if block < 16 or block & (block - 1):
            raise HeaderError("MatMulNBits block_size must be a power of two >= 16", **where,
                              field="block_size", found=block)
        if K <= 0 or N <= 0:
            raise HeaderError("MatMulNBits K and N must be positive", **where, field="K/N",
                              found=(K, N))
        if K * N > limits.MAX_ELEMENTS:
            raise LimitError("MatMulNBits K x N exceeds the element cap", **where,
                             field="K/N", expected=f"<= {limits.MAX_ELEMENTS}", found=K * N)
        kb = (K + block - 1) // block
        blob = block * bits // 8
        if st.type.name != "UINT8":
            raise HeaderError("MatMulNBits B must be UINT8", **where, field="B",
                              found=st.type.name)
        if list(st.dims) not in ([N, kb, blob], [N, kb * blob]) and st.numel != 0:
            raise HeaderError("MatMulNBits B shape does not match K, N, bits, block_size",
                              **where, field="B", expected=[N, kb, blob], found=list(st.dims))
        s_name, z_name, g_name = node.inp(2), node.inp(3), node.inp(4)
        scales = self.stored(s_name)
        if scales is None:
            raise UnsupportedError("MatMulNBits scales are not stored", **where,
                                   field="scales", found=s_name)
        if scales.type.name not in ("FLOAT", "FLOAT16", "BFLOAT16"):
            raise HeaderError("MatMulNBits scales must be FLOAT, FLOAT16 or BFLOAT16", **where,
                              field="scales", found=scales.type.name)
        if st.numel and list(scales.dims) not in ([N, kb], [N * kb]):
            raise HeaderError("MatMulNBits scales shape does not match N and K blocks",
                              **where, field="scales", expected=[N, kb],
                              found=list(scales.dims))
        zero = self.stored(z_name)
        if z_name and zero is None:
            raise UnsupportedError("MatMulNBits zero points are not stored", **where,
                                   field="zero_points", found=z_name)
        if zero is not None and st.numel:
            if zero.type.name == "UINT8":
                zb = (kb * bits + 7) // 8
                if list(zero.dims) not in ([N, zb], [N * zb]):
                    raise HeaderError("MatMulNBits packed zero points have the wrong shape",
                                      **where, field="zero_points", expected=[N, zb],
                                      found=list(zero.dims))
            elif zero.type.code == scales.type.code:
                if list(zero.dims) not in ([N, kb], [N * kb]):
                    raise HeaderError("MatMulNBits float zero points have the wrong shape",
                                      **where, field="zero_points", expected=[N, kb],
                                      found=list(zero.dims))
            else:
                raise HeaderError("MatMulNBits zero points must be UINT8 or the scale type",
                                  **where, field="zero_points",
                                  expected=f"UINT8 or {scales.type.name}",
                                  found=zero.type.name)
        g_idx = self.stored(g_name)
        if g_name and g_idx is None:
            raise UnsupportedError("MatMulNBits g_idx is not stored", **where, field="g_idx",
                                   found=g_name)
        if g_idx is not None and st.numel and (g_idx.type.name != "INT32"
                                               or list(g_idx.dims) != [K]):
            raise HeaderError("MatMulNBits g_idx must be INT32 of length K", **where,
                              field="g_idx", expected=f"INT32 [{K}]",
                              found=f"{g_idx.type.name} {list(g_idx.dims)}")
        acc = node.int_attr("accuracy_level")
        q = NBits(st, scales, zero, g_idx, K, N, bits, block, kb,
                  acc, node.int_attr("weight_prepacked", 0))
        self.absorb(s_name, z_name, g_name)
        ev = [node.label(), f"K={K} N={N} bits={bits} block_size={block}",
              f"scales {s_name} {list(scales.dims)} {scales.type.name}"]
        ev.append(f"zero points {z_name} {zero.type.name}" if zero is not None
                  else f"no zero points (implicit {1 << (bits - 1)})")
        unsupported = None
        if q.prepacked:
            unsupported = f"B is prepacked for an execution provider (weight_prepacked=" \
                          f"{q.prepacked})"
        notes = {}
        if st.numel == 0:  # K and N come from attributes only: never allocate from them
            notes["omitted_projection"] = True
            unsupported = unsupported or ("B is empty (an omitted projection: the op outputs "
                                          "only its bias)")
        self.add_entry(Entry(b, st, (K, N), "onnx-matmulnbits", "weight", q, [node.qual],
                             node.qual, ev, unsupported, notes=notes))

    def on_gather_block_quantized(self, node: Node) -> None:
        d = node.inp(0)
        st = self.stored(d)
        if st is None:
            return
        where = self.where(d)
        t = st.type
        fp = t.kind == "float"
        if t.name not in ("INT4", "UINT4", "UINT8") and not (fp and t.bits in (4, 8)):
            raise HeaderError("GatherBlockQuantized data type not supported by the op",
                              **where, field="data",
                              expected="INT4, UINT4, UINT8, FLOAT8*, FLOAT4E2M1", found=t.name)
        rank = len(st.dims)
        if rank < 1:
            raise HeaderError("GatherBlockQuantized data must have rank >= 1", **where,
                              field="data", found=list(st.dims))
        bits_attr = node.int_attr("bits", 4)
        if t.name == "UINT8":
            if bits_attr not in (2, 4, 8):
                raise HeaderError("GatherBlockQuantized uint8 bits must be 2, 4 or 8", **where,
                                  field="bits", found=bits_attr)
            bits, comps = bits_attr, 8 // bits_attr
        elif fp:
            bits, comps = t.bits, 1
        else:
            if bits_attr != 4:
                raise HeaderError("GatherBlockQuantized int4/uint4 requires bits=4", **where,
                                  field="bits", found=bits_attr)
            bits, comps = 4, 1
        gax = _norm_axis(node.int_attr("gather_axis", 0), rank, where=where,
                         field_name="gather_axis")
        qax = _norm_axis(node.int_attr("quantize_axis", 1), rank, where=where,
                         field_name="quantize_axis")
        if t.name == "UINT8" and (gax != 0 or qax != rank - 1 or gax == qax):
            raise HeaderError("GatherBlockQuantized uint8 needs gather_axis 0 and quantize_axis"
                              " last", **where, field="quantize_axis", found=(gax, qax))
        block_attr = node.int_attr("block_size", 128)
        shape = list(st.dims)
        shape[-1] *= comps if t.name == "UINT8" else 1
        dq = shape[qax]
        if block_attr == 0 and fp:
            block = max(dq, 1)
        elif block_attr >= 16 and not block_attr & (block_attr - 1):
            block = block_attr
        else:
            raise HeaderError("GatherBlockQuantized block_size must be a power of two >= 16",
                              **where, field="block_size", found=block_attr)
        scales = self.stored(node.inp(2))
        if scales is None:
            raise UnsupportedError("GatherBlockQuantized scales are not stored", **where,
                                   field="scales", found=node.inp(2))
        if scales.type.name not in ("FLOAT", "FLOAT16", "BFLOAT16"):
            raise HeaderError("GatherBlockQuantized scales must be a float type", **where,
                              field="scales", found=scales.type.name)
        want = [(dq + block - 1) // block if i == qax else shape[i] for i in range(rank)]
        ok = len(scales.dims) == rank and all(
            s == w or (fp and i != qax and s == 1) for i, (s, w) in
            enumerate(zip(scales.dims, want)))
        if not ok:
            raise HeaderError("GatherBlockQuantized scales shape does not match the data",
                              **where, field="scales", expected=want, found=list(scales.dims))
        zero = self.stored(node.inp(3))
        if node.inp(3) and zero is None:
            raise UnsupportedError("GatherBlockQuantized zero points are not stored", **where,
                                   field="zero_points", found=node.inp(3))
        if zero is not None:
            if fp:
                raise HeaderError("GatherBlockQuantized float data takes no zero points",
                                  **where, field="zero_points")
            if zero.type.code != t.code:
                raise HeaderError("zero point type differs from the quantized data type",
                                  **where, field="zero_points", expected=t.name,
                                  found=zero.type.name)
            zwant = list(scales.dims)
            if t.name == "UINT8" and comps > 1:
                zwant[qax] = (zwant[qax] + comps - 1) // comps
            if list(zero.dims) != zwant:
                raise HeaderError("GatherBlockQuantized zero points shape is wrong", **where,
                                  field="zero_points", expected=zwant, found=list(zero.dims))
        q = GatherBQ(st, scales, zero, bits, comps, gax, qax, block, block_attr, tuple(shape))
        self.absorb(node.inp(2), node.inp(3))
        ev = [node.label(), f"gather_axis={gax} quantize_axis={qax} block_size={block_attr} "
              f"bits={bits}", f"scales {scales.name} {scales.type.name}"]
        self.add_entry(Entry(d, st, tuple(shape), "onnx-gatherblockquantized", "embedding", q,
                             [node.qual], node.qual, ev))

    # -- driver --------------------------------------------------------------------------------
    def run(self) -> Analysis:
        g = self.g
        for node in g.nodes:
            dom = node.domain
            if node.op == "DequantizeLinear" and dom in (ONNX, MS):
                self.on_dequantize(node)
            elif node.op == "QuantizeLinear" and dom in (ONNX, MS):
                self.on_quantize(node)
            elif node.op in ("MatMulInteger", "ConvInteger") and dom == ONNX:
                self.on_integer_op(node)
            elif node.op == "DynamicQuantizeLinear" and dom == ONNX:
                self.note_activation(node.outputs[0] if node.outputs else None, onnx_type(2),
                                     node.qual, dynamic=True)
            elif node.op == "MatMulNBits" and dom == MS:
                self.on_matmulnbits(node)
            elif node.op == "GatherBlockQuantized" and dom == MS:
                self.on_gather_block_quantized(node)
            elif (dom, node.op) in _QOP_SLOTS:
                self.on_qoperator(node, _QOP_SLOTS[(dom, node.op)])
            elif (dom, node.op) in _QOP_OUTPUT_ZP:
                self.on_qoperator(node, ())
            elif dom == MS and node.op in _UNSUPPORTED_QUANT_OPS:
                for name in node.inputs:
                    st = self.stored(name)
                    if st is not None and st.type.kind in ("int", "uint") and name not in \
                            self.entries:
                        self.add_entry(Entry(name, st, st.dims, "none", "weight", None,
                                             [node.qual], node.qual, [node.label()],
                                             f"packed weights of {node.qual} are not "
                                             "decoded by qformat"))
        entries: dict[str, Entry] = {}
        quantized = self.entries
        for name, st in g.stored.items():
            if name in quantized:
                entries[name] = quantized[name]
            elif name in self.absorbed or st.origin == "constant":
                continue
            else:
                role, ops = self.role_of(name)
                e = Entry(name, st, st.dims, "none", role, None, ops)
                if name in self.fake_quant:
                    e.notes["fake_quantized_by"] = self.fake_quant[name]
                entries[name] = e
        for name, sp in g.sparse.items():
            if name not in self.absorbed:
                role, ops = self.role_of(name)
                entries[name] = Entry(name, None, tuple(int(d) for d in sp.dims), "none", role,
                                      None, ops, sparse=sp)
        return Analysis(entries, self.activations, self.fake_quant)


def _same_quant(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, Affine):
        return (a.scale is b.scale and a.zero is b.zero and a.axis == b.axis
                and a.block_size == b.block_size)
    return a.scales is b.scales and a.zero is b.zero


def analyse(g: Graph, path: str) -> Analysis:
    """Find every quantized tensor and activation in ``g``."""
    return _Analyser(g, path).run()


def op_summary(g: Graph) -> Counter:
    """Counts of the ops that say something about quantization."""
    keep = Counter()
    for qual, n in g.op_counts.items():
        op = qual.split("::", 1)[1]
        if (op in _Q_OPS or op.startswith("QLinear") or op in (
                "MatMulInteger", "ConvInteger", "DynamicQuantizeLinear", "MatMulNBits",
                "GatherBlockQuantized", "QGemm", "QAttention", "DynamicQuantizeMatMul",
                "MatMulIntegerToFloat") or op in _UNSUPPORTED_QUANT_OPS):
            keep[qual] = n
    return keep
