"""DCI: Disentanglement, Completeness, Informativeness (Eastwood & Williams 2018), as in
disentanglement_lib.

For every factor a ``GradientBoostingClassifier()`` (scikit-learn defaults: 100 trees of depth
3, learning rate 0.1) predicts the factor from all codes; its absolute feature importances form
column ``k`` of ``R [D, F]``. Disentanglement weights each code's ``1 - H_F(R[j]/sum R[j])`` by
its share of total importance; completeness is the same per factor with base ``D``.
Informativeness is the mean classification *accuracy* (train and test), as disentanglement_lib
reports it. Ranges [0, 1]; a representation no tree uses (a collapsed one) scores D = C = 0. The
per-factor fits are independent and run in parallel threads.

Unlike disentanglement_lib, D and C are *gated* by informativeness (``disbench.metrics.informativeness``):
they are 0 unless the test accuracy beats the majority-class baseline (one-sided binomial test at
1 %), since trees fitted to codes that carry no information still split on their noise. The
ungated values, the baseline, the test's p-value and whether the gate closed are reported beside.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.stats

from disbench.metrics.informativeness import informativeness_gate, majority_baseline
from disbench.metrics.utils import check_enough_for_classes, check_pair, n_jobs


def _fit_factor(x_train, y_train, x_test, y_test, seed):
    from sklearn.ensemble import GradientBoostingClassifier

    model = GradientBoostingClassifier(random_state=seed)
    model.fit(x_train, y_train)
    return np.abs(model.feature_importances_), np.mean(model.predict(x_train) == y_train), int(np.sum(model.predict(x_test) == y_test))


def importance_matrix(codes_tr, factors_tr, codes_te, factors_te, seed: int = 0, jobs: int | None = None):
    """``(R [D, F], train accuracy, correct test predictions summed over factors)`` from one gradient-boosted
    classifier per factor."""
    from joblib import Parallel, delayed

    results = Parallel(n_jobs=min(n_jobs(jobs), factors_tr.shape[1]), prefer="threads")(
        delayed(_fit_factor)(codes_tr, factors_tr[:, k], codes_te, factors_te[:, k], seed) for k in range(factors_tr.shape[1])
    )
    importance = np.stack([r[0] for r in results], axis=1)
    return importance, float(np.mean([r[1] for r in results])), sum(r[2] for r in results)


def disentanglement_score(importance: np.ndarray) -> float:
    if not importance.any():  # no code helps predict any factor (a collapsed representation)
        return 0.0
    per_code = 1.0 - scipy.stats.entropy(importance.T + 1e-11, base=importance.shape[1])
    return float(np.sum(per_code * importance.sum(axis=1) / importance.sum()))


def completeness_score(importance: np.ndarray) -> float:
    if not importance.any():
        return 0.0
    per_factor = 1.0 - scipy.stats.entropy(importance + 1e-11, base=importance.shape[0])
    return float(np.sum(per_factor * importance.sum(axis=0) / importance.sum()))


def dci(codes_tr: Any, factors_tr: Any, codes_te: Any, factors_te: Any, seed: int = 0, n_jobs: int | None = None) -> dict[str, float]:
    """DCI scores from independent train and test samples, D and C gated by test informativeness
    (``dci.gated`` is 1.0 when the gate closed and they are reported as 0)."""
    codes_tr, factors_tr = check_pair(codes_tr, factors_tr, what=" (train)")
    codes_te, factors_te = check_pair(codes_te, factors_te, min_rows=1, what=" (test)")
    check_enough_for_classes(factors_tr, "DCI")
    importance, acc_train, correct = importance_matrix(codes_tr, factors_tr, codes_te, factors_te, seed, n_jobs)
    gate = informativeness_gate(correct, factors_te.size, majority_baseline(factors_te).mean())
    disentanglement, completeness = disentanglement_score(importance), completeness_score(importance)
    return {
        "dci.disentanglement": 0.0 if gate.closed else disentanglement,
        "dci.completeness": 0.0 if gate.closed else completeness,
        "dci.disentanglement_ungated": disentanglement,
        "dci.completeness_ungated": completeness,
        "dci.informativeness_train": acc_train,
        "dci.informativeness_test": gate.informativeness,
        "dci.informativeness_baseline": gate.baseline,
        "dci.informativeness_p_value": gate.p_value,
        "dci.gated": float(gate.closed),
    }
