"""Pictures: sample grids, factor traversals and distance matrices (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path


def pyplot():
    """matplotlib's pyplot on the non-interactive Agg backend (works without a display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def fit_title(fig, title: str, fontsize: int = 9):
    """``title`` as the figure's suptitle, wrapped onto more lines until it fits the figure's width (a long task id
    and loss name would otherwise run off both edges and be cut)."""
    import textwrap

    text = fig.suptitle(title, fontsize=fontsize)
    renderer = fig.canvas.get_renderer()
    width = len(title)
    while text.get_window_extent(renderer).width > 0.96 * fig.bbox.width and width > 10:
        width = int(width * 0.85)
        text.set_text(textwrap.fill(title, width))
    return text


def save_figure(fig, out: str | Path, title: str = "", fontsize: int = 9, dpi: int = 100, rect: tuple[float, ...] | None = None) -> Path:
    """Title (wrapped to fit), tighten (the axes inside ``rect``, in figure fractions, when given), write ``out``
    (creating its folder) and close the figure."""
    if title:
        fit_title(fig, title, fontsize)
    fig.tight_layout(rect=rect)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    pyplot().close(fig)
    return out
