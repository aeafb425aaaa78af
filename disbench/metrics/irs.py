"""IRS, the Interventional Robustness Score (Suter et al. 2019), as in disentanglement_lib.

Factors are first discretised with the 20-bin histogram discretizer (as the reference does) and
constant code dimensions dropped. For each factor value, the 99th percentile of each code's
deviation from its mean given that value is averaged over values, normalised by the code's
maximum deviation, and ``1 - .`` taken; each code's best factor gives its score, and IRS is
their average weighted by maximum deviation. Range [0, 1]; higher means codes are robust to
changes of the other factors. Invariant to permuting codes and to scaling all codes together
(scaling one code changes its weight, so not to that).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from disbench.metrics.utils import active_dims, check_pair, histogram_discretize


def irs(codes: Any, factors: Any, diff_quantile: float = 0.99, num_bins: int = 20) -> dict[str, float]:
    """``{"irs", "irs.num_active_dims"}`` from codes ``[N, D]`` and factors ``[N, F]``."""
    codes, factors = check_pair(codes, factors)
    factors = histogram_discretize(factors.astype(np.float64), num_bins)
    latents = codes[:, active_dims(codes)]
    if latents.shape[1] == 0:  # a collapsed representation: no code responds to anything (the reference's 0)
        return {"irs": 0.0, "irs.num_active_dims": 0}
    max_deviations = np.max(np.abs(latents - latents.mean(axis=0)), axis=0)
    cumulative = np.zeros((latents.shape[1], factors.shape[1]))
    for i in range(factors.shape[1]):
        values = np.unique(factors[:, i])
        for value in values:
            group = latents[factors[:, i] == value]
            cumulative[:, i] += np.quantile(np.abs(group - group.mean(axis=0)), q=diff_quantile, axis=0)
        cumulative[:, i] /= len(values)
    scores = (1.0 - cumulative / max_deviations[:, None]).max(axis=1)
    score = np.average(scores, weights=max_deviations) if max_deviations.sum() > 0 else np.mean(scores)
    return {"irs": float(score), "irs.num_active_dims": int(latents.shape[1])}
