"""The board's tables as files a reader downloads from the site (``data/``), each as CSV and parquet, with its schema.

Nothing here makes a table: ``summary`` is what ``disbench leaderboard build`` writes (``summary.csv`` /
``summary.parquet``: the board as shown, every origin, with its trust flags and ranks), and ``scores``,
``records`` and ``curves`` are the Hub dataset's configs of the same name (``disbench publish``; official
records only). The schema a reader sees (column, type, meaning) is read back from the written parquet files,
so it cannot drift from them; every column must have a meaning in :data:`MEANINGS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from disbench.leaderboard import dataset
from disbench.leaderboard.aggregate import Aggregates
from disbench.leaderboard.cells import Cell
from disbench.leaderboard.errors import LeaderboardError
from disbench.leaderboard.tables import Row, Table, write_atomic, write_summary
from disbench.protocol import TIERS

FOLDER = "data"
HUB_CONFIGS = ("scores", "records", "curves")  # the Hub's summary config is summary.csv's official rows, so it is not repeated
WHAT = {
    "summary": ("task × tier × submission × origin × stale × metric",
                "The board as the site shows it: mean, std and n over seeds, the trust flags and the rank; the same file as "
                "disbench leaderboard build's summary.csv and summary.parquet."),
    "scores": ("record × metric", "Every final score of every official record (and each metric's maximum during training), with "
                                  "its trust state: the Hub dataset's scores config."),
    "records": ("record", "Every official record: hyperparameters, task and protocol (as JSON strings), how it ran, and whether it is "
                          "signed: the Hub dataset's records config."),
    "curves": ("record × curve metric × step", "The protocol's curve of every official record: each metric scored during training: the "
                                               "Hub dataset's curves config."),
}

_RECORD = "the record's id, <task>/<submission>/<tier>/seed-<n> (its JSON is results/<record>.json in the Hub dataset)"
MEANINGS: dict[str, str] = {
    "record": _RECORD,
    "task": "task id (e.g. xysquares-mse-v0): a dataset and a reconstruction loss",
    "tier": f"protocol tier ({', '.join(TIERS)}): training budget and seeds; tiers are never mixed",
    "submission": "submission name (its folder under submissions/)",
    "seed": "the run's seed (one of the tier's seeds)",
    "version": "the submission's version in its submission.toml (in summary: every version in the group, comma-separated)",
    "supervision": "supervision track (unsupervised, weak-pairs, ...); ranks are within a track",
    "origin": "official (leaderboards/results or a pulled Hub snapshot) or local (a --results folder, never ranked)",
    "stale": "the submission's files changed since the run (content hash differs): shown, not ranked",
    "unverified": "at least one record of the group is not signed by the official runner (or not checkable here)",
    "verified": "signed by the official runner and checked against its public key",
    "incomplete": "the group has fewer seeds than the tier names",
    "seeds": "records in the group",
    "expected": "seeds the tier names (null for a tier not registered in this disbench)",
    "metric": "metric name (mig, dci.disentanglement, ...); <metric>@max is its maximum during training",
    "primary": "whether this metric ranks the task (TaskSpec.primary_metric, MIG unless the task names another)",
    "mean": "mean over the group's seeds",
    "std": "sample standard deviation over seeds (ddof = 1); null for one seed",
    "n": "seeds with a value of this metric",
    "rank": "1 = best within task, tier and track, by the rank rule; null when unranked (stale, local, not the primary metric)",
    "value": "the metric's value",
    "path": "the record's JSON in the Hub dataset",
    "hyperparameters": "JSON object: what build(task_info, **hyperparameters) was called with",
    "task_spec": "JSON object: the task's full definition at the time of the run",
    "protocol_hash": "sha256 of the tier's protocol; a record made under another hash is refused",
    "protocol_config": "JSON object: the tier's protocol (steps, batch size, optimiser, seeds, metric suite, ...)",
    "content_hash": "sha256 of the submission folder's files at the time of the run",
    "created": "when the record was written (end of the run), UTC",
    "steps": "training steps taken",
    "wall_time_s": "training time in seconds (without scoring during training and the final evaluation)",
    "device": "the device it trained on",
    "num_parameters": "trainable parameters of the model",
    "final_loss": "training loss of the last logged window (null if none was logged)",
    "checkpoint_sha256": "sha256 of the final checkpoint (null if none was kept)",
    "code_sha256": "sha256 of the harness code that ran it (null for records made before runs recorded it)",
    "environment": "JSON object: software versions and platform of the run",
    "sandboxed": "the submission ran behind every wall of the sandbox (namespaces, separate user, cgroup)",
    "signed": "the record carries a runner signature (verified says whether it checks out)",
    "traversals": "the latent-traversal picture in the Hub dataset (null if none)",
    "curves": "the run's training log (curves.jsonl) in the Hub dataset (null if none)",
}
OVERRIDES = {("curves", "metric"): "metric scored during training", ("curves", "value"): "the metric's value at that step",
             ("curves", "step"): "training step at which it was scored"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    meaning: str


@dataclass
class Download:
    """One table of the site's ``data/`` folder: its files by format, rows, and schema."""

    name: str
    one_row_per: str
    description: str
    rows: int
    files: dict[str, str] = field(default_factory=dict)  # "csv" / "parquet" -> site-relative path
    sizes: dict[str, int] = field(default_factory=dict)
    columns: list[Column] = field(default_factory=list)

    @property
    def schema(self) -> Table:
        """The schema as the data page shows it: column, type, meaning."""
        rows = [Row([Cell(c.name, c.name), Cell(c.type, c.type), Cell(c.meaning)]) for c in self.columns]
        return Table(f"{self.name}: one row per {self.one_row_per}", ["column", "type", "meaning"], rows, prose=("meaning",))


