"""What the site shows about a task before any training: the perceived-distance verdict and pictures.

``disbench analyze`` takes seconds per synthetic task, so results are cached on disk, keyed by
the task id and a hash of its spec and the analysis settings: a rebuild reuses them, a changed
task recomputes. A stored dataset that is not prepared on this machine gives a fact with
``status = "data not prepared"`` and the command that prepares it, never an exception.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from disbench.error import DataError, DisbenchError
from disbench.leaderboard.aggregate import safe_name
from disbench.leaderboard.paths import public_text
from disbench.leaderboard.tables import write_atomic

SETTINGS = {"num_pairs": 2000, "repeats": 16, "seed": 777, "format": 2}  # format 2: titles wrapped to fit


@dataclass
class TaskFacts:
    """The analysis of one task: ``status`` is ``ok``, ``data not prepared``, ``skipped`` or ``failed``."""

    task: str
    status: str
    detail: str = ""
    verdict: str | None = None
    reason: str = ""
    correlations: dict[str, float | None] = field(default_factory=dict)
    matrices_png: str | None = None
    samples_png: str | None = None

    @property
    def min_correlation(self) -> float | None:
        values = [v for v in self.correlations.values() if v is not None]
        return min(values) if values else None


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "disbench" / "leaderboard"


def _key(task_id: str) -> str:
    import disbench

    blob = json.dumps({"spec": disbench.spec(task_id).to_dict(), "settings": SETTINGS}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def task_facts(task_id: str, cache_dir: Path | None = None) -> TaskFacts:
    """The cached analysis of ``task_id``, computing and caching it on a miss."""
    import disbench

    cache = (cache_dir or default_cache_dir()) / f"{safe_name(task_id)}-{_key(task_id)}"
    stored = cache / "facts.json"
    if stored.is_file():
        data = json.loads(stored.read_text())
        facts = TaskFacts(**data)
        if all(p is None or (cache / p).is_file() for p in (facts.matrices_png, facts.samples_png)):
            return _absolute(facts, cache)
    try:
        task = disbench.make(task_id)
    except DataError as e:
        return TaskFacts(task_id, "data not prepared", _not_prepared(task_id, e))
    except DisbenchError as e:
        return TaskFacts(task_id, "failed", public_text(str(e)))
    from disbench.analysis import analyse
    from disbench.viz.distances import save_matrices_figure
    from disbench.viz.samples import save_samples_figure

    report = analyse(task, num_pairs=SETTINGS["num_pairs"], repeats=SETTINGS["repeats"], seed=SETTINGS["seed"])
    cache.mkdir(parents=True, exist_ok=True)
    tmp_matrices, tmp_samples = cache / ".matrices.tmp.png", cache / ".samples.tmp.png"
    save_matrices_figure(report.traversals, tmp_matrices, title=f"{task_id}: perceived distance along each factor ({task.loss.name})")
    save_samples_figure(task.data, tmp_samples, seed=0, title=f"{task_id}: samples and one traversal per factor")
    os.replace(tmp_matrices, cache / "matrices.png")
    os.replace(tmp_samples, cache / "samples.png")
    facts = TaskFacts(task_id, "ok", verdict=report.verdict, reason=report.reason,
                      correlations={name: c.spearman for name, c in report.correlations.items()},
                      matrices_png="matrices.png", samples_png="samples.png")
    write_atomic(stored, json.dumps(asdict(facts), indent=1).encode())
    return _absolute(facts, cache)


def _not_prepared(task_id: str, error: DataError) -> str:
    """What a reader needs when a stored dataset is missing: the command that prepares it, not the folder
    the build machine looked in."""
    import disbench
    from disbench.data import is_stored, make_dataset

    spec = disbench.spec(task_id)
    if not is_stored(spec.dataset):
        return public_text(str(error))
    data = make_dataset(spec.dataset, **{k: v for k, v in spec.kwargs.items() if k not in ("dataset", "loss")})
    return f"{spec.dataset} was not prepared where this page was built; `{data.prepare_command}` prepares it"


def _absolute(facts: TaskFacts, cache: Path) -> TaskFacts:
    facts.matrices_png = str(cache / facts.matrices_png) if facts.matrices_png else None
    facts.samples_png = str(cache / facts.samples_png) if facts.samples_png else None
    return facts
