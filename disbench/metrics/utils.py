"""Shared pieces of the metrics: input checks, histogram discretisation, discrete mutual information.

Conventions (disentanglement_lib's, transposed): ``codes`` is ``[N, D]`` float, ``factors`` is
``[N, F]`` int, one row per observation. numpy arrays and torch tensors are both accepted.
"""

from __future__ import annotations

import os
import zlib
from typing import Any

import numpy as np
import torch

from disbench.error import MetricError


def to_numpy(values: Any) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    return np.asarray(values)


def check_codes(codes: Any, name: str = "codes") -> np.ndarray:
    """``[N, D]`` finite float64 codes, or a ``MetricError`` that says what is wrong."""
    codes = to_numpy(codes)
    if codes.ndim != 2 or codes.shape[1] < 1:
        raise MetricError(f"{name} must be a 2-D array [N, D] with D >= 1, got shape {codes.shape}.")
    if not np.issubdtype(codes.dtype, np.number):
        raise MetricError(f"{name} must be numeric, got dtype {codes.dtype}.")
    codes = codes.astype(np.float64, copy=False)
    bad = ~np.isfinite(codes)
    if bad.any():
        rows = np.unique(np.nonzero(bad)[0])
        raise MetricError(
            f"{name} contain NaN or inf in {len(rows)} of {len(codes)} rows (first: row {rows[0]}); "
            "the encoder produced non-finite values, so this representation cannot be scored."
        )
    return codes


def active_dims(codes: np.ndarray) -> np.ndarray:
    """Which code dimensions vary at all (exactly: a variance test miscounts constants like 0.3 that
    float rounding gives a variance of 1e-33). A representation with none has collapsed: it is
    valid, and its scores are those of a code that carries no information."""
    return codes.max(axis=0) > codes.min(axis=0)


def check_factors(factors: Any, num_rows: int, name: str = "factors") -> np.ndarray:
    """``[N, F]`` integer factors with N matching the codes and at least two values per factor."""
    factors = to_numpy(factors)
    if factors.ndim != 2 or factors.shape[1] < 1:
        raise MetricError(f"{name} must be a 2-D array [N, F] with F >= 1, got shape {factors.shape}.")
    if not (np.issubdtype(factors.dtype, np.integer) or np.issubdtype(factors.dtype, np.bool_)):
        raise MetricError(f"{name} must hold integer factor indices, got dtype {factors.dtype}.")
    if len(factors) != num_rows:
        raise MetricError(f"{name} has {len(factors)} rows but the codes have {num_rows}; pass one factor row per code row.")
    for k in range(factors.shape[1]):
        if np.unique(factors[:, k]).size < 2:
            raise MetricError(
                f"Factor {k} takes a single value in these {num_rows} samples; its entropy is 0 and the metric "
                "is undefined. Use more samples, or drop constant factors."
            )
    return factors.astype(np.int64, copy=False)


def check_pair(codes: Any, factors: Any, min_rows: int = 2, what: str = "") -> tuple[np.ndarray, np.ndarray]:
    codes = check_codes(codes, f"codes{what}")
    if len(codes) < min_rows:
        raise MetricError(f"Need at least {min_rows} samples{what}, got {len(codes)}.")
    return codes, check_factors(factors, len(codes), f"factors{what}")


def check_enough_for_classes(factors: np.ndarray, what: str) -> None:
    """Classifier metrics need more samples than classes in every factor."""
    for k in range(factors.shape[1]):
        classes = np.unique(factors[:, k]).size
        if len(factors) < 2 * classes:
            raise MetricError(
                f"{what}: {len(factors)} samples are too few for factor {k} with {classes} classes "
                f"(need at least {2 * classes}); increase the sample count."
            )


def histogram_discretize(values: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """disentanglement_lib's discretizer, column-wise: ``np.digitize`` against ``np.histogram`` edges.

    Returns bin ids in ``1..num_bins`` with the same dtype handling as the reference.
    """
    if num_bins < 2:
        raise MetricError(f"num_bins must be >= 2, got {num_bins}.")
    out = np.empty(values.shape, dtype=np.int64)
    for j in range(values.shape[1]):
        edges = np.histogram_bin_edges(values[:, j], num_bins)
        out[:, j] = np.digitize(values[:, j], edges[:-1])
    return out


def _dense_labels(labels: np.ndarray) -> tuple[np.ndarray, int]:
    uniq, inverse = np.unique(labels, return_inverse=True)
    return inverse.reshape(-1), len(uniq)


def mutual_info_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``m[i, j] = mutual_info_score(a[:, i], b[:, j])`` (natural log), vectorised with bincount.

    Equal to scikit-learn's ``mutual_info_score`` to float precision (tested).
    """
    n = len(a)
    dense_a = [_dense_labels(a[:, i]) for i in range(a.shape[1])]
    dense_b = [_dense_labels(b[:, j]) for j in range(b.shape[1])]
    out = np.zeros((a.shape[1], b.shape[1]))
    for i, (la, ka) in enumerate(dense_a):
        pa = np.bincount(la, minlength=ka) / n
        for j, (lb, kb) in enumerate(dense_b):
            joint = np.bincount(la * kb + lb, minlength=ka * kb).reshape(ka, kb) / n
            pb = np.bincount(lb, minlength=kb) / n
            nz = joint > 0
            outer = pa[:, None] * pb[None, :]
            out[i, j] = max(0.0, float(np.sum(joint[nz] * (np.log(joint[nz]) - np.log(outer[nz])))))
    return out


def entropies(labels: np.ndarray) -> np.ndarray:
    """Entropy (natural log) of every column, i.e. ``mutual_info_score(y, y)``."""
    out = np.zeros(labels.shape[1])
    for k in range(labels.shape[1]):
        _, counts = np.unique(labels[:, k], return_counts=True)
        p = counts / counts.sum()
        out[k] = float(-(p * np.log(p)).sum())
    return out


def n_jobs(requested: int | None) -> int:
    """Workers for per-factor model fits: ``None``/-1 means one per CPU core."""
    if requested is None or requested < 1:
        return os.cpu_count() or 1
    return requested


def derive_seed(seed: int, name: str) -> int:
    """A per-metric seed, so that adding a metric to a suite never changes another's samples."""
    return (int(seed) * 1_000_003 + zlib.crc32(name.encode())) % (2**63)
