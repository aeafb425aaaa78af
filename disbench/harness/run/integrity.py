"""The harness's own code, checked: what it runs after a child has run is what it ran before.

A child that could write into the installed package (or drop a ``.pth`` file into
site-packages) would have its code run by the harness, which holds the results and, at sign time,
the key. Three things stop that: the sandbox makes all of it read-only to the child; the harness
imports every module it will need before the child starts (:func:`preload`), so nothing is
imported afterwards; and :func:`code_digest`, taken when a run starts and again before its record
is written, fails the run if anything changed. The digest goes into the record, and ``disbench
sign`` signs only records made by code whose digest equals its own.
"""

from __future__ import annotations

import hashlib
import importlib
import site
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2]
# what a run imports after its child has started: the metric suite, the curve, the pictures, the bars
LATE_MODULES = ("disbench.metrics", "disbench.metrics.suites", "disbench.viz.traversals", "tqdm.auto", "matplotlib.pyplot")


def startup_files() -> list[Path]:
    """Files Python runs at every start: ``.pth`` files and ``sitecustomize``/``usercustomize``."""
    files: list[Path] = []
    for folder in dict.fromkeys([*site.getsitepackages(), site.getusersitepackages(), *sys.path]):
        path = Path(folder)
        if path.is_dir():
            files += sorted(path.glob("*.pth"))
            files += [path / f"{name}.py" for name in ("sitecustomize", "usercustomize") if (path / f"{name}.py").is_file()]
    return list(dict.fromkeys(files))


def code_digest() -> str:
    """sha256 over every ``.py`` file of the disbench package and every Python start-up file."""
    digest = hashlib.sha256()
    for file in sorted(PACKAGE.rglob("*.py")) + startup_files():
        digest.update(str(file).encode() + b"\0")
        try:
            digest.update(file.read_bytes() + b"\0")
        except OSError:
            digest.update(b"<unreadable>\0")
    return digest.hexdigest()


def preload() -> None:
    """Import now what a run would import after its child started."""
    for name in LATE_MODULES:
        importlib.import_module(name)
