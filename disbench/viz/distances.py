"""Distance-matrix pictures like the paper's Figs. 3 and 8: ground truth next to perceived."""

from __future__ import annotations

from pathlib import Path

from disbench.analysis.distances import TraversalDistances


def save_matrices_figure(traversals: list[TraversalDistances], out: str | Path, title: str = "") -> Path:
    """One row per factor: the ground-truth L1 matrix (blue) and the averaged perceived matrix (purple)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(traversals), 2, figsize=(5.2, 2.4 * len(traversals)), squeeze=False)
    for row, t in zip(axes, traversals):
        for ax, matrix, cmap, label in ((row[0], t.ground_truth, "Blues", "ground truth"), (row[1], t.matrix, "Purples", "perceived")):
            image = ax.imshow(matrix, cmap=cmap, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{t.factor}: {label}", fontsize=8)
            fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04).ax.tick_params(labelsize=6)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
