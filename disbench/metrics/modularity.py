"""Modularity and explicitness (Ridgeway & Mozer 2018), as in disentanglement_lib.

Modularity: with ``m [D, F]`` the discrete mutual information between (20-bin) codes and
factors, each code scores ``1 - sum_{k != k*} m_jk^2 / (m_jk*^2 (F - 1))``; codes with no
information score 0; the result is the mean over codes. Explicitness: per factor, a default
``LogisticRegression`` on standardised codes, scored by the macro one-vs-rest ROC-AUC of its
class probabilities, averaged over factors (train and test). Ranges [0, 1].

A constant code dimension is standardised to 0 (disentanglement_lib would divide by a zero
std); test-set classes never seen in training are left out of the test AUC.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from disbench.metrics.utils import active_dims, check_enough_for_classes, check_pair, histogram_discretize, mutual_info_matrix


def modularity_score(mi: np.ndarray) -> float:
    squared = np.square(mi)
    best = squared.max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = (squared.sum(axis=1) - best) / (best * (squared.shape[1] - 1.0))
    score = 1.0 - delta
    score[best == 0.0] = 0.0
    return float(np.mean(score))


def _auc(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    indicator = (y[:, None] == classes[None, :]).astype(int)
    usable = (indicator.sum(axis=0) > 0) & (indicator.sum(axis=0) < len(y))
    return float(roc_auc_score(indicator[:, usable], proba[:, usable], average="macro"))


def explicitness_per_factor(x_tr, y_tr, x_te, y_te) -> tuple[float, float]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression().fit(x_tr, y_tr)
    return _auc(y_tr, model.predict_proba(x_tr), model.classes_), _auc(y_te, model.predict_proba(x_te), model.classes_)


def modularity_explicitness(codes_tr: Any, factors_tr: Any, codes_te: Any, factors_te: Any, num_bins: int = 20) -> dict[str, float]:
    """``{"modularity", "explicitness_train", "explicitness_test"}`` from train and test samples."""
    codes_tr, factors_tr = check_pair(codes_tr, factors_tr, what=" (train)")
    codes_te, factors_te = check_pair(codes_te, factors_te, min_rows=1, what=" (test)")
    check_enough_for_classes(factors_tr, "Explicitness")
    modularity = modularity_score(mutual_info_matrix(histogram_discretize(codes_tr, num_bins), factors_tr))
    mean, std = codes_tr.mean(axis=0), codes_tr.std(axis=0)
    std = np.where(active_dims(codes_tr), std, 1.0)  # a constant code standardises to 0
    x_tr, x_te = (codes_tr - mean) / std, (codes_te - mean) / std
    scores = [explicitness_per_factor(x_tr, factors_tr[:, k], x_te, factors_te[:, k]) for k in range(factors_tr.shape[1])]
    return {
        "modularity": modularity,
        "explicitness_train": float(np.mean([s[0] for s in scores])),
        "explicitness_test": float(np.mean([s[1] for s in scores])),
    }
