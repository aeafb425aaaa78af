"""``disbench validate``: is a submission ready to be run? Schema, import, method checks, smoke run."""

from __future__ import annotations

import tempfile
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import torch

import disbench
from disbench.error import DisbenchError
from disbench.harness.evaluation import CHANNELS_LAST
from disbench.harness.run import build_seeded, submission_record
from disbench.harness.submission import Submission
from disbench.harness.train import train
from disbench.methods.base import Method, loss_value
from disbench.task import PairBatch


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class Report:
    submission: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def add(self, name: str, ok: bool, detail: str = "") -> bool:
        self.checks.append(Check(name, ok, detail))
        return ok

    def render(self) -> str:
        lines = [f"validate {self.submission}"]
        lines += [f"  [{'ok' if c.ok else 'FAIL'}] {c.name}" + (f": {c.detail}" if c.detail else "") for c in self.checks]
        lines.append("PASSED" if self.ok else "FAILED")
        return "\n".join(lines)


def check_method(method: Method, task: disbench.Task, protocol: str = "smoke", n: int = 8) -> list[Check]:
    """The method contract: encode shape and dtype, a finite differentiable loss, deterministic
    eval-mode encoding, parameters, and (if present) decode's output shape."""
    checks = []
    limit = task.get_protocol(protocol).latent_dim
    gen = torch.Generator().manual_seed(0)
    batch = task.sample_for(method.supervision, n, gen)
    x = batch.x0 if isinstance(batch, PairBatch) else batch.x
    method.train()
    try:
        loss = loss_value(method.loss(batch, task.recon_loss))
        ok = bool(torch.isfinite(loss))
        checks.append(Check("loss(batch, recon_loss)", ok, f"loss = {loss.item():.4g}" if ok else f"the loss is {loss.item()} for a fresh model; it must be finite"))
        if ok:
            loss.backward()
            grads = [p.grad for p in method.parameters() if p.grad is not None]
            ok = bool(grads) and all(bool(torch.isfinite(g).all()) for g in grads)
            checks.append(Check("gradients", ok, f"{len(grads)} parameter tensors receive finite gradients" if ok else "no finite gradients reach the parameters"))
    except DisbenchError as e:
        checks.append(Check("loss(batch, recon_loss)", False, str(e)))
    except Exception as e:
        checks.append(Check("loss(batch, recon_loss)", False, f"{type(e).__name__}: {e}"))
    method.eval()
    try:
        with torch.inference_mode():
            z1, z2 = method.encode(x), method.encode(x)
        ok = isinstance(z1, torch.Tensor) and z1.ndim == 2 and z1.shape[0] == n and z1.dtype.is_floating_point and bool(torch.isfinite(z1).all())
        checks.append(Check("encode(x)", ok, f"[{n}, {z1.shape[1]}] {z1.dtype}" if ok else f"must return finite float [N, D]; got {getattr(z1, 'shape', type(z1))}"))
        if ok:
            checks.append(Check("latent size", z1.shape[1] <= limit, f"D = {z1.shape[1]}, protocol maximum {limit}"))
            checks.append(Check("eval-mode determinism", torch.equal(z1, z2), "encode(x) twice gives identical codes" if torch.equal(z1, z2) else "encode(x) differs between calls in eval mode"))
            if method.can_decode:
                with torch.inference_mode():
                    out = method.decode(z1)
                checks.append(Check("decode(z)", tuple(out.shape) == tuple(x.shape), f"shape {tuple(out.shape)}, expected {tuple(x.shape)}"))
    except Exception as e:
        checks.append(Check("encode(x)", False, f"{type(e).__name__}: {e}"))
    params = sum(p.numel() for p in method.parameters())
    checks.append(Check("parameters", params > 0, f"{params:,} parameters"))
    method.train()
    return checks


def validate_submission(path: str | Path, task_id: str = "xysquares-mse", smoke_run: bool = True) -> Report:
    report = Report(str(path))
    try:
        submission = Submission(path)
    except DisbenchError as e:
        report.add("submission.toml", False, str(e))
        return report
    report.add("submission.toml", True, f"{submission.name} {submission.config.version}, {submission.config.supervision}")
    task = disbench.make(task_id)
    try:
        method = build_seeded(submission, task, "smoke", 0)
    except DisbenchError as e:
        report.add("build(task_info)", False, str(e))
        return report
    report.add("build(task_info)", True, type(method).__name__)
    overrides = submission.overridden_defaults(task.id)
    report.add("hyperparameters", True, "; ".join(overrides) if overrides else "build()'s own defaults (submission.toml overrides none)")
    method.to(memory_format=CHANNELS_LAST)
    report.checks.extend(check_method(method, task))
    if not report.ok or not smoke_run:
        return report
    with tempfile.TemporaryDirectory() as tmp:
        try:
            record = train(task, build_seeded(submission, task, "smoke", 0), seed=0, protocol="smoke", device="cpu", out_dir=Path(tmp) / "run",
                           submission=submission_record(submission, task.id), submission_path=submission.path, results_dir=None, progress=False)
            report.add("smoke run", True, f"{record.training.steps} steps, {len(record.metrics)} metrics, mig = {record.metrics['mig']:.3f}")
        except Exception as e:
            report.add("smoke run", False, f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}")
    return report
