"""The BetaVAE score (Higgins et al. 2017), as in disentanglement_lib (scikit-learn variant).

Each training point fixes one random factor ``k`` across 64 pairs of observations (the other
factors random) and uses the mean absolute code difference over the pairs as features; a
default ``LogisticRegression`` predicts ``k``. Scores are its train and eval accuracies.
Range [0, 1]; chance is 1/F.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import torch

from disbench.metrics.codes import CodeSource, as_source

if TYPE_CHECKING:
    from disbench.task import EncodeFn, Task


def _points(source: CodeSource, num: int, batch_size: int, generator: torch.Generator, chunk: int = 500):
    data = source.task.data
    features, labels = [], []
    for start in range(0, num, chunk):
        n = min(chunk, num - start)
        fixed = torch.randint(0, data.num_factors, (n,), generator=generator)
        first = data.sample_factors(n * batch_size, generator).view(n, batch_size, -1)
        second = data.sample_factors(n * batch_size, generator).view(n, batch_size, -1)
        rows = torch.arange(n)
        second[rows, :, fixed] = first[rows, :, fixed]
        features.append(np.mean(np.abs(source.codes(first) - source.codes(second)), axis=1))
        labels.append(fixed.numpy())
    return np.concatenate(features), np.concatenate(labels)


def beta_vae(
    task: Task,
    encoder: EncodeFn | CodeSource,
    seed: int = 0,
    batch_size: int = 64,
    num_train: int = 10_000,
    num_eval: int = 5_000,
) -> dict[str, float]:
    """``{"beta_vae.train_accuracy", "beta_vae.eval_accuracy"}``."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    source = as_source(task, encoder)
    generator = torch.Generator().manual_seed(seed)
    x_train, y_train = _points(source, num_train, batch_size, generator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(random_state=seed).fit(x_train, y_train)
    x_eval, y_eval = _points(source, num_eval, batch_size, generator)
    return {
        "beta_vae.train_accuracy": float(np.mean(model.predict(x_train) == y_train)),
        "beta_vae.eval_accuracy": float(np.mean(model.predict(x_eval) == y_eval)),
    }
