"""The conditional Glow: still exactly invertible, with a log-determinant autograd agrees with, and steered by
what it is given."""

from __future__ import annotations

import torch
from torch.autograd.functional import jacobian

from studio.layers.conditional_glow import Condition, ConditionalGlow


def _random_flow() -> ConditionalGlow:
    torch.manual_seed(0)
    flow = ConditionalGlow((1, 4, 4), levels=2, steps=2, hidden=8, classes=3)
    flow.train()
    flow.log_prob(torch.rand(8, 1, 4, 4) - 0.5, _condition(8))  # data-dependent ActNorm init
    with torch.no_grad():
        for p in flow.parameters():  # off the identity start (the class tables start at zero)
            p.add_(0.1 * torch.randn_like(p))
    return flow.eval()


def _condition(n: int, seed: int = 1) -> Condition:
    g = torch.Generator().manual_seed(seed)
    given = (torch.rand(n, 1, 4, 4, generator=g) > 0.5).float()
    return Condition(torch.randint(-1, 3, (n,), generator=g), given, torch.rand(n, 1, 4, 4, generator=g) * 2 - 1)


def test_noise_round_trip_is_exact_under_a_condition():
    flow, cond = _random_flow(), _condition(5)
    x = torch.rand(5, 1, 4, 4) - 0.5
    with torch.no_grad():
        eps, _ = flow.to_noise(x, cond)
        torch.testing.assert_close(flow.from_noise(eps, cond), x, atol=1e-5, rtol=0)


def test_log_determinant_matches_autograd_under_a_condition():
    flow, cond = _random_flow(), _condition(1)
    x = torch.rand(1, 1, 4, 4) - 0.5
    _, logdet = flow.to_noise(x, cond)
    jac = jacobian(lambda v: flow.to_noise(v.view(1, 1, 4, 4), cond)[0][0], x.flatten())  # (16, 16)
    torch.testing.assert_close(logdet[0], torch.linalg.slogdet(jac)[1], atol=1e-4, rtol=1e-4)


def test_the_class_and_the_region_change_the_density():
    flow, cond = _random_flow(), _condition(4)
    x = torch.rand(4, 1, 4, 4) - 0.5
    with torch.no_grad():
        base = flow.log_prob(x, cond)
        other_class = flow.log_prob(x, cond._replace(label=(cond.label + 2) % 3))
        other_pixels = flow.log_prob(x, cond._replace(image=-cond.image))
    assert (base - other_class).abs().max() > 1e-3
    assert (base - other_pixels).abs().max() > 1e-3
