"""Evidence for the length of the ``quick`` tier (docs/protocols.md).

Ada-GVAE (beta = 0.001, z = 9, the ada-gvae baseline) on ``xysquares-s1-mse`` (1 px spacing,
the paper's easiest overlap) and ``xysquares-mse`` (spacing 8, adversarial), batch 64 pairs,
scored with the ``fast`` metric suite after 500, 1000, 1500 and 2000 steps of one run each
(the run is resumed from its checkpoint between evaluations). Writes
``benchmarks/results/quick_protocol.json``.

    python benchmarks/quick_protocol.py [--seed 0] [--steps 500 1000 1500 2000]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

import torch

import disbench
from disbench.harness.run.train import train
from disbench.harness.submission import Submission
from disbench.methods import TaskInfo

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, nargs="+", default=[500, 1000, 1500, 2000])
    parser.add_argument("--tasks", nargs="+", default=["xysquares-s1-mse", "xysquares-mse"])
    args = parser.parse_args()
    submission = Submission(ROOT / "submissions" / "ada-gvae")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for task_id in args.tasks:
            task = disbench.make(task_id)
            torch.manual_seed(args.seed)
            method = submission.build(TaskInfo.from_task(task, "quick"))  # in this process: a measurement, not a record
            for i, steps in enumerate(args.steps):
                protocol = dataclasses.replace(task.protocols["quick"], steps=steps)
                started = time.perf_counter()
                record = train(task, method, seed=args.seed, protocol=protocol, device="cpu", out_dir=Path(tmp) / task_id,
                               results_dir=None, resume=i > 0, progress=False)
                row = {"task": task_id, "steps": steps, "train_time_s": record.training.wall_time_s,
                       "eval_time_s": record.training.evaluation_time_s, "segment_time_s": time.perf_counter() - started,
                       **{k: record.metrics[k] for k in ("mig", "dci.disentanglement", "factor_vae.eval_accuracy", "sap")}}
                rows.append(row)
                print(json.dumps(row), flush=True)
    out = ROOT / "benchmarks" / "results" / "quick_protocol.json"
    out.write_text(json.dumps({"date": date.today().isoformat(), "machine": platform.processor() or platform.machine(),
                               "cpus": __import__("os").cpu_count(), "seed": args.seed, "batch_size": 64, "rows": rows}, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
