"""beta-TCVAE (Chen et al. 2018): penalise the total correlation of the aggregate posterior.

``reg = beta * (mean(KL) + (tc_beta - 1) * TC / D)``: the sum-reduced beta-TCVAE objective
``KL + (tc_beta - 1) TC`` scaled into the paper's mean-reduced convention by ``beta`` (as for
``BetaVAE``; ``beta = D / (C*H*W)`` is the unscaled objective). TC is estimated on the batch as disentanglement_lib
does: ``logsumexp_j log q(z_i | x_j)`` for ``log q(z_i)`` and per dimension for
``log prod_d q(z_id)``, without the minibatch-weighting constant ``(D - 1) log(N M)`` (it has no
gradient, so only the logged value differs). ``tc_beta = 1`` recovers the beta-VAE.
"""

from __future__ import annotations

import math

import torch

from disbench.methods.vae import BetaVAE, kl_normal

LOG_2PI = math.log(2 * math.pi)


def gaussian_log_density(z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return -0.5 * (LOG_2PI + logvar + (z - mean).square() * torch.exp(-logvar))


def total_correlation(z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Batch estimate of TC(q(z)) from samples ``z [M, D]`` of the posteriors ``(mean, logvar)``."""
    log_qz_given_x = gaussian_log_density(z[:, None, :], mean[None, :, :], logvar[None, :, :])  # [M, M, D]
    log_qz = torch.logsumexp(log_qz_given_x.sum(dim=2), dim=1)
    log_prod_qzd = torch.logsumexp(log_qz_given_x, dim=1).sum(dim=1)
    return (log_qz - log_prod_qzd).mean()


class BetaTCVAE(BetaVAE):
    def __init__(self, obs_shape: tuple[int, int, int], latent_dim: int, beta: float = 0.001, tc_beta: float = 6.0) -> None:
        super().__init__(obs_shape, latent_dim, beta)
        self.tc_beta = float(tc_beta)

    def regulariser(self, mean, logvar, z):
        kl = kl_normal(mean, logvar).mean()
        tc = total_correlation(z, mean, logvar)
        return {"reg": self.beta * (kl + (self.tc_beta - 1.0) * tc / self.latent_dim), "kl": kl, "tc": tc}
