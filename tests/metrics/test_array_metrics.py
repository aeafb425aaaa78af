"""Array metrics against answers known by construction, invariances and degenerate inputs."""

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from disbench import metrics
from disbench.error import MetricError
from disbench.metrics.utils import histogram_discretize, mutual_info_matrix

SIZES = (8, 5, 3)


def sample(n, seed=0, sizes=SIZES):
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, s, n) for s in sizes], axis=1)


def perfect(factors, seed=0, noise=0.05):
    rng = np.random.default_rng(seed + 1)
    return factors + noise * rng.standard_normal(factors.shape)


def rotated(codes, seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed + 2).standard_normal((codes.shape[1],) * 2))
    return codes @ q


def noise(n, d=3, seed=0):
    return np.random.default_rng(seed + 3).standard_normal((n, d))


@pytest.fixture(scope="module")
def data():
    f_tr, f_te = sample(2000, 0), sample(1000, 10)
    return f_tr, f_te


def test_mutual_information_equals_sklearn():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 7, (500, 3)), rng.integers(3, 11, (500, 2))
    b[:, 0] = (a[:, 0] + rng.integers(0, 2, 500)) * 5  # dependent, non-contiguous labels
    m = mutual_info_matrix(a, b)
    expected = np.array([[mutual_info_score(a[:, i], b[:, j]) for j in range(2)] for i in range(3)])
    assert np.allclose(m, expected, rtol=1e-12, atol=1e-14)


def test_histogram_discretize_equals_the_reference():
    values = np.random.default_rng(0).standard_normal((300, 4))
    values[:, 3] = 1.5  # constant column
    reference = np.stack([np.digitize(values[:, j], np.histogram(values[:, j], 20)[1][:-1]) for j in range(4)], axis=1)
    assert np.array_equal(histogram_discretize(values, 20), reference)


def test_mig_known_answers(data):
    f, _ = data
    assert metrics.mig(perfect(f), f)["mig"] > 0.95
    assert metrics.mig(rotated(perfect(f)), f)["mig"] < 0.6
    assert metrics.mig(noise(len(f)), f)["mig"] < 0.02


def test_dci_known_answers(data):
    f_tr, f_te = data
    good = metrics.dci(perfect(f_tr), f_tr, perfect(f_te, 7), f_te)
    assert good["dci.disentanglement"] > 0.9 and good["dci.completeness"] > 0.9 and good["dci.informativeness_test"] > 0.95
    rot = metrics.dci(rotated(perfect(f_tr)), f_tr, rotated(perfect(f_te, 7)), f_te)
    assert rot["dci.disentanglement"] < good["dci.disentanglement"] - 0.3
    bad = metrics.dci(noise(len(f_tr)), f_tr, noise(len(f_te), seed=5), f_te)
    assert bad["dci.disentanglement"] < 0.1 and bad["dci.informativeness_test"] < 0.4


def test_sap_known_answers():
    """With binary factors the second-best code still scores chance (0.5), so perfect SAP is 0.5."""
    sizes = (2, 2, 2)
    f_tr, f_te = sample(3000, 0, sizes), sample(1500, 1, sizes)
    assert metrics.sap(perfect(f_tr), f_tr, perfect(f_te, 4), f_te)["sap"] == pytest.approx(0.5, abs=0.03)
    mix = np.array([[1.0, 1.0, 1.0], [1.0, -1.0, 1.0], [1.0, 1.0, -1.0]])  # every code carries every factor
    assert metrics.sap(perfect(f_tr) @ mix, f_tr, perfect(f_te, 4) @ mix, f_te)["sap"] < 0.1
    assert metrics.sap(noise(3000), f_tr, noise(1500, seed=9), f_te)["sap"] < 0.03


def test_modularity_explicitness_known_answers(data):
    f_tr, f_te = data
    good = metrics.modularity_explicitness(perfect(f_tr), f_tr, perfect(f_te, 3), f_te)
    assert good["modularity"] > 0.95 and good["explicitness_test"] > 0.8
    bad = metrics.modularity_explicitness(noise(len(f_tr)), f_tr, noise(len(f_te), seed=4), f_te)
    assert bad["explicitness_test"] == pytest.approx(0.5, abs=0.05)


def test_irs_known_answers(data):
    f, _ = data
    assert metrics.irs(perfect(f, noise=0.001), f)["irs"] > 0.95
    assert metrics.irs(noise(len(f)), f)["irs"] < 0.35


def test_unsupervised_gaussian_total_correlation():
    rho = 0.6
    cov = np.array([[1.0, rho], [rho, 1.0]])
    codes = np.random.default_rng(0).multivariate_normal([0, 0], cov, 50_000)
    scores = metrics.unsupervised(codes)
    assert scores["gaussian_total_correlation"] == pytest.approx(-0.5 * np.log(1 - rho**2), abs=0.01)
    independent = metrics.unsupervised(np.random.default_rng(1).standard_normal((50_000, 3)))
    assert independent["gaussian_total_correlation"] < 0.001 and independent["gaussian_wasserstein_correlation_norm"] < 0.01
    assert independent["mutual_info_score"] < 0.01 < scores["mutual_info_score"]


