"""Seconds per training step of beta-VAE / conv64: the harness against a bare PyTorch loop.

The bare loop does what any user's loop would: sample a batch from the task (channels-last),
compute the beta-VAE loss, step Adam. The harness trains the ``beta-vae`` submission the way
``disbench run`` does: its code in a child process, batches rendered by the harness and handed
over through shared memory, losses checked per logging window, a checkpoint at the end. Its
per-step time is the harness's own training clock over every logging window but the first
(every step and window, transport included); the child's start (Python, torch and the
submission's import, ``build``) and its first window's warm-up (a fresh process's allocator and
kernel caches) are a fixed cost per run, reported apart as ``child_start_s``. Target: <= 5%
overhead per step on the CPU.

The project's CPUs are shared virtual machines whose speed drifts by up to 2x within minutes, so
the two are timed as ``--pairs`` adjacent pairs of ``--steps``-step blocks, in alternating order
(bare-harness, harness-bare, ...). Drift between pairs cancels in each pair's ratio; the order within
a pair still shifts the ratio by several percent (measured: ``overhead_bare_first`` against
``overhead_harness_first``), so the overhead is the geometric mean of the ratios over both orders
(an even number of pairs), which cancels that order effect too.

    python benchmarks/bench_train.py [--device cuda] [--steps 50] [--pairs 10]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
from pathlib import Path

import torch
from common import write_results

import disbench
from disbench.harness.child.allocator import tune_allocator
from disbench.harness.child.remote import RemoteLearner
from disbench.harness.record import SubmissionRecord
from disbench.harness.run.train import run_training
from disbench.methods import BetaVAE, Observations
from disbench.protocol import Protocol

SUBMISSION = Path(__file__).resolve().parents[1] / "submissions" / "beta-vae"
WINDOW = 10  # the harness's first logging window is its warm-up (a fresh process), counted with its start


def model(device):
    torch.manual_seed(0)
    return BetaVAE((3, 64, 64), 9, beta=0.001).to(device=device, memory_format=torch.channels_last)


def bare_loop(task, device, steps, batch_size) -> float:
    task.to(device)  # a harness run before this one renders on the CPU (data_device="cpu") and leaves the task there
    method = model(device)
    optimizer = method.configure_optimizer(1e-3)
    generator = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for _ in range(steps):
        batch = task.sample(batch_size, generator)
        loss = method.loss(Observations(batch.x.contiguous(memory_format=torch.channels_last)), task.recon_loss)["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def harness(task, device, steps, batch_size, starts: list[float]) -> float:
    protocol = Protocol("bench", steps=steps, batch_size=batch_size, latent_dim=25, metric_suite="smoke", seeds=(0,))
    record = SubmissionRecord(name="beta-vae", version="bench", content_hash=None, supervision="unsupervised", hyperparameters={"latent_dim": 9, "beta": 0.001})
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        run_training(task, lambda dev: RemoteLearner(SUBMISSION, task, protocol, 0, record.hyperparameters, dev), 0, protocol, device,
                     Path(tmp) / "run", submission=record, results_dir=None, progress=True, evaluate=False, data_device="cpu",
                     log_every=WINDOW, checkpoint_every=10**9)
        total = time.perf_counter() - started
        rows = [json.loads(line) for line in (Path(tmp) / "run" / "curves.jsonl").read_text().splitlines()]
    windows = [WINDOW / row["steps_per_s"] for row in rows]
    steady = sum(windows[1:]) / (steps - WINDOW)
    starts.append(total - sum(windows) + windows[0] - WINDOW * steady)  # process start, build, and the first window's warm-up
    return steady


def geometric_mean(values: list[float]) -> float:
    return math.exp(statistics.fmean(math.log(v) for v in values))


def summarise(bare: list[float], full: list[float], batch_size: int, starts: list[float]) -> dict:
    """Pair ``i`` ran bare first when ``i`` is even, the harness first when odd."""
    ratios = [h / b for b, h in zip(bare, full)]
    h = statistics.median(full)
    return {
        "bare_s_per_step": statistics.median(bare), "harness_s_per_step": h, "overhead": geometric_mean(ratios) - 1,
        "overhead_bare_first": geometric_mean(ratios[0::2]) - 1, "overhead_harness_first": geometric_mean(ratios[1::2]) - 1,
        "pair_ratios": ratios, "bare_runs": bare, "harness_runs": full,
        "standard_run_hours_at_this_speed": h * 57_600 / 3600 if batch_size == 256 else None,
        "child_start_s": statistics.median(starts), "child_start_runs": starts,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--pairs", type=int, default=10)
    args = parser.parse_args()
    if args.pairs % 2:
        parser.error("--pairs must be even, so that both orders are measured equally often")
    device = torch.device(args.device)
    tune_allocator()  # as the disbench command line does; affects both loops alike
    task = disbench.make("xysquares-mse").to(device)
    results = {}
    for batch_size in (64, 256):
        bare, full, starts = [], [], []
        bare_loop(task, device, 5, batch_size)  # warm up
        for pair in range(args.pairs):
            for which in ("bare", "harness") if pair % 2 == 0 else ("harness", "bare"):
                if which == "bare":
                    bare.append(bare_loop(task, device, args.steps, batch_size))
                else:
                    full.append(harness(task, device, args.steps, batch_size, starts))
        results[f"batch_{batch_size}"] = summarise(bare, full, batch_size, starts)
        print(batch_size, {k: round(v, 4) for k, v in results[f"batch_{batch_size}"].items() if isinstance(v, float)}, flush=True)
    write_results(f"train_{device.type}", {"device": str(device), "steps_per_block": args.steps, "pairs": args.pairs,
                                           "results": results, "target_overhead": 0.05})


if __name__ == "__main__":
    main()
