"""Metric suites: which metrics a protocol tier runs, with which sample counts.

``standard`` uses disentanglement_lib's sample counts (paper.md §5); ``fast`` the settings the
paper used during training (``compute_fast``, §4.7); ``smoke`` is tiny, to test plumbing. Every
metric draws its samples from its own generator, seeded from (seed, metric name), so adding a
metric never changes another one's value, and one observation is encoded at most once for the
whole suite (``CodeSource``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch

from disbench.data.base import DeviceLike
from disbench.error import MetricError
from disbench.metrics.beta_vae import beta_vae
from disbench.metrics.codes import CodeSource, EncodeFn, sample_codes
from disbench.metrics.dci import dci
from disbench.metrics.factor_vae import factor_vae
from disbench.metrics.factored_components import factored_components
from disbench.metrics.flatness import flatness
from disbench.metrics.irs import irs
from disbench.metrics.mig import mig
from disbench.metrics.modularity import modularity_explicitness
from disbench.metrics.sap import sap
from disbench.metrics.unsupervised import unsupervised
from disbench.metrics.utils import derive_seed
from disbench.task import Task

SUITES: dict[str, dict[str, dict[str, int]]] = {
    "standard": {
        "mig": {"num_train": 10_000},
        "dci": {"num_train": 10_000, "num_test": 5_000},
        "sap": {"num_train": 10_000, "num_test": 5_000},
        "modularity_explicitness": {"num_train": 10_000, "num_test": 5_000},
        "irs": {"num_train": 10_000},
        "unsupervised": {"num_train": 10_000},
        "factor_vae": {"batch_size": 64, "num_train": 10_000, "num_eval": 5_000, "num_variance_estimate": 10_000},
        "beta_vae": {"batch_size": 64, "num_train": 10_000, "num_eval": 5_000},
        "flatness": {"repeats": 1024},
        "factored_components": {"repeats": 1024, "num_samples": 64, "global_subset_size": 32},
    },
    "fast": {
        "mig": {"num_train": 2_000},
        "dci": {"num_train": 1_000, "num_test": 500},
        "sap": {"num_train": 2_000, "num_test": 1_000},
        "modularity_explicitness": {"num_train": 2_000, "num_test": 1_000},
        "irs": {"num_train": 2_000},
        "unsupervised": {"num_train": 2_000},
        "factor_vae": {"batch_size": 64, "num_train": 700, "num_eval": 350, "num_variance_estimate": 1_000},
        "beta_vae": {"batch_size": 64, "num_train": 700, "num_eval": 350},
        "flatness": {"repeats": 128},
        "factored_components": {"repeats": 128, "num_samples": 64, "global_subset_size": 32},
    },
    "smoke": {
        "mig": {"num_train": 256},
        "dci": {"num_train": 128, "num_test": 64},
        "sap": {"num_train": 256, "num_test": 128},
        "modularity_explicitness": {"num_train": 256, "num_test": 128},
        "irs": {"num_train": 256},
        "unsupervised": {"num_train": 256},
        "factor_vae": {"batch_size": 16, "num_train": 64, "num_eval": 32, "num_variance_estimate": 256},
        "beta_vae": {"batch_size": 16, "num_train": 64, "num_eval": 32},
        "flatness": {"repeats": 4},
        "factored_components": {"repeats": 4, "num_samples": 16, "global_subset_size": 8},
    },
}


def suite_config(suite: str) -> dict[str, dict[str, int]]:
    if suite not in SUITES:
        raise MetricError(f"Unknown metric suite {suite!r}; suites are {', '.join(SUITES)}.")
    return copy.deepcopy(SUITES[suite])


def _train_test(fn: Callable[..., dict], seeded: bool = False) -> Callable[[CodeSource, torch.Generator, dict], dict]:
    def run(source: CodeSource, generator: torch.Generator, counts: dict) -> dict:
        seed = {"seed": int(torch.randint(0, 2**31, (1,), generator=generator))} if seeded else {}
        train = sample_codes(source, counts["num_train"], generator)
        test = sample_codes(source, counts["num_test"], generator)
        return fn(*train, *test, **seed)

    return run


def _train_only(fn: Callable[..., dict]) -> Callable[[CodeSource, torch.Generator, dict], dict]:
    def run(source: CodeSource, generator: torch.Generator, counts: dict) -> dict:
        codes, factors = sample_codes(source, counts["num_train"], generator)
        return fn(codes) if fn is unsupervised else fn(codes, factors)

    return run


def _interventional(fn: Callable[..., dict]) -> Callable[[CodeSource, torch.Generator, dict], dict]:
    def run(source: CodeSource, generator: torch.Generator, counts: dict) -> dict:
        seed = int(torch.randint(0, 2**31, (1,), generator=generator))
        return fn(source.task, source, seed=seed, **counts)

    return run


RUNNERS = {
    "mig": _train_only(mig),
    "dci": _train_test(dci, seeded=True),
    "sap": _train_test(sap, seeded=True),
    "modularity_explicitness": _train_test(modularity_explicitness),
    "irs": _train_only(irs),
    "unsupervised": _train_only(unsupervised),
    "factor_vae": _interventional(factor_vae),
    "beta_vae": _interventional(beta_vae),
    "flatness": _interventional(flatness),
    "factored_components": _interventional(factored_components),
}


def evaluate(
    task: Task,
    encode_fn: EncodeFn,
    suite: str = "standard",
    seed: int = 0,
    device: DeviceLike = None,
    metrics: list[str] | None = None,
) -> dict[str, float]:
    """Run a metric suite on a representation and return one flat ``{name: value}`` dict.

    ``encode_fn`` maps observations in the task's input space (``[N, C, H, W]`` float) to codes
    ``[N, D]``; it is called under ``torch.inference_mode`` on large batches. ``metrics``
    restricts the suite to some of its metrics.
    """
    config = suite_config(suite)
    if metrics is not None:
        unknown = sorted(set(metrics) - set(config))
        if unknown:
            raise MetricError(f"Suite {suite!r} has no metrics {unknown}; it has {', '.join(config)}.")
        config = {name: config[name] for name in metrics}
    source = CodeSource(task, encode_fn, device)
    results: dict[str, float] = {}
    for name, counts in config.items():
        generator = torch.Generator().manual_seed(derive_seed(seed, name))
        results.update({key: float(value) for key, value in RUNNERS[name](source, generator, counts).items()})
    return results
