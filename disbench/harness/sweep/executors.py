"""Executing a sweep's runs: here, one after another (``local``), or as submitit jobs, one job
array per sweep (``slurm``; ``submitit-local`` runs the same jobs as subprocesses of this machine).

Each job re-reads its runs' states when it starts (``execute``, ``execute_group``), so a job
submitted twice, or a sweep re-run while jobs are queued, never repeats finished work or starts
over a run in progress. A job is a *group* of runs (``sweep.group_runs``): one run, or with
``--pack K`` up to K seeds of one submission, task and tier trained as one packed computation
(``run_packed_submission``; the runs of a group that need the same action are packed together).
Jobs that Slurm stops at their time limit are requeued and resume from the runs' checkpoints
(``SweepJob.checkpoint``).

submitit is an optional extra (``pip install 'disbench[slurm]'``), imported only here and only
when a submitit executor is asked for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from disbench.error import DisbenchError
from disbench.harness.record import RunResult
from disbench.harness.submission import format_validation_error
from disbench.harness.sweep import Action, Run, SlurmTable, SweepError, action, classify, current_hashes

Cluster = Literal["slurm", "local"]
RunFn = Callable[..., RunResult]  # run_submission's signature
PackFn = Callable[..., list]  # run_packed_submission's signature


def _run_submission(*args: Any, **kwargs: Any) -> RunResult:
    """``disbench.harness.run.run_submission``, imported when a run starts (it imports torch)."""
    from disbench.harness.run import run_submission

    return run_submission(*args, **kwargs)


def _run_packed_submission(*args: Any, **kwargs: Any) -> list:
    """``disbench.harness.run.run_packed_submission``, imported when a pack starts."""
    from disbench.harness.run import run_packed_submission

    return run_packed_submission(*args, **kwargs)


@dataclass(frozen=True)
class Outcome:
    """What happened to one run of a sweep."""

    run: Run
    action: Action | None  # None: the job died before saying what it did
    status: Literal["completed", "failed", "skipped"]
    detail: str | None = None  # the error of a failed run, or why one was skipped
    seconds: float = 0.0

    def line(self) -> str:
        verb = {Action.START: "new run", Action.RESUME: "resumed", Action.RERUN: "re-run", Action.SKIP: "skipped", None: "job died"}[self.action]
        tail = f": {self.detail}" if self.detail else ""
        return f"{self.status:9} {self.run.label} ({verb}, {self.seconds:.0f}s){tail}"


def execute(run: Run, run_fn: RunFn = _run_submission, device: str | None = None, progress: bool = False) -> Outcome:
    """Do what ``run``'s state asks *now*: skip it (done, or running elsewhere), start it, resume it
    from its checkpoint, or run it again over a failed or stale one.

    Every failure of the run is an ``Outcome`` with its reason, never an exception, so one bad
    run does not stop the sweep; ``KeyboardInterrupt`` does (the run's checkpoint stays, and the
    next sweep resumes it).
    """
    started = time.perf_counter()
    state = classify(run, *current_hashes(run))
    what = action(state.state)
    if what is Action.SKIP:
        return Outcome(run, what, "skipped", state.state.value + (f" ({state.reason})" if state.reason else ""))
    try:
        record = run_fn(run.submission_path, run.task_id, seed=run.seed, protocol=run.protocol, device=device, resume=what is Action.RESUME,
                        overwrite=what is Action.RERUN, results_dir=run.results_dir, runs_dir=run.runs_dir, progress=progress, seal=run.sealed)
    except DisbenchError as e:
        return Outcome(run, what, "failed", str(e), time.perf_counter() - started)
    except Exception as e:  # noqa: BLE001 - a crash in one run is that run's failure, reported with its type
        return Outcome(run, what, "failed", f"{type(e).__name__}: {e}", time.perf_counter() - started)
    return Outcome(run, what, record.status, record.error, time.perf_counter() - started)


def execute_group(group: Sequence[Run], run_fn: RunFn = _run_submission, pack_fn: PackFn = _run_packed_submission, device: str | None = None,
                  progress: bool = False) -> list[Outcome]:
    """``execute`` for a group of runs (one submission, task and tier): a lone run runs solo; the
    others' states are read now, and the runs that need the same action (start, resume, re-run)
    are trained as one pack. Outcomes in the group's order; a pack's failure is each of its runs'."""
    if len(group) == 1:
        return [execute(group[0], run_fn, device=device, progress=progress)]
    outcomes: dict[Run, Outcome] = {}
    packs: dict[Action, list[Run]] = {}
    for run in group:
        state = classify(run, *current_hashes(run))
        what = action(state.state)
        if what is Action.SKIP:
            outcomes[run] = Outcome(run, what, "skipped", state.state.value + (f" ({state.reason})" if state.reason else ""))
        else:
            packs.setdefault(what, []).append(run)
    for what, runs in packs.items():
        started, first = time.perf_counter(), runs[0]
        try:
            records = pack_fn(first.submission_path, first.task_id, seeds=[run.seed for run in runs], protocol=first.protocol, device=device,
                              resume=what is Action.RESUME, overwrite=what is Action.RERUN, results_dir=first.results_dir, runs_dir=first.runs_dir,
                              progress=progress, seal=first.sealed)
        except Exception as e:  # noqa: BLE001 - a failed pack is its runs' failure, reported with its reason
            detail = str(e) if isinstance(e, DisbenchError) else f"{type(e).__name__}: {e}"
            outcomes.update((run, Outcome(run, what, "failed", detail, time.perf_counter() - started)) for run in runs)
            continue
        seconds = time.perf_counter() - started
        for run, record in zip(runs, records):
            outcomes[run] = Outcome(run, what, record.status, record.error, seconds)
    return [outcomes[run] for run in group]


