import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from disbench.methods import DIPVAE, AdaVAE, AutoEncoder, BetaTCVAE, BetaVAE, DecoderConv64, EncoderConv64
from disbench.methods.adavae import average_posteriors, kl_between
from disbench.methods.tcvae import total_correlation
from disbench.methods.vae import kl_normal


def test_conv64_matches_table_a3():
    encoder = EncoderConv64(3, 9)
    shapes = []
    x = torch.zeros(2, 3, 64, 64)
    for layer in encoder.net:
        x = layer(x)
        if isinstance(layer, torch.nn.Conv2d):
            shapes.append(tuple(x.shape[1:]))
    assert shapes == [(32, 33, 33), (32, 17, 17), (64, 9, 9), (64, 5, 5)] and x.shape == (2, 18)
    assert DecoderConv64(1, 9)(torch.zeros(2, 9)).shape == (2, 1, 64, 64)
    for m in list(encoder.modules()) + list(DecoderConv64(3, 9).modules()):
        if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            assert torch.count_nonzero(m.bias) == 0


def test_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    m0, lv0, m1, lv1 = (torch.randn(5, 4, generator=g) for _ in range(4))
    expected = kl_divergence(Normal(m0, (0.5 * lv0).exp()), Normal(m1, (0.5 * lv1).exp()))
    assert torch.allclose(kl_between(m0, lv0, m1, lv1), expected, atol=1e-5)
    assert torch.allclose(kl_normal(m0, lv0), kl_divergence(Normal(m0, (0.5 * lv0).exp()), Normal(0.0, 1.0)), atol=1e-5)


def test_beta_vae_loss_is_mean_recon_plus_beta_mean_kl(xysquares):
    torch.manual_seed(0)
    method = BetaVAE((3, 64, 64), 9, beta=0.01)
    batch = xysquares.sample(4, torch.Generator().manual_seed(0))
    torch.manual_seed(1)
    terms = method.loss(batch, xysquares.recon_loss)
    mean, logvar = method.posterior(batch.x)
    torch.manual_seed(1)
    z = mean + torch.randn_like(mean) * (0.5 * logvar).exp()
    recon = xysquares.recon_loss(method.decode(z), batch.x).mean()
    assert torch.allclose(terms["loss"], recon + 0.01 * kl_normal(mean, logvar).mean())


def test_ada_averaging_modes():
    m0, m1 = torch.tensor([[0.0, 2.0]]), torch.tensor([[4.0, 6.0]])
    lv0, lv1 = torch.log(torch.tensor([[1.0, 1.0]])), torch.log(torch.tensor([[3.0, 3.0]]))
    mean, logvar = average_posteriors(m0, lv0, m1, lv1, "gvae")
    assert torch.allclose(mean, torch.tensor([[2.0, 4.0]])) and torch.allclose(logvar.exp(), torch.tensor([[2.0, 2.0]]))
    mean, _ = average_posteriors(m0, lv0, m1, lv1, "gvae-paper")
    assert torch.allclose(mean, m1)  # the code the paper ran used one posterior's mean (disent #32)
    mean, logvar = average_posteriors(m0, lv0, m1, lv1, "ml-vae")
    assert torch.allclose(logvar.exp(), torch.tensor([[1.5, 1.5]])) and torch.allclose(mean, (m0 / 1 + m1 / 3) * 1.5 * 0.5)


def test_ada_shared_mask_thresholds_at_half_range():
    method = AdaVAE((3, 64, 64), 3)
    m0 = torch.zeros(1, 3)
    m1 = torch.tensor([[0.1, 1.0, 3.0]])  # symmetric KL 0.005, 0.5, 4.5 -> threshold 2.2525
    lv = torch.zeros(1, 3)
    assert method.shared_mask(m0, lv, m1, lv).tolist() == [[True, True, False]]


def test_total_correlation_estimate():
    """Independent dims: the batch estimate is no larger than for strongly correlated samples."""
    g = torch.Generator().manual_seed(0)
    mean = torch.randn(256, 2, generator=g)
    logvar = torch.full((256, 2), math.log(0.01))
    independent = total_correlation(mean, mean, logvar)
    correlated_mean = torch.cat([mean[:, :1], mean[:, :1]], dim=1)
    correlated = total_correlation(correlated_mean, correlated_mean, logvar)
    assert correlated > independent + 1.0


def test_dip_regulariser_vanishes_for_identity_covariance():
    method = DIPVAE((3, 64, 64), 2, dip_type="i")
    g = torch.Generator().manual_seed(0)
    mean = torch.randn(20000, 2, generator=g)
    terms = method.regulariser(mean, torch.zeros_like(mean), mean)
    assert float(terms["dip"]) < 1e-4
    skewed = method.regulariser(3 * mean, torch.zeros_like(mean), mean)
    assert float(skewed["dip"]) > 100 * float(terms["dip"])


@pytest.mark.parametrize("cls, kwargs", [(AutoEncoder, {}), (BetaVAE, {"beta": 0.001}), (BetaTCVAE, {}), (DIPVAE, {"dip_type": "ii"}), (AdaVAE, {"average": "ml-vae"})])
def test_every_method_keeps_the_contract(cls, kwargs, xysquares):
    from disbench.harness.validate import check_method

    torch.manual_seed(0)
    checks = check_method(cls((3, 64, 64), 9, **kwargs), xysquares)
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
