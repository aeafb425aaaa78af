"""Run a submission on a task: build its model under the seed, train, score, record."""

from __future__ import annotations

from pathlib import Path

import torch

import disbench
from disbench.data.base import DeviceLike
from disbench.harness.record import DEFAULT_RESULTS_DIR, RunResult, SubmissionRecord
from disbench.harness.run_folder import run_dir
from disbench.harness.submission import Submission
from disbench.harness.train import train
from disbench.methods.base import Method, TaskInfo


def submission_record(submission: Submission, task_id: str) -> SubmissionRecord:
    """What a record says about the submission's code: name, version, content hash, hyperparameters."""
    return SubmissionRecord(
        name=submission.name,
        version=submission.config.version,
        content_hash=submission.content_hash(),
        supervision=submission.config.supervision,
        hyperparameters=submission.hyperparameters(task_id),
    )


def build_seeded(submission: Submission, task: disbench.Task, protocol: str, seed: int) -> Method:
    """The submission's model, initialised from ``seed`` (same seed, same initial weights)."""
    torch.manual_seed(seed)
    return submission.build(TaskInfo.from_task(task, protocol))


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
) -> RunResult:
    """Train and score one seed of a submission folder; the record goes to ``results_dir``."""
    if not isinstance(submission, Submission):
        submission = Submission(submission)
    task = disbench.make(task_id)
    method = build_seeded(submission, task, protocol, seed)
    return train(task, method, seed=seed, protocol=protocol, device=device, out_dir=run_dir(runs_dir, task.id, submission.name, protocol, seed),
                 submission=submission_record(submission, task.id), submission_path=submission.path, results_dir=results_dir,
                 resume=resume, overwrite=overwrite, progress=progress)
