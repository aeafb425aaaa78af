"""Packed training, in the submission's child process: K models of one submission (one per seed)
trained as one batched computation, each exactly as its solo run would train.

The K models are built as their solo runs build them (``torch.manual_seed(seed)``, then
``build()``, the submission imported afresh each time), and their parameters stacked on a new
first dimension, as ``torch.func.stack_module_state`` does (it refuses the K classes that K
imports give, though they are one class). A step evaluates
every model's loss on its own batch with ``vmap(functional_call(...))``, feeds each model its
solo run's noise (``pack_noise``), and backpropagates the sum of the losses: each model's
gradient is its own loss's. One Adam over the stacked tensors is K Adams, since Adam works
element by element. ``vmap`` turns each convolution into one grouped convolution over the K
models (``groups = K``), which is what a hand-written grouped-convolution pack would run.

Before training, :meth:`PackedLearner.probe` proves the method packable on a stand-in batch and
raises :class:`~disbench.harness.pack.noise.Unpackable` otherwise: a method that replaces the
protocol's optimiser, changes buffers while training (BatchNorm's running statistics), branches
on tensor values, calls ``.item()``, or draws random numbers packing cannot reproduce.

Each model keeps its own generator state, optimiser state and checkpoint format (a solo run can
resume a packed run's checkpoint and the other way round). A model whose loss became non-finite
is :meth:`~PackedLearner.drop`-ped; the others go on.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from torch import nn
from torch.func import functional_call, vmap

from disbench.files import atomic_path
from disbench.harness.child.learner import (
    CHANNELS_LAST,
    as_batch,
    capture_torch_rng,
    encode_observations,
    restore_torch_rng,
    traverse_latents,
)
from disbench.harness.pack.noise import Recorder, Replayer, Unpackable, draw
from disbench.methods.base import Method, ReconLossFn, loss_value


class _LossCall(nn.Module):
    """``method.loss`` as a module's forward, so ``functional_call`` can run it on stacked parameters."""

    def __init__(self, method: Method, recon_loss: ReconLossFn) -> None:
        super().__init__()
        self.method = method
        self.recon_loss = [recon_loss]  # in a list: the task's loss is no part of the packed state

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.method.loss(as_batch(x, self.method.supervision), self.recon_loss[0])


