"""Packed training under a fixed protocol: several seeds of one learner trained as one batched
computation, each seed a run of its own.

:func:`run_packed_training` is :func:`~disbench.harness.run.train.run_training` for a list of seeds:
every seed has its own run folder (locked for the whole pack), data generator, checkpoint pair,
``curves.jsonl``, protocol curve and record, written by its own
:class:`~disbench.harness.run.train.RunBook` exactly as a solo run writes them. Only the training
steps are shared: ``make_pack(device, seeds)`` starts one learner for all of them (for a
submission, :class:`~disbench.harness.pack.remote.RemotePack`: one child process).

A seed whose loss becomes non-finite gets its failed record (the step named, its last good
checkpoint kept) and leaves the pack; the others finish. A resumed pack whose members stopped at
different steps (a kill between two members' checkpoints) trains as one pack per step, one after
another, since a pack's members step together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import torch

from disbench.data.base import DeviceLike
from disbench.error import SubmissionError, TrainingError
from disbench.harness.record import DEFAULT_RESULTS_DIR, RunResult, SubmissionRecord
from disbench.harness.run.evaluation import load_run_state
from disbench.harness.run.folder import RunFolder, record_lock, run_dir
from disbench.harness.run.integrity import HarnessCode
from disbench.harness.run.loop import fit_pack
from disbench.harness.run.reuse import check_resumable, finished_record, publish
from disbench.harness.run.train import RunBook, check_device, check_no_key, check_seed, default_device, published_path
from disbench.task import Task

PackFactory = Callable[[torch.device, list[int]], Any]


def run_packed_training(
    task: Task,
    make_pack: PackFactory,
    seeds: Sequence[int],
    protocol: str | Any,
    device: DeviceLike = None,
    out_dirs: Sequence[str | Path] | None = None,
    *,
    submission: SubmissionRecord,
    submission_path: str | Path | None = None,
    results_dir: str | Path | None = DEFAULT_RESULTS_DIR,
    resume: bool = False,
    overwrite: bool = False,
    log_every: int = 50,
    checkpoint_every: int = 1000,
    progress: bool = True,
    evaluate: bool = True,
    data_device: DeviceLike = None,
    seal: bool | int | None = None,
) -> list[RunResult | None]:
    """Train ``seeds`` packed under ``protocol``; one record per seed, in order (completed or
    failed; ``None`` for a seed that trained to the end with ``evaluate=False``).

    The options are :func:`~disbench.harness.run.train.run_training`'s, per seed (each seed's seal is
    its solo run's); ``out_dirs`` (default
    ``runs/<task>/<name>/<protocol>/seed-<n>``) gives each seed's run folder. Anything wrong before
    training (a seed, a folder, an unpackable method) raises for the whole pack, with nothing written;
    a submission that fails while training fails every seed still training, and raises.
    """
    protocol = task.get_protocol(protocol)
    device = check_device(default_device() if device is None else torch.device(device))
    seeds = [check_seed(seed) for seed in seeds]
    check_no_key()
    if not seeds or len(set(seeds)) != len(seeds):
        raise TrainingError(f"A pack needs distinct seeds, got {seeds}.")
    out_dirs = list(out_dirs) if out_dirs is not None else [run_dir("runs", task.id, submission.name, protocol.name, seed) for seed in seeds]
    code = HarnessCode.take()  # once for the pack: its seeds start together
    books = [RunBook(task, protocol, seed, RunFolder(out), published_path(task, protocol, seed, submission, results_dir), submission, submission_path,
                     device, code, seal)
             for seed, out in zip(seeds, out_dirs, strict=True)]
    with ExitStack() as locks:
        for book in books:
            locks.enter_context(book.folder.lock())
            locks.enter_context(record_lock(book.published))
        for book in books:
            book.result = finished_record(book.folder, protocol, book.seed, submission) if resume else None
        to_train = [book for book in books if book.result is None]  # a finished run is left as it is
        for book in to_train:
            book.folder.prepare(resume, overwrite)
            check_resumable(book.folder, resume, protocol, book.seed, submission)
        for book in books:  # every folder checked: only now is anything written
            if book.result is not None:
                publish(book.result, book.folder, book.published, protocol, submission)
        task.to(device if data_device is None else data_device)
        for group in resume_groups(to_train, resume):
            _train_pack(group, make_pack, resume, log_every, checkpoint_every, progress, evaluate)
    return [book.result for book in books]


def resume_groups(books: list[RunBook], resume: bool) -> list[list[RunBook]]:
    """The runs grouped by the step their checkpoints hold (all at 0 when not resuming), in order."""
    groups: dict[int, list[RunBook]] = {}
    for book in books:
        step = load_run_state(book.folder.checkpoint)["step"] if resume and book.folder.has_run() else 0
        groups.setdefault(step, []).append(book)
    return list(groups.values())


def _train_pack(books: list[RunBook], make_pack: PackFactory, resume: bool, log_every: int, checkpoint_every: int, progress: bool,
                evaluate: bool) -> None:
    """Train one pack whose runs start at the same step; each run's record ends in ``book.result``."""
    first = books[0]
    pack = make_pack(first.device, [book.seed for book in books])
    try:
        for k, book in enumerate(books):
            book.begin(pack.member(k), resume)
        desc = f"{first.submission.name} {first.task.id} seeds {' '.join(str(b.seed) for b in books)} (packed)"
        try:
            finished = fit_pack(pack, first.protocol, books, log_every=log_every, checkpoint_every=checkpoint_every,
                                progress=progress, desc=desc, score=evaluate)
        except SubmissionError as e:
            for book in books:
                if book.result is None:
                    book.record({}, error=f"During training: {e}")
            raise
        for book in finished if evaluate else ():
            book.finish(progress)
    finally:
        pack.close()
