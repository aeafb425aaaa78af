"""The harness's own code, checked: what it runs after a child has run is what it ran before.

A child that could write into the installed package (or drop a ``.pth`` file into
site-packages) would have its code run by the harness, which holds the results and, at sign time,
the key. Three things stop that: the sandbox makes all of it read-only to the child; the harness
imports every module it will need before the child starts (:func:`preload`), so nothing is
imported afterwards; and :func:`code_digest`, taken when a run starts and again before its record
is written, fails the run if anything changed. The digest goes into the record, and ``disbench
sign`` signs only records made by code whose digest equals its own.

At start, :func:`code_check` also compares the package with what its installation says it is: the
wheel's RECORD hashes, or for a clone the git commit it is at. Its verdict goes into the record;
``disbench sign`` signs only code that matched.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import importlib.metadata
import site
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from disbench.files import runs_unreviewed

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


def code_check() -> str:
    """``"matches ..."`` when every ``.py`` file of the package is what its installation lists (an
    installed wheel's RECORD, else a clean git checkout at its commit), else what differs."""
    files = sorted(PACKAGE.rglob("*.py"))
    listed = wheel_hashes()
    if listed:
        changed = [f.relative_to(PACKAGE.parent).as_posix() for f in files if listed.get(f) != _record_hash(f)]
        return "matches the installed wheel's RECORD" if not changed else f"differs from the installed wheel's RECORD: {', '.join(changed[:5])}"
    try:
        git = ["git", "-C", str(PACKAGE.parent)]
        commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        changes = subprocess.run([*git, "status", "--porcelain", "--untracked-files=all", "--", PACKAGE.name], capture_output=True, text=True,
                                 timeout=10, check=True).stdout.splitlines()
        tracked = subprocess.run([*git, "ls-files", "--", PACKAGE.name], capture_output=True, text=True, timeout=10, check=True).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return "differs: neither an installed wheel nor a git checkout, so its files cannot be checked"
    compiled = [f for f in tracked if runs_unreviewed(f)]
    if compiled:
        return f"differs: git tracks compiled files that run instead of the reviewed source: {', '.join(compiled[:5])}"
    if changes:
        return f"differs from git commit {commit[:12]}: {', '.join(line[3:] for line in changes[:5])}" + (" ..." if len(changes) > 5 else "")
    return f"matches git commit {commit[:12]}"


def wheel_hashes() -> dict[Path, str]:
    """The sha256 (RECORD's encoding) of each package file an installed wheel lists; empty for an
    editable install, whose RECORD lists only its hook."""
    try:
        files = importlib.metadata.distribution("disbench").files or []
    except importlib.metadata.PackageNotFoundError:
        return {}
    listed = {Path(f.locate()).resolve(): f.hash.value for f in files if f.hash is not None and str(f).endswith(".py")}
    return {path: value for path, value in listed.items() if path.is_relative_to(PACKAGE)}


def _record_hash(file: Path) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(file.read_bytes()).digest()).rstrip(b"=").decode()


def preload() -> None:
    """Import now what a run would import after its child started."""
    for name in LATE_MODULES:
        importlib.import_module(name)


@dataclass(frozen=True)
class HarnessCode:
    """The harness's code as a run (or a whole pack) starts, taken once before any child runs: its
    digest, to compare with when each record is written, and its installation check."""

    sha256: str
    check: str

    @classmethod
    def take(cls) -> HarnessCode:
        preload()  # nothing is imported once a learner's child has run
        return cls(code_digest(), code_check())

    def changed(self) -> bool:
        """Whether any file of the package, or a Python start-up file, differs from when it was taken."""
        return code_digest() != self.sha256
