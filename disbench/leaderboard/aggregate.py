"""Aggregate checked records with pandas: mean ± std and n over seeds, ranks, adversarial gaps, the ladder.

Groups never mix what must not be mixed: the key is (task, tier, submission, origin, stale),
so local runs, stale runs and official runs of different tiers are summarised separately.
``std`` is the sample standard deviation over seeds (ddof=1; undefined, NaN, for one seed).

Ranks use only *current official* groups (origin ``official``, not stale): a per-task rank on
the task's primary metric (higher is better, ties share the best rank) and, per tier and
supervision track, an overall rank by the mean of the per-task ranks within that track; a
submission covering more tasks comes first, so a method is not ranked above others by
skipping tasks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from disbench.leaderboard.store import Board

GROUP = ["task", "tier", "submission", "origin", "stale"]
DCI = "dci.disentanglement"
MAX = "@max"  # suffix of a metric's running maximum during training (the paper's quantity): "mig@max"


def max_key(metric: str) -> str:
    """The records frame's name for ``metric``'s maximum during training."""
    return metric + MAX


def primary_metric(task_id: str) -> str:
    """The metric a task is ranked on (``TaskSpec.primary_metric``; MIG where the spec names none)."""
    import disbench

    try:
        return getattr(disbench.spec(task_id), "primary_metric", None) or "mig"
    except Exception:
        return "mig"


def records_frame(board: Board) -> pd.DataFrame:
    """One row per accepted record and metric (long format), with its markers."""
    rows = []
    for e in board.accepted:
        r = e.record
        base = {
            "task": r.task.id, "tier": r.protocol.name, "submission": r.submission.name, "version": r.submission.version,
            "supervision": r.submission.supervision, "origin": e.origin, "stale": "stale" in e.markers,
            "unverified": "unverified" in e.markers, "seed": r.seed, "path": str(e.path),
        }
        rows += [{**base, "metric": k, "value": float(v)} for k, v in sorted(r.metrics.items())]
        if r.metrics:  # a failed run's curve is not a score
            rows += [{**base, "metric": max_key(k), "value": float(v)} for k, v in sorted(r.max_during_training.items())]
    columns = ["task", "tier", "submission", "version", "supervision", "origin", "stale", "unverified", "seed", "path", "metric", "value"]
    return pd.DataFrame(rows, columns=columns)


def summarise(records: pd.DataFrame) -> pd.DataFrame:
    """Mean, std (ddof=1) and n over seeds per task × tier × submission × origin × stale × metric."""
    if records.empty:
        return pd.DataFrame(columns=[*GROUP, "supervision", "version", "unverified", "metric", "mean", "std", "n"])
    grouped = records.groupby([*GROUP, "metric"], sort=True)
    out = grouped["value"].agg(mean="mean", std="std", n="count").reset_index()
    meta = records.groupby(GROUP, sort=True).agg(
        supervision=("supervision", "first"), version=("version", lambda v: ", ".join(sorted(set(v)))), unverified=("unverified", "any")
    ).reset_index()
    return out.merge(meta, on=GROUP, how="left")


def current_official(summary: pd.DataFrame) -> pd.DataFrame:
    return summary[(summary["origin"] == "official") & (~summary["stale"].astype(bool))]


def task_ranks(summary: pd.DataFrame) -> pd.DataFrame:
    """Per task and tier: current official groups ranked on the task's primary metric (1 = best)."""
    cols = ["task", "tier", "submission", "supervision", "metric", "mean", "std", "n", "rank"]
    pool = current_official(summary)
    if pool.empty:
        return pd.DataFrame(columns=cols)
    primaries = {t: primary_metric(t) for t in pool["task"].unique()}
    pool = pool[pool["metric"] == pool["task"].map(primaries)].copy()
    pool["rank"] = pool.groupby(["task", "tier"])["mean"].rank(ascending=False, method="min").astype(int)
    return pool.sort_values(["tier", "task", "rank", "submission"])[cols].reset_index(drop=True)


def overall_ranks(ranks: pd.DataFrame) -> pd.DataFrame:
    """Per tier and supervision track: mean of per-task ranks within the track, more tasks first."""
    cols = ["tier", "supervision", "rank", "submission", "tasks", "mean_task_rank"]
    if ranks.empty:
        return pd.DataFrame(columns=cols)
    within = ranks.copy()
    within["track_rank"] = within.groupby(["tier", "supervision", "task"])["mean"].rank(ascending=False, method="min")
    out = within.groupby(["tier", "supervision", "submission"]).agg(tasks=("task", "nunique"), mean_task_rank=("track_rank", "mean")).reset_index()
    out = out.sort_values(["tier", "supervision", "tasks", "mean_task_rank", "submission"], ascending=[True, True, False, True, True])
    out["rank"] = out.groupby(["tier", "supervision"]).cumcount() + 1
    return out[cols].reset_index(drop=True)


def adversarial_pairs() -> list[tuple[str, str]]:
    """(adversarial task, re-enabled twin) for every registered adversarial task that names a twin."""
    import disbench

    return sorted((tid, s.twin) for tid, s in disbench.registry.items() if s.adversarial and s.twin and not s.deprecated)


