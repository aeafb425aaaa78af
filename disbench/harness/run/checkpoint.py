"""The harness's half of a checkpoint (``checkpoint.pt``): step, time, the data generator's state,
and which model file (with its sha256) the learner saved; read back with ``weights_only`` loading,
so opening a checkpoint never runs code. :func:`optimizer_problem` is the harness's own check that a
model file's optimiser state is the protocol's Adam, so ``on_protocol`` does not rest on what the
child says about itself; :func:`frozen_parameters` tells ``validate`` that a model learnt nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from disbench.files import atomic_path

ADAM = {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0, "amsgrad": False, "maximize": False}
ADAM_STATE = {"step", "exp_avg", "exp_avg_sq"}


def optimizer_problem(model_file: str | Path, lr: float) -> str | None:
    """How the optimiser state saved in ``model_file`` departs from Adam at ``lr`` with the paper's
    settings (``None``: it does not). Read without unpickling code."""
    try:
        state = torch.load(model_file, map_location="cpu", weights_only=True)["optimizer"]
        groups, per_parameter = state["param_groups"], state["state"]
    except Exception as e:  # noqa: BLE001 - any unreadable state is a departure
        return f"the model file holds no readable optimizer state ({type(e).__name__})"
    expected = {"lr": lr, **ADAM}
    for group in groups:
        found = {k: group.get(k) for k in expected}
        wrong = {k: v for k, v in found.items() if (tuple(v) if isinstance(v, list) else v) != expected[k]}
        if wrong:
            return f"the optimizer state is not the protocol's Adam at lr {lr}: found {wrong}"
    if not per_parameter or any(set(values) != ADAM_STATE for values in per_parameter.values()):
        return f"the optimizer state is not Adam's (per-parameter state {sorted({k for v in per_parameter.values() for k in v})})"
    return None


def frozen_parameters(model_file: str | Path) -> str | None:
    """Whether training left the parameters where they started, as the saved Adam state shows (every
    first moment exactly zero: no gradient ever reached them, so the loss does not depend on them).
    A model that reads no training data, such as a hand-written lookup, looks like this."""
    try:
        moments = [values["exp_avg"] for values in torch.load(model_file, map_location="cpu", weights_only=True)["optimizer"]["state"].values()]
    except Exception:  # noqa: BLE001 - optimizer_problem reports an unreadable state
        return None
    if all(not bool(m.any()) for m in moments):
        return "its parameters did not change during training (every gradient was zero: the loss does not depend on them)"
    return None


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write atomically: a crash never leaves half a checkpoint."""
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)
