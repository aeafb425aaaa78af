"""Factored components (the MSc metric, paper.md §5.6): ordering, linearity and axis alignment.

*Distances*, per factor: along each of ``repeats`` random traversals, ``num_samples`` random
triplets (a, p, n) of positions; the ground distance is ``|a - p|`` (position along the
traversal), the data distance is the MSE between the model-space observations, the latent
distances are the L1 and L2 norms of the code difference. Over all triplets, for each pair of
distance kinds: Spearman (``rcorr_*``), Pearson (``lcorr_*``), and the fraction of triplets
ordered alike (``rsame_*``). The ``.global`` variants use random batches of
``global_subset_size`` observations with L1 factor distance as ground truth.
``distances.rcorr_ground_latent.l2.factor`` is the "ground-truth correlation" of the MSc.

*Linearity*, per traversal: ``axis_ratio.var`` normalises the largest per-dimension variance by
the total, ``linear_ratio.var`` does the same for PCA eigenvalues, ``axis_alignment.var`` is
their quotient; ``axis_ratio_ave.var`` uses variances averaged over repeats. A ratio ``r`` of
``n = D`` values is normalised as ``(r - 1/n) / (1 - 1/n)``.

Per-factor values are combined by the geometric mean over factors of size > 1, as the authors'
code does; if a factor's value is <= 0 the geometric mean is defined as 0 (the reference gives
NaN). Correlations of constant distances (a collapsed encoder) count as 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from scipy.stats import pearsonr, spearmanr

from disbench.metrics.codes import CodeSource, as_source

if TYPE_CHECKING:
    from disbench.task import EncodeFn, Task

PAIRS = {
    "ground_data": ("ground", "data"),
    "ground_latent.l1": ("ground", "latent.l1"),
    "ground_latent.l2": ("ground", "latent.l2"),
    "latent_data.l1": ("latent.l1", "data"),
    "latent_data.l2": ("latent.l2", "data"),
}


def _correlation(fn, a: np.ndarray, b: np.ndarray) -> float:
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(fn(a, b)[0])


def _same_order(ap0, an0, ap1, an1) -> float:
    same = ((ap0 < an0) & (ap1 < an1)) | ((ap0 == an0) & (ap1 == an1)) | ((ap0 > an0) & (ap1 > an1))
    return float(np.mean(same))


def _normalised_ratio(values: torch.Tensor) -> torch.Tensor:
    """``(max/sum - 1/n) / (1 - 1/n)`` over the last dimension."""
    n = values.shape[-1]
    ratio = values.max(dim=-1).values / values.sum(dim=-1).clamp_min(1e-300)
    return (ratio - 1 / n) / (1 - 1 / n)


def _scores(d: dict[str, np.ndarray], suffix: str) -> dict[str, float]:
    out = {}
    for name, (left, right) in PAIRS.items():
        a = np.concatenate([d[f"ap_{left}"], d[f"an_{left}"]])
        b = np.concatenate([d[f"ap_{right}"], d[f"an_{right}"]])
        out[f"distances.rsame_{name}.{suffix}"] = _same_order(d[f"ap_{left}"], d[f"an_{left}"], d[f"ap_{right}"], d[f"an_{right}"])
        out[f"distances.rcorr_{name}.{suffix}"] = _correlation(spearmanr, a, b)
        out[f"distances.lcorr_{name}.{suffix}"] = _correlation(pearsonr, a, b)
    return out


def _pair_mse(x: torch.Tensor, first: torch.Tensor, second: torch.Tensor, block: int = 256) -> torch.Tensor:
    """MSE between rows ``x[first[i]]`` and ``x[second[i]]`` of ``x [N, d]``, a block of pairs at a
    time: the same values as gathering all pairs at once, without materialising them all (a block
    of 256 pairs of 64x64 RGB images is 12 MB)."""
    out = torch.empty(len(first), dtype=x.dtype, device=x.device)
    for start in range(0, len(first), block):
        diff = x.index_select(0, first[start : start + block]) - x.index_select(0, second[start : start + block])
        out[start : start + block] = diff.square_().mean(dim=-1)
    return out


def _triplet_distances(source: CodeSource, factors: torch.Tensor, z: np.ndarray, ground: np.ndarray, num_samples: int, generator) -> dict[str, np.ndarray]:
    """Distances for ``num_samples`` random triplets in each of ``R`` groups (``factors [R, m, F]``)."""
    r, m = factors.shape[:2]
    idx = torch.randint(0, m, (3, r, num_samples), generator=generator)
    rows = torch.arange(r)[:, None]
    x = source.task.observe(factors.reshape(-1, factors.shape[-1]), source.device, validate=False).flatten(1)
    first = (rows * m + idx[0]).reshape(-1).to(x.device)
    out = {}
    for name, other in (("ap", idx[1]), ("an", idx[2])):
        out[f"{name}_ground"] = ground[rows.numpy(), idx[0].numpy(), other.numpy()].reshape(-1)
        out[f"{name}_data"] = _pair_mse(x, first, (rows * m + other).reshape(-1).to(x.device)).double().cpu().numpy()
        diff = z[rows.numpy(), idx[0].numpy()] - z[rows.numpy(), other.numpy()]
        out[f"{name}_latent.l1"] = np.abs(diff).sum(axis=-1).reshape(-1)
        out[f"{name}_latent.l2"] = np.sqrt(np.square(diff).sum(axis=-1)).reshape(-1)
    return out


def _geometric_mean(values: list[float]) -> float:
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0 or np.any(values <= 0):
        return 0.0
    return float(np.exp(np.mean(np.log(values))))


def factored_components(
    task: Task,
    encoder: EncodeFn | CodeSource,
    seed: int = 0,
    repeats: int = 1024,
    num_samples: int = 64,
    global_subset_size: int = 32,
    chunk: int = 64,
) -> dict[str, float]:
    """``distances.*`` and ``linearity.*`` scores (see the module docstring)."""
    source = as_source(task, encoder)
    generator = torch.Generator().manual_seed(seed)
    data = task.data
    per_factor: list[dict[str, float]] = []
    for factor, size in enumerate(data.factor_sizes):
        if size < 2:
            continue
        steps = np.arange(size, dtype=np.float64)
        ground = np.broadcast_to(np.abs(steps[:, None] - steps[None, :]), (chunk, size, size))
        parts, axis_vars, scores = [], [], {"linearity.axis_ratio.var": [], "linearity.linear_ratio.var": [], "linearity.axis_alignment.var": []}
        for start in range(0, repeats, chunk):
            n = min(chunk, repeats - start)
            factors = data.sample_traversals(factor, n, generator)
            z = source.codes(factors)
            parts.append(_triplet_distances(source, factors, z, ground[:n], num_samples, generator))
            zt = torch.from_numpy(z)
            variances = zt.var(dim=1)  # [n, D], ddof 1
            centred = zt - zt.mean(dim=1, keepdim=True)
            eig = torch.linalg.eigvalsh(centred.transpose(1, 2) @ centred / max(size - 1, 1)).clamp_min(0)
            axis, linear = _normalised_ratio(variances), _normalised_ratio(eig)
            scores["linearity.axis_ratio.var"].append(axis)
            scores["linearity.linear_ratio.var"].append(linear)
            scores["linearity.axis_alignment.var"].append(axis / (linear + 1e-20))
            axis_vars.append(variances)
        merged = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        result = _scores(merged, "factor")
        result.update({k: float(torch.cat(v).mean()) for k, v in scores.items()})
        result["linearity.axis_ratio_ave.var"] = float(_normalised_ratio(torch.cat(axis_vars).mean(dim=0)))
        per_factor.append(result)
    out = {key: _geometric_mean([r[key] for r in per_factor]) for key in per_factor[0]}

    parts = []
    for start in range(0, repeats, chunk):
        n = min(chunk, repeats - start)
        factors = data.sample_factors(n * global_subset_size, generator).view(n, global_subset_size, -1)
        ground = (factors[:, :, None, :] - factors[:, None, :, :]).abs().sum(dim=-1).double().numpy()
        parts.append(_triplet_distances(source, factors, source.codes(factors), ground, num_samples, generator))
    out.update(_scores({k: np.concatenate([p[k] for p in parts]) for k in parts[0]}, "global"))
    return dict(sorted(out.items()))
