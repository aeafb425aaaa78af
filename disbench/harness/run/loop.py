"""The training loop: the harness samples, the learner steps.

Each step the harness draws a batch of the method's supervision track from the task and hands
the learner its *observations* only (for pairs: the N first observations, then their partners);
the factors never leave this process. Every ``log_every`` steps the learner reports its mean
losses and the first non-finite one, if any (one host sync per window, not per step); the row
goes to ``curves.jsonl``, and every ``checkpoint_every`` steps and at the end ``save`` runs.
After the steps where the protocol's curve is due, ``score(step, metrics)`` runs (its time is not
training time), before that step's checkpoint, so a resumed run never scores a step twice.

``fit_pack`` is the same loop for a pack (several seeds trained as one batched computation): each
member has its own data generator, curve rows, scores and checkpoints, exactly as in its solo run;
a member whose loss became non-finite is failed and dropped, and the others go on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from disbench.harness.run.folder import RunFolder
from disbench.protocol import Protocol
from disbench.task import Task


@dataclass
class TrainState:
    """Where a run stands: steps done, training seconds so far, the last logged mean loss."""

    step: int = 0
    elapsed: float = 0.0
    final_loss: float | None = None
    curve: list[dict[str, float]] = field(default_factory=list)  # {"step": s, metric: value, ...} per scored step
    curve_time: float = 0.0  # seconds spent scoring the curve


class NonFiniteLoss(Exception):
    """The loss became NaN or inf at ``step`` (1-based)."""

    def __init__(self, step: int) -> None:
        super().__init__(step)
        self.step = step


def fit(
    task: Task,
    learner: Any,
    protocol: Protocol,
    generator: torch.Generator,
    folder: RunFolder,
    state: TrainState,
    save: Callable[[], None],
    log_every: int = 50,
    checkpoint_every: int = 1000,
    progress: bool = True,
    desc: str = "",
    score: Callable[[int, list[str]], None] | None = None,
    *,
    supervision: str,
) -> None:
    """Train from ``state.step`` to ``protocol.steps``, updating ``state`` in place, on batches of
    ``supervision``'s track (submission.toml's, as the harness read it: never the child's word)."""
    from tqdm.auto import tqdm

    window, window_start = 0, time.perf_counter()
    with tqdm(total=protocol.steps, initial=state.step, disable=not progress, desc=desc, unit="step") as bar:
        while state.step < protocol.steps:
            learner.step(task.sample_observations(supervision, protocol.batch_size, generator))
            state.step += 1
            window += 1
            due = protocol.curve_due(state.step) if score is not None else []
            if state.step % log_every and state.step != protocol.steps and not due:
                continue
            means, bad = learner.end_window()
            if bad is not None:
                raise NonFiniteLoss(state.step - window + 1 + bad)
            now = time.perf_counter()
            state.elapsed += now - window_start
            row = {**means, "step": state.step, "steps_per_s": window / max(now - window_start, 1e-9)}  # the harness's step wins
            state.final_loss = row.get("loss")
            folder.append_curve(row)
            bar.update(window)
            bar.set_postfix(loss=f"{state.final_loss:.4g}", refresh=False)
            window = 0
            if due:
                score(state.step, due)
            if state.step % checkpoint_every == 0 or state.step == protocol.steps:
                save()
            window_start = time.perf_counter()


def fit_pack(
    pack: Any,
    protocol: Protocol,
    runs: list[Any],
    log_every: int = 50,
    checkpoint_every: int = 1000,
    progress: bool = True,
    desc: str = "",
    score: bool = True,
) -> list[Any]:
    """Train a pack's members from their common step to ``protocol.steps``; ``runs[k]`` is member
    ``k``'s ``RunBook`` (its ``task``, sealed as that run's, ``generator``, ``state`` and ``folder``;
    ``save``, ``score`` and ``fail``).
    Returns the runs that finished training."""
    from tqdm.auto import tqdm

    supervision = runs[0].submission.supervision  # submission.toml's, as the harness read it
    training = list(runs)
    step = training[0].state.step
    window, window_start = 0, time.perf_counter()
    with tqdm(total=protocol.steps, initial=step, disable=not progress, desc=desc, unit="step") as bar:
        while training and step < protocol.steps:
            pack.step([run.task.sample_observations(supervision, protocol.batch_size, run.generator) for run in training])
            step += 1
            window += 1
            due = protocol.curve_due(step) if score else []
            if step % log_every and step != protocol.steps and not due:
                continue
            reports = pack.end_window()
            now = time.perf_counter()
            failed = []
            for run, (means, bad) in zip(training, reports):
                if bad is not None:
                    run.fail(step - window + 1 + bad)
                    failed.append(run)
                    continue
                run.state.step = step
                run.state.elapsed += now - window_start
                row = {**means, "step": step, "steps_per_s": window / max(now - window_start, 1e-9)}
                run.state.final_loss = row.get("loss")
                run.folder.append_curve(row)
            if failed:
                pack.drop([runs.index(run) for run in failed])
                training = [run for run in training if run not in failed]
            bar.update(window)
            if training:
                bar.set_postfix(models=len(training), loss=f"{sum(r.state.final_loss for r in training) / len(training):.4g}", refresh=False)
            window = 0
            for run in training:
                if due:
                    run.score(step, due)
                if step % checkpoint_every == 0 or step == protocol.steps:
                    run.save()
            window_start = time.perf_counter()
    return training
