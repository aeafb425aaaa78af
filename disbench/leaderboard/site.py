"""The static leaderboard site: jinja2 templates from ``site/templates``, assets from ``site/static``.

Pages: the index (overall ranks, gaps, tasks), the method × task matrix (``matrix``), one page per task and per
submission (every seed's value, parameters and run dates: ``entries``), the overlap ladder, the results to
download with their schema (``downloads``), how to cite, and the record checks; every footer names the build
(``build_info``: version, commit, SOURCE_DATE_EPOCH-aware date, repository).

Everything the pages need is written into the output folder (CSS, JS, PNGs), with relative
links, so the site works from ``file://``, a local server or a Hugging Face static Space, with
no network. The build goes to a temporary sibling folder that replaces the output only when
complete; an existing output folder is replaced only if an earlier build made it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from disbench.error import DisbenchError
from disbench.leaderboard import plots
from disbench.leaderboard.aggregate import DCI, MARKERS, RANK_RULE, RANK_WHY, Aggregates, primary_metric, safe_name, tier_sort_key
from disbench.leaderboard.build_info import PAPER_BIBTEX, PAPER_TEXT, build_info
from disbench.leaderboard.downloads import write_downloads
from disbench.leaderboard.entries import EntryRuns, GroupKey, entry_runs
from disbench.leaderboard.errors import LeaderboardError
from disbench.leaderboard.facts import TaskFacts, task_facts
from disbench.leaderboard.matrix import matrices
from disbench.leaderboard.paths import public_text, shown_path
from disbench.leaderboard.reproduction_page import reproduction_sections
from disbench.leaderboard.store import Entry
from disbench.leaderboard.submission_page import curve_plots, hyperparameters_table, runs_table, scores_table
from disbench.leaderboard.tables import (
    MAX_NOTE,
    Cell,
    Row,
    Table,
    gap_tables,
    ladder_comparison_table,
    overall_table,
    refused_table,
    submission_page,
    task_page,
    task_table,
    tracks,
)

MARKER_FILE = ".disbench-site"
SITE_DIR = Path(__file__).resolve().parents[2] / "site"


@dataclass
class SiteOptions:
    """What to build: ``analyse`` limits the tasks whose perceived-distance analysis runs (None = all); its ids are
    resolved as ``disbench.make`` resolves them (``xysquares-mse`` is ``xysquares-mse-v0``), and an unknown one is the
    registry's error, with its "did you mean"."""

    submissions_dir: Path | None = Path("submissions")
    runs_dir: Path | None = None
    analyse: Iterable[str] | None = None
    cache_dir: Path | None = None
    templates_dir: Path = SITE_DIR
    hub_dataset: str | None = None  # ORG/NAME of the Hub dataset the board is published to, for the data page
    reproduction: Sequence[Path] | None = None  # the reproduction's record folders (summary.FOLDERS in a clone); None: the page says it was left out

    def __post_init__(self) -> None:
        _templates_folder(self.templates_dir)  # before any folder is made or record read
        if self.analyse is not None:
            self.analyse = tuple(dict.fromkeys(_task_id(t, "--analyse") for t in self.analyse))


def _task_id(task: str, option: str) -> str:
    """The registered id of ``task`` (latest version when none is given); the registry's error, naming ``option``, if there is none."""
    import disbench

    try:
        return disbench.spec(task).id
    except DisbenchError as e:
        raise type(e)(f"{option} {task}: {e}") from None


@dataclass
class _Build:
    out: Path
    files: list[str] = field(default_factory=list)

    def copy(self, src: Path, rel: str) -> str:
        dst = self.out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        self.files.append(rel)
        return rel


def _templates_folder(templates_dir: Path) -> Path:
    if not (templates_dir / "templates").is_dir():
        raise LeaderboardError(f"No site templates in {templates_dir}/templates; run from a disbench clone (pip install -e .) or pass --templates DIR.")
    return templates_dir / "templates"


def _environment(templates_dir: Path):
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(_templates_folder(templates_dir))),
                             autoescape=jinja2.select_autoescape(["html"]), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.globals.update(MARKER_HELP=MARKERS, RANK_RULE=RANK_RULE)
    env.filters.update(public=public_text, shown_path=shown_path, breakable=_breakable)
    return env


def _breakable(text: str):
    """A column header that may break after its dots and underscores (``factor_vae.eval_accuracy``), so a table of
    long metric names still fits a desktop window."""
    from markupsafe import Markup, escape

    return Markup(str(escape(text)).replace(".", ".<wbr>").replace("_", "_<wbr>"))


def _all_tasks(agg: Aggregates) -> list[str]:
    import disbench

    ids = {tid for tid, s in disbench.registry.items() if not s.deprecated} | set(agg.tasks)
    return sorted(ids)


