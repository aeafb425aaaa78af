"""Sweeps: a grid of runs (submissions × tasks × seeds under one protocol tier), where each run
stands, and what a sweep does about it.

Everything here is a pure function of its arguments and the files under the results and runs
folders, so the decisions can be tested with fabricated records. Executing runs is
``disbench.harness.sweep.executors``; the command line is ``disbench.harness.sweep.cli``.

A run is **done** when its record is valid, completed, and carries the tier's current protocol
hash and the submission's current content hash; **stale** when a record exists for another
protocol or submission hash; **failed** when its record says so (or cannot be read);
**running** while another process holds the run folder's lock; **partial** when a checkpoint
exists but no record (an interrupted run: it resumes); **missing** otherwise.
"""

from __future__ import annotations

import fcntl
import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from disbench.error import DisbenchError, RecordError, did_you_mean
from disbench.harness.record import RunResult, load_record, record_path
from disbench.harness.run.folder import RunFolder, run_dir
from disbench.harness.run.reuse import Held, completed_record, differences
from disbench.harness.submission import Submission, format_validation_error
from disbench.protocol import DEFAULT_TIER, TIERS
from disbench.registration import load_plugins, parse_task_id, registry, spec
from disbench.seeds import TIER_SEEDS, SeedError, off_protocol_note, parse_seeds

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib



class SweepError(DisbenchError):
    """A sweep's grid, config file or options are invalid."""


# ---------------------------------------------------------------------------------------------
# The grid


def match_tasks(patterns: Sequence[str]) -> list[str]:
    """Registered task ids for task ids or glob patterns, in pattern order, then registry order.

    A glob (``*``, ``?``, ``[...]``) matches a versioned id (``xysquares-*-v0``) or a name without
    its version (``xysquares-*``, which then means each matched task's latest version); deprecated
    versions never match a glob. A plain id goes through ``disbench.spec``, with its errors.
    """
    if not patterns:
        raise SweepError("No tasks given; name task ids or glob patterns, e.g. --tasks 'xysquares-*'.")
    load_plugins()
    found: dict[str, None] = {}
    for pattern in patterns:
        if not any(ch in pattern for ch in "*?["):
            try:
                found[spec(pattern).id] = None
            except DisbenchError as e:
                raise SweepError(f"Task {pattern!r}: {e}") from None
            continue
        matched = []
        for task_spec in registry.values():
            if task_spec.deprecated:
                continue
            unversioned = unversioned_id(task_spec.id)
            if fnmatch.fnmatchcase(unversioned, pattern):  # a name: its latest version, once
                matched.append(spec(unversioned).id)
            elif fnmatch.fnmatchcase(task_spec.id, pattern):  # a pinned version: that one
                matched.append(task_spec.id)
        if not matched:
            names = sorted({s.id for s in registry.values()} | {unversioned_id(s.id) for s in registry.values()})
            hint = did_you_mean(pattern.replace("*", "").replace("?", ""), names) or " Run `disbench list` to see every task."
            raise SweepError(f"No registered task matches {pattern!r}.{hint}")
        found.update(dict.fromkeys(matched))
    return list(found)


def unversioned_id(task_id: str) -> str:
    """``[namespace/]name`` of a task id, without its ``-vN``."""
    namespace, name, _ = parse_task_id(task_id)
    return name if namespace is None else f"{namespace}/{name}"


def resolve_submission(entry: str, submissions_dir: str | Path) -> Path:
    """The folder of a submission named ``entry`` (``submissions_dir/<entry>``) or at path ``entry``."""
    path = Path(entry)
    if len(path.parts) > 1 or entry in (".", ".."):
        if not (path / "submission.toml").is_file():
            raise SweepError(f"{entry} is not a submission folder (no submission.toml there).")
        return path.resolve()
    folder = Path(submissions_dir) / entry
    if (folder / "submission.toml").is_file():
        return folder.resolve()
    known = sorted(p.name for p in Path(submissions_dir).glob("*/") if (p / "submission.toml").is_file())
    if not known:
        where = "holds no submission folders" if Path(submissions_dir).is_dir() else "is not a folder here"
        raise SweepError(f"No submission {entry!r}: {submissions_dir} {where}; run from the root of a disbench clone, or pass "
                         "--submissions-dir or a path to the submission's folder.")
    raise SweepError(f"No submission {entry!r} in {submissions_dir}.{did_you_mean(entry, known)} Submissions there: {', '.join(known)}.")


