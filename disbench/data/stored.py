"""Stored datasets: downloaded once, converted once to a memory-mapped uint8 array.

Layout in the cache folder (``disbench.data.download.data_root``)::

    <root>/<name>/raw/...          the downloaded source files, verified by md5
    <root>/<name>/<name>.npy       uint8 [N, C, H, W], observations in factor order
    <root>/<name>/<name>.json      manifest, written last: its presence means "complete"

``render`` gathers observations by flat index from the memory map (sorted, for locality), so
a 3 GB dataset never needs 3 GB of RAM; ``preload(device)`` copies it to a GPU when it fits.
"""

from __future__ import annotations

import mmap
import os
import shutil
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from disbench.data.base import GroundTruthData
from disbench.data.download import Resource, data_root, fetch
from disbench.error import DataError
from disbench.files import atomic_path, writable_folder, write_json_atomic

MANIFEST_VERSION = 1


def advise_random_access(array: np.ndarray) -> None:
    """Batches gather random rows: tell the kernel not to read ahead around each one, so that
    sampling touches (and keeps resident) only the pages it needs."""
    handle = getattr(array, "_mmap", None)
    if handle is not None and hasattr(mmap, "MADV_RANDOM"):
        handle.madvise(mmap.MADV_RANDOM)


class ArrayWriter:
    """Writes a uint8 ``[N, C, H, W]`` array beside ``path`` and moves it there only when every row
    was written (an interrupted conversion leaves nothing behind)."""

    def __init__(self, path: Path, shape: tuple[int, ...]) -> None:
        self.path = path
        self.shape = shape
        self.written = np.zeros(shape[0], dtype=bool)
        self.array: np.memmap | None = None
        self._target = atomic_path(path)

    def __enter__(self) -> ArrayWriter:
        tmp = self._target.__enter__()
        self.array = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=self.shape)
        return self

    def write(self, index: int | slice | np.ndarray, images: np.ndarray) -> None:
        """Store ``images`` (``[n, C, H, W]`` or one ``[C, H, W]``) at rows ``index``."""
        assert self.array is not None
        self.array[index] = images
        self.written[index] = True

    def __exit__(self, exc_type, exc, tb) -> bool:
        array, self.array = self.array, None
        if array is not None:
            array.flush()
            del array
        if exc_type is None and not self.written.all():
            missing = int((~self.written).sum())
            error = DataError(f"Conversion of {self.path.name} left {missing} of {self.shape[0]} observations unwritten.")
            self._target.__exit__(DataError, error, None)
            raise error
        return bool(self._target.__exit__(exc_type, exc, tb))


