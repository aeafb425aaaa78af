"""What a run folder already holds, and whether the run asked for may continue or reuse it.

A folder is named by task, submission name, tier and seed, not by the submission's code or the
protocol's settings. So before ``--resume``
continues a checkpoint, or reuses a finished run's record, the harness compares what made it with
what is asked now: another version would train one model with two codes, or publish one code's
scores under another's hash. A sweep reads the same comparison to re-run such a folder instead.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from disbench.error import DisbenchError, TrainingError
from disbench.files import atomic_path
from disbench.harness.record import RunResult, SubmissionRecord, load_record
from disbench.harness.run.folder import RunFolder


@dataclass(frozen=True)
class Held:
    """What made the run in a folder: its protocol hash, submission content hash and seed."""

    protocol_hash: str
    content_hash: str | None
    seed: int

    @classmethod
    def of_record(cls, record: RunResult) -> Held:
        return cls(record.protocol.hash, record.submission.content_hash, record.seed)

    @classmethod
    def of_checkpoint(cls, path: Path) -> Held:
        from disbench.harness.run.evaluation import load_run_state
        from disbench.protocol import Protocol

        saved = load_run_state(path)
        protocol_hash = saved.get("protocol_hash") or Protocol.from_dict(saved["protocol"]).hash()
        return cls(protocol_hash, (saved.get("submission") or {}).get("content_hash"), int(saved["seed"]))


def differences(held: Held, protocol_hash: str, content_hash: str | None, seed: int) -> list[str]:
    """How ``held`` differs from the run asked for (nothing: it is that run). The task variant is not
    compared: a resumed run keeps the variant it started on (``seal.choose_seal``), and its record says which."""
    found = []
    if held.protocol_hash != protocol_hash:
        found.append(f"the tier's protocol (hash {held.protocol_hash[:12]}, now {protocol_hash[:12]})")
    if content_hash is not None and held.content_hash != content_hash:
        found.append(f"the submission's code (content hash {str(held.content_hash)[:12]}, now {content_hash[:12]})")
    if held.seed != seed:
        found.append(f"the seed ({held.seed}, asked {seed})")
    return found


def refuse(folder: RunFolder, found: list[str]) -> None:
    if found:
        raise TrainingError(f"{folder.path} holds a run made under other settings: {' and '.join(found)}. Resuming would mix the two; start the "
                            "run again with --overwrite (a sweep re-runs such a folder by itself).")


def completed_record(folder: RunFolder) -> RunResult | None:
    """The completed record in the folder's own ``result.json``, if it holds a readable one."""
    if not folder.result.is_file():
        return None
    try:
        record = load_record(folder.result)
    except DisbenchError:
        return None
    return record if record.status == "completed" else None


def finished_record(folder: RunFolder, protocol: Any, seed: int, submission: SubmissionRecord) -> RunResult | None:
    """The folder's record if its run is complete (every step trained, scored) and is the run asked for;
    a finished run made under other settings is refused (``TrainingError``), not reused."""
    record = completed_record(folder)
    if record is None or record.training.steps != protocol.steps:
        return None
    refuse(folder, differences(Held.of_record(record), protocol.hash(), submission.content_hash, seed))
    return record


def check_resumable(folder: RunFolder, resume: bool, protocol: Any, seed: int, submission: SubmissionRecord) -> None:
    """Before a run continues ``folder``'s checkpoint: the checkpoint is of the run asked for."""
    if resume and folder.has_run():
        refuse(folder, differences(Held.of_checkpoint(folder.checkpoint), protocol.hash(), submission.content_hash, seed))


def publish(record: RunResult, folder: RunFolder, published: Path | None, protocol: Any, submission: SubmissionRecord) -> None:
    """Copy a finished run's record (and its picture) to its results folder when that lacks a current record of
    this run (a run resumed into another results folder, or over a failed or out-of-date record there); a
    current completed record already there, from this folder or another, is left as it is."""
    if published is None:
        return
    if published.is_file():
        try:
            there = load_record(published)
        except DisbenchError:
            there = None
        if there is not None and there.status == "completed" and not differences(Held.of_record(there), protocol.hash(), submission.content_hash, record.seed):
            return
    for source, target in ((folder.result, published), (folder.traversals, published.with_name(published.stem + ".traversals.png"))):
        if source.is_file():
            with atomic_path(target) as tmp:
                shutil.copyfile(source, tmp)
