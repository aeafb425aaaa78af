"""Distance-matrix pictures like the paper's Figs. 3 and 8: ground truth next to perceived."""

from __future__ import annotations

from pathlib import Path

from disbench.analysis.distances import TraversalDistances
from disbench.viz import pyplot, save_figure


def save_matrices_figure(traversals: list[TraversalDistances], out: str | Path, title: str = "") -> Path:
    """One row per factor: the ground-truth L1 matrix (blue) and the averaged perceived matrix (purple)."""
    plt = pyplot()
    fig, axes = plt.subplots(len(traversals), 2, figsize=(5.2, 2.4 * len(traversals)), squeeze=False)
    for row, t in zip(axes, traversals):
        for ax, matrix, cmap, label in ((row[0], t.ground_truth, "Blues", "ground truth"), (row[1], t.matrix, "Purples", "perceived")):
            image = ax.imshow(matrix, cmap=cmap, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{t.factor}: {label}", fontsize=8)
            fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04).ax.tick_params(labelsize=6)
    return save_figure(fig, out, title, fontsize=9)
