"""Cost of the reconstruction losses next to the model they train, at batch 256.

The box blur (63x63 kernel) should cost little next to the conv64 beta-VAE's forward and
backward pass. Times are forward + backward through the loss only, and a whole training step
with MSE; also the box blur forced through FFTs, the path it took before rank-one kernels were
applied as two matrix products. The project's CPUs drift in speed within minutes, so every
candidate is timed once per round, ``--rounds`` rounds, and medians are reported.

    python benchmarks/bench_losses.py [--device cuda]
"""

from __future__ import annotations

import argparse
import statistics

import torch
from common import median_time, write_results

import disbench
from disbench.losses import conv2d_fft, make_loss
from disbench.methods import BetaVAE

LOSSES = ("mse", "mse+box_r31_w3969", "mse+gauss_r31_w3969", "mse+learnt_xysquares_r31_w1")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    device = torch.device(args.device)
    task = disbench.make("xysquares-mse").to(device)
    x = task.sample(args.batch_size, torch.Generator().manual_seed(0)).x.contiguous(memory_format=torch.channels_last)
    x_hat = (x + 0.1 * torch.randn_like(x)).requires_grad_(True)
    torch.manual_seed(0)
    model = BetaVAE(task.data.obs_shape, 9, beta=0.001).to(device=device, memory_format=torch.channels_last)
    optimizer = model.configure_optimizer(1e-3)
    batch = disbench.Batch(x, None)

    def step():
        optimizer.zero_grad()
        model.loss(batch, task.recon_loss)["loss"].backward()
        optimizer.step()

    box = make_loss("mse+box_r31_w3969").to(device)

    def box_through_fft():
        diff = x_hat - x
        blurred = conv2d_fft(diff, box.kernel).square().flatten(1).mean(dim=1)
        (diff.square().flatten(1).mean(dim=1) + box.weight * blurred).mean().backward()

    def through(loss):
        return lambda: loss(x_hat, x).mean().backward()

    candidates = {name: through(make_loss(name).to(device)) for name in LOSSES}
    candidates["mse+box_r31_w3969 via FFT"] = box_through_fft
    candidates["beta_vae_training_step_mse"] = step
    runs = {name: [] for name in candidates}
    for _ in range(args.rounds + 1):  # the first round warms up and is dropped
        for name, fn in candidates.items():
            runs[name].append(median_time(fn, repeats=1, warmup=0)[0])
    results = {name: {"seconds": statistics.median(times[1:]), "runs_s": times[1:]} for name, times in runs.items()}
    step_s = results["beta_vae_training_step_mse"]["seconds"]
    for name in (*LOSSES[1:], "mse+box_r31_w3969 via FFT"):
        results[name]["fraction_of_training_step"] = results[name]["seconds"] / step_s
    write_results(f"losses_{device.type}", {"device": str(device), "batch_size": args.batch_size, "rounds": args.rounds, "results": results})
    for name, r in results.items():
        print(name, {k: round(v, 4) for k, v in r.items() if k != "runs_s"})


if __name__ == "__main__":
    main()
