"""Latent traversals: decode each latent dimension swept over a range, one row per dimension."""

from __future__ import annotations

from pathlib import Path

import torch

from disbench.viz import pyplot, save_figure
from disbench.viz.samples import image_row


@torch.inference_mode()
def save_traversal_figure(task, method, out: str | Path, seed: int = 0, steps: int = 9, limit: float = 2.5) -> Path:
    """Encode one random observation and decode it with each code dimension shifted by
    ``[-limit, limit]`` around its value (works for VAEs and deterministic encoders alike)."""
    plt = pyplot()
    device = next(method.parameters()).device
    batch = task.sample(1, generator=torch.Generator().manual_seed(seed), device=device)
    z = method.encode(batch.x)[0]
    values = torch.linspace(-limit, limit, steps, device=device)
    rows = []
    for d in range(z.shape[0]):
        codes = z.repeat(steps, 1)
        codes[:, d] = z[d] + values
        images = (task.to_image(method.decode(codes)) * 255).round().to(torch.uint8)
        rows.append(image_row(torch.cat([(task.to_image(batch.x) * 255).round().to(torch.uint8), images])))
    fig, axes = plt.subplots(len(rows), 1, figsize=(rows[0].shape[1] / 60, 1.1 * len(rows)), squeeze=False)
    for d, (ax, strip) in enumerate(zip(axes[:, 0], rows)):
        ax.imshow(strip, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(f"z{d}", rotation=0, ha="right", va="center", fontsize=8)
    return save_figure(fig, out, f"{task.id}: input, then z_d shifted by {-limit} .. {limit}", fontsize=9, dpi=90)
