"""Aggregate checked records with pandas: mean ± std and n over seeds, ranks, adversarial gaps, the ladder.

Groups never mix what must not be mixed: the key is (task, tier, submission, origin, stale),
so local runs, stale runs and official runs of different tiers are summarised separately.
``std`` is the sample standard deviation over seeds (ddof=1; undefined, NaN, for one seed).
A group is *unverified* if any of its records is, and *incomplete* if it has fewer seeds than
its tier's protocol names.

One rule ranks everywhere (:data:`RANK_RULE`, :func:`order_ranks`): only current official
groups (origin ``official``, not stale) take a rank, always within a tier and a supervision
track; verified groups come before unverified ones, and within each, groups with every seed of
the tier before incomplete ones; then the task's primary metric (higher is better; equal keys
share the better rank). The overall rank per tier and track orders submissions by the same
trust keys, then by the number of tasks covered (a method is not ranked above others by skipping
tasks), then by the mean of its per-task ranks.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import pandas as pd

from disbench.error import DisbenchError
from disbench.leaderboard.store import Board

GROUP = ["task", "tier", "submission", "origin", "stale"]
DCI = "dci.disentanglement"
MAX = "@max"  # suffix of a metric's running maximum during training (the paper's quantity): "mig@max"
TRUST = ["unverified", "incomplete"]  # the keys that order ranks before the score: False (verified, complete) first
MARKERS = {  # every marker a group can carry, in the order they are shown, with what it means to a reader
    "unverified": "no signature of the official runner checked here (unsigned, or no runner public key to check it): shown, but its "
                  "numbers are not verified",
    "incomplete": "fewer seeds than the tier's protocol: its mean is less certain and may hide failed runs",
    "stale": "the submission's code changed since this run: it needs a re-run",
    "local": "a local run, not an official record",
}

RANK_RULE = ("Ranks are within a tier and a supervision track, by the task's primary metric: verified records before "
             "unverified ones, all the tier's seeds before missing seeds; stale and local runs are not ranked.")
RANK_WHY = ("An unsigned record is a claim the board cannot check, and a mean over fewer seeds is less certain (and may hide failed "
            "seeds), so neither may outrank a complete, verified result; they are still ranked among themselves, each with its "
            "marker, so the board stays useful while nothing is signed. Methods that see pairs (weak supervision) are not ranked "
            "against methods that see single observations.")


def trust_markers(unverified: bool, incomplete: bool, origin: str = "official", stale: bool = False) -> tuple[str, ...]:
    """A group's markers in :data:`MARKERS` order (the ones that decide its rank first)."""
    flags = {"unverified": unverified, "incomplete": incomplete, "stale": stale, "local": origin == "local"}
    return tuple(m for m in MARKERS if flags[m])


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


def tier_seed_count(task_id: str, tier: str) -> int | None:
    """How many seeds the task's tier names (None for a task or tier not registered here)."""
    import disbench

    try:
        return len(disbench.spec(task_id).protocols[tier].seeds)
    except (DisbenchError, KeyError):
        return None


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


SUMMARY_COLUMNS = [*GROUP, "supervision", "version", "unverified", "seeds", "expected", "incomplete", "metric", "mean", "std", "n"]


def summarise(records: pd.DataFrame) -> pd.DataFrame:
    """Mean, std (ddof=1) and n over seeds per task × tier × submission × origin × stale × metric, with the group's
    trust: ``unverified`` (any record unverified), ``seeds`` (records in the group), ``expected`` (the tier's seeds)
    and ``incomplete`` (fewer seeds than expected)."""
    if records.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    grouped = records.groupby([*GROUP, "metric"], sort=True)
    out = grouped["value"].agg(mean="mean", std="std", n="count").reset_index()
    meta = records.groupby(GROUP, sort=True).agg(
        supervision=("supervision", "first"), version=("version", lambda v: ", ".join(sorted(set(v)))), unverified=("unverified", "any"),
        seeds=("seed", "nunique"),
    ).reset_index()
    expected = [tier_seed_count(t, tier) for t, tier in zip(meta["task"], meta["tier"])]
    meta["expected"] = pd.array(expected, dtype="Int64")
    meta["incomplete"] = [e is not None and s < e for s, e in zip(meta["seeds"], expected)]
    return out.merge(meta, on=GROUP, how="left")[SUMMARY_COLUMNS]


def current_official(summary: pd.DataFrame) -> pd.DataFrame:
    return summary[(summary["origin"] == "official") & (~summary["stale"].astype(bool))]


