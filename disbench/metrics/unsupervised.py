"""Unsupervised scores of a representation (disentanglement_lib's ``unsupervised_metrics``).

With ``S`` the covariance of the codes (ddof 1):

* ``gaussian_total_correlation`` = 1/2 (sum log diag S - log det S): the total correlation of a
  Gaussian with that covariance; 0 for independent dimensions.
* ``gaussian_wasserstein_correlation`` = 2 tr S - 2 tr sqrtm(S * diag(S) broadcast by rows).
* ``gaussian_wasserstein_correlation_norm`` = the above / tr S.
* ``mutual_info_score``: mean pairwise mutual information between 20-bin-discretised dimensions.

Lower is more factorised. A constant dimension is independent of all others: it is left out of
the Gaussian total correlation (whose log terms would be -inf) and counts as 0 elsewhere.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg

from disbench.metrics.utils import active_dims, check_codes, histogram_discretize, mutual_info_matrix


def gaussian_total_correlation(cov: np.ndarray) -> float:
    return float(0.5 * (np.sum(np.log(np.diag(cov))) - np.linalg.slogdet(cov)[1]))


def gaussian_wasserstein_correlation(cov: np.ndarray) -> float:
    root = scipy.linalg.sqrtm(cov * np.expand_dims(np.diag(cov), axis=1))
    return float(2 * np.trace(cov) - 2 * np.trace(np.real(root)))


def unsupervised(codes: Any, num_bins: int = 20) -> dict[str, float]:
    """Scores that need no factors, from codes ``[N, D]``."""
    codes = check_codes(codes)
    num_codes = codes.shape[1]
    cov = np.atleast_2d(np.cov(codes, rowvar=False))
    active = active_dims(codes)
    mi = mutual_info_matrix(histogram_discretize(codes, num_bins), histogram_discretize(codes, num_bins))
    np.fill_diagonal(mi, 0)
    active_cov = cov[np.ix_(active, active)]  # constant dimensions add 0 to both scores
    collapsed = not active.any()  # no code varies: nothing is correlated
    wasserstein = 0.0 if collapsed else gaussian_wasserstein_correlation(active_cov)
    return {
        "gaussian_total_correlation": 0.0 if collapsed else gaussian_total_correlation(active_cov),
        "gaussian_wasserstein_correlation": wasserstein,
        "gaussian_wasserstein_correlation_norm": 0.0 if collapsed else wasserstein / float(np.trace(cov)),
        "mutual_info_score": float(mi.sum() / (num_codes**2 - num_codes)) if num_codes > 1 else 0.0,
    }
