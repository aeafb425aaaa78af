"""``disbench validate``: is a submission ready to be run? Schema, import, method checks, smoke run."""

from __future__ import annotations

import tempfile
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import torch

import disbench
from disbench.error import DisbenchError
from disbench.harness.child.contract import check_learner
from disbench.harness.child.learner import Learner
from disbench.harness.child.remote import RemoteLearner
from disbench.harness.run import run_submission
from disbench.harness.run.checkpoint import frozen_parameters
from disbench.harness.run.evaluation import load_run_state
from disbench.harness.run.folder import run_dir
from disbench.harness.submission import Submission
from disbench.methods.base import Method


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
    """The method contract (``disbench.harness.child.contract``) for a ``Method`` object in this process."""
    torch.manual_seed(0)
    learner = Learner(method, task.recon_loss, task.get_protocol(protocol).lr)
    return [Check(*c) for c in check_learner(learner, contract_observations(task, method.supervision, n), task.get_protocol(protocol).latent_dim)]


def contract_observations(task: disbench.Task, supervision: str, n: int = 8) -> torch.Tensor:
    return task.sample_observations(supervision, n, torch.Generator().manual_seed(0))


def validate_submission(path: str | Path, task_id: str = "xysquares-mse", smoke_run: bool = True) -> Report:
    """Schema, build, hyperparameters, the method contract, and a smoke-tier run. The submission's
    code runs only in child processes; this report is advice for its author (scores come only
    from the runner's records)."""
    report = Report(str(path))
    try:
        submission = Submission(path)
    except DisbenchError as e:
        report.add("submission.toml", False, str(e))
        return report
    report.add("submission.toml", True, f"{submission.name} {submission.config.version}, {submission.config.supervision}")
    folder = submission.path.name  # a mismatch is reported, and the other checks still run
    report.add("folder name", folder == submission.name, folder if folder == submission.name else
               f"the folder {folder!r} declares name = {submission.name!r}; records are filed under the name, so rename the folder or the name so they agree")
    readme = submission.path / "README.md"
    written = readme.is_file() and bool(readme.read_text(errors="replace").strip())
    report.add("README.md", written, "present" if written else f"{'empty' if readme.is_file() else 'missing'}: "
               "write README.md saying what the model is and how to cite it (CONTRIBUTING.md)")
    task = disbench.make(task_id)
    tier = task.get_protocol("smoke")
    try:
        learner = RemoteLearner(submission.path, task, tier, 0, submission.hyperparameters(task.id), device="cpu")
    except DisbenchError as e:
        report.add("build(task_info)", False, str(e))
        return report
    with learner:
        report.add("build(task_info)", True, f"{learner.info()['num_parameters']:,} parameters, {learner.info()['supervision']}")
        overrides, unknown = learner.overridden_defaults, learner.unknown_hyperparameters
        if unknown:
            report.add("hyperparameters", False, "; ".join(unknown))
        else:
            report.add("hyperparameters", True, "; ".join(overrides) if overrides else "build()'s own defaults (submission.toml changes none)")
        try:
            report.checks.extend(Check(*c) for c in learner.check(contract_observations(task, learner.info()["supervision"])))
        except DisbenchError as e:
            report.add("method contract", False, str(e))
    if not report.ok or not smoke_run:
        return report
    with tempfile.TemporaryDirectory() as tmp:
        try:
            record = run_submission(submission, task.id, seed=0, protocol="smoke", device="cpu", results_dir=None, runs_dir=tmp, progress=False)
            report.add("smoke run", True, f"{record.training.steps} steps, {len(record.metrics)} metrics, mig = {record.metrics['mig']:.3f}")
            run = run_dir(tmp, task.id, submission.name, "smoke", 0)
            frozen = frozen_parameters(run / load_run_state(run / "checkpoint.pt")["model_file"])
            report.add("learns from its data", frozen is None, "its parameters changed during the smoke run" if frozen is None else
                       f"{frozen}. A model that reads no training data is flagged for the maintainers' review (docs/trust.md)")
        except DisbenchError as e:
            report.add("smoke run", False, str(e))
        except Exception as e:
            report.add("smoke run", False, f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}")
    return report
