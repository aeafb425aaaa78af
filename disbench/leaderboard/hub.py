"""The Hugging Face Hub: publish records to a dataset repo, pull them back, upload the site to a Space.

What gets uploaded is decided by pure functions that return a :class:`PlannedFile` list (path
in the repo, local file or bytes, size, sha256); ``operations`` turns a plan into
``CommitOperationAdd`` objects and ``commit`` sends them in one ``create_commit`` through a
client passed in, so tests check the exact paths and bytes offline and ``--dry-run`` prints the
plan. Access is checked before anything is built: ``HF_HUB_OFFLINE=1`` or no token stops at
once with what to set. A token is never printed.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from disbench.leaderboard.errors import HubError
from disbench.leaderboard.store import Board

REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
TRUE = {"1", "true", "yes", "on"}


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


def records_plan(board: Board, runs_dir: Path | None = None, readme: str | None = None) -> list[PlannedFile]:
    """Every accepted record with its pictures and curves (and checkpoint, from ``runs_dir``), as a dataset repo.

    Layout: ``results/<task>/<submission>/<tier>/seed-<n>.json`` (+ ``.traversals.png``,
    ``.curves.jsonl``), ``checkpoints/<task>/<submission>/<tier>/seed-<n>.pt``, and ``README.md``.
    Local records are never published; refused ones neither.
    """
    plan: dict[str, PlannedFile] = {}
    for e in board.accepted:
        if e.origin != "official":
            continue
        r = e.record
        stem = f"{r.task.id}/{r.submission.name}/{r.protocol.name}/seed-{r.seed}"
        plan[f"results/{stem}.json"] = PlannedFile(f"results/{stem}.json", _read(e.path), str(e.path))
        for suffix in (".traversals.png", ".curves.jsonl"):
            side = e.sidecar(suffix)
            if side:
                plan[f"results/{stem}{suffix}"] = PlannedFile(f"results/{stem}{suffix}", _read(side), str(side))
        if runs_dir is not None:
            ckpt = Path(runs_dir) / r.task.id / r.submission.name / r.protocol.name / f"seed-{r.seed}" / "checkpoint.pt"
            if ckpt.is_file():
                data = _read(ckpt)
                expected = getattr(r, "checkpoint_sha256", None)
                if expected and hashlib.sha256(data).hexdigest() != expected:
                    raise HubError(f"{ckpt} does not match the record's checkpoint_sha256 ({expected[:12]}); publish the checkpoint that made {e.path}, or omit --runs.")
                plan[f"checkpoints/{stem}.pt"] = PlannedFile(f"checkpoints/{stem}.pt", data, str(ckpt))
    if readme is not None:
        plan["README.md"] = PlannedFile("README.md", readme.encode(), "disbench leaderboard build")
    return [plan[k] for k in sorted(plan)]


def site_plan(site_dir: Path) -> list[PlannedFile]:
    """Every file of a built site, at the same relative path (a static Space serves ``index.html``)."""
    from disbench.leaderboard.site import MARKER_FILE

    site_dir = Path(site_dir)
    if not (site_dir / MARKER_FILE).is_file():
        raise HubError(f"{site_dir} is not a built site; run `disbench site build --out {site_dir}` first.")
    files = sorted(p for p in site_dir.rglob("*") if p.is_file() and p.name != MARKER_FILE)
    return [PlannedFile(p.relative_to(site_dir).as_posix(), _read(p), str(p)) for p in files]


def operations(plan: list[PlannedFile]) -> list[Any]:
    """``CommitOperationAdd`` for each planned file, carrying its exact bytes."""
    from huggingface_hub import CommitOperationAdd

    return [CommitOperationAdd(path_in_repo=f.path_in_repo, path_or_fileobj=f.data) for f in plan]


def render_plan(plan: list[PlannedFile], repo_id: str, repo_type: str) -> str:
    from tabulate import tabulate

    rows = [(f.path_in_repo, f"{f.size:,}", f.sha256[:12]) for f in plan]
    total = sum(f.size for f in plan)
    return (f"Plan: one commit of {len(plan)} files ({total:,} bytes) to the {repo_type} repo {repo_id}\n"
            + tabulate(rows, headers=["path in repo", "bytes", "sha256"], tablefmt="simple", disable_numparse=True))


def commit(client: HubClient, repo_id: str, plan: list[PlannedFile], repo_type: str, message: str, **create: Any) -> Any:
    """Create the repo if needed and upload the whole plan as one commit."""
    if not plan:
        raise HubError("Nothing to publish: no accepted official records (see `disbench leaderboard show`).")
    client.create_repo(repo_id, repo_type=repo_type, exist_ok=True, **create)
    return client.create_commit(repo_id, operations(plan), commit_message=message, repo_type=repo_type)


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
    path = Path(download(repo_id, repo_type="dataset", local_dir=str(local_dir), allow_patterns=["results/**", "README.md"]))
    results = path / "results"
    if not results.is_dir():
        raise HubError(f"{repo_id} has no results/ folder; is it a disbench results dataset (made by `disbench publish`)?")
    return results