def _spec_info(task: str) -> dict[str, Any]:
    import disbench

    try:
        s = disbench.spec(task)
    except DisbenchError:
        return {"id": task, "description": "not registered in this disbench", "dataset": "?", "loss": "?", "adversarial": False, "twin": None, "twin_page": None, "kwargs": {}}
    return {"id": s.id, "description": s.description, "dataset": s.dataset, "loss": s.loss, "adversarial": s.adversarial,
            "twin": s.twin, "twin_page": task_page(s.twin) if s.twin else None, "kwargs": {k: v for k, v in s.kwargs.items() if k not in ("dataset", "loss")}}


def _facts(tasks: list[str], options: SiteOptions) -> dict[str, TaskFacts]:
    wanted = None if options.analyse is None else set(options.analyse)
    out = {}
    for t in tasks:
        if wanted is not None and t not in wanted:
            out[t] = TaskFacts(t, "skipped", "not analysed in this build (see `disbench analyze`)")
        else:
            out[t] = task_facts(t, options.cache_dir)
    return out


def _sidecars(entry: Entry, options: SiteOptions) -> dict[str, Path]:
    """Traversal picture and training curve of a record: next to it, or in the runs folder."""
    r = entry.record
    found = {}
    run = options.runs_dir / r.task.id / r.submission.name / r.protocol.name / f"seed-{r.seed}" if options.runs_dir else None
    for kind, suffix, run_name in (("traversals", ".traversals.png", "traversals.png"), ("curves", ".curves.jsonl", "curves.jsonl")):
        path = entry.sidecar(suffix)
        if path is None and run is not None and (run / run_name).is_file():
            path = run / run_name
        if path is not None:
            found[kind] = path
    return found


def _traversals(agg: Aggregates, task: str, tier: str, build: _Build, options: SiteOptions) -> list[dict[str, Any]]:
    """Each record's latent-traversal picture, copied into the site, with its submission, seed and markers."""
    found = []
    for e in agg.board.accepted:
        r = e.record
        if r.task.id == task and r.protocol.name == tier and (pic := _sidecars(e, options).get("traversals")):
            rel = build.copy(pic, f"img/traversals/{safe_name(task)}/{safe_name(r.submission.name)}/{e.origin}/{tier}/seed-{r.seed}.png")
            found.append({"submission": r.submission.name, "seed": r.seed, "img": rel, "markers": e.markers, "link": submission_page(r.submission.name)})
    return sorted(found, key=lambda x: (x["submission"], x["seed"]))


def _correlation_table(f: TaskFacts) -> Table:
    table = Table("Spearman ρ of perceived vs ground-truth distance, per factor", ["factor", "ρ"],
                  note="ρ near 1: the loss orders the factor's values as the ground truth does; constant: the loss sees every "
                       "pair of values as equally far apart")
    for name, rho in f.correlations.items():
        table.rows.append(Row([Cell(name, name), Cell("constant" if rho is None else f"{rho:.3f}", rho)]))
    return table


def _task_pages(agg: Aggregates, tasks: list[str], facts: dict[str, TaskFacts], runs: dict[GroupKey, EntryRuns], build: _Build,
                options: SiteOptions) -> list[dict[str, Any]]:
    pages = []
    for t in tasks:
        f = facts[t]
        slug = safe_name(t)
        pictures = {}
        for key in ("matrices_png", "samples_png"):
            src = getattr(f, key)
            if src and Path(src).is_file():
                pictures[key] = build.copy(Path(src), f"img/tasks/{slug}/{key.removesuffix('_png')}.png")
        tiers = []
        for tier in sorted(agg.summary[agg.summary["task"] == t]["tier"].unique(), key=tier_sort_key):
            dist = plots.score_distribution(agg, t, tier, list(dict.fromkeys([primary_metric(t), DCI])), build.out / f"img/tasks/{slug}/scores-{tier}.png")
            if dist:
                build.files.append(dist.relative_to(build.out).as_posix())
            tiers.append({"tier": tier, "tables": [task_table(agg, t, tier, track, runs=runs) for track in tracks(agg, tier, t)],
                          "distribution": dist.relative_to(build.out).as_posix() if dist else None,
                          "traversals": _traversals(agg, t, tier, build, options)})
        pages.append({"path": task_page(t), "spec": _spec_info(t), "facts": f, "correlations": _correlation_table(f), "pictures": pictures,
                      "tiers": tiers, "primary": primary_metric(t)})
    return pages


