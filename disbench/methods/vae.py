"""Autoencoder, VAE and beta-VAE with the paper's mean-reduced losses (paper.md §4.2).

``loss = mean(recon) + beta * mean(KL)``: the reconstruction loss is averaged over the batch
(each observation's loss is already a mean over C*H*W) and the KL over batch and latent
dimensions. With 64x64x3 images and 9 latents, a sum-reduced beta of 4 corresponds to about
0.003 here.
"""

from __future__ import annotations

import torch

from disbench.methods.base import Method, Observations, ReconLossFn
from disbench.methods.conv64 import DecoderConv64, EncoderConv64


def kl_normal(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Elementwise KL( N(mean, exp(logvar)) || N(0, 1) )."""
    return 0.5 * (mean.square() + logvar.exp() - logvar - 1.0)


def reparameterise(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return mean + torch.randn_like(mean) * (0.5 * logvar).exp()


class AutoEncoder(Method):
    """A plain autoencoder: the encoder's output is the representation (no regulariser)."""

    def __init__(self, obs_shape: tuple[int, int, int], latent_dim: int) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = EncoderConv64(obs_shape[0], latent_dim, out_multiplier=1)
        self.decoder = DecoderConv64(obs_shape[0], latent_dim)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def loss(self, batch: Observations, recon_loss: ReconLossFn) -> dict[str, torch.Tensor]:
        recon = recon_loss(self.decode(self.encode(batch.x)), batch.x).mean()
        return {"loss": recon, "recon": recon}


class BetaVAE(Method):
    """beta-VAE (Higgins et al. 2017); ``beta=1`` is the VAE (Kingma & Welling 2014)."""

    def __init__(self, obs_shape: tuple[int, int, int], latent_dim: int, beta: float = 1.0) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.beta = float(beta)
        self.encoder = EncoderConv64(obs_shape[0], latent_dim, out_multiplier=2)
        self.decoder = DecoderConv64(obs_shape[0], latent_dim)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, logvar = self.encoder(x).chunk(2, dim=1)
        return mean, logvar

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def regulariser(self, mean: torch.Tensor, logvar: torch.Tensor, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """The term added to the reconstruction loss; subclasses change it (beta-TCVAE, DIP-VAE)."""
        kl = kl_normal(mean, logvar).mean()
        return {"reg": self.beta * kl, "kl": kl}

    def loss(self, batch: Observations, recon_loss: ReconLossFn) -> dict[str, torch.Tensor]:
        mean, logvar = self.posterior(batch.x)
        z = reparameterise(mean, logvar)
        recon = recon_loss(self.decode(z), batch.x).mean()
        terms = self.regulariser(mean, logvar, z)
        return {"loss": recon + terms.pop("reg"), "recon": recon, **terms}
