"""The ground-truth dataset contract: a full grid of factors, one observation per point (data from
files may lack some points: ``present`` says which it has, and only the analysis accepts that).

Observations are uint8 ``[N, C, H, W]`` tensors rendered (or gathered) for a whole batch at
once on the requested device. Factors are integer indices laid out row-major (last factor
fastest), as in disent and disentanglement_lib, so ``idx_to_factors`` is ``np.unravel_index``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import torch

from disbench.error import DataError

DeviceLike = torch.device | str | None


def as_long_tensor(values: Any, what: str) -> torch.Tensor:
    """Accept ints, sequences, numpy arrays or tensors of integers; return a long tensor."""
    if isinstance(values, torch.Tensor):
        tensor = values
    else:
        array = np.asarray(values)
        if array.dtype == object:
            raise DataError(f"{what} must be integers, got {values!r}.")
        tensor = torch.from_numpy(np.ascontiguousarray(array))
    if tensor.dtype.is_floating_point or tensor.dtype.is_complex or tensor.dtype == torch.bool:
        raise DataError(f"{what} must be integers, got dtype {tensor.dtype}.")
    return tensor.long()


class GroundTruthData:
    """Base class of every dataset. Subclasses set the layout and implement ``_render``."""

    name: ClassVar[str]
    stored: ClassVar[bool] = False  # downloaded once (``disbench data download``), not rendered
    factor_names: tuple[str, ...]
    factor_sizes: tuple[int, ...]
    obs_shape: tuple[int, int, int]
    categorical_factors: tuple[str, ...] = ()  # factors whose values have no order (the analysis judges no order for them)
    present: np.ndarray | None = None  # bool [len(self)]: which combinations have an observation (data from files); None: all of them

    # --- layout -----------------------------------------------------------------------------

    @property
    def num_factors(self) -> int:
        return len(self.factor_sizes)

    def __len__(self) -> int:
        """The number of factor combinations (grid points), observed or not."""
        return math.prod(self.factor_sizes)

    @property
    def num_missing(self) -> int:
        """How many factor combinations have no observation (0 for a full grid)."""
        return 0 if self.present is None else int((~self.present).sum())

    def observed_indices(self) -> torch.Tensor:
        """Flat indices of the combinations that have an observation, in increasing order."""
        return torch.arange(len(self)) if self.present is None else torch.from_numpy(np.flatnonzero(self.present))

    def require_full_grid(self, use: str) -> None:
        """Raise unless every factor combination has an observation: training, supervision and the
        metrics draw combinations from the whole grid (each factor's values independent of the
        others'), which an incomplete dataset cannot give without biasing every score."""
        if self.num_missing:
            raise DataError(
                f"{self.name} cannot be {use}: {self.num_missing:,} of its {len(self):,} factor combinations ({100 * self.num_missing / len(self):.1f}%) "
                "have no image, and training and the metrics draw combinations from the full grid. Keep a complete sub-grid (leave out a factor "
                "or the values with gaps) or add the missing images; disbench analyze and suggest-loss work on it as it is."
            )

    @cached_property
    def _sizes(self) -> torch.Tensor:
        return torch.tensor(self.factor_sizes, dtype=torch.long)

    @cached_property
    def _strides(self) -> torch.Tensor:
        strides = np.cumprod((self.factor_sizes[1:] + (1,))[::-1])[::-1].copy()
        return torch.tensor(strides, dtype=torch.long)

    def idx_to_factors(self, idx: Any) -> torch.Tensor:
        """Flat indices ``[N]`` -> factor indices ``[N, F]`` (row-major, last factor fastest)."""
        idx = as_long_tensor(idx, "indices").reshape(-1)
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= len(self)):
            raise DataError(f"Index out of range for {self.name}: valid indices are 0..{len(self) - 1}.")
        strides, sizes = self._strides.to(idx.device), self._sizes.to(idx.device)
        return torch.div(idx[:, None], strides, rounding_mode="floor") % sizes

    def factors_to_idx(self, factors: Any, *, validate: bool = True) -> torch.Tensor:
        """Factor indices ``[N, F]`` -> flat indices ``[N]``. ``validate=False`` skips the checks
        for factors that are already a valid long tensor (the hot path of sampling and metrics)."""
        if validate:
            factors = self.check_factors(factors)
        return (factors * self._strides.to(factors.device)).sum(dim=-1)

    def factor_index(self, factor: int | str) -> int:
        """Resolve a factor given by index or name, with an error listing the valid choices."""
        names = self.factor_names
        if isinstance(factor, str):
            if factor not in names:
                raise DataError(f"Unknown factor {factor!r} for {self.name}; factors are {', '.join(names)}.")
            return names.index(factor)
        if not isinstance(factor, (int, np.integer)) or not 0 <= factor < len(names):
            raise DataError(f"Factor index {factor!r} is out of range: {self.name} has factors 0..{len(names) - 1} ({', '.join(names)}).")
        return int(factor)

    def check_factors(self, factors: Any) -> torch.Tensor:
        """Validate factors (shape ``[N, F]`` or ``[F]``, integer, in range) and return ``[N, F]`` long."""
        factors = as_long_tensor(factors, "factors")
        if factors.ndim == 1:
            factors = factors[None]
        if factors.ndim != 2 or factors.shape[1] != self.num_factors:
            raise DataError(
                f"{self.name} expects factors of shape [N, {self.num_factors}] ({', '.join(self.factor_names)}), "
                f"got {tuple(factors.shape)}."
            )
        if factors.numel():
            sizes = self._sizes.to(factors.device)
            bad = (factors < 0) | (factors >= sizes)
            if bool(bad.any()):
                row, col = (int(v) for v in bad.nonzero()[0])
                raise DataError(
                    f"Factor {self.factor_names[col]!r} = {int(factors[row, col])} is out of range in row {row}: "
                    f"valid values are 0..{self.factor_sizes[col] - 1}."
                )
        return factors

    def sample_factors(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` factor vectors drawn uniformly over the grid, on the CPU, from ``generator``."""
        u = torch.rand(n, self.num_factors, generator=generator, dtype=torch.float64)
        return (u * self._sizes).long()

    def traversal_factors(self, factor: int | str, bases: torch.Tensor) -> torch.Tensor:
        """``[R, size, F]``: for each base factor vector of ``bases [R, F]``, the full traversal of
        ``factor`` (every value of it in order, the other factors fixed)."""
        i = self.factor_index(factor)
        size = self.factor_sizes[i]
        factors = bases[:, None, :].repeat(1, size, 1)
        factors[:, :, i] = torch.arange(size, device=bases.device)
        return factors

    def sample_traversals(self, factor: int | str, repeats: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``[repeats, size, F]``: full traversals of ``factor`` from uniformly drawn starting points."""
        return self.traversal_factors(factor, self.sample_factors(repeats, generator))

    # --- observations -----------------------------------------------------------------------

    def render(self, factors: Any, device: DeviceLike = None, *, validate: bool = True) -> torch.Tensor:
        """Observations for ``factors`` as uint8 ``[N, C, H, W]`` on ``device`` (default: where the
        factors are). ``validate=False`` skips the checks for factors that are already a valid long
        tensor, e.g. fresh from :meth:`sample_factors` (the hot path of training and metrics)."""
        factors = self.check_factors(factors) if validate else factors
        return self._render(factors.to(self._device_for(factors, device)))

    def render_normalised(self, factors: Any, device: DeviceLike = None, *, validate: bool = True) -> torch.Tensor:
        """Observations as float32, standardised per channel with the dataset's mean/std."""
        factors = self.check_factors(factors) if validate else factors
        return self._render_normalised(factors.to(self._device_for(factors, device)))

    def __getitem__(self, idx: int) -> torch.Tensor:
        if not isinstance(idx, (int, np.integer)):
            raise DataError(f"Index {self.name} with an int; for batches use render(factors), got {type(idx).__name__}.")
        if not -len(self) <= idx < len(self):
            raise DataError(f"Index {idx} out of range for {self.name} with {len(self)} observations.")
        return self._render(self.idx_to_factors(int(idx) % len(self)))[0]

    def _render(self, factors: torch.Tensor) -> torch.Tensor:
        """Render valid ``[N, F]`` factors already on the target device; vectorised over N."""
        raise NotImplementedError

    def _render_normalised(self, factors: torch.Tensor) -> torch.Tensor:
        return self.normalise(self._render(factors))

    @staticmethod
    def _device_for(factors: torch.Tensor, device: DeviceLike) -> torch.device:
        return factors.device if device is None else torch.device(device)

    # --- normalisation ----------------------------------------------------------------------

    def normalisation_constants(self) -> tuple[Sequence[float], Sequence[float]] | None:
        """Known per-channel (mean, std) of pixel values in [0, 1], or None to compute them."""
        return None

    @cached_property
    def _normalisation(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        known = self.normalisation_constants()
        if known is None:
            known = self.compute_normalisation()
        mean, std = (tuple(float(v) for v in values) for values in known)
        channels = self.obs_shape[0]
        if len(mean) == 1 and channels > 1:
            mean, std = mean * channels, std * channels
        return mean, std

    @property
    def mean(self) -> tuple[float, ...]:
        return self._normalisation[0]

    @property
    def std(self) -> tuple[float, ...]:
        return self._normalisation[1]

    def compute_normalisation(self, chunk: int = 4096) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per-channel constants over every observation, in [0, 1] units, by disent's convention.

        The mean is the global pixel mean; the "std" is the per-image sample std (ddof=1)
        averaged over images (the observed ones, where some combinations have none). That is how the paper's published constants were computed
        (reproduced exactly by tests/data/test_synthetic.py::test_normalisation_constants_reproduce_the_paper), so constants for
        configurations the paper did not use stay consistent with the ones it did.
        """
        pixels = self.obs_shape[1] * self.obs_shape[2]
        total = torch.zeros(self.obs_shape[0], dtype=torch.float64)
        total_std = torch.zeros_like(total)
        indices = self.observed_indices()
        for start in range(0, len(indices), chunk):
            x = self._render(self.idx_to_factors(indices[start : start + chunk])).flatten(2).double()
            # integer-valued moments per image and channel: exact in float64, and fast as matmuls
            s1 = x @ torch.ones(pixels, dtype=torch.float64)
            s2 = torch.einsum("ncp,ncp->nc", x, x)
            total += s1.sum(dim=0) / (pixels * 255.0)
            total_std += ((s2 - s1.square() / pixels).clamp_min(0) / (pixels - 1)).sqrt().sum(dim=0) / 255.0
        return tuple((total / len(indices)).tolist()), tuple((total_std / len(indices)).tolist())

    def _scale_shift(self, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        cache = self.__dict__.setdefault("_scale_shift_cache", {})
        if (device, dtype) not in cache:
            mean = torch.tensor(self.mean, dtype=dtype)
            std = torch.tensor(self.std, dtype=dtype)
            if bool((std <= 0).any()):
                raise DataError(f"{self.name} has a constant channel (std 0); it cannot be standardised.")
            scale = (1.0 / (255.0 * std)).view(-1, 1, 1).to(device)
            shift = (-mean / std).view(-1, 1, 1).to(device)
            cache[device, dtype] = (scale, shift)
        return cache[device, dtype]

    def normalise(self, x: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """uint8 ``[N, C, H, W]`` -> ``dtype`` standardised with the dataset's per-channel mean/std."""
        scale, shift = self._scale_shift(x.device, dtype)
        return torch.addcmul(shift, x.to(dtype), scale)

    def denormalise(self, x: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`normalise`, returning float values in [0, 1] (clamped)."""
        scale, shift = self._scale_shift(x.device, x.dtype)
        return ((x - shift) / (scale * 255.0)).clamp(0.0, 1.0)

    # --- description ------------------------------------------------------------------------

    @classmethod
    def variants(cls) -> list[dict[str, Any]]:
        """Constructor kwargs of each distinct configuration worth listing (e.g. MPI3D's subsets)."""
        return [{}]

    def config(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this dataset with ``make_dataset``."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"
