"""Distance-matrix pictures like the paper's Figs. 3 and 8: ground truth next to perceived."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import numpy as np

from disbench.analysis.distances import TraversalDistances
from disbench.viz import pyplot, save_figure

MISSING_COLOUR = "0.6"  # grey: a pair of values no traversal had images for


def ground_truth_panel(traversal: TraversalDistances, categorical: bool) -> tuple[np.ndarray, str]:
    """The ground-truth matrix drawn for a factor, and its label: ``|u - v|``, or for a categorical
    factor (values with no order) only same (0) or different (1)."""
    if categorical:
        return (traversal.ground_truth > 0).astype(float), "same or not (categorical)"
    return traversal.ground_truth, "ground truth"


def save_matrices_figure(traversals: list[TraversalDistances], out: str | Path, title: str = "", categorical: Collection[str] = ()) -> Path:
    """One row per factor: the ground-truth L1 matrix (blue) and the averaged perceived matrix (purple)."""
    return save_matrix_columns({"perceived": traversals}, out, title, categorical)


def save_matrix_columns(columns: dict[str, list[TraversalDistances]], out: str | Path, title: str = "", categorical: Collection[str] = ()) -> Path:
    """One row per factor: the ground-truth matrix, then one perceived matrix per labelled column
    (e.g. one per loss), each with its own colour scale. A pair no traversal had images for (an
    incomplete grid) is grey. A ``categorical`` factor's values have no order, so its ground truth
    is only same (0) or different (1)."""
    plt = pyplot()
    rows = list(zip(*columns.values()))
    width = 1 + len(columns)
    fig, axes = plt.subplots(len(rows), width, figsize=(2.6 * width, 2.4 * len(rows)), squeeze=False)
    for row_axes, traversals in zip(axes, rows):
        factor = traversals[0].factor
        truth, truth_label = ground_truth_panel(traversals[0], factor in categorical)
        panels = [(truth, "Blues", truth_label)] + [(t.matrix, "Purples", label) for label, t in zip(columns, traversals)]
        for ax, (matrix, cmap, label) in zip(row_axes, panels):
            image = ax.imshow(matrix, cmap=plt.get_cmap(cmap).with_extremes(bad=MISSING_COLOUR), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{factor}: {label}", fontsize=8)
            fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04).ax.tick_params(labelsize=6)
    return save_figure(fig, out, title, fontsize=9)
