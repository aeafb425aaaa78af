"""The harness's half of a checkpoint (``checkpoint.pt``): step, time, the data generator's state,
and which model file (with its sha256) the learner saved; read back with ``weights_only`` loading,
so opening a checkpoint never runs code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from disbench.files import atomic_path


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write atomically: a crash never leaves half a checkpoint."""
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)
