"""Getting an experiment's records: reuse the valid ones that exist, run the rest as a sweep.

A run counts as done when a results folder holds its record for the tier's current protocol hash
and the submission folder's current content hash (``disbench.harness.sweep.classify``). The
folders searched are the ``reuse`` folders (by default the committed ``leaderboards/results`` and
``reproduction/results``) and the one new runs go to, so a fresh clone reports from the committed
records without training, and trains only what is missing; a local run of the same slot never
changes a report of the committed records (see :func:`plan`).

New runs train on the public task, as the paper did: a secret variant (``harness/run/seal.py``) is
drawn from a group that depends on the loss (a blurred loss admits no shift), so sealed runs of two
losses would not see the same kind of data. Reused board records are sealed; a report says so.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from disbench.harness.record import RunResult
from disbench.harness.submission import Submission
from disbench.harness.sweep import Run, RunState, State, Sweep, classify, current_hashes, expand, group_runs
from disbench.reproduction.experiments import ROOT, Arm, ReproductionError

DEFAULT_REUSE = (ROOT / "leaderboards" / "results", ROOT / "reproduction" / "results")


@dataclass(frozen=True)
class Planned:
    """One run of the experiment: its arm, and either the record found for it or what the sweep will do."""

    arm: Arm
    run: Run
    record: RunResult | None  # a done record, from results_dir or a reuse folder
    found_in: Path | None
    state: RunState  # in results_dir, where a new run would go


def plan(arms: Sequence[Arm], tier: str, seeds: tuple[int, ...] | str, results_dir: Path, runs_dir: Path,
         reuse: Sequence[Path] = DEFAULT_REUSE, local: Literal["first", "last", "never"] = "first", every_recorded: bool = False) -> list[Planned]:
    """Every run of ``arms`` × seeds under ``tier``, each with the done record found for it, if any.

    ``results_dir`` (where new runs go) is searched before the ``reuse`` folders (``local="first"``:
    a folder the user named), after them (``"last"``: committed records win, local ones fill the
    gaps, as when training), or not at all (``"never"``: a report of the committed records alone).
    ``every_recorded`` adds, per arm, every other seed with a valid record in those folders (a report
    shows every run there is, not only the seeds asked for; nothing else is added to train).
    """
    import disbench

    folders = {"first": [results_dir, *reuse], "last": [*reuse, results_dir], "never": list(reuse)}[local]
    planned, content_hashes = [], {}
    for arm in arms:
        spec = disbench.spec(arm.task)
        if tier not in spec.protocols:
            raise ReproductionError(f"Task {arm.task} has no {tier!r} tier; its tiers are {', '.join(spec.protocols)}.")
        grid = expand(Sweep((str(arm.submission),), (arm.task,), seeds, tier, results_dir=results_dir, runs_dir=runs_dir, sealed=False))
        asked = {run.seed for run in grid.runs}
        if every_recorded:
            extra = sorted(_recorded_seeds(folders, spec.id, Submission(arm.submission).name, tier) - asked)
            if extra:
                grid = expand(Sweep((str(arm.submission),), (arm.task,), tuple(sorted(asked | set(extra))), tier,
                                    results_dir=results_dir, runs_dir=runs_dir, sealed=False))
        for run in grid.runs:
            hashes = current_hashes(run, content_hashes)  # each submission folder hashed once
            state = classify(run, *hashes)  # in results_dir, where a new run would go
            found, folder = None, None
            for other in map(Path, folders):
                candidate = state if other.resolve() == run.results_dir else classify(dataclasses.replace(run, results_dir=other.resolve()), *hashes)
                if candidate.state is State.DONE:
                    found, folder = candidate, other
                    break
            if found or run.seed in asked:  # a seed not asked for is shown when it has a valid record, never trained
                planned.append(Planned(arm, run, found.record if found else None, folder, state))
    return planned


def _recorded_seeds(folders: Sequence[Path], task_id: str, submission: str, tier: str) -> set[int]:
    """Seeds with a record file ``<folder>/<task>/<submission>/<tier>/seed-<n>.json`` in any of ``folders``."""
    seeds = set()
    for folder in folders:
        for path in (Path(folder) / task_id / submission / tier).glob("seed-*.json"):
            number = path.name.removeprefix("seed-").removesuffix(".json")
            if number.isdigit():
                seeds.add(int(number))
    return seeds


def run_missing(planned: Sequence[Planned], device: str | None = None, progress: bool = True,
                echo: Callable[[str], None] = print) -> list[Planned]:
    """Train every planned run without a record (one after another, through the sweep executor), then
    return the plan with the new records filled in; a failed run keeps ``record=None`` and its reason."""
    from disbench.harness.sweep.executors import run_local

    missing = [p for p in planned if p.record is None and p.state.state is not State.RUNNING]
    if missing:
        run_local(group_runs([p.run for p in missing]), device=device, progress=progress, echo=echo)
    return plan_again(planned)


def plan_again(planned: Sequence[Planned]) -> list[Planned]:
    """The same plan with each run's state re-read from its results folder (after a sweep ran)."""
    out, content_hashes = [], {}
    for p in planned:
        if p.record is not None:
            out.append(p)
            continue
        state = classify(p.run, *current_hashes(p.run, content_hashes))
        done = state.state is State.DONE
        out.append(dataclasses.replace(p, record=state.record if done else None, found_in=p.run.results_dir if done else None, state=state))
    return out
