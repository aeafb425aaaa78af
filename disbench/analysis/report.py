"""Per-factor correlation between ground-truth and perceived distance, and the task verdict.

* ``adversarial``: along some factor (of size >= 3) the loss perceives every pair of values as
  equally far apart (paper.md §1.4), in every traversal (the distance may differ between
  traversals). Minimising reconstruction error then cannot order that factor, and a VAE does not
  disentangle it.
* ``misaligned``: no factor is constant, but some factor's Spearman correlation is below
  ``MISALIGNED_BELOW``: the loss orders it weakly or wrongly.
* ``aligned``: every factor's perceived distance grows with its ground-truth distance.
* ``undecided``: no factor can decide (below): the data gives a loss nothing to order, so the
  analysis cannot say whether a VAE will disentangle it. Not "aligned": nothing was checked.

A factor with two values has one distance and nothing to order, so it cannot decide a verdict;
nor can a categorical factor (``GroundTruthData.categorical_factors``: a shape, a colour name),
whose values have no order for a loss to perceive.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tabulate import tabulate

from disbench.analysis.distances import DistanceStats, TraversalDistances, perceived_distances, traversal_distances
from disbench.analysis.sampling import MIN_VALUES
from disbench.data.base import GroundTruthData
from disbench.files import write_text_atomic
from disbench.task import Task
from disbench.viz.distances import save_matrices_figure

MISALIGNED_BELOW = 0.5
CONSTANT_RTOL = 1e-9
ROUND_DIGITS = 12
UNDECIDED_REASON = "no ordered factor has 3 or more values: a two-valued or categorical factor gives a loss no order to perceive"


@dataclass(frozen=True)
class FactorCorrelation:
    """How the perceived distance along a factor's traversals follows the ground-truth ``|u - v|``.

    ``spearman`` is Spearman's rho over the pairs ``u < v`` of one traversal, averaged over the
    traversals: whether the loss orders the factor's values where the other factors are held fixed,
    which is the order a VAE can learn (paper.md §1.3). ``pooled_spearman`` ranks the pairs of all
    traversals together, so it also penalises a distance scale that changes with the other factors
    (a dimmer or smaller object is nearer at every step): XYObject's ``x`` under MSE has 0.84
    within traversals and 0.26 pooled. Both are None exactly when ``constant`` is True.
    """

    factor: str
    size: int
    spearman: float | None
    constant: bool
    distinct_values: int
    num_pairs: int
    pooled_spearman: float | None = None
    ordered: bool = True  # False for a categorical factor: its rho measures an arbitrary order

    @property
    def deciding(self) -> bool:
        """Whether this factor can decide a verdict: ordered, with 3 or more values."""
        return self.ordered and self.size >= 3


def _constant_rows(pairs: np.ndarray) -> np.ndarray:
    """Which traversals (rows of ``pairs``: the distances of all their pairs, NaN for a pair with no
    images) perceive every two distinct values as equally far apart."""
    scale = np.nanmax(np.abs(pairs), axis=1)
    return np.nanmax(pairs, axis=1) - np.nanmin(pairs, axis=1) <= CONSTANT_RTOL * np.maximum(scale, 1e-300)


def _row_spearman(ground: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Spearman's rho of ``ground [P]`` with each row of ``pairs [R, P]`` (average ranks for ties),
    over the pairs of the row that are not NaN (the pairs its traversal has images for)."""
    from scipy.stats import rankdata  # imported when first needed: it costs the CLI's start-up a second or more

    missing = np.isnan(pairs)
    if missing.any():
        ranks = rankdata(pairs, axis=1, nan_policy="omit")
        target = rankdata(np.where(missing, np.nan, ground), axis=1, nan_policy="omit")
        ranks -= np.nanmean(ranks, axis=1, keepdims=True)
        target -= np.nanmean(target, axis=1, keepdims=True)
        return np.nansum(ranks * target, axis=1) / np.sqrt(np.nansum(ranks**2, axis=1) * np.nansum(target**2, axis=1))
    ranks = rankdata(pairs, axis=1)
    ranks -= ranks.mean(axis=1, keepdims=True)
    target = rankdata(ground) - (len(ground) + 1) / 2
    return (ranks @ target) / np.sqrt((ranks**2).sum(axis=1) * (target**2).sum())


