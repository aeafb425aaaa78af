"""Pictures: sample grids, factor traversals and distance matrices (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path


def pyplot():
    """matplotlib's pyplot on the non-interactive Agg backend (works without a display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, out: str | Path, title: str = "", fontsize: int = 9, dpi: int = 100) -> Path:
    """Title, tighten, write ``out`` (creating its folder) and close the figure."""
    if title:
        fig.suptitle(title, fontsize=fontsize)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    pyplot().close(fig)
    return out
