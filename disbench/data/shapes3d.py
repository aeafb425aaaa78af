"""3D Shapes (Burgess & Kim 2018): 480,000 RGB 64x64 renders of a shape in a room (paper.md §7)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from disbench.data.download import Resource
from disbench.data.stored import ArrayWriter, StoredData, check_grid_order
from disbench.error import DataError


class Shapes3D(StoredData):
    """Factors floor_hue 10, wall_hue 10, object_hue 10, scale 8, shape 4, orientation 15."""

    name = "shapes3d"
    factor_names = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
    factor_sizes = (10, 10, 10, 8, 4, 15)
    obs_shape = (3, 64, 64)
    constants = (
        (0.502584966788819, 0.5787597566089667, 0.6034499731859578),
        (0.2940814043555559, 0.3443979087517214, 0.3661685981524748),
    )
    resources = (
        Resource(
            url="https://storage.googleapis.com/3d-shapes/3dshapes.h5",
            filename="3dshapes.h5",
            md5="099a2078d58cec4daad0702c55d06868",
        ),
    )

    def _convert(self, raw: list[Path], writer: ArrayWriter, chunk: int = 8192) -> None:
        import h5py

        with h5py.File(raw[0], "r") as f:
            if "images" not in f:
                raise DataError(f"{raw[0]} has no 'images' dataset; is it 3dshapes.h5?")
            images = f["images"]
            if images.shape != (len(self), 64, 64, 3):
                raise DataError(f"{raw[0]}: 'images' has shape {images.shape}, expected {(len(self), 64, 64, 3)}.")
            if "labels" in f:
                check_grid_order(np.asarray(f["labels"]), self.factor_sizes, str(raw[0]))
            for start in range(0, len(self), chunk):
                block = np.asarray(images[start : start + chunk], dtype=np.uint8)
                writer.write(slice(start, start + len(block)), block.transpose(0, 3, 1, 2))
