"""Tables from the aggregates: one neutral table model, rendered as text (tabulate), Markdown, or HTML by the site.

A :class:`Table` holds cells with both the text a reader sees and the value a sorter uses,
so the terminal, ``leaderboards/README.md`` and the site show the same numbers. A cell's
markers (``unverified``, ``incomplete``, ``stale``, ``local``) are part of what it says: the
text renderers print them as ``[unverified]``, the site as badges.

Text output is shaped to fit 80 columns on the committed board: one table per supervision
track (ranks are within a track, so a track column would only repeat the title), the ladder
with spacings as rows, and prose (notes, refusal reasons) wrapped. The wide form (``leaderboard
show --wide``) gives every metric its column and the ladder in one table, however wide.
"""

from __future__ import annotations

import math
import os
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
from tabulate import tabulate

from disbench.leaderboard.aggregate import (
    DCI,
    MARKERS,
    MAX,
    RANK_RULE,
    TRUST,
    Aggregates,
    max_key,
    primary_metric,
    safe_name,
    tier_sort_key,
    trust_markers,
)
from disbench.leaderboard.cells import Cell, fmt
from disbench.leaderboard.entries import with_entry, with_seeds
from disbench.leaderboard.paths import public_text

TEXT_METRICS = ("mig", DCI)  # what `leaderboard show` prints by default: the paper's two metrics
MARKDOWN_METRICS = ("mig", DCI, "sap", "factor_vae.eval_accuracy")
HEADLINE = ("mig", DCI, "dci.completeness", "sap", "factor_vae.eval_accuracy", "irs", "modularity")  # the site's task tables
WIDTH = 80  # the terminal width text output is shaped for
ENTRY_COLUMNS = ("parameters", "run dates (UTC)")  # the site's columns of what stands behind an entry
SEEDS_NOTE = " (under it: each seed's value in seed order; from 5 seeds the median [IQR])"
ENTRY_NOTE = "; under each submission: its model's parameter count and the UTC dates its records were written"


@dataclass
class Row:
    cells: list[Cell]
    submission: str = ""
    markers: tuple[str, ...] = ()


@dataclass
class Table:
    """A titled table; ``prose`` names the columns whose long text wraps on the site."""

    title: str
    headers: list[str]
    rows: list[Row] = field(default_factory=list)
    note: str = ""
    prose: tuple[str, ...] = ()

    def text(self, fmt: str = "simple") -> str:
        """The table as tabulate text (``simple`` for terminals, ``github`` for Markdown)."""
        body = [[c.plain() for c in r.cells] for r in self.rows]
        return tabulate(body, headers=self.headers, tablefmt=fmt, disable_numparse=True)


def score(mean: float, std: float | None, markers: tuple[str, ...] = ()) -> Cell:
    """``0.123 ± 0.004`` (std over seeds; omitted for a single seed), sorted by the mean."""
    text = fmt(mean) if std is None or pd.isna(std) else f"{fmt(mean)} ± {fmt(std)}"
    return Cell(text, float(mean), markers=markers)


def seeds_cell(seeds: int, expected: int | None) -> Cell:
    """``2/5``: seeds with a record out of the tier's seeds (just ``2`` for a tier not registered here)."""
    return Cell(str(seeds) if expected is None or pd.isna(expected) else f"{seeds}/{int(expected)}", int(seeds))


def submission_page(name: str) -> str:
    """The site-relative page of a submission."""
    return f"submissions/{safe_name(name)}.html"


def task_page(task: str) -> str:
    """The site-relative page of a task."""
    return f"tasks/{safe_name(task)}.html"


def tracks(agg: Aggregates, tier: str, task: str | None = None) -> list[str]:
    """The supervision tracks with records in ``tier`` (and ``task``), sorted."""
    part = agg.summary[(agg.summary["tier"] == tier) & ((agg.summary["task"] == task) if task else True)]
    return sorted(part["supervision"].unique())


def scored_metrics(agg: Aggregates, task: str, tier: str, track: str) -> tuple[str, ...]:
    """Every metric of a final score that ``task``'s entries in ``tier`` and ``track`` carry (not the maxima during
    training): the site's headline metrics first, in their order, then the rest by name."""
    s = agg.summary
    names = set(s[(s["task"] == task) & (s["tier"] == tier) & (s["supervision"] == track)]["metric"])
    return tuple(sorted((m for m in names if not m.endswith(MAX)), key=lambda m: (HEADLINE.index(m) if m in HEADLINE else len(HEADLINE), m)))


