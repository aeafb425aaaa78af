"""Training under a fixed protocol: the harness owns data, loss, budget, seed and evaluation.

``train`` runs one seed of one method on one task, top to bottom:

1. seed everything (data generator, model noise), move the task and model to the device;
2. resume from ``checkpoint.pt`` if asked (model, optimiser and every random state);
3. loop over the protocol's steps: sample a batch (or weak pairs), ``method.loss``, Adam step;
   every ``log_every`` steps check that the losses were finite, append to ``curves.jsonl`` and,
   every ``checkpoint_every`` steps, save a checkpoint;
4. evaluate the representation with the protocol's metric suite, draw latent traversals, and
   write the result record.

A non-finite loss stops the run, names the step, keeps the last good checkpoint and records the
run as failed. Models and batches use the channels-last memory format, which is faster for
convolutions on CPUs and GPUs and changes no values.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from disbench.data.base import DeviceLike
from disbench.error import SubmissionError, TrainingError
from disbench.harness.checkpoint import capture_rng, load_checkpoint, restore_rng, save_checkpoint
from disbench.harness.environment import device_name, environment
from disbench.harness.record import (
    DEFAULT_RESULTS_DIR,
    ProtocolRecord,
    RunResult,
    SubmissionRecord,
    TaskRecord,
    TrainingRecord,
    record_path,
    write_record,
)
from disbench.methods.base import Method
from disbench.protocol import Protocol
from disbench.task import Batch, PairBatch, Task

CHANNELS_LAST = torch.channels_last


@dataclass
class SubmissionInfo:
    """What the record says about the code that was trained."""

    name: str
    version: str
    content_hash: str | None
    hyperparameters: dict[str, Any]
    path: str | None = None


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _batch(task: Task, method: Method, size: int, generator: torch.Generator) -> Batch | PairBatch:
    if method.supervision == "weak-pairs":
        pairs = task.sample_pairs(size, generator)
        return PairBatch(pairs.x0.contiguous(memory_format=CHANNELS_LAST), pairs.x1.contiguous(memory_format=CHANNELS_LAST), pairs.factors0, pairs.factors1)
    batch = task.sample(size, generator)
    return Batch(batch.x.contiguous(memory_format=CHANNELS_LAST), batch.factors)


def encoder_of(method: Method):
    """The encode function the metrics call: eval mode, channels-last inputs, no gradients."""

    def encode(x: torch.Tensor) -> torch.Tensor:
        return method.encode(x.contiguous(memory_format=CHANNELS_LAST))

    return encode


def evaluate_method(task: Task, method: Method, protocol: Protocol, seed: int) -> dict[str, float]:
    method.eval()
    return task.evaluate(encoder_of(method), seed=seed, protocol=protocol)


def check_latent_size(task: Task, method: Method, protocol: Protocol) -> int:
    """Encode one observation; the representation may not exceed the protocol's latent size."""
    method.eval()
    with torch.inference_mode():
        x = task.sample(2, torch.Generator().manual_seed(0)).x
        z = encoder_of(method)(x.to(next(method.parameters()).device))
    method.train()
    if z.ndim != 2 or z.shape[0] != 2:
        raise SubmissionError(f"encode(x) must return [N, D]; for N = 2 it returned shape {tuple(z.shape)}.")
    if z.shape[1] > protocol.latent_dim:
        raise SubmissionError(f"The representation has {z.shape[1]} dimensions; protocol {protocol.name!r} allows at most {protocol.latent_dim}.")
    return int(z.shape[1])


def _on_registered_tier(task: Task, protocol: Protocol) -> bool:
    return task.protocols.get(protocol.name) == protocol


