"""Seconds per training step of beta-VAE / conv64: the harness against a bare PyTorch loop.

The bare loop does what any user's loop would: sample a batch from the task (channels-last),
compute the beta-VAE loss, step Adam. The harness runs ``disbench.train`` on the same model,
data and budget (its time covers its set-up, logging, progress bar and final checkpoint, not
evaluation). Target: <= 5% overhead on the CPU.

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
import math
import statistics
import tempfile
import time
from pathlib import Path

import torch
from common import write_results

import disbench
from disbench.harness.allocator import tune_allocator
from disbench.harness.train import train
from disbench.methods import BetaVAE
from disbench.protocol import Protocol


def model(device):
    torch.manual_seed(0)
    return BetaVAE((3, 64, 64), 9, beta=0.001).to(device=device, memory_format=torch.channels_last)


def bare_loop(task, device, steps, batch_size) -> float:
    method = model(device)
    optimizer = method.configure_optimizer(1e-3)
    generator = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for _ in range(steps):
        batch = task.sample(batch_size, generator)
        batch = disbench.Batch(batch.x.contiguous(memory_format=torch.channels_last), batch.factors)
        loss = method.loss(batch, task.recon_loss)["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def harness(task, device, steps, batch_size) -> float:
    protocol = Protocol("bench", steps=steps, batch_size=batch_size, latent_dim=25, metric_suite="smoke", seeds=(0,))
    method = model(device)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        train(task, method, seed=0, protocol=protocol, device=device, out_dir=Path(tmp) / "run", results_dir=None,
              progress=True, evaluate=False)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return (time.perf_counter() - start) / steps


def geometric_mean(values: list[float]) -> float:
    return math.exp(statistics.fmean(math.log(v) for v in values))


def summarise(bare: list[float], full: list[float], batch_size: int) -> dict:
    """Pair ``i`` ran bare first when ``i`` is even, the harness first when odd."""
    ratios = [h / b for b, h in zip(bare, full)]
    h = statistics.median(full)
    return {
        "bare_s_per_step": statistics.median(bare), "harness_s_per_step": h, "overhead": geometric_mean(ratios) - 1,
        "overhead_bare_first": geometric_mean(ratios[0::2]) - 1, "overhead_harness_first": geometric_mean(ratios[1::2]) - 1,
        "pair_ratios": ratios, "bare_runs": bare, "harness_runs": full,
        "standard_run_hours_at_this_speed": h * 57_600 / 3600 if batch_size == 256 else None,
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
        bare, full = [], []
        bare_loop(task, device, 5, batch_size)  # warm up
        for pair in range(args.pairs):
            order = (bare_loop, harness) if pair % 2 == 0 else (harness, bare_loop)
            times = {fn: fn(task, device, args.steps, batch_size) for fn in order}
            bare.append(times[bare_loop])
            full.append(times[harness])
        results[f"batch_{batch_size}"] = summarise(bare, full, batch_size)
        print(batch_size, {k: round(v, 4) for k, v in results[f"batch_{batch_size}"].items() if isinstance(v, float)}, flush=True)
    write_results(f"train_{device.type}", {"device": str(device), "steps_per_block": args.steps, "pairs": args.pairs,
                                           "results": results, "target_overhead": 0.05})


if __name__ == "__main__":
    main()
