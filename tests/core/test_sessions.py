"""Session options chosen from a file's own framing: node count and metadata, read without the onnx package."""

import onnx
from onnx import TensorProto, helper

from studio.onnx.options import LONG_GRAPH_NODES, file_facts, session_options


def _chain(path, nodes: int, kind: str) -> None:
    graph = helper.make_graph([helper.make_node("Identity", [f"t{i}"], [f"t{i + 1}"]) for i in range(nodes)], "g",
                              [helper.make_tensor_value_info("t0", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info(f"t{nodes}", TensorProto.FLOAT, [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    helper.set_model_props(model, {"studio.kind": kind, "other": "x"})
    onnx.save(model, str(path))


def test_reads_node_count_and_metadata_as_onnx_does(tmp_path):
    _chain(tmp_path / "m.onnx", 12, "one-shot")
    assert file_facts(tmp_path / "m.onnx") == (12, {"studio.kind": "one-shot", "other": "x"})


def test_long_graphs_skip_memory_reuse_and_no_session_keeps_an_arena(tmp_path):
    _chain(tmp_path / "long.onnx", LONG_GRAPH_NODES + 1, "one-shot")
    _chain(tmp_path / "step.onnx", 3, "autoregressive")
    long, step = session_options(tmp_path / "long.onnx"), session_options(tmp_path / "step.onnx")
    assert not long.enable_mem_reuse and not long.enable_cpu_mem_arena
    assert step.enable_mem_reuse and not step.enable_cpu_mem_arena


def test_an_unreadable_file_gets_the_plain_options_and_leaves_the_error_to_onnx_runtime(tmp_path):
    (tmp_path / "bad.onnx").write_bytes(b"\xff\xff\xff not a model")
    opts = session_options(tmp_path / "bad.onnx")
    assert opts.enable_mem_reuse and not opts.enable_cpu_mem_arena
