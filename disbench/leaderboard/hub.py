"""The Hugging Face Hub: publish the board as a dataset repo, pull its records back, upload the site to a Space.

What gets uploaded is decided by pure functions that return a :class:`PlannedFile` list (path
in the repo, exact bytes, size, sha256): the records with their pictures and curves, the
dataset's parquet tables and its card (``disbench.leaderboard.dataset``). ``commit`` sends a
plan as one ``create_commit`` through a client passed in, adding every planned file and deleting
every file of the repo that the plan no longer has, so the repo is exactly the plan; tests check
the paths, bytes and deletions offline, ``--dry-run`` prints the plan and ``--out`` writes it to a
folder that ``datasets.load_dataset`` reads. Access is checked before anything is built:
``HF_HUB_OFFLINE=1`` or no token stops at once with what to set. A token is never printed.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from disbench.leaderboard.aggregate import Aggregates
from disbench.leaderboard.errors import HubError
from disbench.leaderboard.store import Board

REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
TRUE = {"1", "true", "yes", "on"}
KEPT = frozenset({".gitattributes", "README.md"})


@dataclass(frozen=True)
class PlannedFile:
    """One file of a commit: where it goes in the repo and the exact bytes."""

    path_in_repo: str
    data: bytes
    source: str

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


class HubClient(Protocol):
    """The part of ``huggingface_hub.HfApi`` this module uses."""

    def create_repo(self, repo_id: str, **kwargs: Any) -> Any: ...

    def repo_info(self, repo_id: str, **kwargs: Any) -> Any: ...

    def list_repo_files(self, repo_id: str, **kwargs: Any) -> list[str]: ...

    def create_commit(self, repo_id: str, operations: Iterable[Any], **kwargs: Any) -> Any: ...


def check_repo_id(repo_id: str) -> str:
    if not REPO_ID.match(repo_id or ""):
        raise HubError(f"{repo_id!r} is not a Hub repo id; use ORG/NAME, e.g. disbench/leaderboard-results.")
    return repo_id


def hub_offline(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return env.get("HF_HUB_OFFLINE", "").strip().lower() in TRUE


def require_token(env: Mapping[str, str] | None = None) -> str:
    """The Hub token, or a HubError naming what to set; checks HF_HUB_OFFLINE first."""
    env = os.environ if env is None else env
    if hub_offline(env):
        raise HubError("HF_HUB_OFFLINE=1 is set, so nothing can be sent to the Hub; unset HF_HUB_OFFLINE, or add --dry-run to see the plan.")
    token = env.get("HF_TOKEN")
    if not token:
        try:
            from huggingface_hub import get_token

            token = get_token() if env is os.environ else None
        except ImportError:
            token = None
    if not token:
        raise HubError("No Hugging Face token: set HF_TOKEN to a token with write access to the repo (or run `hf auth login`); "
                       "--dry-run shows the plan without one.")
    return token


def _read(path: Path) -> bytes:
    return Path(path).read_bytes()


def records_plan(board: Board, runs_dir: Path | None = None) -> list[PlannedFile]:
    """Every accepted official record with its pictures and curves (and checkpoint, from ``runs_dir``).

    Layout: ``results/<task>/<submission>/<tier>/seed-<n>.json`` (+ ``.traversals.png``,
    ``.curves.jsonl``) and ``checkpoints/<task>/<submission>/<tier>/seed-<n>.pt``.
    Local records are never published; refused ones neither.
    """
    from disbench.leaderboard.dataset import published, record_stem

    plan: list[PlannedFile] = []
    for e in published(board):
        r, stem = e.record, record_stem(e)
        plan.append(PlannedFile(f"results/{stem}.json", _read(e.path), str(e.path)))
        for suffix in (".traversals.png", ".curves.jsonl"):
            side = e.sidecar(suffix)
            if side:
                plan.append(PlannedFile(f"results/{stem}{suffix}", _read(side), str(side)))
        if runs_dir is not None:
            ckpt = Path(runs_dir) / r.task.id / r.submission.name / r.protocol.name / f"seed-{r.seed}" / "checkpoint.pt"
            if ckpt.is_file():
                data = _read(ckpt)
                expected = getattr(r, "checkpoint_sha256", None)
                if expected and hashlib.sha256(data).hexdigest() != expected:
                    raise HubError(f"{ckpt} does not match the record's checkpoint_sha256 ({expected[:12]}); publish the checkpoint that made {e.path}, or omit --runs.")
                plan.append(PlannedFile(f"checkpoints/{stem}.pt", data, str(ckpt)))
    return sorted(plan, key=lambda f: f.path_in_repo)


def dataset_plan(agg: Aggregates, repo_id: str, runs_dir: Path | None = None) -> list[PlannedFile]:
    """The whole dataset repo: the records (``records_plan``), one parquet file per config and the card."""
    from disbench.leaderboard import dataset
    from disbench.leaderboard.tables import render_markdown

    if not dataset.published(agg.board):
        raise HubError("Nothing to publish: no accepted official records (see `disbench leaderboard show`).")
    tables = dataset.tables(agg)
    files = [PlannedFile(dataset.data_path(name), dataset.parquet_bytes(table), f"disbench publish ({name})") for name, table in tables.items()]
    card = dataset.card(agg, repo_id, {name: table.num_rows for name, table in tables.items()}, render_markdown(agg))
    files.append(PlannedFile("README.md", card.encode(), "disbench publish (dataset card)"))
    return sorted(records_plan(agg.board, runs_dir) + files, key=lambda f: f.path_in_repo)


def write_plan(plan: list[PlannedFile], out: Path) -> Path:
    """Write ``plan`` into the new or empty folder ``out``, as the repo would hold it (through a
    temporary sibling folder, renamed into place: never half a dataset)."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise HubError(f"{out} is not a new or empty folder; choose another --out, or delete it first.")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)  # left by an earlier process of this pid that was killed
    staging.mkdir()
    try:
        for f in plan:
            target = staging / f.path_in_repo
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f.data)
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def site_plan(site_dir: Path) -> list[PlannedFile]:
    """Every file of a built site, at the same relative path (a static Space serves ``index.html``)."""
    from disbench.leaderboard.site import MARKER_FILE

    site_dir = Path(site_dir)
    if not (site_dir / MARKER_FILE).is_file():
        raise HubError(f"{site_dir} is not a built site; run `disbench site build --out {site_dir}` first.")
    files = sorted(p for p in site_dir.rglob("*") if p.is_file() and p.name != MARKER_FILE)
    return [PlannedFile(p.relative_to(site_dir).as_posix(), _read(p), str(p)) for p in files]