class PackedLearner:
    """The models ``methods`` (built for ``seeds``, in order) on ``device`` with the protocol's
    optimiser and the task's reconstruction loss; members are named by their position in ``seeds``."""

    def __init__(self, methods: list[Method], seeds: list[int], recon_loss: ReconLossFn, lr: float, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        self.methods = [m.to(device=self.device, memory_format=CHANNELS_LAST).train() for m in methods]
        first = self.methods[0]
        if type(first).configure_optimizer is not Method.configure_optimizer:
            raise Unpackable("it replaces the protocol's optimizer (configure_optimizer); a pack trains with the protocol's Adam only")
        layout = _layout(first)
        for seed, method in zip(seeds[1:], self.methods[1:]):
            if _layout(method) != layout:
                raise Unpackable(f"the model built for seed {seed} differs in its class, parameters or buffers from the one built for seed {seeds[0]}")
        self.recon_loss, self.lr = recon_loss, lr
        self.members = list(range(len(methods)))  # the members still training, in stack order
        self.rng = []  # each member's generator state: its solo run's, seeded right after build()
        for seed in seeds:
            torch.manual_seed(seed)
            self.rng.append(capture_torch_rng())
        self.params, self.buffers = _stack(self.methods)
        self.optimizer = self._optimizer()
        self._call = _LossCall(copy.deepcopy(first), recon_loss)  # the one module every member's loss runs through
        self.calls: list = []
        self._window: list[torch.Tensor] = []
        self._terms: dict[str, torch.Tensor] = {}
        self._synced: set[int] = set()

    def info(self) -> dict[str, Any]:
        method = self.methods[0]
        return {"supervision": method.supervision, "can_decode": method.can_decode,
                "num_parameters": sum(p.numel() for p in method.parameters()), "optimizer_overridden": False}

    # --- before training ---------------------------------------------------------------------

    def probe(self, x: torch.Tensor) -> None:
        """Record the random calls of one model's loss on the stand-in batch ``x`` (as its solo run
        computes it), then run the whole pack forward and backward once; ``Unpackable`` if it cannot
        be packed. Leaves parameters, buffers, gradients and every generator as they were."""
        x = x.to(self.device).contiguous(memory_format=CHANNELS_LAST)
        saved, before = capture_torch_rng(), {name: b.clone() for name, b in self.buffers.items()}
        try:
            method = copy.deepcopy(self.methods[0])
            with Recorder() as recorder:
                terms = method.loss(as_batch(x, method.supervision), self.recon_loss)
            loss_value(terms)  # the solo run's checks, with its messages
            odd = sorted(k for k, v in terms.items() if not (isinstance(v, torch.Tensor) and v.ndim == 0))
            if odd:
                raise Unpackable(f"its loss returns {odd} as something other than scalar tensors")
            self.calls = recorder.calls
            stand_in = [capture_torch_rng() for _ in self.members]
            try:
                terms = self._vmapped(copy.deepcopy(self._call), x.expand(len(self.members), *x.shape), draw(self.calls, stand_in))
                terms["loss"].sum().backward()
            except Unpackable:
                raise
            except Exception as e:  # noqa: BLE001 - whatever vmap refuses, the reason goes to the user
                raise Unpackable(_vmap_reason(e)) from None
            changed = sorted(name for name, b in self.buffers.items() if not torch.equal(b, before[name]))
            if changed:
                raise Unpackable(f"its buffers {changed} change while it trains (running statistics, as BatchNorm keeps); packing cannot keep them per model")
        finally:
            restore_torch_rng(saved)
            for p in self.params.values():
                p.grad = None
            with torch.no_grad():
                for name, b in self.buffers.items():
                    b.copy_(before[name])

    # --- training ------------------------------------------------------------------------------

    def step(self, x: torch.Tensor) -> None:
        """One optimiser step of every member, member ``j`` (in stack order) on the batch ``x[j]``."""
        noise = draw(self.calls, self.rng)
        terms = self._vmapped(self._call, x.to(self.device, non_blocking=True), noise)
        loss = terms["loss"]
        self.optimizer.zero_grad(set_to_none=True)
        loss.sum().backward()  # each member's gradient is its own loss's
        self.optimizer.step()
        self._synced.clear()
        self._window.append(loss.detach())
        for key, value in terms.items():
            self._terms[key] = self._terms.get(key, 0.0) + value.detach()

    def end_window(self) -> list[tuple[dict[str, float], int | None]]:
        """Per member (stack order): the mean of every logged term over the window, and the position
        in the window of its first non-finite loss, if any (one host sync per window)."""
        bad = (~torch.isfinite(torch.stack(self._window))).cpu()  # [steps, members]
        n = len(self._window)
        sums = {k: v.tolist() for k, v in self._terms.items()}
        first = [bad[:, j].nonzero() for j in range(len(self.members))]
        self._window, self._terms = [], {}
        return [({k: float(v[j]) / n for k, v in sums.items()}, int(first[j][0]) if len(first[j]) else None) for j in range(len(self.members))]

    def drop(self, members: list[int]) -> None:
        """Stop training ``members``; the others keep their parameters, optimiser state and generators."""
        keep = [j for j, k in enumerate(self.members) if k not in members]
        index = torch.tensor(keep, device=self.device)
        state = self.optimizer.state_dict()
        for values in state["state"].values():
            for key, value in values.items():
                if _per_model(key, value):
                    values[key] = value[index]
        self.params = {name: p.detach()[index].requires_grad_(p.requires_grad) for name, p in self.params.items()}
        self.buffers = {name: b[index] for name, b in self.buffers.items()}
        self.optimizer = self._optimizer()
        self.optimizer.load_state_dict(state)
        self.members = [self.members[j] for j in keep]
        self.rng = [self.rng[j] for j in keep]
        self._window = [loss[index] for loss in self._window]
        self._terms = {key: value[index] for key, value in self._terms.items()}
        self._synced.clear()

    def member(self, k: int) -> PackMember:
        """Member ``k`` as a learner the harness can save, load, encode with and draw from."""
        if k not in self.members:
            raise ValueError(f"member {k} is not training in this pack (members: {self.members})")
        return PackMember(self, k)

    # --- plumbing ------------------------------------------------------------------------------

    def _optimizer(self) -> torch.optim.Optimizer:
        """The protocol's optimiser (``Method.configure_optimizer``) over the stacked parameters."""
        return Method.configure_optimizer(SimpleNamespace(parameters=lambda: iter(self.params.values())), self.lr)

    def _vmapped(self, call: _LossCall, x: torch.Tensor, noise: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        def one(params, buffers, x, noise):
            with Replayer(self.calls, noise):
                return functional_call(call, ({f"method.{k}": v for k, v in params.items()}, {f"method.{k}": v for k, v in buffers.items()}), (x,))

        return vmap(one, randomness="error")(self.params, self.buffers, x, noise)

    def _sync(self, k: int) -> Method:
        """Member ``k``'s own module, with the pack's current parameters and buffers copied in."""
        method, j = self.methods[k], self.members.index(k)
        if k not in self._synced:
            with torch.no_grad():
                for name, p in method.named_parameters():
                    p.copy_(self.params[name][j])
                for name, b in method.named_buffers():
                    b.copy_(self.buffers[name][j])
            self._synced.add(k)
        return method

    @contextmanager
    def _generator(self, k: int) -> Iterator[None]:
        """Torch's global generator as member ``k``'s, for the block (its draws advance it)."""
        j, saved = self.members.index(k), capture_torch_rng()
        restore_torch_rng(self.rng[j])
        try:
            yield
        finally:
            self.rng[j] = capture_torch_rng()
            restore_torch_rng(saved)

    def _optimizer_state(self, k: int) -> dict[str, Any]:
        """Member ``k``'s slice of the optimiser state, laid out as its solo run's ``state_dict()``."""
        j, full = self.members.index(k), self.optimizer.state_dict()
        own = list(self.methods[k].parameters())
        state = {}
        for i, values in full["state"].items():
            state[i] = {key: (torch.empty_like(own[i]).copy_(v[j]) if _per_model(key, v) else v.clone() if isinstance(v, torch.Tensor) else v)
                        for key, v in values.items()}
        return {"state": state, "param_groups": full["param_groups"]}

    def _load_optimizer_state(self, k: int, saved: dict[str, Any]) -> None:
        """Put a solo-format optimiser state into member ``k``'s slice; members share the step count."""
        j, full = self.members.index(k), self.optimizer.state_dict()
        stacked = list(self.params.values())
        for i, values in saved["state"].items():
            target = full["state"].setdefault(int(i), {})
            for key, v in values.items():
                if _per_model(key, v):
                    target.setdefault(key, torch.zeros_like(stacked[int(i)]))[j] = v.to(self.device)
                elif key in target and not torch.equal(torch.as_tensor(target[key]).cpu(), torch.as_tensor(v).cpu()):
                    raise ValueError(f"the checkpoint of member {k} has optimizer {key} {v}, the pack {target[key]}: packed members resume from the same step")
                else:
                    target[key] = v
        self.optimizer.load_state_dict(full)


class PackMember:
    """One member of a pack, with the learner interface the child serves: ``save``, ``load``,
    ``encode`` and ``traverse`` (under the member's own generator, as in its solo run)."""

    def __init__(self, pack: PackedLearner, k: int) -> None:
        self.pack, self.k = pack, k

    def save(self, path: str | Path) -> None:
        """The solo run's checkpoint format: model, optimiser state, generator state."""
        pack = self.pack
        model = pack._sync(self.k).state_dict()
        with atomic_path(path) as tmp:
            torch.save({"model": model, "optimizer": pack._optimizer_state(self.k), "rng": pack.rng[pack.members.index(self.k)]}, tmp)

    def load(self, path: str | Path) -> None:
        pack, k = self.pack, self.k
        state = torch.load(path, map_location=pack.device, weights_only=True)
        method, j = pack.methods[k], pack.members.index(k)
        method.load_state_dict(state["model"])
        with torch.no_grad():
            for name, p in method.named_parameters():
                pack.params[name][j] = p
            for name, b in method.named_buffers():
                pack.buffers[name][j] = b
        if "optimizer" in state:
            pack._load_optimizer_state(k, state["optimizer"])
        if "rng" in state:
            pack.rng[j] = state["rng"]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        with self.pack._generator(self.k):
            return encode_observations(self.pack._sync(self.k), x, self.pack.device)

    def traverse(self, x: torch.Tensor, steps: int = 9, limit: float = 2.5) -> torch.Tensor:
        with self.pack._generator(self.k):
            return traverse_latents(self.pack._sync(self.k), x, self.pack.device, steps, limit)


def _layout(method: nn.Module) -> list[tuple]:
    """What packing needs equal across members: the class (by name: each build imports the submission
    afresh), and the parameters' and buffers' names, shapes, dtypes, and which parameters train."""
    return ([(type(method).__module__, type(method).__qualname__)] + [(n, tuple(p.shape), p.dtype, p.requires_grad) for n, p in method.named_parameters()]
            + [(n, tuple(b.shape), b.dtype) for n, b in method.named_buffers()])


def _stack(methods: list[nn.Module]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Every member's parameters and buffers stacked on a new first dimension; the parameters are
    new leaves, trainable where the members' are."""
    members = [(dict(m.named_parameters()), dict(m.named_buffers())) for m in methods]
    params = {name: torch.stack([own[name].detach() for own, _ in members]).requires_grad_(p.requires_grad) for name, p in members[0][0].items()}
    buffers = {name: torch.stack([own[name] for _, own in members]) for name in members[0][1]}
    return params, buffers


def _per_model(key: str, value: Any) -> bool:
    """Whether an Adam state entry holds one value per parameter element (``exp_avg``, ...), as
    opposed to the step count that every model of a pack shares."""
    return isinstance(value, torch.Tensor) and key != "step"


def _vmap_reason(e: Exception) -> str:
    """Why vmap could not run a loss, in a user's words (the first line of torch's message kept)."""
    message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    if "random operation" in message:
        return ("its loss draws random numbers with an operation packing cannot reproduce per model (dropout, for one); "
                "packing supports randn, rand, randint, randperm, their *_like forms and in-place fills such as normal_")
    return f"its loss cannot run under torch.func.vmap ({type(e).__name__}: {message})"
