"""The same data under several losses: which ones order each factor (``disbench analyze``, ``suggest-loss``).

Every loss is measured on the same random traversals, read once: for a dataset from files the
cost is reading the traversals' images, whatever the number of losses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tabulate import tabulate

from disbench.analysis.distances import TraversalDistances, traversal_distances_by_loss
from disbench.analysis.report import FactorCorrelation, correlations_of, format_rho, verdict
from disbench.data.base import GroundTruthData
from disbench.losses import LEARNT, ReconLoss, make_loss
from disbench.task import Task


@dataclass
class LossScore:
    """How one loss perceives a dataset: per-factor correlations, the verdict, the matrices."""

    loss: str
    verdict: str
    reason: str
    correlations: dict[str, FactorCorrelation]
    traversals: list[TraversalDistances]

    @property
    def deciding(self) -> list[FactorCorrelation]:
        """Ordered factors with 3 or more values: the ones whose order a loss can get right or wrong."""
        return [c for c in self.correlations.values() if c.deciding]

    @property
    def constant(self) -> int:
        return sum(c.constant for c in self.deciding)

    @property
    def lowest(self) -> float | None:
        """The lowest Spearman rho over the deciding factors that are not constant (None if there are none)."""
        rhos = [c.spearman for c in self.deciding if c.spearman is not None]
        return min(rhos) if rhos else None

    @property
    def mean(self) -> float | None:
        rhos = [c.spearman for c in self.deciding if c.spearman is not None]
        return sum(rhos) / len(rhos) if rhos else None

    def to_dict(self) -> dict:
        return {"loss": self.loss, "verdict": self.verdict, "reason": self.reason, "lowest_spearman": self.lowest, "mean_spearman": self.mean,
                "spearman": {name: c.spearman for name, c in self.correlations.items()},
                "matrices": {t.factor: t.matrix_list() for t in self.traversals}}


def score_losses(data: GroundTruthData, losses: Sequence[str | ReconLoss], repeats: int = 32, seed: int = 777, space: str = "unit") -> dict[str, LossScore]:
    """``{loss: LossScore}`` for ``data`` under each loss (a name, or a loss module), on the same traversals."""
    modules = [make_loss(loss) for loss in losses]
    per_factor = [traversal_distances_by_loss(data, modules, i, repeats=repeats, seed=seed, space=space) for i in range(data.num_factors)]
    scores = {}
    for k, module in enumerate(modules):
        traversals = [by_loss[k] for by_loss in per_factor]
        correlations = correlations_of(traversals, data)
        label, reason = verdict(correlations)
        scores[module.name] = LossScore(module.name, label, reason, correlations, traversals)
    return scores


BOX_RADII = (1, 2, 4, 8, 16, 31)
GAUSS_RADII = (2, 4, 8, 16, 31)


def _fitting_radii(image_side: int) -> list[tuple[str, list[int]]]:
    """Per blur kind, the radii up to ``image_side - 2``: a box of radius ``image_side - 1`` covers
    the whole image from every pixel, so it blurs every position to the same picture."""
    return [(kind, [r for r in radii if r <= image_side - 2]) for kind, radii in (("box", BOX_RADII), ("gauss", GAUSS_RADII))]


def _blur(base: str, kind: str, radius: int) -> str:
    return f"{base}+{kind}_r{radius}_w{(2 * radius + 1) ** 2}"


def blur_losses(base: str, image_side: int) -> list[str]:
    """``base`` plus box and Gaussian blurs of each radius that fits the image."""
    return [_blur(base, kind, r) for kind, radii in _fitting_radii(image_side) for r in radii]


def comparison_losses(task: Task) -> list[str | ReconLoss]:
    """The task's own loss (its module, first) next to MSE, the blur losses and the learnt kernel
    (if shipped). The blurs are the paper's (radius 31) where the image allows; on smaller images
    the widest box and Gaussian blur that does not cover the whole picture."""
    widest = [_blur("mse", kind, radii[-1]) for kind, radii in _fitting_radii(min(task.data.obs_shape[-2:])) if radii]
    names = ["mse", *widest] + ([LEARNT] if task.data.name == "xysquares" else [])
    return [task.loss, *(name for name in names if name != task.loss.name)]


def compare_losses(task: Task, repeats: int = 32, seed: int = 777, space: str = "unit") -> dict[str, LossScore]:
    """``{loss: LossScore}`` for the task's data under each comparison loss, its own loss first: what
    ``analyse`` needs of that one (its traversals) is measured here once, on the same draws."""
    return score_losses(task.data, comparison_losses(task), repeats=repeats, seed=seed, space=space)


def format_comparison(comparison: dict[str, LossScore]) -> str:
    names = list(next(iter(comparison.values())).correlations)
    table = [(loss, *(format_rho(s.correlations[n]) for n in names)) for loss, s in comparison.items()]
    return "Spearman rho of perceived vs ground-truth distance, by loss:\n" + tabulate(table, headers=["loss", *names], tablefmt="simple")
