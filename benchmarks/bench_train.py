"""Seconds per training step of beta-VAE / conv64: the harness against a bare PyTorch loop.

The bare loop does what any user's loop would: sample a batch from the task (channels-last),
compute the beta-VAE loss, step Adam. The harness runs ``disbench.train`` on the same model,
data and budget (its time excludes evaluation). Target: <= 5% overhead on the CPU. Medians of
``--repeats`` runs of ``--steps`` steps at batch 64 and 256.

    python benchmarks/bench_train.py [--device cuda] [--steps 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
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
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        train(task, model(device), seed=0, protocol=protocol, device=device, out_dir=Path(tmp) / "run", results_dir=None,
              progress=True, evaluate=False)
        return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    device = torch.device(args.device)
    tune_allocator()  # as the disbench command line does; affects both loops alike
    task = disbench.make("xysquares-mse").to(device)
    results = {}
    for batch_size in (64, 256):
        bare, full = [], []
        bare_loop(task, device, 5, batch_size)  # warm up
        for _ in range(args.repeats):  # interleaved, so drift affects both alike
            bare.append(bare_loop(task, device, args.steps, batch_size))
            full.append(harness(task, device, args.steps, batch_size))
        b, h = statistics.median(bare), statistics.median(full)
        results[f"batch_{batch_size}"] = {"bare_s_per_step": b, "harness_s_per_step": h, "overhead": h / b - 1,
                                          "bare_runs": bare, "harness_runs": full,
                                          "standard_run_hours_at_this_speed": h * 57_600 / 3600 if batch_size == 256 else None}
        print(batch_size, {k: round(v, 4) for k, v in results[f"batch_{batch_size}"].items() if isinstance(v, float)}, flush=True)
    write_results(f"train_{device.type}", {"device": str(device), "steps": args.steps, "results": results, "target_overhead": 0.05})


if __name__ == "__main__":
    main()
