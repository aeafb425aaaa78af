"""Result records: one JSON file per run, validated by a pydantic model, written atomically.

Layout: ``leaderboards/results/<task-id>/<submission>/<protocol>/seed-<n>.json``. A record
embeds the full task spec, the protocol and its hash, the submission's content hash and
hyperparameters, the final metrics, the protocol's curve (metrics scored during training) with its
running maximum, a training summary and the software environment. Failed runs are
recorded as ``status = "failed"`` with an error and no metrics: never as a score.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from disbench.error import RecordError
from disbench.files import write_json_atomic
from disbench.harness.record.environment import device_name, environment
from disbench.supervision import Supervision

SCHEMA_VERSION = 1
DEFAULT_RESULTS_DIR = Path("runs/results")  # local runs: untracked; leaderboards/results is the official runner's


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskRecord(_Strict):
    id: str = Field(pattern=r"^[^:]+$")  # a registered id, never 'module:id': reading a record must never import code it names
    spec: dict[str, Any]
    off_protocol: bool


class ProtocolRecord(_Strict):
    name: str
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    config: dict[str, Any]


class SubmissionRecord(_Strict):
    name: str
    version: str
    content_hash: str | None = Field(pattern=r"^[0-9a-f]{64}$")
    supervision: Supervision
    hyperparameters: dict[str, Any]


class TrainingRecord(_Strict):
    steps: int = Field(ge=0)
    wall_time_s: float = Field(ge=0)
    steps_per_s: float = Field(ge=0)
    evaluation_time_s: float = Field(ge=0)
    curve_time_s: float = Field(default=0.0, ge=0)  # scoring the protocol's curve during training
    device: str
    final_loss: float | None
    num_parameters: int = Field(ge=0)


class IsolationRecord(_Strict):
    """The walls the run's child had (``disbench.harness.child.sandbox``); all three make it official."""

    namespaces: bool
    separate_user: bool
    cgroup: bool

    @property
    def official(self) -> bool:
        return self.namespaces and self.separate_user and self.cgroup


class SealRecord(_Strict):
    """The secret task variant the run trained and was scored on (``disbench.harness.run.seal``);
    ``secret``: drawn from the runner's secret, not given by whoever started the run."""

    seed: int = Field(ge=0)
    channels: list[int]
    inverted: list[bool]
    quarter_turns: int = Field(ge=0, le=3)
    mirrored: bool
    shift: tuple[int, int]
    secret: bool


class RunResult(_Strict):
    """The schema of a result file; the leaderboard reads records only through this model."""

    schema_version: Literal[1] = SCHEMA_VERSION
    status: Literal["completed", "failed"]
    task: TaskRecord
    protocol: ProtocolRecord
    submission: SubmissionRecord
    seed: int
    metrics: dict[str, float]
    curve: dict[str, list[tuple[int, float]]] = Field(default_factory=dict)  # metric -> [(step, value)], the protocol's curve
    max_during_training: dict[str, float] = Field(default_factory=dict)  # metric -> the curve's maximum: the paper's quantity
    training: TrainingRecord
    environment: dict[str, str | None]
    created: datetime
    on_protocol: bool
    off_protocol_reasons: list[str] = Field(default_factory=list)  # why on_protocol is false, when it is
    error: str | None = None
    checkpoint_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")  # of the final checkpoint file
    isolation: IsolationRecord | None = None  # the child's sandbox; None: it ran in this process, or before records said
    seal: SealRecord | None = None  # the task variant; None: the public task (in-process training, or before records said)
    signature: str | None = None  # base64 Ed25519 signature by the official runner (disbench.harness.record.signing)

    @model_validator(mode="after")
    def _status_consistent(self) -> RunResult:
        if self.status == "completed" and (self.error is not None or not self.metrics):
            raise ValueError("a completed run needs metrics and no error")
        if self.status == "failed" and (self.error is None or self.metrics):
            raise ValueError("a failed run needs an error and no metrics")
        bad = sorted(k for k, v in self.metrics.items() if not math.isfinite(v))
        if bad:
            raise ValueError(f"metrics must be finite; {bad} are not")
        bad = sorted(k for k, points in self.curve.items() if not all(math.isfinite(v) for _, v in points))
        if bad:
            raise ValueError(f"curve values must be finite; {bad} are not")
        if self.max_during_training != running_max(self.curve):
            raise ValueError("max_during_training must be the maximum of each metric's curve")
        if self.on_protocol and (self.task.off_protocol or self.submission.content_hash is None):
            raise ValueError("a run with an off-protocol task or without a submission hash cannot be on-protocol")
        return self


