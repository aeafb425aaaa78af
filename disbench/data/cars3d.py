"""Cars3D (Reed et al. 2015): 183 car models x 24 azimuths x 4 elevations, resized to 64x64.

The archive holds ``data/cars/list.txt`` (model order) and one MATLAB file per model whose key
``im`` has shape (128, 128, 3, azimuth, elevation). Observations are ordered (elevation,
azimuth, object_type) as in disent and disentanglement_lib, and resized 128 -> 64 with PIL's
bilinear filter (torchvision's resize), as the paper did (paper.md §4.5, §7).
"""

from __future__ import annotations

import tarfile
import tempfile
from pathlib import Path

import numpy as np

from disbench.data.download import Resource
from disbench.data.stored import ArrayWriter, StoredData, resize_images
from disbench.error import DataError


class Cars3D(StoredData):
    """Factors elevation 4, azimuth 24, object_type 183."""

    name = "cars3d"
    factor_names = ("elevation", "azimuth", "object_type")
    factor_sizes = (4, 24, 183)
    obs_shape = (3, 64, 64)
    source_size = 128
    constants = (
        (0.8976676149976628, 0.8891658020067508, 0.885147515814868),
        (0.22503195531503034, 0.2399461278981261, 0.24792106319684404),
    )
    resources = (
        Resource(
            url="http://www.scottreed.info/files/nips2015-analogy-data.tar.gz",
            filename="nips2015-analogy-data.tar.gz",
            md5="4e866a7919c1beedf53964e6f7a23686",
        ),
    )

    def _convert(self, raw: list[Path], writer: ArrayWriter) -> None:
        from scipy.io import loadmat

        elevations, azimuths, objects = self.factor_sizes
        with tempfile.TemporaryDirectory(prefix="cars3d-", dir=self.folder) as tmp:
            with tarfile.open(raw[0], "r:gz") as archive:
                members = [m for m in archive.getmembers() if m.name.startswith("data/cars/") and m.isfile()]
                if not members:
                    raise DataError(f"{raw[0]} has no data/cars/ folder; is it nips2015-analogy-data.tar.gz?")
                kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                archive.extractall(tmp, members=members, **kwargs)
            cars = Path(tmp) / "data" / "cars"
            names = [line.strip() for line in (cars / "list.txt").read_text().splitlines() if line.strip()]
            if len(names) != objects:
                raise DataError(f"{raw[0]}: list.txt names {len(names)} car models, expected {objects}.")
            size = self.obs_shape[1]
            for obj, car in enumerate(names):
                im = loadmat(cars / f"{car}.mat")["im"]
                expected = (self.source_size, self.source_size, 3, azimuths, elevations)
                if im.shape != expected:
                    raise DataError(f"{car}.mat: 'im' has shape {im.shape}, expected {expected}.")
                # (H, W, 3, azimuth, elevation) -> (elevation, azimuth, H, W, 3)
                views = np.ascontiguousarray(im.transpose(4, 3, 0, 1, 2)).reshape(-1, *expected[:3]).astype(np.uint8)
                small = resize_images(views, size).transpose(0, 3, 1, 2)
                rows = np.arange(elevations * azimuths) * objects + obj
                writer.write(rows, small)
