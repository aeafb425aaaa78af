"""Issue #22's runs on a CPU, in the background, across sessions: one run per ``disbench reproduce`` call,
each completed record committed as it lands with docs/reproduction.md's generated part made afresh.

The grids, in order of what they settle (docs/reproduction.md, "The runs that settle the claims"):
Fig. 11 at z = 25, beta = 0.0001 with eight seeds per arm; the ladder's spacings 1, 2, 4 and 8 with
five seeds; the same Fig. 11 grid with the paper-era Ada-GVAE averaging; and Ada-GVAE at the
extended tier on spacings 8, 1, 5, 6, 7. Within a grid, seed by seed across its arms, so that an
interrupted queue leaves the arms balanced. Run it again at any time: it skips every run with a valid
record (and resumes a run from its checkpoint). A failed run is not committed; the next pass retries it. A record
written but not committed (the queue stopped in between) is committed when the queue starts again.

    nohup nice -n 10 python reproduction/run_queue.py > runs/queue.log 2>&1 &
    python reproduction/run_queue.py --dry-run        # what is left, in order
    python reproduction/run_queue.py --no-commit      # train, but leave committing to you

Commits name only the record's files and the regenerated docs (``git commit -- PATHS``), so
nothing else staged in the working tree goes with them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "reproduction" / "results"
DOCS = ROOT / "docs" / "reproduction.md"
REPORTS = ROOT / "docs" / "reproduction"


@dataclass(frozen=True)
class Grid:
    experiment: str
    tier: str
    average: str
    methods: tuple[str, ...]
    conditions: tuple[str, ...]
    seeds: tuple[int, ...]


QUEUE = (
    Grid("boxblur-b0.0001", "quick", "fixed", ("ada-gvae", "beta-vae"), ("mse", "boxblur"), tuple(range(8))),
    Grid("overlap", "quick", "fixed", ("ada-gvae", "beta-vae"), ("1", "8", "2", "4"), tuple(range(5))),
    Grid("boxblur-b0.0001", "quick", "paper", ("ada-gvae",), ("mse", "boxblur"), tuple(range(8))),
    Grid("overlap", "extended", "fixed", ("ada-gvae",), ("8", "1", "5", "6", "7"), (0,)),
)


def pending(grid: Grid):
    """(method, condition, seed, the run's Planned) of every run of ``grid`` without a valid record, seed by seed."""
    from disbench.reproduction.experiments import EXPERIMENTS
    from disbench.reproduction.runner import DEFAULT_REUSE, plan

    experiment = EXPERIMENTS[grid.experiment]
    arms = experiment.arms(grid.methods, grid.average, grid.conditions)
    planned = plan(arms, grid.tier, grid.seeds, RESULTS, ROOT / "runs", DEFAULT_REUSE)
    order = {c: i for i, c in enumerate(experiment.parse_conditions(grid.conditions))}
    missing = [p for p in planned if p.record is None]
    return sorted(missing, key=lambda p: (p.run.seed, grid.methods.index(p.arm.method), order[p.arm.condition]))


def train(grid: Grid, p) -> bool:
    """Train the one run ``p`` through ``disbench reproduce``; True when its record is there and completed."""
    command = [sys.executable, "-m", "disbench.cli", "reproduce", grid.experiment, "--tier", grid.tier, "--average", grid.average,
               "--methods", p.arm.method, "--conditions", str(p.arm.condition), "--seeds", str(p.run.seed),
               "--results-dir", str(RESULTS), "--out", str(ROOT / "runs" / "reproduction"), "--quiet"]
    print("$ " + " ".join(command[2:]), flush=True)
    subprocess.run(command, cwd=ROOT, check=False)
    from disbench.harness.record import load_record

    path = p.run.record_file
    return path.is_file() and load_record(path).status == "completed"


def commit(record_file: Path) -> None:
    """Commit the run's record (and its traversals picture) with the regenerated summary, naming only those files."""
    from disbench.harness.record import load_record
    from disbench.reproduction.gate import gated_dci
    from disbench.reproduction.summary import write_summary

    record = load_record(record_file)
    write_summary(DOCS)
    refresh_reports()
    files = [record_file, *record_file.parent.glob(f"{record_file.stem}.traversals.png"), DOCS, REPORTS]
    dci = gated_dci(record)
    m, peak = record.metrics, record.max_during_training
    message = (f"Record: {record.submission.name} on {record.task.id.removesuffix('-v0')}, {record.protocol.name} tier, seed {record.seed} "
               f"(MIG {m['mig']:.3f}, max {peak.get('mig', float('nan')):.3f}; DCI {dci.final:.3f}, max {dci.peak:.3f}, "
               f"informativeness {dci.informativeness:.3f}{', gated' if dci.gated else ''}); docs/reproduction.md's summary and reports regenerated")
    paths = [str(f.relative_to(ROOT)) for f in files]
    subprocess.run(["git", "add", "--", *paths], cwd=ROOT, check=True)
    subprocess.run(["git", "commit", "-q", "-m", message, "--", *paths], cwd=ROOT, check=True)
    print(message, flush=True)


def uncommitted() -> list[Path]:
    """Completed records under reproduction/results that git does not track yet (their run finished, their commit did not)."""
    from disbench.harness.record import load_record

    listed = subprocess.run(["git", "ls-files", "--others", "--exclude-standard", "--", str(RESULTS.relative_to(ROOT))],
                            cwd=ROOT, check=True, capture_output=True, text=True).stdout.split()
    files = [ROOT / f for f in listed if Path(f).name.startswith("seed-") and f.endswith(".json")]
    return [f for f in files if load_record(f).status == "completed"]


def refresh_reports() -> None:
    """The full reports in docs/reproduction/ (tables, figures, CSVs) from every record."""
    from disbench.reproduction.summary import FULL_REPORTS

    for args in FULL_REPORTS:
        subprocess.run([sys.executable, "-m", "disbench.cli", "reproduce", *args, "--report-only", "--out", str(REPORTS)],
                       cwd=ROOT, check=False, stdout=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="list the runs left, in order, and stop")
    parser.add_argument("--no-commit", action="store_true", help="train and write records, commit nothing")
    args = parser.parse_args()
    failed = landed = 0
    if not (args.dry_run or args.no_commit):
        for record_file in uncommitted():  # a queue stopped between a run's record and its commit: commit it now
            commit(record_file)
    for grid in QUEUE:
        for p in pending(grid):
            if args.dry_run:
                print(f"{grid.experiment} ({grid.average} averaging): {p.run.label}")
                continue
            if not train(grid, p):
                failed += 1
                print(f"no completed record for {p.run.label}; the next pass retries it", flush=True)
                continue
            landed += 1
            if not args.no_commit:
                commit(p.run.record_file)
    if landed and args.no_commit:
        refresh_reports()  # committed runs brought their reports along
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