def task_table(agg: Aggregates, task: str, tier: str, track: str, metrics: tuple[str, ...] | None = None, runs: dict | None = None) -> Table:
    """One task, tier and track: rank, submission (with markers), metrics mean ± std, seeds. With ``runs``
    (:func:`disbench.leaderboard.entries.entry_runs`, the site's): every seed's value under each mean, and
    each entry's parameter count and run dates."""
    primary = primary_metric(task)
    s = agg.summary
    part = s[(s["task"] == task) & (s["tier"] == tier) & (s["supervision"] == track)]
    present = set(part["metric"])
    shown = [m for m in dict.fromkeys([primary, *(metrics or HEADLINE)]) if m in present]
    ranks = agg.ranks[(agg.ranks["task"] == task) & (agg.ranks["tier"] == tier)].set_index("submission")["rank"]
    headers = ["rank", "submission", *(f"{m}{' *' if m == primary else ''}" for m in shown), "n"]
    table = Table(f"{task} ({tier}), {track} track", headers,
                  note=f"* primary metric ({primary}), which ranks the rows; mean ± std over seeds{SEEDS_NOTE if runs is not None else ''}; "
                       f"n = seeds recorded / seeds of the tier{ENTRY_NOTE if runs is not None else ''}")
    groups = []
    for (sub, origin, stale), g in part.groupby(["submission", "origin", "stale"], sort=True):
        by_metric = g.set_index("metric")
        first = g.iloc[0]
        current = origin == "official" and not stale
        rank = int(ranks[sub]) if current and sub in ranks.index else None
        markers = trust_markers(bool(first["unverified"]), bool(first["incomplete"]), origin, bool(stale))
        name = Cell(sub, sub, submission_page(sub), markers)
        scores = [score(by_metric.loc[m, "mean"], by_metric.loc[m, "std"]) if m in by_metric.index else Cell("–") for m in shown]
        if runs is not None:
            mine = runs.get((task, tier, sub, origin, bool(stale)))
            name, scores = with_entry(name, mine), [with_seeds(c, mine, m) for c, m in zip(scores, shown)]
        cells = [Cell(str(rank) if rank else "–", rank), name, *scores, seeds_cell(first["seeds"], first["expected"])]
        key_mean = by_metric.loc[primary, "mean"] if primary in by_metric.index else -math.inf
        groups.append(((rank is None, rank or 0, markers, -key_mean, sub, origin), Row(cells, sub, markers)))
    table.rows = [row for _, row in sorted(groups, key=lambda t: t[0])]
    return table


def overall_table(agg: Aggregates, tier: str, track: str) -> Table:
    part = agg.overall[(agg.overall["tier"] == tier) & (agg.overall["supervision"] == track)]
    table = Table(f"Overall, {track} track ({tier})", ["rank", "submission", "tasks", "mean task rank"],
                  note="verified before unverified, complete before incomplete, then more tasks covered, then the lower mean of "
                       "the per-task ranks within the track")
    for r in part.itertuples():
        markers = trust_markers(r.unverified, r.incomplete)
        table.rows.append(Row([Cell(str(r.rank), r.rank), Cell(r.submission, r.submission, submission_page(r.submission), markers),
                               Cell(str(r.tasks), r.tasks), Cell(fmt(r.mean_task_rank, 2), float(r.mean_task_rank))], r.submission, markers))
    return table


def with_n(mean: float, std: float, n: int) -> Cell:
    """``0.123 ± 0.004 (2)``: mean ± std over seeds and their number, sorted by the mean."""
    c = score(mean, std)
    return Cell(f"{c.text} ({int(n)})", c.value)


def gap_tables(agg: Aggregates, tier: str) -> list[Table]:
    """Per adversarial task: each method's score there and on its re-enabled twin (mean ± std (n)), and the gap
    (twin minus adversarial) ± its standard error."""
    tables = []
    part = agg.gaps[agg.gaps["tier"] == tier]
    for (task, twin, metric), g in part.groupby(["task", "twin", "metric"], sort=True):
        table = Table(f"Adversarial gap ({tier}): {metric} on {twin} minus on {task}",
                      ["submission", "adversarial", "twin", "gap ± s.e."],
                      note="mean ± std over seeds (n); s.e. = sqrt(s_a²/n_a + s_t²/n_t), blank with one seed on a side; "
                           "a comparison, not a ranking; official runs are scored on secret variants, and the two losses' variants "
                           "differ (no circular shift under a blur), so `disbench reproduce` tests the paper's gap on the public task")
        order = g.sort_values([*TRUST, "supervision", "gap", "submission"], ascending=[True, True, True, False, True])
        for r in order.itertuples():
            markers = trust_markers(r.unverified, r.incomplete)
            gap = f"{r.gap:+.3f}" + ("" if pd.isna(r.gap_se) else f" ± {r.gap_se:.3f}")
            table.rows.append(Row([Cell(r.submission, r.submission, submission_page(r.submission), markers),
                                   with_n(r.adversarial_mean, r.adversarial_std, r.adversarial_n),
                                   with_n(r.twin_mean, r.twin_std, r.twin_n), Cell(gap, r.gap)], r.submission, markers))
        tables.append(table)
    return tables


