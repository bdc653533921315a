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
