"""Metric speed and memory at the standard sample counts on XYSquares with the conv64 encoder.

Each metric is timed alone in a fresh child process (its own encoding included, nothing cached
between metrics) and reports its peak memory above the process's baseline; then the whole
standard suite is timed, where observations are encoded once and shared. Also times MIG's
computation alone on 10,000 given codes. Medians over ``--repeats`` runs.

Reference points (issue #4, the best existing PyTorch framework on the same 2-core machine):
MIG 4.1 s, SAP 6.2 s, DCI 131 s, FactorVAE 169 s, flatness 17 s, factored components 54 s
(7.2 GiB peak); about 6.5 minutes in all.

    python benchmarks/bench_metrics.py [--repeats 3] [--device cuda]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import textwrap

import numpy as np
from common import median_time, write_results

CHILD = textwrap.dedent('''
    import json, resource, sys, time
    import torch
    import disbench
    from disbench.harness.child.learner import Learner
    from disbench.methods import BetaVAE
    from disbench.metrics import evaluate

    metric, device = sys.argv[1], sys.argv[2]
    task = disbench.make("xysquares-mse").to(device)
    torch.manual_seed(0)
    learner = Learner(BetaVAE(task.data.obs_shape, 10), task.recon_loss, 1e-3, device)  # encodes in eval mode, channels-last
    metrics = None if metric == "suite" else [metric]
    evaluate(task, learner.encode, suite="smoke", metrics=["mig"])  # warm up the libraries
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    scores = evaluate(task, learner.encode, suite="standard", seed=0, device=device, metrics=metrics)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": elapsed, "peak_rss_mib": peak, "extra_rss_mib": peak - base, "scores": scores}))
''')

METRICS = ("mig", "sap", "dci", "modularity_explicitness", "irs", "unsupervised", "factor_vae", "beta_vae", "flatness", "factored_components")


def child(metric: str, device: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, metric, device], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    from disbench.metrics import mig

    rng = np.random.default_rng(0)
    factors = rng.integers(0, 8, (10_000, 6))
    codes = factors + rng.standard_normal((10_000, 6)) * 0.3
    codes = np.concatenate([codes, rng.standard_normal((10_000, 4))], axis=1)
    mig_median, mig_runs = median_time(lambda: mig(codes, factors), repeats=5)

    per_metric = {}
    for metric in (*METRICS, "suite"):
        runs = [child(metric, args.device) for _ in range(args.repeats)]
        seconds = [r["seconds"] for r in runs]
        per_metric[metric] = {"median_s": statistics.median(seconds), "runs_s": seconds,
                              "peak_rss_mib": max(r["peak_rss_mib"] for r in runs), "extra_rss_mib": max(r["extra_rss_mib"] for r in runs)}
        print(metric, {k: (round(v, 2) if isinstance(v, float) else v) for k, v in per_metric[metric].items()}, flush=True)
    write_results(f"metrics_{args.device.split(':')[0]}", {
        "device": args.device, "task": "xysquares-mse-v0", "encoder": "conv64 (beta-VAE, z=10, untrained)",
        "mig_array_10000_s": {"median_s": mig_median, "runs_s": mig_runs},
        "standard_counts": per_metric,
        "reference_framework_s": {"mig": 4.1, "sap": 6.2, "dci": 131, "factor_vae": 169, "flatness": 17, "factored_components": 54, "total": 390},
    })


if __name__ == "__main__":
    main()
