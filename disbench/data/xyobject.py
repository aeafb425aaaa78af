"""XYObject and XYObjectShaded: one coloured square of varying size (paper.md §2.3).

Both render the same 75,000 images; they differ only in how colour is factorised. XYObject
folds brightness into a 24-value colour factor, XYObjectShaded splits it into intensity (4) x
hue (6). The MSc work used the pair to show that the choice of ground truth changes scores.
"""

from __future__ import annotations

from typing import Any

import torch

from disbench.data.base import GroundTruthData
from disbench.data.xysquares import _positive_int
from disbench.error import DataError

_R, _G, _B = (255, 0, 0), (0, 255, 0), (0, 0, 255)
_Y, _C, _M, _W = (255, 255, 0), (0, 255, 255), (255, 0, 255), (255, 255, 255)
HUES_RGB = {
    "rainbow": (_R, _Y, _G, _C, _B, _M),
    "colors": (_R, _G, _B, _Y, _C, _M, _W),
    "rgb": (_R, _G, _B),
    "greys": (_W,),
}
HUES_GREY = {"greys": ((255,),)}

# Defaults of disent's XYObjectData; its normalisation constants are paper.md §4.5.
_DEFAULTS = dict(image_size=64, grid_spacing=2, min_square_size=7, max_square_size=15, square_size_spacing=2, rgb=True)
_DEFAULT_MEAN, _DEFAULT_STD = 0.009818761549013288, 0.052632363725245844


def _parse_palette(palette: str, rgb: bool) -> tuple[tuple[tuple[int, ...], ...], int]:
    table = HUES_RGB if rgb else HUES_GREY
    hue_name, _, levels = palette.partition("_")
    if hue_name not in table or not levels.isdigit() or int(levels) < 1:
        options = ", ".join(f"'{name}_<levels>'" for name in table)
        raise DataError(f"Unknown palette {palette!r} for rgb={rgb}; expected one of {options}, e.g. 'rainbow_4'.")
    return table[hue_name], int(levels)


class XYObject(GroundTruthData):
    """Factors ``x, y, scale, color``; colour index = brightness level * hues + hue."""

    name = "xyobject"

    def __init__(
        self,
        image_size: int = 64,
        grid_spacing: int = 2,
        min_square_size: int = 7,
        max_square_size: int = 15,
        square_size_spacing: int = 2,
        rgb: bool = True,
        palette: str = "rainbow_4",
    ) -> None:
        self.image_size = _positive_int("image_size", image_size)
        self.grid_spacing = _positive_int("grid_spacing", grid_spacing)
        self.min_square_size = _positive_int("min_square_size", min_square_size)
        self.max_square_size = _positive_int("max_square_size", max_square_size)
        self.square_size_spacing = _positive_int("square_size_spacing", square_size_spacing)
        if not self.min_square_size <= self.max_square_size <= self.image_size:
            raise DataError(f"Need min_square_size <= max_square_size <= image_size, got {min_square_size}, {max_square_size}, {image_size}.")
        self.rgb = bool(rgb)
        self.palette = palette
        self.hues, self.levels = _parse_palette(palette, self.rgb)
        self.scales = tuple(range(self.min_square_size, self.max_square_size + 1, self.square_size_spacing))
        self.placements = (self.image_size - self.max_square_size) // self.grid_spacing + 1
        self.obs_shape = (3 if self.rgb else 1, self.image_size, self.image_size)
        self._set_layout()

    def _set_layout(self) -> None:
        self.factor_names = ("x", "y", "scale", "color")
        self.factor_sizes = (self.placements, self.placements, len(self.scales), len(self.hues) * self.levels)

    def config(self) -> dict[str, Any]:
        return {
            "image_size": self.image_size,
            "grid_spacing": self.grid_spacing,
            "min_square_size": self.min_square_size,
            "max_square_size": self.max_square_size,
            "square_size_spacing": self.square_size_spacing,
            "rgb": self.rgb,
            "palette": self.palette,
        }

    def normalisation_constants(self):
        config = self.config()
        palette = config.pop("palette")
        if config == _DEFAULTS and palette == "rainbow_4":
            return (_DEFAULT_MEAN,), (_DEFAULT_STD,)
        return None

    def _colour_values(self, factors: torch.Tensor) -> torch.Tensor:
        """uint8-valued colours ``[N, C]``: ``hue * level // levels`` as in disent."""
        colour = factors[:, 3]
        hue, level = colour % len(self.hues), colour // len(self.hues) + 1
        return self._shade(hue, level, factors.device)

    def _shade(self, hue: torch.Tensor, level: torch.Tensor, device: torch.device) -> torch.Tensor:
        hues = torch.tensor(self.hues, dtype=torch.long, device=device)
        return torch.div(hues[hue] * level[:, None], self.levels, rounding_mode="floor")

    def _render(self, factors: torch.Tensor) -> torch.Tensor:
        device = factors.device
        size = torch.tensor(self.scales, device=device)[factors[:, 2]]
        margin = torch.div(self.max_square_size - size, 2, rounding_mode="floor")
        x0 = self.grid_spacing * factors[:, 0] + margin
        y0 = self.grid_spacing * factors[:, 1] + margin
        pixels = torch.arange(self.image_size, device=device)
        in_x = (pixels >= x0[:, None]) & (pixels < (x0 + size)[:, None])
        in_y = (pixels >= y0[:, None]) & (pixels < (y0 + size)[:, None])
        mask = in_y[:, :, None] & in_x[:, None, :]
        colour = self._colour_values(factors).to(torch.uint8)
        return mask[:, None].to(torch.uint8) * colour[:, :, None, None]


class XYObjectShaded(XYObject):
    """The same images as XYObject with factors ``x, y, scale, intensity, color``."""

    name = "xyobject-shaded"

    def _set_layout(self) -> None:
        self.factor_names = ("x", "y", "scale", "intensity", "color")
        self.factor_sizes = (self.placements, self.placements, len(self.scales), self.levels, len(self.hues))

    def _colour_values(self, factors: torch.Tensor) -> torch.Tensor:
        return self._shade(factors[:, 4], factors[:, 3] + 1, factors.device)
