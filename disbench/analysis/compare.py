"""The same data under several losses: which ones order each factor (``disbench analyze``)."""

from __future__ import annotations

from tabulate import tabulate

import disbench
from disbench.analysis.report import FactorCorrelation, factor_correlation, format_rho
from disbench.task import Task
from disbench.tasks import BOXBLUR, GAUSSBLUR, LEARNT


def comparison_losses(task: Task) -> list[str]:
    """The task's own loss next to MSE, the blur losses and the learnt kernel (if shipped)."""
    losses = [task.loss.name, "mse", BOXBLUR, GAUSSBLUR]
    if task.data.name == "xysquares":
        losses.append(LEARNT)
    return list(dict.fromkeys(losses))


def compare_losses(task: Task, repeats: int = 32, seed: int = 777, space: str = "unit") -> dict[str, dict[str, FactorCorrelation]]:
    """``{loss: {factor: correlation}}`` for the task's data under each comparison loss."""
    return {loss: factor_correlation(disbench.make(task.spec.id, loss=loss), repeats=repeats, seed=seed, space=space) for loss in comparison_losses(task)}


def format_comparison(comparison: dict[str, dict[str, FactorCorrelation]]) -> str:
    names = list(next(iter(comparison.values())))
    table = [(loss, *(format_rho(c[n]) for n in names)) for loss, c in comparison.items()]
    return "Spearman rho of perceived vs ground-truth distance, by loss:\n" + tabulate(table, headers=["loss", *names], tablefmt="simple")
