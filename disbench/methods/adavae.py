"""Ada-GVAE and Ada-ML-VAE (Locatello et al. 2020): weakly supervised by pairs of observations.

For a pair, the per-dimension symmetric KL ``delta_j = 1/2 KL(q1_j || q0_j) + 1/2 KL(q0_j || q1_j)``
is thresholded at ``min + ratio * (max - min)`` (ratio 1/2); dimensions below it are treated as
shared and both posteriors are replaced there by an average: the arithmetic mean of the
Gaussians (GVAE) or their normalised product (ML-VAE). Reconstruction and ``beta * KL`` are then
computed on the modified posteriors and averaged over the pair (paper.md §4.2).

``average="gvae-paper"`` reproduces the averaging of the code the paper ran (paper.md §4.3,
disent issue #32): the variance is averaged, but the mean of both is the second observation's.
"""

from __future__ import annotations

import torch

from disbench.methods.base import ObservationPairs
from disbench.methods.vae import BetaVAE, kl_normal, reparameterise
from disbench.supervision import WEAK_PAIRS

AVERAGES = ("gvae", "gvae-paper", "ml-vae")


def kl_between(mean_a, logvar_a, mean_b, logvar_b) -> torch.Tensor:
    """Elementwise KL( N(a) || N(b) ) of diagonal Gaussians."""
    return 0.5 * (logvar_b - logvar_a + (logvar_a.exp() + (mean_a - mean_b).square()) / logvar_b.exp() - 1.0)


def average_posteriors(mean0, logvar0, mean1, logvar1, mode: str) -> tuple[torch.Tensor, torch.Tensor]:
    var0, var1 = logvar0.exp(), logvar1.exp()
    if mode == "ml-vae":
        var = 2 * var0 * var1 / (var0 + var1)
        return (mean0 / var0 + mean1 / var1) * var * 0.5, var.log()
    var = 0.5 * (var0 + var1)
    mean = 0.5 * (mean1 + mean1) if mode == "gvae-paper" else 0.5 * (mean0 + mean1)
    return mean, var.log()


class AdaVAE(BetaVAE):
    supervision = WEAK_PAIRS

    def __init__(self, obs_shape, latent_dim: int, beta: float = 1.0, average: str = "gvae", threshold_ratio: float = 0.5) -> None:
        super().__init__(obs_shape, latent_dim, beta)
        if average not in AVERAGES:
            raise ValueError(f"average must be one of {AVERAGES}, got {average!r}.")
        self.average = average
        self.threshold_ratio = float(threshold_ratio)

    def shared_mask(self, mean0, logvar0, mean1, logvar1) -> torch.Tensor:
        delta = 0.5 * kl_between(mean1, logvar1, mean0, logvar0) + 0.5 * kl_between(mean0, logvar0, mean1, logvar1)
        low, high = delta.min(dim=1, keepdim=True).values, delta.max(dim=1, keepdim=True).values
        return delta < low + self.threshold_ratio * (high - low)

    def loss(self, batch: ObservationPairs, recon_loss) -> dict[str, torch.Tensor]:
        mean0, logvar0 = self.posterior(batch.x0)
        mean1, logvar1 = self.posterior(batch.x1)
        shared = self.shared_mask(mean0, logvar0, mean1, logvar1)
        avg_mean, avg_logvar = average_posteriors(mean0, logvar0, mean1, logvar1, self.average)
        mean0, logvar0 = torch.where(shared, avg_mean, mean0), torch.where(shared, avg_logvar, logvar0)
        mean1, logvar1 = torch.where(shared, avg_mean, mean1), torch.where(shared, avg_logvar, logvar1)
        recon = 0.5 * (
            recon_loss(self.decode(reparameterise(mean0, logvar0)), batch.x0).mean()
            + recon_loss(self.decode(reparameterise(mean1, logvar1)), batch.x1).mean()
        )
        kl = 0.5 * (kl_normal(mean0, logvar0).mean() + kl_normal(mean1, logvar1).mean())
        return {"loss": recon + self.beta * kl, "recon": recon, "kl": kl, "shared": shared.float().mean()}
