"""What a submission's page shows beyond its metadata: its scores and ranks on every task, each run behind them, the
hyperparameters its records were made with, and its curves during training (the metrics every record carries, and the training loss
where a ``curves.jsonl`` was published)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from disbench.durations import duration
from disbench.leaderboard import plots
from disbench.leaderboard.aggregate import DCI, Aggregates, primary_metric, tier_sort_key, trust_markers
from disbench.leaderboard.cells import Cell, fmt
from disbench.leaderboard.entries import (
    EntryRuns,
    GroupKey,
    as_utc,
    count_text,
    dates_cell,
    hyperparameters_text,
    parameters_cell,
    with_seeds,
)
from disbench.leaderboard.store import Entry
from disbench.leaderboard.tables import ENTRY_COLUMNS, SEEDS_NOTE, Row, Table, score, seeds_cell, task_page


def scores_table(agg: Aggregates, name: str, runs: dict[GroupKey, EntryRuns]) -> Table:
    """Per task and tier: the primary metric's mean ± std with every seed's value, seeds, the rank within the
    submission's track, and the entry's parameter count and run dates."""
    ranks = agg.ranks.set_index(["task", "tier", "submission"])["rank"]
    tracks = sorted(agg.summary[agg.summary["submission"] == name]["supervision"].unique())
    table = Table(f"{name} on every task", ["task", "tier", "metric", "score", "n", "rank", *ENTRY_COLUMNS],
                  note=f"mean ± std over seeds of each task's primary metric{SEEDS_NOTE}; n = seeds recorded / seeds of the tier; "
                       f"rank within the {', '.join(tracks)} track of that task and tier")
    part = agg.summary[agg.summary["submission"] == name]
    for (task, tier, origin, stale), g in sorted(part.groupby(["task", "tier", "origin", "stale"]), key=lambda kv: (tier_sort_key(kv[0][1]), kv[0])):
        row = g[g["metric"] == primary_metric(task)]
        if row.empty:
            continue
        r = row.iloc[0]
        markers = trust_markers(bool(r["unverified"]), bool(r["incomplete"]), origin, bool(stale))
        current = origin == "official" and not stale and (task, tier, name) in ranks.index
        rank = int(ranks[(task, tier, name)]) if current else None
        mine = runs.get((task, tier, name, origin, bool(stale)))
        table.rows.append(Row([Cell(task, task, task_page(task), markers), Cell(tier, tier), Cell(r["metric"], r["metric"]),
                               with_seeds(score(r["mean"], r["std"]), mine, r["metric"]), seeds_cell(r["seeds"], r["expected"]),
                               Cell(str(rank) if rank else "–", rank), parameters_cell(mine), dates_cell(mine)], name, markers))
    return table


def runs_table(entries: list[Entry]) -> Table:
    """One row per record: its task, tier and seed, the primary metric, and how it ran (parameters, steps, device,
    wall time, when), so a reader can see each run behind a mean."""
    table = Table("Runs", ["task", "tier", "seed", "primary metric", "parameters", "steps", "device", "run time", "recorded (UTC)"],
                  note="one row per record; run time: training, scoring the curve during training and the final evaluation; recorded: when the record was written, at the end of the run")
    ordered = sorted(entries, key=lambda e: (tier_sort_key(e.record.protocol.name), e.record.task.id, e.origin, e.record.seed))
    for e in ordered:
        r, metric = e.record, primary_metric(e.record.task.id)
        value = r.metrics.get(metric)
        t = r.training
        wall = t.wall_time_s + t.evaluation_time_s + t.curve_time_s
        when = as_utc(r.created)
        table.rows.append(Row([Cell(r.task.id, r.task.id, task_page(r.task.id), e.markers), Cell(r.protocol.name), Cell(str(r.seed), r.seed),
                               Cell(f"{metric} {fmt(value)}", value), Cell(count_text(t.num_parameters), t.num_parameters, title=f"{t.num_parameters:,}"),
                               Cell(f"{t.steps:,}", t.steps), Cell(t.device), Cell(duration(wall), wall),
                               Cell(when.strftime("%Y-%m-%d %H:%M"), when.isoformat())], r.submission.name, e.markers))
    return table


def hyperparameters_table(entries: list[Entry]) -> Table:
    """The hyperparameters the records were made with, one row per distinct set, with the tasks and tiers it ran on."""
    used: dict[str, set[str]] = {}
    for e in entries:
        hp = json.dumps(e.record.submission.hyperparameters, sort_keys=True)
        used.setdefault(hp, set()).add(f"{e.record.task.id} ({e.record.protocol.name})")
    table = Table("Hyperparameters", ["hyperparameters", "tasks (tier)"], prose=("tasks (tier)",),
                  note="as recorded in each record: what build(task_info, **hyperparameters) was called with")
    for hp, where in sorted(used.items()):
        text = hyperparameters_text(json.loads(hp))
        table.rows.append(Row([Cell(text, text), Cell(", ".join(sorted(where)), len(where))]))
    return table


def curve_plots(entries: list[Entry], name: str, out_dir: Path, loss_file: Callable[[Entry], Path | None]) -> list[dict[str, str]]:
    """Per tier: the primary metrics' and DCI's curves from the records (with each final score), and the training loss
    from ``loss_file(entry)`` where there is one; each a PNG in ``out_dir``, returned as {tier, what, path}."""
    made = []
    for tier in sorted({e.record.protocol.name for e in entries}, key=tier_sort_key):
        mine = [e for e in entries if e.record.protocol.name == tier]
        metrics = list(dict.fromkeys([*sorted({primary_metric(e.record.task.id) for e in mine}), DCI]))
        for metric in metrics:
            curves: dict[str, list[plots.Curve]] = {}
            for e in mine:
                points = e.record.curve.get(metric) or []
                if points:
                    curves.setdefault(e.record.task.id, []).append(plots.Curve(
                        e.record.seed, [int(s) for s, _ in points], [float(v) for _, v in points], "unverified" in e.markers, e.record.metrics.get(metric)))
            title = f"{name}: {metric} during training ({tier} tier); × = the final model's score"
            path = plots.curves_plot(curves, metric, title, out_dir / f"{metric}-{tier}.png")
            if path:
                made.append({"tier": tier, "what": metric, "path": path})
        losses: dict[str, list[plots.Curve]] = {}
        for e in mine:
            found = loss_file(e)
            curve = plots.loss_curve(e.record.seed, found, "unverified" in e.markers) if found else None
            if curve:
                losses.setdefault(e.record.task.id, []).append(curve)
        path = plots.curves_plot(losses, "training loss", f"{name}: training loss ({tier} tier)", out_dir / f"curves-{tier}.png")
        if path:
            made.append({"tier": tier, "what": "training loss", "path": path})
    return made
