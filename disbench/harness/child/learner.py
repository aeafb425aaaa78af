"""A learner: a method with its optimiser, stepping on the observations the harness hands it.

The harness never touches a submission's model directly; it drives a learner through a small
interface: ``info``, ``step``, ``end_window``, ``save``/``load``, ``encode`` and ``traverse``.
:class:`Learner` is the implementation; it runs inside the submission's child process
(``disbench.harness.child``), or in the caller's process for a ``Method`` object built in Python.
Everything a learner returns is plain numbers or tensors the harness checks: never code.

The optimiser is the protocol's (Adam with the tier's learning rate, as in the paper); a method
that overrides ``configure_optimizer`` gets its own, and the run is recorded as off-protocol.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from disbench.files import atomic_path
from disbench.methods.base import Method, ObservationPairs, Observations, ReconLossFn, loss_value
from disbench.supervision import WEAK_PAIRS

CHANNELS_LAST = torch.channels_last


def protocol_optimizer(method: Method, lr: float) -> tuple[torch.optim.Optimizer, bool]:
    """The optimiser a run uses, and whether the method replaced the protocol's."""
    overridden = type(method).configure_optimizer is not Method.configure_optimizer
    optimizer = method.configure_optimizer(lr) if overridden else Method.configure_optimizer(method, lr)
    return optimizer, overridden


def capture_torch_rng() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_torch_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class Learner:
    """``method`` on ``device`` with the protocol's optimiser and the task's reconstruction loss."""

    def __init__(self, method: Method, recon_loss: ReconLossFn, lr: float, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        self.method = method.to(device=self.device, memory_format=CHANNELS_LAST).train()
        self.recon_loss = recon_loss
        self.optimizer, self.optimizer_overridden = protocol_optimizer(self.method, lr)
        self._window: list[torch.Tensor] = []
        self._terms: dict[str, torch.Tensor] = {}

    def info(self) -> dict[str, Any]:
        """What the record says about the model (the harness treats it as the learner's claim)."""
        return {
            "supervision": self.method.supervision,
            "can_decode": self.method.can_decode,
            "num_parameters": sum(p.numel() for p in self.method.parameters()),
            "optimizer_overridden": self.optimizer_overridden,
        }

    def batch(self, x: torch.Tensor) -> Observations | ObservationPairs:
        """``x [N, C, H, W]`` (pairs: the N first observations, then their N partners) as the method's batch."""
        return as_batch(x.to(self.device, non_blocking=True).contiguous(memory_format=CHANNELS_LAST), self.method.supervision)

    def step(self, x: torch.Tensor) -> None:
        """One optimiser step on the batch ``x`` (the method is in train mode: ``encode`` and
        ``traverse`` restore it); the loss stays on the device until ``end_window``."""
        terms = self.method.loss(self.batch(x), self.recon_loss)
        loss = loss_value(terms)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self._window.append(loss.detach())
        for key, value in terms.items():
            self._terms[key] = self._terms.get(key, 0.0) + value.detach()

    def end_window(self) -> tuple[dict[str, float], int | None]:
        """Mean of every logged term over the steps since the last call, and the position (0-based)
        in the window of the first non-finite loss, if any (one host sync per window)."""
        losses = torch.stack(self._window)
        bad = (~torch.isfinite(losses)).nonzero()
        n = len(self._window)
        means = {k: float(v) / n for k, v in self._terms.items()}
        self._window, self._terms = [], {}
        return means, int(bad[0]) if len(bad) else None

    def save(self, path: str | Path) -> None:
        """Model, optimiser and the method's random state, written atomically."""
        with atomic_path(path) as tmp:
            torch.save({"model": self.method.state_dict(), "optimizer": self.optimizer.state_dict(), "rng": capture_torch_rng()}, tmp)

    def load(self, path: str | Path) -> None:
        state = torch.load(path, map_location=self.device, weights_only=True)
        self.method.load_state_dict(state["model"])
        if "optimizer" in state:
            self.optimizer.load_state_dict(state["optimizer"])
        if "rng" in state:
            restore_torch_rng(state["rng"])

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Codes ``[N, D]`` of observations, in eval mode (the representation that is scored)."""
        return encode_observations(self.method, x, self.device)

    def traverse(self, x: torch.Tensor, steps: int = 9, limit: float = 2.5) -> torch.Tensor:
        """Decoded latent traversals of one observation (see :func:`traverse_latents`)."""
        return traverse_latents(self.method, x, self.device, steps, limit)


def as_batch(x: torch.Tensor, supervision: str) -> Observations | ObservationPairs:
    """Observations ``x`` as a method's batch: for weak pairs the N first rows, then their N partners."""
    if supervision == WEAK_PAIRS:
        n = x.shape[0] // 2
        return ObservationPairs(x[:n], x[n:])
    return Observations(x)


@torch.inference_mode()
def encode_observations(method: Method, x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``method``'s codes ``[N, D]`` of observations, in eval mode (then back in train mode)."""
    method.eval()
    try:
        return method.encode(x.to(device).contiguous(memory_format=CHANNELS_LAST))
    finally:
        method.train()


@torch.inference_mode()
def traverse_latents(method: Method, x: torch.Tensor, device: torch.device, steps: int = 9, limit: float = 2.5) -> torch.Tensor:
    """Decoded latent traversals of one observation ``x [1, C, H, W]``: each code dimension shifted
    by ``steps`` values in ``[-limit, limit]``, as ``[D * steps, C, H, W]`` (dimension-major)."""
    method.eval()
    try:
        z = method.encode(x.to(device).contiguous(memory_format=CHANNELS_LAST))[0].float()
        values = torch.linspace(-limit, limit, steps, device=z.device)
        codes = z.repeat(z.shape[0] * steps, 1).view(z.shape[0], steps, -1)
        dims = torch.arange(z.shape[0], device=z.device)
        codes[dims, :, dims] = z[:, None] + values
        return method.decode(codes.view(-1, z.shape[0]))
    finally:
        method.train()
