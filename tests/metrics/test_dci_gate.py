"""DCI's informativeness gate: known answers (collapsed, uninformative, perfect and partial encoders), the
binomial test's threshold and error rate, and the same gate on the curve and on records made before it."""

import numpy as np
import pytest
import scipy.stats
import torch

import disbench
from disbench import metrics
from disbench.harness.run.evaluation import evaluate_curve
from disbench.metrics.informativeness import ALPHA, informativeness_gate, majority_baseline
from disbench.metrics.suites import dci_test_factors
from disbench.metrics.utils import derive_seed

SIZES = (6, 4, 3)  # small: gradient boosting fits one tree per class and stage


def sample(n, seed):
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, s, n) for s in SIZES], axis=1)


@pytest.fixture(scope="module")
def factors():
    return sample(240, 0), sample(240, 1)


def collapsed(n, seed):
    """A collapsed encoder as training leaves it: 10 constant codes, one of which varies by 1e-6 (noise, not signal)."""
    codes = np.full((n, 10), 0.3)
    codes[:, 0] += 1e-6 * np.random.default_rng(seed).standard_normal(n)
    return codes


def test_a_collapsed_encoder_is_gated_and_its_noise_stays_in_the_record(factors):
    f_tr, f_te = factors
    scores = metrics.dci(collapsed(len(f_tr), 2), f_tr, collapsed(len(f_te), 3), f_te)
    assert scores["dci.gated"] == 1.0 and scores["dci.disentanglement"] == scores["dci.completeness"] == 0.0
    assert scores["dci.completeness_ungated"] > 0.5  # the trees split on the 1e-6 noise: ungated DCI reads it as structure
    assert scores["dci.informativeness_test"] <= scores["dci.informativeness_baseline"] + 0.02
    assert scores["dci.informativeness_baseline"] == pytest.approx(majority_baseline(f_te).mean())
    assert scores["dci.informativeness_p_value"] >= ALPHA


def test_an_encoder_independent_of_the_factors_is_gated(factors):
    f_tr, f_te = factors
    noise = np.random.default_rng(4).standard_normal((len(f_tr) + len(f_te), 4))
    scores = metrics.dci(noise[: len(f_tr)], f_tr, noise[len(f_tr):], f_te)
    assert scores["dci.gated"] == 1.0 and scores["dci.disentanglement"] == 0.0
    assert scores["dci.informativeness_train"] > 0.8  # the trees memorise noise; the test set shows it is noise


def test_a_perfect_encoder_passes_and_a_partial_one_too(factors):
    f_tr, f_te = factors
    jitter = np.random.default_rng(5).standard_normal
    perfect = metrics.dci(f_tr + 0.05 * jitter(f_tr.shape), f_tr, f_te + 0.05 * jitter(f_te.shape), f_te)
    assert perfect["dci.gated"] == 0.0 and perfect["dci.disentanglement"] == perfect["dci.disentanglement_ungated"] > 0.95
    assert perfect["dci.informativeness_test"] == 1.0 and perfect["dci.informativeness_p_value"] < 1e-100
    # one factor of three encoded (the one with 3 values), the others not: informative, so scored
    partial = metrics.dci(np.c_[f_tr[:, 2], jitter(len(f_tr))], f_tr, np.c_[f_te[:, 2], jitter(len(f_te))], f_te)
    assert partial["dci.gated"] == 0.0 and partial["dci.disentanglement"] == partial["dci.disentanglement_ungated"] > 0


def test_the_gate_is_a_one_sided_binomial_test_at_one_percent():
    # 3,000 predictions (500 test points x 6 factors) against a baseline of 0.145, the quick tier's case
    threshold = int(scipy.stats.binom.isf(ALPHA, 3000, 0.145)) + 1  # the smallest count whose upper tail is below 1 %
    assert informativeness_gate(threshold, 3000, 0.145).closed is False
    assert informativeness_gate(threshold - 1, 3000, 0.145).closed is True
    assert 0.158 < threshold / 3000 < 0.162  # informativeness must beat the baseline by about 0.015 here
    gate = informativeness_gate(1350, 3000, 0.145)  # informativeness 0.45, as the quick tier's spacing-8 runs score
    assert gate.p_value == pytest.approx(scipy.stats.binom.sf(1349, 3000, 0.145)) and not gate.closed and gate.informativeness == 0.45
    assert list(majority_baseline(np.array([[0, 1], [0, 2], [1, 3], [2, 4]]))) == [0.5, 0.25]