def check_grid_order(labels: np.ndarray, factor_sizes: tuple[int, ...], source: str) -> None:
    """Raise unless the rows of ``labels`` enumerate the factor grid in row-major order.

    Labels may be raw values (floats, non-contiguous ids): each column is replaced by the rank
    of its value first.
    """
    if labels.shape != (int(np.prod(factor_sizes)), len(factor_sizes)):
        raise DataError(f"{source}: expected labels of shape {(int(np.prod(factor_sizes)), len(factor_sizes))}, got {labels.shape}.")
    ranks = np.stack([np.unique(column, return_inverse=True)[1].reshape(-1) for column in labels.T], axis=1)
    grid = np.stack(np.unravel_index(np.arange(len(labels)), factor_sizes), axis=1)
    if not np.array_equal(ranks, grid):
        raise DataError(f"{source}: observations are not in factor order {factor_sizes}; the file may be a different release.")


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of uint8 ``[n, H, W, C]`` images with PIL (what torchvision's resize does)."""
    from PIL import Image

    out = np.empty((images.shape[0], size, size, images.shape[3]), dtype=np.uint8)
    for i, image in enumerate(images):
        pil = Image.fromarray(image[..., 0] if image.shape[2] == 1 else image)
        out[i] = np.asarray(pil.resize((size, size), Image.BILINEAR)).reshape(size, size, -1)
    return out


class StoredData(GroundTruthData):
    """Base class of downloaded datasets; subclasses list resources and implement ``_convert``."""

    stored = True
    resources: ClassVar[tuple[Resource, ...]]
    constants: ClassVar[tuple[tuple[float, ...], tuple[float, ...]]]
    download_command: ClassVar[str] = "disbench data download {name}"

    def __init__(self, root: str | os.PathLike[str] | None = None, download: bool = False) -> None:
        self.root = data_root(root)
        self._array: np.ndarray | None = None
        self._device_copy: torch.Tensor | None = None
        if download:
            self.prepare()

    # --- files -------------------------------------------------------------------------------

    @property
    def folder(self) -> Path:
        return self.root / self.name

    @property
    def array_path(self) -> Path:
        return self.folder / f"{self.name}.npy"

    @property
    def manifest_path(self) -> Path:
        return self.folder / f"{self.name}.json"

    @property
    def prepare_command(self) -> str:
        """The command that downloads, verifies and converts this dataset."""
        return self.download_command.format(name=self.name)

    def is_prepared(self) -> bool:
        return self.manifest_path.is_file() and self.array_path.is_file()

    def prepare(self, progress: bool = True) -> Path:
        """Download (if needed), verify and convert; a no-op once the converted array exists."""
        if self.is_prepared():
            return self.array_path
        writable_folder(self.folder / "raw", "dataset folder", DataError)  # before gigabytes are downloaded
        raw = [fetch(resource, self.folder / "raw", progress=progress) for resource in self.resources]
        self.manifest_path.unlink(missing_ok=True)
        with ArrayWriter(self.array_path, (len(self), *self.obs_shape)) as writer:
            self._convert(raw, writer)
        manifest = {
            "manifest_version": MANIFEST_VERSION,
            "dataset": self.name,
            "shape": [len(self), *self.obs_shape],
            "factor_names": list(self.factor_names),
            "factor_sizes": list(self.factor_sizes),
            "sources": [{"url": r.url, "filename": r.filename, "md5": r.md5} for r in self.resources],
        }
        write_json_atomic(self.manifest_path, manifest)
        return self.array_path

    def remove_raw(self) -> None:
        """Delete the downloaded source files (the converted array is all that is needed)."""
        shutil.rmtree(self.folder / "raw", ignore_errors=True)

    def _convert(self, raw: list[Path], writer: ArrayWriter) -> None:
        """Fill ``writer`` with every observation in factor order from the raw files."""
        raise NotImplementedError

    # --- access ------------------------------------------------------------------------------

    @property
    def array(self) -> np.ndarray:
        """The converted observations, memory-mapped read-only."""
        if self._array is None:
            command = self.prepare_command
            if not self.is_prepared():
                raise DataError(
                    f"{self.name} is not prepared: expected {self.array_path} and {self.manifest_path.name}. "
                    f"Run `{command}` (or pass download=True; set DISBENCH_DATA to use another folder)."
                )
            try:
                array = np.load(self.array_path, mmap_mode="r")
            except (ValueError, OSError) as e:
                raise DataError(f"{self.array_path} is unreadable ({e}); delete {self.folder} and run `{command}`.") from e
            expected = (len(self), *self.obs_shape)
            if array.shape != expected or array.dtype != np.uint8:
                raise DataError(
                    f"{self.array_path} holds {array.dtype} {array.shape}, expected uint8 {expected}; "
                    f"delete {self.folder} and run `{command}`."
                )
            advise_random_access(array)
            self._array = array
        return self._array

    def open(self) -> np.ndarray:
        """Memory-map the converted array now (raising the fix-it error if it is missing)."""
        return self.array

    def preload(self, device: torch.device | str) -> None:
        """Copy the whole array to ``device`` so that ``render`` there is a single gather."""
        self._device_copy = torch.from_numpy(np.ascontiguousarray(self.array)).to(device)

    def normalisation_constants(self):
        return self.constants

    def _render(self, factors: torch.Tensor) -> torch.Tensor:
        idx = self.factors_to_idx(factors, validate=False)
        if self._device_copy is not None and self._device_copy.device == idx.device:
            return self._device_copy.index_select(0, idx)
        flat = idx.cpu().numpy()
        order = np.argsort(flat, kind="stable")
        gathered = np.empty((len(flat), *self.obs_shape), dtype=np.uint8)
        gathered[order] = self.array[flat[order]]
        return torch.from_numpy(gathered).to(factors.device)

    def config(self) -> dict[str, Any]:
        return {}
