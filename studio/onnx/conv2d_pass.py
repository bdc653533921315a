"""Rewrite an ONNX graph's 1-D convolutions as 2-D ones of unit height, for ONNX Runtime's CPU kernels.

ORT's CPU provider runs 2-D convolutions through its blocked (NCHWc) kernels, but 1-D ones through a
generic path that reached a quarter of the matmul rate on the line and fragment GANs. A Conv over
(N, C, L) with a (C_out, C_in, K) kernel equals, on (N, C, 1, L), a Conv with a (C_out, C_in, 1, K)
kernel: same weights, same arithmetic. Each 1-D Conv becomes Unsqueeze -> 2-D Conv -> Squeeze; the
exported graph's parity check (studio.onnx.export) compares the result with PyTorch as before.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

#: the spatial axis added in front of the length: (N, C, L) -> (N, C, 1, L)
HEIGHT_AXIS = 2


def _spatial_attributes(node: onnx.NodeProto) -> list[onnx.AttributeProto]:
    """The node's attributes for a (1, L) window: kernel, strides, dilations, pads, output padding."""
    out = []
    for attr in node.attribute:
        value = helper.get_attribute_value(attr)
        if attr.name in ("kernel_shape", "strides", "dilations", "output_padding"):
            out.append(helper.make_attribute(attr.name, [1 if attr.name != "output_padding" else 0, *value]))
        elif attr.name == "pads":  # [begin_L, end_L] -> [begin_H, begin_L, end_H, end_L]
            out.append(helper.make_attribute("pads", [0, value[0], 0, value[1]]))
        elif attr.name == "output_shape":
            out.append(helper.make_attribute("output_shape", [1, *value]))
        else:
            out.append(attr)
    return out


def conv1d_as_conv2d(model: onnx.ModelProto) -> int:
    """Rewrite ``model``'s 1-D Conv and ConvTranspose nodes in place; returns how many were rewritten.

    Only nodes whose kernel is an initializer of rank 3 are touched (a kernel computed at run time keeps
    its node as it is)."""
    graph = model.graph
    weights = {init.name: init for init in graph.initializer}
    axes = "conv2d_pass_height_axis"
    nodes, rewritten, widened = [], 0, set()
    for node in graph.node:
        kernel = weights.get(node.input[1]) if node.op_type in ("Conv", "ConvTranspose") else None
        if kernel is None or (len(kernel.dims) != 3 and kernel.name not in widened):
            nodes.append(node)
            continue
        if kernel.name not in widened:  # a kernel that two nodes share grows once
            widened.add(kernel.name)
            w = numpy_helper.to_array(kernel)
            kernel.CopyFrom(numpy_helper.from_array(np.expand_dims(w, HEIGHT_AXIS), kernel.name))
        x, y = node.input[0], node.output[0]
        x4, y4 = f"{x}__as_2d_{rewritten}", f"{y}__as_2d"
        conv = helper.make_node(node.op_type, [x4, *node.input[1:]], [y4], name=f"{node.name or y}__2d")
        conv.attribute.extend(_spatial_attributes(node))
        nodes += [helper.make_node("Unsqueeze", [x, axes], [x4], name=f"{x4}__unsqueeze"), conv,
                  helper.make_node("Squeeze", [y4, axes], [y], name=f"{y}__squeeze")]
        rewritten += 1
    if rewritten:
        graph.initializer.append(numpy_helper.from_array(np.array([HEIGHT_AXIS], dtype=np.int64), axes))
        del graph.node[:]
        graph.node.extend(nodes)
    return rewritten
