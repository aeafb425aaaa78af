"""Training/evaluation protocols: the fixed budget that makes scores comparable.

Every task version carries named tiers (``standard`` for the leaderboard on a GPU, ``quick``
for minutes on a CPU, ``smoke`` for seconds in CI). A tier fixes the step budget, batch size,
maximum latent size, optimiser, seeds and the metric suite with its sample counts; its
``hash()`` covers all of that, so a result record can prove which protocol produced it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

SUPERVISION_TRACKS = ("unsupervised", "weak-pairs")
TIERS = ("standard", "quick", "smoke")


@dataclass(frozen=True)
class Protocol:
    """One tier of a task's fixed training and evaluation budget."""

    name: str
    steps: int
    batch_size: int
    latent_dim: int
    metric_suite: str
    seeds: tuple[int, ...]
    optimizer: str = "adam"
    lr: float = 1e-3
    supervision: tuple[str, ...] = SUPERVISION_TRACKS

    def __post_init__(self) -> None:
        for key in ("steps", "batch_size", "latent_dim"):
            value = getattr(self, key)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"Protocol {self.name!r}: {key} must be a positive int, got {value!r}.")
        if not self.seeds:
            raise ValueError(f"Protocol {self.name!r}: needs at least one seed.")
        bad = [s for s in self.supervision if s not in SUPERVISION_TRACKS]
        if bad:
            raise ValueError(f"Protocol {self.name!r}: unknown supervision {bad}; expected a subset of {SUPERVISION_TRACKS}.")
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        object.__setattr__(self, "supervision", tuple(self.supervision))

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["seeds"] = list(self.seeds)
        d["supervision"] = list(self.supervision)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Protocol:
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - fields
        if unknown:
            raise ValueError(f"Unknown protocol fields {sorted(unknown)}; expected {sorted(fields)}.")
        return cls(**{**d, "seeds": tuple(d["seeds"]), "supervision": tuple(d.get("supervision", SUPERVISION_TRACKS))})

    def hash(self) -> str:
        """sha256 over this tier and the sample counts of its metric suite."""
        from disbench.metrics.suites import suite_config

        payload = {"protocol": self.to_dict(), "metric_suite": suite_config(self.metric_suite)}
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()


def default_protocols(
    latent_dim: int = 25,
    quick_steps: int = 2000,
    quick_batch_size: int = 64,
) -> dict[str, Protocol]:
    """The three tiers used by the built-in suite.

    ``standard`` is the paper's medium run (57,600 steps of 256, Adam lr 1e-3; paper.md §4.4)
    scored with disentanglement_lib's sample counts. ``quick`` is the CPU tier whose length
    was chosen by experiment (docs/protocols.md). ``smoke`` only proves the plumbing.
    """
    return {
        "standard": Protocol("standard", steps=57_600, batch_size=256, latent_dim=latent_dim,
                             metric_suite="standard", seeds=(0, 1, 2, 3, 4)),
        "quick": Protocol("quick", steps=quick_steps, batch_size=quick_batch_size, latent_dim=latent_dim,
                          metric_suite="fast", seeds=(0, 1)),
        "smoke": Protocol("smoke", steps=20, batch_size=16, latent_dim=latent_dim,
                          metric_suite="smoke", seeds=(0,)),
    }

