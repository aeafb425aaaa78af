"""``disbench show``: random samples of a task plus one traversal per factor, as one PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from disbench.data.base import GroundTruthData
from disbench.viz import pyplot, save_figure


def traversal_steps(data: GroundTruthData, base: torch.Tensor, factor: int, max_steps: int = 12) -> torch.Tensor:
    """The traversal of ``factor`` from ``base [F]``, thinned to at most ``max_steps`` evenly spaced values."""
    size = data.factor_sizes[factor]
    values = torch.linspace(0, size - 1, min(size, max_steps)).round().long().unique()
    return data.traversal_factors(factor, base[None])[0, values]


def image_row(images: torch.Tensor, pad: int = 2) -> np.ndarray:
    """uint8 ``[N, C, H, W]`` -> one ``[H, N*(W+pad), 3]`` strip for imshow (grey expanded to RGB)."""
    images = images.cpu()
    if images.shape[1] == 1:
        images = images.repeat(1, 3, 1, 1)
    n, _, h, w = images.shape
    strip = np.full((h, n * (w + pad) - pad, 3), 255, dtype=np.uint8)
    for i, image in enumerate(images):
        strip[:, i * (w + pad) : i * (w + pad) + w] = image.permute(1, 2, 0).numpy()
    return strip


def save_samples_figure(data: GroundTruthData, out: str | Path, seed: int = 0, num_samples: int = 12, title: str = "") -> Path:
    """Write a PNG with ``num_samples`` random observations and a traversal of every factor."""
    plt = pyplot()
    gen = torch.Generator().manual_seed(seed)
    rows = [("samples", image_row(data.render(data.sample_factors(num_samples, gen))))]
    base = data.sample_factors(1, gen)[0]
    for f, name in enumerate(data.factor_names):
        rows.append((f"{name} ({data.factor_sizes[f]})", image_row(data.render(traversal_steps(data, base, f)))))
    width = max(strip.shape[1] for _, strip in rows)
    fig, axes = plt.subplots(len(rows), 1, figsize=(width / 60 + 2, 1.3 * len(rows)), squeeze=False)
    for ax, (label, strip) in zip(axes[:, 0], rows):
        ax.imshow(strip, interpolation="nearest")
        ax.set_xlim(0, width)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
        for spine in ax.spines.values():
            spine.set_visible(False)
    return save_figure(fig, out, title, fontsize=10)
