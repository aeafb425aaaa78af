"""Atomic file writes: a reader (or a crash) never sees half a file.

Everything disbench writes that someone else later trusts (records, checkpoints, converted
datasets, manifests, downloads) goes through :func:`atomic_path`: the content is written to a
temporary file in the same folder, which replaces the target in one ``os.replace`` only once it
is complete, and is removed if writing fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BYTECODE = (".pyc", ".pyo")
UNREVIEWABLE = (*BYTECODE, ".so", ".pyd", ".dylib", ".pth")


def runs_unreviewed(relative: str) -> bool:
    """Whether Python runs this file (a posix path) without anyone having read its source:
    bytecode, native extensions, ``.pth`` start-up files. Never accepted into the repository."""
    return "__pycache__" in relative.split("/") or relative.lower().endswith(UNREVIEWABLE)


@contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` if the block succeeds,
    delete it if the block raises. The folder is created if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}{suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def create_once(path: str | os.PathLike[str], content: bytes) -> None:
    """Make ``path`` (mode 0600) holding ``content`` unless it exists; never replace it, and never let a
    reader see it part-written: the bytes go to a private temporary file first, which is then hard-linked
    into place (a link fails if the name exists). Processes racing to make it all end with the first one's."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process made it first: theirs stands
    finally:
        os.unlink(temporary)


def writable_folder(folder: str | os.PathLike[str], what: str, error: type[Exception] = OSError) -> Path:
    """Create ``folder`` if needed and prove it writable now, before any work is spent on what goes
    into it; else ``error`` naming the folder, the reason and the fix."""
    folder = Path(folder)
    blocker = _file_in_the_way(folder)
    if blocker is not None:
        where = "is a file" if blocker == folder else f"cannot be made: {blocker} is a file"
        raise error(f"The {what} {folder} {where}, not a folder; give a folder's path (it is made if missing).")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".disbench-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise error(f"The {what} {folder} is not writable ({e.strerror or e}); choose another folder or fix its permissions.") from None
    return folder


def missing_folder(path: str | os.PathLike[str]) -> str:
    """Why ``path`` (not a folder) cannot be read as one, for a message: "is a file, not a folder" or "does not exist"."""
    return "is a file, not a folder" if Path(path).exists() else "does not exist"


def existing_folder(path: str | os.PathLike[str], what: str, fix: str, error: type[Exception] = OSError) -> Path:
    """``path`` if it is a folder to read from; else ``error``: "<what> <path> does not exist (or is a file, not a folder); <fix>"."""
    if not Path(path).is_dir():
        raise error(f"{what} {path} {missing_folder(path)}; {fix}")
    return Path(path)


def writable_file(path: str | os.PathLike[str], what: str, suffixes: tuple[str, ...], error: type[Exception] = OSError) -> Path:
    """Prove now that ``path`` can be written later: a file's name ending in one of ``suffixes`` (the writers add a
    missing one themselves, so the file written would not be the one named), not a folder, in a folder that is (or
    can be made) writable; else ``error`` naming the path and the fix."""
    path = Path(path)
    if path.is_dir():
        raise error(f"The {what} {path} is a folder; give a file's path, e.g. {path / ('out' + suffixes[0])}.")
    if path.suffix.lower() not in suffixes:
        endings = f"the ending {suffixes[0]}" if len(suffixes) == 1 else f"one of the endings {', '.join(suffixes)}"
        raise error(f"The {what} {path} needs {endings}: e.g. {path.with_name(path.stem + suffixes[0])}.")
    writable_folder(path.parent, f"folder of the {what}", error)
    return path


def _file_in_the_way(folder: Path) -> Path | None:
    """The nearest existing path at or above ``folder`` when it is not a folder (so ``folder`` cannot be one), else None."""
    for path in (folder, *folder.parents):
        try:
            if path.exists():
                return None if path.is_dir() else path
        except OSError:  # a name the system refuses: mkdir says why
            return None
    return None


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_json_atomic(path: str | os.PathLike[str], payload: Any) -> Path:
    """``payload`` as indented, key-sorted JSON with a final newline."""
    return write_text_atomic(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")


def hash_into(digest: Any, path: str | os.PathLike[str]) -> None:
    """Feed a file's bytes to ``digest`` (a ``hashlib`` object) in 1 MiB blocks: never the whole file in memory."""
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    hash_into(digest, path)
    return digest.hexdigest()
