"""A task: ground-truth data + reconstruction loss + fixed protocol tiers.

The task owns everything a fair comparison needs: how observations are rendered and
normalised, which loss reconstructions are scored with, how weakly-supervised pairs are drawn,
and which metrics (with which sample counts) evaluate a representation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import torch

from disbench.data import GroundTruthData, is_stored, make_dataset
from disbench.data.base import DeviceLike
from disbench.error import DataError, ProtocolError
from disbench.losses import ReconLoss, make_loss
from disbench.protocol import Protocol, default_protocols
from disbench.supervision import UNSUPERVISED, WEAK_PAIRS
from disbench.tensors import fields_repr

if TYPE_CHECKING:
    from disbench.registration import TaskSpec

EncodeFn = Callable[[torch.Tensor], torch.Tensor]
"""A representation: observations in the task's input space ``[N, C, H, W]`` -> codes ``[N, D]``."""


@dataclass
class Batch:
    """Observations in the task's input space (``x``, float ``[N, C, H, W]``) and their factors
    (``factors``, long ``[N, F]``, one column per name of ``factor_names``)."""

    x: torch.Tensor
    factors: torch.Tensor
    factor_names: tuple[str, ...] = field(default=(), compare=False)

    def __len__(self) -> int:
        return self.x.shape[0]

    def __repr__(self) -> str:  # shapes, not the values: print(batch) stays one line
        return fields_repr(self, [("x",), ("factors",)], _named(self.factor_names))

    def to(self, device: DeviceLike) -> Batch:
        return Batch(self.x.to(device), self.factors.to(device), self.factor_names)


@dataclass
class PairBatch:
    """Weakly-supervised pairs: ``x0[i]`` and ``x1[i]`` share all but a few factors."""

    x0: torch.Tensor
    x1: torch.Tensor
    factors0: torch.Tensor
    factors1: torch.Tensor
    factor_names: tuple[str, ...] = field(default=(), compare=False)

    def __len__(self) -> int:
        return self.x0.shape[0]

    def __repr__(self) -> str:
        return fields_repr(self, [("x0", "x1"), ("factors0", "factors1")], _named(self.factor_names))

    def to(self, device: DeviceLike) -> PairBatch:
        return PairBatch(self.x0.to(device), self.x1.to(device), self.factors0.to(device), self.factors1.to(device), self.factor_names)


def _named(factor_names: tuple[str, ...]) -> str:
    return f" ({', '.join(factor_names)})" if factor_names else ""


