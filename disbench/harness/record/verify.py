"""``disbench verify RECORD``: re-check a result record against the checkpoint it came from.

The task is rebuilt from what finds it in this process: ``task`` (``--task MODULE:ID``, for a
task a module of yours registers), else the record's task id. The module a record names is only
shown as a hint, never imported (importing runs code, and a record is untrusted). Whichever it
is, it must build the record's task, the same entry point and arguments (the data's sha256 among them; only where the
data lies may differ), or verification is refused: a record is never checked against other data.

The checks, each reported with what was expected and found:

1. the record loads through the schema;
2. its protocol hash is the registered tier's hash (the budget and metric suite are unchanged);
3. its signature is the runner's (``leaderboards/runner-key.pub``), or it says the record has none;
4. the run's checkpoint exists, names a model file inside its own folder, and that file's sha256
   is the one in the record;
5. the submission folder the checkpoint names has the record's content hash (otherwise re-scoring
   would score other code);
6. the checkpoint's model (only if all of the above hold), re-scored in a fresh ``disbench eval``
   process, gives every metric in the record exactly (evaluation is deterministic on one machine).

``retrain=True`` also re-runs training from scratch in a scratch folder and requires the same
metrics bit for bit (the quick tier on a CPU takes minutes).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import disbench
from disbench.error import DisbenchError, NameNotFound, NamespaceNotFound, RecordError, SigningError, SubmissionError
from disbench.files import sha256_file
from disbench.harness.record import RunResult, load_record
from disbench.harness.run.evaluation import load_run_state
from disbench.harness.run.folder import run_dir
from disbench.registration import TaskSpec, spec_differences, unregistered_hint

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


@dataclass
class Verification:
    record: str
    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(ok for _, ok, _ in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append((name, ok, detail))
        return ok

    signed: bool = False

    def render(self) -> str:
        lines = [f"verify {self.record}"] + [f"  [{'ok' if ok else 'FAIL'}] {name}: {detail}" for name, ok, detail in self.checks]
        verdict = "NOT VERIFIED" if not self.ok else "VERIFIED" if self.signed else "VERIFIED (unsigned: not from the official runner)"
        return "\n".join(lines + [verdict])


def record_task(record: RunResult, task: str | None = None) -> tuple[TaskSpec, str]:
    """The record's task as registered here, and the reference (``module:id`` or id) that finds it
    in another process; refused when it is not the task the record was made on. Only ``task``, typed
    by whoever verifies, may name a module to import: a module the record names is only a hint, since
    importing it would run code an untrusted record chose."""
    reference = task or record.task.id
    try:
        found = disbench.spec(reference)
    except (NameNotFound, NamespaceNotFound) as e:
        hint = "" if ":" in reference else unregistered_hint({**record.task.spec, "id": record.task.id})
        raise type(e)(f"{e}{hint}") from None
    if found.id != record.task.id:
        raise RecordError(f"--task {reference} is the task {found.id}, but {record.task.id} made the record; give --task MODULE:{record.task.id}.")
    differences = spec_differences(record.task.spec, found.to_dict())
    if differences:
        raise RecordError(f"{reference} does not build the task the record was made on ({'; '.join(differences[:3])}); verify the record "
                          "with the task and data it was run on (restore them, or register them again under their own id).")
    if ":" not in reference and found.module:  # registered here through a module someone typed (never one the record names)
        reference = f"{found.module}:{found.id}"
    return found, reference


def rescore(checkpoint: Path, record: RunResult, task: str | None = None) -> dict[str, float]:
    """The checkpoint's metrics from a fresh ``disbench eval`` process, on ``task`` (a ``module:id``
    reference) or the record's task id."""
    safe_path = ["-P"] if sys.version_info >= (3, 11) else []  # the current folder is not put first: it shadows nothing the parent resolved
    command = [sys.executable, *safe_path, "-m", "disbench.cli", "eval", str(checkpoint), "--task", task or record.task.id, "--protocol", record.protocol.name,
               "--seed", str(record.seed), "--json"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise DisbenchError(f"Re-scoring {checkpoint} failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])  # eval --json prints its scores as the last line
    except (IndexError, json.JSONDecodeError):
        raise DisbenchError(f"Re-scoring {checkpoint} printed no scores: {done.stdout.strip()[-200:]!r}") from None


def compare_metrics(recorded: dict[str, float], found: dict[str, float]) -> list[str]:
    """Every metric that differs, is missing or is new, as one line each."""
    lines = [f"{k}: record {v!r}, now {found.get(k)!r}" for k, v in sorted(recorded.items()) if found.get(k) != v]
    return lines + [f"{k}: not in the record" for k in sorted(set(found) - set(recorded))]


def verify_record(path: str | Path, runs_dir: str | Path = "runs", checkpoint: str | Path | None = None, retrain: bool = False,
                  public_key: Ed25519PublicKey | None = None, task: str | None = None) -> Verification:
    """Run every check of the module docstring on one record; ``public_key``, the runner's (loaded once by the
    caller; None: the default key file, whose absence is a failed check); ``task`` (``module:id``) finds a task
    of yours that the record does not say how to find."""
    report = Verification(str(path))
    try:
        record = load_record(path)
    except (DisbenchError, OSError, ValueError) as e:
        report.add("schema", False, str(e).splitlines()[0])
        return report
    report.add("schema", True, f"{record.status} run of {record.submission.name} on {record.task.id}, tier {record.protocol.name}, seed {record.seed}")
    if record.status != "completed":
        report.add("status", False, f"the run failed: {record.error}")
        return report
    if record.signature is None:
        report.add("signature", True, "none: the record is unsigned, so it is not an official record")
    else:
        from disbench.harness.record.signing import load_public_key, verify

        try:
            report.signed = verify(record, public_key or load_public_key())
            report.add("signature", report.signed, "the runner's" if report.signed else "does not match the runner's key: the record was edited or signed elsewhere")
        except SigningError as e:
            report.add("signature", False, f"cannot be checked: {e}")
    try:
        found, reference = record_task(record, task)  # no data needed
    except DisbenchError as e:
        report.add("task", False, str(e))
        return report
    content = found.kwargs.get("sha256")
    report.add("task", True, f"{reference} builds the record's task" + (f" (data sha256 {content[:12]}...)" if content else ""))
    tier = found.protocols.get(record.protocol.name)
    report.add("protocol hash", tier is not None and tier.hash() == record.protocol.hash,
               "matches the registered tier" if tier is not None and tier.hash() == record.protocol.hash else "differs from the registered tier (the protocol was changed)")
    ckpt = Path(checkpoint) if checkpoint else run_dir(runs_dir, record.task.id, record.submission.name, record.protocol.name, record.seed) / "checkpoint.pt"
    if not ckpt.is_file():
        report.add("checkpoint", False, f"no checkpoint at {ckpt}; pass --checkpoint PATH or --runs-dir")
        return report
    try:
        state = load_run_state(ckpt)
        model = (ckpt.parent / state["model_file"]).resolve()
    except (DisbenchError, KeyError, TypeError) as e:
        report.add("checkpoint", False, f"{ckpt} is not a run checkpoint ({e})")
        return report
    if model.parent != ckpt.parent.resolve():
        report.add("checkpoint", False, f"{ckpt} names the model file {state['model_file']!r}, outside its run folder; refused")
        return report
    digest = sha256_file(model) if model.is_file() else "missing"
    if record.checkpoint_sha256 is None:
        report.add("checkpoint hash", True, "the record carries no checkpoint hash (made before records had one); re-scoring decides")
    else:
        same = digest == record.checkpoint_sha256
        report.add("checkpoint hash", same, "matches" if same else f"record {record.checkpoint_sha256[:12]}…, file {digest[:12]}…: not the record's model, so not re-scored")
        if not same:
            return report
    same_seal = state.get("seal") == (record.seal.model_dump(mode="json") if record.seal else None)
    if not report.add("seal", same_seal, ("the checkpoint's task variant is the record's" + ("" if record.seal else " (the public task)")) if same_seal
                      else "the checkpoint was trained on another task variant than the record says; not re-scored"):
        return report
    if not report.add("content hash", *_same_code(state, record)):
        return report
    diffs = compare_metrics(record.metrics, rescore(ckpt, record, reference))
    report.add("re-scored metrics", not diffs, f"all {len(record.metrics)} identical" if not diffs else "; ".join(diffs[:5]) + (f"; and {len(diffs) - 5} more" if len(diffs) > 5 else ""))
    if retrain:
        report.add("retrained", *_retrain(record, ckpt, reference))
    return report


def _same_code(state: dict, record: RunResult) -> tuple[bool, str]:
    """Whether the submission folder the checkpoint names is the code the record was made with."""
    from disbench.harness.submission import code_mismatch

    folder = state.get("submission_path")
    if not folder:
        return False, "the checkpoint names no submission folder, so nothing can re-score it"
    problem = code_mismatch(folder, record.submission.content_hash)
    return (False, f"{problem}; not re-scored") if problem else (True, f"{folder} is the record's code")


def _retrain(record: RunResult, checkpoint: Path, task: str) -> tuple[bool, str]:
    from disbench.harness.run import run_submission
    from disbench.harness.submission import code_mismatch

    folder = load_run_state(checkpoint).get("submission_path")
    if not folder:
        raise SubmissionError(f"{checkpoint} does not name its submission folder; it cannot be retrained.")
    if problem := code_mismatch(folder, record.submission.content_hash):
        return False, f"{problem}; retraining would test other code"
    with tempfile.TemporaryDirectory() as tmp:  # on the record's task variant (its seal, replayed)
        again = run_submission(folder, task, seed=record.seed, protocol=record.protocol.name, device="cpu",
                               results_dir=None, runs_dir=tmp, progress=False, seal=record.seal.seed if record.seal else None)
    diffs = compare_metrics(record.metrics, again.metrics)
    return not diffs, "every metric identical after training again" if not diffs else "; ".join(diffs[:5])
