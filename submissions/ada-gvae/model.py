"""Ada-GVAE: weakly supervised by pairs, shared dimensions averaged (the paper's strongest framework)."""

from disbench.methods import AdaVAE, TaskInfo


def build(task_info: TaskInfo, latent_dim: int = 9, beta: float = 0.001, average: str = "gvae") -> AdaVAE:
    return AdaVAE(task_info.obs_shape, latent_dim, beta=beta, average=average)
