"""Flow properties on tiny sizes: invertibility, the log-determinant against autograd, dequantization."""

from __future__ import annotations

import math

import pytest
import torch
from torch.autograd.functional import jacobian

from studio.families.flow import FlowProcess
from studio.image.networks.heads import FlowToUint8, PixelDequantization, dequantize
from studio.layers.glow import (
    INVERSE_GUARD,
    ActNorm,
    AffineCoupling,
    Glow,
    InvConv1x1,
    LogitPreprocess,
    squeeze,
    unsqueeze,
)


def _random_glow(shape=(1, 4, 4), levels=2, steps=2, logit_alpha=0.0) -> Glow:
    torch.manual_seed(0)
    flow = Glow(shape, levels=levels, steps=steps, hidden=8, logit_alpha=logit_alpha)
    flow.train()
    flow.log_prob(torch.rand(8, *shape) - 0.5)  # data-dependent ActNorm init
    with torch.no_grad():
        for p in flow.parameters():  # move off the identity start so the test means something
            p.add_(0.1 * torch.randn_like(p))
    return flow.eval()


def test_squeeze_round_trips():
    x = torch.randn(2, 3, 8, 6)
    assert squeeze(x).shape == (2, 12, 4, 3)
    torch.testing.assert_close(unsqueeze(squeeze(x)), x)


@pytest.mark.parametrize("shape,levels,alpha", [((1, 4, 4), 2, 0.0), ((1, 8, 8), 3, 0.0), ((1, 28, 28), 2, 0.0),
                                                ((1, 4, 4), 2, 0.05)])
def test_noise_round_trip_is_exact(shape, levels, alpha):
    flow = _random_glow(shape, levels, logit_alpha=alpha)
    x = torch.rand(5, *shape) - 0.5
    eps, _ = flow.to_noise(x)
    assert eps.shape == (5, math.prod(shape))
    torch.testing.assert_close(flow.from_noise(eps), x, atol=1e-5, rtol=1e-4)
    # and the other way round, with the frozen inverse used by the exported graph
    flow.freeze_for_export()
    e = torch.randn(3, math.prod(shape))
    torch.testing.assert_close(flow.to_noise(flow.from_noise(e))[0], e, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("shape,levels,alpha", [((1, 4, 4), 2, 0.0), ((2, 4, 4), 1, 0.0), ((1, 4, 4), 2, 0.05)])
def test_log_determinant_matches_autograd(shape, levels, alpha):
    flow = _random_glow(shape, levels, logit_alpha=alpha)
    x = torch.rand(3, *shape) - 0.5
    _, logdet = flow.to_noise(x)
    for i in range(3):
        jac = jacobian(lambda v: flow.to_noise(v.view(1, *shape))[0].view(-1), x[i].reshape(-1))
        assert torch.linalg.slogdet(jac)[1].item() == pytest.approx(logdet[i].item(), abs=1e-3)


@pytest.mark.parametrize("layer", [ActNorm(4), InvConv1x1(4), AffineCoupling(4, 8), LogitPreprocess(0.05)],
                         ids=lambda m: type(m).__name__)
def test_each_layer_inverts_and_reports_its_log_determinant(layer):
    torch.manual_seed(1)
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(0.2 * torch.randn_like(p))
    if isinstance(layer, ActNorm):
        layer.initialized.fill_(1)
    layer.eval()
    x = torch.rand(2, 4, 2, 2) - 0.5  # pixel values: inside the logit layer's domain
    y, logdet = layer(x)
    torch.testing.assert_close(layer.inverse(y), x, atol=1e-5, rtol=1e-4)
    jac = jacobian(lambda v: layer(v.view(1, 4, 2, 2))[0].view(-1), x[0].reshape(-1))
    assert torch.linalg.slogdet(jac)[1].item() == pytest.approx(logdet[0].item(), abs=1e-4)


def test_logit_preprocessing_stretches_the_ends_of_the_pixel_range():
    layer = LogitPreprocess(0.05)
    cells = torch.tensor([0.0, 127.0, 255.0]).view(1, 3, 1, 1)  # the cells of pixels 0, 127 and 255
    lo, _ = layer(cells / 256 - 0.5)
    hi, _ = layer((cells + 1) / 256 - 0.5)
    width = (hi - lo).flatten()
    assert width[0] > 2 * width[1] and width[2] > 2 * width[1]  # black and white cells are the widest
    with pytest.raises(ValueError, match="logit_alpha"):
        LogitPreprocess(0.5)


def test_sampler_stays_finite_when_a_coupling_scale_underflows():
    flow = _random_glow((1, 4, 4), logit_alpha=1e-6).freeze_for_export()
    eps = torch.randn(4, 16)
    before = flow.from_noise(eps)
    coupling = flow.levels[0][0].layers[2]
    with torch.no_grad():
        coupling.net[-1].bias[1::2] = -200.0  # scale = sigmoid(-198): 0 in float32, an infinite inverse
    after = flow.from_noise(eps)
    assert torch.isfinite(after).all() and not torch.equal(before, after)
    assert after.abs().max() <= 0.5 + 1e-5  # pixel values, not NaN that casts to an arbitrary byte
    # Inside the guard nothing changes: an ordinary draw is the exact inverse (round trip above).
    assert before.abs().max() < INVERSE_GUARD


def test_dequantization_stays_inside_each_pixels_bin():
    x_unit = torch.tensor([-1.0, 0.0039215, 1.0])  # pixels 0, 128, 255
    for noise in (torch.zeros(3), torch.full((3,), 0.999)):
        d = dequantize(x_unit, noise)
        pixels = torch.floor((d + 0.5) * 256)
        assert pixels.tolist() == [0.0, 128.0, 255.0]


def test_nll_is_in_bits_per_dim_and_exported_head_returns_pixels():
    process = FlowProcess(_random_glow((1, 4, 4)), modality="image", sample_shape=(4, 4, 1),
                          dequantization=PixelDequantization((1, 4, 4)))
    x = torch.rand(6, 1, 4, 4) * 2 - 1
    bpd = process.nll_bits(x)
    assert bpd.shape == (6,) and torch.isfinite(bpd).all()
    out = FlowToUint8(process.flow.freeze_for_export())(torch.randn(2, 16))
    assert out.dtype == torch.uint8 and out.shape == (2, 4, 4, 1)
    # A pixel's dequantized value decodes back to the same pixel through the exported head.
    xq = dequantize(x, torch.full_like(x, 0.5))
    eps, _ = process.flow.to_noise(xq)
    pixels = ((x + 1) * 127.5).round().permute(0, 2, 3, 1).to(torch.uint8)
    assert torch.equal(FlowToUint8(process.flow)(eps), pixels)
