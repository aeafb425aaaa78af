"""The Hub dataset's tables and card: the board as parquet files that ``datasets.load_dataset`` reads.

Every record has other hyperparameter names and metric names, so the records' JSON cannot be one
table. The dataset is *long* instead, with a schema that never depends on what a record holds:

- ``scores``:  one row per record × metric (``mig``, ``dci.disentanglement``, ... and ``mig@max``,
  the maximum during training), with the record's task, tier, submission, seed and trust state;
- ``records``: one row per record; its hyperparameters, task spec, protocol and environment are
  JSON strings, so a new hyperparameter never changes a column;
- ``curves``:  one row per record × curve metric × step (the protocol's curve during training);
- ``summary``: the board's summary (``leaderboard build``'s ``summary.parquet``, the site's download) of the official
  records: one row per task × tier × submission × origin × stale × metric, with mean, std (ddof=1), n, trust flags and rank.

Each config is one parquet file ``data/<config>.parquet`` (split ``train``); ``README.md`` is the
dataset card, whose YAML names the configs, the license and the task category. Only accepted
official records are published; ``verified`` is true for records signed by the official runner
and verified against its public key, false for the rest (shown on the board as *unverified*).
"""

from __future__ import annotations

import io
import json
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from disbench.leaderboard.aggregate import Aggregates, max_key, primary_metric
from disbench.leaderboard.store import Board, Entry
from disbench.leaderboard.tables import SUMMARY_SCHEMA, summary_frame, summary_table
from disbench.protocol import TIERS

KEYS = [("record", pa.string()), ("task", pa.string()), ("tier", pa.string()), ("submission", pa.string()), ("seed", pa.int64())]
TRUST = [("verified", pa.bool_()), ("stale", pa.bool_())]

SCHEMAS: dict[str, pa.Schema] = {
    "scores": pa.schema([*KEYS, ("version", pa.string()), ("supervision", pa.string()), ("metric", pa.string()), ("value", pa.float64()),
                         ("primary", pa.bool_()), *TRUST]),
    "records": pa.schema([*KEYS, ("version", pa.string()), ("supervision", pa.string()), ("path", pa.string()),
                          ("hyperparameters", pa.string()), ("task_spec", pa.string()), ("protocol_hash", pa.string()),
                          ("protocol_config", pa.string()), ("content_hash", pa.string()), ("created", pa.timestamp("us", tz="UTC")),
                          ("steps", pa.int64()), ("wall_time_s", pa.float64()), ("device", pa.string()), ("num_parameters", pa.int64()),
                          ("final_loss", pa.float64()), ("checkpoint_sha256", pa.string()), ("code_sha256", pa.string()),
                          ("environment", pa.string()), ("sandboxed", pa.bool_()), ("signed", pa.bool_()), *TRUST,
                          ("traversals", pa.string()), ("curves", pa.string())]),
    "curves": pa.schema([*KEYS, ("metric", pa.string()), ("step", pa.int64()), ("value", pa.float64()), *TRUST]),
    "summary": SUMMARY_SCHEMA,
}
DEFAULT_CONFIG = "scores"
ROWS = {"scores": "record × metric", "records": "record", "curves": "record × curve metric × step",
        "summary": "task × tier × submission × origin × stale × metric"}
SIZES = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")]


def data_path(config: str) -> str:
    return f"data/{config}.parquet"


def record_stem(entry: Entry) -> str:
    r = entry.record
    return f"{r.task.id}/{r.submission.name}/{r.protocol.name}/seed-{r.seed}"


def published(board: Board) -> list[Entry]:
    """The accepted official records: what the dataset holds (local and refused records never are)."""
    return [e for e in board.accepted if e.origin == "official"]


def verified(entry: Entry) -> bool:
    """Signed by the official runner, and the signature checked here against its public key."""
    return entry.record.signature is not None and "unverified" not in entry.markers


def _keys(entry: Entry) -> dict[str, Any]:
    r = entry.record
    return {"record": record_stem(entry), "task": r.task.id, "tier": r.protocol.name, "submission": r.submission.name, "seed": r.seed,
            "verified": verified(entry), "stale": "stale" in entry.markers}


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def score_rows(entry: Entry) -> list[dict[str, Any]]:
    r, keys = entry.record, _keys(entry)
    keys.update(version=r.submission.version, supervision=r.submission.supervision)
    primary = primary_metric(r.task.id)
    values = sorted(r.metrics.items()) + sorted((max_key(k), v) for k, v in r.max_during_training.items())
    return [{**keys, "metric": k, "value": float(v), "primary": k == primary} for k, v in values]


def record_row(entry: Entry) -> dict[str, Any]:
    r, stem = entry.record, record_stem(entry)
    sidecars = {suffix: f"results/{stem}{suffix}" if entry.sidecar(suffix) else None for suffix in (".traversals.png", ".curves.jsonl")}
    return {**_keys(entry), "version": r.submission.version, "supervision": r.submission.supervision, "path": f"results/{stem}.json",
            "hyperparameters": _json(r.submission.hyperparameters), "task_spec": _json(r.task.spec), "protocol_hash": r.protocol.hash,
            "protocol_config": _json(r.protocol.config), "content_hash": r.submission.content_hash, "created": r.created,
            "steps": r.training.steps, "wall_time_s": r.training.wall_time_s, "device": r.training.device,
            "num_parameters": r.training.num_parameters, "final_loss": r.training.final_loss, "checkpoint_sha256": r.checkpoint_sha256,
            "code_sha256": r.environment.get("code_sha256"), "environment": _json(r.environment),
            "sandboxed": r.isolation is not None and r.isolation.official, "signed": r.signature is not None,
            "traversals": sidecars[".traversals.png"], "curves": sidecars[".curves.jsonl"]}


