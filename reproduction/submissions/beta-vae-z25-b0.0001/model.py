"""beta-VAE (the beta-vae baseline's model) with the hyperparameters of a paper experiment; see submission.toml."""

from disbench.methods import BetaVAE, TaskInfo


def build(task_info: TaskInfo, latent_dim: int, beta: float) -> BetaVAE:
    return BetaVAE(task_info.obs_shape, latent_dim, beta=beta)
