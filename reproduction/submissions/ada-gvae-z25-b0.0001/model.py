"""Ada-GVAE (the ada-gvae baseline's model) with the hyperparameters of a paper experiment; see submission.toml."""

from disbench.methods import AdaVAE, TaskInfo


def build(task_info: TaskInfo, latent_dim: int, beta: float, average: str) -> AdaVAE:
    return AdaVAE(task_info.obs_shape, latent_dim, beta=beta, average=average)