def correlate(t: TraversalDistances, ordered: bool = True) -> FactorCorrelation:
    """Correlations of one factor; the factor is ``constant`` when every traversal is (the constant
    may differ between traversals: a brighter object moved between places that never overlap is
    farther at each step, but no closer to one place than another; no order can be recovered)."""
    size = t.ground_truth.shape[0]
    u, v = np.triu_indices(size, k=1)
    pairs = t.perceived[:, u, v]  # NaN where the traversal has no image for one of the two values (sampling draws only lines with enough)
    if pairs.size == 0:
        return FactorCorrelation(t.factor, size, None, True, 0, 0, ordered=ordered)
    constant_rows = _constant_rows(pairs)
    constant = bool(constant_rows.all())
    observed = pairs[~np.isnan(pairs)]
    # Round away float noise so that equal distances tie exactly when ranked.
    rounded = np.array([float(f"{d:.{ROUND_DIGITS}g}") for d in np.unique(observed)])
    distinct = 1 if constant else len(np.unique(rounded))
    rho = pooled = None
    if not constant and size > 2:
        ground = t.ground_truth[u, v]
        varying = pairs[~constant_rows]
        row_scale = np.nanmax(np.abs(varying), axis=1, keepdims=True)
        rho = float(_row_spearman(ground, np.round(varying / row_scale, ROUND_DIGITS)).mean())
        pooled = float(_row_spearman(np.tile(ground, len(pairs)), np.round(pairs.reshape(1, -1) / np.abs(observed).max(), ROUND_DIGITS))[0])
    return FactorCorrelation(t.factor, size, rho, constant, distinct, int(observed.size), pooled, ordered)


def correlations_of(traversals: list[TraversalDistances], data: GroundTruthData) -> dict[str, FactorCorrelation]:
    """``{factor: correlation}`` of each factor's traversals, categorical factors marked unordered."""
    return {t.factor: correlate(t, ordered=t.factor not in data.categorical_factors) for t in traversals}


def all_traversals(task: Task, repeats: int = 64, seed: int = 777, space: str = "unit") -> list[TraversalDistances]:
    return [traversal_distances(task, i, repeats=repeats, seed=seed, space=space) for i in range(task.data.num_factors)]


def factor_correlation(task: Task, repeats: int = 64, seed: int = 777, space: str = "unit") -> dict[str, FactorCorrelation]:
    """Spearman correlation between ground-truth and perceived distance along traversals, per factor."""
    return correlations_of(all_traversals(task, repeats, seed, space), task.data)


@dataclass
class AnalysisReport:
    """Everything ``disbench analyze`` shows: the verdict and the numbers behind it."""

    task: str
    loss: str
    verdict: str
    reason: str
    correlations: dict[str, FactorCorrelation]
    distances: dict[str, DistanceStats]
    random: DistanceStats
    traversals: list[TraversalDistances] = field(default_factory=list, repr=False)
    settings: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "task": self.task,
            "loss": self.loss,
            "verdict": self.verdict,
            "reason": self.reason,
            "factors": {
                name: {**asdict(c), **{f"distance_{k}": v for k, v in self.distances[name].to_dict().items()}}
                if name in self.distances
                else asdict(c)
                for name, c in self.correlations.items()
            },
            "random_pairs": self.random.to_dict(),
            "matrices": {t.factor: {"ground_truth": t.ground_truth.tolist(), "perceived": t.matrix_list()} for t in self.traversals},
            "settings": self.settings,
        }


