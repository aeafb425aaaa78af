"""DCI's informativeness gate: disentanglement and completeness count only for codes that predict the factors.

DCI weighs the feature importances of one classifier per factor without asking whether those
classifiers predict anything. Given codes that carry no information (a collapsed encoder whose
codes vary by 1e-6), gradient-boosted trees still split on the noise, and D reads it as anything
from 0 to 0.42 (docs/metrics.md). So the suite reports D and C only when test informativeness
beats the majority-class baseline by a one-sided binomial test at ``ALPHA``:

- the baseline of factor ``k``, ``b_k``, is the share of the test set taking factor ``k``'s most
  common test value: the best accuracy a predictor can reach that ignores the codes;
- pooled over factors: ``c`` correct predictions out of ``F * n`` (``n`` test points, ``F``
  factors), tested against ``p0 = mean_k b_k``; ``p = P[Binomial(F n, p0) >= c]``;
- the gate closes (D = C = 0) when ``p >= ALPHA``.

Why this is a valid test: if the codes are independent of the factors (and the factors of each
other, as the suite samples them), each prediction is right with probability at most the factor's
population majority share, independently across test points and, given the codes, across
factors. The count is then a sum of independent Bernoullis whose probabilities average at most
``p0``, which is less dispersed than ``Binomial(F n, p0)``, and the test-set majority share is at
least the population one; both make the test conservative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.stats

ALPHA = 0.01


@dataclass(frozen=True)
class Gate:
    """The test of informativeness against the majority-class baseline; ``closed``: D and C are reported as 0."""

    informativeness: float  # mean test accuracy over factors
    baseline: float  # mean over factors of the test set's majority share
    p_value: float  # one-sided binomial test of the pooled correct predictions against the baseline
    closed: bool


def majority_baseline(factors: np.ndarray) -> np.ndarray:
    """Per factor (column), the share of rows taking its most common value."""
    return np.array([np.bincount(column).max() / len(column) for column in np.asarray(factors, dtype=np.int64).T])


def informativeness_gate(correct: int, predictions: int, baseline: float, alpha: float = ALPHA) -> Gate:
    """The gate for ``correct`` right predictions out of ``predictions`` (test points times factors),
    against ``baseline``, the mean over factors of the majority shares."""
    p_value = float(scipy.stats.binomtest(int(correct), int(predictions), float(baseline), alternative="greater").pvalue)
    return Gate(informativeness=correct / predictions, baseline=float(baseline), p_value=p_value, closed=p_value >= alpha)
