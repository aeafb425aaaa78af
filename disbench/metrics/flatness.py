"""Flatness (the MSc metric, paper.md §5.7): how straight and evenly spaced factor traversals are.

For each factor (size > 1) and each of ``repeats`` random traversals ``z_1..z_f`` and for
p in {1, 2}: the *width* is the largest pairwise Lp distance; the *deltas* are the distances
between consecutive codes (cyclically), of which the ``f - 1`` smallest are kept (dropping the
wrap-around); the *length* is ``(f - 1) x`` the mean kept delta. Per factor, flatness is
``average width / length``: 1 for codes on an evenly spaced straight line, lower when the path
folds. Scores average over factors; ``ave_flatness`` uses L2 widths over L1 lengths, as the
authors' code does. A traversal of identical codes has length 0 and flatness 0.

Two angle scores, both divided by pi and averaged over traversals, then over factors:

- ``cosine_angles`` is the authors' quantity (:func:`distance_angle`): per traversal, *one*
  angle between the vector of L1 distances to the next code, ``(|z_2 - z_1|, ..., |z_1 - z_f|)``,
  and the vector of L1 distances to the previous code (the same distances shifted by one). It
  measures how unevenly the step lengths vary along the (cyclic) traversal, not the direction
  of the steps: an evenly spaced straight line of f points scores
  ``arccos((3f - 4) / (f (f - 1))) / pi`` (the long wrap-around step), a closed loop of equal
  steps scores 0, and a traversal of identical codes scores 0.
- ``step_angles`` (disbench's addition, :func:`step_angles`) is the mean angle between
  consecutive step *vectors* ``z_{i+1} - z_i`` (no wrap-around; factors of size >= 3): 0 for a
  straight path, 1/2 for right-angle turns, 1 when the path doubles back.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import torch

from disbench.metrics.codes import CodeSource, as_source

if TYPE_CHECKING:
    from disbench.task import EncodeFn, Task


def _ratio(width: float, length: float) -> float:
    return width / length if length > 0 else 0.0


def distance_angle(z: torch.Tensor, p: float = 1) -> torch.Tensor:
    """``[R, f, D]`` traversals -> ``[R]`` angles (radians) between next- and previous-step distances.

    ``next[i] = |z[i+1] - z[i]|_p`` and ``prev[i] = |z[i-1] - z[i]|_p`` (indices cyclic) are
    vectors of length f; the angle is ``arccos(<next, prev> / (|next|_2 |prev|_2))``, and 0 when
    every distance is 0 (the authors map that NaN to 0).
    """
    d_next = (torch.roll(z, -1, dims=1) - z).norm(p=p, dim=-1)  # [R, f]
    d_prev = (torch.roll(z, 1, dims=1) - z).norm(p=p, dim=-1)
    norms = d_next.norm(dim=-1) * d_prev.norm(dim=-1)
    dot = (d_next * d_prev).sum(dim=-1)
    cos = torch.where(norms > 0, dot / norms.clamp_min(torch.finfo(z.dtype).tiny), torch.ones_like(dot))
    return torch.arccos(cos.clamp(-1, 1))


def step_angles(z: torch.Tensor) -> torch.Tensor:
    """``[R, f, D]`` traversals (f >= 3) -> ``[R]`` mean angle (radians) between consecutive step vectors.

    A zero-length step has no direction; its angles count as pi/2 (``cosine_similarity``'s 0).
    """
    steps = z[:, 1:] - z[:, :-1]  # [R, f - 1, D]
    cos = torch.nn.functional.cosine_similarity(steps[:, :-1], steps[:, 1:], dim=-1)
    return torch.arccos(cos.clamp(-1, 1)).mean(dim=1)


def flatness(task: Task, encoder: EncodeFn | CodeSource, seed: int = 0, repeats: int = 1024) -> dict[str, float]:
    """``flatness.*`` scores from ``repeats`` traversals per factor."""
    source = as_source(task, encoder)
    generator = torch.Generator().manual_seed(seed)
    width = {1: [], 2: []}
    length = {1: [], 2: []}
    cosine, turns = [], []
    for factor, size in enumerate(task.data.factor_sizes):
        if size < 2:
            continue
        z = torch.from_numpy(source.codes(task.data.sample_traversals(factor, repeats, generator)))  # [R, f, D]
        steps = torch.roll(z, -1, dims=1) - z
        for p in (1, 2):
            deltas = steps.norm(p=p, dim=-1)  # [R, f], the last one wraps around
            kept = torch.topk(deltas, k=size - 1, dim=1, largest=False).values
            width[p].append(float(torch.cdist(z, z, p=p).amax(dim=(1, 2)).mean()))
            length[p].append((size - 1) * float(kept.mean()))
        cosine.append(float(distance_angle(z, p=1).mean()))
        if size >= 3:
            turns.append(float(step_angles(z).mean()))
    w1, w2, l1, l2 = (np.array(v) for v in (width[1], width[2], length[1], length[2]))
    return {
        "flatness.ave_width_l1": float(w1.mean()),
        "flatness.ave_width_l2": float(w2.mean()),
        "flatness.ave_length_l1": float(l1.mean()),
        "flatness.ave_length_l2": float(l2.mean()),
        "flatness.ave_flatness_l1": float(np.mean([_ratio(w, n) for w, n in zip(w1, l1)])),
        "flatness.ave_flatness_l2": float(np.mean([_ratio(w, n) for w, n in zip(w2, l2)])),
        "flatness.ave_flatness": float(np.mean([_ratio(w, n) for w, n in zip(w2, l1)])),
        "flatness.ave_flatness_alt": _ratio(float(w2.mean()), float(l1.mean())),
        "flatness.cosine_angles": float(np.mean(cosine)) / math.pi if cosine else 0.0,
        "flatness.step_angles": float(np.mean(turns)) / math.pi if turns else 0.0,
    }