def ladder_tables(agg: Aggregates, tier: str, metric: str, width: int | None = WIDTH) -> list[Table]:
    """Rows: grid spacing 1..8; columns: submissions (mean ± std over seeds (n)); a last row: spacing 1 minus widest.
    The submissions are split over as many tables as it takes for each to fit ``width`` columns (None: one table)."""
    part = agg.ladder[(agg.ladder["tier"] == tier) & (agg.ladder["metric"] == metric)]
    subs = sorted(part["submission"].unique(), key=lambda sub: (part[part["submission"] == sub]["supervision"].iloc[0], sub))
    columns = [_ladder_column(part, sub) for sub in subs]
    chunks: list[list[tuple[str, list[Cell]]]] = []
    used = width
    for header, cells in columns:  # tabulate's "simple": each column 2 wider than its text, 2 spaces between columns
        wide = 4 + max(len(header), *(len(c.text) for c in cells))
        if chunks and (width is None or used + wide <= width):
            chunks[-1].append((header, cells))
            used += wide
        else:
            chunks.append([(header, cells)])
            used = len("spacing") + 2 + wide
    spacings = sorted(part["spacing"].unique())
    labels = [Cell(f"s{s}", s) for s in spacings] + ([Cell(f"s{spacings[0]} − s{spacings[-1]}")] if len(spacings) > 1 else [])
    tables = []
    for i, chunk in enumerate(chunks):
        part_of = f" ({i + 1} of {len(chunks)})" if len(chunks) > 1 else ""
        table = Table(f"Overlap ladder ({tier}): {metric} by grid spacing{part_of}", ["spacing", *(h for h, _ in chunk)],
                      note="XYSquares under pixel MSE; smaller spacing = more overlap between positions; mean ± std over seeds "
                           "(n); a marker on a method means at least one of its cells carries it")
        table.rows = [Row([label, *(cells[j] for _, cells in chunk)]) for j, label in enumerate(labels)]
        tables.append(table)
    return tables


def _ladder_column(part: pd.DataFrame, sub: str) -> tuple[str, list[Cell]]:
    """One submission's ladder column: its header (with markers), a cell per spacing and the s1 − widest gap."""
    spacings = sorted(part["spacing"].unique())
    g = part[part["submission"] == sub].set_index("spacing")
    header = Cell(sub, markers=trust_markers(bool(g["unverified"].any()), bool(g["incomplete"].any()))).plain()
    cells = [with_n(g.loc[s, "mean"], g.loc[s, "std"], g.loc[s, "n"]) if s in g.index else Cell("–") for s in spacings]
    if len(spacings) > 1:
        first, last = spacings[0], spacings[-1]
        gap = g.loc[first, "mean"] - g.loc[last, "mean"] if {first, last} <= set(g.index) else None
        cells.append(Cell("–") if gap is None else Cell(f"{gap:+.3f}", float(gap)))
    return header, cells


def refused_entries(agg: Aggregates, task: str | None = None, tier: str | None = None) -> list:
    """The refused records, only those of ``task``/``tier`` when given (read from the record, or its path if unreadable)."""
    def where(e) -> tuple[str | None, str | None]:
        if e.record is not None:
            return e.record.task.id, e.record.protocol.name
        parts = e.relative_path.split("/")
        return parts[0], parts[2] if len(parts) > 3 else None

    return [e for e in agg.board.refused if (task is None or where(e)[0] == task) and (tier is None or where(e)[1] == tier)]


def refused_table(entries: list) -> Table:
    """The refused records with their reasons, for publishing (the site, ``leaderboards/README.md``): no absolute paths."""
    table = Table("Refused records", ["record", "origin", "reason"], prose=("reason",))
    for e in entries:
        table.rows.append(Row([Cell(e.relative_path, e.relative_path), Cell(e.origin, e.origin), Cell(public_text("; ".join(e.reasons)))]))
    return table


