"""Where a dataset from files keeps its images, read a batch at a time, never all at once.

* :class:`ImageFiles`: one image file per row (PNG, JPEG, ... anything Pillow opens), decoded on
  demand, and kept (as uint8) when the whole dataset fits in ``CACHE_BYTES``, so each file is
  decoded at most once. Opening checks every file's header (size and pixel format) without
  decoding it.
* :class:`ImageArray`: an ``images`` array in an ``.npz`` or HDF5 file, ``[N, H, W]``,
  ``[N, H, W, C]`` or ``[N, C, H, W]`` of uint8. An uncompressed ``.npz`` member and an HDF5
  dataset are read lazily (memory-mapped / by row); a compressed ``.npz`` cannot be, and is read
  whole into memory as uint8 (``N*C*H*W`` bytes).

Both return uint8 ``[n, C, H, W]`` for any rows (in any order, repeats allowed), optionally
resized to a square ``image_size`` with Pillow's bilinear filter, and count what they read.
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from disbench.data.stored import advise_random_access, resize_images
from disbench.error import DataError

CACHE_BYTES = 512 << 20  # decoded image files are kept when all of them fit in this (uint8)
CHANNELS = {"1": 1, "L": 1, "LA": 1, "P": 3, "PA": 3, "RGB": 3, "RGBA": 3, "CMYK": 3, "YCbCr": 3}
ARRAY_KEYS = ("images", "factors")


class ImageSource:
    """Images by row; subclasses set ``shape`` (C, H, W as stored) and implement ``_read``."""

    shape: tuple[int, int, int]

    def __init__(self, image_size: int | None) -> None:
        self.image_size = image_size
        self.images_read = 0

    @property
    def obs_shape(self) -> tuple[int, int, int]:
        c, h, w = self.shape
        return (c, h, w) if self.image_size is None else (c, self.image_size, self.image_size)

    def read(self, rows: np.ndarray) -> np.ndarray:
        """uint8 ``[len(rows), C, H, W]`` for the table rows ``rows``."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        unique, inverse = np.unique(rows, return_inverse=True)  # each image read once, in storage order
        return self._read(unique)[inverse.reshape(-1)]

    def _read(self, rows: np.ndarray) -> np.ndarray:
        """uint8 ``[len(rows), *obs_shape]`` for increasing, distinct ``rows``; counts what it reads in ``images_read``."""
        raise NotImplementedError

    def content_files(self) -> list[Path]:
        """Files whose bytes are the images (hashed, with the table, into the dataset's fingerprint)."""
        raise NotImplementedError


def _where_it_is(missing: Path) -> str:
    """A hint when the missing file sits in a sub-folder: names are relative to the table's folder."""
    found = next(missing.parent.rglob(missing.name), None) if missing.parent.is_dir() else None
    if found is None:
        return ""
    relative = found.relative_to(missing.parent).as_posix()
    return f"a file of that name is at {relative} (names are relative to the table's folder, so write {relative!r}); "


class ImageFiles(ImageSource):
    """One image file per row, decoded with Pillow when asked for."""

    def __init__(self, paths: Sequence[Path], source: str, image_size: int | None = None) -> None:
        from PIL import Image, UnidentifiedImageError

        super().__init__(image_size)
        self.paths = list(paths)
        absent = [i for i, p in enumerate(self.paths) if not p.is_file()]
        if absent:
            first = self.paths[absent[0]]
            raise DataError(f"{len(absent)} of the {len(self.paths):,} image files that {source} names do not exist, "
                            f"first {first} (row {absent[0]}); {_where_it_is(first)}fix the file names or remove those rows.")
        sizes, modes = {}, {}
        for i, path in enumerate(self.paths):
            try:
                with Image.open(path) as image:  # reads the header only
                    sizes.setdefault(image.size, i)
                    modes.setdefault(image.mode, i)
            except (UnidentifiedImageError, OSError) as e:
                raise DataError(f"{path} (row {i} of {source}) is not an image Pillow can read ({e}); convert it to PNG.") from None
        if len(sizes) > 1 and image_size is None:
            (a, i), (b, j) = list(sizes.items())[:2]
            raise DataError(f"Images differ in size: {self.paths[i].name} is {a[0]}x{a[1]} but {self.paths[j].name} is {b[0]}x{b[1]}; "
                            "resize them all to one size, or resize on load (image_size=N, --image-size N).")
        unsupported = sorted(m for m in modes if m not in CHANNELS)
        if unsupported:
            example = self.paths[modes[unsupported[0]]]
            raise DataError(f"{example} has pixel format {unsupported[0]!r} (16-bit or floating point); save the images as 8-bit grey or RGB.")
        self.mode = "RGB" if any(CHANNELS[m] == 3 for m in modes) else "L"  # grey images join colour ones as RGB
        width, height = next(iter(sizes))
        self.shape = (CHANNELS[self.mode], height, width)  # of the first image; with image_size they may differ
        fits = len(self.paths) * int(np.prod(self.obs_shape)) <= CACHE_BYTES
        # pages of the cache are only touched, and so only use memory, once an image is decoded into them
        self.cache = np.empty((len(self.paths), *self.obs_shape), dtype=np.uint8) if fits else None
        self.decoded = np.zeros(len(self.paths), dtype=bool)

    def read(self, rows: np.ndarray) -> np.ndarray:
        """With the cache, one gather from it once the rows not yet decoded are (each once, in storage order)."""
        if self.cache is None:
            return super().read(rows)
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        missing = np.unique(rows[~self.decoded[rows]])
        self.cache[missing] = self._decode(missing)
        self.decoded[missing] = True
        return self.cache[rows]

    def _read(self, rows: np.ndarray) -> np.ndarray:
        return self._decode(rows)  # no cache: read() asks for each image once

    def _decode(self, rows: np.ndarray) -> np.ndarray:
        from PIL import Image

        self.images_read += len(rows)
        out = np.empty((len(rows), *self.obs_shape), dtype=np.uint8)
        for k, row in enumerate(rows):
            with Image.open(self.paths[row]) as image:
                image = image.convert(self.mode)
                if self.image_size is not None and image.size != (self.image_size, self.image_size):
                    image = image.resize((self.image_size, self.image_size), Image.BILINEAR)
                pixels = np.asarray(image)
            out[k] = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
        return out

    def content_files(self) -> list[Path]:
        return self.paths


