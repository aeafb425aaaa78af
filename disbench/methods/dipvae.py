"""DIP-VAE I and II (Kumar et al. 2018): push the aggregate posterior's covariance to identity.

``reg = beta * mean(KL) + lambda_od * sum_{i != j} C_ij^2 + lambda_d * sum_i (C_ii - 1)^2`` with
``C = Cov[mu]`` (type I) or ``Cov[mu] + E[diag(sigma^2)]`` (type II), over the batch. Beta and
the lambdas are in the paper's mean-reduced convention: a sum-reduced beta corresponds to
``beta * D / (C*H*W)`` and a sum-reduced lambda to ``lambda / (C*H*W)`` here. The default
``lambda_od = 1e-3`` is about disentanglement_lib's 10 at 64x64x3; ``lambda_d`` defaults to
``10 * lambda_od`` for type I and ``lambda_od`` for type II, as there.
"""

from __future__ import annotations

import torch

from disbench.methods.vae import BetaVAE, kl_normal


class DIPVAE(BetaVAE):
    def __init__(
        self,
        obs_shape: tuple[int, int, int],
        latent_dim: int,
        dip_type: str = "i",
        lambda_od: float = 1e-3,
        lambda_d: float | None = None,
        beta: float = 0.001,
    ) -> None:
        super().__init__(obs_shape, latent_dim, beta)
        if dip_type not in ("i", "ii"):
            raise ValueError(f"dip_type must be 'i' or 'ii', got {dip_type!r}.")
        self.dip_type = dip_type
        self.lambda_od = float(lambda_od)
        self.lambda_d = float(lambda_d if lambda_d is not None else (10 * lambda_od if dip_type == "i" else lambda_od))

    def regulariser(self, mean, logvar, z):
        kl = kl_normal(mean, logvar).mean()
        centred = mean - mean.mean(dim=0, keepdim=True)
        cov = centred.T @ centred / mean.shape[0]
        if self.dip_type == "ii":
            cov = cov + torch.diag(logvar.exp().mean(dim=0))
        diagonal = torch.diagonal(cov)
        off = (cov.square().sum() - diagonal.square().sum())
        dip = self.lambda_od * off + self.lambda_d * (diagonal - 1.0).square().sum()
        return {"reg": self.beta * kl + dip, "kl": kl, "dip": dip}
