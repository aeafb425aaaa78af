"""dSprites (Matthey et al. 2017): 2D shapes, 737,280 binary 64x64 images (paper.md §7)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from disbench.data.download import Resource
from disbench.data.stored import ArrayWriter, StoredData, check_grid_order
from disbench.error import DataError


class DSprites(StoredData):
    """Factors shape 3, scale 6, orientation 40, position_x 32, position_y 32 (colour dropped)."""

    name = "dsprites"
    factor_names = ("shape", "scale", "orientation", "position_x", "position_y")
    factor_sizes = (3, 6, 40, 32, 32)
    obs_shape = (1, 64, 64)
    constants = ((0.042494423521889584,), (0.19516645880626055,))
    resources = (
        Resource(
            url="https://raw.githubusercontent.com/deepmind/dsprites-dataset/master/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.hdf5",
            filename="dsprites_ndarray_co1sh3sc6or40x32y32_64x64.hdf5",
            md5="b331c4447a651c44bf5e8ae09022e230",
        ),
    )

    def _convert(self, raw: list[Path], writer: ArrayWriter, chunk: int = 16384) -> None:
        import h5py

        with h5py.File(raw[0], "r") as f:
            if "imgs" not in f:
                raise DataError(f"{raw[0]} has no 'imgs' dataset; is it the dSprites hdf5 file?")
            images = f["imgs"]
            if images.shape != (len(self), 64, 64):
                raise DataError(f"{raw[0]}: 'imgs' has shape {images.shape}, expected {(len(self), 64, 64)}.")
            if "latents" in f and "classes" in f["latents"]:
                classes = np.asarray(f["latents"]["classes"])
                check_grid_order(classes[:, 1:], self.factor_sizes, str(raw[0]))  # column 0 is the constant colour
            for start in range(0, len(self), chunk):
                block = np.asarray(images[start : start + chunk], dtype=np.uint8)
                writer.write(slice(start, start + len(block)), (block * 255)[:, None])
