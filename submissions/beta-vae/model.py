"""beta-VAE with the paper's mean-reduced losses; beta as in the paper's overlap experiments (Fig. 9)."""

from disbench.methods import BetaVAE, TaskInfo


def build(task_info: TaskInfo, latent_dim: int = 9, beta: float = 0.001) -> BetaVAE:
    return BetaVAE(task_info.obs_shape, latent_dim, beta=beta)