def test_invariance_to_code_permutation_and_scaling(data):
    f_tr, f_te = data
    c_tr, c_te = perfect(f_tr)[:, [0, 1, 2, 0]], perfect(f_te, 3)[:, [0, 1, 2, 0]]
    c_tr[:, 3] += np.random.default_rng(0).standard_normal(len(c_tr))  # a noisy extra code
    c_te[:, 3] += np.random.default_rng(1).standard_normal(len(c_te))
    perm, scale = [3, 1, 0, 2], np.array([2.0, 0.5, 10.0, 3.0])
    p_tr, p_te = c_tr[:, perm], c_te[:, perm]
    s_tr, s_te = c_tr * scale, c_te * scale
    for fn in (lambda c, t: metrics.mig(c, f_tr), lambda c, t: metrics.modularity_explicitness(c, f_tr, t, f_te)):
        base = fn(c_tr, c_te)
        for variant in (fn(p_tr, p_te), fn(s_tr, s_te)):
            assert variant == pytest.approx(base, abs=1e-6)
    irs = metrics.irs(c_tr, f_tr)  # IRS weights codes by their spread: invariant to one common scale only
    assert metrics.irs(p_tr, f_tr) == pytest.approx(irs) and metrics.irs(7.5 * c_tr, f_tr) == pytest.approx(irs)
    assert metrics.sap(p_tr, f_tr, p_te, f_te) == pytest.approx(metrics.sap(c_tr, f_tr, c_te, f_te), abs=1e-9)
    n = 600  # trees are slow: a smaller sample suffices for invariance
    base = metrics.dci(c_tr[:n], f_tr[:n], c_te, f_te)
    for variant in (metrics.dci(p_tr[:n], f_tr[:n], p_te, f_te), metrics.dci(s_tr[:n], f_tr[:n], s_te, f_te)):
        assert variant == pytest.approx(base, abs=0.01)
    assert metrics.unsupervised(s_tr)["gaussian_total_correlation"] == pytest.approx(metrics.unsupervised(c_tr)["gaussian_total_correlation"])


def test_degenerate_inputs_give_clear_errors(data):
    f, _ = data
    codes = perfect(f)
    with pytest.raises(MetricError, match="NaN or inf"):
        metrics.mig(np.where(np.arange(len(f))[:, None] == 5, np.nan, codes), f)
    single = f.copy()
    single[:, 1] = 2
    with pytest.raises(MetricError, match="single value"):
        metrics.mig(codes, single)
    with pytest.raises(MetricError, match="too few"):
        metrics.dci(codes[:10], f[:10], codes[:10], f[:10])
    with pytest.raises(MetricError, match="rows but the codes"):
        metrics.mig(codes, f[:-1])
    with pytest.raises(MetricError, match="D >= 2"):
        metrics.mig(codes[:, :1], f)


def test_a_collapsed_representation_scores_as_one_that_carries_no_information(data):
    """Every code constant (posterior collapse, a real outcome of training) is a result, not an
    error: the information scores are 0, as disentanglement_lib gives for MIG, SAP, IRS and FactorVAE.
    0.3 is not exact in binary, so a variance test would have called these codes active."""
    f_tr, f_te = data
    c_tr, c_te = np.full((len(f_tr), 4), 0.3), np.full((len(f_te), 4), 0.3)
    majority = np.mean([np.mean(f_te[:, k] == np.bincount(f_tr[:600, k]).argmax()) for k in range(f_tr.shape[1])])
    scores = {**metrics.mig(c_tr, f_tr), **metrics.sap(c_tr, f_tr, c_te, f_te), **metrics.irs(c_tr, f_tr),
              **metrics.unsupervised(c_tr), **metrics.modularity_explicitness(c_tr, f_tr, c_te, f_te)}
    assert scores == {"mig": 0.0, "sap": 0.0, "irs": 0.0, "irs.num_active_dims": 0, "gaussian_total_correlation": 0.0,
                      "gaussian_wasserstein_correlation": 0.0, "gaussian_wasserstein_correlation_norm": 0.0, "mutual_info_score": 0.0,
                      "modularity": 0.0, "explicitness_train": 0.5, "explicitness_test": 0.5}
    dci = metrics.dci(c_tr[:600], f_tr[:600], c_te, f_te)
    assert dci["dci.disentanglement"] == dci["dci.completeness"] == 0.0
    assert dci["dci.informativeness_test"] == pytest.approx(majority)  # constant inputs: every tree predicts the majority class


def test_one_constant_code_dimension_gives_finite_scores(data):
    f_tr, f_te = data
    c_tr = np.column_stack([perfect(f_tr), np.zeros(len(f_tr))])
    c_te = np.column_stack([perfect(f_te, 3), np.zeros(len(f_te))])
    results = {
        **metrics.mig(c_tr, f_tr), **metrics.irs(c_tr, f_tr), **metrics.unsupervised(c_tr),
        **metrics.modularity_explicitness(c_tr, f_tr, c_te, f_te), **metrics.sap(c_tr, f_tr, c_te, f_te),
    }
    assert all(np.isfinite(v) for v in results.values())
    assert results["mig"] > 0.95 and results["irs.num_active_dims"] == 3
