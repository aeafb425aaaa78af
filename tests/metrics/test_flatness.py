"""Flatness angles on hand-made traversals with answers worked out on paper, and against numpy."""

import math

import numpy as np
import pytest
import torch

from disbench import metrics
from disbench.metrics.flatness import distance_angle, step_angles


def path(*points):
    """One traversal ``[1, f, D]`` through ``points``."""
    return torch.tensor([points], dtype=torch.float64)


def test_straight_evenly_spaced_line():
    # L1 steps 1, ..., 1 and the wrap-around 7: next = (1,1,1,1,1,1,1,7), prev = (7,1,1,1,1,1,1,1);
    # <next, prev> = 7 + 7 + 6 = 20 and |next|^2 = 7 + 49 = 56, i.e. (3f - 4) / (f (f - 1)) at f = 8.
    line = path(*[(float(i), 0.0, 0.0) for i in range(8)])
    assert distance_angle(line).item() == pytest.approx(math.acos(20 / 56), abs=1e-12)
    assert step_angles(line).item() == pytest.approx(0.0, abs=1e-6)
    # the answer depends only on the step lengths, not on where the line lies or points
    moved = line * 3.5 @ torch.tensor([[0.6, 0.8, 0.0], [-0.8, 0.6, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64) + 2.0
    assert distance_angle(moved, p=2).item() == pytest.approx(math.acos(20 / 56), abs=1e-12)
    # two points: next = prev = (s, s)
    assert distance_angle(path((0.0, 0.0), (2.0, 1.0))).item() == pytest.approx(0.0, abs=1e-6)


def test_bent_paths():
    # (0,0) -> (1,0) -> (1,2) -> (3,2): L1 next = (1, 2, 2, 5), prev = (5, 1, 2, 2): cos = 21 / 34;
    # step vectors (1,0), (0,2), (2,0): two right angles.
    bent = path((0.0, 0.0), (1.0, 0.0), (1.0, 2.0), (3.0, 2.0))
    assert distance_angle(bent).item() == pytest.approx(math.acos(21 / 34), abs=1e-12)
    assert step_angles(bent).item() == pytest.approx(math.pi / 2, abs=1e-12)
    # the distances are L1 (the authors' p = 1): next = (2, 1, 3) gives 11 / 14; L2 would give
    # (sqrt 2, 1, sqrt 5) and (sqrt 2 + sqrt 5 + sqrt 10) / 8
    diagonal = path((0.0, 0.0), (1.0, 1.0), (2.0, 1.0))
    assert distance_angle(diagonal).item() == pytest.approx(math.acos(11 / 14), abs=1e-12)
    assert distance_angle(diagonal, p=2).item() == pytest.approx(math.acos((2**0.5 + 5**0.5 + 10**0.5) / 8), abs=1e-12)
    assert step_angles(diagonal).item() == pytest.approx(math.pi / 4, abs=1e-12)
    # a closed square of equal steps: every distance is 1 (angle 0), every turn a right angle
    square = path((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))
    assert distance_angle(square).item() == pytest.approx(0.0, abs=1e-6)
    assert step_angles(square).item() == pytest.approx(math.pi / 2, abs=1e-12)
    # doubling back
    assert step_angles(path((0.0,), (1.0,), (0.0,))).item() == pytest.approx(math.pi, abs=1e-6)


def test_identical_codes_score_zero_not_nan():
    assert distance_angle(torch.ones(3, 5, 4)).tolist() == [0.0, 0.0, 0.0]


def numpy_distance_angle(z: np.ndarray) -> float:
    """The authors' definition written out point by point, independently of the torch code."""
    f = len(z)
    nxt = np.array([np.abs(z[(i + 1) % f] - z[i]).sum() for i in range(f)])
    prv = np.array([np.abs(z[(i - 1) % f] - z[i]).sum() for i in range(f)])
    return float(np.arccos(np.clip(nxt @ prv / (np.linalg.norm(nxt) * np.linalg.norm(prv)), -1, 1)))


def numpy_step_angles(z: np.ndarray) -> float:
    angles = []
    for i in range(1, len(z) - 1):
        a, b = z[i] - z[i - 1], z[i + 1] - z[i]
        angles.append(np.arccos(np.clip(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)), -1, 1)))
    return float(np.mean(angles))


def test_random_paths_match_numpy():
    z = np.random.default_rng(0).standard_normal((20, 9, 5))
    ours = distance_angle(torch.from_numpy(z)).numpy()
    turns = step_angles(torch.from_numpy(z)).numpy()
    assert np.allclose(ours, [numpy_distance_angle(t) for t in z], atol=1e-12)
    assert np.allclose(turns, [numpy_step_angles(t) for t in z], atol=1e-12)
    assert ours.std() > 0.05 and turns.std() > 0.05  # the paths differ, so the check compares real values


def test_flatness_scores_on_the_task(xysquares, oracle):
    # the oracle's traversals are straight lines of 8 points, one grid step apart, for every factor
    flat = metrics.flatness(xysquares, oracle(xysquares), repeats=8)
    assert flat["flatness.cosine_angles"] == pytest.approx(math.acos(20 / 56) / math.pi, abs=1e-6)
    assert flat["flatness.step_angles"] == pytest.approx(0.0, abs=1e-6)
    g = torch.Generator().manual_seed(0)
    noise = metrics.flatness(xysquares, lambda x: torch.randn(len(x), 6, generator=g), repeats=8)
    assert noise["flatness.step_angles"] > 0.3
