"""The FactorVAE score (Kim & Mnih 2018), as in disentanglement_lib.

Global variances of each code come from random observations; dimensions with std below
``prune_threshold`` (0.05, disentanglement_lib's configured value) are ignored. Each vote fixes
one random factor across a batch of 64 observations and records the code with the smallest
variance relative to its global variance. A majority-vote classifier (code -> factor) is fit
on the training votes; the scores are its accuracies on the training votes and on a fresh
evaluation set. Range [0, 1] (chance is about 1/F). The MSc code used threshold 0 instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from disbench.metrics.codes import CodeSource, as_source, sample_codes

if TYPE_CHECKING:
    from disbench.task import EncodeFn, Task


def fixed_factor_batches(task: Task, num: int, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``num`` batches ``[num, batch_size, F]`` in which one random factor per batch is held fixed."""
    data = task.data
    fixed = torch.randint(0, data.num_factors, (num,), generator=generator)
    factors = data.sample_factors(num * batch_size, generator).view(num, batch_size, -1)
    rows = torch.arange(num)
    factors[rows, :, fixed] = factors[rows, 0, fixed][:, None]
    return factors, fixed


def _votes(source: CodeSource, num: int, batch_size: int, generator, global_var, active, chunk: int = 500) -> np.ndarray:
    data = source.task.data
    votes = np.zeros((data.num_factors, len(global_var)), dtype=np.int64)
    active_dims = np.flatnonzero(active)
    for start in range(0, num, chunk):
        factors, fixed = fixed_factor_batches(source.task, min(chunk, num - start), batch_size, generator)
        local_var = np.var(source.codes(factors), axis=1, ddof=1)
        chosen = active_dims[np.argmin(local_var[:, active] / global_var[active], axis=1)]
        np.add.at(votes, (fixed.numpy(), chosen), 1)
    return votes


def factor_vae(
    task: Task,
    encoder: EncodeFn | CodeSource,
    seed: int = 0,
    batch_size: int = 64,
    num_train: int = 10_000,
    num_eval: int = 5_000,
    num_variance_estimate: int = 10_000,
    prune_threshold: float = 0.05,
) -> dict[str, float]:
    """``{"factor_vae.train_accuracy", "factor_vae.eval_accuracy", "factor_vae.num_active_dims"}``."""
    source = as_source(task, encoder)
    generator = torch.Generator().manual_seed(seed)
    codes, _ = sample_codes(source, num_variance_estimate, generator)
    global_var = np.var(codes, axis=0, ddof=1)
    active = np.sqrt(global_var) >= prune_threshold
    if not active.any():
        return {"factor_vae.train_accuracy": 0.0, "factor_vae.eval_accuracy": 0.0, "factor_vae.num_active_dims": 0}
    train = _votes(source, num_train, batch_size, generator, global_var, active)
    classifier = np.argmax(train, axis=0)  # for every code: the factor it votes for most
    columns = np.arange(train.shape[1])
    evaluation = _votes(source, num_eval, batch_size, generator, global_var, active)
    return {
        "factor_vae.train_accuracy": float(train[classifier, columns].sum() / train.sum()),
        "factor_vae.eval_accuracy": float(evaluation[classifier, columns].sum() / evaluation.sum()),
        "factor_vae.num_active_dims": int(active.sum()),
    }
