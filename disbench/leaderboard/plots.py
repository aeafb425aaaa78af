"""The site's plots (matplotlib, headless): score distributions, the overlap ladder, curves during training.

Every plot draws unverified records in their own style (hollow dots, dashed lines, lighter
colours) and names the marker in its labels, as the tables do; the ladder styles each point by its
own cell's trust, so a method's verified spacings never look like its unverified ones.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from disbench.leaderboard.aggregate import DCI, Aggregates, max_key, primary_metric, trust_markers
from disbench.paper import FIG9, PAPER_LABEL
from disbench.viz import pyplot, save_figure

UNVERIFIED_ALPHA = 0.5


def score_limits(values: np.ndarray) -> tuple[float, float]:
    """An axis that shows ``values`` at their own scale: from 0 (or below, for negative values) to just past the
    largest, so scores near 0.01 are not squashed against a fixed 0-1 axis."""
    lo = min(0.0, float(np.min(values)))
    hi = max(float(np.max(values)), lo)
    span = hi - lo if hi > lo else max(abs(hi), 1e-3)
    return lo - 0.04 * span, hi + 0.08 * span


@dataclass(frozen=True)
class _Group:
    submission: str
    origin: str
    stale: bool
    supervision: str
    markers: tuple[str, ...]

    @property
    def label(self) -> str:
        return " ".join([self.submission, *(f"[{m}]" for m in self.markers)]) + f"\n{self.supervision}"


def _groups(agg: Aggregates, task: str, tier: str, primary: str) -> list[_Group]:
    """The task's groups in the task tables' order: by track, ranked ones by rank, then the unranked."""
    s = agg.summary
    part = s[(s["task"] == task) & (s["tier"] == tier)]
    ranks = agg.ranks[(agg.ranks["task"] == task) & (agg.ranks["tier"] == tier)].set_index("submission")["rank"]
    keyed = []
    for (sub, origin, stale), g in part.groupby(["submission", "origin", "stale"], sort=True):
        first = g.iloc[0]
        ranked = origin == "official" and not stale and sub in ranks.index
        mean = g.set_index("metric")["mean"].get(primary, -math.inf)
        group = _Group(sub, origin, bool(stale), str(first["supervision"]),
                       trust_markers(bool(first["unverified"]), bool(first["incomplete"]), origin, bool(stale)))
        keyed.append(((group.supervision, not ranked, int(ranks[sub]) if ranked else 0, -mean, sub, origin), group))
    return [g for _, g in sorted(keyed, key=lambda t: t[0])]


def score_figure(agg: Aggregates, task: str, tier: str, metrics: list[str]):
    """One panel per metric: every seed's score per group (dots; hollow when unverified) and the mean (bar), rows in
    the task tables' order; None when nothing was recorded."""
    records = agg.records
    part = records[(records["task"] == task) & (records["tier"] == tier) & records["metric"].isin(metrics)]
    if part.empty:
        return None
    groups = _groups(agg, task, tier, primary_metric(task))
    colors = {sub: f"C{i % 10}" for i, sub in enumerate(sorted({g.submission for g in groups}))}
    plt = pyplot()
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.4 * len(metrics) + 1.4, 0.55 * len(groups) + 1.4), squeeze=False)
    rng = np.random.default_rng(0)
    for ax, metric in zip(axes[0], metrics):
        shown = part[part["metric"] == metric]["value"].to_numpy()
        for i, g in enumerate(groups):
            rows = part[(part["submission"] == g.submission) & (part["origin"] == g.origin) & (part["stale"] == g.stale) & (part["metric"] == metric)]
            values = rows["value"].to_numpy()
            if len(values):
                unverified = "unverified" in g.markers
                color = colors[g.submission]
                ax.scatter(values, i + rng.uniform(-0.12, 0.12, len(values)), s=22, linewidths=1.2, edgecolors=color,
                           facecolors="none" if unverified else color, alpha=UNVERIFIED_ALPHA if unverified else 0.85)
                ax.plot([values.mean()] * 2, [i - 0.3, i + 0.3], color="black", lw=1.5, ls="--" if unverified else "-")
        for i in range(1, len(groups)):
            if groups[i].supervision != groups[i - 1].supervision:
                ax.axhline(i - 0.5, color="grey", lw=0.8)  # tracks are ranked apart
        ax.set_yticks(range(len(groups)), [g.label for g in groups] if ax is axes[0][0] else [""] * len(groups), fontsize=7)
        ax.set_ylim(len(groups) - 0.4, -0.6)  # first row on top, as in the table
        if len(shown):
            ax.set_xlim(*score_limits(shown))
        ax.set_xlabel(metric, fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", alpha=0.3)
    return fig


def score_distribution(agg: Aggregates, task: str, tier: str, metrics: list[str], out: Path) -> Path | None:
    """:func:`score_figure` written to ``out``."""
    fig = score_figure(agg, task, tier, metrics)
    title = f"{task} ({tier}): one dot per seed (hollow = unverified), bar = mean"
    return None if fig is None else save_figure(fig, out, title=title)


def ladder_figure(ladder: pd.DataFrame, tier: str, metrics: tuple[str, ...] = ("mig", DCI)):
    """Score against grid spacing per method from the board: final scores (circles, solid lines) and maxima during
    training (triangles, dotted), each point filled when its cell is verified and hollow and lighter when not (a
    segment is lighter unless both its ends are verified), beside the paper's Fig. 9 ranges (bands) and fits (dashed),
    which are maxima during training; one legend under the panels says what each style means. None without records."""
    part = ladder[ladder["tier"] == tier]
    if part.empty:
        return None
    subs = sorted(part["submission"].unique())
    colors = {sub: f"C{i % 10}" for i, sub in enumerate(dict.fromkeys([*subs, *sorted(FIG9)]))}
    plt = pyplot()
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.8 * len(metrics), 4.3), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for key, shape, line, dodge in ((metric, "o", "-", -0.07), (max_key(metric), "^", ":", 0.07)):
            for sub, g in part[part["metric"] == key].groupby("submission", sort=True):
                _ladder_series(ax, g.sort_values("spacing"), shape, line, dodge, colors[sub])
        for sub, by_metric in FIG9.items():
            cells = by_metric.get(metric, {})
            xs = sorted(cells)
            ax.fill_between(xs, [cells[x].low for x in xs], [cells[x].high for x in xs], color=colors[sub], alpha=0.12, lw=0)
            fits = [(x, cells[x].fit) for x in xs if cells[x].fit is not None]
            if fits:
                ax.plot([x for x, _ in fits], [f for _, f in fits], ls="--", color=colors[sub], lw=1)
        ax.set_xlabel("grid spacing (px); 8 = no overlap", fontsize=8)
        ax.set_ylabel(metric, fontsize=8)
        ax.set_xticks(range(1, 9))
        ax.set_ylim(-0.02, 1.05)
        ax.grid(alpha=0.3)
    handles = _ladder_legend(part, subs, colors, tier)
    fig.legend(handles, [h.get_label() for h in handles], loc="lower center", ncol=2, fontsize=7, frameon=False)
    return fig


