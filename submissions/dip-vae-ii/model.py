"""DIP-VAE-II: match the covariance of the aggregate posterior to the identity."""

from disbench.methods import DIPVAE, TaskInfo


def build(task_info: TaskInfo, latent_dim: int = 9, beta: float = 0.001, lambda_od: float = 0.001) -> DIPVAE:
    return DIPVAE(task_info.obs_shape, latent_dim, dip_type="ii", beta=beta, lambda_od=lambda_od)
