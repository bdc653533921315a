"""Masked parallel decoding: the cosine schedule, the inverse-CDF draw, and what the sampler keeps."""

from __future__ import annotations

import torch

from studio.families.maskgit import masked_decode, still_hidden
from studio.layers.bidirectional import MaskedTokenTransformer


def test_the_schedule_hides_all_at_the_start_and_none_at_the_end():
    unknown = torch.tensor([[49.0], [10.0], [0.0]])
    assert still_hidden(unknown, 0.0).flatten().tolist() == [49.0, 10.0, 0.0]
    assert still_hidden(unknown, 1.0).flatten().tolist() == [0.0, 0.0, 0.0]
    counts = [int(still_hidden(torch.tensor(49.0), r / 10)) for r in range(11)]
    assert counts == sorted(counts, reverse=True)  # never more hidden after a round than before


class FixedOdds(torch.nn.Module):
    """A stand-in network: the same distribution over codes at every position."""

    codes, mask_token = 4, 4

    def __init__(self, probs: list[float]):
        super().__init__()
        self.logits = torch.tensor(probs).log()

    def forward(self, tokens: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        return self.logits.expand(*tokens.shape, -1)


def test_the_draws_follow_the_networks_odds():
    odds = [0.1, 0.2, 0.3, 0.4]
    n, t = 4000, 5
    uniforms = torch.rand(n, 1, t, generator=torch.Generator().manual_seed(0))  # one round: all decided at once
    codes = masked_decode(FixedOdds(odds), torch.zeros(n, t, dtype=torch.int64), torch.zeros(n, t, dtype=torch.bool),
                          torch.full((n,), -1), uniforms)
    share = torch.bincount(codes.flatten(), minlength=4).float() / codes.numel()
    torch.testing.assert_close(share, torch.tensor(odds), atol=0.02, rtol=0)


def test_known_codes_stay_and_every_unknown_code_is_decided():
    torch.manual_seed(0)
    net = MaskedTokenTransformer(codes=8, seq_len=9, classes=3, width=16, layers=1, heads=2).eval()
    codes = torch.randint(0, 8, (6, 9))
    known = torch.rand(6, 9) > 0.5
    with torch.no_grad():
        labels = torch.tensor([-1, 0, 1, 2, 0, 1])
        out = masked_decode(net, codes, known, labels, torch.rand(6, 4, 9))
        chosen_at_random = masked_decode(net, codes, known, labels, torch.rand(6, 4, 9), torch.rand(6, 4, 9), 1.0)
    for filled in (out, chosen_at_random):
        assert torch.equal(filled[known], codes[known])
        assert int(filled.max()) < 8  # no mask token left
