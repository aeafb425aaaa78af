"""Fetching dataset files: the cache folder, checksums, progress bars, no half-written files.

Every stored dataset lists its source files as :class:`Resource` rows (URL, file name, md5;
paper.md §7). ``fetch`` downloads into a ``.part`` file next to the target, checks the md5
while streaming, and only then renames the file into place, so an interrupted or corrupt
download never looks like a finished one.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from disbench.error import DownloadError
from disbench.files import atomic_path

CHUNK = 1 << 20


def data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The cache folder: ``root``, else ``$DISBENCH_DATA``, else ``$XDG_CACHE_HOME/disbench/data``."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get("DISBENCH_DATA")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "disbench" / "data"


@dataclass(frozen=True)
class Resource:
    """One file to download: where from, what to call it, and its md5 checksums."""

    url: str
    filename: str
    md5: str


def md5_file(path: str | os.PathLike[str]) -> str:
    """md5 of a whole file, read in 1 MiB blocks."""
    digest = hashlib.md5()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def is_valid(path: Path, resource: Resource) -> bool:
    """Whether ``path`` exists and matches the resource's full md5."""
    return path.is_file() and md5_file(path) == resource.md5


def fetch(resource: Resource, folder: str | os.PathLike[str], progress: bool = True, timeout: float = 60.0) -> Path:
    """Return ``folder/resource.filename``, downloading and verifying it first if needed.

    A file that is already there is kept if its md5 matches; otherwise it is downloaded
    again. Files placed there by hand (for machines without internet) are used as they are.
    """
    folder = Path(folder)
    target = folder / resource.filename
    if is_valid(target, resource):
        return target
    with atomic_path(target, suffix=".part") as part:
        digest = _download(resource.url, part, target, progress, timeout)
        if digest != resource.md5:
            raise DownloadError(
                f"Checksum mismatch for {resource.url}: expected md5 {resource.md5}, got {digest}. "
                f"The file was discarded; try again, or place a good copy at {target}."
            )
    return target


def _download(url: str, part: Path, target: Path, progress: bool, timeout: float) -> str:
    from tqdm.auto import tqdm

    digest = hashlib.md5()
    try:
        response = urllib.request.urlopen(url, timeout=timeout)
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise DownloadError(
            f"Could not download {url}: {getattr(e, 'reason', e)}. If this machine is offline, download the "
            f"file elsewhere and place it at {target} (same name), then run the command again."
        ) from e
    with response, part.open("wb") as out:
        total = response.headers.get("Content-Length")
        with tqdm(total=int(total) if total else None, unit="B", unit_scale=True, desc=target.name, disable=not progress) as bar:
            for block in iter(lambda: response.read(CHUNK), b""):
                out.write(block)
                digest.update(block)
                bar.update(len(block))
    return digest.hexdigest()
