"""Run a submission on a task: its code in a child process, everything else in the harness."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import disbench
from disbench.data.base import DeviceLike
from disbench.harness.child.remote import Limits, RemoteLearner
from disbench.harness.pack.remote import RemotePack
from disbench.harness.pack.train import run_packed_training
from disbench.harness.record import DEFAULT_RESULTS_DIR, RunResult, SubmissionRecord
from disbench.harness.run.folder import run_dir
from disbench.harness.run.train import default_device, run_training
from disbench.harness.submission import Submission
from disbench.protocol import Protocol
from disbench.task import Task


def submission_record(submission: Submission, task_id: str) -> SubmissionRecord:
    """What a record says about the submission's code: name, version, content hash, hyperparameters."""
    return SubmissionRecord(
        name=submission.name,
        version=submission.config.version,
        content_hash=submission.content_hash(),
        supervision=submission.config.supervision,
        hyperparameters=submission.hyperparameters(task_id),
    )


def run_submission(
    submission: Submission | str | Path,
    task_id: str,
    seed: int = 0,
    protocol: str = "quick",
    device: DeviceLike = None,
    resume: bool = False,
    overwrite: bool = False,
    results_dir: str | Path | None = DEFAULT_RESULTS_DIR,
    runs_dir: str | Path = "runs",
    progress: bool = True,
    limits: Limits | None = None,
    notify: Callable[[str], None] | None = None,
    seal: bool | int | None = True,
    **options,
) -> RunResult:
    """Train and score one seed of a submission folder; the record goes to ``results_dir``.

    The submission's code runs only in its child process (``RemoteLearner``); this process renders
    the observations (on the CPU, into memory shared with the child), computes the metrics and
    writes the record. ``notify`` receives one line per ``build()`` default that submission.toml
    overrides (as the child found them; the harness never imports the submission). The run sees the
    runner's secret variant of the task (``seal=True``, see ``run/seal.py``); an int replays a
    record's seal, ``None`` gives the public task (a record ``disbench sign`` refuses).
    """
    submission, task, tier, record = _resolve(submission, task_id, protocol)
    out = run_dir(runs_dir, task.id, submission.name, tier.name, seed)

    def make_learner(dev):
        learner = RemoteLearner(submission.path, task, tier, seed, record.hyperparameters, device=dev, limits=limits or Limits(), log_path=out / "child.log")
        return _announced(learner, notify)

    return run_training(task, make_learner, seed, tier, default_device() if device is None else device, out, submission=record,
                        submission_path=submission.path, results_dir=results_dir, resume=resume, overwrite=overwrite, progress=progress,
                        data_device="cpu", seal=seal, **options)


def run_packed_submission(
    submission: Submission | str | Path,
    task_id: str,
    seeds: Sequence[int],
    protocol: str = "quick",
    device: DeviceLike = None,
    resume: bool = False,
    overwrite: bool = False,
    results_dir: str | Path | None = DEFAULT_RESULTS_DIR,
    runs_dir: str | Path = "runs",
    progress: bool = True,
    limits: Limits | None = None,
    notify: Callable[[str], None] | None = None,
    seal: bool | int | None = True,
    **options,
) -> list[RunResult | None]:
    """Train and score ``seeds`` of a submission packed: one child process trains one model per seed
    as one batched computation (``RemotePack``); each seed gets the run folder, checkpoints and
    record its solo run (:func:`run_submission`) would, to numerical tolerance. Returns one record
    per seed (a failed one for a seed whose loss became non-finite; the others still finish).
    """
    submission, task, tier, record = _resolve(submission, task_id, protocol)
    outs = [run_dir(runs_dir, task.id, submission.name, tier.name, seed) for seed in seeds]

    def make_pack(dev, pack_seeds):
        log = outs[list(seeds).index(pack_seeds[0])] / "child.log"  # the pack's child logs into its first seed's folder
        pack = RemotePack(submission.path, task, tier, pack_seeds, record.hyperparameters, device=dev, limits=limits or Limits(), log_path=log)
        return _announced(pack, notify)

    return run_packed_training(task, make_pack, seeds, tier, default_device() if device is None else device, outs, submission=record,
                               submission_path=submission.path, results_dir=results_dir, resume=resume, overwrite=overwrite, progress=progress,
                               data_device="cpu", seal=seal, **options)


def _resolve(submission: Submission | str | Path, task_id: str, protocol: str) -> tuple[Submission, Task, Protocol, SubmissionRecord]:
    """The submission folder, the task, its tier, and what a record says about the submission."""
    if not isinstance(submission, Submission):
        submission = Submission(submission)
    task = disbench.make(task_id)
    return submission, task, task.get_protocol(protocol), submission_record(submission, task.id)


def _announced(learner: RemoteLearner, notify: Callable[[str], None] | None) -> RemoteLearner:
    """``learner``, once ``notify`` has had each build() default that submission.toml overrides."""
    for line in learner.overridden_defaults if notify else ():
        notify(line)
    return learner
