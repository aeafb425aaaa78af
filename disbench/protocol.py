"""Training/evaluation protocols: the fixed budget that makes scores comparable.

Every task version carries named tiers (``standard`` for the leaderboard on a GPU, ``extended``
for the few CPU runs where ``quick`` stops too early, ``quick`` for minutes on a CPU, ``smoke``
for seconds in CI). A tier fixes the step budget, batch size,
maximum latent size, optimiser, seeds and the metric suite with its sample counts; its
``hash()`` covers all of that, so a result record can prove which protocol produced it.

The metric suites are defined here, as data, because the protocol hash covers them;
``disbench.metrics.suites`` runs them. ``standard`` uses disentanglement_lib's sample counts
(paper.md §5); ``fast`` the settings the paper used during training (``compute_fast``, §4.7);
``smoke`` is tiny, to test plumbing.

A tier also fixes its *curve*: which metrics are scored during training, every how many steps,
with which suite's sample counts. The paper plots the running maximum of such periodic fast
evaluations (paper.md §4.7), so a record carries that curve and its ``max_during_training`` next
to the final scores, which stay the leaderboard's numbers.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from disbench.error import MetricError, ProtocolError
from disbench.supervision import TRACKS

TIERS = ("standard", "extended", "quick", "smoke")
# The tier every command uses unless told otherwise: the one a CPU can afford (minutes a run, where
# standard takes hours); the leaderboard's standard tier is asked for by name (--protocol standard).
DEFAULT_TIER = "quick"

SUITES: dict[str, dict[str, dict[str, int]]] = {
    "standard": {
        "mig": {"num_train": 10_000},
        "dci": {"num_train": 10_000, "num_test": 5_000},
        "sap": {"num_train": 10_000, "num_test": 5_000},
        "modularity_explicitness": {"num_train": 10_000, "num_test": 5_000},
        "irs": {"num_train": 10_000},
        "unsupervised": {"num_train": 10_000},
        "factor_vae": {"batch_size": 64, "num_train": 10_000, "num_eval": 5_000, "num_variance_estimate": 10_000},
        "beta_vae": {"batch_size": 64, "num_train": 10_000, "num_eval": 5_000},
        "flatness": {"repeats": 1024},
        "factored_components": {"repeats": 1024, "num_samples": 64, "global_subset_size": 32},
    },
    "fast": {
        "mig": {"num_train": 2_000},
        "dci": {"num_train": 1_000, "num_test": 500},
        "sap": {"num_train": 2_000, "num_test": 1_000},
        "modularity_explicitness": {"num_train": 2_000, "num_test": 1_000},
        "irs": {"num_train": 2_000},
        "unsupervised": {"num_train": 2_000},
        "factor_vae": {"batch_size": 64, "num_train": 700, "num_eval": 350, "num_variance_estimate": 1_000},
        "beta_vae": {"batch_size": 64, "num_train": 700, "num_eval": 350},
        "flatness": {"repeats": 128},
        "factored_components": {"repeats": 128, "num_samples": 64, "global_subset_size": 32},
    },
    "smoke": {
        "mig": {"num_train": 256},
        "dci": {"num_train": 128, "num_test": 64},
        "sap": {"num_train": 256, "num_test": 128},
        "modularity_explicitness": {"num_train": 256, "num_test": 128},
        "irs": {"num_train": 256},
        "unsupervised": {"num_train": 256},
        "factor_vae": {"batch_size": 16, "num_train": 64, "num_eval": 32, "num_variance_estimate": 256},
        "beta_vae": {"batch_size": 16, "num_train": 64, "num_eval": 32},
        "flatness": {"repeats": 4},
        "factored_components": {"repeats": 4, "num_samples": 16, "global_subset_size": 8},
    },
}


def suite_config(suite: str) -> dict[str, dict[str, int]]:
    """A copy of the named suite's ``{metric: sample counts}``."""
    if suite not in SUITES:
        raise MetricError(f"Unknown metric suite {suite!r}; suites are {', '.join(SUITES)}.")
    return copy.deepcopy(SUITES[suite])


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
    supervision: tuple[str, ...] = TRACKS
    curve: tuple[tuple[str, int], ...] = ()  # (metric, every n steps) scored during training; a dict is accepted
    curve_suite: str = "fast"  # whose sample counts the curve's metrics use

    def __post_init__(self) -> None:
        for key in ("steps", "batch_size", "latent_dim"):
            value = getattr(self, key)
            if not isinstance(value, int) or value < 1:
                raise ProtocolError(f"Protocol {self.name!r}: {key} must be a positive int, got {value!r}.")
        curve = dict(self.curve)
        suite = suite_config(self.curve_suite)
        unknown = sorted(set(curve) - set(suite))
        if unknown:
            raise ProtocolError(f"Protocol {self.name!r}: the curve names metrics {unknown} that suite {self.curve_suite!r} lacks; it has {', '.join(suite)}.")
        bad_every = {k: v for k, v in curve.items() if not isinstance(v, int) or isinstance(v, bool) or v < 1}
        if bad_every:
            raise ProtocolError(f"Protocol {self.name!r}: curve intervals must be positive step counts, got {bad_every}.")
        object.__setattr__(self, "curve", tuple(sorted(curve.items())))
        if not self.seeds:
            raise ProtocolError(f"Protocol {self.name!r}: needs at least one seed.")
        bad = [s for s in self.supervision if s not in TRACKS]
        if bad:
            raise ProtocolError(f"Protocol {self.name!r}: unknown supervision {bad}; expected a subset of {TRACKS}.")
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        object.__setattr__(self, "supervision", tuple(self.supervision))

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["seeds"] = list(self.seeds)
        d["supervision"] = list(self.supervision)
        d["curve"] = dict(self.curve)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Protocol:
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - fields
        if unknown:
            raise ProtocolError(f"Unknown protocol fields {sorted(unknown)}; expected {sorted(fields)}.")
        return cls(**{**d, "seeds": tuple(d["seeds"]), "supervision": tuple(d.get("supervision", TRACKS)), "curve": d.get("curve", {})})

    def curve_due(self, step: int) -> list[str]:
        """The curve's metrics scored after ``step`` training steps (none at step 0)."""
        return [metric for metric, every in self.curve if step > 0 and step % every == 0]

    def hash(self) -> str:
        """sha256 over this tier and the sample counts of its metric suite."""
        payload = {"protocol": self.to_dict(), "metric_suite": suite_config(self.metric_suite)}
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()