def test_the_gate_opens_for_codes_independent_of_the_factors_at_most_one_time_in_a_hundred():
    """Predictions that ignore the truth (any rule, here a skewed guess per factor) pass at most ALPHA of the time."""
    rng = np.random.default_rng(0)
    trials, n, sizes = 4000, 200, (8, 8, 4, 3)
    opened = 0
    for _ in range(trials):
        truth = np.stack([rng.integers(0, s, n) for s in sizes], axis=1)
        guess = np.stack([rng.choice(s, n, p=np.r_[0.7, np.full(s - 1, 0.3 / (s - 1))]) for s in sizes], axis=1)
        opened += not informativeness_gate(int((guess == truth).sum()), truth.size, majority_baseline(truth).mean()).closed
    assert opened / trials <= ALPHA  # conservative: the test-set majority share overestimates the population's


class Collapsed:
    """A learner whose encoder has collapsed: the same code for every observation, plus 1e-6 of noise."""

    def encode(self, x):
        generator = torch.Generator().manual_seed(int(x.sum() * 1000) % 2**31)
        return torch.full((len(x), 6), 0.3) + 1e-6 * torch.randn(len(x), 6, generator=generator)


def test_curve_points_are_gated_before_their_maximum_and_old_records_get_the_same_gate():
    from disbench.harness.record import build_record, running_max
    from disbench.harness.run import submission_record
    from disbench.harness.submission import Submission
    from disbench.reproduction.experiments import ROOT
    from disbench.reproduction.gate import gated_dci

    task = disbench.make("xysquares-mse")  # 262,144 observations: train and test samples share almost none (see test below)
    protocol = task.get_protocol("smoke")
    curve = [{"step": 20, **evaluate_curve(task, Collapsed(), protocol, seed=7, step=20, metrics=["dci"])}]
    for point in curve:  # the suite's baseline is the one drawn again from the seed and step, without encoding
        assert point["dci.gated"] == 1.0 and point["dci.disentanglement"] == 0.0
        seed = derive_seed(7, f"curve-step-{point['step']}")
        assert point["dci.informativeness_baseline"] == majority_baseline(dci_test_factors(task, "smoke", seed)).mean()
    assert running_max({"d": [(p["step"], p["dci.disentanglement"]) for p in curve]}) == {"d": 0.0}
    final = metrics.evaluate(task, Collapsed().encode, suite="smoke", seed=7, metrics=["dci"])
    submission = submission_record(Submission(ROOT / "submissions" / "ada-gvae"), task.id)

    def before_the_gate(scores):  # what a record held before the suite gated DCI: the ungated D and the informativeness
        kept = {"dci.disentanglement": scores["dci.disentanglement_ungated"], "dci.informativeness_test": scores["dci.informativeness_test"]}
        return {"step": scores["step"], **kept} if "step" in scores else kept

    def record(convert):
        return build_record(task, protocol, 7, submission, convert(final), steps=20, elapsed=1.0, eval_time=1.0, device=torch.device("cpu"),
                            final_loss=0.1, num_parameters=1, curve=[convert(p) for p in curve])

    new = gated_dci(record(lambda scores: scores))
    old = gated_dci(record(before_the_gate))
    assert (new.by, old.by) == ("suite", "report")
    assert (old.final, old.peak, old.gated, old.gated_points, old.points) == (new.final, new.peak, new.gated, new.gated_points, new.points) == (0.0, 0.0, True, 1, 1)
    assert old.baseline == new.baseline and old.final_ungated == new.final_ungated


def test_codes_that_fingerprint_observations_pass_where_test_points_repeat_training_points():
    """What the gate measures is held-out accuracy: on a dataset small enough that test points repeat training points
    (XColumns: 512 observations), a code unique to each observation, even 1e-6 of noise, is read back and passes."""
    task = disbench.make("xcolumns-mse")
    scores = evaluate_curve(task, Collapsed(), task.get_protocol("smoke"), seed=7, step=20, metrics=["dci"])
    assert scores["dci.gated"] == 0.0 and scores["dci.informativeness_test"] > scores["dci.informativeness_baseline"] + 0.1
