"""Small datasets written to files for the tests, rendered from known factors.

* :func:`xysquares_folder`: a built-in XYSquares configuration written as PNG files and a CSV whose
  factor values are the squares' pixel coordinates, rows shuffled. Read back, it must equal the
  built-in dataset observation for observation, so the paper's known answers carry over.
* :func:`patches`: a grey patch that moves along x at a spacing wider than itself (so MSE sees
  every two positions as equally far apart: adversarial on purpose) and takes four brightness
  levels (which MSE orders).
* :func:`drop_combinations`: a copy of a folder dataset with some of its combinations missing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from disbench.data.xysquares import XYSquares


def write_folder(folder: Path, images: np.ndarray, table: dict[str, np.ndarray], seed: int = 0) -> Path:
    """``images`` (uint8 ``[N, C, H, W]``) as ``img_<i>.png`` and ``factors.csv`` (``file`` + ``table``), rows shuffled."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        Image.fromarray(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)).save(folder / f"img_{i:04d}.png")
    frame = pd.DataFrame({"file": [f"img_{i:04d}.png" for i in range(len(images))], **table})
    frame.sample(frac=1.0, random_state=seed).to_csv(folder / "factors.csv", index=False)
    return folder


def every_observation(data) -> tuple[torch.Tensor, np.ndarray]:
    factors = data.idx_to_factors(torch.arange(len(data)))
    return factors, data.render(factors).numpy()


def xysquares_folder(folder: Path, grid_spacing: int, grid_size: int = 8, num_squares: int = 1) -> tuple[Path, XYSquares]:
    data = XYSquares(grid_spacing=grid_spacing, grid_size=grid_size, num_squares=num_squares)
    factors, images = every_observation(data)
    pixels = {name: data.offset + grid_spacing * factors[:, i].numpy() for i, name in enumerate(data.factor_names)}
    return write_folder(folder, images, pixels), data


def patches(positions: int = 5, levels: tuple[int, ...] = (60, 120, 180, 240)) -> tuple[np.ndarray, np.ndarray]:
    """uint8 ``[N, 1, 16, 32]`` images of a 4x4 patch at x = 2 + 6 i with brightness ``levels[j]``,
    and their factors ``[N, 2]`` (x index, level index), in grid order."""
    grid = np.stack(np.unravel_index(np.arange(positions * len(levels)), (positions, len(levels))), axis=1)
    images = np.zeros((len(grid), 1, 16, 32), dtype=np.uint8)
    for n, (i, j) in enumerate(grid):
        images[n, 0, 6:10, 2 + 6 * i : 6 + 6 * i] = levels[j]
    return images, grid


def drop_combinations(folder: Path, dest: Path, fraction: float, seed: int = 0) -> Path:
    """A copy of the folder dataset ``folder`` at ``dest`` without a random ``fraction`` of its rows
    (and their image files): a grid with that fraction of its combinations missing."""
    frame = pd.read_csv(folder / "factors.csv")
    kept = frame.sample(frac=1.0 - fraction, random_state=seed)
    dest.mkdir(parents=True)
    for name in kept["file"]:
        (dest / name).write_bytes((folder / name).read_bytes())
    kept.to_csv(dest / "factors.csv", index=False)
    return dest