def default_protocols(
    latent_dim: int = 25,
    quick_steps: int = 2000,
    quick_batch_size: int = 64,
    extended_steps: int = 10_000,
) -> dict[str, Protocol]:
    """The four tiers used by the built-in suite.

    ``standard`` is the paper's medium run (57,600 steps of 256, Adam lr 1e-3; paper.md §4.4)
    scored with disentanglement_lib's sample counts, with the paper's curve (fast MIG every 2,400
    steps, fast DCI every 7,200; §4.7). ``quick`` is the CPU tier whose length was chosen by
    experiment (docs/protocols.md); its curve scores MIG every 250 steps and DCI every 500 (the
    curve costs about a minute of a run on a 2-core CPU: the median of the board records in
    benchmarks/results/tier_cpu.json). ``extended`` is ``quick`` five times longer
    (the same batch and suite; MIG every 500 steps, DCI every 1,000; seeds 0-4): about an hour per Ada-GVAE run on
    a 2-core CPU (docs/protocols.md), for the few runs that must show whether a quick-tier score is
    low because the model is entangled or because it is undertrained. ``smoke`` only proves the plumbing.
    """
    return {
        "standard": Protocol("standard", steps=57_600, batch_size=256, latent_dim=latent_dim,
                             metric_suite="standard", seeds=(0, 1, 2, 3, 4), curve={"mig": 2_400, "dci": 7_200}),
        "extended": Protocol("extended", steps=extended_steps, batch_size=quick_batch_size, latent_dim=latent_dim,
                             metric_suite="fast", seeds=(0, 1, 2, 3, 4), curve={"mig": 500, "dci": 1_000}),
        "quick": Protocol("quick", steps=quick_steps, batch_size=quick_batch_size, latent_dim=latent_dim,
                          metric_suite="fast", seeds=(0, 1), curve={"mig": 250, "dci": 500}),
        "smoke": Protocol("smoke", steps=20, batch_size=16, latent_dim=latent_dim,
                          metric_suite="smoke", seeds=(0,), curve={"mig": 10}, curve_suite="smoke"),
    }

