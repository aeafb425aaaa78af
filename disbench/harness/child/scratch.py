"""The child's scratch folder, where model files and the child's output cross the process boundary.

The folder belongs to the submission's user, so what a name there points to is the child's choice:
a symlink to a host file, a FIFO, a hard link, a sparse file of a terabyte, or a file swapped for
another between the harness's check and its use. The harness (root, in the host's mount namespace)
therefore never opens a path there: it holds the folder open, opens names relative to it without
following links, checks what it opened (``fstat``), and copies through that descriptor; a file it
hands in is created fresh (``O_EXCL``), never written through whatever the child left under the name.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from disbench.error import SubmissionError
from disbench.files import atomic_path

CHUNK = 1 << 20


class Scratch:
    """A scratch folder held open; ``close()`` releases it (the caller removes the folder)."""

    def __init__(self, path: Path, max_file_bytes: int) -> None:
        self.path, self.max_file_bytes = path, max_file_bytes
        self._fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)

    def take(self, name: str, destination: str | os.PathLike[str]) -> None:
        """Move the regular file ``name`` the child wrote to ``destination`` (atomically), or
        raise ``SubmissionError`` saying what the child left there instead."""
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=self._fd)
        except FileNotFoundError:
            raise SubmissionError("The submission process said it saved the model but wrote no model file.") from None
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise SubmissionError(f"The submission process left a symbolic link as its model file ({name}); it must write the file itself.") from None
            raise
        with os.fdopen(fd, "rb") as source:
            found = os.fstat(fd)
            if not stat.S_ISREG(found.st_mode) or found.st_nlink != 1:
                raise SubmissionError(f"The submission process left something other than a plain file as its model file ({name}: "
                                      f"{'a hard link' if stat.S_ISREG(found.st_mode) else 'not a regular file'}).")
            if found.st_size > self.max_file_bytes:
                raise SubmissionError(self._too_big(found.st_size))
            with atomic_path(destination) as tmp, tmp.open("wb") as out:
                copied = 0
                while chunk := source.read(CHUNK):  # the child may still append: stop at the limit, whatever fstat said
                    copied += len(chunk)
                    if copied > self.max_file_bytes:
                        raise SubmissionError(self._too_big(copied))
                    out.write(chunk)
        self.discard(name)

    def give(self, source: str | os.PathLike[str], name: str) -> Path:
        """Copy ``source`` (a harness file) in as a new file ``name`` the child can read; its path."""
        self.discard(name)
        try:
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=self._fd)
        except FileExistsError:
            raise SubmissionError(f"The submission process put something at {name} while the harness was handing it the model; nothing was written.") from None
        with os.fdopen(fd, "wb") as out, open(source, "rb") as data:
            while chunk := data.read(CHUNK):
                out.write(chunk)
        return self.path / name

    def discard(self, name: str) -> None:
        try:
            os.unlink(name, dir_fd=self._fd)
        except FileNotFoundError:
            pass
        except IsADirectoryError:
            raise SubmissionError(f"The submission process made a folder at {name}, where the harness exchanges model files.") from None

    def close(self) -> None:
        try:
            os.close(self._fd)
        except OSError:
            pass

    def _too_big(self, size: int) -> str:
        return (f"The submission's model file is over {size / 2**30:.2f} GiB, above the harness's limit of "
                f"{self.max_file_bytes / 2**30:.0f} GiB (Limits.file_bytes); nothing was kept.")