def run_local(groups: Sequence[Sequence[Run]], run_fn: RunFn = _run_submission, device: str | None = None, progress: bool = True,
              echo: Callable[[str], None] = print, pack_fn: PackFn = _run_packed_submission) -> list[Outcome]:
    """Execute the groups here, one after another, with a bar over the runs (done / total, ETA)."""
    from tqdm.auto import tqdm

    outcomes: list[Outcome] = []
    with tqdm(total=sum(len(group) for group in groups), unit="run", desc="sweep", disable=not progress, dynamic_ncols=True) as bar:
        for group in groups:
            for outcome in execute_group(group, run_fn, pack_fn, device=device, progress=progress):
                outcomes.append(outcome)
                bar.update(1)
                bar.set_postfix(failed=sum(o.status == "failed" for o in outcomes), refresh=False)
                (bar.write if progress else echo)(outcome.line())
    return outcomes


class SweepJob:
    """The callable a submitit job runs: execute a group of runs; requeued at a time limit.

    A module-level class, so it pickles by reference and the job imports disbench as installed.
    """

    def __init__(self, device: str | None = None) -> None:
        self.device = device

    def __call__(self, group: Sequence[Run]) -> list[Outcome]:
        return execute_group(group, device=self.device, progress=False)

    def checkpoint(self, group: Sequence[Run]) -> Any:
        """Called by submitit when Slurm signals the time limit: requeue the same group. The runs
        resume from their checkpoints, and the finished ones are skipped."""
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(self, group)


@dataclass(frozen=True)
class SlurmOptions:
    """The job parameters of a Slurm sweep: one job per group of runs, one job array per sweep."""

    partition: str | None = None
    gpus_per_job: int = 1
    cpus_per_task: int | None = None
    mem_gb: float | None = None
    timeout_min: int = 240
    array_parallelism: int = 64  # jobs of the array running at once
    account: str | None = None

    def __post_init__(self) -> None:
        try:  # the same rules as a sweep file's [slurm] table
            SlurmTable.model_validate(self.__dict__)
        except ValidationError as e:
            raise SweepError(format_validation_error(e, "The Slurm options")) from None


def submitit_parameters(options: SlurmOptions, cluster: Cluster, name: str = "disbench-sweep") -> dict[str, Any]:
    """The keyword arguments for ``AutoExecutor.update_parameters``: the generic ones (name, time
    limit, GPUs, CPUs, memory) and, on Slurm, the partition, account and array parallelism."""
    params: dict[str, Any] = {"name": name, "timeout_min": options.timeout_min, "gpus_per_node": options.gpus_per_job}
    if options.cpus_per_task is not None:
        params["cpus_per_task"] = options.cpus_per_task
    if options.mem_gb is not None:
        params["mem_gb"] = options.mem_gb
    if cluster == "slurm":
        params["slurm_array_parallelism"] = options.array_parallelism
        if options.partition is not None:
            params["slurm_partition"] = options.partition
        if options.account is not None:
            params["slurm_account"] = options.account
    return params


def import_submitit() -> Any:
    """submitit, or a ``SweepError`` saying how to install it."""
    try:
        import submitit
    except ImportError:
        raise SweepError("The slurm and submitit-local executors need submitit, an optional extra: pip install 'disbench[slurm]'.") from None
    return submitit


def make_executor(cluster: Cluster, log_dir: str | Path, options: SlurmOptions) -> Any:
    """A submitit ``AutoExecutor`` for ``cluster`` with the sweep's job parameters; logs, pickled
    jobs and results go to ``log_dir/<job id>/`` (on Slurm: a folder the compute nodes share)."""
    submitit = import_submitit()
    try:
        executor = submitit.AutoExecutor(folder=str(Path(log_dir) / "%j"), cluster=cluster)
    except RuntimeError as e:
        raise SweepError(f"No Slurm cluster here ({e}); run the sweep on the cluster's login node, or use --executor local.") from None
    executor.update_parameters(**submitit_parameters(options, cluster))
    return executor


def submit(groups: Sequence[Sequence[Run]], executor: Any, device: str | None = None) -> list[Any]:
    """Submit one job per group as one job array (``map_array``); returns submitit's jobs."""
    return executor.map_array(SweepJob(device), [list(group) for group in groups])


def job_outcomes(job: Any, group: Sequence[Run]) -> list[Outcome]:
    """A finished job's outcomes; a job that died (time limit, out of memory, cancelled) fails its
    runs with the end of its log as the reason."""
    submitit = import_submitit()
    try:
        return list(job.result())
    except submitit.core.utils.UncompletedJobError as e:
        last = [line for line in str(e).strip().splitlines() if line.strip()][-3:]
        reason = f"job {job.job_id} died: {' | '.join(last) or type(e).__name__} (log: {job.paths.stderr})"
        return [Outcome(run, None, "failed", reason) for run in group]


def wait(jobs: Sequence[Any], groups: Sequence[Sequence[Run]], progress: bool = True, poll_s: float = 10.0,
         echo: Callable[[str], None] = print) -> list[Outcome]:
    """Wait for submitted jobs, with a bar over the runs (done / total, ETA); returns every outcome."""
    from tqdm.auto import tqdm

    submitit = import_submitit()
    group_of = {id(job): group for job, group in zip(jobs, groups)}
    outcomes: list[Outcome] = []
    with tqdm(total=sum(len(g) for g in groups), unit="run", desc="sweep", disable=not progress, dynamic_ncols=True) as bar:
        for job in submitit.helpers.as_completed(list(jobs), poll_frequency=poll_s):
            for outcome in job_outcomes(job, group_of[id(job)]):
                outcomes.append(outcome)
                bar.update(1)
                (bar.write if progress else echo)(outcome.line())
    return outcomes
