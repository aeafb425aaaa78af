"""Tables from the aggregates: one neutral table model, rendered as text (tabulate), Markdown, or HTML by the site.

A :class:`Table` holds cells with both the text a reader sees and the value a sorter uses,
so the terminal, ``leaderboards/README.md`` and the site show the same numbers.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from disbench.leaderboard.aggregate import DCI, Aggregates, primary_metric, safe_name, tier_sort_key

TEXT_METRICS = ("mig", DCI, "sap", "factor_vae.eval_accuracy")
HEADLINE = ("mig", DCI, "dci.completeness", "sap", "factor_vae.eval_accuracy", "beta_vae.eval_accuracy", "irs", "modularity")
SHORT = {"dci.disentanglement": "dci", "dci.completeness": "dci.compl", "factor_vae.eval_accuracy": "factor_vae", "beta_vae.eval_accuracy": "beta_vae"}


@dataclass
class Cell:
    """What a reader sees, the value a sorter uses, and (on the site) a page it links to."""

    text: str
    value: float | str | None = None
    link: str | None = None
    markers: tuple[str, ...] = ()


@dataclass
class Row:
    cells: list[Cell]
    submission: str = ""
    markers: tuple[str, ...] = ()


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[Row] = field(default_factory=list)
    note: str = ""

    def text(self, fmt: str = "simple") -> str:
        """The table as tabulate text (``simple`` for terminals, ``github`` for Markdown)."""
        body = [[c.text for c in r.cells] for r in self.rows]
        return tabulate(body, headers=self.headers, tablefmt=fmt, disable_numparse=True)


def fmt(x: float | None, digits: int = 3) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def score(mean: float, std: float | None) -> Cell:
    """``0.123 ± 0.004`` (std over seeds; omitted for a single seed), sorted by the mean."""
    text = fmt(mean) if std is None or math.isnan(std) else f"{fmt(mean)} ± {fmt(std)}"
    return Cell(text, float(mean))


def label(name: str, markers: tuple[str, ...]) -> str:
    return name + "".join(f" [{m}]" for m in markers)


def submission_page(name: str) -> str:
    """The site-relative page of a submission."""
    return f"submissions/{safe_name(name)}.html"


def task_page(task: str) -> str:
    """The site-relative page of a task."""
    return f"tasks/{safe_name(task)}.html"


def metric_name(metric: str) -> str:
    return SHORT.get(metric, metric)


def task_table(agg: Aggregates, task: str, tier: str, metrics: tuple[str, ...] | None = None) -> Table:
    """One task and tier: rank, submission (with markers), track, headline metrics mean ± std, n seeds."""
    primary = primary_metric(task)
    part = agg.summary[(agg.summary["task"] == task) & (agg.summary["tier"] == tier)]
    present = set(part["metric"])
    shown = [m for m in dict.fromkeys([primary, *(metrics or HEADLINE)]) if m in present]
    ranks = agg.ranks[(agg.ranks["task"] == task) & (agg.ranks["tier"] == tier)].set_index("submission")["rank"]
    headers = ["rank", "submission", "track", *(f"{metric_name(m)}{' *' if m == primary else ''}" for m in shown), "n"]
    table = Table(f"{task} ({tier})", headers, note=f"* primary metric ({primary}); mean ± std over seeds")
    groups = []
    for (sub, origin, stale), g in part.groupby(["submission", "origin", "stale"], sort=True):
        by_metric = g.set_index("metric")
        current = origin == "official" and not stale
        rank = int(ranks[sub]) if current and sub in ranks.index else None
        markers = tuple(sorted({*(["local"] if origin == "local" else []), *(["stale"] if stale else []), *(["unverified"] if g["unverified"].any() else [])}))
        cells = [Cell(str(rank) if rank else "–", rank if rank else None), Cell(label(sub, markers), sub, submission_page(sub), markers), Cell(str(g["supervision"].iloc[0]), str(g["supervision"].iloc[0]))]
        for m in shown:
            cells.append(score(by_metric.loc[m, "mean"], by_metric.loc[m, "std"]) if m in by_metric.index else Cell("–"))
        n = int(by_metric["n"].max())
        cells.append(Cell(str(n), n))
        key_mean = by_metric.loc[primary, "mean"] if primary in by_metric.index else -math.inf
        groups.append(((rank is None, rank or 0, -key_mean, sub, origin), Row(cells, sub, markers)))
    table.rows = [row for _, row in sorted(groups, key=lambda t: t[0])]
    return table


def overall_table(agg: Aggregates, tier: str, track: str) -> Table:
    part = agg.overall[(agg.overall["tier"] == tier) & (agg.overall["supervision"] == track)]
    table = Table(f"Overall, {track} track ({tier})", ["rank", "submission", "tasks", "mean task rank"],
                  note="ranked by the mean of per-task ranks within the track; more tasks covered first")
    for r in part.itertuples():
        table.rows.append(Row([Cell(str(r.rank), r.rank), Cell(r.submission, r.submission, submission_page(r.submission)), Cell(str(r.tasks), r.tasks),
                               Cell(fmt(r.mean_task_rank, 2), float(r.mean_task_rank))], r.submission))
    return table


def gap_table(agg: Aggregates, tier: str) -> Table:
    part = agg.gaps[agg.gaps["tier"] == tier]
    table = Table(f"Adversarial gap ({tier})", ["submission", "adversarial task", "re-enabled twin", "metric", "adversarial", "twin", "gap"],
                  note="gap = the twin's score minus the adversarial task's score (means over seeds)")
    for r in part.sort_values(["task", "gap"], ascending=[True, False]).itertuples():
        table.rows.append(Row([Cell(r.submission, r.submission, submission_page(r.submission)), Cell(r.task, r.task, task_page(r.task)), Cell(r.twin, r.twin, task_page(r.twin)), Cell(r.metric, r.metric),
                               Cell(fmt(r.adversarial), r.adversarial), Cell(fmt(r.twin_score), r.twin_score), Cell(f"{r.gap:+.3f}", r.gap)], r.submission))
    return table


def ladder_table(agg: Aggregates, tier: str, metric: str) -> Table:
    """Rows: submissions; columns: grid spacing 1..8 (mean over seeds), and the gap spacing 1 minus widest."""
    part = agg.ladder[(agg.ladder["tier"] == tier) & (agg.ladder["metric"] == metric)]
    spacings = sorted(part["spacing"].unique())
    table = Table(f"Overlap ladder: {metric_name(metric)} by grid spacing ({tier})", ["submission", *(f"s{s}" for s in spacings), "s1 − widest"],
                  note="XYSquares under pixel MSE; smaller spacing = more overlap between positions")
    for sub, g in part.groupby("submission", sort=True):
        by = g.set_index("spacing")
        cells = [Cell(sub, sub, submission_page(sub))] + [score(by.loc[s, "mean"], by.loc[s, "std"]) if s in by.index else Cell("–") for s in spacings]
        if spacings and spacings[0] in by.index and spacings[-1] in by.index and len(spacings) > 1:
            gap = float(by.loc[spacings[0], "mean"] - by.loc[spacings[-1], "mean"])
            cells.append(Cell(f"{gap:+.3f}", gap))
        else:
            cells.append(Cell("–"))
        table.rows.append(Row(cells, sub))
    return table


def refused_table(agg: Aggregates) -> Table:
    table = Table("Refused records", ["record", "origin", "reason"])
    for e in agg.board.refused:
        table.rows.append(Row([Cell(e.relative_path, e.relative_path), Cell(e.origin, e.origin), Cell("; ".join(e.reasons))]))
    return table


def board_tables(agg: Aggregates, task: str | None = None, tier: str | None = None, metric: str | None = None,
                 metrics: tuple[str, ...] = TEXT_METRICS) -> list[Table]:
    """What ``leaderboard show`` prints: per tier the overall ranks, the per-task tables, gaps and the ladder."""
    tiers = [t for t in agg.tiers if tier is None or t == tier]
    tables: list[Table] = []
    metrics = (metric,) if metric else metrics
    for t in tiers:
        tasks = [x for x in sorted(agg.summary[agg.summary["tier"] == t]["task"].unique()) if task is None or x == task]
        if task is None:
            for track in sorted(agg.overall[agg.overall["tier"] == t]["supervision"].unique()):
                tables.append(overall_table(agg, t, track))
        for x in tasks:
            tables.append(task_table(agg, x, t, metrics))
        if task is None:
            if not agg.gaps[agg.gaps["tier"] == t].empty:
                tables.append(gap_table(agg, t))
            for m in ((metric,) if metric else ("mig", DCI)):
                if not agg.ladder[(agg.ladder["tier"] == t) & (agg.ladder["metric"] == m)].empty:
                    tables.append(ladder_table(agg, t, m))
    return tables


def render_text(tables: list[Table], fmt_name: str = "simple") -> str:
    parts = []
    for t in tables:
        parts.append(f"{t.title}\n{t.text(fmt_name)}" + (f"\n({t.note})" if t.note else ""))
    return "\n\n".join(parts)


def render_markdown(agg: Aggregates) -> str:
    """``leaderboards/README.md``: every tier's tables as GitHub Markdown, and the refused records."""
    lines = [
        "# disbench leaderboard",
        "",
        "Generated by `disbench leaderboard build` from the records in `leaderboards/results/`; do not edit by hand.",
        "Scores are means ± sample standard deviations over the tier's seeds; `n` is the number of seeds.",
        "Markers: `[unverified]` not signed by the official runner, `[stale]` the submission changed since the run,",
        "`[local]` a local run. Tiers are never mixed. The site (`disbench site build`) has plots and pictures.",
        "",
    ]
    for t in agg.tiers:
        lines += [f"## Tier: {t}", ""]
        for table in board_tables(agg, tier=t):
            lines += [f"### {table.title}", "", table.text("github"), ""]
            if table.note:
                lines += [f"_{table.note}_", ""]
    if not agg.tiers:
        lines += ["No records have been accepted yet.", ""]
    refused = refused_table(agg)
    if refused.rows:
        lines += ["## Refused records", "", refused.text("github"), ""]
    return "\n".join(lines).rstrip() + "\n"


