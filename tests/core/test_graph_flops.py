"""FLOPs counted from an ONNX graph's shapes, as the bench's yardstick uses them."""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from studio.onnx.graph_flops import graph_flops


def _model(path, nodes, inits, inputs, outputs):
    graph = helper.make_graph(nodes, "g", inputs, outputs, [numpy_helper.from_array(a, n) for n, a in inits.items()])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10), str(path))


def test_counts_gemm_conv_and_transposed_conv_at_the_batch_it_runs(tmp_path):
    rng = np.random.default_rng(0)
    inits = {"w": rng.standard_normal((5, 8), dtype=np.float32),  # Gemm B (K=5, N=8), not transposed
             "shape": np.array([0, 2, 4], dtype=np.int64),  # (N, 8) -> (N, 2, 4): a computed reshape
             "k": rng.standard_normal((3, 2, 3), dtype=np.float32),  # Conv1d: C_out 3, C_in 2, kernel 3
             "t": rng.standard_normal((3, 6, 2), dtype=np.float32)}  # ConvTranspose1d: C_in 3, C_out 6, kernel 2
    nodes = [helper.make_node("Gemm", ["z", "w"], ["h"]),
             helper.make_node("Reshape", ["h", "shape"], ["r"]),
             helper.make_node("Conv", ["r", "k"], ["c"], pads=[1, 1]),  # (N, 3, 4)
             helper.make_node("ConvTranspose", ["c", "t"], ["y"], strides=[2])]  # (N, 6, 8)
    path = tmp_path / "g.onnx"
    _model(path, nodes, inits, [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", 5])],
           [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    for n in (1, 7):
        gemm = 2 * n * 8 * 5
        conv = 2 * (n * 3 * 4) * (2 * 3)
        transposed = 2 * (n * 3 * 4) * (6 * 2)
        assert graph_flops(path, {"z": np.zeros((n, 5), np.float32)}) == gemm + conv + transposed


def test_counts_batched_matmul(tmp_path):
    path = tmp_path / "m.onnx"
    _model(path, [helper.make_node("MatMul", ["a", "b"], ["c"])], {},
           [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3, 4]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, [2, 4, 5])],
           [helper.make_tensor_value_info("c", TensorProto.FLOAT, None)])
    feeds = {"a": np.ones((2, 3, 4), np.float32), "b": np.ones((2, 4, 5), np.float32)}
    assert graph_flops(path, feeds) == 2 * 2 * 3 * 5 * 4
