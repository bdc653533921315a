"""The fitted mixture prior: it recovers a known mixture, samples from it, and maps codes back to noise."""

from __future__ import annotations

import torch
from torch import distributions as D

from studio.families.vae import CodeToNoise
from studio.layers.latent_prior import GaussianMixturePrior


def two_clusters(n: int = 4000) -> torch.Tensor:
    """Codes [n, 2]: 30% around (-4, 0), 70% around (4, 2)."""
    gen = torch.Generator().manual_seed(0)
    first = torch.rand(n, generator=gen) < 0.3
    centres = torch.where(first[:, None], torch.tensor([-4.0, 0.0]), torch.tensor([4.0, 2.0]))
    return centres + 0.5 * torch.randn(n, 2, generator=gen)


def test_an_unfitted_prior_is_the_standard_normal():
    prior = GaussianMixturePrior(3, components=4)
    noise = torch.randn(10, prior.noise_dims)
    assert prior.noise_dims == 4
    assert torch.allclose(prior(noise), noise[:, :3])


def test_one_component_matches_the_aggregate_posterior_moments():
    means = two_clusters()
    variances = torch.full_like(means, 0.25)
    prior = GaussianMixturePrior(2, components=1)
    prior.fit(means, variances)
    expected_cov = torch.cov(means.T, correction=0) + 0.25 * torch.eye(2)
    assert torch.allclose(prior.means[0], means.mean(0), atol=1e-4)
    assert torch.allclose(prior.chol[0] @ prior.chol[0].T, expected_cov, atol=1e-3)


def test_two_components_recover_the_clusters_and_sample_them_in_proportion():
    prior = GaussianMixturePrior(2, components=2)
    prior.fit(two_clusters(), torch.full((4000, 2), 0.01))
    order = prior.means[:, 0].argsort()
    assert torch.allclose(prior.means[order], torch.tensor([[-4.0, 0.0], [4.0, 2.0]]), atol=0.1)
    assert torch.allclose(prior.weights[order], torch.tensor([0.3, 0.7]), atol=0.03)
    z = prior(torch.randn(20_000, prior.noise_dims, generator=torch.Generator().manual_seed(1)))
    assert abs(float((z[:, 0] < 0).float().mean()) - 0.3) < 0.02


def test_log_prob_is_the_mixture_density():
    prior = GaussianMixturePrior(2, components=2)
    prior.fit(two_clusters(), torch.full((4000, 2), 0.01))
    reference = D.MixtureSameFamily(D.Categorical(probs=prior.weights),
                                    D.MultivariateNormal(prior.means, scale_tril=prior.chol))
    z = torch.randn(50, 2) * 3
    assert torch.allclose(prior.log_prob(z), reference.log_prob(z), atol=1e-4)


def test_codes_go_back_to_the_noise_that_draws_them():
    prior = GaussianMixturePrior(4, components=1)
    codes = torch.randn(500, 4) @ torch.tensor([[2.0, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0.5, 0], [0, 0, 1, 3]]) + 1.0
    prior.fit(codes, torch.full_like(codes, 0.1))
    noise = torch.randn(20, 4)
    z = prior(noise)
    assert torch.allclose(prior.to_noise(z), noise, atol=1e-4)
    as_exported = CodeToNoise(prior, torch.nn.Identity())
    assert torch.allclose(as_exported(z), noise, atol=1e-4)


def test_a_checkpoint_with_another_number_of_components_resumes_and_refits():
    """Changing the preset's components needs no retraining: the weights load, the mixture is fitted anew."""
    from tests.builders import build_tiny, config_of, recipe_of

    trained = build_tiny("vae", "image")  # tiny image preset: 2 components
    config = {**config_of("vae", "image"), "prior_components": 3}
    torch.manual_seed(1)
    resumed = recipe_of("vae", "image").build(config, None)
    resumed.load_state_dict(trained.state_dict())
    for name, value in trained.decoder.state_dict().items():
        assert torch.equal(resumed.decoder.state_dict()[name], value), name
    assert resumed.prior.components == 3 and not bool(resumed.prior.fitted)
    resumed.fit_prior()
    assert bool(resumed.prior.fitted)
    broken = {k: v for k, v in trained.state_dict().items() if not k.startswith("decoder.")}
    try:
        resumed.load_state_dict(broken)
    except RuntimeError as exc:
        assert "does not match" in str(exc)
    else:
        raise AssertionError("a checkpoint missing the decoder loaded")
