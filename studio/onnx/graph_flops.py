"""Multiply-add FLOPs of an ONNX graph at a given batch, counted from the shapes it really runs with.

Only the operators that do the arithmetic are counted: Conv, ConvTranspose, Gemm and MatMul (2 FLOPs
per multiply-add). The shapes come from running the graph once in ONNX Runtime with every such
node's input and output exposed, so a Reshape whose target is computed, or a loop unrolled over steps,
counts exactly what executes. Elementwise work (activations, norms, softmax) is left out: it is memory
bound, and counting it would make "share of the matmul rate" look better than the arithmetic earns.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

COUNTED = ("Conv", "ConvTranspose", "Gemm", "MatMul")


def _attribute(node: onnx.NodeProto, name: str, default: object) -> object:
    for attr in node.attribute:
        if attr.name == name:
            return onnx.helper.get_attribute_value(attr)
    return default


def node_flops(node: onnx.NodeProto, shapes: dict[str, tuple[int, ...]]) -> int:
    """FLOPs of one counted node, given the concrete shapes of its inputs and outputs."""
    if node.op_type == "Conv":
        out, weight = shapes[node.output[0]], shapes[node.input[1]]  # (N, C_out, *S), (C_out, C_in/g, *K)
        return 2 * math.prod(out) * math.prod(weight[1:])
    if node.op_type == "ConvTranspose":
        x, weight = shapes[node.input[0]], shapes[node.input[1]]  # (N, C_in, *S), (C_in, C_out/g, *K)
        return 2 * math.prod(x) * math.prod(weight[1:])
    if node.op_type == "Gemm":
        a, b = shapes[node.input[0]], shapes[node.input[1]]
        m = a[1] if _attribute(node, "transA", 0) else a[0]
        k = a[0] if _attribute(node, "transA", 0) else a[1]
        n = b[0] if _attribute(node, "transB", 0) else b[1]
        return 2 * m * n * k
    if node.op_type == "MatMul":
        a, out = shapes[node.input[0]], shapes[node.output[0]]  # (..., M, K), (..., M, N)
        return 2 * math.prod(out) * a[-1]
    raise ValueError(f"{node.op_type} is not a counted operator")


def graph_flops(path: str | Path, feeds: dict[str, np.ndarray]) -> int:
    """FLOPs one run of the graph at ``path`` spends in its counted operators, for these inputs."""
    model = onnx.load(str(path))
    graph = model.graph
    known = {init.name: tuple(init.dims) for init in graph.initializer}
    counted = [node for node in graph.node if node.op_type in COUNTED]
    wanted = {name for node in counted for name in [*node.input[:2], node.output[0]]
              if name and name not in known}
    existing = {out.name for out in graph.output}
    for name in sorted(wanted - existing):
        graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep every node's output
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    names = [out.name for out in session.get_outputs()]
    shapes = {**known, **{name: tuple(value.shape) for name, value in zip(names, session.run(names, feeds))}}
    return sum(node_flops(node, shapes) for node in counted)


def ort_matmul_gflops(n: int = 2048, seconds: float = 1.5, threads: int | None = None) -> float:
    """The fp32 rate ONNX Runtime reaches on one large square MatMul (n x n by n x n), GFLOP/s."""
    import time

    a = onnx.helper.make_tensor_value_info("a", onnx.TensorProto.FLOAT, [n, n])
    b = onnx.helper.make_tensor_value_info("b", onnx.TensorProto.FLOAT, [n, n])
    c = onnx.helper.make_tensor_value_info("c", onnx.TensorProto.FLOAT, [n, n])
    graph = onnx.helper.make_graph([onnx.helper.make_node("MatMul", ["a", "b"], ["c"])], "matmul", [a, b], [c])
    # IR 10: the newest this onnxruntime reads (the onnx package writes a newer one by default)
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)], ir_version=10)
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {"a": rng.standard_normal((n, n), dtype=np.float32), "b": rng.standard_normal((n, n), dtype=np.float32)}
    for _ in range(2):
        session.run(None, feeds)
    calls, start = 0, time.perf_counter()
    while calls < 3 or time.perf_counter() - start < seconds:
        session.run(None, feeds)
        calls += 1
    return calls * 2 * n**3 / (time.perf_counter() - start) / 1e9


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), or the platform's processor string elsewhere."""
    import platform

    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()