def type_name(kind: pa.DataType) -> str:
    """A column's type as the schema shows it: ``string``, ``int64``, ``float64``, ``bool``, ``timestamp (UTC)``
    (Arrow's string and large_string are one type to a reader)."""
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "string"
    if pa.types.is_floating(kind):
        return f"float{kind.bit_width}"
    if pa.types.is_timestamp(kind):
        return f"timestamp ({kind.tz})" if kind.tz else "timestamp"
    return str(kind)


def _schema(name: str, parquet: Path) -> list[Column]:
    columns = []
    for f in pq.read_schema(parquet):
        meaning = OVERRIDES.get((name, f.name)) or MEANINGS.get(f.name)
        if meaning is None:
            raise LeaderboardError(f"Column {f.name!r} of the {name} table has no meaning in disbench.leaderboard.downloads.MEANINGS; add one.")
        columns.append(Column(f.name, type_name(f.type), meaning))
    return columns


def _csv(table: pa.Table) -> bytes:
    """A table as CSV the way ``leaderboard build`` writes summary.csv (pandas, 10 significant digits)."""
    return table.to_pandas().to_csv(index=False, float_format="%.10g").encode()


def write_downloads(agg: Aggregates, site: Path) -> list[Download]:
    """Write ``data/<table>.csv`` and ``.parquet`` for each table into the site folder ``site``; returns them with their schemas."""
    folder = site / FOLDER
    written = {"summary": write_summary(agg, folder)}
    hub = dataset.tables(agg)
    for name in HUB_CONFIGS:
        written[name] = [write_atomic(folder / f"{name}.csv", _csv(hub[name])),
                         write_atomic(folder / f"{name}.parquet", dataset.parquet_bytes(hub[name]))]
    out = []
    for name, paths in written.items():
        parquet = next(p for p in paths if p.suffix == ".parquet")
        one_row_per, description = WHAT[name]
        out.append(Download(name, one_row_per, description, pq.read_metadata(parquet).num_rows,
                            {p.suffix.lstrip("."): p.relative_to(site).as_posix() for p in paths},
                            {p.suffix.lstrip("."): p.stat().st_size for p in paths}, _schema(name, parquet)))
    return out