def _submission_meta(name: str, options: SiteOptions) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "folder": None, "error": None, "config": None, "content_hash": None}
    if options.submissions_dir is None:
        return meta
    folder = options.submissions_dir / name
    if not folder.is_dir():
        return meta
    from disbench.harness.submission import Submission

    meta["folder"] = shown_path(folder)
    try:
        sub = Submission(folder)
    except DisbenchError as e:
        meta["error"] = public_text(str(e))
        return meta
    c = sub.config
    meta["config"] = {"version": c.version, "authors": c.authors, "description": c.description, "licence": c.licence,
                      "supervision": c.supervision, "paper": str(c.paper) if c.paper else None, "code": str(c.code) if c.code else None}
    meta["content_hash"] = sub.content_hash()
    return meta


def _submission_pages(agg: Aggregates, runs: dict[GroupKey, EntryRuns], build: _Build, options: SiteOptions) -> list[dict[str, Any]]:
    names = sorted({e.record.submission.name for e in agg.board.accepted})
    pages = []
    for name in names:
        entries = [e for e in agg.board.accepted if e.record.submission.name == name]
        curves = curve_plots(entries, name, build.out / f"img/submissions/{safe_name(name)}", lambda e: _sidecars(e, options).get("curves"))
        for c in curves:
            c["img"] = c.pop("path").relative_to(build.out).as_posix()
            build.files.append(c["img"])
        pages.append({"path": submission_page(name), "name": name, "meta": _submission_meta(name, options), "table": scores_table(agg, name, runs),
                      "runs": runs_table(entries), "hyperparameters": hyperparameters_table(entries), "curves": curves,
                      "versions": sorted({e.record.submission.version for e in entries}),
                      "supervision": sorted({e.record.submission.supervision for e in entries})})
    return pages


def _reproduction(build: _Build, options: SiteOptions) -> list[dict[str, Any]] | None:
    """The reproduction page's grids, their figures added to the build; None when the build leaves the reproduction out."""
    if options.reproduction is None:
        return None
    sections = reproduction_sections(options.reproduction, build.out / "img" / "reproduction")
    for page in sections:
        if page.get("img"):
            page["img"] = page["img"].relative_to(build.out).as_posix()
            build.files.append(page["img"])
    return sections


def _pending(agg: Aggregates, options: SiteOptions) -> Table:
    table = Table("Pending submissions", ["submission", "version", "supervision", "description"], prose=("description",))
    if options.submissions_dir is None or not options.submissions_dir.is_dir():
        return table
    have = {e.record.submission.name for e in agg.board.accepted}
    for folder in sorted(p for p in options.submissions_dir.iterdir() if p.is_dir() and (p / "submission.toml").is_file()):
        if folder.name not in have:
            meta = _submission_meta(folder.name, options)
            c = meta["config"]
            cells = [Cell(c["version"]), Cell(c["supervision"]), Cell(c["description"])] if c else [Cell("–"), Cell("–"), Cell(f"does not load: {meta['error']}")]
            table.rows.append(Row([Cell(folder.name, folder.name), *cells], folder.name))
    return table


def _marked_table(entries: list[Entry]) -> Table:
    table = Table("Shown with a marker", ["record", "markers", "reasons"], prose=("reasons",))
    for e in entries:
        table.rows.append(Row([Cell(e.relative_path, e.relative_path), Cell("", ", ".join(e.markers), markers=e.markers),
                               Cell(public_text("; ".join(e.reasons)))], markers=e.markers))
    return table


def _protocol_groups() -> list[dict[str, Any]]:
    import disbench

    groups: dict[str, dict[str, Any]] = {}
    for tid, s in sorted(disbench.registry.items()):
        if s.deprecated:
            continue
        key = json.dumps({k: p.to_dict() for k, p in s.protocols.items()}, sort_keys=True)
        if key not in groups:
            rows = [Row([Cell(p.name), Cell(f"{p.steps:,}", p.steps), Cell(str(p.batch_size), p.batch_size), Cell(str(p.latent_dim), p.latent_dim),
                         Cell(p.metric_suite), Cell(" ".join(map(str, p.seeds))), Cell(f"{p.optimizer}, lr {p.lr:g}"), Cell(p.hash()[:12])])
                    for p in sorted(s.protocols.values(), key=lambda p: tier_sort_key(p.name))]
            groups[key] = {"table": Table("tiers", ["tier", "steps", "batch", "max latent", "metric suite", "seeds", "optimiser", "hash"], rows), "tasks": []}
        groups[key]["tasks"].append({"id": tid, "page": task_page(tid)})
    return list(groups.values())


