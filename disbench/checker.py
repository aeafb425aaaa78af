"""``check_task``: a task checker in the spirit of Gymnasium's env checker.

It exercises the contract every task must keep (shapes, dtypes, factor round-trips,
determinism under a seed, a sane loss) and raises ``TaskCheckError`` naming the first broken
promise. Every registered task whose data is available passes it in the tests.
"""

from __future__ import annotations

import numpy as np
import torch

from disbench.error import DisbenchError
from disbench.task import Task


class TaskCheckError(DisbenchError, AssertionError):
    """A task broke its contract; the message says which part."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise TaskCheckError(message)


def check_task(task: Task, seed: int = 0, n: int = 8) -> None:
    """Raise ``TaskCheckError`` unless ``task`` keeps the disbench task contract."""
    data = task.data
    c, h, w = data.obs_shape
    num = data.num_factors

    _require(len(data.factor_names) == num == len(set(data.factor_names)), "factor_names must be unique, one per factor")
    _require(all(isinstance(s, int) and s >= 1 for s in data.factor_sizes), f"factor sizes must be positive ints: {data.factor_sizes}")
    _require(len(data) == int(np.prod(data.factor_sizes)), "len(data) must be the product of the factor sizes")
    _require(task.observation_space.shape == (c, h, w) and task.observation_space.dtype == np.uint8, "observation_space must be Box(0, 255, obs_shape, uint8)")
    _require(list(task.factor_space.nvec) == list(data.factor_sizes), "factor_space must be MultiDiscrete(factor_sizes)")
    _require("standard" in task.protocols, "a task needs a 'standard' protocol tier")

    # factor <-> index round trips, including both ends of the grid
    gen = torch.Generator().manual_seed(seed)
    idx = torch.cat([torch.tensor([0, len(data) - 1]), torch.randint(0, len(data), (n,), generator=gen)])
    factors = data.idx_to_factors(idx)
    _require(torch.equal(data.factors_to_idx(factors), idx), "factors_to_idx(idx_to_factors(i)) != i")
    _require(torch.equal(factors[0], torch.zeros(num, dtype=torch.long)), "index 0 must be the all-zero factor vector")
    _require(torch.equal(factors[1], torch.tensor(data.factor_sizes) - 1), "the last index must be the all-max factor vector")

    # rendering
    x = data.render(factors)
    _require(x.dtype == torch.uint8 and tuple(x.shape) == (len(idx), c, h, w), f"render must return uint8 [N, {c}, {h}, {w}], got {x.dtype} {tuple(x.shape)}")
    _require(task.observation_space.contains(x[0].numpy()), "a rendered observation is outside observation_space")
    _require(torch.equal(data[int(idx[2])], x[2]), "data[i] must equal render(idx_to_factors(i))[0]")
    _require(torch.equal(data.render(factors), x), "render is not deterministic")
    distinct = len({bytes(obs.numpy()) for obs in x[:2]})
    _require(distinct == 2, "the first and last observations are identical; the factors do not change the image")

    # sampling is deterministic under a seed and consistent with rendering
    b1 = task.sample(n, generator=torch.Generator().manual_seed(seed))
    b2 = task.sample(n, generator=torch.Generator().manual_seed(seed))
    _require(torch.equal(b1.x, b2.x) and torch.equal(b1.factors, b2.factors), "sample() differs under the same seed")
    _require(b1.x.dtype == torch.float32 and tuple(b1.x.shape) == (n, c, h, w), "sample().x must be float32 [N, C, H, W]")
    _require(bool(torch.isfinite(b1.x).all()), "sample().x has non-finite values")
    _require(torch.allclose(b1.x, task.observe(b1.factors), atol=1e-5), "sample().x must equal observe(sample().factors)")

    p1 = task.sample_pairs(n, generator=torch.Generator().manual_seed(seed))
    p2 = task.sample_pairs(n, generator=torch.Generator().manual_seed(seed))
    _require(torch.equal(p1.x0, p2.x0) and torch.equal(p1.x1, p2.x1), "sample_pairs() differs under the same seed")
    changed = (p1.factors0 != p1.factors1).sum(dim=1)
    _require(bool((changed <= max(num - 1, 1)).all()), "a weak pair differs in every factor")

    # the loss: [N], finite, zero for identical inputs, positive otherwise
    loss = task.recon_loss(b1.x, b1.x)
    _require(tuple(loss.shape) == (n,), f"recon_loss must return [N], got {tuple(loss.shape)}")
    other = task.sample(n, generator=torch.Generator().manual_seed(seed + 1)).x
    diff = task.recon_loss(other, b1.x)
    _require(bool(torch.isfinite(diff).all()) and bool((diff >= 0).all()), "recon_loss must be finite and non-negative")
    if task.loss.standardised:
        _require(bool((loss.abs() < 1e-5).all()), "recon_loss(x, x) must be 0")
