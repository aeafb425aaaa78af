"""Cost of the reconstruction losses next to the model they train, at batch 256.

The FFT box blur (63x63 kernel) should cost little next to the conv64 beta-VAE's forward and
backward pass. Times are medians of 5 runs of forward + backward through the loss only, and of a
whole training step with MSE.

    python benchmarks/bench_losses.py [--device cuda]
"""

from __future__ import annotations

import argparse

import torch
from common import median_time, write_results

import disbench
from disbench.losses import make_loss
from disbench.methods import BetaVAE


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()
    device = torch.device(args.device)
    task = disbench.make("xysquares-mse").to(device)
    x = task.sample(args.batch_size, torch.Generator().manual_seed(0)).x.contiguous(memory_format=torch.channels_last)
    x_hat = (x + 0.1 * torch.randn_like(x)).requires_grad_(True)
    results = {}
    for name in ("mse", "mse+box_r31_w3969", "mse+gauss_r31_w3969", "mse+learnt_xysquares_r31_w1"):
        loss = make_loss(name).to(device)
        median, runs = median_time(lambda loss=loss: loss(x_hat, x).mean().backward(), repeats=5)
        results[name] = {"forward_backward_s": median, "runs_s": runs}
    torch.manual_seed(0)
    model = BetaVAE(task.data.obs_shape, 9, beta=0.001).to(device=device, memory_format=torch.channels_last)
    optimizer = model.configure_optimizer(1e-3)
    batch = disbench.Batch(x, None)

    def step():
        optimizer.zero_grad()
        model.loss(batch, task.recon_loss)["loss"].backward()
        optimizer.step()

    median, runs = median_time(step, repeats=5)
    results["beta_vae_training_step_mse"] = {"seconds": median, "runs_s": runs}
    for name in ("mse+box_r31_w3969",):
        results[name]["fraction_of_training_step"] = results[name]["forward_backward_s"] / median
    write_results(f"losses_{device.type}", {"device": str(device), "batch_size": args.batch_size, "results": results})
    for name, r in results.items():
        print(name, {k: round(v, 4) for k, v in r.items() if k != "runs_s"})


if __name__ == "__main__":
    main()
