"""How a reconstruction loss perceives a dataset, before any training (paper.md §1.2-1.5).

The *perceived distance* between two observations is the task's loss applied to them directly,
``d(x_a, x_b) = L_rec(x_a, x_b)``. Along a *traversal* (only factor ``i`` varies) it can be
compared with the ground-truth distance ``|y_a - y_b|``. Distances are computed in float64 on
images in [0, 1] by default (``space="unit"``, as the paper's Table A1), or in the model's input
space (``space="model"``, standardised as the VAE sees it). On data with missing combinations,
only observations that exist are drawn (``disbench.analysis.sampling``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from disbench.analysis.sampling import factor_pairs, random_pairs, render_present, traversals
from disbench.data.base import GroundTruthData
from disbench.losses import ReconLoss
from disbench.task import Task

SPACES = ("unit", "model")
_LOGIT_EPS = 1e-4


def _in_space(data: GroundTruthData, loss: ReconLoss, x: torch.Tensor, space: str, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """uint8 observations as the distance is measured: in [0, 1], or as the model sees them."""
    if space not in SPACES:
        raise ValueError(f"space must be one of {SPACES}, got {space!r}.")
    if space == "model" and loss.standardised:
        return data.normalise(x, dtype)
    return x.to(dtype) / 255.0


def _images(task: Task, factors: torch.Tensor, space: str, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return _in_space(task.data, task.loss, task.data.render(factors, validate=False), space, dtype)


def _as_reconstruction(loss: ReconLoss, x: torch.Tensor) -> torch.Tensor:
    """The second observation in the form the loss expects as a reconstruction (logits for BCE)."""
    if loss.standardised:
        return x
    p = x.clamp(_LOGIT_EPS, 1 - _LOGIT_EPS)
    return torch.log(p) - torch.log1p(-p)


@torch.inference_mode()
def pair_distances(task: Task, factors_a: torch.Tensor, factors_b: torch.Tensor, space: str = "unit", batch_size: int = 512) -> np.ndarray:
    """Perceived distance for each pair of factor vectors ``[N]`` (computed in float32: these feed
    summary statistics; the traversal matrices, which must detect exact ties, use float64)."""
    loss = task.loss
    out = []
    for start in range(0, len(factors_a), batch_size):
        a = _images(task, factors_a[start : start + batch_size], space, torch.float32)
        b = _images(task, factors_b[start : start + batch_size], space, torch.float32)
        out.append(loss(_as_reconstruction(loss, b), a).to(torch.float64))
    return torch.cat(out).numpy() if out else np.zeros(0)


@dataclass(frozen=True)
class DistanceStats:
    mean: float
    std: float
    num_pairs: int

    def to_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "std": self.std, "num_pairs": self.num_pairs}


def _stats(d: np.ndarray) -> DistanceStats:
    return DistanceStats(float(d.mean()), float(d.std()), int(d.size))


def perceived_distances(task: Task, num_pairs: int = 50_000, seed: int = 777, space: str = "unit") -> dict[str, DistanceStats | dict]:
    """Mean/std of the perceived distance per factor and for random pairs (paper Table A1).

    For factor ``i``, pairs differ only in factor ``i`` (the other value uniform among the rest);
    random pairs are two distinct observations drawn uniformly. Factors of size 1 are skipped.
    Returns ``{"factors": {name: DistanceStats}, "random": DistanceStats}``.
    """
    data = task.data
    gen = torch.Generator().manual_seed(seed)
    per_factor = {}
    for i, (name, size) in enumerate(zip(data.factor_names, data.factor_sizes)):
        if size < 2:
            continue
        per_factor[name] = _stats(pair_distances(task, *factor_pairs(data, i, num_pairs, gen), space))
    random = _stats(pair_distances(task, *random_pairs(data, num_pairs, gen), space))
    return {"factors": per_factor, "random": random}


@dataclass
class TraversalDistances:
    """Distances along ``repeats`` random traversals of one factor.

    ``perceived`` is ``[repeats, f, f]``; ``ground_truth`` is the ``[f, f]`` matrix ``|u - v|``.
    ``matrix`` (the paper's ``D^(i)``) is the average over repeats. On data with missing
    combinations, ``present`` (``[repeats, f]``) says which values of each traversal have an
    image; the distances of the others are NaN, and ``matrix`` averages each entry over the
    traversals that have both values (NaN where none has).
    """

    factor: str
    perceived: np.ndarray
    ground_truth: np.ndarray
    present: np.ndarray | None = None

    @property
    def matrix(self) -> np.ndarray:
        if self.present is None:
            return self.perceived.mean(axis=0)
        observed = ~np.isnan(self.perceived)
        counts = observed.sum(axis=0)
        return np.where(counts > 0, np.where(observed, self.perceived, 0.0).sum(axis=0) / np.maximum(counts, 1), np.nan)

    def matrix_list(self) -> list[list[float | None]]:
        """``matrix`` as nested lists for JSON, ``None`` where no traversal had the pair."""
        return [[None if np.isnan(d) else float(d) for d in row] for row in self.matrix]


def _squared(phi: torch.Tensor, traversals: int, size: int) -> torch.Tensor:
    """``[traversals, size, size]`` squared Euclidean distances between the maps of each traversal."""
    e = phi.reshape(traversals, size, -1)
    return torch.cdist(e, e, compute_mode="donot_use_mm_for_euclid_dist").square()


def _within(loss: ReconLoss, x: torch.Tensor, traversals: int, size: int, shared: dict[int, torch.Tensor]) -> torch.Tensor:
    """``[traversals, size, size]`` perceived distances between all observations of each traversal
    (``x`` holds the traversals one after another): from the loss's distance terms when it has them
    (the term of ``x`` itself, the same for every such loss, is kept in ``shared``), else pair by pair."""
    terms = loss.distance_terms(x)
    if terms is not None:
        total = torch.zeros(traversals, size, size, dtype=x.dtype)
        for weight, phi in terms:
            if phi is x and id(x) not in shared:
                shared[id(x)] = _squared(x, traversals, size)
            total += weight * (shared[id(x)] if phi is x else _squared(phi, traversals, size))
        return total
    x = x.view(traversals, size, *x.shape[1:])
    u, v = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    a, b = x[:, u.reshape(-1)], x[:, v.reshape(-1)]
    return loss(_as_reconstruction(loss, b.flatten(0, 1)), a.flatten(0, 1)).view(traversals, size, size)


@torch.inference_mode()
def traversal_distances_by_loss(
    data: GroundTruthData, losses: Sequence[ReconLoss], factor: int | str, repeats: int = 256, seed: int = 777, space: str = "unit", max_obs: int = 256,
) -> list[TraversalDistances]:
    """:func:`traversal_distances` under each of ``losses``, from one rendering (or one read from
    files) of the same random traversals; ``max_obs`` observations are held at a time."""
    i = data.factor_index(factor)
    size = data.factor_sizes[i]
    factors, present = traversals(data, i, repeats, torch.Generator().manual_seed(seed))
    chunk = max(1, max_obs // size)
    blocks: list[list[torch.Tensor]] = [[] for _ in losses]
    for start in range(0, repeats, chunk):
        block_factors = factors[start : start + chunk]
        raw = render_present(data, block_factors.flatten(0, 1), None if present is None else present[start : start + chunk].reshape(-1))
        images: dict[bool, torch.Tensor] = {}  # the observations as each kind of loss takes them, made once
        shared: dict[int, torch.Tensor] = {}  # their own squared distances, computed once
        for block, loss in zip(blocks, losses):
            if loss.standardised not in images:
                images[loss.standardised] = _in_space(data, loss, raw, space)
            block.append(_within(loss, images[loss.standardised], len(block_factors), size, shared))
    steps = np.arange(size, dtype=np.float64)
    ground_truth = np.abs(steps[:, None] - steps[None, :])
    return [TraversalDistances(data.factor_names[i], _without_missing(torch.cat(block).numpy(), present), ground_truth, present) for block in blocks]


def _without_missing(perceived: np.ndarray, present: np.ndarray | None) -> np.ndarray:
    """``perceived [R, f, f]`` with NaN for every pair that involves a value with no image."""
    if present is not None:
        perceived[~(present[:, :, None] & present[:, None, :])] = np.nan
    return perceived


def traversal_distances(task: Task, factor: int | str, repeats: int = 256, seed: int = 777, space: str = "unit", max_obs: int = 256) -> TraversalDistances:
    """All pairwise perceived distances within ``repeats`` random full traversals of ``factor``."""
    return traversal_distances_by_loss(task.data, [task.loss], factor, repeats, seed, space, max_obs)[0]


def traversal_matrices(task: Task, factor: int | str, repeats: int = 256, seed: int = 777, space: str = "unit") -> tuple[np.ndarray, np.ndarray]:
    """The averaged ``f x f`` (ground-truth, perceived) distance matrices of one factor (paper Eq. 10)."""
    t = traversal_distances(task, factor, repeats=repeats, seed=seed, space=space)
    return t.ground_truth, t.matrix
