"""What stands behind one entry of the board (a submission on a task and tier, from one origin): each seed's score,
the median and interquartile range once there are enough seeds, the model's parameter count and when it ran.

A mean ± std over two seeds hides whether the seeds agree; the site shows every seed's value under the mean,
and from :data:`MEDIAN_FROM` seeds (the ``standard`` and ``extended`` tiers have five) the median and IQR too,
which a single bad seed moves less than the mean.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

import numpy as np

from disbench.leaderboard.cells import Cell, fmt
from disbench.leaderboard.store import Board, Entry

MEDIAN_FROM = 5  # seeds from which a score also shows its median [IQR]
GroupKey = tuple[str, str, str, str, bool]  # task, tier, submission, origin, stale: the aggregates' group


@dataclass
class EntryRuns:
    """The records of one group: every seed's metrics, parameter counts and creation times, in seed order."""

    seeds: list[int] = field(default_factory=list)
    metrics: list[dict[str, float]] = field(default_factory=list)
    num_parameters: list[int] = field(default_factory=list)
    created: list[datetime] = field(default_factory=list)
    hyperparameters: list[dict] = field(default_factory=list)

    def points(self, metric: str) -> list[tuple[int, float]]:
        """(seed, value) of ``metric`` for each seed that has it."""
        return [(s, m[metric]) for s, m in zip(self.seeds, self.metrics) if metric in m]


def group_key(entry: Entry) -> GroupKey:
    r = entry.record
    return (r.task.id, r.protocol.name, r.submission.name, entry.origin, "stale" in entry.markers)


def entry_runs(board: Board) -> dict[GroupKey, EntryRuns]:
    """Every accepted group's records, each group's seeds in ascending order."""
    out: dict[GroupKey, EntryRuns] = {}
    for e in sorted(board.accepted, key=lambda e: e.record.seed):
        runs = out.setdefault(group_key(e), EntryRuns())
        runs.seeds.append(e.record.seed)
        runs.metrics.append(dict(e.record.metrics))
        runs.num_parameters.append(e.record.training.num_parameters)
        runs.created.append(e.record.created)
        runs.hyperparameters.append(dict(e.record.submission.hyperparameters))
    return out


def quartiles(values: Iterable[float]) -> tuple[float, float, float]:
    """25th, 50th and 75th percentile (linear interpolation between order statistics, numpy's default)."""
    q1, median, q3 = np.percentile(np.asarray(list(values), dtype=float), [25, 50, 75])
    return float(q1), float(median), float(q3)


def seed_lines(points: list[tuple[int, float]]) -> tuple[str, ...]:
    """The lines a score shows under its mean ± std: every seed's value in seed order, and from
    :data:`MEDIAN_FROM` seeds the median and interquartile range."""
    if not points:
        return ()
    lines = [" · ".join(fmt(v) for _, v in points)]
    if len(points) >= MEDIAN_FROM:
        q1, median, q3 = quartiles(v for _, v in points)
        lines.append(f"median {fmt(median)} [IQR {fmt(q1)}–{fmt(q3)}]")
    return tuple(lines)


def seed_title(points: list[tuple[int, float]]) -> str:
    """``seed 0: 0.036; seed 1: 0.006``: which value is which seed (a cell's tooltip)."""
    return "; ".join(f"seed {s}: {v:.4f}" for s, v in points)


def with_seeds(cell: Cell, runs: EntryRuns | None, metric: str) -> Cell:
    """``cell`` (a mean ± std) with every seed's value under it and, from five seeds, the median [IQR]."""
    if runs is None:
        return cell
    points = runs.points(metric)
    return replace(cell, detail=seed_lines(points), title=seed_title(points) or None)


def count_text(n: int) -> str:
    """``412 k``, ``1.23 M``: a parameter count to three significant digits (a no-break space before the unit)."""
    for scale, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= scale:
            return f"{n / scale:.3g}\u00a0{unit}"
    return str(n)


def parameters_cell(runs: EntryRuns | None) -> Cell:
    """The model's parameter count (a range if the seeds' models differ), sorted by the largest."""
    if runs is None or not runs.num_parameters:
        return Cell("–")
    lo, hi = min(runs.num_parameters), max(runs.num_parameters)
    text = count_text(lo) if lo == hi else f"{count_text(lo)}–{count_text(hi)}"
    exact = f"{lo:,}" if lo == hi else f"{lo:,} to {hi:,}"
    return Cell(text, hi, title=f"{exact} trainable parameters")


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a record's time without a zone is read as UTC (what the harness writes), never as the build machine's zone."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return aware.astimezone(timezone.utc)


def utc_date(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%d")


def dates_cell(runs: EntryRuns | None) -> Cell:
    """When the records were written (UTC dates, first – last), sorted by the last."""
    if runs is None or not runs.created:
        return Cell("–")
    first, last = min(runs.created), max(runs.created)
    text = utc_date(first) if utc_date(first) == utc_date(last) else f"{utc_date(first)} – {utc_date(last)}"
    return Cell(text, utc_date(last), title="; ".join(f"seed {s}: {utc_date(c)}" for s, c in zip(runs.seeds, runs.created)))


def hyperparameters_text(values: dict) -> str:
    """``beta = 0.001, latent_dim = 9``: what ``build(task_info, **hyperparameters)`` was called with."""
    return ", ".join(f"{k} = {v!r}" if isinstance(v, str) else f"{k} = {v}" for k, v in values.items()) or "(none: the defaults of build)"


def with_entry(name: Cell, runs: EntryRuns | None) -> Cell:
    """A submission's cell with its entry's parameter count and run dates under it (where a table has no room for
    columns of them), and its hyperparameters on hover."""
    if runs is None:
        return name
    params, dates = parameters_cell(runs), dates_cell(runs)
    used = " | ".join(dict.fromkeys(hyperparameters_text(h) for h in runs.hyperparameters))
    return replace(name, detail=(f"{params.text}\u00a0params", f"run {dates.text}"),
                   title=f"{params.title}; records written (UTC) {dates.title}; hyperparameters: {used}")
