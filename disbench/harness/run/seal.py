"""Sealed evaluation: each submission run trains and is scored on a secret variant of its task.

A submission that hard-codes the public renderer's images (a lookup oracle) must not find them.
For every run the harness draws a secret seal (keyed by a secret of the runner's that the child
never sees: :func:`secret_seed`) and renders
every observation of that run through it: a permutation of the colour channels, an inversion of
some channels (``v -> 255 - v``), one of the symmetries of the square (quarter turns and a mirror)
and, for pixel-wise losses, a circular shift. A task admits only the transforms under which its
reconstruction loss gives every pair of observations exactly the distance it gives the public
pair (:func:`seal_group`; a blur's zero padding rules out shifts, a kernel that is not symmetric
rules out the turns that change it). The loss so perceives the public task exactly; a model need
not (a zero-padded convolution sees a shift split a square across the border), and docs/trust.md
measures what that costs in scores. The factors, and so the metrics, are untouched.

The seal is kept in the run's ``checkpoint.pt`` (the child cannot read the run folder), so a
resumed run keeps it, and goes into the record when the run ends, so ``verify`` re-scores and
``--retrain`` re-trains on the same variant.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import secrets
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from disbench.data.base import GroundTruthData
from disbench.error import TrainingError
from disbench.files import create_once
from disbench.losses import AugmentedLoss
from disbench.task import Task


@dataclass(frozen=True)
class SealGroup:
    """Which transforms a task admits: channel permutation and inversion, the dihedral elements
    ``(quarter_turns, mirrored)`` that keep its loss exact, and circular shifts."""

    channels: int
    invert: bool
    dihedral: tuple[tuple[int, bool], ...]
    shift: tuple[int, int] | None  # (H, W) when any circular shift is allowed

    def size(self) -> int:
        """How many distinct seals there are (the number a lookup oracle would have to try)."""
        shifts = self.shift[0] * self.shift[1] if self.shift else 1
        return math.factorial(self.channels) * (2**self.channels if self.invert else 1) * len(self.dihedral) * shifts


@dataclass(frozen=True)
class Seal:
    """One secret variant: output channel ``k`` shows input channel ``channels[k]``, inverted where
    ``inverted[k]``; the image is turned ``quarter_turns`` times, then mirrored left-right if
    ``mirrored``, then shifted circularly by ``shift`` (rows, columns). ``secret`` says whether the
    seal was drawn from the runner's secret (True) or given by whoever started the run (a replay)."""

    seed: int
    channels: tuple[int, ...]
    inverted: tuple[bool, ...]
    quarter_turns: int
    mirrored: bool
    shift: tuple[int, int]
    secret: bool = True

    @classmethod
    def draw(cls, group: SealGroup, seed: int, secret: bool) -> Seal:
        """The seal ``seed`` picks uniformly from ``group``."""
        rng = np.random.default_rng(seed)
        channels = tuple(int(c) for c in rng.permutation(group.channels))
        inverted = tuple(bool(b) for b in rng.integers(0, 2, group.channels)) if group.invert else (False,) * group.channels
        turns, mirrored = group.dihedral[int(rng.integers(len(group.dihedral)))]
        shift = (int(rng.integers(group.shift[0])), int(rng.integers(group.shift[1]))) if group.shift else (0, 0)
        return cls(seed, channels, inverted, int(turns), bool(mirrored), shift, secret)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Seal:
        return cls(int(d["seed"]), tuple(d["channels"]), tuple(d["inverted"]), int(d["quarter_turns"]), bool(d["mirrored"]),
                   tuple(d["shift"]), bool(d["secret"]))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "channels": list(self.channels), "inverted": list(self.inverted), "shift": list(self.shift)}

    def _spatial(self, x: torch.Tensor) -> torch.Tensor:
        if self.quarter_turns:
            x = torch.rot90(x, self.quarter_turns, dims=(-2, -1))
        if self.mirrored:
            x = torch.flip(x, dims=(-1,))
        if any(self.shift):
            x = torch.roll(x, self.shift, dims=(-2, -1))
        return x

    def _unspatial(self, x: torch.Tensor) -> torch.Tensor:
        if any(self.shift):
            x = torch.roll(x, (-self.shift[0], -self.shift[1]), dims=(-2, -1))
        if self.mirrored:
            x = torch.flip(x, dims=(-1,))
        if self.quarter_turns:
            x = torch.rot90(x, -self.quarter_turns, dims=(-2, -1))
        return x

    def _mask(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tensor(self.inverted, device=x.device).view(1, -1, 1, 1)

    def apply(self, x: torch.Tensor, white: float | None = 255) -> torch.Tensor:
        """``x [N, C, H, W]`` sealed; an inverted channel becomes ``white - x`` (``None``: ``-x``, for
        standardised observations, whose inversion is a negation). The channel permutation and the
        turn, mirror and shift are one gather (:func:`_sealed_index`), a single pass over the batch."""
        index = _sealed_index(self, tuple(x.shape[1:]), str(x.device))
        out = x.flatten(1).index_select(1, index.view(-1)).view(len(x), *index.shape)
        for c in (c for c, inverted in enumerate(self.inverted) if inverted):
            out[:, c] = -out[:, c] if white is None else white - out[:, c]
        return out

    def undo(self, images: torch.Tensor) -> torch.Tensor:
        """Sealed float images in [0, 1] back to the public task's (for pictures)."""
        if any(self.inverted):
            images = torch.where(self._mask(images), 1.0 - images, images)
        inverse = np.argsort(self.channels).tolist()
        return self._unspatial(images[:, inverse]).contiguous()


@lru_cache(maxsize=16)
def _sealed_index(seal: Seal, shape: tuple[int, ...], device: str) -> torch.Tensor:
    """``[C, H', W']``: for each element of a sealed observation, the flat index of the element of
    the public one it shows (the seal's own channel and spatial steps, applied to the indices)."""
    with torch.inference_mode(False):  # cached: it must serve later calls outside inference mode (training) too
        source = torch.arange(math.prod(shape)).view(1, *shape)
        return seal._spatial(source[:, list(seal.channels)])[0].contiguous().to(device)


def seal_group(data: GroundTruthData, loss: Any) -> SealGroup:
    """The transforms under which ``loss`` gives sealed pairs exactly their public distances.

    Channel permutation and inversion: every loss here is a sum over channels, and MSE, L1 and BCE
    are unchanged when target and reconstruction are both inverted; a blur is linear, except that
    BCE blurs probabilities, where the zero padding breaks the symmetry. A turn or mirror keeps a
    blur exact only if its kernel is unchanged by it (and a quarter turn needs a square image); a
    circular shift keeps only pixel-wise losses exact (a blur pads with zeros)."""
    channels, height, width = data.obs_shape
    kernel = loss.kernel.detach().cpu() if isinstance(loss, AugmentedLoss) else None
    turns = range(4) if height == width else (0, 2)  # a quarter turn would change a rectangle's shape
    dihedral = tuple((t, m) for t in turns for m in (False, True) if kernel is None or _keeps(kernel, t, m))
    invert = not (kernel is not None and loss.base == "bce")
    return SealGroup(channels, invert, dihedral, (height, width) if kernel is None else None)


def _keeps(kernel: torch.Tensor, turns: int, mirrored: bool) -> bool:
    moved = torch.rot90(kernel, turns) if turns else kernel
    moved = torch.flip(moved, dims=(-1,)) if mirrored else moved
    return moved.shape == kernel.shape and torch.equal(moved, kernel)


class SealedData(GroundTruthData):
    """``data`` seen through ``seal``: same factors, same layout; every observation sealed."""

    stored = False

    def __init__(self, data: GroundTruthData, seal: Seal) -> None:
        self.inner, self.seal = data, seal
        self.name = data.name
        self.factor_names, self.factor_sizes, self.obs_shape = data.factor_names, data.factor_sizes, data.obs_shape

    def _render(self, factors: torch.Tensor) -> torch.Tensor:
        return self.seal.apply(self.inner._render(factors))

    def _render_normalised(self, factors: torch.Tensor) -> torch.Tensor:
        return self.seal.apply(self.inner._render_normalised(factors), white=None)

    def normalisation_constants(self) -> tuple[list[float], list[float]]:
        """The inner constants, permuted; an inverted channel's mean is ``1 - mean`` (its std stays)."""
        mean, std = self.inner.mean, self.inner.std
        return ([1.0 - mean[c] if inv else mean[c] for c, inv in zip(self.seal.channels, self.seal.inverted)],
                [std[c] for c in self.seal.channels])

    def preload(self, device: torch.device | str) -> None:
        preload = getattr(self.inner, "preload", None)
        if preload is not None:
            preload(device)

    def config(self) -> dict[str, Any]:
        return self.inner.config()


class SealedTask(Task):
    """A task whose observations are sealed; its pictures show the public task's images."""

    def __init__(self, task: Task, seal: Seal) -> None:
        if len(seal.channels) != task.data.obs_shape[0]:
            raise TrainingError(f"This seal has {len(seal.channels)} channels; {task.id}'s observations have {task.data.obs_shape[0]}. "
                                "It was made for another task.")
        super().__init__(SealedData(task.data, seal), task.loss)
        self.spec, self.off_protocol, self.device, self.seal = task.spec, task.off_protocol, task.device, seal

    def to_image(self, x: torch.Tensor) -> torch.Tensor:
        return self.seal.undo(super().to_image(x))


def sealed(task: Task, seal: Seal | None) -> Task:
    """``task`` with its observations sealed (``seal=None``: ``task`` itself)."""
    return task if seal is None else SealedTask(task, seal)


SECRET_ENV = "DISBENCH_SEAL_SECRET_FILE"


def runner_secret() -> bytes:
    """This machine's sealing secret: ``$DISBENCH_SEAL_SECRET_FILE``, else
    ``$XDG_CONFIG_HOME/disbench/seal-secret`` (made once, 0600). It never enters a child's view."""
    path = Path(os.environ.get(SECRET_ENV) or Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "disbench" / "seal-secret")
    if not path.is_file():
        try:
            create_once(path, secrets.token_bytes(32))  # runs starting together (a Slurm array) share the first one's
        except OSError as e:
            raise TrainingError(f"Cannot create the sealing secret {path} ({e.strerror or e}); point {SECRET_ENV} at a writable file path.") from None
    secret = path.read_bytes()
    if len(secret) < 16:
        raise TrainingError(f"The sealing secret {path} is shorter than 16 bytes; delete it and a new one is made.")
    return secret


def secret_seed(identity: str) -> int:
    """The seal seed of one run: a keyed hash of what the run is (task, tier, seed and the code's
    content hash). The same code and seed get the same variant on this machine (same seed, same
    result); changed code gets a fresh one, so a published seal is no use to its next version."""
    digest = hmac.new(runner_secret(), identity.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def choose_seal(task: Task, wanted: bool | int | None, identity: str, checkpoint: dict[str, Any] | None = None) -> Seal | None:
    """The run's seal: the one its ``checkpoint`` holds, the public task's included (a resumed run keeps
    its variant), else the runner's secret one for ``identity`` (``wanted=True``), one replayed from a
    seed (an int), or none (``False``/``None``: the public task)."""
    if checkpoint is not None:
        return Seal.from_dict(checkpoint["seal"]) if checkpoint.get("seal") else None
    if wanted is None or wanted is False:
        return None
    group = seal_group(task.data, task.loss)
    if wanted is True:
        return Seal.draw(group, secret_seed(identity), secret=True)
    return Seal.draw(group, int(wanted), secret=False)
