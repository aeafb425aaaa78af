"""What an ``extended``-tier run costs on this machine, for the two baselines (beta-VAE, Ada-GVAE).

Two measurements, and the projection they give:

- now: seconds per training step through the harness (the submission in its child process, as
  ``disbench run`` trains it) at the tier's batch size on ``xysquares-mse``, the median of
  ``--repeats`` runs of ``--steps`` steps, each run's first logging window (a fresh process's
  warm-up) left out;
- the committed quick-tier records of the same submissions (same batch, same ``fast`` suite): their
  training seconds per step, curve seconds and final-suite seconds, medians over the records.

The extended tier trains 5x the quick tier's steps and scores 2.5x its curve (10 DCI and 20 MIG
points against 4 and 8); its final suite is the quick tier's. So a run costs about
``steps x s/step + 2.5 x quick curve + quick final suite + child start``.

    python benchmarks/bench_tier.py [--steps 40] [--repeats 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from common import write_results

import disbench
from disbench.harness.child.remote import RemoteLearner
from disbench.harness.record import load_records
from disbench.harness.run import submission_record
from disbench.harness.run.train import run_training
from disbench.harness.submission import Submission

ROOT = Path(__file__).resolve().parents[1]
BASELINES = ("beta-vae", "ada-gvae")
WINDOW = 10


def seconds_per_step(task, submission: Submission, tier, steps: int) -> tuple[float, float]:
    """(steady seconds per step, seconds to the end of the first window) of one short harness run."""
    protocol = dataclasses.replace(tier, name="bench", steps=steps, curve=(), seeds=(0,))
    record = submission_record(submission, task.id)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        run_training(task, lambda dev: RemoteLearner(submission.path, task, protocol, 0, record.hyperparameters, dev), 0, protocol, "cpu",
                     Path(tmp) / "run", submission=record, results_dir=None, progress=False, evaluate=False, log_every=WINDOW, checkpoint_every=10**9)
        total = time.perf_counter() - started
        rows = [json.loads(line) for line in (Path(tmp) / "run" / "curves.jsonl").read_text().splitlines()]
    windows = [WINDOW / row["steps_per_s"] for row in rows]
    steady = sum(windows[1:]) / (steps - WINDOW)
    return steady, total - steady * (steps - WINDOW)


def quick_records(name: str) -> dict[str, float]:
    """Medians over the committed quick-tier records of the submission ``name`` that carry a curve."""
    records = [r for folder in ("leaderboards/results", "reproduction/results") for r in load_records(ROOT / folder)
               if r.submission.name == name and r.protocol.name == "quick" and r.curve and r.status == "completed"]
    return {"records": len(records), "s_per_step": statistics.median(r.training.wall_time_s / r.training.steps for r in records),
            "curve_s": statistics.median(r.training.curve_time_s for r in records),
            "final_suite_s": statistics.median(r.training.evaluation_time_s for r in records)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--note", default="", help="what else the machine was doing, kept in the results file")
    args = parser.parse_args()
    load_at_start = list(os.getloadavg())
    task = disbench.make("xysquares-mse")
    tier, quick = task.get_protocol("extended"), task.get_protocol("quick")
    curve_factor = sum(tier.steps // every for _, every in tier.curve) / sum(quick.steps // every for _, every in quick.curve)
    results = {}
    for name in BASELINES:
        submission = Submission(ROOT / "submissions" / name)
        runs = [seconds_per_step(task, submission, tier, args.steps) for _ in range(args.repeats)]
        now = statistics.median(s for s, _ in runs)
        start = statistics.median(w for _, w in runs)
        past = quick_records(name)
        extra = curve_factor * past["curve_s"] + past["final_suite_s"] + start
        results[name] = {
            "s_per_step_now": now, "s_per_step_runs": [s for s, _ in runs], "start_and_warmup_s": start, "quick_records": past,
            "extended_minutes_at_now": (tier.steps * now + extra) / 60, "extended_minutes_at_records": (tier.steps * past["s_per_step"] + extra) / 60,
        }
        print(name, {k: round(v, 3) if isinstance(v, float) else v for k, v in results[name].items()}, flush=True)
    write_results("tier_cpu", {"tier": "extended", "steps": tier.steps, "batch_size": tier.batch_size, "curve": dict(tier.curve),
                               "curve_points_vs_quick": curve_factor, "steps_per_run": args.steps, "repeats": args.repeats,
                               "load_average_at_start": load_at_start, "load_average_at_end": list(os.getloadavg()), "note": args.note,
                               "results": results})


if __name__ == "__main__":
    main()