def operations(plan: list[PlannedFile], gone: Iterable[str] = ()) -> list[Any]:
    """``CommitOperationAdd`` for each planned file, carrying its exact bytes, then ``CommitOperationDelete`` for each path in ``gone``."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    adds = [CommitOperationAdd(path_in_repo=f.path_in_repo, path_or_fileobj=f.data) for f in plan]
    return adds + [CommitOperationDelete(path_in_repo=path) for path in gone]


def deletions(existing: Iterable[str], plan: list[PlannedFile]) -> list[str]:
    """Files of the repo that the plan no longer has (records that left the board, old layouts).

    Kept: ``.gitattributes`` and ``README.md``, which every Hub repo keeps (a Space's README is its
    configuration), and the checkpoint of every record still planned, so a publish without
    ``--runs`` (the CI job has no checkpoints) never removes the checkpoints published with it.
    """
    planned = {f.path_in_repo for f in plan}

    def kept(path: str) -> bool:
        if path in planned or path in KEPT:
            return True
        stem = path.removeprefix("checkpoints/").removesuffix(".pt")
        return path.startswith("checkpoints/") and f"results/{stem}.json" in planned

    return sorted(p for p in existing if not kept(p))


def render_plan(plan: list[PlannedFile], repo_id: str, repo_type: str) -> str:
    from tabulate import tabulate

    rows = [(f.path_in_repo, f"{f.size:,}", f.sha256[:12]) for f in plan]
    total = sum(f.size for f in plan)
    return (f"Plan: one commit of {len(plan)} files ({total:,} bytes) to the {repo_type} repo {repo_id}\n"
            + tabulate(rows, headers=["path in repo", "bytes", "sha256"], tablefmt="simple", disable_numparse=True))


@dataclass(frozen=True)
class Committed:
    info: Any  # the client's CommitInfo
    deleted: list[str]


@contextmanager
def reaching_the_hub(action: str, repo_id: str) -> Iterator[None]:
    """The Hub client's failures (no connection, no such repo, refused) as one :class:`HubError` that names the repo
    and what to check, instead of the client's multi-line message or traceback. Local errors (a full disk) pass."""
    from huggingface_hub.utils import HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError

    unreachable = (f"Could not reach the Hugging Face Hub to {action} {repo_id} ({{}}); check the internet connection, "
                   "or HF_ENDPOINT if you use a mirror.")
    try:
        yield
    except LocalEntryNotFoundError as e:  # before HfHubHTTPError: in huggingface_hub 0.x it is one
        raise HubError(unreachable.format(_first_line(e))) from None
    except RepositoryNotFoundError:
        raise HubError(f"The Hub has no repo {repo_id} that can be read here: check the name (ORG/NAME), "
                       "or set HF_TOKEN to a token that can read it if it is private.") from None
    except HfHubHTTPError as e:
        status = getattr(getattr(e, "response", None), "status_code", None)
        reason = getattr(e, "server_message", None) or _first_line(e)
        raise HubError(f"The Hub refused to {action} {repo_id} (HTTP {status or '?'}: {reason}); {_hint(action, status)}") from None
    except Exception as e:
        if not _from_the_http_library(e):
            raise
        raise HubError(unreachable.format(_first_line(e))) from None


