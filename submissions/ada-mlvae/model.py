"""Ada-ML-VAE: like Ada-GVAE, with shared dimensions combined as a product of Gaussians."""

from disbench.methods import AdaVAE, TaskInfo


def build(task_info: TaskInfo, latent_dim: int = 9, beta: float = 0.001) -> AdaVAE:
    return AdaVAE(task_info.obs_shape, latent_dim, beta=beta, average="ml-vae")
