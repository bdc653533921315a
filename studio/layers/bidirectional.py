"""A small bidirectional Transformer over a token grid with a class token: every position reads every other,
so a masked position is predicted from everything known around it (MaskGIT, Chang et al. 2022).

Attention is written out as matrix products rather than a fused kernel, so the same graph exports to ONNX
unrolled over the sampler's iterations.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class Block(nn.Module):
    """Pre-LayerNorm self-attention and MLP, both residual."""

    def __init__(self, width: int, heads: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.ln_attention, self.ln_mlp = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t, width = x.shape[1], x.shape[2]
        head_dim = width // self.heads
        qkv = self.qkv(self.ln_attention(x)).reshape(-1, t, 3, self.heads, head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # (B, H, T, Dh) each
        weights = ((q @ k.transpose(-1, -2)) / math.sqrt(head_dim)).softmax(-1)  # (B, H, T, T)
        y = (weights @ v).transpose(1, 2).reshape(-1, t, width)  # (B, T, W)
        x = x + self.drop(self.proj(y))
        return x + self.drop(self.mlp(self.ln_mlp(x)))


class MaskedTokenTransformer(nn.Module):
    """(tokens [B, T] with ``mask_token`` where unknown, label [B] with -1 for any class) -> logits [B, T, codes]."""

    def __init__(self, codes: int, seq_len: int, classes: int, width: int = 128, layers: int = 4, heads: int = 4,
                 dropout: float = 0.1):
        super().__init__()
        self.codes, self.seq_len, self.classes = codes, seq_len, classes
        self.mask_token = codes  # one id past the codes
        self.token_embedding = nn.Embedding(codes + 1, width)
        self.class_embedding = nn.Embedding(classes + 1, width)  # row ``classes``: any class
        self.positions = nn.Parameter(torch.randn(1, seq_len + 1, width) * 0.02)  # the class token, then the grid
        self.blocks = nn.ModuleList(Block(width, heads, dropout) for _ in range(layers))
        self.ln_out = nn.LayerNorm(width)
        self.head = nn.Linear(width, codes)

    def forward(self, tokens: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        label = torch.where(label < 0, torch.full_like(label, self.classes), label)  # (B,)
        x = torch.cat([self.class_embedding(label)[:, None], self.token_embedding(tokens)], 1)  # (B, 1 + T, W)
        x = x + self.positions
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_out(x[:, 1:]))  # (B, T, codes)
