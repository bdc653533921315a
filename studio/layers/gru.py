"""A GRU cell written out from an ``nn.GRU``'s weights, so decoders that unroll it export to plain ONNX ops."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def gru_cell(rnn: nn.GRU, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """One step of a single-layer ``nn.GRU`` written out from its weights (plain ONNX ops when unrolled).

    x [B, in], h [B, H] -> h' [B, H]; PyTorch's gate order: reset, update, new.
    """
    gi = F.linear(x, rnn.weight_ih_l0, rnn.bias_ih_l0)  # (B, 3H)
    gh = F.linear(h, rnn.weight_hh_l0, rnn.bias_hh_l0)  # (B, 3H)
    i_r, i_z, i_n = gi.chunk(3, dim=1)
    h_r, h_z, h_n = gh.chunk(3, dim=1)
    r, u = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return (1 - u) * n + u * h


def run_gru(rnn: nn.GRU, x: torch.Tensor, h0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``rnn(x, h0)``, also while being exported: (output [B, T, D*H], h_n [D, B, H]) for batch-first ``rnn``.

    ``nn.GRU.forward`` keeps a cached list of its weights and rebuilds it, by attribute assignment, when
    the parameters are no longer the tensors it cached. torch.export swaps every parameter for a traced
    one, so each export rebuilt the list and torch warned that attributes were assigned during export.
    While exporting, this calls the same GRU kernel with the weight list built fresh from the registered
    parameters (``all_weights``), which assigns nothing; training keeps nn.GRU's own path (on CUDA its
    cached list is cuDNN's single flattened buffer).
    """
    if torch.jit.is_tracing() and h0 is None:
        # The tracing exporter bakes a missing initial state in at the example's batch size; one built from
        # x's own batch axis stays dynamic.
        directions = 2 if rnn.bidirectional else 1
        h0 = x.new_zeros(rnn.num_layers * directions, x.shape[0], rnn.hidden_size)  # (D*L, B, H)
    if not torch.compiler.is_exporting():
        return rnn(x, h0)
    if not rnn.batch_first:
        raise ValueError("run_gru expects a batch_first GRU")
    directions = 2 if rnn.bidirectional else 1
    if h0 is None:
        h0 = x.new_zeros(rnn.num_layers * directions, x.shape[0], rnn.hidden_size)  # (D*L, B, H)
    weights = [w for layer in rnn.all_weights for w in layer]
    output, h_n = torch._VF.gru(x, h0, weights, rnn.bias, rnn.num_layers, float(rnn.dropout), rnn.training,
                                rnn.bidirectional, rnn.batch_first)
    return output, h_n
