"""The interface every submitted model implements, and what the harness tells it about a task."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from disbench.error import SubmissionError
from disbench.supervision import UNSUPERVISED
from disbench.tensors import fields_repr

ReconLossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Observations:
    """What an unsupervised method trains on: a batch of observations ``x [N, C, H, W]``, never
    their factors (those stay with the harness)."""

    x: torch.Tensor

    def __len__(self) -> int:
        return self.x.shape[0]

    def __repr__(self) -> str:  # shapes, not the values: print(batch) stays one line
        return fields_repr(self, [("x",)])


@dataclass(frozen=True)
class ObservationPairs:
    """What a weakly-supervised method trains on: pairs ``(x0[i], x1[i])`` that share all but a few
    factors; which factors, and their values, stay with the harness."""

    x0: torch.Tensor
    x1: torch.Tensor

    def __len__(self) -> int:
        return self.x0.shape[0]

    def __repr__(self) -> str:
        return fields_repr(self, [("x0", "x1")])


@dataclass(frozen=True)
class TaskInfo:
    """What a model may know about a task: shapes and budget, never the data or the loss."""

    id: str
    obs_shape: tuple[int, int, int]
    factor_names: tuple[str, ...]
    factor_sizes: tuple[int, ...]
    latent_dim: int
    loss: str

    @classmethod
    def from_dict(cls, d: dict) -> TaskInfo:
        """The inverse of ``dataclasses.asdict`` (lists back to tuples), for the child process."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})

    @classmethod
    def from_task(cls, task, protocol: Any = "standard") -> TaskInfo:
        return cls(
            id=task.id,
            obs_shape=tuple(task.data.obs_shape),
            factor_names=tuple(task.data.factor_names),
            factor_sizes=tuple(task.data.factor_sizes),
            latent_dim=task.get_protocol(protocol).latent_dim,
            loss=task.loss.name,
        )


class Method(nn.Module):
    """A representation learner scored by disbench.

    * ``encode(x) -> [N, D]``: the representation that is scored (e.g. the posterior mean).
    * ``loss(batch, recon_loss) -> dict``: the training objective on ``Observations`` (``batch.x``,
      unsupervised) or ``ObservationPairs`` (``batch.x0``, ``batch.x1``, weak pairs); must contain
      ``"loss"``, other scalars are logged. Batches carry observations only, never factors.
      ``recon_loss(x_hat, x)`` is the task's reconstruction loss, one value per observation.
    * ``decode(z)`` (optional): used for latent-traversal pictures.
    * ``configure_optimizer(lr)``: the protocol's optimizer (Adam, as in the paper). Overriding it is
      allowed for exploration, but such a run is recorded as off-protocol, with that reason.
    """

    supervision: str = UNSUPERVISED

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def loss(self, batch: Observations | ObservationPairs, recon_loss: ReconLossFn) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @property
    def can_decode(self) -> bool:
        return type(self).decode is not Method.decode

    def configure_optimizer(self, lr: float) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)


def loss_value(terms: object) -> torch.Tensor:
    """The ``"loss"`` entry of what ``Method.loss`` returned, or a ``SubmissionError`` saying what is wrong."""
    if not isinstance(terms, dict) or "loss" not in terms:
        found = f"a dict with keys {sorted(terms)}" if isinstance(terms, dict) else type(terms).__name__
        raise SubmissionError(f"Method.loss must return a dict with a scalar tensor under 'loss' (other entries are logged); it returned {found}.")
    loss = terms["loss"]
    if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
        raise SubmissionError(f"Method.loss must return a scalar tensor under 'loss'; got {type(loss).__name__} {tuple(getattr(loss, 'shape', ()))}.")
    if not loss.requires_grad:
        raise SubmissionError("The 'loss' returned by Method.loss does not require gradients; it must be computed from the model's parameters.")
    return loss
