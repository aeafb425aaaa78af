"""XYSquares and XColumns: the paper's adversarial datasets (paper.md §2.1, §2.3).

Three 8x8 squares (red, green, blue) on a 64x64 grid. At grid spacing 8 no two positions of a
square share a pixel, so pixel-wise losses see every pair of positions as equally far apart:
the dataset is adversarial for MSE. Smaller spacings add overlap and restore an ordering.

Rendering fills the background and then writes only the square pixels with ``index_fill_``,
which is several times faster than building the image from masks (benchmarks/bench_data.py).
"""

from __future__ import annotations

from typing import Any

import torch

from disbench.data.base import GroundTruthData
from disbench.error import DataError

_SQUARE_NAMES = ("x_R", "y_R", "x_G", "y_G", "x_B", "y_B")
# The grey variant's constants (paper.md §2.2); any other grey configuration is computed.
_PAPER_GREY = {"square_size": 8, "image_size": 64, "grid_spacing": 8, "grid_size": 8, "num_squares": 3, "rgb": False}
_PAPER_GREY_CONSTANTS = ((0.046146392822265625,), (0.2096506119375896,))


def _positive_int(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise DataError(f"{name} must be a positive int, got {value!r}.")
    return value


def _constant_image_stats(on_pixels: int, pixels: int) -> tuple[tuple[float], tuple[float]]:
    """(mean, per-image sample std) of a 0/1 channel with ``on_pixels`` set out of ``pixels``."""
    p = on_pixels / pixels
    return (p,), ((p * (1 - p) * pixels / (pixels - 1)) ** 0.5,)


class XYSquares(GroundTruthData):
    """Up to three squares, one per colour channel (or all in one grey channel).

    ``placements = min(grid_size, (image_size - square_size) // grid_spacing + 1)`` and the grid
    is centred with ``offset = (image_size - (square_size + (placements - 1) * grid_spacing)) // 2``.
    """

    name = "xysquares"

    def __init__(
        self,
        square_size: int = 8,
        image_size: int = 64,
        grid_spacing: int | None = None,
        grid_size: int | None = 8,
        num_squares: int = 3,
        rgb: bool = True,
    ) -> None:
        self.square_size = _positive_int("square_size", square_size)
        self.image_size = _positive_int("image_size", image_size)
        self.grid_spacing = _positive_int("grid_spacing", square_size if grid_spacing is None else grid_spacing)
        self.grid_size = None if grid_size is None else _positive_int("grid_size", grid_size)
        self.num_squares = _positive_int("num_squares", num_squares)
        self.rgb = bool(rgb)
        if self.num_squares > 3:
            raise DataError(f"num_squares must be 1, 2 or 3, got {num_squares}.")
        if self.square_size > self.image_size:
            raise DataError(f"square_size {square_size} does not fit in image_size {image_size}.")
        placements = (self.image_size - self.square_size) // self.grid_spacing + 1
        self.placements = placements if self.grid_size is None else min(placements, self.grid_size)
        self.offset = (self.image_size - (self.square_size + (self.placements - 1) * self.grid_spacing)) // 2
        self.obs_shape = (3 if self.rgb else 1, self.image_size, self.image_size)
        self.factor_names = self._factor_names()
        self.factor_sizes = (self.placements,) * len(self.factor_names)

    def _factor_names(self) -> tuple[str, ...]:
        return _SQUARE_NAMES[: 2 * self.num_squares]

    def config(self) -> dict[str, Any]:
        return {
            "square_size": self.square_size,
            "image_size": self.image_size,
            "grid_spacing": self.grid_spacing,
            "grid_size": self.grid_size,
            "num_squares": self.num_squares,
            "rgb": self.rgb,
        }

    def normalisation_constants(self):
        if not self.rgb:
            if self.config() == _PAPER_GREY:
                return _PAPER_GREY_CONSTANTS
            return None  # squares may overlap in the grey channel: computed exactly instead
        # Every channel of every image holds exactly one square, so the per-image std is constant.
        return _constant_image_stats(self.square_size**2, self.image_size**2)

    # --- rendering ----------------------------------------------------------------------------

    def _rect_shape(self) -> tuple[int, int]:
        return self.square_size, self.square_size

    def _origins(self, factors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Top-left (x, y) pixel of every square, each ``[N, num_squares]``."""
        pos = self.offset + self.grid_spacing * factors.view(factors.shape[0], self.num_squares, 2)
        return pos[..., 0], pos[..., 1]

    def _paint(self, out: torch.Tensor, factors: torch.Tensor, values: list[float]) -> torch.Tensor:
        """Write ``values[channel]`` into every square of the pre-filled ``out`` (in place)."""
        n, c, h, w = out.shape
        rh, rw = self._rect_shape()
        device = out.device
        x0, y0 = self._origins(factors)
        channel = torch.arange(self.num_squares, device=device) if self.rgb else torch.zeros(self.num_squares, dtype=torch.long, device=device)
        start = torch.arange(n, device=device)[:, None] * (c * h * w) + channel * (h * w) + y0 * w + x0
        offsets = (torch.arange(rh, device=device)[:, None] * w + torch.arange(rw, device=device)).view(-1)
        index = start[..., None] + offsets  # [N, squares, rh*rw]
        flat = out.view(-1)
        if self.rgb and len(set(values[: self.num_squares])) > 1:
            for square in range(self.num_squares):
                flat.index_fill_(0, index[:, square].reshape(-1), values[square])
        else:
            flat.index_fill_(0, index.reshape(-1), values[0])
        return out

    def _render(self, factors: torch.Tensor) -> torch.Tensor:
        out = torch.zeros((factors.shape[0], *self.obs_shape), dtype=torch.uint8, device=factors.device)
        return self._paint(out, factors, [255] * self.obs_shape[0])

    def _render_normalised(self, factors: torch.Tensor) -> torch.Tensor:
        background = [-m / s for m, s in zip(self.mean, self.std)]
        foreground = [(1.0 - m) / s for m, s in zip(self.mean, self.std)]
        out = torch.empty((factors.shape[0], *self.obs_shape), dtype=torch.float32, device=factors.device)
        if len(set(background)) == 1:
            out.fill_(background[0])
        else:
            out.copy_(torch.tensor(background, device=out.device).view(1, -1, 1, 1).expand_as(out))
        return self._paint(out, factors, foreground)


class XColumns(XYSquares):
    """Full-height columns instead of squares; factors ``x_R, x_G, x_B`` (paper.md §2.3)."""

    name = "xcolumns"

    def _factor_names(self) -> tuple[str, ...]:
        return ("x_R", "x_G", "x_B")[: self.num_squares]

    def normalisation_constants(self):
        if not self.rgb:
            return None
        return _constant_image_stats(self.square_size * self.image_size, self.image_size**2)

    def _rect_shape(self) -> tuple[int, int]:
        return self.image_size, self.square_size

    def _origins(self, factors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.offset + self.grid_spacing * factors
        return x, torch.zeros_like(x)
