"""The reproduction reports' statistics against known answers: quartiles, exact rank tests, the bootstrap, Holm, the verdicts."""

import math
from itertools import combinations

import numpy as np
import pytest
import scipy.stats

from disbench.reproduction import statistics as st


def test_a_cell_is_its_median_and_quartiles():
    cell = st.describe([4.0, 1.0, 3.0, 2.0, math.nan])  # NaN (a record without that score) is left out
    assert (cell.n, cell.median, cell.q1, cell.q3) == (4, 2.5, 1.75, 3.25)
    assert cell.text() == "2.500 [1.750, 3.250] (4)"
    assert st.describe([0.2]).text() == "0.200 (1)" and st.describe([]).text() == "–"


@pytest.mark.parametrize("n", [2, 5, 8])
def test_complete_separation_gives_the_exact_rank_test_floor(n):
    high, low = np.arange(n) + 10.0, np.arange(n, dtype=float)
    assert st.mann_whitney(high, low) == pytest.approx(1 / math.comb(2 * n, n))  # 1/6, 1/252, 1/12,870
    assert st.mann_whitney(low, high) == 1.0


def test_the_rank_test_equals_scipys_exact_one_without_ties_and_counts_ties_by_enumeration():
    rng = np.random.default_rng(0)
    for _ in range(5):
        a, b = rng.normal(0.3, 1, 6), rng.normal(0, 1, 5)
        assert st.mann_whitney(a, b) == pytest.approx(scipy.stats.mannwhitneyu(a, b, alternative="greater", method="exact").pvalue)
    # ties (collapsed encoders all score 0): every split of the pooled runs, midranks, counted by hand
    a, b = [0.0, 0.0, 0.02], [0.0, 0.0, 0.0]
    pooled = a + b
    u = [sum(x > y for x in side for y in rest) + 0.5 * sum(x == y for x in side for y in rest)
         for side, rest in (([pooled[i] for i in s], [pooled[j] for j in range(6) if j not in s]) for s in combinations(range(6), 3))]
    assert st.mann_whitney(a, b) == pytest.approx(np.mean(np.array(u) >= u[0]))
    assert st.mann_whitney([1.0, 1.0], [1.0, 1.0]) == 1.0


def test_the_bootstrap_is_seeded_and_brackets_the_difference_of_medians():
    high, low = [0.30, 0.35, 0.40, 0.38, 0.33, 0.36, 0.31, 0.39], [0.01, 0.00, 0.02, 0.015, 0.005, 0.0, 0.01, 0.03]
    diff, lo, hi = st.bootstrap_difference(high, low, seed=3)
    assert diff == pytest.approx(np.median(high) - np.median(low)) and lo <= diff <= hi and lo > 0.25
    assert st.bootstrap_difference(high, low, seed=3) == (diff, lo, hi)
    assert st.bootstrap_difference([1.0], [0.0]) == (1.0, 1.0, 1.0)


def test_holm_adjusts_step_down_and_keeps_the_order():
    assert st.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert st.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_the_trend_is_spearmans_rho_with_a_one_sided_permutation_p():
    spacing = np.repeat(np.arange(1, 9), 2)
    rho, p = st.trend(spacing, -spacing + 0.1 * np.tile([0, 1], 8))
    assert rho == pytest.approx(scipy.stats.spearmanr(spacing, -spacing + 0.1 * np.tile([0, 1], 8)).statistic) and rho < -0.95
    assert p == pytest.approx(1 / 10_001)  # no shuffle beats it: the floor of 10,000 resamples
    rho, p = st.trend(spacing, np.random.default_rng(1).random(16))
    assert p > 0.05 and st.trend(spacing, np.random.default_rng(1).random(16)) == (rho, p)


def test_verdicts_say_sign_size_or_not_shown():
    e = st.effect([0.30, 0.35, 0.40, 0.38, 0.33], [0.01, 0.00, 0.02, 0.015, 0.005])
    assert (e.n, e.p_value) == ("5+5", pytest.approx(1 / 252))
    assert st.verdict(e.p_value, e.n, st.size_against(e, 0.365)) == "sign shown (p = 0.004, n = 5+5); size as the paper's (+0.365)"
    assert st.size_against(e, 0.8) == "size below the paper's (+0.800)" and st.size_against(e, 0.1) == "size above the paper's (+0.100)"
    assert st.size_against(e, 0.365, "quick tier") == "size not compared (quick tier)" and st.size_against(e, None, "quick tier") is None
    assert st.verdict(1 / 6, "2+2", "size as the paper's (+0.3)") == "not shown (n = 2+2, p = 0.167)"
    assert st.effect([0.1], []) is None
