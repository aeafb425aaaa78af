"""The method × task matrix: every submission of a tier and supervision track against every task it has records of.

One matrix per tier, track and metric (tiers and tracks are never mixed, and each matrix shows one metric, so
its average is a mean of like with like). A cell is a group's mean, with ± std over seeds (n) under it, styled
by its markers; the average is the unweighted mean of a row's per-task means, and only over *every* task of the
matrix: a method that lacks a task gets no average (and its count of tasks says so), so averages over
different task sets are never put side by side. The site's filter recomputes the average over the tasks it
shows, by the same rule (``site/static/matrix.js``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from disbench.leaderboard.aggregate import DCI, Aggregates, primary_metric, trust_markers
from disbench.leaderboard.cells import Cell, fmt
from disbench.leaderboard.entries import EntryRuns, GroupKey, seed_title
from disbench.leaderboard.tables import submission_page, task_page, tracks


@dataclass(frozen=True)
class Column:
    """A task: its id, dataset family (what the filter groups by), whether it is adversarial, and its page."""

    task: str
    family: str
    adversarial: bool
    link: str


@dataclass
class MatrixRow:
    """One group of a submission (official, stale or local): its overall rank, a cell per column, its average."""

    name: Cell
    rank: Cell
    cells: list[Cell]
    tasks: Cell
    average: Cell
    markers: tuple[str, ...] = ()  # the row's own: stale, local


@dataclass
class Matrix:
    tier: str
    track: str
    metric: str
    columns: list[Column]
    rows: list[MatrixRow] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.metric}, {self.track} track ({self.tier})"

    @property
    def all_primary(self) -> bool:
        """Whether ``metric`` is the primary metric (the one ranks use) of every task of the matrix."""
        return all(primary_metric(c.task) == self.metric for c in self.columns)


def _column(task: str) -> Column:
    import disbench
    from disbench.error import DisbenchError

    try:
        spec = disbench.spec(task)
    except DisbenchError:  # the board refuses records of unregistered tasks before this; kept total for direct callers
        return Column(task, "unregistered", False, task_page(task))
    return Column(task, spec.dataset or "other", bool(spec.adversarial), task_page(task))  # a plugin task may name no dataset


def spread(std: float, n: int) -> str:
    """``± 0.004 (2)``: what a matrix cell shows under its mean (just ``(1)`` for one seed)."""
    return f"({int(n)})" if pd.isna(std) else f"± {fmt(std)} ({int(n)})"


def average(cells: list[Cell]) -> Cell:
    """The unweighted mean of the cells' values, if every cell has one; styled by the markers of the cells in it."""
    values = [c.value for c in cells]
    styles = tuple(dict.fromkeys(s for c in cells for s in c.styles))
    if not cells or any(v is None for v in values):
        have = sum(v is not None for v in values)
        return Cell("–", title=f"has {have} of the {len(cells)} tasks: no average over a different set of tasks")
    mean = float(np.mean(values))
    return Cell(fmt(mean), mean, styles=styles, title=f"mean of {len(cells)} tasks' means")


def build_matrix(agg: Aggregates, tier: str, track: str, metric: str, runs: dict[GroupKey, EntryRuns]) -> Matrix | None:
    """The matrix of ``metric`` for ``tier`` and ``track``; None when no group of them has ``metric``."""
    s = agg.summary
    part = s[(s["tier"] == tier) & (s["supervision"] == track) & (s["metric"] == metric)]
    if part.empty:
        return None
    columns = [_column(t) for t in sorted(part["task"].unique())]
    overall = agg.overall[(agg.overall["tier"] == tier) & (agg.overall["supervision"] == track)].set_index("submission")["rank"]
    matrix = Matrix(tier, track, metric, columns)
    keyed = []
    for (sub, origin, stale), g in part.groupby(["submission", "origin", "stale"], sort=True):
        by_task = g.set_index("task")
        own = trust_markers(False, False, origin, bool(stale))  # the row's: stale, local
        cells = []
        for col in columns:
            if col.task not in by_task.index:
                cells.append(Cell("–"))
                continue
            r = by_task.loc[col.task]
            mine = runs.get((col.task, tier, sub, origin, bool(stale)))
            title = seed_title(mine.points(metric)) if mine else ""
            styles = trust_markers(bool(r["unverified"]), bool(r["incomplete"]), origin, bool(stale))  # the filter hides local cells as unverified
            cells.append(Cell(fmt(r["mean"]), float(r["mean"]), col.link, styles=styles, detail=(spread(r["std"], r["n"]),), title=title or None))
        ranked = origin == "official" and not stale and sub in overall.index
        rank = int(overall[sub]) if ranked else None
        group_markers = trust_markers(bool(g["unverified"].any()), bool(g["incomplete"].any()), origin, bool(stale))
        have = sum(c.value is not None for c in cells)
        row = MatrixRow(Cell(sub, sub, submission_page(sub), group_markers), Cell(str(rank) if rank else "–", rank), cells,
                        Cell(f"{have}/{len(columns)}", have), average(cells), own)
        keyed.append(((rank is None, rank or 0, sub, origin, bool(stale)), row))
    matrix.rows = [row for _, row in sorted(keyed, key=lambda t: t[0])]
    return matrix


def matrix_metrics(agg: Aggregates, tier: str) -> list[str]:
    """The metrics a tier's matrices show: each task's primary metric, then DCI disentanglement (the paper's two)."""
    s = agg.summary[agg.summary["tier"] == tier]
    present = set(s["metric"])
    return [m for m in dict.fromkeys([*sorted({primary_metric(t) for t in s["task"].unique()}), DCI]) if m in present]


def matrices(agg: Aggregates, runs: dict[GroupKey, EntryRuns]) -> list[dict]:
    """Per tier (in board order) and metric, the matrices of every track: [{tier, metric, matrices}]."""
    out = []
    for tier in agg.tiers:
        for metric in matrix_metrics(agg, tier):
            found = [m for t in tracks(agg, tier) if (m := build_matrix(agg, tier, t, metric, runs)) is not None]
            if found:
                out.append({"tier": tier, "metric": metric, "matrices": found})
    return out