def refused_text(entries: list) -> str:
    """The refused records as a wrapped list (paths and reasons are too long for a table in 80 columns)."""
    lines = [f"Refused records ({len(entries)})"]
    for e in entries:
        lines += [wrap(f"{e.relative_path} ({e.origin})", "  ", "    "), wrap("; ".join(e.reasons), "    ", "    ")]
    return "\n".join(lines)


def board_tables(agg: Aggregates, task: str | None = None, tier: str | None = None, metric: str | None = None,
                 metrics: tuple[str, ...] = TEXT_METRICS, wide: bool = False) -> list[Table]:
    """What ``leaderboard show`` prints: per tier the overall ranks per track, the per-task tables per track, the
    adversarial gaps and the ladder (these three only for the whole board). ``wide``: each task table shows every
    metric its entries carry (:func:`scored_metrics`) and the ladder is one table, whatever their width."""
    tiers = [t for t in agg.tiers if tier is None or t == tier]
    tables: list[Table] = []
    metrics = (metric,) if metric else metrics
    for t in tiers:
        tasks = [x for x in sorted(agg.summary[agg.summary["tier"] == t]["task"].unique()) if task is None or x == task]
        if task is None:
            tables += [overall_table(agg, t, track) for track in sorted(agg.overall[agg.overall["tier"] == t]["supervision"].unique())]
        for x in tasks:
            tables += [task_table(agg, x, t, track, scored_metrics(agg, x, t, track) if wide else metrics) for track in tracks(agg, t, x)]
        if task is None:
            tables += gap_tables(agg, t)
            for m in ((metric,) if metric else ("mig", DCI)):
                if not agg.ladder[(agg.ladder["tier"] == t) & (agg.ladder["metric"] == m)].empty:
                    tables += ladder_tables(agg, t, m, None if wide else WIDTH)
    return tables


def wrap(text: str, first: str = "", rest: str = "") -> str:
    """``text`` wrapped to :data:`WIDTH` columns, its first line indented by ``first`` and the others by ``rest``."""
    return "\n".join(textwrap.wrap(text, WIDTH, initial_indent=first, subsequent_indent=rest))


def legend(tables: list[Table]) -> str:
    """The rank rule, and what each marker that ``tables`` use means, once, at the top of text output."""
    used = {m for t in tables for r in t.rows for c in r.cells for m in c.markers}
    used |= {m for t in tables for h in t.headers for m in MARKERS if f"[{m}" in h or f", {m}" in h}
    return "\n".join([wrap(RANK_RULE), *(wrap(f"[{m}] {help}", rest="    ") for m, help in MARKERS.items() if m in used)])


def render_text(tables: list[Table], fmt_name: str = "simple") -> str:
    """The legend, then each table with its title and (the first time it appears) its note, wrapped to 80 columns."""
    parts, seen = [legend(tables)], set()
    for t in tables:
        note = f"\n{wrap(f'({t.note})')}" if t.note and t.note not in seen else ""
        seen.add(t.note)
        parts.append(f"{wrap(t.title)}\n{t.text(fmt_name)}{note}")
    return "\n\n".join(parts)


def render_markdown(agg: Aggregates) -> str:
    """``leaderboards/README.md``: every tier's tables as GitHub Markdown, and the refused records."""
    lines = [
        "# disbench leaderboard",
        "",
        "Generated by `disbench leaderboard build` from the records in `leaderboards/results/`; do not edit by hand.",
        "Scores are means ± sample standard deviations over the tier's seeds; `n` is seeds recorded / seeds of the tier.",
        f"{RANK_RULE} Tiers are never mixed. The site (`disbench site build`) has plots and pictures.",
        "",
        "Markers: " + "; ".join(f"`[{m}]` {help}" for m, help in MARKERS.items()) + ".",
        "",
    ]
    for t in agg.tiers:
        lines += [f"## Tier: {t}", ""]
        for table in board_tables(agg, tier=t, metrics=MARKDOWN_METRICS):
            lines += [f"### {table.title}", "", table.text("github"), ""]
            if table.note:
                lines += [f"_{table.note}_", ""]
    if not agg.tiers:
        lines += ["No records have been accepted yet.", ""]
    refused = refused_table(agg.board.refused)
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


SUMMARY_SCHEMA = pa.schema([("task", pa.string()), ("tier", pa.string()), ("submission", pa.string()), ("version", pa.string()),
                            ("supervision", pa.string()), ("origin", pa.string()), ("stale", pa.bool_()), ("unverified", pa.bool_()),
                            ("incomplete", pa.bool_()), ("seeds", pa.int64()), ("expected", pa.int64()), ("metric", pa.string()),
                            ("primary", pa.bool_()), ("mean", pa.float64()), ("std", pa.float64()), ("n", pa.int64()), ("rank", pa.int64())])


