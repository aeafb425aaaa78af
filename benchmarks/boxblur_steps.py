"""Does the box blur's lead keep growing past the quick tier? (issue 13, docs/protocols.md)

Continues a finished quick-tier run (``disbench reproduce boxblur --tier quick`` leaves its
folder under ``runs/``) past its 2,000 steps: the same weights, optimiser state and data stream,
the quick tier's batches of 64 and its curve (MIG every 250 steps, DCI every 500, the ``fast``
suite), up to ``--steps``, then scores the final model. The continuation trains in this process
in a copy of the run folder under ``runs/explore/``, checkpoints every 500 steps and resumes when
run again. Writes the whole curve, the quick part included, to
``benchmarks/results/boxblur_steps.json``.

    python benchmarks/boxblur_steps.py runs/xysquares-boxblur-v0/ada-gvae-z25-b0.0316/quick/seed-0 --steps 6000
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import time
from datetime import date
from pathlib import Path

import torch

import disbench
from disbench.error import DisbenchError
from disbench.files import write_json_atomic
from disbench.harness.run.evaluation import load_run_state
from disbench.harness.run.train import train
from disbench.harness.submission import Submission
from disbench.methods import TaskInfo

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "boxblur_steps.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a finished quick-tier run folder: runs/<task>/<submission>/quick/seed-<n>")
    parser.add_argument("--steps", type=int, default=6_000, help="train up to this step (default 6,000)")
    parser.add_argument("--work-dir", type=Path, default=ROOT / "runs" / "explore")
    args = parser.parse_args()
    try:
        saved = load_run_state(args.run / "checkpoint.pt")
    except DisbenchError as e:
        raise SystemExit(f"error: {e}") from None
    task, seed, name = disbench.make(saved["task_spec"]["id"]), saved["seed"], saved["submission"]["name"]
    quick = task.get_protocol("quick")
    if saved["protocol"] != quick.to_dict() or saved["step"] != quick.steps:
        raise SystemExit(f"{args.run} is not a finished run of {task.id}'s current quick tier; run `disbench reproduce boxblur --tier quick` first.")
    folder = args.work_dir / task.id / name / f"seed-{seed}"
    if not (folder / "checkpoint.pt").exists():  # start from the quick run's last checkpoint
        folder.mkdir(parents=True, exist_ok=True)
        for file in (saved["model_file"], "curves.jsonl", "checkpoint.pt"):  # checkpoint last: it names the model file
            shutil.copy2(args.run / file, folder / file)
    submission = Submission(Path(saved["submission_path"]))
    method = submission.build(TaskInfo.from_task(task, "quick"))
    started = time.perf_counter()
    train(task, method, seed=seed, protocol=dataclasses.replace(quick, steps=args.steps), device="cpu", out_dir=folder,
          results_dir=None, resume=True, checkpoint_every=500, progress=False)  # scores the curve, then the final model
    state = load_run_state(folder / "checkpoint.pt")
    rows = [r for r in (json.loads(OUT.read_text())["rows"] if OUT.exists() else []) if (r["task"], r["submission"], r["seed"]) != (task.id, name, seed)]
    rows.append({"task": task.id, "submission": name, "seed": seed, "hyperparameters": saved["submission"]["hyperparameters"],
                 "steps": state["step"], "batch_size": quick.batch_size, "train_s": round(state["elapsed"], 1),
                 "curve_s": round(state["curve_time"], 1), "this_call_s": round(time.perf_counter() - started, 1), "curve": state["curve"]})
    write_json_atomic(OUT, {"date": date.today().isoformat(), "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                            "torch": torch.__version__, "note": "continuations of quick-tier runs; steps <= 2,000 are the quick run's own curve",
                            "rows": rows})
    print(f"{task.id} {name} seed {seed}: step {state['step']}, curve written to {OUT}")


if __name__ == "__main__":
    main()