@dataclass(frozen=True)
class Run:
    """One cell of the grid: a submission's seed on a task under a protocol tier, and where its files go."""

    submission: str  # the name in submission.toml (what paths and records use)
    submission_path: Path  # absolute, so a job started in another folder or on another node finds it
    task_id: str
    protocol: str
    seed: int
    results_dir: Path
    runs_dir: Path
    sealed: bool = True  # trained on the runner's secret variant (official runs); False: the public task

    @property
    def record_file(self) -> Path:
        return record_path(self.results_dir, self.task_id, self.submission, self.protocol, self.seed)

    @property
    def folder(self) -> RunFolder:
        return RunFolder(run_dir(self.runs_dir, self.task_id, self.submission, self.protocol, self.seed))

    @property
    def label(self) -> str:
        return f"{self.submission} {self.task_id} {self.protocol} seed {self.seed}"


@dataclass(frozen=True)
class Sweep:
    """A grid: submissions × tasks × seeds under one protocol tier, with its folders."""

    submissions: tuple[str, ...]  # names in submissions_dir, or paths to submission folders
    tasks: tuple[str, ...]  # task ids or glob patterns
    seeds: tuple[int, ...] | Literal["tier"] = TIER_SEEDS
    protocol: str = DEFAULT_TIER
    submissions_dir: Path = Path("submissions")
    results_dir: Path = Path("runs/results")
    runs_dir: Path = Path("runs")
    sealed: bool = True  # False for comparisons across losses: their secret variants differ (docs/trust.md)

    def __post_init__(self) -> None:
        if self.protocol not in TIERS:
            raise SweepError(f"Unknown protocol tier {self.protocol!r}; tiers are {', '.join(TIERS)}.{did_you_mean(self.protocol, TIERS)}")
        if not self.submissions:
            raise SweepError("No submissions given; name them, e.g. --submissions beta-vae ada-gvae.")
        object.__setattr__(self, "seeds", parse_seeds(self.seeds))
        for name in ("submissions_dir", "results_dir", "runs_dir"):
            object.__setattr__(self, name, Path(getattr(self, name)))


@dataclass
class Grid:
    """The expanded grid: its runs, and notes on what a user may not expect (off-protocol seeds)."""

    runs: list[Run]
    notes: list[str] = field(default_factory=list)
    submissions: dict[str, Submission] = field(default_factory=dict)  # by name, loaded once


def expand(sweep: Sweep) -> Grid:
    """Every run of the grid, submission-major then task then seed, each exactly once.

    Raises ``SweepError`` for an unknown submission or task, a submission whose supervision track
    a task's tier does not offer, or two entries that are the same submission.
    """
    task_ids = match_tasks(sweep.tasks)
    submissions: dict[str, Submission] = {}
    for entry in sweep.submissions:
        submission = Submission(resolve_submission(entry, sweep.submissions_dir))
        other = submissions.get(submission.name)
        if other is not None and other.path != submission.path:
            raise SweepError(f"Two submissions are named {submission.name!r} ({other.path} and {submission.path}); their records would collide.")
        submissions[submission.name] = submission
    grid = Grid(runs=[], submissions=submissions)
    results_dir, runs_dir = sweep.results_dir.resolve(), sweep.runs_dir.resolve()
    for submission in submissions.values():
        for task_id in task_ids:
            tier = registry[task_id].protocols.get(sweep.protocol)
            if tier is None:
                raise SweepError(f"Task {task_id} has no {sweep.protocol!r} tier; it has {', '.join(registry[task_id].protocols)}.")
            if submission.config.supervision not in tier.supervision:
                raise SweepError(f"{submission.name} is {submission.config.supervision!r} but the {sweep.protocol} tier of {task_id} "
                                 f"offers only {', '.join(tier.supervision)}; drop the task or the submission from the sweep.")
            seeds = tier.seeds if sweep.seeds == TIER_SEEDS else sweep.seeds
            note = off_protocol_note(task_id, sweep.protocol, tier.seeds, seeds)
            if note:
                grid.notes.append(note)
            grid.runs.extend(Run(submission.name, submission.path, task_id, sweep.protocol, seed, results_dir, runs_dir, sweep.sealed)
                             for seed in seeds)
    grid.notes = list(dict.fromkeys(grid.notes))
    return grid


