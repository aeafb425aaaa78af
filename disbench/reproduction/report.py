"""An experiment's records next to the paper's values: a frame, a printed table, the effect sizes and a figure.

Both of our numbers are shown for every cell: the final model's score (the leaderboard's number)
and the maximum of the protocol's curve during training (the paper's quantity, paper.md §4.7).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from disbench.paper import DCI, PAPER_LABEL
from disbench.reproduction.experiments import AVERAGES, Experiment
from disbench.reproduction.runner import Planned

METRICS = ("mig", DCI)
METRIC_LABEL = {"mig": "MIG", DCI: "DCI disentanglement"}
QUANTITIES = {"final": "final", "max": "max during training"}
REPORT_ORDER = ("ada-gvae", "beta-vae")  # the methods' order in every table, line and figure
COLUMNS = ["method", "submission", "average", "condition", "task", "seed", "metric", "final", "max", "source"]


def records_frame(planned: Sequence[Planned]) -> pd.DataFrame:
    """One row per record and metric: the final score and the maximum during training (NaN when
    the record's tier has no curve for that metric)."""
    modes = {mode: name for name, mode in AVERAGES.items()}
    rows = []
    for p in planned:
        if p.record is None:
            continue
        r = p.record
        average = modes.get(r.submission.hyperparameters.get("average")) if p.arm.method == "ada-gvae" else None
        for metric in METRICS:
            rows.append({"method": p.arm.method, "submission": r.submission.name, "average": average, "condition": p.arm.condition,
                         "task": r.task.id, "seed": r.seed, "metric": metric, "final": r.metrics.get(metric, math.nan),
                         "max": r.max_during_training.get(metric, math.nan), "source": os.path.relpath(p.found_in)})
    return pd.DataFrame(rows, columns=COLUMNS)


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean, sample std and n over seeds (and pooled submissions) per method, condition, metric and quantity."""
    long = frame.melt(id_vars=["method", "condition", "metric"], value_vars=list(QUANTITIES), var_name="quantity", value_name="value").dropna()
    return long.groupby(["method", "condition", "metric", "quantity"])["value"].agg(mean="mean", std="std", n="count").reset_index()


def _cell(stats: pd.DataFrame, method: str, condition, metric: str, quantity: str) -> str:
    row = stats[(stats["method"] == method) & (stats["condition"] == condition) & (stats["metric"] == metric) & (stats["quantity"] == quantity)]
    if row.empty:
        return "–"
    r = row.iloc[0]
    spread = "" if r["n"] < 2 else f" ± {r['std']:.3f}"
    return f"{r['mean']:.3f}{spread} ({int(r['n'])})"


def table(experiment: Experiment, frame: pd.DataFrame, metric: str, fmt: str = "github") -> str:
    """Rows: the experiment's conditions; per method our final score, our maximum during training and the paper's cell."""
    from tabulate import tabulate

    stats = summary(frame)
    methods = [m for m in REPORT_ORDER if m in set(frame["method"])]
    headers = [experiment.condition_name]
    for m in methods:
        headers += [f"{PAPER_LABEL[m]} final", f"{PAPER_LABEL[m]} max during training", f"{PAPER_LABEL[m]} paper"]
    rows = []
    for condition in experiment.conditions:
        row = [condition]
        for m in methods:
            paper = experiment.paper_cell(m, metric, condition)
            row += [_cell(stats, m, condition, metric, "final"), _cell(stats, m, condition, metric, "max"), paper.text if paper else "–"]
        rows.append(row)
    return tabulate(rows, headers=headers, tablefmt=fmt)


def by_submission(frame: pd.DataFrame, fmt: str = "github") -> str | None:
    """Before pooling: each submission's mean final and maximum per condition and metric, mean (n).
    None when every method has a single submission (nothing was pooled)."""
    from tabulate import tabulate

    if frame.groupby("method")["submission"].nunique().max() < 2:
        return None
    stats = frame.groupby(["submission", "condition", "metric"])[list(QUANTITIES)].agg(["mean", "count"])
    headers = ["submission", "condition"] + [f"{METRIC_LABEL[m]} {QUANTITIES[q]}" for m in METRICS for q in QUANTITIES]

    def cell(key: tuple[str, str, str], quantity: str) -> str:  # every record has a row per metric; n = 0 when all are NaN
        n = int(stats.loc[key, (quantity, "count")])
        return f"{stats.loc[key, (quantity, 'mean')]:.3f} ({n})" if n else "–"

    rows = [[submission, condition, *(cell((submission, condition, m), q) for m in METRICS for q in QUANTITIES)]
            for submission, condition in stats.index.droplevel("metric").unique()]  # sorted, as groupby sorts
    return tabulate(rows, headers=headers, tablefmt=fmt)


def by_seed(experiment: Experiment, frame: pd.DataFrame, metric: str, fmt: str = "github") -> str:
    """Every record's own numbers, "final / max during training", one row per submission and condition and one
    column per seed: what the means above are made of."""
    from tabulate import tabulate

    part = frame[frame["metric"] == metric]
    seeds = sorted(part["seed"].unique())
    values = part.set_index(["submission", "condition", "seed"])[list(QUANTITIES)]
    submissions = sorted(part[["method", "submission"]].drop_duplicates().itertuples(index=False),
                         key=lambda r: (REPORT_ORDER.index(r.method), r.submission))
    present = set(values.index.droplevel("seed"))  # (submission, condition) pairs with at least one record

    def cell(key: tuple) -> str:
        if key not in values.index:
            return "–"
        final, peak = values.loc[key]
        return " / ".join("–" if math.isnan(v) else f"{v:.3f}" for v in (final, peak))

    rows = [[s.submission, condition, *(cell((s.submission, condition, seed)) for seed in seeds)]
            for s in submissions for condition in experiment.conditions if (s.submission, condition) in present]
    return tabulate(rows, headers=["submission", experiment.condition_name, *(f"seed {seed}" for seed in seeds)], tablefmt=fmt)


def effects(experiment: Experiment, frame: pd.DataFrame) -> list[str]:
    """The effect each experiment is about, ours (final and max) beside the paper's, one line per method and metric:
    spacing 1 minus spacing 8 (overlap), box blur minus MSE (boxblur)."""
    high, low = experiment.conditions[0], experiment.conditions[-1]  # overlap: 1 vs 8
    if experiment.name == "boxblur":
        high, low = "boxblur", "mse"
    stats = summary(frame)
    lines = []
    for method in REPORT_ORDER:
        for metric in METRICS:
            parts = []
            for quantity in QUANTITIES:
                pick = stats[(stats["method"] == method) & (stats["metric"] == metric) & (stats["quantity"] == quantity)].set_index("condition")["mean"]
                if high in pick.index and low in pick.index:
                    parts.append(f"{QUANTITIES[quantity]} {pick[high] - pick[low]:+.3f}")
            paper_high, paper_low = experiment.paper_cell(method, metric, high), experiment.paper_cell(method, metric, low)
            if parts and paper_high and paper_low:
                lines.append(f"{PAPER_LABEL[method]} {METRIC_LABEL[metric]}, {high} minus {low}: ours {', '.join(parts)}; "
                             f"paper {paper_high.centre - paper_low.centre:+.3f} (centres {paper_high.centre:g} and {paper_low.centre:g})")
    return lines


def figure(experiment: Experiment, frame: pd.DataFrame, tier: str, out: Path, averaging: str = "") -> Path | None:
    """The experiment's PNG: our final scores and maxima during training beside the paper's values; ``averaging``
    (e.g. ", Ada-GVAE fixed averaging") goes into the title after the tier."""
    if frame.empty:
        return None
    title = f"{experiment.figure} reproduced ({tier} tier{averaging}) vs the paper"
    if experiment.name == "overlap":
        from disbench.leaderboard.aggregate import max_key
        from disbench.leaderboard.plots import ladder_plot

        stats = summary(frame)
        stats = stats.assign(tier=tier, submission=stats["method"], spacing=stats["condition"].astype(int),
                             metric=np.where(stats["quantity"] == "max", stats["metric"].map(max_key), stats["metric"]))
        return ladder_plot(stats, tier, out, title=title)
    return _boxblur_figure(experiment, frame, out, title)


def _boxblur_figure(experiment: Experiment, frame: pd.DataFrame, out: Path, title: str) -> Path:
    from disbench.viz import pyplot, save_figure

    plt = pyplot()
    methods = [m for m in REPORT_ORDER if m in set(frame["method"])]
    fig, axes = plt.subplots(1, len(METRICS), figsize=(5.2 * len(METRICS), 3.6), squeeze=False)
    rng = np.random.default_rng(0)
    for ax, metric in zip(axes[0], METRICS):
        ticks, labels = [], []
        for i, method in enumerate(methods):
            for j, loss in enumerate(experiment.conditions):
                x = i * (len(experiment.conditions) + 1) + j
                ticks.append(x)
                labels.append(f"{PAPER_LABEL[method]}\n{loss}")
                part = frame[(frame["method"] == method) & (frame["condition"] == loss) & (frame["metric"] == metric)]
                for quantity, dx, face in (("final", -0.12, f"C{i}"), ("max", 0.12, "white")):
                    values = part[quantity].dropna().to_numpy()
                    ax.scatter(x + dx + rng.uniform(-0.05, 0.05, len(values)), values, s=20, color=f"C{i}", facecolors=face, zorder=3,
                               label=f"disbench, {QUANTITIES[quantity]}")
                cell = experiment.paper_cell(method, metric, loss)
                if cell is not None:
                    ax.plot([x + 0.35] * 2, [cell.low, cell.high], color="grey", lw=1, label="paper: range")
                    if cell.iqr:
                        ax.plot([x + 0.35] * 2, list(cell.iqr), color="grey", lw=5, alpha=0.5, label="paper: IQR")
                    if cell.median is not None:
                        ax.plot([x + 0.28, x + 0.42], [cell.median] * 2, color="black", lw=1.5, label="paper: median")
        ax.set_xticks(ticks, labels, fontsize=7)
        ax.set_xlabel(experiment.condition_label, fontsize=8)
        ax.set_ylabel(METRIC_LABEL[metric], fontsize=8)
        ax.set_ylim(-0.02, 1.05)
        ax.grid(axis="y", alpha=0.3)
    handles, names = axes[0][0].get_legend_handles_labels()
    unique = dict(zip(names, handles))  # one legend entry per kind of mark
    axes[0][0].legend(unique.values(), unique.keys(), fontsize=6, loc="upper left")  # MSE's corner: its scores sit near 0
    return save_figure(fig, out, title=title)
