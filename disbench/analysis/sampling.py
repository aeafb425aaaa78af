"""Where the analysis draws its observations: anywhere on a full grid, only where there are images on an incomplete one.

On a full grid (every built-in dataset, and complete data from files) a traversal of factor ``i``
starts from a uniformly drawn combination, a pair differing in ``i`` changes ``i`` to another
value drawn uniformly, and random pairs are two distinct combinations.

Data from files may lack combinations (``GroundTruthData.present``). There, a *line* of factor
``i`` is the set of combinations that share every other factor's value, and the analysis draws

* traversals uniformly among the lines with images at ``min(3, f_i)`` or more of the factor's
  values, keeping in each the values that have an image (the distances of the others are NaN);
  a factor with no such line cannot be judged, and is refused with an error naming it;
* a pair differing in ``i`` as an image drawn uniformly among those whose line has another image,
  and one of those others, drawn uniformly;
* random pairs as two distinct images drawn uniformly.

Why this is sound: the verdict asks whether a loss orders a factor's values where the other
factors are held fixed (paper.md §1.3). A loss that orders a traversal orders any subset of its
values, and one that perceives every two values as equally far apart does so on any subset, so
each partial traversal answers the same question on the values it has, with fewer pairs (a
noisier rho). Keeping only complete traversals instead would keep almost none of a factor with
many values (with 10% of the combinations missing at random, 0.9^32 = 3% of a 32-value factor's
lines are complete) and would judge it on the few least-gapped corners of the data. What no
sampling can undo: gaps that depend on the images themselves (every combination where two
objects overlap removed, say) change what the traversals show.
"""

from __future__ import annotations

import numpy as np
import torch

from disbench.data.base import GroundTruthData
from disbench.error import DataError

MIN_VALUES = 3  # a traversal with fewer values has one distance or two equal ones: nothing to order


def _lines(data: GroundTruthData, i: int) -> np.ndarray:
    """``[L, f_i]``: which values of factor ``i`` have an image on each line (lines in row-major
    order of the other factors)."""
    grid = data.present.reshape(data.factor_sizes)
    return np.moveaxis(grid, i, -1).reshape(-1, data.factor_sizes[i])


def _line_bases(data: GroundTruthData, i: int, lines: np.ndarray) -> torch.Tensor:
    """``[N, F]`` factor vectors on the given lines of factor ``i``, with factor ``i`` at 0."""
    others = [s for k, s in enumerate(data.factor_sizes) if k != i]
    columns = list(np.unravel_index(lines, others)) if others else []
    columns.insert(i, np.zeros(len(lines), dtype=np.int64))
    return torch.from_numpy(np.stack(columns, axis=1).astype(np.int64))


def _usable_lines(data: GroundTruthData, i: int, need: int) -> tuple[np.ndarray, np.ndarray]:
    """The lines of factor ``i`` and the indices of those with ``need`` or more images; an error if none has."""
    lines = _lines(data, i)
    usable = np.flatnonzero(lines.sum(axis=1) >= need)
    if not usable.size:
        name, size = data.factor_names[i], data.factor_sizes[i]
        raise DataError(
            f"Factor {name!r} cannot be judged: no traversal of it (the other factors held fixed) has images at {need} or more of its {size} values "
            f"(at most {int(lines.sum(axis=1).max())}), as {100 * data.num_missing / len(data):.1f}% of the combinations have none. Add images that "
            f"differ only in {name}, or, if the other factors determine it, leave it out of the factors (factors=[...], --factors)."
        )
    return lines, usable


def traversals(data: GroundTruthData, factor: int | str, repeats: int, generator: torch.Generator) -> tuple[torch.Tensor, np.ndarray | None]:
    """``[repeats, f, F]`` factors of random traversals of ``factor``, and ``[repeats, f]``: which of
    them have an image (None on a full grid, where all do)."""
    i = data.factor_index(factor)
    if data.present is None:
        return data.sample_traversals(i, repeats, generator), None
    lines, usable = _usable_lines(data, i, min(MIN_VALUES, data.factor_sizes[i]))
    chosen = usable[torch.randint(len(usable), (repeats,), generator=generator).numpy()]
    return data.traversal_factors(i, _line_bases(data, i, chosen)), lines[chosen]


def factor_pairs(data: GroundTruthData, i: int, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` pairs of factor vectors ``[n, F]`` that differ in factor ``i`` only, both with an image."""
    size = data.factor_sizes[i]
    if data.present is None:
        a = data.sample_factors(n, generator)
        b = a.clone()
        b[:, i] = (a[:, i] + torch.randint(1, size, (n,), generator=generator)) % size
        return a, b
    lines, usable = _usable_lines(data, i, 2)
    eligible = np.flatnonzero(lines[usable].reshape(-1))  # (usable line, value) entries with an image
    line, value = np.divmod(eligible[torch.randint(len(eligible), (n,), generator=generator).numpy()], size)
    line = usable[line]
    count = lines.sum(axis=1)[line]
    rank = np.cumsum(lines, axis=1)[line, value] - 1  # the value's place among its line's values with an image
    ordered = np.argsort(~lines, axis=1, kind="stable")  # each line's values with an image first, in increasing order
    step = 1 + (torch.rand(n, generator=generator, dtype=torch.float64).numpy() * (count - 1)).astype(np.int64)
    a, b = _line_bases(data, i, line), _line_bases(data, i, line)
    a[:, i] = torch.from_numpy(value)
    b[:, i] = torch.from_numpy(ordered[line, (rank + step) % count])
    return a, b


def random_pairs(data: GroundTruthData, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` pairs of distinct combinations ``[n, F]`` with an image, drawn uniformly."""
    observed = data.observed_indices()
    ia = torch.randint(0, len(observed), (n,), generator=generator)
    ib = (ia + torch.randint(1, len(observed), (n,), generator=generator)) % len(observed)
    return data.idx_to_factors(observed[ia]), data.idx_to_factors(observed[ib])


def render_present(data: GroundTruthData, factors: torch.Tensor, present: np.ndarray | None) -> torch.Tensor:
    """uint8 observations of ``factors [N, F]``; where ``present [N]`` is False, black images (never read)."""
    if present is None:
        return data.render(factors, validate=False)
    mask = torch.from_numpy(present)
    out = torch.zeros(len(factors), *data.obs_shape, dtype=torch.uint8)
    out[mask] = data.render(factors[mask], validate=False)
    return out
