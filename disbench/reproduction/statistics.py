"""The statistics of the reproduction reports: a cell's median and IQR, an effect's bootstrap
confidence interval, and a one-sided rank test, for the few seeds a CPU affords.

- ``describe``: median and interquartile range (numpy's linear interpolation) of a cell's runs.
- ``bootstrap_difference``: the difference of medians, high arm minus low arm, with a percentile
  interval from resampling each arm's runs with replacement, independently (a seeded
  ``numpy.random.Generator``, so a report is reproducible to the digit).
- ``mann_whitney``: one-sided Mann-Whitney U, "high > low". Exact: every split of the pooled runs
  into the two arms is enumerated (a permutation test of U, ties included) while there are at most
  ``EXACT_LIMIT`` splits, else scipy's normal approximation. With two runs per arm its smallest
  possible p is 1/6.
- ``trend``: Spearman's rho of a score against a grid's spacing, with a one-sided permutation p
  (the ladder's claim that the score falls as the spacing grows).
- ``holm``: Holm's step-down adjustment across a report's claims.
- ``verdict``: "sign shown" when the adjusted p is below ``ALPHA``, then (``size_against``) whether
  the paper's effect lies inside our interval ("size as the paper's") or not ("size below/above
  the paper's"); "not shown" otherwise. The sign rests on the rank test, which asks whether one
  arm's runs tend to rank above the other's; the interval is of the difference of medians. With a
  few runs the two can disagree, and an interval that includes 0 leaves the size unresolved.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import scipy.stats

ALPHA = 0.05  # one-sided, after Holm's adjustment within a report
LEVEL = 0.95  # of the bootstrap interval
RESAMPLES = 10_000
EXACT_LIMIT = 200_000  # splits enumerated for an exact test (16 runs in two arms of 8: 12,870)


@dataclass(frozen=True)
class Cell:
    """A cell's runs summarised: n, median and the quartiles."""

    n: int
    median: float
    q1: float
    q3: float

    def text(self) -> str:
        if self.n == 0:
            return "–"
        if self.n == 1:
            return f"{self.median:.3f} (1)"
        return f"{self.median:.3f} [{self.q1:.3f}, {self.q3:.3f}] ({self.n})"


def describe(values: Sequence[float]) -> Cell:
    v = _finite(values)
    if not len(v):
        return Cell(0, math.nan, math.nan, math.nan)
    q1, median, q3 = np.percentile(v, [25, 50, 75])
    return Cell(len(v), float(median), float(q1), float(q3))


@dataclass(frozen=True)
class Effect:
    """High arm minus low arm: the difference of medians, its bootstrap interval and the one-sided test."""

    n_high: int
    n_low: int
    difference: float
    ci_low: float
    ci_high: float
    p_value: float  # one-sided Mann-Whitney, high > low

    @property
    def n(self) -> str:
        return f"{self.n_high}+{self.n_low}"


def bootstrap_difference(high: Sequence[float], low: Sequence[float], seed: int = 0, resamples: int = RESAMPLES,
                         level: float = LEVEL) -> tuple[float, float, float]:
    """(median(high) - median(low), interval low, interval high): a percentile bootstrap, each arm resampled on its own."""
    a, b = _finite(high), _finite(low)
    rng = np.random.default_rng(seed)
    boot = np.median(rng.choice(a, (resamples, len(a))), axis=1) - np.median(rng.choice(b, (resamples, len(b))), axis=1)
    return float(np.median(a) - np.median(b)), *percentile_interval(boot, level)


def percentile_interval(boot: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The central ``level`` interval of bootstrap replicates ``boot``."""
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(boot, [tail, 100 - tail])
    return float(lo), float(hi)


def mann_whitney(high: Sequence[float], low: Sequence[float]) -> float:
    """One-sided p of "high tends to be larger than low" (Mann-Whitney U), exact where the splits can be enumerated."""
    a, b = _finite(high), _finite(low)
    if math.comb(len(a) + len(b), len(a)) > EXACT_LIMIT:
        return float(scipy.stats.mannwhitneyu(a, b, alternative="greater", method="asymptotic").pvalue)
    pooled = np.concatenate([a, b])
    # U of the high arm for every way of choosing its members from the pooled runs (midranks for ties)
    ranks = scipy.stats.rankdata(pooled)
    members = np.array(list(combinations(range(len(pooled)), len(a))))
    u = ranks[members].sum(axis=1) - len(a) * (len(a) + 1) / 2
    observed = ranks[: len(a)].sum() - len(a) * (len(a) + 1) / 2
    return float(np.mean(u >= observed - 1e-9))


def effect(high: Sequence[float], low: Sequence[float], seed: int = 0) -> Effect | None:
    """The effect of high over low, or None when an arm has no run."""
    a, b = _finite(high), _finite(low)
    if not len(a) or not len(b):
        return None
    difference, lo, hi = bootstrap_difference(a, b, seed)
    return Effect(len(a), len(b), difference, lo, hi, mann_whitney(a, b))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the given order (family-wise error across the claims)."""
    order = np.argsort(p_values, kind="stable")
    adjusted, running = [0.0] * len(p_values), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def trend(x: Sequence[float], y: Sequence[float], seed: int = 0, resamples: int = RESAMPLES) -> tuple[float, float]:
    """(Spearman's rho of y against x, one-sided p of "y falls as x grows"): a permutation test of y's order,
    ``resamples`` seeded shuffles (exact when there are fewer orders than that)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    rx = scipy.stats.rankdata(x[keep])
    rx = (rx - rx.mean()) / np.linalg.norm(rx - rx.mean())

    def rho(values: np.ndarray, axis: int = -1) -> np.ndarray:  # Pearson's r of the ranks (midranks for ties): Spearman's rho
        ry = scipy.stats.rankdata(values, axis=axis)
        ry = ry - ry.mean(axis=axis, keepdims=True)
        return (ry @ rx) / np.linalg.norm(ry, axis=axis)

    result = scipy.stats.permutation_test((y[keep],), rho, permutation_type="pairings", alternative="less", n_resamples=resamples,
                                          vectorized=True, rng=np.random.default_rng(seed))
    return float(result.statistic), float(result.pvalue)


def verdict(p_adjusted: float, n: str, size: str | None = None) -> str:
    """"sign shown (p = ..., n = ...)" with ``size`` after it, or "not shown (n = ..., p = ...)"; p is Holm's."""
    if p_adjusted >= ALPHA:
        return f"not shown (n = {n}, p = {format_p(p_adjusted)})"
    return f"sign shown (p = {format_p(p_adjusted)}, n = {n})" + (f"; {size}" if size else "")


def size_against(e: Effect, paper: float | None, not_comparable: str | None = None) -> str | None:
    """Where the paper's effect lies against our interval: "size as the paper's (+0.855)", below or above it;
    "size unresolved" when our interval includes 0, "size not compared (``not_comparable``)" when the paper's
    effect was measured under other conditions (a larger budget, other settings pooled in)."""
    if paper is None:
        return None
    if e.ci_low <= 0 <= e.ci_high:
        return "size unresolved (interval includes 0)"
    if not_comparable:
        return f"size not compared ({not_comparable})"
    where = "as the paper's" if e.ci_low <= paper <= e.ci_high else ("below the paper's" if paper > e.ci_high else "above the paper's")
    return f"size {where} ({paper:+.3f})"


def format_p(p: float) -> str:
    if p >= 1:
        return "1"
    return f"{p:.2g}" if p < 0.01 else f"{p:.3f}".rstrip("0").rstrip(".")


def _finite(values: Sequence[float]) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    return v[np.isfinite(v)]
