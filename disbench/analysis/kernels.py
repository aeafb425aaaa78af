"""Learning a blur kernel that makes a loss perceive the ground-truth factors (paper.md §3.3).

The authors' follow-up learns a channel-wise kernel ``K`` such that the augmented distance
``MSE(x_a, x_b) + MSE(K*x_a, K*x_b)`` ranks random pairs like the ground-truth distance
``||y_a - y_b||_1`` does, by maximising a differentiable Spearman correlation. Here:

* ``K = sym(|theta|)``: non-negative by construction and exactly symmetric, because it is averaged
  over the 8 symmetries of the square (the authors used symmetry penalties instead);
* soft ranks are ``r_i = 1/2 + sum_j sigmoid((d_i - d_j) / t)`` on standardised distances, an
  O(n^2) relaxation that is exact as ``t -> 0`` and cheap at a few thousand pairs;
* an L2 penalty ``1e-3 * mean(K^2)`` as in the authors' configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from disbench.error import LossError
from disbench.losses import conv2d_fft
from disbench.task import Task


def symmetrise(kernel: torch.Tensor) -> torch.Tensor:
    """Average over the dihedral group of the square (flips and transposes)."""
    views = [kernel, kernel.flip(0), kernel.flip(1), kernel.flip(0, 1)]
    views += [v.transpose(0, 1) for v in views]
    return torch.stack(views).mean(dim=0)


def soft_rank(values: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """Differentiable ranks (1-based) of a 1-D tensor; ``values`` are standardised first."""
    z = (values - values.mean()) / values.std().clamp_min(1e-12)
    return 0.5 + torch.sigmoid((z[:, None] - z[None, :]) / temperature).sum(dim=1)


def pearson(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    a, b = a - a.mean(), b - b.mean()
    return (a * b).sum() / (a.norm() * b.norm()).clamp_min(1e-12)


def hard_rank(values: torch.Tensor) -> torch.Tensor:
    """Average (tie-aware) 1-based ranks, as Spearman's rho uses."""
    from scipy.stats import rankdata

    return torch.as_tensor(rankdata(values.detach().cpu().numpy()), dtype=values.dtype, device=values.device)


def soft_spearman(pred: torch.Tensor, target: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """Spearman's rho with soft ranks for ``pred`` (differentiable) and exact ranks for ``target``."""
    return pearson(soft_rank(pred, temperature), hard_rank(target))


@dataclass
class LearntKernel:
    kernel: torch.Tensor
    history: list[float] = field(default_factory=list)

    def save(self, path) -> None:
        """The kernel as float32 ``.npy`` at exactly ``path`` (written whole or not at all)."""
        from disbench.files import atomic_path

        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.save(f, self.kernel.detach().cpu().numpy().astype(np.float32))


def check_learning(task: Task, radius: int, batch_size: int) -> None:
    """Refuse what :func:`learn_kernel` cannot learn with, before any work (or folder) is made for it."""
    side = max(task.data.obs_shape[1:])
    if radius >= side:  # a larger kernel only pads: (2r+1)^2 weights that no pixel pair can reach
        raise LossError(f"--radius {radius} is not smaller than the images ({side} pixels); give at most {side - 1} "
                        f"(the paper's box blur on 64-pixel images has radius 31).")
    if batch_size < 2:
        raise LossError(f"--batch-size {batch_size}: a step compares pairs of observations, so it needs at least 2.")


def learn_kernel(
    task: Task,
    radius: int = 31,
    steps: int = 1000,
    batch_size: int = 128,
    pairs_ratio: int = 8,
    lr: float = 1e-3,
    temperature: float = 0.1,
    l2: float = 1e-3,
    seed: int = 777,
    progress: bool = False,
) -> LearntKernel:
    """Learn a ``(2r+1)^2`` kernel for ``task``'s data; use it with ``losses.augmented("mse", K, 1)``.

    ``history`` records the soft Spearman correlation at every step.
    """
    from tqdm.auto import tqdm

    check_learning(task, radius, batch_size)
    gen = torch.Generator().manual_seed(seed)
    size = 2 * radius + 1
    theta = 1.0 + 1e-3 * torch.randn(size, size, generator=gen, dtype=torch.float64)
    theta = torch.nn.Parameter((theta / theta.sum()).to(torch.float32))
    optimiser = torch.optim.Adam([theta], lr=lr)
    data, num_pairs = task.data, pairs_ratio * batch_size
    history = []
    for _ in tqdm(range(steps), disable=not progress, desc="learning kernel"):
        factors = data.sample_factors(batch_size, gen)
        x = data.render(factors, validate=False).to(torch.float32) / 255.0
        a = torch.randint(0, batch_size, (num_pairs,), generator=gen)
        b = (a + torch.randint(1, batch_size, (num_pairs,), generator=gen)) % batch_size
        kernel = symmetrise(theta.abs())
        blurred = conv2d_fft(x, kernel)
        d_x = (x[a] - x[b]).square().flatten(1).mean(1) + (blurred[a] - blurred[b]).square().flatten(1).mean(1)
        d_f = (factors[a] - factors[b]).abs().sum(1).to(torch.float32)
        rho = soft_spearman(d_x.double(), d_f.double(), temperature)
        loss = -rho + l2 * kernel.square().mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        history.append(float(rho.detach()))
    return LearntKernel(symmetrise(theta.detach().abs()), history)
