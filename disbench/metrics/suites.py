"""Running a metric suite (the suites themselves, as data, are in ``disbench.protocol``).

Every metric draws its samples from its own generator, seeded from (seed, metric name), so adding a
metric never changes another one's value, and one observation is encoded at most once for the
whole suite (``CodeSource``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch
from tqdm.auto import tqdm

from disbench.data.base import DeviceLike, GroundTruthData
from disbench.error import MetricError
from disbench.metrics.beta_vae import beta_vae
from disbench.metrics.codes import CodeSource, sample_codes
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
from disbench.protocol import suite_config

if TYPE_CHECKING:
    from disbench.task import EncodeFn, Task


def _train_test_draws(data: GroundTruthData, generator: torch.Generator, counts: dict, seeded: bool) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """A train/test metric's random draws, in order: its model seed (if ``seeded``), train and test factors."""
    seed = {"seed": int(torch.randint(0, 2**31, (1,), generator=generator))} if seeded else {}
    return seed, data.sample_factors(counts["num_train"], generator), data.sample_factors(counts["num_test"], generator)


def _train_test(fn: Callable[..., dict], seeded: bool = False) -> Callable[[CodeSource, torch.Generator, dict], dict]:
    def run(source: CodeSource, generator: torch.Generator, counts: dict) -> dict:
        seed, train, test = _train_test_draws(source.task.data, generator, counts, seeded)
        return fn(source.codes(train), train.numpy(), source.codes(test), test.numpy(), **seed)

    return run


def dci_test_factors(task: Task, suite: str, seed: int) -> np.ndarray:
    """The test factors ``[num_test, F]`` that ``evaluate(task, ..., suite, seed)`` gives DCI, drawn again without
    encoding anything: the informativeness baseline of a record made before the suite reported it."""
    generator = torch.Generator().manual_seed(derive_seed(seed, "dci"))
    return _train_test_draws(task.data, generator, suite_config(suite)["dci"], seeded=True)[2].numpy()


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
    progress: bool = False,
) -> dict[str, float]:
    """Run a metric suite on a representation and return one flat ``{name: value}`` dict.

    ``encode_fn`` maps observations in the task's input space (``[N, C, H, W]`` float) to codes
    ``[N, D]``; it is called under ``torch.inference_mode`` on large batches. ``metrics``
    restricts the suite to some of its metrics; ``progress`` shows a bar (with an ETA) over them.
    """
    config = suite_config(suite)
    if metrics is not None:
        unknown = sorted(set(metrics) - set(config))
        if unknown:
            raise MetricError(f"Suite {suite!r} has no metrics {unknown}; it has {', '.join(config)}.")
        config = {name: config[name] for name in metrics}
    source = CodeSource(task, encode_fn, device)
    results: dict[str, float] = {}
    for name, counts in tqdm(config.items(), total=len(config), desc=f"{suite} metrics", unit="metric", disable=not progress):
        generator = torch.Generator().manual_seed(derive_seed(seed, name))
        results.update({key: float(value) for key, value in RUNNERS[name](source, generator, counts).items()})
    return results