def write_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def summary_frame(agg: Aggregates) -> pd.DataFrame:
    """The machine-readable summary: one row per task × tier × submission × origin × stale × metric, with ranks."""
    ranks = agg.ranks[["task", "tier", "submission", "rank"]]
    out = agg.summary.merge(ranks, on=["task", "tier", "submission"], how="left")
    current = (out["origin"] == "official") & (~out["stale"].astype(bool)) & (out["metric"] == out["task"].map(primary_metric))
    out.loc[~current, "rank"] = pd.NA
    out["rank"] = out["rank"].astype("Int64")
    out["primary"] = out["metric"] == out["task"].map(primary_metric)
    cols = ["task", "tier", "submission", "version", "supervision", "origin", "stale", "unverified", "metric", "primary", "mean", "std", "n", "rank"]
    out = out[cols].copy()
    out["tier_order"] = out["tier"].map(lambda t: tier_sort_key(t)[0])
    return out.sort_values(["tier_order", "task", "submission", "origin", "stale", "metric"]).drop(columns="tier_order").reset_index(drop=True)


def write_summary(agg: Aggregates, out_dir: Path) -> list[Path]:
    """``summary.csv`` and ``summary.parquet`` in ``out_dir``, each written atomically."""
    import io

    frame = summary_frame(agg)
    csv = frame.to_csv(index=False, float_format="%.10g").encode()
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return [write_atomic(out_dir / "summary.csv", csv), write_atomic(out_dir / "summary.parquet", buffer.getvalue())]