def adversarial_gaps(summary: pd.DataFrame) -> pd.DataFrame:
    """Each current official method's score on the twin minus on the adversarial task (primary metric)."""
    cols = ["tier", "submission", "task", "twin", "metric", "adversarial", "twin_score", "gap"]
    pool = current_official(summary)
    rows = []
    for task, twin in adversarial_pairs():
        metric = primary_metric(task)
        a = pool[(pool["task"] == task) & (pool["metric"] == metric)].set_index(["tier", "submission"])["mean"]
        b = pool[(pool["task"] == twin) & (pool["metric"] == metric)].set_index(["tier", "submission"])["mean"]
        for key in sorted(set(a.index) & set(b.index)):
            rows.append({"tier": key[0], "submission": key[1], "task": task, "twin": twin, "metric": metric,
                         "adversarial": float(a[key]), "twin_score": float(b[key]), "gap": float(b[key] - a[key])})
    return pd.DataFrame(rows, columns=cols)


@dataclass(frozen=True)
class LadderTask:
    spacing: int
    task: str


def ladder_tasks() -> list[LadderTask]:
    """The overlap ladder: XYSquares under pixel MSE at grid spacing 1..8 (latest version per spacing)."""
    import disbench

    best: dict[int, tuple[int, str]] = {}
    for tid, s in disbench.registry.items():
        kw = s.kwargs
        if kw.get("dataset") == "xysquares" and kw.get("loss") == "mse" and isinstance(kw.get("grid_spacing"), int) and not s.deprecated:
            version = s.version or 0
            if kw["grid_spacing"] not in best or version > best[kw["grid_spacing"]][0]:
                best[kw["grid_spacing"]] = (version, tid)
    return [LadderTask(sp, tid) for sp, (_, tid) in sorted(best.items())]


def ladder(summary: pd.DataFrame, metrics: tuple[str, ...] = ("mig", DCI)) -> pd.DataFrame:
    """Current official mean/std/n of ``metrics`` (final, and ``metric@max``: the maximum during
    training) per tier, submission and grid spacing."""
    cols = ["tier", "submission", "metric", "spacing", "task", "mean", "std", "n"]
    spacing = {lt.task: lt.spacing for lt in ladder_tasks()}
    pool = current_official(summary)
    pool = pool[pool["task"].isin(spacing) & pool["metric"].isin([*metrics, *map(max_key, metrics)])].copy()
    if pool.empty:
        return pd.DataFrame(columns=cols)
    pool["spacing"] = pool["task"].map(spacing).astype(int)
    return pool.sort_values(["tier", "submission", "metric", "spacing"])[cols].reset_index(drop=True)


def ladder_gaps(ladder_frame: pd.DataFrame) -> pd.DataFrame:
    """Score at each spacing minus the score at the widest spacing (no overlap), per tier/submission/metric."""
    cols = ["tier", "submission", "metric", "spacing", "gap"]
    if ladder_frame.empty:
        return pd.DataFrame(columns=cols)
    ladder_frame = ladder_frame[~ladder_frame["metric"].str.endswith(MAX)]
    widest = ladder_frame["spacing"].max()
    ref = ladder_frame[ladder_frame["spacing"] == widest].set_index(["tier", "submission", "metric"])["mean"]
    rows = []
    for r in ladder_frame.itertuples():
        key = (r.tier, r.submission, r.metric)
        if key in ref.index:
            rows.append({"tier": r.tier, "submission": r.submission, "metric": r.metric, "spacing": r.spacing, "gap": float(r.mean - ref[key])})
    return pd.DataFrame(rows, columns=cols)


TIER_ORDER = {"standard": 0, "extended": 1, "quick": 2, "smoke": 3}


def tier_sort_key(tier: str) -> tuple[int, str]:
    return (TIER_ORDER.get(tier, 9), tier)


def safe_name(text: str) -> str:
    """A file-name-safe version of a task id or submission name (``ns/name-v0`` -> ``ns--name-v0``)."""
    return re.sub(r"[^A-Za-z0-9._-]", "-", text.replace("/", "--"))


@dataclass
class Aggregates:
    """Every summary the tables and the site show, computed once from a board."""

    board: Board
    records: pd.DataFrame
    summary: pd.DataFrame
    ranks: pd.DataFrame
    overall: pd.DataFrame
    gaps: pd.DataFrame
    ladder: pd.DataFrame
    ladder_gaps: pd.DataFrame

    @property
    def tiers(self) -> list[str]:
        return sorted(self.summary["tier"].unique(), key=tier_sort_key)

    @property
    def tasks(self) -> list[str]:
        return sorted(self.summary["task"].unique())


def aggregate(board: Board) -> Aggregates:
    """All summaries of ``board``."""
    records = records_frame(board)
    summary = summarise(records)
    ranks = task_ranks(summary)
    lad = ladder(summary)
    return Aggregates(board, records, summary, ranks, overall_ranks(ranks), adversarial_gaps(summary), lad, ladder_gaps(lad))
