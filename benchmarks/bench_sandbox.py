"""What the sandbox costs: a child's start-up (import + build of the beta-vae submission, until it
is ready) and one training step through the boundary, with each level of isolation this machine
gives, interleaved round-robin so drift hits every level alike.

    python bench_sandbox.py            # as root, after `disbench sandbox setup`, for all three levels
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from unittest import mock

import torch
from common import write_results

import disbench
from disbench.harness.child import remote
from disbench.harness.child.sandbox import Isolation, isolation

SUBMISSION = Path(__file__).resolve().parents[1] / "submissions" / "beta-vae"
LEVELS = {
    "none (no bubblewrap)": Isolation(False, False, False),
    "namespaces only": Isolation(True, False, False),
    "namespaces, separate user, cgroup": Isolation(True, True, True),
}


def one(level: Isolation, task, tier, batch) -> tuple[float, float]:
    """Seconds until the child is ready, and the median of 5 training steps after 2 warm-up steps."""
    with mock.patch.object(remote, "isolation", lambda: level):
        started = time.perf_counter()
        learner = remote.RemoteLearner(SUBMISSION, task, tier, 0, {"latent_dim": 9, "beta": 0.001}, device="cpu")
        ready = time.perf_counter() - started
        with learner:
            steps = []
            for _ in range(7):
                t = time.perf_counter()
                learner.step(batch)
                learner.end_window()
                steps.append(time.perf_counter() - t)
    return ready, statistics.median(steps[2:])


def main(rounds: int = 5) -> None:
    here = isolation()
    levels = {name: level for name, level in LEVELS.items()
              if (not level.namespaces or here.namespaces) and (not level.separate_user or here.separate_user) and (not level.cgroup or here.cgroup)}
    task = disbench.make("xysquares-mse")
    tier = task.get_protocol("quick")
    batch = task.sample_observations("unsupervised", tier.batch_size, torch.Generator().manual_seed(0))
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in levels}
    for _ in range(rounds):
        for name, level in levels.items():
            times[name].append(one(level, task, tier, batch))
    results = {name: {"startup_s_median": statistics.median(r for r, _ in runs), "step_s_median": statistics.median(s for _, s in runs),
                      "startup_s": [round(r, 3) for r, _ in runs], "step_s": [round(s, 4) for _, s in runs]} for name, runs in times.items()}
    for name, r in results.items():
        print(f"{name:38} start-up {r['startup_s_median']:.2f} s, step {r['step_s_median'] * 1000:.0f} ms (batch {tier.batch_size})")
    write_results("sandbox_cpu", {"rounds": rounds, "batch_size": tier.batch_size, "levels": results, "machine_isolation": vars(here)})


if __name__ == "__main__":
    main()
