"""The variational autoencoder (beta = 1 in the sum-reduced convention, i.e. D / (C*H*W) here)."""

from math import prod

from disbench.methods import BetaVAE, TaskInfo


def build(task_info: TaskInfo, latent_dim: int = 9) -> BetaVAE:
    return BetaVAE(task_info.obs_shape, latent_dim, beta=latent_dim / prod(task_info.obs_shape))
