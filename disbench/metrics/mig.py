"""MIG, the Mutual Information Gap (Chen et al. 2018), as in disentanglement_lib.

Each code dimension is discretised into ``num_bins`` equal-width bins; ``m[j, k]`` is the
discrete mutual information (nats) between code ``j`` and factor ``k``. For every factor, the
gap between its two most informative codes is normalised by the factor's entropy:
``MIG = mean_k (m_(1)k - m_(2)k) / H(y_k)``. Range [0, 1]; 1 means each factor is captured by
exactly one code dimension. Invariant to permuting codes and to any monotone rescaling of a
code (binning is per dimension). Needs D >= 2.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from disbench.error import MetricError
from disbench.metrics.utils import check_pair, entropies, histogram_discretize, mutual_info_matrix


def mig(codes: Any, factors: Any, num_bins: int = 20) -> dict[str, float]:
    """``{"mig": score}`` from codes ``[N, D]`` and factor indices ``[N, F]``."""
    codes, factors = check_pair(codes, factors)
    if codes.shape[1] < 2:
        raise MetricError("MIG compares the two most informative code dimensions; it needs D >= 2.")
    m = mutual_info_matrix(histogram_discretize(codes, num_bins), factors)
    top = np.sort(m, axis=0)[::-1]
    return {"mig": float(np.mean((top[0] - top[1]) / entropies(factors)))}
