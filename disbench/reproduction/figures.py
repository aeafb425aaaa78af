"""An experiment's figure: every run as a point, with each cell's median and IQR, beside the paper's values.

One row per method, three panels: MIG, DCI disentanglement (gated) and the DCI informativeness the
gate read, with its majority-class baseline. Per condition: each run's final score (filled) and
maximum during training (hollow), the median of each (black tick) with its interquartile range
(black bar), and the paper's cell to the right (grey: range, thick: IQR, black tick: fit or median).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from disbench.paper import DCI, PAPER_LABEL
from disbench.reproduction.experiments import Experiment
from disbench.reproduction.report import METRIC_LABEL, REPORT_ORDER

INFORMATIVENESS = "informativeness"
PANELS = ("mig", DCI, INFORMATIVENESS)
PANEL_LABEL = {**METRIC_LABEL, DCI: "DCI disentanglement (gated)", INFORMATIVENESS: "DCI informativeness (test, final)"}
MARKS = {"final": (-0.14, True), "max": (0.0, False)}  # x offset, filled


def figure(experiment: Experiment, frame: pd.DataFrame, tier: str, out: Path, averaging: str = "") -> Path | None:
    """The experiment's PNG; ``averaging`` (e.g. ", Ada-GVAE fixed averaging") goes into the title after the tier."""
    from disbench.viz import pyplot, save_figure

    if frame.empty:
        return None
    plt = pyplot()
    methods = [m for m in REPORT_ORDER if m in set(frame["method"])]
    conditions = [c for c in experiment.conditions if c in set(frame["condition"])]
    xs = {c: (c if experiment.ladder else i) for i, c in enumerate(conditions)}
    fig, axes = plt.subplots(len(methods), len(PANELS), figsize=(4.4 * len(PANELS), 2.9 * len(methods)), squeeze=False)
    rng = np.random.default_rng(0)
    for row, method in enumerate(methods):
        for ax, panel in zip(axes[row], PANELS):
            for condition, x in xs.items():
                metric = DCI if panel == INFORMATIVENESS else panel  # informativeness rides on the DCI rows
                part = frame[(frame["method"] == method) & (frame["condition"] == condition) & (frame["metric"] == metric)]
                if panel == INFORMATIVENESS:
                    _runs(ax, x - 0.07, part["informativeness"].dropna().to_numpy(), True, rng, "C2", "a run: informativeness")
                    if part["baseline"].notna().any():
                        ax.plot([x - 0.3, x + 0.2], [part["baseline"].median()] * 2, color="grey", ls="--", lw=1, label="majority-class baseline")
                    continue
                for quantity, (dx, filled) in MARKS.items():
                    _runs(ax, x + dx, part[quantity].dropna().to_numpy(), filled, rng, f"C{row}",
                          f"a run: {'final' if filled else 'max during training'}")
                _paper(ax, x + 0.3, experiment.paper_cell(method, panel, condition))
            ax.set_xticks(list(xs.values()), [str(c) for c in xs], fontsize=7)
            ax.set_xlim(min(xs.values()) - 0.6, max(xs.values()) + 0.6)
            ax.set_ylim(-0.02, 1.05)
            ax.grid(axis="y", alpha=0.3)
            ax.tick_params(axis="y", labelsize=7)
            ax.set_title(f"{PAPER_LABEL[method]}: {PANEL_LABEL[panel]}", fontsize=8)
            if row == len(methods) - 1:
                ax.set_xlabel(experiment.condition_label, fontsize=8)
    for ax in (axes[0][0], axes[0][-1]):
        handles, names = ax.get_legend_handles_labels()
        unique = dict(zip(names, handles))  # one legend entry per kind of mark
        ax.legend(unique.values(), unique.keys(), fontsize=6, loc="upper right" if experiment.ladder else "upper left")  # where scores are low
    title = f"{experiment.figure} reproduced ({tier} tier{averaging}) vs the paper: every run, median and IQR"
    return save_figure(fig, out, title=title)


def _runs(ax, x: float, values: np.ndarray, filled: bool, rng: np.random.Generator, color: str, label: str) -> None:
    """The runs as points (jittered sideways), their median (tick) and interquartile range (bar)."""
    if not len(values):
        return
    ax.scatter(x + rng.uniform(-0.04, 0.04, len(values)), values, s=14, color=color, facecolors=color if filled else "white", zorder=3, label=label)
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    ax.plot([x - 0.07, x + 0.07], [median] * 2, color="black", lw=1.5, zorder=4, label="median; bar: IQR")
    ax.plot([x + 0.07] * 2, [q1, q3], color="black", lw=1, zorder=4)


def _paper(ax, x: float, cell) -> None:
    if cell is None:
        return
    ax.plot([x] * 2, [cell.low, cell.high], color="grey", lw=1, label="paper: range")
    if cell.iqr:
        ax.plot([x] * 2, list(cell.iqr), color="grey", lw=5, alpha=0.5, label="paper: IQR")
    if cell.fit is not None or cell.median is not None:
        ax.plot([x - 0.06, x + 0.06], [cell.centre] * 2, color="black", lw=1, label="paper: fit or median")
