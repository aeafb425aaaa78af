"""Encoding for metrics: every observation is encoded at most once per evaluation.

Metrics draw factor *indices*; the representation of an observation depends only on its index.
So when a suite needs more encoder passes than the dataset has observations (the standard suite
needs about 3 M on XYSquares, which has 262,144), encoding each needed observation once and
gathering codes by index gives identical values for a fraction of the cost. ``CodeSource`` keeps
a dense ``[len(data), D]`` table with a "filled" mask, and encodes only what is missing, in
large batches under ``torch.inference_mode`` on the task's device.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from disbench.data.base import DeviceLike
from disbench.error import MetricError

if TYPE_CHECKING:
    from disbench.task import EncodeFn, Task

MAX_TABLE_ENTRIES = 1 << 28  # ~1 GiB of float32 codes


class CodeSource:
    """Codes for factor vectors of one task, from ``encode_fn``, memoised by observation index."""

    def __init__(self, task: Task, encode_fn: EncodeFn, device: DeviceLike = None, batch_size: int = 1024) -> None:
        self.task = task
        self.encode_fn = encode_fn
        self.device = task.device if device is None else torch.device(device)
        self.batch_size = batch_size
        self.table: torch.Tensor | None = None
        self.filled = torch.zeros(len(task.data), dtype=torch.bool)
        self.num_encoded = 0

    @torch.inference_mode()
    def _encode(self, idx: torch.Tensor) -> None:
        """Encode the observations at flat indices ``idx`` (unique, not yet filled)."""
        data = self.task.data
        for start in range(0, len(idx), self.batch_size):
            chunk = idx[start : start + self.batch_size]
            x = self.task.observe(data.idx_to_factors(chunk), self.device, validate=False)
            z = self.encode_fn(x)
            if not isinstance(z, torch.Tensor):
                z = torch.as_tensor(np.asarray(z))
            if z.ndim != 2 or z.shape[0] != len(chunk):
                raise MetricError(f"encode_fn must return [N, D] for N = {len(chunk)} observations, got shape {tuple(z.shape)}.")
            z = z.detach().to("cpu", torch.float32)
            if not bool(torch.isfinite(z).all()):
                raise MetricError("encode_fn returned NaN or inf; this representation cannot be scored.")
            if self.table is None:
                if len(data) * z.shape[1] > MAX_TABLE_ENTRIES:
                    raise MetricError(f"{data.name} has too many observations ({len(data):,}) to cache codes of size {z.shape[1]}.")
                self.table = torch.zeros(len(data), z.shape[1], dtype=torch.float32)
            elif z.shape[1] != self.table.shape[1]:
                raise MetricError(f"encode_fn returned {z.shape[1]} dimensions after returning {self.table.shape[1]}.")
            self.table[chunk] = z
            self.filled[chunk] = True
            self.num_encoded += len(chunk)

    def codes(self, factors: torch.Tensor) -> np.ndarray:
        """float64 codes ``[..., D]`` for factor vectors ``[..., F]``."""
        flat = self.task.data.factors_to_idx(factors.reshape(-1, factors.shape[-1]), validate=False)
        self.encode_indices(flat)
        return self.table[flat].reshape(*factors.shape[:-1], -1).double().numpy()

    def encode_indices(self, flat: torch.Tensor) -> None:
        missing = flat[~self.filled[flat]].unique() if self.table is not None else flat.unique()
        if len(missing):
            self._encode(missing)


def as_source(task: Task, encoder: EncodeFn | CodeSource, device: DeviceLike = None) -> CodeSource:
    return encoder if isinstance(encoder, CodeSource) else CodeSource(task, encoder, device)


def sample_codes(source: CodeSource, num: int, generator: torch.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``num`` random observations: (codes ``[N, D]``, factors ``[N, F]``), as ``generate_batch_factor_code``."""
    factors = source.task.data.sample_factors(num, generator)
    return source.codes(factors), factors.numpy()
