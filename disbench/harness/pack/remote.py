"""The harness's side of a pack: several seeds of one submission trained in one child process.

:class:`RemotePack` starts one child (``python -m disbench.harness.child``, with every guarantee of
:class:`~disbench.harness.child.remote.RemoteLearner`: scrubbed environment, scratch folder, limits,
timeouts) that builds one model per seed and trains them as one batched computation
(``disbench.harness.pack``). Each step the harness writes every training member's batch, one after
another, into the shared slot; the child still sees observations only. :meth:`RemotePack.member`
gives one seed's model as a learner of its own (``save``, ``load``, ``encode``, ``traverse``), so
the harness checkpoints, scores and records each seed exactly as it does a solo run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from disbench.error import SubmissionError
from disbench.harness.child.remote import Limits, RemoteLearner, checked_window
from disbench.protocol import Protocol
from disbench.task import Task


class RemotePack(RemoteLearner):
    """The seeds ``seeds`` of a submission packed in one child; ``close()`` (or ``with``) ends it.

    Raises ``SubmissionError`` before any training when the method cannot be packed (the child's
    probe says why)."""

    def __init__(self, submission_path: str | Path, task: Task, protocol: Protocol, seeds: list[int], hyperparameters: dict[str, Any],
                 device: torch.device | str = "cpu", limits: Limits | None = None, log_path: str | Path | None = None) -> None:
        self.seeds = list(seeds)
        ready = self._launch(submission_path, task, protocol, hyperparameters, device, limits, log_path, len(self.seeds) * 2 * protocol.batch_size,
                             seeds=self.seeds, batch_size=protocol.batch_size)
        if ready.get("unpackable") is not None:
            self.close()
            reason = str(ready["unpackable"])[:1000]
            hint = "" if "without --pack" in reason else "; run it without --pack (one model per process)"
            raise SubmissionError(f"The submission cannot be trained packed: {reason}{hint}.")
        self._info = self._checked_info(ready.get("info"))
        self.overridden_defaults = [str(line) for line in ready.get("overridden", [])]
        self.training = list(range(len(self.seeds)))  # members still training, as the child orders them

    def member(self, k: int) -> PackMember:
        """Seed ``self.seeds[k]``'s model as a learner of its own."""
        return PackMember(self, k)

    def step(self, batches: list[torch.Tensor]) -> None:  # type: ignore[override]
        """One step of every training member, each on its own batch (in ``training`` order)."""
        if len(batches) != len(self.training):
            raise ValueError(f"{len(batches)} batches for {len(self.training)} training members")
        self._hand_over(batches, members=self.training)

    def end_window(self) -> list[tuple[dict[str, float], int | None]]:  # type: ignore[override]
        """Per training member: its mean logged losses over the window, and the first non-finite step's position in it."""
        self._drain()
        self.channel.send("end_window")
        reply = self._expect("window", self.limits.request_timeout_s, "reporting losses")
        reports = reply.get("members")
        if not isinstance(reports, list) or len(reports) != len(self.training) or not all(isinstance(r, dict) for r in reports):
            raise SubmissionError("The submission process sent malformed loss values for its packed models.")
        return [checked_window(r) for r in reports]

    def drop(self, members: list[int]) -> None:
        """Stop training ``members`` (their loss became non-finite); the others go on."""
        self._request("drop", "dropping failed models", members=list(members))
        self.training = [k for k in self.training if k not in members]


class PackMember:
    """One seed of a :class:`RemotePack`, with the learner interface the training loop and the
    evaluation use; every request names the member."""

    def __init__(self, pack: RemotePack, k: int) -> None:
        self.pack, self.k = pack, k
        self.isolation = pack.isolation

    def info(self) -> dict[str, Any]:
        return self.pack.info()

    def save(self, path: str | Path) -> None:
        self.pack.save(path, member=self.k)

    def load(self, path: str | Path) -> None:
        self.pack.load(path, member=self.k)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.pack.encode(x, member=self.k)

    def traverse(self, x: torch.Tensor, steps: int = 9, limit: float = 2.5) -> torch.Tensor:
        return self.pack.traverse(x, steps, limit, member=self.k)
