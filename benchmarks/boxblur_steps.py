"""Where does the box-blur loss start to help on a CPU? (issue 13, docs/protocols.md)

Trains Ada-GVAE with Fig. 11's shape (z = 25, beta = 0.0001, the fixed averaging; paper.md
§4.6/§6.3) on ``xysquares-boxblur`` and on ``xysquares-mse`` with batches of 64 pairs (the quick
tier's), one long run per task and seed, and scores MIG, DCI and FactorVAE with the ``fast``
suite (the paper's in-training settings, paper.md §4.7) every ``--every`` steps. Each run keeps
going from its checkpoint between evaluations, and the whole script resumes: rows already in
the results file are kept, and a run continues from ``runs/explore/...`` where it stopped.
Writes ``benchmarks/results/boxblur_steps.json`` after every evaluation.

    python benchmarks/boxblur_steps.py [--seeds 0 1] [--steps 10000] [--every 1000]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import time
from datetime import date
from pathlib import Path

import torch

import disbench
from disbench.files import write_json_atomic
from disbench.harness.evaluation import load_run_state
from disbench.harness.learner import Learner
from disbench.harness.submission import Submission
from disbench.harness.train import train
from disbench.methods import TaskInfo
from disbench.metrics import evaluate

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "boxblur_steps.json"
METRICS = ["mig", "dci", "factor_vae"]
KEEP = ("mig", "dci.disentanglement", "dci.completeness", "factor_vae.eval_accuracy")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--every", type=int, default=1_000)
    parser.add_argument("--tasks", nargs="+", default=["xysquares-boxblur", "xysquares-mse"])
    parser.add_argument("--latent-dim", type=int, default=25)
    parser.add_argument("--beta", type=float, default=0.0001)
    parser.add_argument("--work-dir", default=str(ROOT / "runs" / "explore"))
    args = parser.parse_args()
    settings = {"submission": "ada-gvae", "latent_dim": args.latent_dim, "beta": args.beta, "average": "gvae", "batch_size": 64}
    rows = json.loads(OUT.read_text())["rows"] if OUT.exists() else []
    submission = Submission(ROOT / "submissions" / "ada-gvae")
    for seed in args.seeds:
        for task_id in args.tasks:
            task = disbench.make(task_id)
            out_dir = Path(args.work_dir) / f"{task_id}-z{args.latent_dim}-b{args.beta:g}" / f"seed-{seed}"
            done = [r["steps"] for r in rows if r["task"] == task_id and r["seed"] == seed and r["latent_dim"] == args.latent_dim and r["beta"] == args.beta]
            step = max(done, default=0)
            if step and (not (out_dir / "checkpoint.pt").exists() or load_run_state(out_dir / "checkpoint.pt")["step"] != step):
                raise SystemExit(f"{out_dir} has no checkpoint at step {step}; delete its rows from {OUT} to start it again.")
            torch.manual_seed(seed)
            method = submission.build(TaskInfo.from_task(task, "quick"), latent_dim=args.latent_dim, beta=args.beta, average="gvae")
            while step < args.steps:
                step += args.every
                tier = dataclasses.replace(task.protocols["quick"], steps=step)
                started = time.perf_counter()
                train(task, method, seed=seed, protocol=tier, device="cpu", out_dir=out_dir, results_dir=None,
                      resume=(out_dir / "checkpoint.pt").exists(), overwrite=not (out_dir / "checkpoint.pt").exists(), progress=False, evaluate=False)
                trained = time.perf_counter() - started
                learner = Learner(method, task.recon_loss, tier.lr, "cpu")
                started = time.perf_counter()
                scores = evaluate(task, learner.encode, suite="fast", seed=seed, metrics=METRICS)
                row = {"task": task_id, "seed": seed, "steps": step, **settings, "segment_train_s": round(trained, 1),
                       "eval_s": round(time.perf_counter() - started, 1), **{k: scores[k] for k in KEEP}}
                rows.append(row)
                print(json.dumps(row), flush=True)
                write_json_atomic(OUT, {"date": date.today().isoformat(), "machine": platform.processor() or platform.machine(),
                                        "cpus": os.cpu_count(), "torch": torch.__version__, "rows": rows})


if __name__ == "__main__":
    main()