def _hint(action: str, status: int | None) -> str:
    """What to do about an HTTP refusal, by its status and whether the token had to read or write."""
    if status is not None and (status >= 500 or status == 429):
        return "the Hub is busy or failing: try again later."
    if status in (409, 412):
        return "the repo changed while this ran (its head moved): run the command again."
    access = "read" if action == "download" else "write to"
    return f"check that HF_TOKEN can {access} it."


def _from_the_http_library(e: BaseException) -> bool:
    """A transport error of the HTTP library under huggingface_hub (httpx or requests, by its version)."""
    return any(c.__module__.split(".")[0] in ("httpx", "httpx2", "requests", "urllib3") for c in type(e).__mro__)


def _first_line(e: BaseException) -> str:
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return f"{type(e).__name__}: {lines[0] if lines else 'no message'}"


def commit(client: HubClient, repo_id: str, plan: list[PlannedFile], repo_type: str, message: str, **create: Any) -> Committed:
    """Create the repo if needed, then one commit on its current head that adds the whole plan and
    deletes what the plan no longer has (``parent_commit`` makes the Hub refuse it if the head moved)."""
    if not plan:
        raise HubError(f"Nothing to publish to {repo_id}: the plan is empty.")
    with reaching_the_hub("publish to", repo_id):
        client.create_repo(repo_id, repo_type=repo_type, exist_ok=True, **create)
        head = client.repo_info(repo_id, repo_type=repo_type).sha
        gone = deletions(client.list_repo_files(repo_id, repo_type=repo_type, revision=head), plan)
        info = client.create_commit(repo_id, operations(plan, gone), commit_message=message, repo_type=repo_type, parent_commit=head)
    return Committed(info, gone)


def default_client(token: str) -> HubClient:
    from huggingface_hub import HfApi

    return HfApi(token=token)


def pull(repo_id: str, local_dir: Path, download: Callable[..., str] | None = None, env: Mapping[str, str] | None = None) -> Path:
    """Download a results dataset repo's ``results/`` into ``local_dir``; returns the results folder."""
    check_repo_id(repo_id)
    if hub_offline(env):
        raise HubError("HF_HUB_OFFLINE=1 is set, so nothing can be downloaded; unset HF_HUB_OFFLINE, or build from leaderboards/results.")
    if download is None:
        from huggingface_hub import snapshot_download as download
    with reaching_the_hub("download", repo_id):
        path = Path(download(repo_id, repo_type="dataset", local_dir=str(local_dir), allow_patterns=["results/**", "README.md"]))
    results = path / "results"
    if not results.is_dir():
        raise HubError(f"{repo_id} has no results/ folder; is it a disbench results dataset (made by `disbench publish`)?")
    return results