class Task:
    """Usually built with ``disbench.make(id)``, which also attaches ``spec`` and ``off_protocol``."""

    def __init__(self, data: GroundTruthData, loss: ReconLoss | str = "mse") -> None:
        self.data = data
        self.loss = make_loss(loss)
        self.spec: TaskSpec | None = None
        self.off_protocol = False
        self.device = torch.device("cpu")

    # --- identity ---------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self.spec.id if self.spec is not None else f"<unregistered {self.data.name} / {self.loss.name}>"

    @property
    def protocols(self) -> dict[str, Protocol]:
        return self.spec.protocols if self.spec is not None else default_protocols()

    @property
    def protocol(self) -> Protocol:
        """The ``standard`` tier (the leaderboard's)."""
        return self.protocols["standard"]

    def get_protocol(self, tier: str | Protocol) -> Protocol:
        if isinstance(tier, Protocol):
            return tier
        if tier not in self.protocols:
            raise ProtocolError(f"Task {self.id!r} has no protocol tier {tier!r}; its tiers are {', '.join(self.protocols)}.")
        return self.protocols[tier]

    @cached_property
    def observation_space(self):
        from gymnasium.spaces import Box

        return Box(low=0, high=255, shape=self.data.obs_shape, dtype="uint8")

    @cached_property
    def factor_space(self):
        from gymnasium.spaces import MultiDiscrete

        return MultiDiscrete(list(self.data.factor_sizes))

    def __repr__(self) -> str:
        flag = ", off_protocol" if self.off_protocol else ""
        return f"Task({self.id!r}, data={self.data!r}, loss={self.loss.name!r}{flag})"

    # --- device -----------------------------------------------------------------------------

    def to(self, device: DeviceLike) -> Task:
        """Render, sample and score on ``device`` from now on (stored data is copied there if it fits)."""
        self.device = torch.device(device)
        self.loss.to(self.device)
        preload = getattr(self.data, "preload", None)
        if preload is not None and self.device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(self.device)
            nbytes = len(self.data) * int(torch.tensor(self.data.obs_shape).prod())
            if nbytes < 0.5 * free:
                preload(self.device)
        return self

    # --- observations -----------------------------------------------------------------------

    def observe(self, factors: Any, device: DeviceLike = None, *, validate: bool = True) -> torch.Tensor:
        """Observations for ``factors`` in the task's input space (float32, what models see).
        ``validate=False`` skips the checks for factors that are already a valid long tensor."""
        device = self.device if device is None else torch.device(device)
        if self.loss.standardised:
            return self.data.render_normalised(factors, device, validate=validate)
        return self.data.render(factors, device, validate=validate).to(torch.float32) / 255.0

    def to_image(self, x: torch.Tensor) -> torch.Tensor:
        """Model-space observations back to float images in [0, 1] (for pictures)."""
        return self.data.denormalise(x) if self.loss.standardised else x.clamp(0, 1)

    def sample(self, n: int, generator: torch.Generator | None = None, device: DeviceLike = None) -> Batch:
        """``n`` observations with factors drawn uniformly from ``generator`` (a CPU generator)."""
        device = self.device if device is None else torch.device(device)
        factors = self.data.sample_factors(n, generator)
        return Batch(self.observe(factors, device, validate=False), factors.to(device), tuple(self.data.factor_names))

    def sample_pair_factors(self, n: int, generator: torch.Generator | None = None, k: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Factor pairs for weak supervision, as disentanglement_lib's ``simple_dynamics``.

        Draw ``k`` uniformly from ``[1, F-1]``, then replace it by 1 with probability 1/2, then
        resample ``k`` distinct factors of the second element uniformly (a resampled factor may
        keep its value). Pass ``k`` to fix the number of resampled factors. (paper.md §4.2)
        """
        num = self.data.num_factors
        f0 = self.data.sample_factors(n, generator)
        if k is None:
            ks = torch.randint(1, max(num, 2), (n,), generator=generator)
            ks = torch.where(torch.rand(n, generator=generator) < 0.5, torch.ones_like(ks), ks)
        else:
            if not 1 <= k <= num:
                raise DataError(f"k must be between 1 and the number of factors ({num}), got {k}.")
            ks = torch.full((n,), k, dtype=torch.long)
        rank = torch.rand(n, num, generator=generator).argsort(dim=1).argsort(dim=1)
        resample = rank < ks[:, None]
        f1 = torch.where(resample, self.data.sample_factors(n, generator), f0)
        return f0, f1

    def sample_pairs(self, n: int, generator: torch.Generator | None = None, device: DeviceLike = None, k: int | None = None) -> PairBatch:
        """``n`` weakly-supervised pairs (see :meth:`sample_pair_factors`)."""
        device = self.device if device is None else torch.device(device)
        f0, f1 = self.sample_pair_factors(n, generator, k)
        x = self.observe(torch.cat([f0, f1]), device, validate=False)
        return PairBatch(x[:n], x[n:], f0.to(device), f1.to(device), tuple(self.data.factor_names))

    def sample_observations(self, supervision: str, n: int, generator: torch.Generator | None = None, device: DeviceLike = None) -> torch.Tensor:
        """A training batch of a supervision track as observations only: ``[N, C, H, W]``, or for weak
        pairs ``[2N, C, H, W]`` (the N first elements, then their partners). Same draws as
        :meth:`sample` / :meth:`sample_pairs`, rendered once, without building factor tensors for anyone."""
        device = self.device if device is None else torch.device(device)
        if supervision == UNSUPERVISED:
            return self.observe(self.data.sample_factors(n, generator), device, validate=False)
        if supervision == WEAK_PAIRS:
            return self.observe(torch.cat(self.sample_pair_factors(n, generator)), device, validate=False)
        raise DataError(f"Unknown supervision {supervision!r}; expected {UNSUPERVISED!r} or {WEAK_PAIRS!r}.")

    # --- scoring ----------------------------------------------------------------------------

    def recon_loss(self, x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The task's reconstruction loss per observation, ``[N]``."""
        return self.loss(x_hat, x)

    def evaluate(
        self,
        encode_fn: EncodeFn,
        seed: int = 0,
        protocol: str | Protocol = "standard",
        device: DeviceLike = None,
        metrics: list[str] | None = None,
        progress: bool = False,
    ) -> dict[str, float]:
        """Score a representation (``encode_fn: x [N, C, H, W] -> [N, D]``) with the tier's metric
        suite (or only the named ``metrics`` of it); ``progress`` shows a bar over the metrics."""
        from disbench.metrics import evaluate  # scikit-learn and scipy: imported only when scoring

        suite = self.get_protocol(protocol).metric_suite
        return evaluate(self, encode_fn, suite=suite, seed=seed, device=device, metrics=metrics, progress=progress)


def build_task(dataset: str, loss: str = "mse", download: bool = False, root: str | None = None, **dataset_kwargs: Any) -> Task:
    """Entry point of every built-in task: a dataset by name, its kwargs, and a loss by name."""
    if is_stored(dataset):
        data = make_dataset(dataset, root=root, download=download, **dataset_kwargs)
        data.open()  # fail now, with the command that fixes it, rather than at the first batch
    else:
        if download or root is not None:
            raise DataError(f"Dataset {dataset!r} is generated on the fly; it takes no download/root arguments.")
        data = make_dataset(dataset, **dataset_kwargs)
    data.require_full_grid("a task")  # data from files with gaps: analysable, not trainable
    return Task(data, loss)
