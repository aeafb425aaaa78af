"""The site's plots (matplotlib, headless): score distributions, the overlap ladder, training curves."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from disbench.leaderboard.aggregate import DCI, max_key
from disbench.paper import FIG9, PAPER_LABEL
from disbench.viz import pyplot, save_figure


def score_distribution(records: pd.DataFrame, task: str, tier: str, metrics: list[str], out: Path) -> Path | None:
    """One panel per metric: every seed's score per submission (dots) and the mean (bar)."""
    part = records[(records["task"] == task) & (records["tier"] == tier) & records["metric"].isin(metrics)]
    if part.empty:
        return None
    part = part.assign(group=part["submission"] + np.where(part["origin"] == "local", " (local)", "") + np.where(part["stale"], " (stale)", ""))
    groups = sorted(part["group"].unique())
    plt = pyplot()
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics) + 0.8, 0.45 * len(groups) + 1.4), squeeze=False)
    rng = np.random.default_rng(0)
    for ax, metric in zip(axes[0], metrics):
        for i, g in enumerate(groups):
            values = part[(part["group"] == g) & (part["metric"] == metric)]["value"].to_numpy()
            if len(values):  # one colour per method, the same in every panel
                ax.scatter(values, i + rng.uniform(-0.12, 0.12, len(values)), s=18, alpha=0.8, color=f"C{i % 10}")
                ax.plot([values.mean()] * 2, [i - 0.3, i + 0.3], color="black", lw=1.5)
        ax.set_yticks(range(len(groups)), groups if ax is axes[0][0] else [""] * len(groups), fontsize=8)
        ax.set_ylim(-0.6, len(groups) - 0.4)
        ax.set_xlim(-0.02, 1.02)
        ax.set_xlabel(metric, fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", alpha=0.3)
    return save_figure(fig, out, title=f"{task} ({tier}): one dot per seed, bar = mean")


def ladder_plot(ladder: pd.DataFrame, tier: str, out: Path, metrics: tuple[str, ...] = ("mig", DCI), title: str | None = None) -> Path | None:
    """Score against grid spacing per method from the board: final scores (filled markers, solid
    lines) and maxima during training (hollow markers, dotted), beside the paper's Fig. 9 ranges
    (bands) and fits (dashed), which are maxima during training."""
    part = ladder[ladder["tier"] == tier]
    if part.empty:
        return None
    plt = pyplot()
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.6 * len(metrics), 3.4), squeeze=False)
    colors = {}
    for ax, metric in zip(axes[0], metrics):
        for key, filled in ((metric, True), (max_key(metric), False)):
            for sub, g in part[part["metric"] == key].groupby("submission", sort=True):
                g = g.sort_values("spacing")
                consecutive = bool((g["spacing"].diff().dropna() == 1).all())  # never draw a line across spacings without records
                style = ("-" if filled else ":") if consecutive else "none"
                line = ax.errorbar(g["spacing"], g["mean"], yerr=g["std"].fillna(0), marker="o", ms=4, capsize=3, ls=style, color=colors.get(sub),
                                   mfc=None if filled else "white", label=f"{sub} (disbench {tier}, {'final' if filled else 'max during training'})")
                colors[sub] = line.lines[0].get_color()
        for sub, by_metric in FIG9.items():
            cells = by_metric.get(metric, {})
            xs = sorted(cells)
            color = colors.get(sub, "grey")
            ax.fill_between(xs, [cells[x].low for x in xs], [cells[x].high for x in xs], color=color, alpha=0.12, lw=0)
            fits = [(x, cells[x].fit) for x in xs if cells[x].fit is not None]
            if fits:
                ax.plot([x for x, _ in fits], [f for _, f in fits], ls="--", color=color, lw=1, label=f"{PAPER_LABEL[sub]} (paper fit; band = range)")
        ax.set_xlabel("grid spacing (px); 8 = no overlap", fontsize=8)
        ax.set_ylabel(metric, fontsize=8)
        ax.set_xticks(range(1, 9))
        ax.set_ylim(-0.02, 1.05)
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=6, loc="upper right")
    return save_figure(fig, out, title=title or f"Overlap ladder: XYSquares under MSE ({tier} tier) vs the paper's Fig. 9")


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


def curves_plot(curves: dict[str, list[tuple[int, Path]]], title: str, out: Path) -> Path | None:
    """Training loss against step: one panel per task, one line per seed."""
    curves = {k: v for k, v in curves.items() if v}
    if not curves:
        return None
    plt = pyplot()
    fig, axes = plt.subplots(1, len(curves), figsize=(3.6 * len(curves), 2.8), squeeze=False)
    for ax, (task, files) in zip(axes[0], sorted(curves.items())):
        for seed, path in files:
            frame = read_curve(path)
            if "step" in frame and "loss" in frame:
                ax.plot(frame["step"], frame["loss"], lw=1, label=f"seed {seed}")
        ax.set_title(task, fontsize=8)
        ax.set_xlabel("step", fontsize=8)
        ax.set_ylabel("training loss", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6)
    return save_figure(fig, out, title=title)
