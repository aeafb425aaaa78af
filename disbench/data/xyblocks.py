"""XYBlocks: XOR'd blocks at several grid levels (research code, paper.md §2.3).

Level ``l`` divides the image into ``2**l`` blocks per axis. Blocks are drawn from the largest
to the smallest; a block takes its colour unless the pixel at its top-left corner already has
that colour, in which case it is cleared to the background (the XOR of disent's generator).
"""

from __future__ import annotations

from typing import Any

import torch

from disbench.data.base import GroundTruthData
from disbench.error import DataError

PALETTES_RGB = {
    "rgb": ((255, 0, 0), (0, 255, 0), (0, 0, 255)),
    "white": ((255, 255, 255),),
    "colors": ((255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255), (255, 255, 255)),
}
PALETTES_GREY = {
    "rgb": ((255,),),
    "white": ((255,),),
    "greys_halves": ((128,), (255,)),
    "greys_quarters": ((64,), (128,), (192,), (255,)),
}


# compute_normalisation() of the default configuration (a full pass takes ~20 s on 2 cores).
_DEFAULT_CONSTANTS = ((0.10040509259259259,), (0.21689087652106662,))


class XYBlocks(GroundTruthData):
    """Factors ``color-<d>`` for each level, then ``x-<d>``, then ``y-<d>`` (d = divisions)."""

    name = "xyblocks"

    def __init__(
        self,
        grid_size: int = 64,
        grid_levels: tuple[int, ...] | list[int] = (1, 2, 3),
        rgb: bool = True,
        palette: str = "rgb",
        invert_bg: bool = False,
    ) -> None:
        self.grid_size = int(grid_size)
        self.grid_levels = tuple(int(level) for level in grid_levels)
        if not self.grid_levels or list(self.grid_levels) != sorted(self.grid_levels) or min(self.grid_levels) < 1:
            raise DataError(f"grid_levels must be increasing positive ints, got {grid_levels!r}.")
        for level in self.grid_levels:
            if self.grid_size % (2**level):
                raise DataError(f"grid_size {grid_size} is not divisible by 2**{level}.")
        self.rgb = bool(rgb)
        table = PALETTES_RGB if self.rgb else PALETTES_GREY
        if palette not in table:
            raise DataError(f"Unknown palette {palette!r} for rgb={rgb}; expected one of {sorted(table)}.")
        self.palette = palette
        self.colours = table[palette]
        self.invert_bg = bool(invert_bg)
        self.background = 255 if self.invert_bg else 0
        if any(all(v == self.background for v in colour) for colour in self.colours):
            raise DataError(f"Palette {palette!r} contains the background colour {self.background}; choose invert_bg or another palette.")
        self.divisions = tuple(2**level for level in self.grid_levels)
        self.block_sizes = tuple(self.grid_size // d for d in self.divisions)
        self.factor_names = tuple(f"{prefix}-{d}" for prefix in ("color", "x", "y") for d in self.divisions)
        self.factor_sizes = (len(self.colours),) * len(self.divisions) + self.divisions * 2
        self.obs_shape = (3 if self.rgb else 1, self.grid_size, self.grid_size)

    def config(self) -> dict[str, Any]:
        return {
            "grid_size": self.grid_size,
            "grid_levels": list(self.grid_levels),
            "rgb": self.rgb,
            "palette": self.palette,
            "invert_bg": self.invert_bg,
        }

    def normalisation_constants(self):
        default = {"grid_size": 64, "grid_levels": [1, 2, 3], "rgb": True, "palette": "rgb", "invert_bg": False}
        return _DEFAULT_CONSTANTS if self.config() == default else None

    def _render(self, factors: torch.Tensor) -> torch.Tensor:
        device, n, levels = factors.device, factors.shape[0], len(self.divisions)
        out = torch.full((n, *self.obs_shape), self.background, dtype=torch.uint8, device=device)
        palette = torch.tensor(self.colours, dtype=torch.uint8, device=device)
        background = torch.full_like(palette[0], self.background)
        pixels = torch.arange(self.grid_size, device=device)
        rows = torch.arange(n, device=device)
        for level, size in enumerate(self.block_sizes):
            colour = palette[factors[:, level]]  # [N, C]
            x0, y0 = factors[:, levels + level] * size, factors[:, 2 * levels + level] * size
            corner = out[rows, :, y0, x0]  # [N, C]
            fill = torch.where((corner == colour).all(dim=1, keepdim=True), background, colour)
            in_x = (pixels >= x0[:, None]) & (pixels < (x0 + size)[:, None])
            in_y = (pixels >= y0[:, None]) & (pixels < (y0 + size)[:, None])
            mask = (in_y[:, :, None] & in_x[:, None, :])[:, None]
            out = torch.where(mask, fill[:, :, None, None], out)
        return out
