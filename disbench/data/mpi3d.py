"""MPI3D (Gondal et al. 2019): a robot finger holding an object, 1,036,800 RGB 64x64 images.

Three subsets share one factor grid: ``toy`` (simple renders), ``realistic`` (realistic renders)
and ``real`` (camera images). The source ``.npz`` holds the whole array (up to ~12.7 GB); it is
streamed from the zip member in chunks, so conversion never loads it whole (paper.md §7).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from disbench.data.download import Resource
from disbench.data.stored import ArrayWriter, StoredData
from disbench.error import DataError

_URL = "https://storage.googleapis.com/disentanglement_dataset/Final_Dataset/"
SUBSETS = {
    "toy": (
        Resource(_URL + "mpi3d_toy.npz", "mpi3d_toy.npz", md5="55889cb7c7dfc655d6e0277beee88868"),
        ((0.22681593831231503, 0.22353985202496676, 0.22666059934624702), (0.07854112062669572, 0.07319301658077378, 0.0790763900050426)),
    ),
    "realistic": (
        Resource(_URL + "mpi3d_realistic.npz", "mpi3d_realistic.npz", md5="59a6225b88b635365f70c91b3e52f70f"),
        ((0.18240164396358813, 0.20723063241107917, 0.1820551008003256), (0.09511163559287175, 0.10128881101801782, 0.09428244469525177)),
    ),
    "real": (
        Resource(_URL + "mpi3d_real.npz", "mpi3d_real.npz", md5="0f33f609918fb5c97996692f91129802"),
        ((0.13111154099374112, 0.16746449372488892, 0.14051725201807627), (0.10137409845578041, 0.10087824338375781, 0.10534121043187629)),
    ),
}


def iter_npz_rows(path: Path, key: str, rows_per_chunk: int):
    """Yield ``(start, block)`` row chunks of array ``key`` in an ``.npz`` without loading it whole."""
    with zipfile.ZipFile(path) as archive:
        member = f"{key}.npy"
        if member not in archive.namelist():
            raise DataError(f"{path} has no array {key!r}; it holds {sorted(archive.namelist())}.")
        with archive.open(member) as stream:
            version = np.lib.format.read_magic(stream)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read_header(stream)
            if fortran:
                raise DataError(f"{path}:{key} is stored in Fortran order, which cannot be streamed by rows.")
            row_bytes = int(np.prod(shape[1:])) * dtype.itemsize
            yield shape
            for start in range(0, shape[0], rows_per_chunk):
                count = min(rows_per_chunk, shape[0] - start)
                buffer = stream.read(count * row_bytes)
                if len(buffer) != count * row_bytes:
                    raise DataError(f"{path}:{key} ended early at row {start}; the file is truncated.")
                yield start, np.frombuffer(buffer, dtype=dtype).reshape(count, *shape[1:])


class MPI3D(StoredData):
    """Factors object_color 6, object_shape 6, object_size 2, camera_height 3, background_color 3,
    first_dof 40, second_dof 40."""

    name = "mpi3d"
    factor_names = ("object_color", "object_shape", "object_size", "camera_height", "background_color", "first_dof", "second_dof")
    factor_sizes = (6, 6, 2, 3, 3, 40, 40)
    obs_shape = (3, 64, 64)
    download_command = "disbench data download mpi3d --subset {subset}"

    @classmethod
    def variants(cls) -> list[dict[str, Any]]:
        return [{"subset": subset} for subset in SUBSETS]

    def __init__(self, subset: str = "realistic", root=None, download: bool = False) -> None:
        if subset not in SUBSETS:
            raise DataError(f"Unknown MPI3D subset {subset!r}; expected one of {sorted(SUBSETS)}.")
        self.subset = subset
        self.name = f"mpi3d_{subset}"
        self.resources = (SUBSETS[subset][0],)
        self.constants = SUBSETS[subset][1]
        self.download_command = MPI3D.download_command.replace("{subset}", subset)
        super().__init__(root=root, download=download)

    def config(self) -> dict[str, Any]:
        return {"subset": self.subset}

    def _convert(self, raw: list[Path], writer: ArrayWriter) -> None:
        chunks = iter_npz_rows(raw[0], "images", rows_per_chunk=8192)
        shape = next(chunks)
        if tuple(shape) != (len(self), 64, 64, 3):
            raise DataError(f"{raw[0]}: 'images' has shape {tuple(shape)}, expected {(len(self), 64, 64, 3)}.")
        for start, block in chunks:
            writer.write(slice(start, start + len(block)), block.transpose(0, 3, 1, 2))