def _task_list(agg: Aggregates, tasks: list[str], facts: dict[str, TaskFacts]) -> Table:
    runs = agg.records.drop_duplicates(["task", "tier", "submission", "origin", "seed"])
    counts, verified = runs.groupby("task").size(), runs[~runs["unverified"].astype(bool)].groupby("task").size()
    table = Table("Every registered task: how its loss sees the data before training, and its records",
                  ["task", "dataset", "loss", "adversarial", "verdict", "min. Spearman ρ", "records (verified)"],
                  note="verdict and ρ: how the task's loss perceives its data before any training (`disbench analyze`); "
                       "records: accepted runs, in brackets those signed by the official runner")
    for t in tasks:
        info, f = _spec_info(t), facts[t]
        verdict = f.verdict if f.status == "ok" else f.status
        rho = f.min_correlation
        n, v = int(counts.get(t, 0)), int(verified.get(t, 0))
        table.rows.append(Row([Cell(t, t, task_page(t)), Cell(str(info["dataset"])), Cell(str(info["loss"])), Cell("yes" if info["adversarial"] else "no"),
                               Cell(verdict or "–", verdict), Cell(("constant" if f.status == "ok" else "–") if rho is None else f"{rho:.3f}", rho),
                               Cell(f"{n} ({v})", n)]))
    return table


def build_site(agg: Aggregates, out: Path, options: SiteOptions | None = None) -> list[str]:
    """Render every page into ``out`` (atomically replacing an earlier build); returns the files written."""
    options = options or SiteOptions()
    out = Path(out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER_FILE).is_file())):
        raise LeaderboardError(f"{out} exists and was not made by `disbench site build`; choose an empty or new folder for the site.")
    env = _environment(options.templates_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        build = _Build(tmp)
        for src in sorted((options.templates_dir / "static").glob("*")):
            build.copy(src, f"static/{src.name}")
        tasks = _all_tasks(agg)
        facts = _facts(tasks, options)
        runs = entry_runs(agg.board)
        task_pages = _task_pages(agg, tasks, facts, runs, build, options)
        sub_pages = _submission_pages(agg, runs, build, options)
        downloads = write_downloads(agg, tmp)
        build.files += [f for d in downloads for f in d.files.values()]
        blocks = matrices(agg, runs)
        ladder = []
        for tier in agg.tiers:
            img = plots.ladder_plot(agg.ladder, tier, tmp / f"img/ladder-{tier}.png")
            if img:
                build.files.append(img.relative_to(tmp).as_posix())
                ladder.append({"tier": tier, "img": img.relative_to(tmp).as_posix(),
                               "tables": [ladder_comparison_table(agg, tier, m) for m in ("mig", DCI)]})
        tiers = [{"tier": t, "overall": [overall_table(agg, t, track) for track in sorted(agg.overall[agg.overall["tier"] == t]["supervision"].unique())],
                  "gaps": gap_tables(agg, t)} for t in agg.tiers]
        common = {"board": agg.board, "sources": agg.board.sources, "n_accepted": len(agg.board.accepted), "n_refused": len(agg.board.refused),
                  "build": build_info(), "summary_files": next(d.files for d in downloads if d.name == "summary")}
        pages: list[tuple[str, str, dict[str, Any]]] = [
            ("index.html", "index.html", {"tiers": tiers, "task_list": _task_list(agg, tasks, facts), "submissions": sub_pages, "rank_why": RANK_WHY}),
            ("matrix.html", "matrix.html", {"blocks": blocks, "families": sorted({c.family for b in blocks for m in b["matrices"] for c in m.columns})}),
            ("data.html", "data.html", {"downloads": downloads, "hub_dataset": options.hub_dataset}),
            ("cite.html", "cite.html", {"paper_bibtex": PAPER_BIBTEX, "paper_text": PAPER_TEXT}),
            ("ladder.html", "ladder.html", {"ladder": ladder, "max_note": MAX_NOTE}),
            ("reproduction.html", "reproduction.html", {"sections": _reproduction(build, options),
                                                        "reproduction_sources": [shown_path(f) for f in options.reproduction or ()]}),
            ("submit.html", "submit.html", {}),
            ("protocols.html", "protocols.html", {"groups": _protocol_groups()}),
            ("pending.html", "pending.html", {"pending": _pending(agg, options)}),
            ("records.html", "records.html", {"refused": refused_table(agg.board.refused), "marked": _marked_table([e for e in agg.board.accepted if e.markers])}),
        ]
        pages += [(p["path"], "task.html", {"page": p}) for p in task_pages]
        pages += [(p["path"], "submission.html", {"page": p}) for p in sub_pages]
        for path, template, context in pages:
            root = "../" * path.count("/")
            html = env.get_template(template).render(root=root, current=path, **common, **context)
            target = tmp / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(html)
            build.files.append(path)
        (tmp / MARKER_FILE).write_text("built by disbench site build\n")
        if out.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, trash / "site")
            os.replace(tmp, out)
            shutil.rmtree(trash)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return sorted(build.files)
