"""ONNX Runtime session options for generator files, chosen by the graph they open.

A decoder unrolled over every token (the text and music flows and VAEs: 48 to 256 steps in one graph)
has 5,000-20,000 nodes. ORT's memory-reuse planner takes time that grows faster than linearly with the
node count: 48 s to open a 256-step flow of 20,000 nodes, against 3.7 s with reuse off, and sampling
was no slower (26 ms against 29 ms for 16 fragments). Such graphs open with reuse off; every other
graph keeps ORT's defaults, whose reuse matters for large convolution activations.
"""

from __future__ import annotations

from pathlib import Path

import onnx
import onnxruntime as ort

#: graphs with more nodes than this are unrolled decoders (the largest convolutional one has under 500)
LONG_GRAPH_NODES = 4000


def node_count(path: str | Path) -> int:
    """Nodes in the file's main graph (weights are not read into tensors: a cheap look)."""
    return len(onnx.load(str(path), load_external_data=False).graph.node)


def session_options(path: str | Path | None = None, threads: int | None = None) -> ort.SessionOptions:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # errors only: a CPU fallback is expected, not alarming
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        opts.intra_op_num_threads = threads
    if path is not None and node_count(path) > LONG_GRAPH_NODES:
        opts.enable_mem_reuse = False  # see the module docstring
    return opts


def cpu_session(path: str | Path) -> ort.InferenceSession:
    """A CPU session on ``path`` with the options its graph needs (exports' checks, tests, scripts)."""
    return ort.InferenceSession(str(path), sess_options=session_options(path), providers=["CPUExecutionProvider"])
