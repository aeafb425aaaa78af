"""DCI disentanglement gated by informativeness, for every record, old or new.

Records made since the suite gates DCI (``disbench.metrics.informativeness``) carry the gated
values, the ungated ones and the gate's inputs. Records made before it carry the ungated D and the
test informativeness at the end and at every curve point; the gate's other input, the majority
baseline, depends only on the test factors, which the suite draws from the run's seed (and the
curve step) before it encodes anything, so they are drawn again here and the same test is applied
(``by = "report"``). Nothing is re-scored: no checkpoint is needed.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Literal

from disbench.harness.record import RunResult
from disbench.metrics.informativeness import Gate, informativeness_gate, majority_baseline
from disbench.paper import DCI

UNGATED = DCI + "_ungated"


@dataclass(frozen=True)
class GatedDCI:
    """A record's DCI disentanglement with the gate applied, beside what the gate read."""

    final: float  # the final model's D, 0 when its gate closed
    peak: float  # the curve's maximum of gated D (NaN without a DCI curve)
    final_ungated: float
    peak_ungated: float
    informativeness: float  # the final model's test informativeness
    baseline: float  # its majority-class baseline
    gated: bool  # the final model's gate closed
    gated_points: int  # curve points whose gate closed
    points: int  # curve points of DCI
    by: Literal["suite", "report", "none"]  # who applied the gate: the suite, this module after the fact, or nobody
    # (a record without informativeness, e.g. one made by hand: its D is shown ungated)


@functools.cache
def _task(task_id: str):
    import disbench

    return disbench.make(task_id)


def gate_afterwards(task_id: str, suite: str, seed: int, informativeness: float) -> Gate:
    """The gate a record made before gating would have got: the suite's test factors drawn again for ``seed``."""
    from disbench.metrics.suites import dci_test_factors

    factors = dci_test_factors(_task(task_id), suite, seed)
    return informativeness_gate(round(informativeness * factors.size), factors.size, majority_baseline(factors).mean())


def gated_dci(record: RunResult) -> GatedDCI | None:
    """The record's gated DCI disentanglement, final and during training; None when it has no DCI score."""
    from disbench.metrics.utils import derive_seed

    m = record.metrics
    if DCI not in m:
        return None
    curve = record.curve.get(DCI, [])
    if "dci.gated" in m:  # gated by the suite: read it
        closed = [bool(v) for _, v in record.curve.get("dci.gated", [])]
        return GatedDCI(m[DCI], _peak(curve), m[UNGATED], _peak(record.curve.get(UNGATED, [])), m["dci.informativeness_test"],
                        m["dci.informativeness_baseline"], bool(m["dci.gated"]), sum(closed), len(curve), "suite")
    if "dci.informativeness_test" not in m:
        return GatedDCI(m[DCI], _peak(curve), m[DCI], _peak(curve), math.nan, math.nan, False, 0, len(curve), "none")
    config = record.protocol.config
    final = gate_afterwards(record.task.id, config["metric_suite"], record.seed, m["dci.informativeness_test"])
    informativeness = dict(record.curve.get("dci.informativeness_test", []))
    closed = [step in informativeness and gate_afterwards(record.task.id, config["curve_suite"], derive_seed(record.seed, f"curve-step-{step}"),
                                                         informativeness[step]).closed for step, _ in curve]
    gated_curve = [(step, 0.0 if shut else value) for (step, value), shut in zip(curve, closed)]
    return GatedDCI(0.0 if final.closed else m[DCI], _peak(gated_curve), m[DCI], _peak(curve), final.informativeness, final.baseline,
                    final.closed, sum(closed), len(curve), "report")


def _peak(points: list[tuple[int, float]]) -> float:
    return max((v for _, v in points), default=math.nan)
