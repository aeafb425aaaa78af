"""Shared fixtures: small tasks, an oracle encoder for XYSquares, an isolated data folder and config folder."""

from __future__ import annotations

import os

import pytest
import torch

import disbench
from disbench.harness.run.seal import SECRET_ENV
from disbench.registration import registry


@pytest.fixture(autouse=True, scope="session")
def isolated_config(tmp_path_factory):
    """One throwaway ``XDG_CONFIG_HOME`` for the whole session: the sealing secret and any runner key a
    test makes land there, never in the user's ~/.config (and the secret is the same for every test, so
    runs made in one test compare with runs made in another)."""
    saved = {name: os.environ.get(name) for name in ("XDG_CONFIG_HOME", SECRET_ENV)}
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("config"))
    os.environ.pop(SECRET_ENV, None)
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(autouse=True)
def isolated_data_root(tmp_path, monkeypatch):
    """Every test gets its own empty DISBENCH_DATA, so nothing touches the user's cache."""
    root = tmp_path / "disbench-data"
    monkeypatch.setenv("DISBENCH_DATA", str(root))
    return root


@pytest.fixture
def scratch_registry():
    """Register test tasks without leaking them into other tests."""
    before = dict(registry)
    yield registry
    registry.clear()
    registry.update(before)


@pytest.fixture
def xysquares():
    return disbench.make("xysquares-mse")


def xysquares_positions(task: disbench.Task, x: torch.Tensor) -> torch.Tensor:
    """Read the grid position of every square straight from the pixels (an ideal encoder).

    Works for the RGB XYSquares tasks: the square of channel c is where that channel is bright.
    """
    data = task.data
    images = task.to_image(x)  # [N, 3, H, W] in [0, 1]
    cols = images.sum(dim=2)  # [N, C, W]
    rows = images.sum(dim=3)  # [N, C, H]
    x0 = (cols > 0.5).float().argmax(dim=2)
    y0 = (rows > 0.5).float().argmax(dim=2)
    fx = (x0 - data.offset) // data.grid_spacing
    fy = (y0 - data.offset) // data.grid_spacing
    return torch.stack([fx, fy], dim=2).reshape(len(x), -1).float()


@pytest.fixture
def oracle():
    """``oracle(task)`` -> encode_fn returning the exact factors of XYSquares observations."""
    return lambda task: (lambda x: xysquares_positions(task, x))
