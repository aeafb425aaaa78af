"""Checkpoints: model, optimiser and every random state, so that a resumed run is identical."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from disbench.files import atomic_path


def capture_rng(generator: torch.Generator) -> dict[str, Any]:
    state = {"data": generator.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(generator: torch.Generator, state: dict[str, Any]) -> None:
    generator.set_state(state["data"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write atomically: a crash never leaves half a checkpoint."""
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    return torch.load(path, map_location=map_location, weights_only=False)