def _ladder_series(ax, g: pd.DataFrame, shape: str, line: str, dodge: float, color: str) -> None:
    """One method's points of one metric, each styled by its own cell's trust; lines only between consecutive spacings."""
    xs, ys, err = g["spacing"].to_numpy() + dodge, g["mean"].to_numpy(), g["std"].fillna(0).to_numpy()
    verified = ~g["unverified"].astype(bool).to_numpy()
    steps = np.diff(g["spacing"].to_numpy())
    for i in np.flatnonzero(steps == 1):  # never a line across spacings without records
        ax.plot(xs[i:i + 2], ys[i:i + 2], ls=line, lw=1.2, color=color, alpha=1.0 if verified[i:i + 2].all() else UNVERIFIED_ALPHA)
    for mask, alpha, face in ((verified, 1.0, color), (~verified, UNVERIFIED_ALPHA, "none")):
        if mask.any():
            ax.errorbar(xs[mask], ys[mask], yerr=err[mask], fmt="none", ecolor=color, elinewidth=1, capsize=3, alpha=alpha)
            ax.plot(xs[mask], ys[mask], ls="none", marker=shape, ms=5, mew=1.2, mec=color, mfc=face, alpha=alpha)


def spans(values: list[int]) -> str:
    """Sorted integers as runs: ``[1, 2, 3, 5, 7, 8]`` -> ``1–3, 5, 7–8``."""
    runs: list[list[int]] = []
    for v in values:
        if runs and v == runs[-1][-1] + 1:
            runs[-1].append(v)
        else:
            runs.append([v])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}–{r[-1]}" for r in runs)


