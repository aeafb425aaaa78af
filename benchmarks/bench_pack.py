"""Model-steps per second of K beta-VAEs (conv64) trained packed, against the same K trained solo.

Three ways to train K models on one device, each timed as ``--steps`` optimiser steps of every
model, median of ``--repeats`` (after one warm-up), on batches rendered once before timing (so
that only the training step is measured):

* ``solo``: the K models one after another, each a plain learner (``disbench.harness.child.learner``),
  as K solo runs do; its model-steps/s hardly depends on K;
* ``packed``: ``disbench.harness.pack.PackedLearner``, what ``--pack K`` runs in the child: stacked
  parameters, ``vmap(functional_call(...))``, each model's noise drawn from its own stream;
* ``grouped``: a hand-written K-model beta-VAE whose convolutions are grouped convolutions
  (``groups=K``) and whose linear layers are batched matrix products, activations kept as
  ``[N, K*C, H, W]`` throughout. ``vmap`` lowers each convolution to this same grouped convolution,
  but moves the model dimension in and out around it; this variant shows what that costs. It needs
  the model rewritten by hand, which is why disbench packs with ``vmap``.

and, end to end, ``harness``: the ``beta-vae`` submission trained by the harness as ``disbench run
--pack K`` trains it (for K = 1 as a solo run): one child process, every step's K batches rendered
by the harness and handed over through shared memory, losses checked per logging window; its
model-steps/s are the steady state (every logging window but the first, as in ``bench_train.py``).
Where ``harness`` falls behind ``packed``, the harness's data path is the bottleneck.

Packing pays where one model leaves the device idle (a GPU). On a CPU expect it to lose: PyTorch's
CPU grouped convolution is slow at the weight gradient of layers with few channels per group (the
conv64's 3-channel first and last layers), which ``grouped`` shows as well (docs/sweeps.md).

    python benchmarks/bench_pack.py [--device cuda] [--ks 1 2 4 8 16] [--steps 20] [--repeats 3] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F
from common import RESULTS, machine, median_time
from torch import nn

import disbench
from disbench.harness.child.allocator import tune_allocator
from disbench.harness.child.learner import Learner
from disbench.harness.child.remote import RemoteLearner
from disbench.harness.pack import PackedLearner
from disbench.harness.pack.remote import RemotePack
from disbench.harness.pack.train import run_packed_training
from disbench.harness.record import SubmissionRecord
from disbench.harness.run.train import run_training
from disbench.methods import BetaVAE
from disbench.methods.conv64 import xavier_init
from disbench.protocol import Protocol

LATENT, BETA, LR = 9, 0.001, 1e-3
SUBMISSION = Path(__file__).resolve().parents[1] / "submissions" / "beta-vae"
HYPERPARAMETERS = {"latent_dim": LATENT, "beta": BETA}
WINDOW = 5  # steps per logging window of the harness runs; the first window is the child's warm-up


def solo(task, device, batches):
    learners = []
    for k in range(len(batches)):
        torch.manual_seed(k)
        learners.append(Learner(BetaVAE((3, 64, 64), LATENT, beta=BETA), task.recon_loss, LR, device))

    def step():
        for learner, x in zip(learners, batches):
            learner.step(x)
    return step


def packed(task, device, batches):
    methods = []
    for k in range(len(batches)):
        torch.manual_seed(k)
        methods.append(BetaVAE((3, 64, 64), LATENT, beta=BETA))
    pack = PackedLearner(methods, list(range(len(batches))), task.recon_loss, LR, device)
    pack.probe(batches[0])
    x = torch.stack(batches)
    return lambda: pack.step(x)


class GroupedLinear(nn.Module):
    """K independent linear layers: ``[K, N, in] -> [K, N, out]`` as one batched matrix product."""

    def __init__(self, k: int, n_in: int, n_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.stack([nn.init.xavier_normal_(torch.empty(n_out, n_in)).T for _ in range(k)]))
        self.bias = nn.Parameter(torch.zeros(k, 1, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


class GroupedBetaVAE(nn.Module):
    """K conv64 beta-VAEs as one network; model ``j`` owns channels ``[j C, (j + 1) C)`` of every
    convolutional activation and row ``j`` of every linear one."""

    def __init__(self, k: int, channels: int = 3) -> None:
        super().__init__()
        self.k = k
        conv = [(channels, 32), (32, 32), (32, 64), (64, 64)]
        self.encoder = nn.ModuleList(nn.Conv2d(k * a, k * b, 4, stride=2, padding=2, groups=k) for a, b in conv)
        self.to_hidden, self.to_posterior = GroupedLinear(k, 1600, 256), GroupedLinear(k, 256, 2 * LATENT)
        self.from_latent, self.to_grid = GroupedLinear(k, LATENT, 256), GroupedLinear(k, 256, 1024)
        deconv = [(64, 64), (64, 32), (32, 32), (32, channels)]
        self.decoder = nn.ModuleList(nn.ConvTranspose2d(k * a, k * b, 4, stride=2, padding=1, groups=k) for a, b in deconv)
        xavier_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The K models' summed beta-VAE losses on ``x [N, K*C, H, W]`` (model-major channels)."""
        n, k = x.shape[0], self.k
        h = x
        for conv in self.encoder:
            h = F.relu(conv(h))
        h = h.view(n, k, -1).transpose(0, 1)  # [K, N, 1600]
        mean, logvar = self.to_posterior(F.relu(self.to_hidden(h))).chunk(2, dim=2)
        z = mean + torch.randn_like(mean) * (0.5 * logvar).exp()
        h = F.relu(self.to_grid(F.relu(self.from_latent(z))))  # [K, N, 1024]
        h = h.transpose(0, 1).reshape(n, k * 64, 4, 4)
        for i, deconv in enumerate(self.decoder):
            h = deconv(h) if i == len(self.decoder) - 1 else F.relu(deconv(h))
        recon = (h - x).square().view(n, k, -1).mean(dim=2).mean(dim=0)  # [K]: each model's mean MSE
        kl = 0.5 * (mean.square() + logvar.exp() - logvar - 1.0)
        return (recon + BETA * kl.mean(dim=(1, 2))).sum()


