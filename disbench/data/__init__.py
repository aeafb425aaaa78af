"""Ground-truth datasets: synthetic ones rendered on the fly, stored ones downloaded once.

``make_dataset(name, **kwargs)`` builds any of them by name; classes are imported lazily.
"""

from __future__ import annotations

import difflib
from typing import Any

from disbench.data.base import GroundTruthData
from disbench.error import DataError
from disbench.registry import load_entry_point

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
}
STORED = ("dsprites", "shapes3d", "cars3d", "smallnorb", "mpi3d")


def dataset_class(name: str) -> type[GroundTruthData]:
    if name not in DATASETS:
        close = difflib.get_close_matches(name, list(DATASETS), n=2)
        hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise DataError(f"Unknown dataset {name!r}.{hint} Known datasets: {', '.join(DATASETS)}.")
    return load_entry_point(DATASETS[name])


def make_dataset(name: str, **kwargs: Any) -> GroundTruthData:
    """Build a dataset by name; keyword arguments go to its constructor."""
    cls = dataset_class(name)
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise DataError(f"Bad arguments for dataset {name!r}: {e}.") from e


__all__ = ["DATASETS", "STORED", "GroundTruthData", "dataset_class", "make_dataset"]