def ladder_comparison_table(agg: Aggregates, tier: str, metric: str) -> Table:
    """Rows: grid spacing 1..8; per method the board's final score and its maximum during training
    (mean ± std over seeds, n) beside the paper's Fig. 9 value, which is a maximum during training."""
    from disbench.leaderboard.aggregate import ladder_tasks, max_key
    from disbench.paper import FIG9, PAPER_LABEL

    ladder = agg.ladder[agg.ladder["tier"] == tier]
    subs = sorted(set(ladder[ladder["metric"] == metric]["submission"]) | set(FIG9))
    headers = ["spacing", "task"]
    for s in subs:
        headers += [f"{s} (disbench, final)", f"{s} (disbench, max during training)", f"{PAPER_LABEL.get(s, s)} (paper)"]
    table = Table(f"{metric_name(metric)} against grid spacing ({tier})", headers,
                  note="disbench: mean ± std over seeds (n) of the final model's score and of the maximum of the protocol's curve; "
                       "paper: approximate range of its maxima during training, read off Fig. 9, and its fit where given")
    for lt in ladder_tasks():
        cells = [Cell(str(lt.spacing), lt.spacing), Cell(lt.task, lt.task, task_page(lt.task))]
        for s in subs:
            for key in (metric, max_key(metric)):
                row = ladder[(ladder["metric"] == key) & (ladder["submission"] == s) & (ladder["spacing"] == lt.spacing)]
                if row.empty:
                    cells.append(Cell("–"))
                else:
                    r = row.iloc[0]
                    c = score(r["mean"], r["std"])
                    cells.append(Cell(f"{c.text} ({int(r['n'])})", c.value))
            paper = FIG9.get(s, {}).get(metric, {}).get(lt.spacing)
            cells.append(Cell(paper.text, paper.centre) if paper else Cell("–"))
        table.rows.append(Row(cells))
    return table
