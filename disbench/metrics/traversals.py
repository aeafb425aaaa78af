"""Random factor traversals for the MSc metrics (flatness, factored components)."""

from __future__ import annotations

import torch

from disbench.data.base import GroundTruthData


def traversal_factors(data: GroundTruthData, factor: int, repeats: int, generator: torch.Generator) -> torch.Tensor:
    """``[repeats, size, F]``: full traversals of ``factor`` from random starting points."""
    size = data.factor_sizes[factor]
    factors = data.sample_factors(repeats, generator)[:, None, :].repeat(1, size, 1)
    factors[:, :, factor] = torch.arange(size)
    return factors
