"""Training under a fixed protocol: the harness owns data, loss, budget, seed and evaluation.

:func:`run_training` runs one seed of one learner on one task, top to bottom:

1. check everything that can fail before training: the seed, the run and results folders
   (writable, not in use by another run), the supervision track, the representation's contract;
2. seed the data generator, start the learner (for a submission: its child process), and resume
   from ``checkpoint.pt`` if asked;
3. ``fit`` the protocol's steps (``loop.py``), checkpointing as it goes and scoring the
   protocol's curve (the paper's periodic fast metrics) at its steps;
4. score the representation with the protocol's metric suite, here in the harness, and write the
   result record; then draw the latent traversals (a failed picture never costs the scores).

A non-finite loss, a failing or hanging submission, or a failure during evaluation stops the run
with a ``failed`` record that says why, and keeps the last good checkpoint. ``train`` is the same
for a ``Method`` object built in Python (it trains in this process; its records are off-protocol,
having no submission folder); submissions go through ``disbench.harness.run``. One run's
bookkeeping (folder, data generator, checkpoints, curve, records) is a :class:`RunBook`; packed
training (``pack_train.py``) keeps one per seed.

A checkpoint is two files: the learner's ``model-<step>.pt`` (model, optimiser, the method's random
state) and the harness's ``checkpoint.pt`` (step, time, the data generator, and which model file
with which sha256), written last, so a crash between the two leaves the previous pair intact.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from disbench.data.base import DeviceLike
from disbench.error import SubmissionError, TrainingError
from disbench.files import sha256_file
from disbench.harness.child.learner import Learner
from disbench.harness.record import DEFAULT_RESULTS_DIR, RunResult, SubmissionRecord, build_record, record_path, write_record
from disbench.harness.record.signing import KEY_ENV
from disbench.harness.run.checkpoint import optimizer_problem, save_checkpoint
from disbench.harness.run.evaluation import check_representation, evaluate_curve, evaluate_learner, load_run_state
from disbench.harness.run.folder import RunFolder, check_writable, record_lock, run_dir
from disbench.harness.run.integrity import HarnessCode
from disbench.harness.run.loop import NonFiniteLoss, TrainState, fit
from disbench.harness.run.reuse import check_resumable, finished_record, publish
from disbench.harness.run.seal import choose_seal, sealed
from disbench.methods.base import Method
from disbench.seeds import MAX_SEED
from disbench.task import Task

LearnerFactory = Callable[[torch.device], Any]


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def train(task: Task, method: Method, seed: int = 0, protocol: str | Any = "standard", device: DeviceLike = None,
          out_dir: str | Path | None = None, **options: Any) -> RunResult | None:
    """Train a ``Method`` object in this process (see :func:`run_training` for the options)."""
    tier = task.get_protocol(protocol)
    options.setdefault("submission", SubmissionRecord(name=type(method).__name__.lower(), version="unversioned", content_hash=None,
                                                      supervision=method.supervision, hyperparameters={}))

    def make_learner(dev: torch.device) -> Learner:
        torch.manual_seed(seed)  # the method's training noise starts from the seed
        return Learner(method, task.recon_loss, tier.lr, dev)

    return run_training(task, make_learner, seed, tier, device, out_dir, **options)


def run_training(
    task: Task,
    make_learner: LearnerFactory,
    seed: int,
    protocol: str | Any,
    device: DeviceLike = None,
    out_dir: str | Path | None = None,
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
) -> RunResult | None:
    """Train the learner ``make_learner(device)`` for one seed under ``protocol`` and return its
    record (``None`` with ``evaluate=False``: train and checkpoint only).

    ``resume`` continues from ``out_dir/checkpoint.pt``; ``overwrite`` deletes a previous run there.
    ``out_dir`` (default ``runs/<task>/<name>/<protocol>/seed-<n>``) receives the checkpoint,
    ``curves.jsonl``, ``traversals.png`` and ``result.json``. A record whose submission has a content
    hash also goes to ``results_dir/<task>/<name>/<protocol>/seed-<n>.json``, picture beside it.
    ``data_device`` is where observations are rendered (default: ``device``). ``seal`` picks the
    task variant the run sees (``seal.py``): ``True`` the runner's secret one, an int a replay of
    that seal seed, ``None`` the public task; a resumed run keeps the variant it started with.
    """
    protocol = task.get_protocol(protocol)
    device = check_device(default_device() if device is None else torch.device(device))
    check_seed(seed)
    check_no_key()
    folder = RunFolder(out_dir if out_dir is not None else run_dir("runs", task.id, submission.name, protocol.name, seed))
    published = published_path(task, protocol, seed, submission, results_dir)

    with folder.lock(), record_lock(published):
        if resume and (done := finished_record(folder, protocol, seed, submission)) is not None:
            publish(done, folder, published, protocol, submission)
            return done
        folder.prepare(resume, overwrite)
        check_resumable(folder, resume, protocol, seed, submission)
        book = RunBook(task, protocol, seed, folder, published, submission, submission_path, device, HarnessCode.take(), seal)
        task.to(device if data_device is None else data_device)
        learner = make_learner(device)
        try:
            return _train(book, learner, resume, log_every, checkpoint_every, progress, evaluate)
        finally:
            close = getattr(learner, "close", None)
            if close is not None:
                close()


def check_no_key() -> None:
    """Signing is a step of its own (``disbench sign``): the key is never in a training process tree."""
    if os.environ.get(KEY_ENV):
        raise TrainingError(f"{KEY_ENV} is set: the signing key must never be in the environment of a training run. "
                            f"Unset it for the run (env -u {KEY_ENV} disbench run ...), then sign its records in a separate step: disbench sign RECORD.")


def check_seed(seed: Any) -> int:
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        raise TrainingError(f"A seed must be an integer from 0 to {MAX_SEED:,}, got {seed!r}.")
    return seed


def check_device(device: torch.device | str) -> torch.device:
    """Refuse a CUDA device this machine does not have, before anything is locked or written (or a grid is planned)."""
    device = torch.device(device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise TrainingError(f"--device {device}: this machine has no usable CUDA GPU (torch {torch.__version__}, CUDA "
                                f"{torch.version.cuda or 'not built in'}); use --device cpu, or leave --device out to use a GPU when there is one.")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise TrainingError(f"--device {device}: this machine has {torch.cuda.device_count()} CUDA device(s), numbered from 0.")
    return device


def published_path(task: Task, protocol: Any, seed: int, submission: SubmissionRecord, results_dir: str | Path | None) -> Path | None:
    """Where a run's record is published (a submission with a content hash only), checked writable now."""
    if submission.content_hash is None or results_dir is None:
        return None
    path = record_path(results_dir, task.id, submission.name, protocol.name, seed)
    check_writable(path.parent, "results folder")
    return path


