"""The training loop: sample a batch for the method's track, ``method.loss``, optimiser step.

Every ``log_every`` steps it checks that the window's losses were finite (one host sync per
window, not per step), appends a row to ``curves.jsonl`` and, every ``checkpoint_every`` steps
and at the end, calls ``save``. Batches use the channels-last memory format, which is faster
for convolutions on CPUs and GPUs and changes no values.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from disbench.harness.run_folder import RunFolder
from disbench.methods.base import Method, loss_value
from disbench.protocol import Protocol
from disbench.task import Batch, PairBatch, Task

CHANNELS_LAST = torch.channels_last


@dataclass
class TrainState:
    """Where a run stands: steps done, training seconds so far, the last logged mean loss."""

    step: int = 0
    elapsed: float = 0.0
    final_loss: float | None = None


class NonFiniteLoss(Exception):
    """The loss became NaN or inf at ``step`` (1-based)."""

    def __init__(self, step: int) -> None:
        super().__init__(step)
        self.step = step


def training_batch(task: Task, supervision: str, size: int, generator: torch.Generator) -> Batch | PairBatch:
    """A channels-last batch of the method's supervision track."""
    batch = task.sample_for(supervision, size, generator)
    if isinstance(batch, PairBatch):
        return PairBatch(batch.x0.contiguous(memory_format=CHANNELS_LAST), batch.x1.contiguous(memory_format=CHANNELS_LAST), batch.factors0, batch.factors1)
    return Batch(batch.x.contiguous(memory_format=CHANNELS_LAST), batch.factors)


def fit(
    task: Task,
    method: Method,
    optimizer: torch.optim.Optimizer,
    protocol: Protocol,
    generator: torch.Generator,
    folder: RunFolder,
    state: TrainState,
    save: Callable[[], None],
    log_every: int = 50,
    checkpoint_every: int = 1000,
    progress: bool = True,
    desc: str = "",
) -> None:
    """Train from ``state.step`` to ``protocol.steps``, updating ``state`` in place."""
    from tqdm.auto import tqdm

    method.train()
    window: list[torch.Tensor] = []
    logged: dict[str, torch.Tensor] = {}
    window_start = time.perf_counter()
    with tqdm(total=protocol.steps, initial=state.step, disable=not progress, desc=desc, unit="step") as bar:
        while state.step < protocol.steps:
            terms = method.loss(training_batch(task, method.supervision, protocol.batch_size, generator), task.recon_loss)
            loss = loss_value(terms)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            state.step += 1
            window.append(loss.detach())
            for key, value in terms.items():
                logged[key] = logged.get(key, 0.0) + value.detach()
            if state.step % log_every and state.step != protocol.steps:
                continue
            bad = (~torch.isfinite(torch.stack(window))).nonzero()
            if len(bad):
                raise NonFiniteLoss(state.step - len(window) + 1 + int(bad[0]))
            now = time.perf_counter()
            state.elapsed += now - window_start
            row = {"step": state.step, **{k: float(v) / len(window) for k, v in logged.items()}, "steps_per_s": len(window) / max(now - window_start, 1e-9)}
            state.final_loss = row["loss"]
            folder.append_curve(row)
            bar.update(len(window))
            bar.set_postfix(loss=f"{row['loss']:.4g}", refresh=False)
            window, logged = [], {}
            if state.step % checkpoint_every == 0 or state.step == protocol.steps:
                save()
            window_start = time.perf_counter()
