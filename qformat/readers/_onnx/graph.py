"""The ONNX graph as the reader needs it: nodes, stored tensors, producers and consumers.

Subgraphs (``If``/``Loop``/``Scan`` bodies) are walked too, up to
:data:`qformat.limits.ONNX_MAX_GRAPH_DEPTH`. Tensor names must be unique across the whole
model (the ONNX IR requires it); a duplicate is refused rather than letting one silently shadow
the other.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from ... import limits
from ...errors import HeaderError, LimitError
from .extdata import stat_external
from .tensors import StoredTensor, stored_from_proto
from .types import OnnxType, onnx_type

__all__ = ["Graph", "Node", "build_graph"]

_DEFAULT_DOMAINS = ("", "ai.onnx")


@dataclass
class Node:
    """One node with its attributes decoded to Python values."""

    op: str
    domain: str
    name: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any]

    @property
    def qual(self) -> str:
        return f"{self.domain}::{self.op}"

    def inp(self, i: int) -> str | None:
        """Input ``i``'s name, or None when absent or left empty (an omitted optional input)."""
        return self.inputs[i] if i < len(self.inputs) and self.inputs[i] else None

    def attr(self, name: str, default: Any = None) -> Any:
        return self.attrs.get(name, default)

    def int_attr(self, name: str, default: int | None = None) -> int | None:
        """An INT attribute; HeaderError if it has another type (a float axis, a string K)."""
        value = self.attrs.get(name, default)
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        raise HeaderError("attribute must be an integer", field=f"{self.label()} attribute "
                          f"{name}", found=value)

    def label(self) -> str:
        return f"{self.qual} {self.name!r}" if self.name else self.qual


@dataclass
class Graph:
    """Everything the analysis needs, indexed."""

    nodes: list[Node] = field(default_factory=list)
    stored: dict[str, StoredTensor] = field(default_factory=dict)
    sparse: dict[str, Any] = field(default_factory=dict)  # name -> SparseTensorProto
    value_types: dict[str, OnnxType] = field(default_factory=dict)
    consumers: dict[str, list[tuple[Node, int]]] = field(default_factory=lambda:
                                                         defaultdict(list))
    producer: dict[str, Node] = field(default_factory=dict)
    graph_inputs: set[str] = field(default_factory=set)
    graph_outputs: set[str] = field(default_factory=set)
    op_counts: Counter = field(default_factory=Counter)

    def float_stored(self, name: str | None) -> StoredTensor | None:
        t = self.stored.get(name) if name else None
        return t if t is not None and t.type.kind == "float" else None


def text(value: Any, *, field: str, path: str | None = None) -> str:
    """A protobuf string field; the Python protobuf runtime returns bytes for invalid UTF-8."""
    if isinstance(value, bytes):
        raise HeaderError("string field is not valid UTF-8", path=path, field=field,
                          found=value[:64])
    return value


def _texts(values: Any, *, field: str, path: str) -> list[str]:
    return [text(v, field=field, path=path) for v in values]


def _attr_value(attr: Any) -> Any:
    """AttributeProto -> Python value; subgraphs are kept as protos (walked separately)."""
    from onnx import AttributeProto

    t = attr.type
    if t == AttributeProto.INT:
        return int(attr.i)
    if t == AttributeProto.FLOAT:
        return float(attr.f)
    if t == AttributeProto.STRING:
        return bytes(attr.s)
    if t == AttributeProto.INTS:
        return [int(v) for v in attr.ints]
    if t == AttributeProto.FLOATS:
        return [float(v) for v in attr.floats]
    if t == AttributeProto.STRINGS:
        return [bytes(v) for v in attr.strings]
    if t == AttributeProto.TENSOR:
        return attr.t
    if t == AttributeProto.GRAPH:
        return attr.g
    if t == AttributeProto.GRAPHS:
        return list(attr.graphs)
    return None


