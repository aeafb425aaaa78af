"""Training under a fixed protocol: the harness owns data, loss, budget, seed and evaluation.

``train`` runs one seed of one method on one task, top to bottom:

1. check everything that can fail before training: the seed, the supervision track, the run
   and results folders (writable, not in use by another run), the representation's contract;
2. seed everything (data generator, model noise), move the task and model to the device, and
   resume from ``checkpoint.pt`` if asked (model, optimiser and every random state);
3. ``fit`` the protocol's steps (``loop.py``);
4. score the representation with the protocol's metric suite and write the result record,
   then draw the latent traversals (a failed picture never costs the scores).

A non-finite loss stops the run, names the step, keeps the last good checkpoint and records the
run as failed; so does a failure during evaluation.
"""

from __future__ import annotations

import os
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

import torch

from disbench.data.base import DeviceLike
from disbench.error import SubmissionError, TrainingError
from disbench.files import sha256_file
from disbench.harness.checkpoint import capture_rng, load_checkpoint, restore_rng, save_checkpoint
from disbench.harness.evaluation import CHANNELS_LAST, check_representation, evaluate_method
from disbench.harness.loop import NonFiniteLoss, TrainState, fit
from disbench.harness.record import DEFAULT_RESULTS_DIR, RunResult, SubmissionRecord, build_record, record_path, write_record
from disbench.harness.run_folder import RunFolder, check_writable, run_dir
from disbench.harness.signing import KEY_ENV, load_private_key, sign
from disbench.methods.base import Method
from disbench.task import Task


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def train(
    task: Task,
    method: Method,
    seed: int = 0,
    protocol: str | Any = "standard",
    device: DeviceLike = None,
    out_dir: str | Path | None = None,
    *,
    submission: SubmissionRecord | None = None,
    submission_path: str | Path | None = None,
    results_dir: str | Path | None = DEFAULT_RESULTS_DIR,
    resume: bool = False,
    overwrite: bool = False,
    log_every: int = 50,
    checkpoint_every: int = 1000,
    progress: bool = True,
    evaluate: bool = True,
) -> RunResult | None:
    """Train ``method`` on ``task`` for one seed under ``protocol`` and return its result record
    (``None`` with ``evaluate=False``: train and checkpoint only, no record).

    ``resume`` continues from ``out_dir/checkpoint.pt``; ``overwrite`` deletes a previous run there.
    ``out_dir`` (default ``runs/<task>/<name>/<protocol>/seed-<n>``) receives ``checkpoint.pt``,
    ``curves.jsonl``, ``traversals.png`` and ``result.json``. With ``submission`` (what the
    record says about the code), the record also goes to
    ``results_dir/<task>/<submission>/<protocol>/seed-<n>.json`` with its picture beside it.
    """
    protocol = task.get_protocol(protocol)
    device = default_device() if device is None else torch.device(device)
    if not isinstance(seed, int) or seed < 0:
        raise TrainingError(f"A seed must be a non-negative integer, got {seed!r}.")
    if method.supervision not in protocol.supervision:
        raise SubmissionError(f"Protocol {protocol.name!r} of {task.id} has no {method.supervision!r} track; it allows {protocol.supervision}.")
    submission = submission or SubmissionRecord(
        name=type(method).__name__.lower(), version="unversioned", content_hash=None, supervision=method.supervision, hyperparameters={}
    )
    folder = RunFolder(out_dir if out_dir is not None else run_dir("runs", task.id, submission.name, protocol.name, seed))
    published = None
    if submission.content_hash is not None and results_dir is not None:
        published = record_path(results_dir, task.id, submission.name, protocol.name, seed)
        check_writable(published.parent, "results folder")

    with folder.lock():
        folder.prepare(resume, overwrite)
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        task.to(device)
        method.to(device=device, memory_format=CHANNELS_LAST)
        check_representation(task, method, protocol)
        optimizer = method.configure_optimizer(protocol.lr)
        state = TrainState()
        if resume and folder.has_run():
            saved = load_checkpoint(folder.checkpoint, map_location=device)
            method.load_state_dict(saved["model"])
            optimizer.load_state_dict(saved["optimizer"])
            restore_rng(generator, saved["rng"])
            state = TrainState(step=saved["step"], elapsed=saved["elapsed"])
            folder.truncate_curves(state.step)

        def save() -> None:
            save_checkpoint(folder.checkpoint, {
                "model": method.state_dict(), "optimizer": optimizer.state_dict(), "rng": capture_rng(generator),
                "step": state.step, "elapsed": state.elapsed, "seed": seed, "task_spec": task.spec.to_dict() if task.spec else None,
                "protocol": protocol.to_dict(), "submission": submission.model_dump(),
                "submission_path": str(submission_path) if submission_path else None, "hyperparameters": submission.hyperparameters,
            })

        def record(metrics: dict[str, float], eval_time: float = 0.0, error: str | None = None) -> RunResult:
            result = build_record(task, protocol, seed, submission, metrics, steps=state.step, elapsed=state.elapsed, eval_time=eval_time,
                                  device=device, final_loss=state.final_loss if error is None else None,
                                  num_parameters=sum(p.numel() for p in method.parameters()), error=error,
                                  optimizer_overridden=type(method).configure_optimizer is not Method.configure_optimizer,
                                  checkpoint_sha256=sha256_file(folder.checkpoint) if folder.has_run() else None)
            if os.environ.get(KEY_ENV):  # the official runner: its records carry its signature
                result.signature = sign(result, load_private_key())
            write_record(result, folder.result)
            if published is not None:
                write_record(result, published)
            return result

        try:
            fit(task, method, optimizer, protocol, generator, folder, state, save, log_every=log_every, checkpoint_every=checkpoint_every,
                progress=progress, desc=f"{submission.name} {task.id} seed {seed}")
        except NonFiniteLoss as e:
            state.step = e.step - 1
            message = (f"The loss became non-finite (NaN or inf) at step {e.step}. The last good checkpoint "
                       f"({folder.checkpoint if folder.has_run() else 'none yet'}) is kept; lower the learning rate "
                       "or check the model for numerical problems.")
            record({}, error=message)
            raise TrainingError(message) from None
        if not evaluate:
            return None

        started = time.perf_counter()
        try:
            metrics = evaluate_method(task, method, protocol, seed, progress=progress)
        except Exception as e:
            message = f"Evaluation failed after training ({type(e).__name__}: {e}); the checkpoint {folder.checkpoint} is kept: `disbench eval` re-scores it."
            record({}, error=message)
            raise TrainingError(message) from e
        result = record(metrics, eval_time=time.perf_counter() - started)
        _draw_traversals(task, method, folder, published, seed)
    return result


def _draw_traversals(task: Task, method: Method, folder: RunFolder, published: Path | None, seed: int) -> None:
    """Latent traversals next to the run (and next to its published record); the scores are
    already written, so a failure here only warns."""
    if not method.can_decode:
        return
    from disbench.viz.traversals import save_traversal_figure

    try:
        save_traversal_figure(task, method, folder.traversals, seed=seed)
        if published is not None:
            shutil.copyfile(folder.traversals, published.with_name(published.stem + ".traversals.png"))
    except Exception as e:  # noqa: BLE001 - pictures are a courtesy; the record is what counts
        warnings.warn(f"Could not draw latent traversals ({type(e).__name__}: {e}); the record is written and unaffected.", stacklevel=2)
