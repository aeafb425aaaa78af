"""``disbench sweep`` (run a grid) and ``disbench sweep status`` (where its runs stand).

The grid comes from options, a sweep file (``--config``), or both: an option given on the
command line wins over the file's value. ``disbench.cli`` adds these commands with one
``add_commands(sub)`` call; the sweep modules are imported only when a sweep command runs, so
they cost the rest of the command line nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from disbench.arguments import device_argument, non_negative_int, positive_float, positive_int
from disbench.durations import duration
from disbench.protocol import DEFAULT_TIER, TIERS
from disbench.seeds import seeds_argument

if TYPE_CHECKING:
    from disbench.harness.sweep import RunState, Sweep

EXECUTORS = ("local", "slurm", "submitit-local")
GRID_KEYS = ("submissions", "tasks", "seeds", "protocol", "submissions_dir", "results_dir", "runs_dir")
SLURM_FLAGS = {  # argparse dest -> field of SlurmOptions / [slurm]
    "slurm_partition": "partition", "gpus_per_job": "gpus_per_job", "cpus_per_task": "cpus_per_task", "mem_gb": "mem_gb",
    "timeout_min": "timeout_min", "slurm_array_parallelism": "array_parallelism", "slurm_account": "account",
}


def _grid_options(p: argparse.ArgumentParser) -> None:
    """The options that define a grid. Their defaults are left out of the namespace
    (``SUPPRESS``), so a value from ``--config`` is replaced only by an option actually given."""
    s = argparse.SUPPRESS
    p.add_argument("--config", default=s, help="a sweep file (TOML, see docs/sweeps.md); options given here override its values")
    p.add_argument("--submissions", nargs="+", default=s, metavar="NAME", help="names in --submissions-dir, or paths to submission folders")
    p.add_argument("--tasks", nargs="+", default=s, metavar="ID", help="task ids or glob patterns, e.g. 'xysquares-*' (quote them)")
    p.add_argument("--seeds", nargs="+", type=seeds_argument, default=s, metavar="SEED",
                   help="'tier' (default: each task's own seeds for the tier), a range '0-4', seeds '0 1 2', or a mix '0 3-5'")
    p.add_argument("--protocol", "--tier", dest="protocol", default=s, choices=TIERS, help=f"protocol tier (default: {DEFAULT_TIER}, the tier a CPU can afford; the leaderboard's is standard)")
    p.add_argument("--submissions-dir", default=s, help="where submission names are looked up (default: submissions)")
    p.add_argument("--results-dir", default=s, help="where records go (default: runs/results)")
    p.add_argument("--runs-dir", default=s, help="checkpoints and curves (default: runs)")


def add_commands(sub: Any) -> None:
    """Add ``sweep`` (and its ``status`` action) to the ``disbench`` command line (``sub``: its subparsers)."""
    p = sub.add_parser("sweep", help="run a grid of submissions × tasks × seeds here or on Slurm; `sweep status` shows where it stands",
                       description="Run every run of a grid that is not done yet: start missing runs, resume interrupted ones from "
                                   "their checkpoints, re-run failed and stale ones. `disbench sweep status` shows where the grid stands.")
    _grid_options(p)
    p.add_argument("--executor", choices=EXECUTORS, default=argparse.SUPPRESS,
                   help="local (default): here, one run after another; slurm: a submitit job array; submitit-local: the same jobs as local subprocesses")
    p.add_argument("--device", type=device_argument, default=None, help="cpu, cuda, cuda:1, ... for every run (default: cuda where available)")
    p.add_argument("--pack", type=positive_int, default=argparse.SUPPRESS, metavar="K",
                   help="train up to K seeds of one submission and task together in one process, as one batched computation (default 1; see docs/sweeps.md)")
    p.add_argument("--dry-run", action="store_true", help="show what would run, and why, without running anything")
    p.add_argument("--wait", action="store_true", help="slurm: wait for the jobs, with a progress bar (submitit-local always waits)")
    p.add_argument("--log-dir", default=None, help="submitit logs and job files (default: <runs-dir>/sweep-logs; on Slurm, a shared folder)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    slurm = p.add_argument_group("slurm jobs (also the [slurm] table of a sweep file)")
    slurm.add_argument("--slurm-partition", default=argparse.SUPPRESS, help="partition the jobs go to (default: the cluster's default)")
    slurm.add_argument("--gpus-per-job", type=non_negative_int, default=argparse.SUPPRESS, help="GPUs per job (default 1)")
    slurm.add_argument("--cpus-per-task", type=positive_int, default=argparse.SUPPRESS, help="CPU cores per job (default: the cluster's default)")
    slurm.add_argument("--mem-gb", type=positive_float, default=argparse.SUPPRESS, help="memory per job in GB (default: the cluster's default)")
    slurm.add_argument("--timeout-min", type=positive_int, default=argparse.SUPPRESS,
                       help="minutes per job; a job that reaches it is requeued and resumes (default 240)")
    slurm.add_argument("--slurm-array-parallelism", type=positive_int, default=argparse.SUPPRESS, help="jobs of the array running at once (default 64)")
    slurm.add_argument("--slurm-account", default=argparse.SUPPRESS, help="account the jobs are charged to (default: your default account)")
    p.set_defaults(handler=_cmd_sweep)

    actions = p.add_subparsers(dest="sweep_command", metavar="ACTION")
    s = actions.add_parser("status", help="done / running / failed / missing runs of a grid, with failure reasons",
                           description="Where every run of a grid stands: done, running, partial (resumes), failed, stale (a record for "
                                       "an older protocol or submission hash) or missing, with reasons, counts and a rough ETA.")
    _grid_options(s)
    s.add_argument("--watch", type=positive_float, default=None, metavar="SECONDS", help="refresh every SECONDS until every run is done (Ctrl-C stops)")
    s.add_argument("--all", action="store_true", help="list done runs too (default: only the runs not done)")
    s.set_defaults(handler=_cmd_status)


def settings(args: argparse.Namespace) -> tuple[Sweep, str, dict[str, Any], int]:
    """The sweep, executor, Slurm options and pack size from the sweep file (if any) overridden by the options given."""
    from disbench.harness.sweep import Sweep, SweepError, load_sweep_file, parse_seeds

    file = load_sweep_file(args.config) if hasattr(args, "config") else None
    values: dict[str, Any] = file.model_dump(exclude={"slurm", "executor", "pack"}) if file else {}
    values.update({key: getattr(args, key) for key in GRID_KEYS if hasattr(args, key)})
    missing = [f"--{key}" for key in ("submissions", "tasks") if key not in values]
    if missing:
        raise SweepError(f"A sweep needs {' and '.join(missing)} (or a sweep file with them: --config sweeps/<name>.toml).")
    values["seeds"] = parse_seeds(values.get("seeds"))
    values["submissions"], values["tasks"] = tuple(values["submissions"]), tuple(values["tasks"])
    slurm = file.slurm.model_dump() if file else {}
    slurm.update({field: getattr(args, dest) for dest, field in SLURM_FLAGS.items() if hasattr(args, dest)})
    executor = getattr(args, "executor", None) or (file.executor if file else "local")
    pack = getattr(args, "pack", None) or (file.pack if file else 1)
    return Sweep(**values), executor, slurm, pack


def _plan_table(states: list[RunState]) -> str:
    from tabulate import tabulate

    from disbench.harness.sweep import action

    rows = [(s.run.submission, s.run.task_id, s.run.seed, s.state.value, action(s.state).value, _short(s.reason)) for s in states]
    return tabulate(rows, headers=["submission", "task", "seed", "state", "action", "why"], tablefmt="simple")


def _short(text: str | None, limit: int = 200) -> str:
    """The first line of a reason, cut to ``limit`` characters (the record has all of it)."""
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _summary(states: list[RunState]) -> str:
    from disbench.harness.sweep import counts

    tally = counts(states)
    return ", ".join(f"{n} {state.value}" for state, n in tally.items() if n) or "no runs"


def _cmd_sweep(args: argparse.Namespace) -> int:
    from disbench.files import writable_folder
    from disbench.harness.sweep import Action, SweepError, action, expand, group_runs, survey, to_do
    from disbench.harness.sweep.executors import SlurmOptions, make_executor, run_local, submit, wait

    sweep, executor, slurm, pack = settings(args)
    if args.device is not None and executor != "slurm":  # runs here: a GPU this machine lacks fails now, not once per run
        from disbench.harness.run.train import check_device

        check_device(args.device)
    options = SlurmOptions(**slurm)
    grid = expand(sweep)
    cluster = "slurm" if executor == "slurm" else "local"
    log_dir = Path(args.log_dir) if args.log_dir else sweep.runs_dir / "sweep-logs"
    submitter = make_executor(cluster, log_dir, options) if executor != "local" and not args.dry_run else None  # no cluster: fail now
    for note in grid.notes:
        print(f"note: {note}")
    states = survey(grid.runs)
    todo = to_do(states)
    planned = {a: sum(action(s.state) is a for s in todo) for a in (Action.START, Action.RESUME, Action.RERUN)}
    print(f"grid: {_count(len(grid.runs), 'run')} ({_count(len(grid.submissions), 'submission')}, "
          f"{_count(len({r.task_id for r in grid.runs}), 'task')}, protocol {sweep.protocol}): {_summary(states)}")
    print(f"to do: {_count(len(todo), 'run')} ({planned[Action.START]} to start, {planned[Action.RESUME]} to resume, "
          f"{planned[Action.RERUN]} to re-run)" + (f" with the {executor} executor" if todo else "") + (f", packed by up to {pack}" if todo and pack > 1 else ""))
    if args.dry_run:
        if todo:
            print(_plan_table(todo))
        return 0
    if not todo:
        print("nothing to do: every run is done or running.")
        return 0
    folders = [(sweep.results_dir, "--results-dir"), (sweep.runs_dir, "--runs-dir")] + ([(log_dir, "--log-dir")] if executor != "local" else [])
    for folder, option in folders:  # the job logs are the submitit executors' alone
        writable_folder(folder, f"{option} folder", SweepError)  # once, before any run: not the same failure in every run
    groups = group_runs([s.run for s in todo], pack)
    if executor == "local":
        outcomes = run_local(groups, device=args.device, progress=not args.quiet)
    else:
        jobs = submit(groups, submitter, device=args.device)
        ids = sorted({str(job.job_id).split("_")[0] for job in jobs})
        print(f"submitted {_count(len(jobs), 'job')} ({', '.join(ids)}); logs in {log_dir}/<job id>/")
        if cluster == "slurm" and not args.wait:
            print("follow them with `disbench sweep status` and the same grid options (or --config), e.g. with --watch 60")
            return 0
        outcomes = wait(jobs, groups, progress=not args.quiet, poll_s=2.0 if cluster == "local" else 30.0)
    tally = {status: sum(o.status == status for o in outcomes) for status in ("completed", "failed", "skipped")}
    print(f"sweep finished: {tally['completed']} completed, {tally['failed']} failed, {tally['skipped']} skipped")
    for o in outcomes:
        if o.status == "failed":
            print(f"  failed: {o.run.label}: {_short(o.detail)}")
    return 1 if tally["failed"] else 0


def status_text(states: list[RunState], show_all: bool = False) -> str:
    """The status table (runs not done, or every run), counts, progress and ETA."""
    from tabulate import tabulate

    from disbench.harness.sweep import State, counts, estimate_eta_s

    shown = [s for s in states if show_all or s.state is not State.DONE]
    rows = [(s.run.submission, s.run.task_id, s.run.seed, s.state.value, _short(s.reason)) for s in shown]
    done = counts(states)[State.DONE]
    eta = estimate_eta_s(states)
    lines = [tabulate(rows, headers=["submission", "task", "seed", "state", "reason"], tablefmt="simple")] if rows else []
    lines.append(f"{_summary(states)}; {done}/{len(states)} done" + (f", ETA ~{duration(eta)}" if eta and done < len(states) else ""))
    return "\n".join(lines)


def _cmd_status(args: argparse.Namespace) -> int:
    from disbench.files import existing_folder
    from disbench.harness.sweep import State, SweepError, expand, survey

    sweep, _, _, _ = settings(args)
    grid = expand(sweep)
    for folder, option in ((sweep.results_dir, "--results-dir"), (sweep.runs_dir, "--runs-dir")):
        if folder.exists():  # a file there: every run would read as missing (a folder not made yet is a sweep not started)
            existing_folder(folder, f"The {option} folder", "give the folder the sweep wrote.", SweepError)
    try:
        while True:
            states = survey(grid.runs)
            if args.watch is not None and sys.stdout.isatty():
                print("\033[2J\033[H", end="")
            if args.watch is not None:
                print(f"{datetime.now():%H:%M:%S}  every {args.watch:g}s, Ctrl-C stops")
            print(status_text(states, show_all=args.all))
            if args.watch is None or all(s.state is State.DONE for s in states):
                return 0
            time.sleep(args.watch)
    except KeyboardInterrupt:
        return 0

