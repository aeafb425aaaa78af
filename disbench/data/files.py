"""Your own dataset: images with their factors, from files, as a disbench dataset.

Three layouts are read (:func:`from_files`):

* a folder of images with a CSV (``factors.csv``, or the folder's only ``.csv``; or the CSV's own
  path): one row per image, a column naming the image file (``file``, ``filename``, ``image`` or
  ``path``; relative to the CSV's folder) and one column per factor;
* an ``.npz`` with arrays ``images`` (``[N, H, W]``, ``[N, H, W, C]`` or ``[N, C, H, W]``, uint8)
  and ``factors`` (``[N, F]``), and optionally ``factor_names`` (``[F]`` strings);
* an HDF5 file (``.h5``/``.hdf5``) with the same datasets.

What can be checked is checked when the data is opened, each with an error that names the fix:
every image file exists and Pillow reads it, all images have one size and an 8-bit format,
factor columns exist and are discrete, and no combination of factor values has two images.
Combinations with no image are allowed, stated (an :class:`IncompleteGrid` warning, ``describe()``
and ``missing_fraction``) and marked in ``present``: the analysis measures the traversals on the
images they have (``disbench.analysis.sampling``), while a training task needs the full grid and
refuses such data (``GroundTruthData.require_full_grid``). Images are read on demand (files
decoded, ``.npz`` members memory-mapped, HDF5 read by row), so a large dataset is never held in memory.

``fingerprint`` is a sha256 of the data's content; a registered task records it with the path
(:meth:`FileData.task_kwargs`), so the task is rebuilt from the same files or refused.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import warnings
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch

from disbench.data.base import GroundTruthData
from disbench.data.factor_table import factor_grid, select_columns
from disbench.data.image_sources import ImageArray, ImageFiles, ImageSource, npz_member
from disbench.error import DataError, did_you_mean
from disbench.files import hash_into

TABLE_NAME = "factors.csv"
IMAGE_COLUMNS = ("file", "filename", "image", "path")
HDF5_SUFFIXES = (".h5", ".hdf5")
LAYOUTS = "a folder of images with a CSV, a .csv, an .npz or an HDF5 (.h5/.hdf5) file"


class IncompleteGrid(UserWarning):
    """Some factor combinations have no image: the analysis works around them; training cannot."""


def _find_table(folder: Path) -> Path:
    """The folder's ``factors.csv``, or its only CSV."""
    if (folder / TABLE_NAME).is_file():
        return folder / TABLE_NAME
    tables = sorted(folder.glob("*.csv"))
    if len(tables) == 1:
        return tables[0]
    if tables:
        raise DataError(f"{folder} holds {len(tables)} CSV files ({', '.join(t.name for t in tables[:4])}); name {TABLE_NAME} or pass the CSV's path.")
    raise DataError(f"{folder} has no CSV of factors: add {TABLE_NAME} with a column 'file' naming each image and one column per factor.")


def _image_column(columns: list[str], chosen: str | None, source: str) -> str:
    if chosen is not None:
        if chosen not in columns:
            raise DataError(f"{source} has no column {chosen!r}.{did_you_mean(chosen, columns, n=1)} Its columns are {', '.join(columns)}.")
        return chosen
    found = [c for c in columns if c.lower() in IMAGE_COLUMNS]
    if not found:
        raise DataError(f"{source} has no column naming the image files ({', '.join(IMAGE_COLUMNS)}); its columns are "
                        f"{', '.join(columns)}: rename that column or pass image_column=... (--image-column).")
    return found[0]


