"""GPT-2 built by ``transformers`` from a config (nothing downloaded), and its one-step KV-cache graphs."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def build_gpt(vocab: int, seq_len: int, width: int, layers: int, heads: int, dropout: float = 0.1) -> nn.Module:
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(vocab_size=vocab, n_positions=seq_len + 1, n_embd=width, n_layer=layers, n_head=heads,
                        resid_pdrop=dropout, embd_pdrop=dropout, attn_pdrop=dropout,
                        bos_token_id=vocab - 1, eos_token_id=vocab - 1)
    return GPT2LMHeadModel(config)


class StepModule(nn.Module):
    """(tokens [B, T], past [L, 2, B, H, P, Dh]) -> (logits of the next token [B, V], present [L, 2, B, H, P+T, Dh])."""

    def __init__(self, gpt: nn.Module):
        super().__init__()
        self.gpt = gpt
        self.layers = gpt.config.n_layer

    def forward(self, tokens: torch.Tensor, past: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        from transformers import DynamicCache

        past_len = past.shape[4]
        cache = DynamicCache(ddp_cache_data=[(past[i, 0], past[i, 1]) for i in range(self.layers)],
                             config=self.gpt.config)
        positions = torch.arange(past_len, past_len + tokens.shape[1], device=tokens.device)
        positions = positions.unsqueeze(0).expand(tokens.shape[0], -1)  # (B, T)
        out = self.gpt(input_ids=tokens, past_key_values=cache, position_ids=positions, use_cache=True)
        kv = out.past_key_values
        present = torch.stack([torch.stack([kv.layers[i].keys, kv.layers[i].values]) for i in range(self.layers)])
        return out.logits[:, -1], present


def _affine(conv1d: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """GPT-2's Conv1D (weight [in, out]) on x [..., in] as one MatMul + Add: the library's version
    flattens to 2-D and back, two Reshape nodes per projection in the exported graph."""
    return x @ conv1d.weight + conv1d.bias


class LeanStep(nn.Module):
    """The exported step graph: the same GPT-2 weights and maths as ``StepModule``, written out flat.

    (tokens [B, T], past [L, 2, B, H, P, Dh]) -> (logits [B, V], present [L, 2, B, H, P+T, Dh]).
    Without the library's cache objects and mask builders the 4-layer graph has 171 nodes instead of
    270, and node count is what a one-token decoding step pays for on a CPU. ``StepModule`` stays the
    PyTorch reference: the export checks this graph's greedy tokens against it.
    """

    def __init__(self, gpt: nn.Module):
        super().__init__()
        cfg = gpt.config
        self.wte, self.wpe = gpt.transformer.wte, gpt.transformer.wpe
        self.blocks, self.ln_f, self.head = gpt.transformer.h, gpt.transformer.ln_f, gpt.lm_head
        self.heads, self.head_dim = cfg.n_head, cfg.n_embd // cfg.n_head

    def forward(self, tokens: torch.Tensor, past: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, t = tokens.shape
        p = past.shape[4]
        x = self.wte(tokens) + self.wpe(torch.arange(p, p + t, device=tokens.device))  # (B, T, C)
        # Query i (at position p + i) sees keys 0..p + i.
        keys, queries = torch.arange(p + t, device=tokens.device), p + torch.arange(t, device=tokens.device)
        visible = keys[None, :] <= queries[:, None]  # (T, P+T)
        presents = []
        for i, block in enumerate(self.blocks):
            q, k, v = _affine(block.attn.c_attn, block.ln_1(x)).split(x.shape[2], dim=2)  # (B, T, C) each
            q = q.view(b, t, self.heads, self.head_dim).transpose(1, 2)  # (B, H, T, Dh); k, v: (B, H, P+T, Dh)
            k = torch.cat([past[i, 0], k.view(b, t, self.heads, self.head_dim).transpose(1, 2)], dim=2)
            v = torch.cat([past[i, 1], v.view(b, t, self.heads, self.head_dim).transpose(1, 2)], dim=2)
            presents.append(torch.stack([k, v]))
            scores = (q @ k.transpose(2, 3)) / math.sqrt(self.head_dim)  # (B, H, T, P+T)
            weights = torch.softmax(scores.masked_fill(~visible, float("-inf")), dim=-1)
            y = (weights @ v).transpose(1, 2).reshape(b, t, -1)  # (B, T, C)
            x = x + _affine(block.attn.c_proj, y)
            hidden = F.gelu(_affine(block.mlp.c_fc, block.ln_2(x)), approximate="tanh")  # GPT-2's "gelu_new"
            x = x + _affine(block.mlp.c_proj, hidden)
        return self.head(self.ln_f(x[:, -1])), torch.stack(presents)  # (B, V), (L, 2, B, H, P+T, Dh)


def lean_logits(gpt: nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """tokens [B, T] -> next-token logits [B, T, V]: GPT-2's training forward on the same weights, written flat.

    The library's forward builds attention masks, cache objects and output records on every call; for a small
    model on a CPU that bookkeeping is a large share of a step. This is the same maths (``LeanStep`` without a
    cache, with the fused causal attention kernel); a test checks it against the library's logits."""
    cfg = gpt.config
    b, t = tokens.shape
    heads, head_dim = cfg.n_head, cfg.n_embd // cfg.n_head
    core = gpt.transformer
    x = core.drop(core.wte(tokens) + core.wpe(torch.arange(t, device=tokens.device)))  # (B, T, C)
    dropout = cfg.attn_pdrop if gpt.training else 0.0
    for block in core.h:
        q, k, v = _affine(block.attn.c_attn, block.ln_1(x)).split(x.shape[2], dim=2)  # (B, T, C) each
        q, k, v = (a.view(b, t, heads, head_dim).transpose(1, 2) for a in (q, k, v))  # (B, H, T, Dh)
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=True)  # (B, H, T, Dh)
        x = x + block.attn.resid_dropout(_affine(block.attn.c_proj, y.transpose(1, 2).reshape(b, t, -1)))
        hidden = F.gelu(_affine(block.mlp.c_fc, block.ln_2(x)), approximate="tanh")  # GPT-2's "gelu_new"
        x = x + block.mlp.dropout(_affine(block.mlp.c_proj, hidden))
    return gpt.lm_head(core.ln_f(x))  # (B, T, V)
