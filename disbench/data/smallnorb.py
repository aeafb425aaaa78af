"""SmallNORB (LeCun et al. 2004), training split: 24,300 grey toy images, resized to 64x64.

The ``.mat.gz`` files are NORB binary matrices (not MATLAB): a little-endian int32 type code,
an int32 rank, at least three int32 dimensions, then the data. Following disent: keep the first
image of each stereo pair, halve the azimuth to an index, and sort by (category, instance,
elevation, rotation, lighting) (paper.md §7).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from disbench.data.download import Resource
from disbench.data.stored import ArrayWriter, StoredData, check_grid_order, resize_images
from disbench.error import DataError

NORB_TYPES = {0x1E3D4C55: np.uint8, 0x1E3D4C54: np.int32, 0x1E3D4C56: np.int16, 0x1E3D4C51: np.float32, 0x1E3D4C53: np.float64}
_URL = "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/"


def read_norb_matrix(path: Path) -> np.ndarray:
    """Read one gzipped NORB binary matrix file."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if len(data) < 20:
        raise DataError(f"{path} is too short to be a NORB matrix file.")
    code, rank = (int(v) for v in np.frombuffer(data, dtype="<i4", count=2))
    if code not in NORB_TYPES:
        raise DataError(f"{path}: unknown NORB matrix type code {code:#x}.")
    stored = max(3, rank)
    dims = tuple(int(v) for v in np.frombuffer(data, dtype="<i4", count=stored, offset=8)[:rank])
    dtype = np.dtype(NORB_TYPES[code]).newbyteorder("<")
    array = np.frombuffer(data, dtype=dtype, offset=8 + 4 * stored)
    if array.size != int(np.prod(dims)):
        raise DataError(f"{path}: header says {dims} but holds {array.size} values.")
    return array.reshape(dims)


class SmallNORB(StoredData):
    """Factors category 5, instance 5, elevation 9, rotation 18, lighting 6."""

    name = "smallnorb"
    factor_names = ("category", "instance", "elevation", "rotation", "lighting")
    factor_sizes = (5, 5, 9, 18, 6)
    obs_shape = (1, 64, 64)
    constants = ((0.7520918401088603,), (0.09563879016827262,))
    resources = (
        Resource(_URL + "smallnorb-5x46789x9x18x6x2x96x96-training-dat.mat.gz",
                 "smallnorb-5x46789x9x18x6x2x96x96-training-dat.mat.gz",
                 md5="66054832f9accfe74a0f4c36a75bc0a2"),
        Resource(_URL + "smallnorb-5x46789x9x18x6x2x96x96-training-cat.mat.gz",
                 "smallnorb-5x46789x9x18x6x2x96x96-training-cat.mat.gz",
                 md5="23c8b86101fbf0904a000b43d3ed2fd9"),
        Resource(_URL + "smallnorb-5x46789x9x18x6x2x96x96-training-info.mat.gz",
                 "smallnorb-5x46789x9x18x6x2x96x96-training-info.mat.gz",
                 md5="51dee1210a742582ff607dfd94e332e3"),
    )

    def _convert(self, raw: list[Path], writer: ArrayWriter, chunk: int = 2048) -> None:
        dat, cat, info = (read_norb_matrix(path) for path in raw)
        n = len(self)
        if dat.ndim != 4 or dat.shape[:2] != (n, 2) or cat.shape != (n,) or info.shape != (n, 4):
            raise DataError(f"SmallNORB files hold dat {dat.shape}, cat {cat.shape}, info {info.shape}; expected ({n}, 2, H, W), ({n},), ({n}, 4).")
        factors = np.column_stack([cat, info]).astype(np.int64)
        factors[:, 3] //= 2  # azimuth 0, 2, ..., 34 -> rotation index
        order = np.lexsort(factors[:, ::-1].T)  # primary key: category, then instance, ...
        check_grid_order(factors[order], self.factor_sizes, "SmallNORB labels")
        size = self.obs_shape[1]
        for start in range(0, n, chunk):
            rows = order[start : start + chunk]
            images = dat[rows, 0][..., None]
            writer.write(slice(start, start + len(rows)), resize_images(images, size).transpose(0, 3, 1, 2))