def verdict(correlations: dict[str, FactorCorrelation]) -> tuple[str, str]:
    """``(verdict, reason)`` from per-factor correlations (see the module docstring)."""
    deciding = [c for c in correlations.values() if c.deciding]
    if not deciding:
        return "undecided", UNDECIDED_REASON
    constant = [c.factor for c in deciding if c.constant]
    if constant:
        return "adversarial", f"constant perceived distance along {', '.join(constant)}"
    weak = [f"{c.factor} (rho={c.spearman:.3f})" for c in deciding if c.spearman is not None and c.spearman < MISALIGNED_BELOW]
    if weak:
        return "misaligned", f"Spearman rho < {MISALIGNED_BELOW} along {', '.join(weak)}"
    lowest = min(deciding, key=lambda c: c.spearman)
    return "aligned", f"lowest Spearman rho {lowest.spearman:.3f} ({lowest.factor})"


def analyse(task: Task, num_pairs: int = 10_000, repeats: int = 64, seed: int = 777, space: str = "unit",
            traversals: list[TraversalDistances] | None = None) -> AnalysisReport:
    """Perceived-distance statistics, per-factor correlations and the verdict for one task; ``traversals``,
    the task loss's at these settings when already measured (``analyze``'s loss comparison has them)."""
    traversals = traversals if traversals is not None else all_traversals(task, repeats, seed, space)
    correlations = correlations_of(traversals, task.data)
    stats = perceived_distances(task, num_pairs=num_pairs, seed=seed, space=space)
    label, reason = verdict(correlations)
    return AnalysisReport(
        task=task.id,
        loss=task.loss.name,
        verdict=label,
        reason=reason,
        correlations=correlations,
        distances=stats["factors"],
        random=stats["random"],
        traversals=traversals,
        settings={"num_pairs": num_pairs, "repeats": repeats, "seed": seed, "space": space},
    )


def format_rho(c: FactorCorrelation) -> str:
    if not c.ordered:
        return "categorical"
    return "constant" if c.constant else "-" if c.spearman is None else f"{c.spearman:.3f}"


def format_report(report: AnalysisReport) -> str:
    """Per-factor distance statistics and correlations, then the verdict."""
    rows = []
    for name, c in report.correlations.items():
        d = report.distances.get(name)
        rows.append((name, c.size, f"{d.mean:.4f} ({d.std:.4f})" if d else "-", format_rho(c), c.distinct_values))
    rows.append(("random pairs", "", f"{report.random.mean:.4f} ({report.random.std:.4f})", "", ""))
    table = tabulate(rows, headers=["factor", "size", "distance mean (std)", "spearman", "distinct"], tablefmt="simple")
    return f"{table}{categorical_note(report.correlations)}{incomplete_note(report.traversals)}\n\nverdict: {report.verdict} ({report.reason})"


def incomplete_note(traversals: list[TraversalDistances]) -> str:
    """A line saying how much of each traversal an incomplete grid left (empty for a full grid)."""
    kept = [f"{t.factor} {t.present.sum(axis=1).mean():.1f} of {t.present.shape[1]}" for t in traversals if t.present is not None]
    if not kept:
        return ""
    return (f"\nincomplete grid: each traversal is measured on the values it has images for (on average {', '.join(kept)}); "
            f"traversals with fewer than {MIN_VALUES} (or, for a factor with fewer values, all of them) are not drawn.")


def categorical_note(correlations: dict[str, FactorCorrelation]) -> str:
    """A line naming the categorical factors, which no verdict judges, and how to order them."""
    names = [c.factor for c in correlations.values() if not c.ordered]
    if not names:
        return ""
    return (f"\n{', '.join(names)}: categorical (values without an order), so not judged: a loss cannot order what has no order. "
            "Give an order (--order NAME=V1,V2,...) to judge one.")


def save_report(report: AnalysisReport, out: str | Path, extra: dict | None = None) -> list[Path]:
    """``matrices.png`` (the paper's Fig. 3/8 view) and ``analysis.json`` (every number, plus ``extra``)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    categorical = [name for name, c in report.correlations.items() if not c.ordered]
    picture = save_matrices_figure(report.traversals, out / "matrices.png", title=f"{report.task}: {report.loss}", categorical=categorical)
    numbers = write_text_atomic(out / "analysis.json", json.dumps({**report.to_dict(), **(extra or {})}, indent=1))
    return [picture, numbers]
