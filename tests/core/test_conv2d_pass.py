"""1-D convolutions rewritten as 2-D ones of unit height give the same numbers."""

import numpy as np
import onnx
import onnxruntime as ort
import torch

from studio.onnx.conv2d_pass import conv1d_as_conv2d


class Line(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv1d(3, 4, 5, padding=2, dilation=1)
        self.strided = torch.nn.Conv1d(4, 4, 3, stride=2, padding=1, dilation=1)
        self.up = torch.nn.ConvTranspose1d(4, 2, 4, stride=2, padding=1, output_padding=0)

    def forward(self, x):  # (N, 3, L) -> (N, 2, L)
        return self.up(torch.relu(self.strided(torch.relu(self.conv(x)))))


def test_rewritten_graph_matches_the_original_and_has_no_1d_conv_left(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "line.onnx"
    torch.onnx.export(Line().eval(), (torch.randn(2, 3, 16),), str(path), input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, dynamo=False, opset_version=18)
    model = onnx.load(str(path))
    assert conv1d_as_conv2d(model) == 3
    onnx.checker.check_model(model)
    weights = {init.name: init for init in model.graph.initializer}
    kernels = [weights[n.input[1]] for n in model.graph.node if n.op_type in ("Conv", "ConvTranspose")]
    assert [len(k.dims) for k in kernels] == [4, 4, 4]
    x = np.random.default_rng(0).standard_normal((5, 3, 16), dtype=np.float32)
    before = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    after = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    assert after.shape == before.shape == (5, 2, 16)
    np.testing.assert_allclose(after, before, atol=1e-5)
