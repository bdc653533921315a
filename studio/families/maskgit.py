"""A Transformer that steers by masked parallel decoding (MaskGIT, Chang et al. 2022) over a first stage's codes.

A bidirectional Transformer learns to predict the unknown codes of a grid from the known ones and a class.
Each training step takes real samples' codes and hides some: a region drawn from the modality's mask family
(whose codes are read from the sample with that region blacked out, as a visitor's picture gives them; the
family includes "all hidden"), then, of the codes still hidden, a share drawn from MaskGIT's cosine schedule is
shown again as the sampler will have decided them. The loss is the cross-entropy of the hidden codes.

Sampling starts from the known codes and decides the rest in ``iterations`` rounds: each round draws a code
for every unknown position, keeps the most confident, and leaves a cosine-scheduled share for later rounds.
The whole loop is unrolled into one graph, so the exported generator is one-shot: the noise z supplies, through
the normal CDF, one uniform number per position and round for the draw and one for the choice's Gumbel noise,
then a class pick.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from studio.families.base import GenerativeProcess, Phase
from studio.families.conditions import MaskFn, Steers, held_out_ratio
from studio.layers.bidirectional import MaskedTokenTransformer

#: (sample [N, ...] in the training scale, given [N, ...] 1 where given) -> (codes [N, T] of the sample with its
#: hidden part blacked out, known [N, T] bool: the codes whose whole patch is given)
RegionCodes = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def still_hidden(unknown: torch.Tensor, progress: float | torch.Tensor) -> torch.Tensor:
    """How many of ``unknown`` codes stay hidden once the sampler is ``progress`` (0..1) of the way: MaskGIT's
    cosine schedule, all at 0 and none at 1."""
    # clamped: float32's cos(pi/2) is -4e-8
    share = torch.cos(math.pi / 2 * torch.as_tensor(progress, dtype=torch.float32)).clamp_min(0.0)
    return torch.floor(unknown * share)


def masked_decode(net: MaskedTokenTransformer, codes: torch.Tensor, known: torch.Tensor, label: torch.Tensor,
                  uniforms: torch.Tensor, choice: torch.Tensor | None = None,
                  choice_temperature: float = 0.0) -> torch.Tensor:
    """Fill the unknown codes: ``codes`` [B, T] (anything where not ``known`` [B, T] bool), ``uniforms``
    [B, rounds, T] in (0, 1) for the draws -> codes [B, T].

    Which draws a round keeps: the most confident (log-probability), plus, with ``choice`` [B, rounds, T]
    uniforms, Gumbel noise scaled by ``choice_temperature`` and annealed to zero over the rounds (MaskGIT's
    randomised choice). Without it the order is the same for every seed, and so are most of the draws."""
    rounds = uniforms.shape[1]
    unknown = (~known).sum(1, keepdim=True).to(torch.float32)  # (B, 1)
    tokens = torch.where(known, codes, torch.full_like(codes, net.mask_token))  # (B, T)
    for r in range(rounds):
        probs = net(tokens, label).softmax(-1)  # (B, T, V)
        cdf = probs.cumsum(-1)
        drawn = (cdf < uniforms[:, r, :, None]).sum(-1).clamp(max=net.codes - 1)  # (B, T): inverse CDF
        confidence = probs.gather(-1, drawn[..., None])[..., 0].clamp_min(1e-30).log()  # (B, T)
        if choice is not None and choice_temperature > 0:
            u = choice[:, r].clamp(1e-6, 1 - 1e-6)
            confidence = confidence + choice_temperature * (1 - (r + 1) / rounds) * -torch.log(-torch.log(u))
        decided = tokens != net.mask_token
        drawn = torch.where(decided, tokens, drawn)
        confidence = torch.where(decided, torch.full_like(confidence, 1e9), confidence)  # decided ones stay
        rank = confidence.argsort(1).argsort(1)  # (B, T): 0 for the least confident
        tokens = torch.where(rank < still_hidden(unknown, (r + 1) / rounds), torch.full_like(drawn, net.mask_token),
                             drawn)
    return tokens


class MaskedTokenProcess(Steers, GenerativeProcess):
    family = "transformer"

    def __init__(self, net: MaskedTokenTransformer, *, first_stage: nn.Module, region_codes: RegionCodes,
                 modality: str, sample_shape: tuple[int, ...], classes: tuple[str, ...], masks: MaskFn,
                 export_head: Callable[[MaskedTokenProcess], nn.Module], example: Callable[[int], Any],
                 rounds: int = 10, choice_temperature: float = 1.0, lr: float = 1e-3, label_drop: float = 0.3,
                 eval_data: Any = None, preview_fn: Any = None):
        super().__init__(modality=modality, batch_example=example)
        self.net = net
        self.first_stage = first_stage  # the trained VQ-VAE: frozen here
        for p in first_stage.parameters():
            p.requires_grad_(False)
        self.region_codes, self.masks, self.export_head = region_codes, masks, export_head
        self.classes, self._sample_shape = tuple(classes), tuple(sample_shape)
        self.rounds, self.choice_temperature, self.lr, self.label_drop = rounds, choice_temperature, lr, label_drop
        self.eval_data, self.preview_fn = eval_data, preview_fn  # (samples, labels); not buffers

    @property
    def z_dim(self) -> int:
        """Two normal numbers per code and round (the draw, the choice), then one column per class for the pick
        when nothing is given."""
        return 2 * self.rounds * self.net.seq_len + len(self.classes)

    def sample_shape(self) -> tuple[int, ...]:
        return self._sample_shape

    def phases(self) -> list[Phase]:
        return [Phase("maskgit", self.net, self.loss, lr=self.lr, betas=(0.9, 0.95), weight_decay=0.01)]

    def masked_inputs(self, x: torch.Tensor, label: torch.Tensor,
                      gen: torch.Generator | None = None) -> tuple[torch.Tensor, ...]:
        """(input tokens [N, T] with the mask token where hidden, target codes [N, T], hidden [N, T] bool,
        label [N] with some dropped to -1) for a batch of samples ``x`` and labels."""
        device = x.device
        self.first_stage.eval()
        with torch.no_grad():
            given = self.masks(len(x), gen).to(device)
            target = self.first_stage.encode(x)  # (N, T)
            region, known = self.region_codes(x, given)  # (N, T), (N, T) bool
        # Of what the region hides, a cosine-scheduled share is shown again, as earlier rounds will have decided
        shown_share = 1 - torch.cos(math.pi / 2 * torch.rand(len(x), 1, generator=gen)).to(device)  # (N, 1)
        shown = (torch.rand(target.shape, generator=gen).to(device) < shown_share) & ~known
        tokens = torch.where(known, region, torch.where(shown, target, torch.full_like(target, self.net.mask_token)))
        dropped = (torch.rand(len(x), generator=gen) < self.label_drop).to(device)
        return tokens, target, ~(known | shown), torch.where(dropped, torch.full_like(label, -1), label)

    def hidden_cross_entropy(self, x: torch.Tensor, label: torch.Tensor,
                             gen: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(summed cross-entropy of the hidden codes in nats, their count)."""
        tokens, target, hidden, label = self.masked_inputs(x, label, gen)
        nll = F.cross_entropy(self.net(tokens, label).transpose(1, 2), target, reduction="none")  # (N, T)
        return (nll * hidden).sum(), hidden.sum()

    def loss(self, batch: tuple[torch.Tensor, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        total, count = self.hidden_cross_entropy(*batch)
        loss = total / count.clamp_min(1)
        return {"loss": loss, "bits_hidden": loss.detach() / math.log(2.0)}

    @torch.no_grad()
    def evaluate(self, split: str = "val") -> dict[str, float]:
        """Bits per hidden code on held-out samples, under the training mix of hidden parts (fixed draws)."""
        if self.eval_data is None:
            return {}
        x, labels = self.eval_data[0][:2000], self.eval_data[1][:2000]
        bits = held_out_ratio(self, self.hidden_cross_entropy, (x, labels)) / math.log(2.0)
        return {"bits_hidden_code": bits}

    def export_module(self) -> nn.Module:
        return self.export_head(self)