def grouped(task, device, batches):
    torch.manual_seed(0)
    model = GroupedBetaVAE(len(batches)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    x = torch.stack(batches, dim=1).flatten(1, 2)  # [N, K*C, H, W]

    def step():
        loss = model(x)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return step


WAYS = {"solo": solo, "packed": packed, "grouped": grouped}


def harness(task, device, batch_size: int, k: int, steps: int) -> dict:
    """K seeds trained end to end through the harness (``--pack K``; solo for K = 1)."""
    protocol = Protocol("bench", steps=max(steps, 3 * WINDOW), batch_size=batch_size, latent_dim=25, metric_suite="smoke", seeds=(0,))
    record = SubmissionRecord(name="beta-vae", version="bench", content_hash=None, supervision="unsupervised", hyperparameters=HYPERPARAMETERS)
    options = {"submission": record, "results_dir": None, "progress": False, "evaluate": False, "data_device": "cpu", "log_every": WINDOW,
               "checkpoint_every": 10**9}
    with tempfile.TemporaryDirectory() as tmp:
        outs = [Path(tmp) / f"seed-{seed}" for seed in range(k)]
        if k == 1:
            run_training(task, lambda dev: RemoteLearner(SUBMISSION, task, protocol, 0, HYPERPARAMETERS, dev), 0, protocol, device, outs[0], **options)
        else:
            run_packed_training(task, lambda dev, seeds: RemotePack(SUBMISSION, task, protocol, seeds, HYPERPARAMETERS, dev), list(range(k)), protocol,
                                device, outs, **options)
        rows = [json.loads(line) for line in (outs[0] / "curves.jsonl").read_text().splitlines()][1:]
    return {"model_steps_per_s": k * WINDOW * len(rows) / sum(WINDOW / row["steps_per_s"] for row in rows), "steps": protocol.steps}


def measure(task, device, batch_size: int, k: int, steps: int, repeats: int) -> dict:
    generators = [torch.Generator().manual_seed(100 + j) for j in range(k)]
    batches = [task.sample(batch_size, generator=g).x.to(device) for g in generators]
    out = {}
    for name, make in WAYS.items():
        step = make(task, device, batches)

        def run(step=step):
            for _ in range(steps):
                step()
            if device.type == "cuda":
                torch.cuda.synchronize()
        seconds, runs = median_time(run, repeats=repeats)
        out[name] = {"model_steps_per_s": k * steps / seconds, "seconds": runs}
    solo_rate = out["solo"]["model_steps_per_s"]
    for name in ("packed", "grouped"):
        out[name]["speedup_over_solo"] = out[name]["model_steps_per_s"] / solo_rate
    out["harness"] = harness(task, device, batch_size, k, steps)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 2, 4, 8, 16], help="pack sizes K")
    parser.add_argument("--steps", type=int, default=20, help="steps of every model per timed block")
    parser.add_argument("--repeats", type=int, default=3, help="timed blocks per measurement (the median is kept)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=None, help="default: the quick tier's 64, and on CUDA also the standard tier's 256")
    parser.add_argument("--out", type=Path, default=None, help="results file (default: benchmarks/results/pack_<device>.json)")
    args = parser.parse_args()
    device = torch.device(args.device)
    batch_sizes = args.batch_sizes or ([64, 256] if device.type == "cuda" else [64])
    tune_allocator()
    task = disbench.make("xysquares-mse").to(device)
    results = {}
    for batch_size in batch_sizes:
        for k in args.ks:
            row = measure(task, device, batch_size, k, args.steps, args.repeats)
            results.setdefault(f"batch_{batch_size}", {})[str(k)] = row
            if "1" in results[f"batch_{batch_size}"]:  # the harness's packs against its solo run
                row["harness"]["speedup_over_solo"] = row["harness"]["model_steps_per_s"] / results[f"batch_{batch_size}"]["1"]["harness"]["model_steps_per_s"]
            print(f"batch {batch_size} K={k}: " + ", ".join(f"{name} {r['model_steps_per_s']:.1f} model-steps/s" for name, r in row.items()), flush=True)
    out = args.out or RESULTS / f"pack_{device.type}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine(), "device": str(device), "steps": args.steps, "repeats": args.repeats, "results": results}, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
