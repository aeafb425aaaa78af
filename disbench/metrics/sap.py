"""SAP, the Separated Attribute Predictability score (Kumar et al. 2018), as in disentanglement_lib.

``S[j, k]`` is the test accuracy of ``LinearSVC(C=0.01, class_weight="balanced")`` trained on
the single code ``j`` to predict factor ``k`` (factors treated as discrete). SAP is the mean
over factors of the gap between the best and second-best code. Range [0, 1]. scikit-learn's
``dual="auto"`` picks the primal solver here (N > 1 feature); the problem is strongly convex,
so it reaches the same optimum as disentanglement_lib's dual solver.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from disbench.error import MetricError
from disbench.metrics.utils import check_enough_for_classes, check_pair, n_jobs


def _factor_column(codes_tr, y_tr, codes_te, y_te, seed):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    column = np.zeros(codes_tr.shape[1])
    for j in range(codes_tr.shape[1]):
        classifier = LinearSVC(C=0.01, class_weight="balanced", random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            classifier.fit(codes_tr[:, j : j + 1], y_tr)
        column[j] = np.mean(classifier.predict(codes_te[:, j : j + 1]) == y_te)
    return column


def sap_score_matrix(codes_tr, factors_tr, codes_te, factors_te, seed: int = 0, jobs: int | None = None) -> np.ndarray:
    from joblib import Parallel, delayed

    columns = Parallel(n_jobs=min(n_jobs(jobs), factors_tr.shape[1]), prefer="threads")(
        delayed(_factor_column)(codes_tr, factors_tr[:, k], codes_te, factors_te[:, k], seed) for k in range(factors_tr.shape[1])
    )
    return np.stack(columns, axis=1)


def sap(codes_tr: Any, factors_tr: Any, codes_te: Any, factors_te: Any, seed: int = 0, n_jobs: int | None = None) -> dict[str, float]:
    """``{"sap": score}`` from independent train and test samples."""
    codes_tr, factors_tr = check_pair(codes_tr, factors_tr, what=" (train)")
    codes_te, factors_te = check_pair(codes_te, factors_te, min_rows=1, what=" (test)")
    if codes_tr.shape[1] < 2:
        raise MetricError("SAP compares the two most predictive code dimensions; it needs D >= 2.")
    check_enough_for_classes(factors_tr, "SAP")
    scores = np.sort(sap_score_matrix(codes_tr, factors_tr, codes_te, factors_te, seed, n_jobs), axis=0)
    return {"sap": float(np.mean(scores[-1] - scores[-2]))}
