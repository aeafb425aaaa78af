"""A plain convolutional autoencoder: no regulariser, the code is the representation."""

from disbench.methods import AutoEncoder, TaskInfo


def build(task_info: TaskInfo, latent_dim: int = 9) -> AutoEncoder:
    return AutoEncoder(task_info.obs_shape, latent_dim)