def curve_rows(entry: Entry) -> list[dict[str, Any]]:
    keys = _keys(entry)
    return [{**keys, "metric": metric, "step": int(step), "value": float(value)}
            for metric, points in sorted(entry.record.curve.items()) for step, value in points]


def tables(agg: Aggregates) -> dict[str, pa.Table]:
    """Every config as an Arrow table with its fixed schema, rows in a stable order; ``summary`` is the board's summary
    (:func:`~disbench.leaderboard.tables.summary_table`) of the published records, the official ones."""
    entries = sorted(published(agg.board), key=record_stem)
    rows = {
        "scores": [row for e in entries for row in score_rows(e)],
        "records": [record_row(e) for e in entries],
        "curves": [row for e in entries for row in curve_rows(e)],
    }
    out = {name: pa.Table.from_pylist(rows[name], schema=SCHEMAS[name]) for name in rows}
    frame = summary_frame(agg)
    out["summary"] = summary_table(frame[frame["origin"] == "official"])
    return {name: out[name] for name in SCHEMAS}


def parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def size_category(rows: int) -> str:
    return next((label for bound, label in SIZES if rows < bound), "1M<n<10M")


def card_metadata(counts: dict[str, int]) -> str:
    """The card's YAML: one config per table (``scores`` the default), license, task category, tags."""
    from huggingface_hub import DatasetCardData

    configs = [{"config_name": name, "data_files": [{"split": "train", "path": data_path(name)}], **({"default": True} if name == DEFAULT_CONFIG else {})}
               for name in SCHEMAS]
    return DatasetCardData(
        license="mit", pretty_name="disbench leaderboard results", task_categories=["image-feature-extraction"],
        size_categories=[size_category(counts[DEFAULT_CONFIG])],
        tags=["disentanglement", "representation-learning", "vae", "benchmark", "leaderboard"], configs=configs,
    ).to_yaml() + "\n"


def card(agg: Aggregates, repo_id: str, counts: dict[str, int], board_markdown: str) -> str:
    """The dataset card: YAML metadata, what each config holds, how to load it, what ``verified`` means, then the
    board's Markdown (``board_markdown``) with its headings one level down."""
    entries = published(agg.board)
    n_verified = sum(map(verified, entries))
    rows = "\n".join(f"| `{name}` | {ROWS[name]} | {counts[name]:,} | `{data_path(name)}` |" for name in SCHEMAS)
    board = "\n".join("#" + line if line.startswith("#") else line for line in board_markdown.splitlines())
    tiers = ", ".join(f"`{t}`" for t in TIERS)
    return f"""---
{card_metadata(counts)}---

# disbench leaderboard results

The official result records of disbench, a benchmark of disentangled representation learning in which a task is a
dataset *and* a reconstruction loss (after Michlo, Klein and James, IJCAI 2023, arXiv:2202.13341). Published by
`disbench publish` from the board's accepted official records: {len(entries)} records, {n_verified} of them verified.

**Trust.** `verified` is true for a record signed by the official runner and checked against the runner's public key
(`leaderboards/runner-key.pub` in the disbench repository). Every other record (unsigned: made before the runner signed, or
elsewhere) has `verified = false` and is shown on the board as *unverified* (in `summary`, `unverified` is true for a group with
any such record). `stale` marks records whose submission code has changed since the run. Records whose signature does not
match, failed or off-protocol runs are never published.

## Configs

| config | one row per | rows | file |
|---|---|---|---|
{rows}

- `scores`: `metric` is a metric of the final model (`mig`, `dci.disentanglement`, ...) or `<metric>@max`, its maximum during
  training (the paper's quantity); `primary` marks the metric the task is ranked on.
- `records`: `hyperparameters`, `task_spec`, `protocol_config` and `environment` are JSON strings (`json.loads`), so every
  record fits one schema; `path` is the record's JSON in this repo, `sandboxed` says its submission ran behind every wall.
- `summary`: the board's summary, the same table as `disbench leaderboard build`'s `summary.parquet` and the site's
  `data/summary.parquet`, for the official records: per group, the mean and sample standard deviation (ddof=1; empty for one
  seed) over its seeds, `n` seeds with the metric, `seeds` of the tier's `expected` (`incomplete` when fewer), the trust flags
  and the rank (1 = best) on the primary metric among current entries. Tiers ({tiers}) are never mixed.

```python
from datasets import load_dataset

scores = load_dataset("{repo_id}", "scores", split="train").to_pandas()
records = load_dataset("{repo_id}", "records", split="train").to_pandas()
```

The files are plain parquet too: `pandas.read_parquet("hf://datasets/{repo_id}/data/scores.parquet")`. The records themselves
are under `results/<task>/<submission>/<tier>/seed-<n>.json` (with traversal pictures and curves beside them);
`disbench leaderboard pull --repo {repo_id}` downloads them and `disbench verify` re-checks one.

{board}
"""