def order_ranks(frame: pd.DataFrame, within: list[str], keys: list[str], ascending: list[bool]) -> pd.Series:
    """1-based ranks of ``frame``'s rows within each ``within`` group, ordered by ``keys``; rows with equal keys
    share the better rank. Every rank on the board is made here."""
    ordered = frame.sort_values([*within, *keys], ascending=[True] * len(within) + ascending, kind="stable")
    ranks = pd.Series(0, index=ordered.index, dtype=int)
    previous, position, rank = None, 0, 0
    for index, row in zip(ordered.index, ordered[[*within, *keys]].itertuples(index=False)):
        group, key = tuple(row[: len(within)]), tuple(row)
        position = position + 1 if previous is not None and group == previous[0] else 1
        rank = rank if previous is not None and key == previous[1] else position
        ranks[index] = rank
        previous = (group, key)
    return ranks.reindex(frame.index)


def task_ranks(summary: pd.DataFrame) -> pd.DataFrame:
    """Per task, tier and supervision track: current official groups ranked by :data:`RANK_RULE` (1 = best)."""
    cols = ["task", "tier", "supervision", "submission", "metric", "mean", "std", "n", "seeds", "expected", *TRUST, "rank"]
    pool = current_official(summary)
    if pool.empty:
        return pd.DataFrame(columns=cols)
    primaries = {t: primary_metric(t) for t in pool["task"].unique()}
    pool = pool[pool["metric"] == pool["task"].map(primaries)].copy()
    pool["rank"] = order_ranks(pool, ["task", "tier", "supervision"], [*TRUST, "mean"], [True, True, False])
    return pool.sort_values(["tier", "task", "supervision", "rank", "submission"])[cols].reset_index(drop=True)


def overall_ranks(ranks: pd.DataFrame) -> pd.DataFrame:
    """Per tier and supervision track: trust first (any unverified or incomplete task counts), then more tasks
    covered, then the lower mean of the per-task ranks."""
    cols = ["tier", "supervision", "rank", "submission", "tasks", "mean_task_rank", *TRUST]
    if ranks.empty:
        return pd.DataFrame(columns=cols)
    out = ranks.groupby(["tier", "supervision", "submission"]).agg(
        tasks=("task", "nunique"), mean_task_rank=("rank", "mean"), unverified=("unverified", "any"), incomplete=("incomplete", "any")
    ).reset_index()
    out["rank"] = order_ranks(out, ["tier", "supervision"], [*TRUST, "tasks", "mean_task_rank"], [True, True, False, True])
    return out.sort_values(["tier", "supervision", "rank", "submission"])[cols].reset_index(drop=True)


def adversarial_pairs() -> list[tuple[str, str]]:
    """(adversarial task, re-enabled twin) for every registered adversarial task that names a twin."""
    import disbench

    return sorted((tid, s.twin) for tid, s in disbench.registry.items() if s.adversarial and s.twin and not s.deprecated)


def adversarial_gaps(summary: pd.DataFrame) -> pd.DataFrame:
    """Each current official method's score on the twin minus on the adversarial task (primary metric): both
    sides' mean, std and n, the gap's standard error sqrt(s_a²/n_a + s_t²/n_t) (NaN with a single seed on a side),
    and the pair's trust (unverified or incomplete if either side is)."""
    side = ["mean", "std", "n"]
    cols = ["tier", "supervision", "submission", "task", "twin", "metric", *(f"adversarial_{c}" for c in side), *(f"twin_{c}" for c in side),
            "gap", "gap_se", *TRUST]
    pool = current_official(summary)
    rows = []
    for task, twin in adversarial_pairs():
        metric = primary_metric(task)
        a = pool[(pool["task"] == task) & (pool["metric"] == metric)].set_index(["tier", "submission"])
        b = pool[(pool["task"] == twin) & (pool["metric"] == metric)].set_index(["tier", "submission"])
        for key in sorted(set(a.index) & set(b.index)):
            x, y = a.loc[key], b.loc[key]
            rows.append({"tier": key[0], "supervision": x["supervision"], "submission": key[1], "task": task, "twin": twin, "metric": metric,
                         **{f"adversarial_{c}": x[c] for c in side}, **{f"twin_{c}": y[c] for c in side},
                         "gap": float(y["mean"] - x["mean"]), "gap_se": float(math.sqrt(x["std"] ** 2 / x["n"] + y["std"] ** 2 / y["n"])),
                         **{c: bool(x[c] or y[c]) for c in TRUST}})
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
    cols = ["tier", "submission", "supervision", "metric", "spacing", "task", "mean", "std", "n", "expected", *TRUST]
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