def _train(book: RunBook, learner: Any, resume: bool, log_every: int, checkpoint_every: int, progress: bool, evaluate: bool) -> RunResult | None:
    book.begin(learner, resume)
    try:
        fit(book.task, learner, book.protocol, book.generator, book.folder, book.state, book.save, log_every=log_every,
            checkpoint_every=checkpoint_every, progress=progress, desc=f"{book.submission.name} {book.task.id} seed {book.seed}",
            score=book.score if evaluate else None, supervision=book.submission.supervision)
    except NonFiniteLoss as e:
        raise TrainingError(book.fail(e.step).error) from None
    except SubmissionError as e:
        book.record({}, error=f"During training: {e}")
        raise
    except OSError as e:  # the harness could not write a checkpoint or a curve: its fault, not the submission's
        error = (f"The harness could not write to {book.folder.path} during training ({e.strerror or e}); this is not the submission's fault. "
                 "Free space or fix the folder, then continue with --resume.")
        try:
            book.record({}, error=error)
        except OSError:
            pass  # the disk refuses the record too: the message below is all that is left
        raise TrainingError(error) from None
    if not evaluate:
        return None
    result = book.finish(progress)
    if result.error is not None:
        raise TrainingError(result.error) from book.failure
    return result


class RunBook:
    """One run's side of the harness: its folder, data generator, progress, checkpoints, curve and
    records. A solo run keeps one; a packed run one per seed, each exactly as its solo run would.

    ``begin`` checks the learner and resumes; ``save``, ``score``, ``fail`` and ``record`` are what
    the training loop calls; ``finish`` scores the trained model and writes its record. The last
    record written is ``result``; an evaluation's exception is kept in ``failure``.
    """

    def __init__(self, task: Task, protocol: Any, seed: int, folder: RunFolder, published: Path | None, submission: SubmissionRecord,
                 submission_path: str | Path | None, device: torch.device, code: HarnessCode, seal: bool | int | None = None) -> None:
        self.public_task, self.task, self.wanted_seal, self.seal = task, task, seal, None
        self.protocol, self.seed, self.folder, self.published = protocol, seed, folder, published
        self.submission, self.submission_path, self.device = submission, submission_path, device
        self.generator = torch.Generator().manual_seed(seed)
        self.state = TrainState()
        self.model_file: str | None = None
        self.learner: Any = None
        self.info: dict[str, Any] = {}
        self.result: RunResult | None = None
        self.failure: Exception | None = None
        self.code = code

    def begin(self, learner: Any, resume: bool) -> None:
        """Seal the task, check ``learner`` against the protocol (supervision track, representation),
        and continue from the folder's checkpoint when resuming."""
        protocol, folder = self.protocol, self.folder
        saved = load_run_state(folder.checkpoint) if resume and folder.has_run() else None
        identity = f"{self.public_task.id}/{protocol.name}/{self.seed}/{self.submission.content_hash}"
        self.seal = choose_seal(self.public_task, self.wanted_seal, identity, saved)
        task = self.task = sealed(self.public_task, self.seal)
        self.learner, self.info = learner, learner.info()
        if self.info["supervision"] != self.submission.supervision:  # the track is submission.toml's, as the harness read it
            raise SubmissionError(f"The model says its supervision is {self.info['supervision']!r}, but submission.toml declares "
                                  f"{self.submission.supervision!r}; the harness feeds the declared track only. Make them agree.")
        if self.info["supervision"] not in protocol.supervision:
            raise SubmissionError(f"Protocol {protocol.name!r} of {task.id} has no {self.info['supervision']!r} track; it allows {protocol.supervision}.")
        check_representation(task, learner, protocol)
        if saved is not None:
            if sha256_file(folder.path / saved["model_file"]) != saved["model_sha256"]:
                raise TrainingError(f"{folder.path / saved['model_file']} does not match its checkpoint's hash; the run cannot be resumed. Start it again with --overwrite.")
            self.model_file = saved["model_file"]
            learner.load(folder.path / self.model_file)
            self.generator.set_state(saved["data_rng"])
            self.state = TrainState(step=saved["step"], elapsed=saved["elapsed"], curve=list(saved.get("curve", [])), curve_time=saved.get("curve_time", 0.0))
            folder.truncate_curves(self.state.step)

    def save(self) -> None:
        """The checkpoint pair: the learner's ``model-<step>.pt``, then ``checkpoint.pt`` naming it."""
        state, folder = self.state, self.folder
        name = f"model-{state.step:08d}.pt"
        self.learner.save(folder.path / name)
        save_checkpoint(folder.checkpoint, {
            "step": state.step, "elapsed": state.elapsed, "seed": self.seed, "data_rng": self.generator.get_state(),
            "curve": state.curve, "curve_time": state.curve_time, "seal": self.seal.to_dict() if self.seal else None, "protocol_hash": self.protocol.hash(),
            "model_file": name, "model_sha256": sha256_file(folder.path / name),
            "task_spec": self.task.spec.to_dict() if self.task.spec else None, "protocol": self.protocol.to_dict(), "submission": self.submission.model_dump(),
            "submission_path": str(self.submission_path) if self.submission_path else None, "hyperparameters": self.submission.hyperparameters,
        })
        for old in folder.path.glob("model-*.pt"):
            if old.name != name:
                old.unlink()
        self.model_file = name

    def score(self, step: int, metrics: list[str]) -> None:
        """One point of the protocol's curve (its time is not training time)."""
        started = time.perf_counter()
        values = evaluate_curve(self.task, self.learner, self.protocol, self.seed, step, metrics)
        self.state.curve.append({"step": step, **values})
        self.state.curve_time += time.perf_counter() - started

    def record(self, metrics: dict[str, float], eval_time: float = 0.0, error: str | None = None) -> RunResult:
        """Write the run's record to the folder and, if published, the results folder (unsigned:
        ``disbench sign`` signs in a separate process). If the harness's own code changed during
        the run, the run is failed: a child must not have reached it."""
        state = self.state
        if error is None and self.code.changed():
            metrics, error = {}, ("The harness's own code (the disbench package or a Python start-up file such as a .pth) changed while this run "
                                  "was going; its scores are not trusted. Reinstall disbench, remove unknown .pth files, and run again.")
        result = build_record(self.task, self.protocol, self.seed, self.submission, metrics, steps=state.step, elapsed=state.elapsed, eval_time=eval_time,
                              curve=state.curve, curve_time=state.curve_time,
                              device=self.device, final_loss=state.final_loss if error is None else None, num_parameters=self.info["num_parameters"],
                              error=error, optimizer_overridden=self.info["optimizer_overridden"],
                              optimizer_problem=optimizer_problem(self.folder.path / self.model_file, self.protocol.lr) if self.model_file else "no model was saved",
                              checkpoint_sha256=sha256_file(self.folder.path / self.model_file) if self.model_file else None,
                              isolation=getattr(self.learner, "isolation", None), code_sha256=self.code.sha256,
                              code_check=self.code.check, seal=self.seal.to_dict() if self.seal else None)
        write_record(result, self.folder.result)
        if self.published is not None:
            write_record(result, self.published)
        self.result = result
        return result

    def fail(self, step: int) -> RunResult:
        """The loss became non-finite at ``step``: record the failure; the last good checkpoint stays."""
        self.state.step = step - 1
        folder = self.folder
        return self.record({}, error=(f"The loss became non-finite (NaN or inf) at step {step}. The last good checkpoint "
                                      f"({folder.checkpoint if folder.has_run() else 'none yet'}) is kept; lower the learning rate "
                                      "or check the model for numerical problems."))

    def finish(self, progress: bool) -> RunResult:
        """Score the trained model with the protocol's metric suite, write the record, draw the
        traversals. A failed evaluation gives a failed record (its exception in ``failure``)."""
        started = time.perf_counter()
        try:
            metrics = evaluate_learner(self.task, self.learner, self.protocol, self.seed, progress=progress)
        except Exception as e:  # noqa: BLE001 - any failure of the evaluation is this run's failed record
            self.failure = e
            return self.record({}, error=f"Evaluation failed after training ({type(e).__name__}: {e}); the checkpoint {self.folder.checkpoint} is kept: `disbench eval` re-scores it.")
        result = self.record(metrics, eval_time=time.perf_counter() - started)
        if self.info["can_decode"]:
            _draw_traversals(self.task, self.learner, self.folder, self.published, self.seed)
        return result


def _draw_traversals(task: Task, learner: Any, folder: RunFolder, published: Path | None, seed: int) -> None:
    """Latent traversals next to the run (and next to its published record); the scores are
    already written, so a failure here only warns."""
    from disbench.viz.traversals import save_traversal_figure

    try:
        x = task.sample(1, generator=torch.Generator().manual_seed(seed), device="cpu").x
        save_traversal_figure(task, x, learner.traverse(x), folder.traversals)
        if published is not None:
            published.with_name(published.stem + ".traversals.png").write_bytes(folder.traversals.read_bytes())
    except Exception as e:  # noqa: BLE001 - pictures are a courtesy; the record is what counts
        warnings.warn(f"Could not draw latent traversals ({type(e).__name__}: {e}); the record is written and unaffected.", stacklevel=2)
