"""Latent traversals: one row per code dimension, the input then its decodings as the dimension moves."""

from __future__ import annotations

from pathlib import Path

import torch

from disbench.viz import pyplot, save_figure
from disbench.viz.samples import image_row


def save_traversal_figure(task, x: torch.Tensor, decoded: torch.Tensor, out: str | Path, steps: int = 9, limit: float = 2.5) -> Path:
    """``x [1, C, H, W]`` (model space) and ``decoded [D * steps, C, H, W]`` (each code dimension
    shifted by ``steps`` values in ``[-limit, limit]``, dimension-major, from ``Learner.traverse``)."""
    plt = pyplot()

    def to_uint8(images: torch.Tensor) -> torch.Tensor:
        return (task.to_image(images.float().cpu()) * 255).round().to(torch.uint8)

    first = to_uint8(x[:1])
    grid = to_uint8(decoded).view(-1, steps, *decoded.shape[1:])
    rows = [image_row(torch.cat([first, grid[d]])) for d in range(grid.shape[0])]
    fig, axes = plt.subplots(len(rows), 1, figsize=(rows[0].shape[1] / 60, 1.1 * len(rows)), squeeze=False)
    for d, (ax, strip) in enumerate(zip(axes[:, 0], rows)):
        ax.imshow(strip, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(f"z{d}", rotation=0, ha="right", va="center", fontsize=8)
    return save_figure(fig, out, f"{task.id}: input, then z_d shifted by {-limit} .. {limit}", fontsize=9, dpi=90)
