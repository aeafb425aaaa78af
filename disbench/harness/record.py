"""Result records: one JSON file per run, validated by a pydantic model, written atomically.

Layout: ``leaderboards/results/<task-id>/<submission>/<protocol>/seed-<n>.json``. A record
embeds the full task spec, the protocol and its hash, the submission's content hash and
hyperparameters, the metrics, a training summary and the software environment. Failed runs are
recorded as ``status = "failed"`` with an error and no metrics: never as a score.
"""

from __future__ import annotations

import json
import math
import os
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION = 1
DEFAULT_RESULTS_DIR = Path("leaderboards/results")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskRecord(_Strict):
    id: str
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
    supervision: Literal["unsupervised", "weak-pairs"]
    hyperparameters: dict[str, Any]


class TrainingRecord(_Strict):
    steps: int = Field(ge=0)
    wall_time_s: float = Field(ge=0)
    steps_per_s: float = Field(ge=0)
    evaluation_time_s: float = Field(ge=0)
    device: str
    final_loss: float | None
    num_parameters: int = Field(ge=0)


class RunResult(_Strict):
    """The schema of a result file; the leaderboard reads records only through this model."""

    schema_version: Literal[1] = SCHEMA_VERSION
    status: Literal["completed", "failed"]
    task: TaskRecord
    protocol: ProtocolRecord
    submission: SubmissionRecord
    seed: int
    metrics: dict[str, float]
    training: TrainingRecord
    environment: dict[str, str | None]
    created: datetime
    on_protocol: bool
    error: str | None = None

    @model_validator(mode="after")
    def _status_consistent(self) -> RunResult:
        if self.status == "completed" and (self.error is not None or not self.metrics):
            raise ValueError("a completed run needs metrics and no error")
        if self.status == "failed" and (self.error is None or self.metrics):
            raise ValueError("a failed run needs an error and no metrics")
        bad = sorted(k for k, v in self.metrics.items() if not math.isfinite(v))
        if bad:
            raise ValueError(f"metrics must be finite; {bad} are not")
        if self.on_protocol and (self.task.off_protocol or self.submission.content_hash is None):
            raise ValueError("a run with an off-protocol task or without a submission hash cannot be on-protocol")
        return self


def record_path(results_dir: str | Path, task_id: str, submission: str, protocol: str, seed: int) -> Path:
    return Path(results_dir) / task_id / submission / protocol / f"seed-{seed}.json"


def write_json_atomic(path: str | Path, payload: Any) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path


def write_record(record: RunResult, path: str | Path) -> Path:
    return write_json_atomic(path, record.model_dump(mode="json"))


def load_record(path: str | Path) -> RunResult:
    return RunResult.model_validate_json(Path(path).read_text())


def load_records(results_dir: str | Path = DEFAULT_RESULTS_DIR) -> list[RunResult]:
    return [load_record(p) for p in sorted(Path(results_dir).rglob("seed-*.json"))]
