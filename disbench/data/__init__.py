"""Ground-truth datasets: synthetic ones rendered on the fly, stored ones downloaded once, yours from files.

``make_dataset(name, **kwargs)`` builds any of them by name; classes are imported lazily.
Whether a dataset is stored follows from its class (``GroundTruthData.stored``).
"""

from __future__ import annotations

from typing import Any

from disbench.data.base import GroundTruthData
from disbench.data.files import FileData, IncompleteGrid, from_files
from disbench.entry_points import load_entry_point
from disbench.error import DataError, did_you_mean

DATASETS: dict[str, str] = {
    "xysquares": "disbench.data.xysquares:XYSquares",
    "xcolumns": "disbench.data.xysquares:XColumns",
    "xyobject": "disbench.data.xyobject:XYObject",
    "xyobject-shaded": "disbench.data.xyobject:XYObjectShaded",
    "xyblocks": "disbench.data.xyblocks:XYBlocks",
    "dsprites": "disbench.data.dsprites:DSprites",
    "shapes3d": "disbench.data.shapes3d:Shapes3D",
    "cars3d": "disbench.data.cars3d:Cars3D",
    "smallnorb": "disbench.data.smallnorb:SmallNORB",
    "mpi3d": "disbench.data.mpi3d:MPI3D",
    "files": "disbench.data.files:FileData",  # your own data: disbench.data.from_files
}


def dataset_class(name: str) -> type[GroundTruthData]:
    if name not in DATASETS:
        raise DataError(f"Unknown dataset {name!r}.{did_you_mean(name, DATASETS, n=2)} Known datasets: {', '.join(DATASETS)}.")
    return load_entry_point(DATASETS[name])


def is_stored(name: str) -> bool:
    """Whether the dataset is downloaded (True) or generated on the fly (False)."""
    return dataset_class(name).stored


def stored_datasets() -> list[str]:
    """Names of the datasets that are downloaded once into the cache folder."""
    return [name for name in DATASETS if is_stored(name)]


def make_dataset(name: str, /, **kwargs: Any) -> GroundTruthData:
    """Build a dataset by name; keyword arguments go to its constructor."""
    cls = dataset_class(name)
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise DataError(f"Bad arguments for dataset {name!r}: {e}.") from e


def stored_dataset(name: str, root: str | None = None, **kwargs: Any) -> GroundTruthData:
    """A stored dataset by name, with a clear error for a synthetic one."""
    if name in DATASETS and not is_stored(name):
        raise DataError(f"{name!r} is generated on the fly and needs no download; stored datasets are {', '.join(stored_datasets())}.")
    if name not in DATASETS:
        raise DataError(f"Unknown dataset {name!r}.{did_you_mean(name, stored_datasets(), n=2)} Stored datasets are {', '.join(stored_datasets())}.")
    return make_dataset(name, root=root, **kwargs)


def stored_variants(root: str | None = None) -> list[GroundTruthData]:
    """Every configuration of every stored dataset (e.g. each MPI3D subset), for status listings."""
    return [make_dataset(name, root=root, **kwargs) for name in stored_datasets() for kwargs in dataset_class(name).variants()]


__all__ = [
    "DATASETS", "FileData", "GroundTruthData", "IncompleteGrid", "from_files", "dataset_class", "is_stored", "make_dataset", "stored_dataset", "stored_datasets", "stored_variants",
]