# ---------------------------------------------------------------------------------------------
# Sweep files (TOML)


class SlurmTable(BaseModel):
    """``[slurm]`` of a sweep file: the job parameters of ``--executor slurm``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    partition: str | None = None
    gpus_per_job: int = Field(default=1, ge=0)
    cpus_per_task: int | None = Field(default=None, ge=1)
    mem_gb: float | None = Field(default=None, gt=0)
    timeout_min: int = Field(default=240, ge=1)
    array_parallelism: int = Field(default=64, ge=1)
    account: str | None = None


class SweepFile(BaseModel):
    """The schema of a sweep file (``disbench sweep --config sweeps/overlap.toml``)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    submissions: list[str] = Field(min_length=1)
    tasks: list[str] = Field(min_length=1)
    seeds: str | list[int | str] = TIER_SEEDS
    protocol: str = DEFAULT_TIER
    submissions_dir: str = "submissions"
    results_dir: str = "runs/results"
    runs_dir: str = "runs"
    executor: Literal["local", "slurm", "submitit-local"] = "local"
    pack: int = Field(default=1, ge=1)  # runs of one submission, task and tier trained together per job
    slurm: SlurmTable = Field(default_factory=SlurmTable)


def load_sweep_file(path: str | Path) -> SweepFile:
    """Read and validate a sweep file; every problem is a ``SweepError`` naming the file and field."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SweepError(f"No sweep file {path}; give the path of a TOML file (see docs/sweeps.md for its fields).") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SweepError(f"Cannot read the sweep file {path}: {getattr(e, 'strerror', None) or e}.") from None
    except tomllib.TOMLDecodeError as e:
        raise SweepError(f"{path} is not valid TOML: {e}") from None
    try:
        config = SweepFile.model_validate(raw)
    except ValidationError as e:
        raise SweepError(format_validation_error(e, str(path)) + "\nSee docs/sweeps.md for the sweep file's fields.") from None
    try:
        parse_seeds(config.seeds)
    except SeedError as e:
        raise SweepError(f"{path}: seeds: {e}") from None
    return config


# ---------------------------------------------------------------------------------------------
# Where each run stands


class State(str, Enum):
    DONE = "done"
    RUNNING = "running"
    PARTIAL = "partial"  # a checkpoint and no record: an interrupted run, which resumes
    FAILED = "failed"
    STALE = "stale"  # a record for an older protocol or submission hash
    MISSING = "missing"


@dataclass(frozen=True)
class RunState:
    """A run, where it stands, and why (the failure's error, what is stale, who holds the lock)."""

    run: Run
    state: State
    reason: str | None = None
    record: RunResult | None = None


def lock_holder(folder: RunFolder) -> str | None:
    """Who is training in ``folder`` right now (the lock file's line), or ``None`` if nobody is.

    Probes the run's ``flock`` with a shared, non-blocking lock released at once; a run starting
    in that instant sees the folder in use and stops, and a re-run of the sweep picks it up.
    """
    if not folder.lock_file.exists():
        return None
    try:
        handle = folder.lock_file.open("r")
    except OSError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return handle.read().strip() or "another process"
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def classify(run: Run, protocol_hash: str, content_hash: str) -> RunState:
    """Where ``run`` stands, from its record file, its run folder and the current hashes."""
    holder = lock_holder(run.folder)
    if holder is not None:
        return RunState(run, State.RUNNING, holder)
    record: RunResult | None = None
    if run.record_file.exists():
        try:
            record = load_record(run.record_file)
        except RecordError as e:
            return RunState(run, State.FAILED, f"unreadable record: {e}")
    if record is None:
        if not run.folder.has_run():
            return RunState(run, State.MISSING)
        finished = completed_record(run.folder)
        try:
            held = Held.of_record(finished) if finished else Held.of_checkpoint(run.folder.checkpoint)
        except DisbenchError:  # an unreadable checkpoint: resuming says what is wrong with it
            return RunState(run, State.PARTIAL, "a checkpoint and no record: resumes")
        if found := differences(held, protocol_hash, content_hash, run.seed):  # another code's run: re-run, never resume or reuse it
            return RunState(run, State.STALE, "its run folder holds a run made under other settings: " + " and ".join(found))
        if finished is None:
            return RunState(run, State.PARTIAL, "a checkpoint and no record: resumes")
        return RunState(run, State.PARTIAL, "finished in its run folder, its record not in this results folder: resuming publishes it")
    if stale := differences(Held.of_record(record), protocol_hash, content_hash, run.seed):
        return RunState(run, State.STALE, "its record was made under other settings: " + " and ".join(stale), record)
    if record.status == "failed":
        return RunState(run, State.FAILED, record.error, record)
    return RunState(run, State.DONE, None, record)


def current_hashes(run: Run, content_hashes: dict[Path, str] | None = None) -> tuple[str, str]:
    """The tier's protocol hash and the submission folder's content hash (cached per folder)."""
    protocol_hash = registry[run.task_id].protocols[run.protocol].hash()
    if content_hashes is None:
        return protocol_hash, Submission(run.submission_path).content_hash()
    if run.submission_path not in content_hashes:
        content_hashes[run.submission_path] = Submission(run.submission_path).content_hash()
    return protocol_hash, content_hashes[run.submission_path]


def survey(runs: Sequence[Run]) -> list[RunState]:
    """Where every run stands, in grid order (each submission's content hash computed once)."""
    cache: dict[Path, str] = {}
    return [classify(run, *current_hashes(run, cache)) for run in runs]


# ---------------------------------------------------------------------------------------------
# What to do about it


class Action(str, Enum):
    SKIP = "skip"  # done, or running elsewhere
    START = "start"  # nothing there yet
    RESUME = "resume"  # continue from the checkpoint (resume=True)
    RERUN = "rerun"  # failed or stale: start again over the old files (overwrite=True)


ACTIONS = {State.DONE: Action.SKIP, State.RUNNING: Action.SKIP, State.MISSING: Action.START, State.PARTIAL: Action.RESUME,
           State.FAILED: Action.RERUN, State.STALE: Action.RERUN}


def action(state: State) -> Action:
    """What a sweep does with a run in ``state``."""
    return ACTIONS[state]


def to_do(states: Iterable[RunState]) -> list[RunState]:
    """The runs a sweep submits: everything neither done nor running, in grid order."""
    return [s for s in states if action(s.state) is not Action.SKIP]


def group_runs(runs: Sequence[Run], pack: int = 1) -> list[list[Run]]:
    """Runs in the groups one job executes: runs that share submission, task and tier, in groups of
    at most ``pack`` (in grid order), each trained as one packed computation (one run per group
    with ``pack=1``)."""
    if isinstance(pack, bool) or not isinstance(pack, int) or pack < 1:
        raise SweepError(f"pack={pack!r}: give how many runs to train together in one process, 1 or more (1: one run per job).")
    shared: dict[tuple, list[Run]] = {}
    for run in runs:
        shared.setdefault((run.submission_path, run.task_id, run.protocol, run.results_dir, run.runs_dir, run.sealed), []).append(run)
    return [group[i : i + pack] for group in shared.values() for i in range(0, len(group), pack)]


def counts(states: Iterable[RunState]) -> dict[State, int]:
    """How many runs are in each state (every state present, in the enum's order)."""
    tally = dict.fromkeys(State, 0)
    for s in states:
        tally[s.state] += 1
    return tally


def estimate_eta_s(states: Sequence[RunState], parallel: int | None = None) -> float | None:
    """Seconds until the grid is done: runs left × the mean time (training + evaluation) of the
    done ones, divided by the runs going at once (``parallel``, default: those running now, ≥ 1).
    ``None`` before any run is done. A rough guide: it assumes the runs left cost the same."""
    times = [s.record.training.wall_time_s + s.record.training.evaluation_time_s for s in states if s.state is State.DONE and s.record]
    if not times:
        return None
    left = sum(s.state is not State.DONE for s in states)
    running = sum(s.state is State.RUNNING for s in states)
    return left * (sum(times) / len(times)) / max(1, parallel or running)
