"""Flatness (the MSc metric, paper.md §5.7): how straight and evenly spaced factor traversals are.

For each factor (size > 1) and each of ``repeats`` random traversals ``z_1..z_f`` and for
p in {1, 2}: the *width* is the largest pairwise Lp distance; the *deltas* are the distances
between consecutive codes (cyclically), of which the ``f - 1`` smallest are kept (dropping the
wrap-around); the *length* is ``(f - 1) x`` the mean kept delta. Per factor, flatness is
``average width / length``: 1 for codes on an evenly spaced straight line, lower when the path
folds. Scores average over factors; ``ave_flatness`` uses L2 widths over L1 lengths, as the
authors' code does. ``cosine_angles`` is the mean angle between consecutive steps over pi
(0 = straight). A traversal of identical codes has length 0 and flatness 0.
"""

from __future__ import annotations

import numpy as np
import torch

from disbench.metrics.codes import CodeSource, EncodeFn, as_source
from disbench.metrics.traversals import traversal_factors
from disbench.task import Task


def _ratio(width: float, length: float) -> float:
    return width / length if length > 0 else 0.0


def flatness(task: Task, encoder: EncodeFn | CodeSource, seed: int = 0, repeats: int = 1024) -> dict[str, float]:
    """``flatness.*`` scores from ``repeats`` traversals per factor."""
    source = as_source(task, encoder)
    generator = torch.Generator().manual_seed(seed)
    width = {1: [], 2: []}
    length = {1: [], 2: []}
    angles = []
    for factor, size in enumerate(task.data.factor_sizes):
        if size < 2:
            continue
        z = torch.from_numpy(source.codes(traversal_factors(task.data, factor, repeats, generator)))  # [R, f, D]
        steps = torch.roll(z, -1, dims=1) - z
        for p in (1, 2):
            deltas = steps.norm(p=p, dim=-1)  # [R, f], the last one wraps around
            kept = torch.topk(deltas, k=size - 1, dim=1, largest=False).values
            width[p].append(float(torch.cdist(z, z, p=p).amax(dim=(1, 2)).mean()))
            length[p].append((size - 1) * float(kept.mean()))
        if size >= 3:
            forward = steps[:, :-1]
            cos = torch.nn.functional.cosine_similarity(forward[:, :-1], forward[:, 1:], dim=-1)
            angles.append(float(torch.arccos(cos.clamp(-1, 1)).mean() / np.pi))
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
        "flatness.cosine_angles": float(np.mean(angles)) if angles else 0.0,
    }