def _open_csv(table: Path, factors: Sequence[str] | None, image_column: str | None, image_size: int | None) -> tuple[dict, ImageSource]:
    import pandas as pd

    try:
        frame = pd.read_csv(table, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as e:
        raise DataError(f"{table} is not a readable CSV ({str(e).strip()}); it needs a header row and one row per image.") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    columns = list(frame.columns)
    image_column = _image_column(columns, image_column, table.name)
    names = select_columns(columns, factors, [image_column], table.name)
    if frame.empty:
        raise DataError(f"{table} has no rows; it needs one row per image.")
    values = {name: frame[name].to_numpy() for name in names}
    return values, lambda: ImageFiles([table.parent / str(f).strip() for f in frame[image_column]], table.name, image_size)


def _names_of(raw: Any, count: int, source: str) -> list[str]:
    if raw is None:
        return [f"factor_{i}" for i in range(count)]
    names = [v.decode() if isinstance(v, bytes) else str(v) for v in np.asarray(raw).reshape(-1)]
    if len(names) != count:
        raise DataError(f"{source}: factor_names has {len(names)} names for {count} factor columns; give one name per column.")
    return names


def _columns(factors: np.ndarray, raw_names: Any, wanted: Sequence[str] | None, rows: int, source: str) -> dict[str, np.ndarray]:
    """Factor name -> column, from an ``[N, F]`` (or ``[N]``) array with optional stored names."""
    factors = np.asarray(factors)
    factors = factors[:, None] if factors.ndim == 1 else factors
    if factors.ndim != 2:
        raise DataError(f"{source}: factors must be an array [N, F] (one row per image, one column per factor), got shape {factors.shape}.")
    if len(factors) != rows:
        raise DataError(f"{source}: {rows:,} images but {len(factors):,} rows of factors; they must match, row for row.")
    names = _names_of(raw_names, factors.shape[1], source)
    chosen = select_columns(names, wanted, [], source)
    return {name: factors[:, names.index(name)] for name in chosen}


def _open_npz(path: Path, factors: Sequence[str] | None, image_size: int | None) -> tuple[dict, ImageSource]:
    images = npz_member(path, "images")
    with np.load(path, allow_pickle=False) as archive:
        if "factors" not in archive.files:
            raise DataError(f"{path} has no array 'factors'; it needs 'images' and 'factors' (found: {', '.join(archive.files)}).")
        try:
            raw_names = archive["factor_names"] if "factor_names" in archive.files else None
            table = archive["factors"]
        except ValueError as e:  # an object array: numpy would have to unpickle it
            raise DataError(f"{path}: {e}; store factors and factor_names as plain arrays (e.g. np.array(names, dtype=str)).") from None
    columns = _columns(table, raw_names, factors, len(images), path.name)
    return columns, lambda: ImageArray(images, path, path.name, image_size)


def _open_hdf5(path: Path, factors: Sequence[str] | None, image_size: int | None) -> tuple[dict, ImageSource]:
    import h5py

    try:
        handle = h5py.File(path, "r")
    except OSError as e:
        raise DataError(f"{path} is not a readable HDF5 file ({e}).") from None
    missing = [k for k in ("images", "factors") if k not in handle]
    if missing:
        found = ", ".join(handle.keys()) or "none"
        handle.close()
        raise DataError(f"{path} has no dataset {missing[0]!r}; it needs 'images' and 'factors' (found: {found}).")
    raw_names = handle["factor_names"][()] if "factor_names" in handle else handle["factors"].attrs.get("factor_names")
    columns = _columns(handle["factors"][()], raw_names, factors, len(handle["images"]), path.name)
    return columns, lambda: ImageArray(handle["images"], path, path.name, image_size)


class FileData(GroundTruthData):
    """A dataset read from files (see the module docstring); build it with :func:`from_files`."""

    name = "files"

    def __init__(
        self,
        path: str | os.PathLike[str],
        factors: Sequence[str] | None = None,
        image_column: str | None = None,
        factor_order: Mapping[str, Sequence[Any]] | None = None,
        image_size: int | None = None,
        categorical: Sequence[str] | None = None,
        sha256: str | None = None,
        name: str | None = None,
    ) -> None:
        self.path = Path(path).expanduser().resolve()
        if not self.path.exists():
            nearby = [p.name for p in self.path.parent.iterdir()] if self.path.parent.is_dir() else []
            raise DataError(f"No such file or folder: {path}.{did_you_mean(self.path.name, nearby, n=1)} Give {LAYOUTS}.")
        if image_size is not None and (not isinstance(image_size, int) or isinstance(image_size, bool) or image_size < 1):
            raise DataError(f"image_size must be a positive int (the side of the square images), got {image_size!r}.")
        self.options = {"factors": list(factors) if factors is not None else None, "image_column": image_column,
                        "factor_order": {k: list(v) for k, v in factor_order.items()} if factor_order else None, "image_size": image_size,
                        "categorical": list(categorical) if categorical else None}
        columns, open_images, self.table = self._open()
        grid = factor_grid(columns, self.table.name, factor_order)
        self.source = open_images()
        self.factor_names, self.factor_values, self.factor_sizes = grid.names, grid.values, grid.sizes
        self.categorical_factors = tuple(dict.fromkeys(grid.categorical + self._declared_categorical(categorical or (), factor_order or {})))
        self._rows = grid.rows
        self.present = None if grid.missing == 0 else grid.rows >= 0
        self.obs_shape = self.source.obs_shape
        self.name = name or (self.path.stem if self.path.is_file() else self.path.name)
        self._check_pixels()
        if sha256 is not None and sha256 != self.fingerprint:
            raise DataError(f"The data at {self.path} has changed since its task was registered (sha256 {self.fingerprint[:12]}..., "
                            f"registered {sha256[:12]}...); restore the files, or register the task again (as a new version).")

    def _check_pixels(self, sample: int = 64) -> None:
        """Refuse images that cannot be what the user meant, judged on ``sample`` images spread over
        the file: the analysis would give a confident verdict on them (every distance 0 reads as
        "adversarial")."""
        rows = np.unique(self._rows[self._rows >= 0])
        images = self.source.read(rows[np.linspace(0, len(rows) - 1, min(sample, len(rows))).astype(np.int64)])
        if images.max() <= 1:
            raise DataError(f"{self.path.name}: every pixel of {len(images)} images spread over the data is 0 or 1. That is what [0, 1] floats "
                            "cast with .astype(np.uint8) look like; store (x * 255).round().astype(np.uint8).")
        if len(images) > 1 and (images == images[:1]).all():
            raise DataError(f"{self.path.name}: {len(images)} images spread over the data are identical (all {int(images.max())} at most), so no "
                            "factor changes them. Check how they were written: an RGBA image whose object is only in its alpha channel "
                            "reads as a blank RGB image, so composite it onto a background first.")

    def _declared_categorical(self, names: Sequence[str], order: Mapping[str, Sequence[Any]]) -> tuple[str, ...]:
        """The factors named categorical, checked: they exist and are not also given an order."""
        for name in names:
            if name not in self.factor_names:
                raise DataError(f"categorical names {name!r}, which is not a factor.{did_you_mean(name, self.factor_names, n=1)} Factors: {', '.join(self.factor_names)}.")
            if name in order:
                raise DataError(f"Factor {name!r} is given both an order and categorical; a categorical factor has no order: drop one of them.")
        return tuple(names)

    def _open(self) -> tuple[dict, Any, Path]:
        options = self.options
        path = self.path
        if path.is_dir():
            path = _find_table(path)
        suffix = path.suffix.lower()
        if suffix == ".csv":
            columns, images = _open_csv(path, options["factors"], options["image_column"], options["image_size"])
        elif suffix == ".npz":
            columns, images = _open_npz(path, options["factors"], options["image_size"])
        elif suffix in HDF5_SUFFIXES:
            columns, images = _open_hdf5(path, options["factors"], options["image_size"])
        else:
            raise DataError(f"{path} is not a dataset disbench reads: give {LAYOUTS}.")
        if suffix != ".csv" and options["image_column"] is not None:
            raise DataError(f"image_column applies to a CSV of image files; {path.name} holds its images in an array.")
        return columns, images, path

    # --- completeness -------------------------------------------------------------------------

    @property
    def num_images(self) -> int:
        """How many images the data has (``len(self)`` counts the factor combinations)."""
        return len(self) - self.num_missing

    @property
    def missing_fraction(self) -> float:
        """The fraction of factor combinations with no image (0.0 for a full grid)."""
        return self.num_missing / len(self)

    @property
    def incompleteness(self) -> str:
        """The missing combinations in words (empty for a full grid): how many, the fraction, an example."""
        if self.present is None:
            return ""
        example = self.idx_to_factors(int(np.flatnonzero(~self.present)[0]))[0]
        return (f"{self.num_missing:,} of the {len(self):,} factor combinations ({100 * self.missing_fraction:.1f}%) have no image "
                f"(e.g. {self.combination(example)})")

    def combination(self, factors: torch.Tensor) -> str:
        """Factor indices ``[F]`` as the values they stand for: ``"x=20, colour='red'"``."""
        return ", ".join(f"{n}={v[k]!r}" for n, v, k in zip(self.factor_names, self.factor_values, factors.tolist()))

    # --- identity -----------------------------------------------------------------------------

    @cached_property
    def fingerprint(self) -> str:
        """sha256 over the factor table and every image's bytes (with file names relative to the table)."""
        digest = hashlib.sha256()
        files = dict.fromkeys([self.table, *self.source.content_files()])
        for file in files:
            name = os.path.relpath(file, self.table.parent)
            digest.update(name.encode() + b"\0")
            hash_into(digest, file)
            digest.update(b"\0")
        return digest.hexdigest()

    def config(self) -> dict[str, Any]:
        """What rebuilds exactly this data: the path, the options given, and the content's sha256."""
        options = {k: v for k, v in self.options.items() if v is not None}
        return {"path": str(self.path), **options, "sha256": self.fingerprint, "name": self.name}

    def task_kwargs(self, loss: str = "mse") -> dict[str, Any]:
        """Keyword arguments for ``disbench.register(id, kwargs=...)``: this data under ``loss``
        (refused for an incomplete grid: see :meth:`require_full_grid`)."""
        from disbench.losses import make_loss

        self.require_full_grid("registered as a task")
        return {"dataset": "files", **self.config(), "loss": make_loss(loss).name}

    def describe(self) -> str:
        """One line: what was read, the image shape, the factors with their sizes, and what is missing."""
        factors = ", ".join(f"{n} ({s})" for n, s in zip(self.factor_names, self.factor_sizes))
        c, h, w = self.obs_shape
        missing = f"; incomplete: {self.incompleteness}" if self.present is not None else ""
        return f"{self.name}: {self.num_images:,} images, {c}x{h}x{w}, from {self.table}; factors {factors}{missing}"

    @property
    def images_read(self) -> int:
        """How many images have been read from the files so far (the cost of an analysis)."""
        return self.source.images_read

    # --- observations --------------------------------------------------------------------------

    def _render(self, factors: torch.Tensor) -> torch.Tensor:
        rows = self._rows[self.factors_to_idx(factors, validate=False).cpu().numpy()]
        if self.present is not None and (rows < 0).any():
            absent = self.combination(factors[int(np.flatnonzero(rows < 0)[0])])
            raise DataError(f"{self.name} has no image for {absent} ({100 * self.missing_fraction:.1f}% of its factor combinations have none); "
                            "ask only for the combinations it has (data.present, data.observed_indices()).")
        return torch.from_numpy(self.source.read(rows)).to(factors.device)

    def compute_normalisation(self, chunk: int = 256) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """As the base class, a few hundred images at a time (they are read from files). A channel
        that never varies (say, blue in red-and-green images) keeps its scale: its std is taken as 1."""
        mean, std = super().compute_normalisation(chunk)
        return mean, tuple(s if s > 0 else 1.0 for s in std)

    def __repr__(self) -> str:
        return f"FileData({str(self.path)!r}, name={self.name!r})"  # config() would hash every file


OPTIONS = tuple(inspect.signature(FileData.__init__).parameters)[2:]  # every keyword after self and path: one list, never out of date


def from_files(path: str | os.PathLike[str], **options: Any) -> FileData:
    """Open a dataset from files and check it (see :mod:`disbench.data.files`).

    Options: ``factors`` (which columns are factors; default all but the image column),
    ``image_column`` (the CSV column of file names), ``factor_order`` (``{factor: [values in
    order]}``; else numbers ascend, and strings, sorted alphabetically, are categorical),
    ``categorical`` (more factors whose values have no order, e.g. numeric ids; the analysis judges
    no order for them), ``image_size`` (resize every image to a square of this side on load), ``name``.
    Register it as a task with ``disbench.register(id, kwargs=data.task_kwargs("mse"))``. Combinations
    with no image are allowed, with an :class:`IncompleteGrid` warning; such data can be analysed,
    not registered.
    """
    for option in options:
        if option not in OPTIONS:
            raise DataError(f"from_files has no option {option!r}.{did_you_mean(option, OPTIONS, n=1)} Options: {', '.join(OPTIONS)}.")
    data = FileData(path, **options)
    if data.present is not None:
        warnings.warn(f"{data.name}: {data.incompleteness}; the analysis judges each factor on the images its traversals have, and "
                      "the data cannot be a training task.", IncompleteGrid, stacklevel=2)
    return data