def summary_frame(agg: Aggregates) -> pd.DataFrame:
    """The machine-readable summary: one row per task × tier × submission × origin × stale × metric, with ranks."""
    ranks = agg.ranks[["task", "tier", "submission", "rank"]]
    out = agg.summary.merge(ranks, on=["task", "tier", "submission"], how="left")
    current = (out["origin"] == "official") & (~out["stale"].astype(bool)) & (out["metric"] == out["task"].map(primary_metric))
    out.loc[~current, "rank"] = pd.NA
    out["rank"] = out["rank"].astype("Int64")
    out["primary"] = out["metric"] == out["task"].map(primary_metric)
    out = out[SUMMARY_SCHEMA.names].copy()
    out["tier_order"] = out["tier"].map(lambda t: tier_sort_key(t)[0])
    return out.sort_values(["tier_order", "task", "submission", "origin", "stale", "metric"]).drop(columns="tier_order").reset_index(drop=True)


def summary_table(frame: pd.DataFrame) -> pa.Table:
    """A :func:`summary_frame` (or some of its rows) as Arrow, in :data:`SUMMARY_SCHEMA`: the summary's one schema, whoever
    writes it (``leaderboard build``, the site's download, the Hub dataset's ``summary`` config)."""
    return pa.Table.from_pandas(frame, schema=SUMMARY_SCHEMA, preserve_index=False)


def write_summary(agg: Aggregates, out_dir: Path) -> list[Path]:
    """``summary.csv`` and ``summary.parquet`` in ``out_dir``, each written atomically."""
    import io

    import pyarrow.parquet as pq

    frame = summary_frame(agg)
    csv = frame.to_csv(index=False, float_format="%.10g").encode()
    buffer = io.BytesIO()
    pq.write_table(summary_table(frame), buffer)
    return [write_atomic(out_dir / "summary.csv", csv), write_atomic(out_dir / "summary.parquet", buffer.getvalue())]


MAX_NOTE = ("max during training: the highest value of the tier's curve, the metric scored every few hundred steps on its own "
            "samples, as the paper plots it; it shows whether a run was better before it ended (a late collapse). The final "
            "score is a separate evaluation of the last model on other samples, so the maximum can sit below it by sampling "
            "noise. The board ranks by the final score.")


def ladder_comparison_table(agg: Aggregates, tier: str, metric: str) -> Table:
    """Rows: grid spacing 1..8; per method the board's final score and its maximum during training
    (mean ± std over seeds, n) beside the paper's Fig. 9 value, which is a maximum during training."""
    from disbench.leaderboard.aggregate import ladder_tasks
    from disbench.paper import FIG9, PAPER_LABEL

    ladder = agg.ladder[agg.ladder["tier"] == tier]
    subs = sorted(set(ladder[ladder["metric"] == metric]["submission"]) | set(FIG9))
    headers = ["spacing", "task"]
    for s in subs:
        mine = ladder[ladder["submission"] == s]
        name = Cell(s, markers=trust_markers(bool(mine["unverified"].any()), bool(mine["incomplete"].any()))).plain()
        headers += [f"{name} (disbench, final)", f"{name} (disbench, max during training)", f"{PAPER_LABEL.get(s, s)} (paper)"]
    table = Table(f"{metric} against grid spacing ({tier})", headers,
                  note="disbench: mean ± std over seeds (n) of the final model's score and of the maximum of the protocol's curve; "
                       "paper: approximate range of its maxima during training, read off Fig. 9, and its fit where given; "
                       "a shaded cell comes from unverified (amber) or incomplete (grey) records, as its method's header says")
    for lt in ladder_tasks():
        cells = [Cell(str(lt.spacing), lt.spacing), Cell(lt.task, lt.task, task_page(lt.task))]
        for s in subs:
            for key in (metric, max_key(metric)):
                row = ladder[(ladder["metric"] == key) & (ladder["submission"] == s) & (ladder["spacing"] == lt.spacing)]
                if row.empty:
                    cells.append(Cell("–"))
                else:
                    r = row.iloc[0]
                    c = with_n(r["mean"], r["std"], r["n"])
                    cells.append(Cell(c.text, c.value, styles=trust_markers(bool(r["unverified"]), bool(r["incomplete"]))))
            paper = FIG9.get(s, {}).get(metric, {}).get(lt.spacing)
            cells.append(Cell(paper.text, paper.centre) if paper else Cell("–"))
        table.rows.append(Row(cells))
    return table
