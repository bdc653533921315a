"""ONNX Runtime session options for generator files, chosen by the graph they open.

A decoder unrolled over every token (the text and music flows and VAEs: 48 to 256 steps in one graph)
has 5,000-20,000 nodes. ORT's memory-reuse planner takes time that grows faster than linearly with the
node count: 48 s to open a 256-step flow of 20,000 nodes, against 3.7 s with reuse off, and sampling
was no slower (26 ms against 29 ms for 16 fragments). Such graphs open with reuse off; every other
graph keeps ORT's defaults, whose reuse matters for large convolution activations.

No session keeps a CPU memory arena: an arena holds on to its largest batch's activations for as long as
the session lives, and the app keeps every generator open. An image re-score (batches of 500) left about
400 MB per one-shot model held that way, and the three Transformers' step graphs 350 MB to 1.3 GB each
(3.1 GB in all after re-scoring every tab, against 1.0 GB without arenas). The price is speed where a
graph runs once per token on a large batch: the music Transformer drew 250 fragments in 43 s instead of
17 s (a re-score); one visitor's 16 fragments are not measurably slower.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import onnxruntime as ort

#: graphs with more nodes than this are unrolled decoders (the largest convolutional one has under 500)
LONG_GRAPH_NODES = 4000
MODEL_GRAPH_FIELD, GRAPH_NODE_FIELD = 7, 1  # ModelProto.graph, GraphProto.node (onnx.proto)
MODEL_METADATA_FIELD = 14  # ModelProto.metadata_props: entries of key (1) and value (2)


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(buf: memoryview) -> Iterator[tuple[int, memoryview | None]]:
    """(field number, payload of a length-delimited field or None) for each top-level protobuf field."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = _varint(buf, pos)
            yield number, None
        elif wire == 2:
            size, pos = _varint(buf, pos)
            yield number, buf[pos : pos + size]
            pos += size
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
            yield number, None
        else:
            raise ValueError(f"unexpected protobuf wire type {wire}")


def file_facts(path: str | Path) -> tuple[int, dict[str, str]]:
    """(nodes in the main graph, metadata) of an ONNX file, read from the protobuf's framing without
    decoding the rest (the app runs without the onnx package, and this look must stay cheap)."""
    buf = memoryview(Path(path).read_bytes())
    nodes, metadata = 0, {}
    for number, payload in _fields(buf):
        if number == MODEL_GRAPH_FIELD and payload is not None:
            nodes = sum(1 for field, _ in _fields(payload) if field == GRAPH_NODE_FIELD)
        elif number == MODEL_METADATA_FIELD and payload is not None:
            entry = {field: bytes(value).decode() for field, value in _fields(payload) if value is not None}
            metadata[entry.get(1, "")] = entry.get(2, "")
    return nodes, metadata


def node_count(path: str | Path) -> int:
    """Nodes in the file's main graph."""
    return file_facts(path)[0]


def session_options(path: str | Path | None = None, threads: int | None = None) -> ort.SessionOptions:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # errors only: a CPU fallback is expected, not alarming
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        opts.intra_op_num_threads = threads
    # see the module docstring for both
    opts.enable_cpu_mem_arena = False
    if _nodes_or_zero(path) > LONG_GRAPH_NODES:
        opts.enable_mem_reuse = False
    return opts


def _nodes_or_zero(path: str | Path | None) -> int:
    if path is None:
        return 0
    try:
        return node_count(path)
    except (OSError, ValueError, IndexError, UnicodeDecodeError):  # not a readable ONNX file: ORT will say so
        return 0


def cpu_session(path: str | Path) -> ort.InferenceSession:
    """A CPU session on ``path`` with the options its graph needs (exports' checks, tests, scripts)."""
    return ort.InferenceSession(str(path), sess_options=session_options(path), providers=["CPUExecutionProvider"])