def _ladder_legend(part: pd.DataFrame, subs: list[str], colors: dict[str, str], tier: str) -> list:
    """The legend's two columns: a colour per method (naming the spacings whose cells are unverified) and disbench's two
    series; the two trust styles and the paper's fit and range. The shorter column is padded, so each keeps its meaning."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    methods = []
    for sub in dict.fromkeys([*subs, *sorted(FIG9)]):
        rows = part[part["submission"] == sub]
        unverified = sorted(set(rows.loc[rows["unverified"].astype(bool), "spacing"].astype(int)))
        if rows.empty:
            label = f"{PAPER_LABEL.get(sub, sub)} (paper only)"
        else:
            label = sub + (f" (paper: {PAPER_LABEL[sub]})" if sub in FIG9 else "")
            if unverified:
                label += " [unverified]" if len(unverified) == rows["spacing"].nunique() else f" [unverified at spacing {spans(unverified)}]"
        methods.append(Line2D([], [], color=colors[sub], lw=2.5, label=label))
    grey = "#555555"
    columns = [[*methods,
                Line2D([], [], color=grey, marker="o", ls="-", label=f"disbench {tier}: final score (mean ± std over seeds)"),
                Line2D([], [], color=grey, marker="^", ls=":", label=f"disbench {tier}: maximum during training")],
               [Line2D([], [], color=grey, marker="o", ls="none", mfc=grey, label="filled: verified cell (signed by the official runner)"),
                Line2D([], [], color=grey, marker="o", ls="none", mfc="none", alpha=UNVERIFIED_ALPHA, label="hollow, lighter: unverified cell"),
                Line2D([], [], color=grey, ls="--", lw=1, label="paper's fit (maximum during training)"),
                Patch(color=grey, alpha=0.2, lw=0, label="paper's range (band)")]]
    height = max(map(len, columns))
    return [h for col in columns for h in col + [Line2D([], [], alpha=0, label=" ")] * (height - len(col))]


def ladder_plot(ladder: pd.DataFrame, tier: str, out: Path, metrics: tuple[str, ...] = ("mig", DCI), title: str | None = None) -> Path | None:
    """:func:`ladder_figure` written to ``out``."""
    fig = ladder_figure(ladder, tier, metrics)
    if fig is None:
        return None
    title = title or f"Overlap ladder: XYSquares under MSE ({tier} tier) vs the paper's Fig. 9"
    return save_figure(fig, out, title=title, rect=(0, 0.85 / fig.get_figheight(), 1, 1))


@dataclass(frozen=True)
class Curve:
    """One run's values against step, with the final score to mark beside them (None for a training loss)."""

    seed: int
    steps: list[int]
    values: list[float]
    unverified: bool = False
    final: float | None = None


def read_curve(path: Path) -> pd.DataFrame:
    """A ``curves.jsonl`` file (one JSON object per logged step) as a frame; bad lines are an error naming the file."""
    rows = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{i} is not JSON ({e})") from None
    return pd.DataFrame(rows)


def loss_curve(seed: int, path: Path, unverified: bool = False) -> Curve | None:
    """The training loss of a ``curves.jsonl`` file, or None if it logs none."""
    frame = read_curve(path)
    if "step" not in frame or "loss" not in frame:
        return None
    return Curve(seed, frame["step"].tolist(), frame["loss"].tolist(), unverified)


def curves_plot(curves: dict[str, list[Curve]], ylabel: str, title: str, out: Path) -> Path | None:
    """One panel per task (three to a row), one line per seed (a colour per seed, dashed when unverified), and the
    final score as a cross after the last step where there is one; one legend for the figure."""
    curves = {k: v for k, v in curves.items() if v}
    if not curves:
        return None
    plt = pyplot()
    cols = min(3, len(curves))
    rows = math.ceil(len(curves) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.3 * rows + 0.5), squeeze=False)
    for ax in axes.flat[len(curves):]:
        ax.set_visible(False)
    legend = {}
    for i, (ax, (task, runs)) in enumerate(zip(axes.flat, sorted(curves.items()))):
        for c in runs:
            label = f"seed {c.seed}" + (" [unverified]" if c.unverified else "")
            legend[label], = ax.plot(c.steps, c.values, lw=1, ls="--" if c.unverified else "-", color=f"C{c.seed % 10}", label=label)
            if c.final is not None and c.steps:
                ax.plot([c.steps[-1] * 1.03], [c.final], marker="x", ms=6, color=f"C{c.seed % 10}", ls="none")
        ax.set_title(task, fontsize=8)
        ax.tick_params(labelsize=7)
        if i % cols == 0:
            ax.set_ylabel(ylabel, fontsize=8)
        if i >= len(curves) - cols:
            ax.set_xlabel("step", fontsize=8)
    fig.legend(list(legend.values()), list(legend), loc="lower center", ncol=min(len(legend), 4), fontsize=7, frameon=False)
    return save_figure(fig, out, title=title, rect=(0, 0.45 / fig.get_figheight(), 1, 1))