def _layout(shape: tuple[int, ...], source: str) -> str:
    """``"NHW"``, ``"NHWC"`` or ``"NCHW"`` for an images array of ``shape``."""
    if len(shape) == 3:
        return "NHW"
    if len(shape) == 4:
        last, second = shape[3] in (1, 3), shape[1] in (1, 3)
        if last != second:
            return "NHWC" if last else "NCHW"
        if last and shape[1:3] != shape[2:4]:
            raise DataError(f"{source}: images of shape {shape} could be [N, H, W, C] or [N, C, H, W]; store them as [N, H, W, C].")
        if last:
            return "NHWC"
    raise DataError(f"{source}: images must be [N, H, W], [N, H, W, C] or [N, C, H, W] with 1 or 3 channels, got shape {shape}.")


class ImageArray(ImageSource):
    """Rows of an ``images`` array: a numpy memory map or array, or an h5py dataset (read lazily)."""

    def __init__(self, array: Any, file: Path, source: str, image_size: int | None = None) -> None:
        super().__init__(image_size)
        dtype = np.dtype(array.dtype)
        if dtype not in (np.uint8, np.bool_):
            fix = " convert them to uint8 (0-255)"
            if dtype.kind == "f":
                unit = float(np.nanmax(np.asarray(array[: min(len(array), 64)]))) <= 1.0
                fix = " scale them with (x * 255).round().astype(np.uint8)" if unit else " they are 0-255 already: x.clip(0, 255).round().astype(np.uint8)"
            raise DataError(f"{source}: images must be uint8 (0-255), got {dtype};{fix}.")
        self.array, self.file, self.layout = array, file, _layout(tuple(array.shape), source)
        self.scale = 255 if dtype == np.bool_ else 1
        n, *rest = array.shape
        self.length = n
        if self.layout == "NHW":
            self.shape = (1, *rest)
        elif self.layout == "NHWC":
            self.shape = (rest[2], rest[0], rest[1])
        else:
            self.shape = tuple(rest)

    def _read(self, rows: np.ndarray) -> np.ndarray:
        self.images_read += len(rows)
        block = np.asarray(self.array[rows])  # increasing unique rows: what h5py's fancy indexing needs
        if self.layout == "NHW":
            block = block[..., None]
        elif self.layout == "NCHW":
            block = block.transpose(0, 2, 3, 1)
        block = np.ascontiguousarray(block, dtype=np.uint8) * np.uint8(self.scale)  # [n, H, W, C]
        if self.image_size is not None and block.shape[1:3] != (self.image_size, self.image_size):
            block = resize_images(block, self.image_size)
        return block.transpose(0, 3, 1, 2)

    def content_files(self) -> list[Path]:
        return [self.file]


def npz_member(path: Path, key: str) -> np.ndarray:
    """Array ``key`` of an ``.npz``: memory-mapped if the member is stored uncompressed, else loaded."""
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo(f"{key}.npy")
    except (zipfile.BadZipFile, OSError) as e:
        raise DataError(f"{path} is not a readable .npz file ({e}); write it with numpy.savez.") from None
    except KeyError:
        with zipfile.ZipFile(path) as archive:
            keys = sorted(n.removesuffix(".npy") for n in archive.namelist())
        raise DataError(f"{path} has no array {key!r}; it needs {' and '.join(map(repr, ARRAY_KEYS))} (found: {', '.join(keys) or 'none'}).") from None
    if info.compress_type == zipfile.ZIP_STORED:
        with path.open("rb") as f:
            f.seek(info.header_offset)
            name_length, extra_length = struct.unpack("<HH", f.read(30)[26:30])  # the local file header's last two fields
            f.seek(info.header_offset + 30 + name_length + extra_length)
            version = np.lib.format.read_magic(f)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read_header(f)
            if not dtype.hasobject:
                array = np.memmap(path, dtype=dtype, mode="r", shape=shape, offset=f.tell(), order="F" if fortran else "C")
                advise_random_access(array)
                return array
    with np.load(path, allow_pickle=False) as archive:
        return archive[key]
