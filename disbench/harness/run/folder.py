"""One run's folder: ``runs/<task>/<submission>/<tier>/seed-<n>/``.

It holds ``checkpoint.pt`` (model, optimiser, random states), ``curves.jsonl`` (one row per
logging window), ``result.json`` (the record) and ``traversals.png``. While a run trains, the
folder is locked (``run.lock``, an ``flock`` held by the training process), so a second run of
the same task, submission, tier and seed fails at once with an error naming the first instead
of interleaving with it. The kernel drops the lock when its process dies, even by SIGKILL, so
a crashed run never blocks ``--resume``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from disbench.error import TrainingError
from disbench.files import writable_folder


@contextmanager
def hold(lock_file: Path, busy: str) -> Iterator[None]:
    """An ``flock`` on ``lock_file`` for the block, naming its holder inside; if another process
    holds it, a ``TrainingError`` of ``busy`` (with ``{holder}`` filled in) at once."""
    handle = lock_file.open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise TrainingError(busy.format(holder=handle.read().strip() or "another process")) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}, started {datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S} UTC\n")
        handle.flush()
        yield
    finally:
        handle.close()


def record_lock(record: Path | None) -> AbstractContextManager[None]:
    """Hold a published record's path for one run: two runs (from different run folders) writing the
    same record at once are refused. The lock lives in the temporary folder, never beside records."""
    if record is None:
        return nullcontext()
    folder = Path(tempfile.gettempdir()) / "disbench-locks"
    folder.mkdir(exist_ok=True)
    key = hashlib.sha256(str(record.resolve()).encode()).hexdigest()[:32]
    return hold(folder / f"{key}.lock", f"{record} is being written by another run that is still going ({{holder}}); wait for it to finish.")


def run_dir(runs_dir: str | Path, task_id: str, name: str, protocol: str, seed: int) -> Path:
    """Where a run's files live."""
    return Path(runs_dir) / task_id / name / protocol / f"seed-{seed}"


def check_writable(folder: str | Path, what: str) -> Path:
    """Create ``folder`` if needed and prove it writable now, before any training is spent."""
    return writable_folder(folder, what, TrainingError)


class RunFolder:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def checkpoint(self) -> Path:
        return self.path / "checkpoint.pt"

    @property
    def curves(self) -> Path:
        return self.path / "curves.jsonl"

    @property
    def result(self) -> Path:
        return self.path / "result.json"

    @property
    def traversals(self) -> Path:
        return self.path / "traversals.png"

    @property
    def lock_file(self) -> Path:
        return self.path / "run.lock"

    def has_run(self) -> bool:
        return self.checkpoint.exists()

    def prepare(self, resume: bool, overwrite: bool) -> None:
        """Check the resume/overwrite choice against what the folder holds; clear it for ``overwrite``."""
        if resume and overwrite:
            raise TrainingError("resume and overwrite exclude each other: continue the run in the folder, or start it again.")
        if self.has_run() and not (resume or overwrite):
            raise TrainingError(f"{self.path} already holds a run; rerun with --resume to continue it (a finished run is left as it is) or --overwrite to start again (resume=True / overwrite=True in Python).")
        check_writable(self.path, "run folder")
        if overwrite:
            for child in self.path.iterdir():
                if child.name != self.lock_file.name:
                    shutil.rmtree(child) if child.is_dir() else child.unlink()

    def lock(self) -> AbstractContextManager[None]:
        """Hold the folder's lock for the block; fail at once if another process holds it."""
        check_writable(self.path, "run folder")
        return hold(self.lock_file, f"{self.path} is in use by a run that is still going ({{holder}}); wait for it to finish, or stop it and pass --resume.")

    def append_curve(self, row: dict[str, Any]) -> None:
        with self.curves.open("a") as f:
            f.write(json.dumps(row) + "\n")

    def truncate_curves(self, step: int) -> None:
        """Drop curve rows logged after the checkpoint a run resumes from."""
        if self.curves.exists():
            rows = [line for line in self.curves.read_text().splitlines() if line and json.loads(line)["step"] <= step]
            self.curves.write_text("".join(row + "\n" for row in rows))
