"""A normalizing flow that steers: the density of a whole sample given a class and a visible part.

Batches are (sample, label). Each step draws the region to keep from the modality's mask family (which
includes "all hidden") and drops the label part of the time. The flow still maps a whole sample to noise, so
the given elements are replaced, before it sees them, by fresh uniform noise over the whole range: it learns
nothing about them but that they are noise (whose exact density is 1, zero bits), and reads their true values
only through the condition. So the exact NLL of the flow's input, minus nothing, bounds the NLL of the hidden
elements given the rest: the hidden cells carry the dequantization's volume, the given ones none.

Served, a sample is drawn whole and the given elements are copied over it; with nothing given and no class,
the generator first picks a class uniformly (the argmax of ``classes`` extra noise columns, which any
temperature leaves uniform) and draws from that class's prior: one Gaussian for every class at once covers the
classes unevenly (image-flow's class KL 0.32).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from studio.families.conditions import MaskFn, Steers, draw_conditions, held_out_ratio
from studio.families.flow import FlowProcess
from studio.layers.conditional_glow import Condition


class ConditionalFlowProcess(Steers, FlowProcess):

    def __init__(self, flow: nn.Module, *, classes: tuple[str, ...], masks: MaskFn,
                 export_head: Callable[[ConditionalFlowProcess], nn.Module], example: Callable[[int], Any],
                 label_drop: float = 0.5, completion_regions: dict[str, torch.Tensor] | None = None,
                 **flow_args: Any):
        super().__init__(flow, batch_example=example, **flow_args)
        self.classes, self.masks, self.export_head, self.label_drop = tuple(classes), masks, export_head, label_drop
        # name -> float mask [1, *element shape] (1 = given): the regions whose hidden NLL is recorded
        self.completion_regions = completion_regions or {}

    @property
    def z_dim(self) -> int:
        """The flow's noise, then one column per class for the class pick when nothing is given."""
        return self.dims + len(self.classes)

    def hidden_bits(self, x: torch.Tensor, label: torch.Tensor, given: torch.Tensor,
                    gen: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(per-example NLL of the hidden elements in bits [N] (an upper bound), hidden count [N])."""
        cells = self.deq.dequantize(x, None if gen is None else self.deq.noise_like(x, gen).to(x.device))
        filler = (torch.rand(x.shape, generator=gen) if gen is not None else torch.rand_like(x)).to(x.device) - 0.5
        given = given.expand_as(x)
        flow_input = torch.where(given > 0, filler, cells)  # given elements: noise of density 1 on [-1/2, 1/2)
        log_p = self.flow.log_prob(flow_input, Condition(label, given, x))
        hidden = (1 - given).flatten(1).sum(1)  # (N,)
        cell_log_volume = self.deq.cell_log_volume / self.deq.units  # nats, one hidden cell's (negative)
        return (-log_p - hidden * cell_log_volume) / math.log(2.0), hidden

    def loss(self, batch: tuple[torch.Tensor, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        x, label = batch
        label, given = draw_conditions(x, label, self.masks, self.label_drop)
        bits, hidden = self.hidden_bits(x, label, given)
        # Per element of the flow's input (a fixed count), so the gradient's scale does not swing with the mask.
        loss = (bits.sum() / (len(x) * self.deq.units))
        return {"loss": loss, "bits_hidden": bits.sum().detach() / hidden.sum().clamp_min(1.0)}

    def test_hidden_bits(self, x: torch.Tensor, label: torch.Tensor, given: torch.Tensor) -> float:
        """Bits per hidden element over the data, with fixed noise: a reproducible number."""
        return held_out_ratio(self, self.hidden_bits, (x, label, given))

    @torch.no_grad()
    def evaluate(self, split: str = "val") -> dict[str, float]:
        if self.eval_data is None:
            return {}
        x, labels = self.eval_data[0][:2000], self.eval_data[1][:2000]
        return {"likelihood": self.test_hidden_bits(x, torch.full_like(labels, -1), torch.zeros_like(x))}

    @torch.no_grad()
    def likelihood_metrics(self, data: dict[str, Any]) -> dict[str, Any]:
        """The test set's NLL with nothing given (comparable with the plain flow's), and of the hidden pixels of
        each completion region given the rest (an upper bound: see the module's note)."""
        x, labels = data["test_tensor"], data["test_labels"]
        any_class = torch.full_like(labels, -1)
        metrics = {"likelihood": self.test_hidden_bits(x, any_class, torch.zeros_like(x)),
                   "likelihood_unit": self.deq.unit, "likelihood_kind": "dequantized"}
        if self.completion_regions:
            first = x[:1000]
            metrics["completion_likelihood"] = {
                name: self.test_hidden_bits(first, any_class[:1000], mask.expand_as(first))
                for name, mask in self.completion_regions.items()}
        return metrics

    def export_module(self) -> nn.Module:
        return self.export_head(self)
