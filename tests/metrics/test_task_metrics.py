"""Interventional metrics and the suite runner on the real XYSquares task, with exact encoders."""

import numpy as np
import pytest
import torch

import disbench
from disbench import metrics
from disbench.metrics.codes import CodeSource

FV = {"batch_size": 64, "num_train": 300, "num_eval": 200, "num_variance_estimate": 500}


def rotation(d, seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return torch.tensor(q, dtype=torch.float32)


def mixing(d, seed=0):
    """Every code an equal-magnitude (+-1) mix of every factor: nothing is axis-aligned."""
    return torch.tensor(np.random.default_rng(seed).choice([-1.0, 1.0], (d, d)), dtype=torch.float32)


def test_factor_vae_and_beta_vae_on_perfect_and_noise_codes(xysquares, oracle):
    enc = oracle(xysquares)
    fv = metrics.factor_vae(xysquares, enc, **FV)
    assert fv["factor_vae.train_accuracy"] == 1.0 and fv["factor_vae.eval_accuracy"] == 1.0 and fv["factor_vae.num_active_dims"] == 6
    bv = metrics.beta_vae(xysquares, enc, batch_size=64, num_train=300, num_eval=200)
    assert bv["beta_vae.eval_accuracy"] > 0.97
    noise = metrics.factor_vae(xysquares, lambda x: torch.randn(len(x), 6), **FV)
    assert noise["factor_vae.eval_accuracy"] < 0.4
    mixed = metrics.factor_vae(xysquares, lambda x: enc(x) @ mixing(6), **FV)
    assert mixed["factor_vae.eval_accuracy"] < 0.6


def test_factor_vae_prunes_collapsed_dimensions(xysquares, oracle):
    enc = oracle(xysquares)
    with_dead = metrics.factor_vae(xysquares, lambda x: torch.cat([enc(x), torch.zeros(len(x), 2)], 1), **FV)
    assert with_dead["factor_vae.num_active_dims"] == 6 and with_dead["factor_vae.eval_accuracy"] == 1.0


def test_flatness_of_straight_even_traversals(xysquares, oracle):
    enc = oracle(xysquares)
    flat = metrics.flatness(xysquares, enc, repeats=16)
    for key in ("flatness.ave_flatness", "flatness.ave_flatness_l1", "flatness.ave_flatness_l2"):
        assert flat[key] == pytest.approx(1.0)
    assert flat["flatness.step_angles"] == pytest.approx(0.0, abs=1e-6)  # cosine_angles: tests/metrics/test_flatness.py
    assert flat["flatness.ave_width_l1"] == pytest.approx(7.0)
    rotated = metrics.flatness(xysquares, lambda x: enc(x) @ rotation(6), repeats=16)
    assert rotated["flatness.ave_flatness_l2"] == pytest.approx(1.0, abs=1e-5)  # rotations keep lines straight


def test_factored_components_of_perfect_codes(xysquares, oracle):
    enc = oracle(xysquares)
    fc = metrics.factored_components(xysquares, enc, repeats=16)
    for key in ("distances.rcorr_ground_latent.l2.factor", "distances.rcorr_ground_latent.l1.global", "linearity.axis_ratio.var", "linearity.linear_ratio.var", "linearity.axis_alignment.var"):
        assert fc[key] == pytest.approx(1.0, abs=1e-6), key
    # the data (MSE) cannot order XYSquares at spacing 8: only a == p ties correlate
    assert fc["distances.rcorr_ground_data.factor"] < 0.7
    rotated = metrics.factored_components(xysquares, lambda x: enc(x) @ rotation(6), repeats=16)
    assert rotated["linearity.linear_ratio.var"] == pytest.approx(1.0, abs=1e-5) and rotated["linearity.axis_ratio.var"] < 0.8


def test_evaluate_is_deterministic_and_complete(xysquares, oracle):
    enc = oracle(xysquares)
    full = metrics.evaluate(xysquares, enc, suite="smoke", seed=0)
    assert {"mig", "dci.disentanglement", "sap", "modularity", "irs", "gaussian_total_correlation", "factor_vae.eval_accuracy",
            "beta_vae.eval_accuracy", "flatness.ave_flatness", "distances.rcorr_ground_latent.l2.factor"} <= set(full)
    assert all(np.isfinite(v) for v in full.values())
    assert full["factor_vae.eval_accuracy"] == 1.0 and full["mig"] > 0.9 and full["dci.disentanglement"] > 0.9
    cheap = [m for m in metrics.SUITES["smoke"] if m != "dci"]  # gradient boosting is the slow one
    again = metrics.evaluate(xysquares, enc, suite="smoke", seed=0, metrics=cheap)
    assert again == {k: v for k, v in full.items() if not k.startswith("dci.")}  # same seed, same values
    other = metrics.evaluate(xysquares, enc, suite="smoke", seed=1, metrics=cheap)
    assert other != again
    only = metrics.evaluate(xysquares, enc, suite="smoke", seed=0, metrics=["irs", "mig"])
    assert only["mig"] == full["mig"] and only["irs"] == full["irs"]  # per-metric seeds: independent of the others
    assert xysquares.evaluate(enc, protocol="smoke", metrics=["mig"]) == {"mig": full["mig"]}


def test_code_cache_encodes_each_observation_once(xysquares, oracle):
    calls = []
    enc = oracle(xysquares)

    def counting(x):
        calls.append(len(x))
        return enc(x)

    source = CodeSource(xysquares, counting)
    factors = xysquares.data.sample_factors(4000, torch.Generator().manual_seed(0))
    codes = source.codes(factors)
    unique = len(xysquares.data.factors_to_idx(factors).unique())
    assert sum(calls) == source.num_encoded == unique
    assert np.array_equal(codes, source.codes(factors)) and sum(calls) == unique  # second call: all cached
    assert np.allclose(codes, factors.numpy())


def test_bad_encoders_are_reported(xysquares):
    with pytest.raises(disbench.error.MetricError, match="NaN or inf"):
        metrics.evaluate(xysquares, lambda x: torch.full((len(x), 4), float("nan")), suite="smoke", metrics=["mig"])
    with pytest.raises(disbench.error.MetricError, match=r"\[N, D\]"):
        metrics.evaluate(xysquares, lambda x: torch.zeros(len(x)), suite="smoke", metrics=["mig"])
    with pytest.raises(disbench.error.MetricError, match="no metrics"):
        metrics.evaluate(xysquares, lambda x: torch.zeros(len(x), 2), suite="smoke", metrics=["nope"])


def test_pair_mse_matches_gathering_every_pair_at_once():
    from disbench.metrics.factored_components import _pair_mse

    x = torch.randn(50, 37, generator=torch.Generator().manual_seed(0))
    first, second = torch.randint(0, 50, (2, 301), generator=torch.Generator().manual_seed(1))
    expected = (x[first] - x[second]).square().mean(dim=-1)
    assert torch.equal(_pair_mse(x, first, second, block=64), expected)  # 301 pairs: a partial last block
    assert torch.equal(_pair_mse(x, first[:3], first[:3]), torch.zeros(3))
