"""beta-TCVAE: extra penalty on the total correlation of the aggregate posterior."""

from disbench.methods import BetaTCVAE, TaskInfo


def build(task_info: TaskInfo, latent_dim: int = 9, beta: float = 0.001, tc_beta: float = 6.0) -> BetaTCVAE:
    return BetaTCVAE(task_info.obs_shape, latent_dim, beta=beta, tc_beta=tc_beta)