def build_graph(model: Any, *, path: str, base_dir: str, file_size: int) -> Graph:
    """Index ``model`` (a ModelProto) and validate every stored tensor (no payload read)."""
    g = Graph()
    ext_sizes: dict[tuple[str, ...], int] = {}

    def add_stored(proto: Any, name: str, origin: str) -> None:
        if name in g.stored or name in g.sparse:
            raise HeaderError("duplicate tensor name", path=path, tensor=name,
                              field="initializer.name", found=name)
        st = stored_from_proto(proto, name=name, origin=origin, path=path, base_dir=base_dir,
                               file_size=file_size)
        if st.external is not None:
            key = st.external.parts
            if key not in ext_sizes:
                ext_sizes[key] = stat_external(base_dir, st.external, path=path, tensor=name)
            elif st.external.offset + st.external.length > ext_sizes[key]:
                raise HeaderError("external data range lies past the end of its file",
                                  path=path, tensor=name, field="external_data.offset",
                                  expected=f"offset + length <= {ext_sizes[key]}",
                                  found=f"offset {st.external.offset} + length "
                                        f"{st.external.length}")
        g.stored[name] = st

    def note_types(values: Any) -> None:
        for vi in values:
            name = text(vi.name, field="value_info.name", path=path)
            tt = vi.type
            if tt.HasField("tensor_type") and tt.tensor_type.elem_type:
                try:
                    g.value_types[name] = onnx_type(tt.tensor_type.elem_type)
                except Exception:
                    pass

    def walk(graph: Any, depth: int) -> None:
        if depth > limits.ONNX_MAX_GRAPH_DEPTH:
            raise LimitError("subgraphs are nested too deeply", path=path, field="graph",
                             expected=f"<= {limits.ONNX_MAX_GRAPH_DEPTH}", found=depth)
        for init in graph.initializer:
            add_stored(init, text(init.name, field="initializer.name", path=path),
                       "initializer")
        for sp in graph.sparse_initializer:
            name = text(sp.values.name, field="sparse_initializer.values.name", path=path)
            if name in g.stored or name in g.sparse:
                raise HeaderError("duplicate tensor name", path=path, tensor=name,
                                  field="sparse_initializer.values.name", found=name)
            g.sparse[name] = sp
        note_types(graph.input)
        note_types(graph.output)
        note_types(graph.value_info)
        if depth == 0:
            g.graph_inputs.update(_texts((v.name for v in graph.input), field="input.name",
                                         path=path))
            g.graph_outputs.update(_texts((v.name for v in graph.output),
                                          field="output.name", path=path))
        for proto in graph.node:
            raw_domain = text(proto.domain, field="node.domain", path=path)
            domain = "ai.onnx" if raw_domain in _DEFAULT_DOMAINS else raw_domain
            node_name = text(proto.name, field="node.name", path=path)
            attrs: dict[str, Any] = {}
            for a in proto.attribute:
                aname = text(a.name, field=f"node {node_name!r} attribute", path=path)
                if aname in attrs:
                    raise HeaderError("duplicate node attribute", path=path,
                                      field=f"node {node_name!r} attribute", found=aname)
                attrs[aname] = _attr_value(a)
            node = Node(text(proto.op_type, field="node.op_type", path=path), domain,
                        node_name, _texts(proto.input, field="node.input", path=path),
                        _texts(proto.output, field="node.output", path=path), attrs)
            g.nodes.append(node)
            g.op_counts[node.qual] += 1
            for i, name in enumerate(node.inputs):
                if name:
                    g.consumers[name].append((node, i))
            for name in node.outputs:
                if name:
                    g.producer[name] = node
            if node.op == "Constant" and domain == "ai.onnx" and node.outputs:
                value = attrs.get("value")
                if value is not None and not isinstance(value, list | bytes | int | float):
                    add_stored(value, node.outputs[0], "constant")
            for a in proto.attribute:
                if a.type == a.GRAPH:
                    walk(a.g, depth + 1)
                elif a.type == a.GRAPHS:
                    for sub in a.graphs:
                        walk(sub, depth + 1)

    if not model.HasField("graph"):
        raise HeaderError("model has no graph (truncated or not an ONNX model?)", path=path,
                          field="graph")
    walk(model.graph, 0)
    return g