def curve_by_metric(points: list[dict[str, float]]) -> dict[str, list[tuple[int, float]]]:
    """Curve points ``[{"step": s, metric: value, ...}, ...]`` as ``{metric: [(step, value), ...]}``."""
    curve: dict[str, list[tuple[int, float]]] = {}
    for point in points:
        for key, value in point.items():
            if key != "step":
                curve.setdefault(key, []).append((int(point["step"]), float(value)))
    return curve


def running_max(curve: dict[str, list[tuple[int, float]]]) -> dict[str, float]:
    """Each metric's maximum over its curve: what the paper's figures plot (paper.md §4.7)."""
    return {key: max(v for _, v in points) for key, points in curve.items() if points}


def record_path(results_dir: str | Path, task_id: str, submission: str, protocol: str, seed: int) -> Path:
    return Path(results_dir) / task_id / submission / protocol / f"seed-{seed}.json"


def write_record(record: RunResult, path: str | Path) -> Path:
    return write_json_atomic(path, record.model_dump(mode="json"))


def load_record(path: str | Path) -> RunResult:
    """Read and validate one record file; any problem is a ``RecordError`` naming the file and the fields."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise RecordError(f"Cannot read the result record {path}: {getattr(e, 'strerror', None) or e}.") from e
    try:
        return RunResult.model_validate_json(text)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc'])) or '(file)'}: {err['msg']}" for err in e.errors()[:5])
        more = f" (and {e.error_count() - 5} more)" if e.error_count() > 5 else ""
        raise RecordError(f"{path} is not a valid result record: {problems}{more}. Re-run the run or restore the file.") from e


def load_records(results_dir: str | Path = DEFAULT_RESULTS_DIR) -> list[RunResult]:
    return [load_record(p) for p in sorted(Path(results_dir).rglob("seed-*.json"))]


def off_protocol_reasons(task, protocol, seed: int, submission: SubmissionRecord, optimizer_overridden: bool = False,
                         optimizer_problem: str | None = None) -> list[str]:
    """Every way a run departs from its task's registered protocol (empty: on-protocol)."""
    reasons = []
    if task.off_protocol:
        reasons.append("the task was made with overridden arguments")
    if task.protocols.get(protocol.name) != protocol:
        reasons.append(f"the budget is not the task's registered {protocol.name!r} tier")
    elif seed not in protocol.seeds:
        reasons.append(f"seed {seed} is not one of the tier's seeds {list(protocol.seeds)}")
    if submission.content_hash is None:
        reasons.append("the code is not a submission folder with a content hash")
    if optimizer_overridden:
        reasons.append("the method replaces the protocol's optimizer (configure_optimizer)")
    elif optimizer_problem:
        reasons.append(f"the harness's check of the saved model: {optimizer_problem}")
    return reasons


def build_record(task, protocol, seed: int, submission: SubmissionRecord, metrics: dict[str, float], *, steps: int, elapsed: float,
                 eval_time: float, device, final_loss: float | None, num_parameters: int, error: str | None = None,
                 optimizer_overridden: bool = False, optimizer_problem: str | None = None, checkpoint_sha256: str | None = None,
                 curve: list[dict[str, float]] = (), curve_time: float = 0.0, isolation: Any = None, code_sha256: str | None = None,
                 code_check: str | None = None, seal: dict[str, Any] | None = None) -> RunResult:
    """The record of one run, completed (``metrics``) or failed (``error``); ``curve`` is the
    protocol's curve as scored during training (kept for a failed run too: it happened)."""
    reasons = off_protocol_reasons(task, protocol, seed, submission, optimizer_overridden, optimizer_problem)
    by_metric = curve_by_metric(list(curve))
    return RunResult(
        status="failed" if error else "completed",
        task=TaskRecord(id=task.id, spec=task.spec.to_dict() if task.spec else {}, off_protocol=task.off_protocol),
        protocol=ProtocolRecord(name=protocol.name, hash=protocol.hash(), config=protocol.to_dict()),
        submission=submission,
        seed=seed,
        metrics=metrics,
        curve=by_metric,
        max_during_training=running_max(by_metric),
        training=TrainingRecord(steps=steps, wall_time_s=elapsed, steps_per_s=steps / elapsed if elapsed else 0.0, evaluation_time_s=eval_time,
                                curve_time_s=curve_time, device=device_name(device), final_loss=final_loss, num_parameters=num_parameters),
        environment={**environment(), "code_sha256": code_sha256, "code_check": code_check},
        created=datetime.now(timezone.utc),
        on_protocol=error is None and not reasons,
        off_protocol_reasons=reasons,
        error=error,
        checkpoint_sha256=checkpoint_sha256,
        isolation=IsolationRecord(**vars(isolation)) if isolation is not None else None,
        seal=SealRecord(**seal) if seal is not None else None,
    )