def train(
    task: Task,
    method: Method,
    seed: int = 0,
    protocol: str | Protocol = "standard",
    device: DeviceLike = None,
    out_dir: str | Path | None = None,
    *,
    submission: SubmissionInfo | None = None,
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
    ``curves.jsonl``, ``traversals.png`` and ``result.json``. For a submission the record is also
    written to ``results_dir/<task>/<submission>/<protocol>/seed-<n>.json``.
    """
    from tqdm.auto import tqdm

    protocol = task.get_protocol(protocol)
    device = default_device() if device is None else torch.device(device)
    name = submission.name if submission else type(method).__name__.lower()
    out = Path(out_dir) if out_dir is not None else Path("runs") / task.id / name / protocol.name / f"seed-{seed}"
    checkpoint_path, curves_path = out / "checkpoint.pt", out / "curves.jsonl"
    if method.supervision not in protocol.supervision:
        raise SubmissionError(f"Protocol {protocol.name!r} of {task.id} has no {method.supervision!r} track; it allows {protocol.supervision}.")
    if resume and overwrite:
        raise TrainingError("resume and overwrite exclude each other: continue the run in the folder, or start it again.")
    if overwrite and out.exists():
        shutil.rmtree(out)
    if checkpoint_path.exists() and not resume:
        raise TrainingError(f"{out} already holds a run; pass resume=True (--resume) to continue it or overwrite=True (--overwrite) to start again.")

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    task.to(device)
    method.to(device=device, memory_format=CHANNELS_LAST)
    check_latent_size(task, method, protocol)
    optimizer = method.configure_optimizer(protocol.lr)
    step, elapsed = 0, 0.0
    if resume and checkpoint_path.exists():
        state = load_checkpoint(checkpoint_path, map_location=device)
        method.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        restore_rng(generator, state["rng"])
        step, elapsed = state["step"], state["elapsed"]
        _truncate_curves(curves_path, step)
    out.mkdir(parents=True, exist_ok=True)

    def checkpoint_payload() -> dict[str, Any]:
        return {
            "model": method.state_dict(), "optimizer": optimizer.state_dict(), "rng": capture_rng(generator),
            "step": step, "elapsed": elapsed, "seed": seed, "task_spec": task.spec.to_dict() if task.spec else None,
            "protocol": protocol.to_dict(), "submission": vars(submission) if submission else None,
        }

    method.train()
    window: list[torch.Tensor] = []
    logged: dict[str, torch.Tensor] = {}
    bar = tqdm(total=protocol.steps, initial=step, disable=not progress, desc=f"{name} {task.id} seed {seed}", unit="step")
    window_start, final_loss = time.perf_counter(), None
    try:
        while step < protocol.steps:
            terms = method.loss(_batch(task, method, protocol.batch_size, generator), task.recon_loss)
            loss = terms["loss"]
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            window.append(loss.detach())
            for key, value in terms.items():
                logged[key] = logged.get(key, 0.0) + value.detach()
            if step % log_every == 0 or step == protocol.steps:
                losses = torch.stack(window)
                bad = (~torch.isfinite(losses)).nonzero()
                if len(bad):
                    raise _NonFinite(step - len(window) + 1 + int(bad[0]))
                now = time.perf_counter()
                elapsed += now - window_start
                row = {"step": step, **{k: float(v) / len(window) for k, v in logged.items()}, "steps_per_s": len(window) / max(now - window_start, 1e-9)}
                final_loss = row["loss"]
                with curves_path.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                bar.update(len(window))
                bar.set_postfix(loss=f"{row['loss']:.4g}", refresh=False)
                window, logged = [], {}
                if step % checkpoint_every == 0 or step == protocol.steps:
                    save_checkpoint(checkpoint_path, checkpoint_payload())
                window_start = time.perf_counter()
    except _NonFinite as e:
        bar.close()
        message = (f"The loss became non-finite (NaN or inf) at step {e.step}. The last good checkpoint "
                   f"({checkpoint_path if checkpoint_path.exists() else 'none yet'}) is kept; lower the learning rate "
                   "or check the model for numerical problems.")
        record = _record(task, method, protocol, seed, submission, {}, step=e.step - 1, elapsed=elapsed, eval_time=0.0,
                         device=device, final_loss=None, error=message)
        _write(record, out, submission, results_dir, task, protocol, seed)
        raise TrainingError(message) from None
    bar.close()

    if not evaluate:
        return None
    started = time.perf_counter()
    metrics = evaluate_method(task, method, protocol, seed)
    eval_time = time.perf_counter() - started
    if method.can_decode:
        from disbench.viz.traversals import save_traversal_figure

        save_traversal_figure(task, method, out / "traversals.png", seed=seed)
    record = _record(task, method, protocol, seed, submission, metrics, step=step, elapsed=elapsed, eval_time=eval_time,
                     device=device, final_loss=final_loss, error=None)
    _write(record, out, submission, results_dir, task, protocol, seed)
    return record


class _NonFinite(Exception):
    def __init__(self, step: int) -> None:
        self.step = step


def _truncate_curves(path: Path, step: int) -> None:
    """Drop curve rows logged after the checkpoint we resume from."""
    if path.exists():
        rows = [line for line in path.read_text().splitlines() if line and json.loads(line)["step"] <= step]
        path.write_text("".join(row + "\n" for row in rows))


def _record(task, method, protocol, seed, submission, metrics, *, step, elapsed, eval_time, device, final_loss, error) -> RunResult:
    info = submission or SubmissionInfo(type(method).__name__.lower(), "unversioned", None, {})
    on_protocol = not task.off_protocol and info.content_hash is not None and _on_registered_tier(task, protocol) and error is None
    return RunResult(
        status="failed" if error else "completed",
        task=TaskRecord(id=task.id, spec=task.spec.to_dict() if task.spec else {}, off_protocol=task.off_protocol),
        protocol=ProtocolRecord(name=protocol.name, hash=protocol.hash(), config=protocol.to_dict()),
        submission=SubmissionRecord(name=info.name, version=info.version, content_hash=info.content_hash,
                                    supervision=method.supervision, hyperparameters=info.hyperparameters),
        seed=seed,
        metrics=metrics,
        training=TrainingRecord(steps=step, wall_time_s=elapsed, steps_per_s=step / elapsed if elapsed else 0.0, evaluation_time_s=eval_time,
                                device=device_name(device), final_loss=final_loss, num_parameters=sum(p.numel() for p in method.parameters())),
        environment=environment(),
        created=datetime.now(timezone.utc),
        on_protocol=on_protocol,
        error=error,
    )


def _write(record: RunResult, out: Path, submission, results_dir, task, protocol, seed) -> None:
    write_record(record, out / "result.json")
    if submission is not None and results_dir is not None:
        write_record(record, record_path(results_dir, task.id, submission.name, protocol.name, seed))
