"""What sealing costs a training batch: ``task.sample(256)`` on the public task against the same
call on a sealed variant (``disbench/harness/run/seal.py``), for a pixel-wise loss (every transform:
channels, inversion, a turn or mirror and a circular shift) and a blurred one (no shift).

The two are timed in alternation, each repeat of each a median over 50 batches, so a load that
changes during the run moves both alike; the overhead is the ratio of the medians. The load
average at the start is written beside the numbers.

    python benchmarks/bench_seal.py
"""

from __future__ import annotations

import os
import statistics
import time

import torch
from common import write_results

import disbench
from disbench.harness.child.allocator import tune_allocator
from disbench.harness.run.seal import choose_seal, sealed

BATCH, BATCHES, REPEATS = 256, 50, 7


def batch_seconds(task, generator: torch.Generator) -> float:
    start = time.perf_counter()
    for _ in range(BATCHES):
        task.sample(BATCH, generator)
    return (time.perf_counter() - start) / BATCHES


def compare(task_id: str) -> dict:
    public = disbench.make(task_id)
    seal = choose_seal(public, 12345, "bench")  # a replayed seal: the transforms a secret one would draw from
    variant = sealed(public, seal)
    generator = torch.Generator().manual_seed(0)
    batch_seconds(public, generator), batch_seconds(variant, generator)  # warm-up
    times = {"public": [], "sealed": []}
    for _ in range(REPEATS):
        times["public"].append(batch_seconds(public, generator))
        times["sealed"].append(batch_seconds(variant, generator))
    public_s, sealed_s = statistics.median(times["public"]), statistics.median(times["sealed"])
    return {"seal": seal.to_dict(), "public_ms_per_batch": 1e3 * public_s, "sealed_ms_per_batch": 1e3 * sealed_s,
            "overhead": sealed_s / public_s - 1, "runs_ms": {k: [1e3 * t for t in v] for k, v in times.items()}}


def main() -> None:
    tune_allocator()  # as the disbench CLI does at start
    load = os.getloadavg()[0]
    results = {task_id: compare(task_id) for task_id in ("xysquares-mse", "xysquares-boxblur")}
    write_results("seal_cpu", {"batch": BATCH, "batches_per_repeat": BATCHES, "repeats": REPEATS, "load_average_1min_at_start": load, **results})
    for task_id, r in results.items():
        print(f"{task_id}: public {r['public_ms_per_batch']:.2f} ms, sealed {r['sealed_ms_per_batch']:.2f} ms per batch of {BATCH} "
              f"({r['overhead']:+.0%}); load {load:.1f}")


if __name__ == "__main__":
    main()
