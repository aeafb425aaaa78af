"""What a built site says about itself: the disbench version and git commit it was built from, when (UTC), the
repository it comes from, and how to cite the paper and the board.

The date honours ``SOURCE_DATE_EPOCH`` (https://reproducible-builds.org/specs/source-date-epoch/), so two builds
of the same commit and records can be byte-identical pages. The commit is that of the checkout holding this
disbench's code, if it is one; a tree with uncommitted changes to tracked files says so.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from disbench.checkout import git, git_commit
from disbench.leaderboard.errors import LeaderboardError
from disbench.leaderboard.paths import REPO

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

PAPER_BIBTEX = """@inproceedings{michlo2023overlooked,
  title     = {Overlooked Implications of the Reconstruction Loss for {VAE} Disentanglement},
  author    = {Michlo, Nathan and Klein, Richard and James, Steven},
  booktitle = {Proceedings of the Thirty-Second International Joint Conference on Artificial Intelligence, {IJCAI-23}},
  pages     = {4073--4081},
  year      = {2023},
  doi       = {10.24963/ijcai.2023/453},
  url       = {https://doi.org/10.24963/ijcai.2023/453},
  note      = {Extended version: arXiv:2202.13341}
}"""
PAPER_TEXT = ("Nathan Michlo, Richard Klein and Steven James. Overlooked Implications of the Reconstruction Loss for VAE "
              "Disentanglement. IJCAI 2023, pp. 4073–4081. doi:10.24963/ijcai.2023/453")


@dataclass(frozen=True)
class BuildInfo:
    version: str
    commit: str | None  # full sha of HEAD; None when the code is not in a git checkout (or git is missing)
    modified: bool  # tracked files differ from the commit
    date: datetime  # UTC
    repository: str | None  # the project's repository URL (pyproject.toml's [project.urls])

    @property
    def commit_text(self) -> str:
        if self.commit is None:
            return "not a git checkout"
        return self.commit[:12] + (" with uncommitted changes" if self.modified else "")

    @property
    def commit_link(self) -> str | None:
        """The commit on the repository's web page, where the repository is on GitHub."""
        if self.commit and self.repository and self.repository.startswith("https://github.com/"):
            return f"{self.repository.rstrip('/')}/tree/{self.commit}"
        return None

    @property
    def date_text(self) -> str:
        return self.date.strftime("%Y-%m-%d %H:%M UTC")

    @property
    def bibtex(self) -> str:
        """How to cite the board: disbench at this version and commit."""
        fields = {"title": "disbench: a benchmark and leaderboard for disentangled representation learning",
                  "author": "{The disbench contributors}", "year": str(self.date.year), "version": self.version}
        if self.repository:
            fields["url"] = self.repository
        note = f"commit {self.commit}" if self.commit else "built outside a git checkout"
        fields["note"] = f"Leaderboard built on {self.date:%Y-%m-%d} from {note}"
        width = max(map(len, fields))
        body = ",\n".join(f"  {k.ljust(width)} = {{{v}}}" for k, v in fields.items())
        return f"@misc{{disbench,\n{body}\n}}"


def build_date(environ: Mapping[str, str] = os.environ) -> datetime:
    """Now in UTC, or ``SOURCE_DATE_EPOCH`` (seconds since 1970, UTC) when it is set."""
    raw = environ.get("SOURCE_DATE_EPOCH")
    if raw is None or raw == "":
        return datetime.now(timezone.utc).replace(microsecond=0)
    try:
        return datetime.fromtimestamp(int(raw), timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise LeaderboardError(f"SOURCE_DATE_EPOCH={raw!r} is not a whole number of seconds since 1970; unset it or set e.g. "
                               "SOURCE_DATE_EPOCH=$(git log -1 --format=%ct).") from None


def repository_url(repo: Path, environ: Mapping[str, str] = os.environ, commit: str | None = None) -> str | None:
    """Where the code lives, from what states it and never a guess: ``[project.urls] Repository`` of
    ``repo``'s pyproject.toml (or the installed distribution's metadata), else the GitHub Actions
    run's repository (``GITHUB_SERVER_URL``/``GITHUB_REPOSITORY``), else the checkout's ``origin``
    remote as a web address; ``None`` when none says."""
    pyproject = repo / "pyproject.toml"
    if pyproject.is_file():
        urls = tomllib.loads(pyproject.read_text()).get("project", {}).get("urls", {})
        if urls.get("Repository"):
            return str(urls["Repository"])
    from importlib import metadata

    try:
        entries = metadata.metadata("disbench").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        entries = []
    for entry in entries:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "repository":
            return url.strip()
    if environ.get("GITHUB_REPOSITORY"):
        return f"{environ.get('GITHUB_SERVER_URL') or 'https://github.com'}/{environ['GITHUB_REPOSITORY']}"
    if commit is None:  # build_info passes the commit it already has; a direct caller gets it here
        commit = git_commit(repo)[0]
    return web_address(git(repo, "remote", "get-url", "origin") if commit else None)


def web_address(remote: str | None) -> str | None:
    """A git remote as the address a browser opens: ``git@host:o/r.git``, ``ssh://git@host/o/r`` and
    ``https://user:token@host/o/r.git`` become ``https://host/o/r`` (credentials dropped); an http(s)
    remote keeps its scheme and port (``http://host:8080/o/r``), an ssh port is not the web's and is
    dropped; a local path is no web address (``None``)."""
    if remote and remote.startswith("git@") and ":" in remote:
        host, _, path = remote[4:].partition(":")
        remote = f"ssh://git@{host}/{path}"
    parts = urlsplit(remote or "")
    if parts.scheme not in ("https", "http", "ssh") or not parts.hostname:
        return None
    scheme, port = ("https", None) if parts.scheme == "ssh" else (parts.scheme, parts.port)
    return f"{scheme}://{parts.hostname}{f':{port}' if port else ''}{parts.path}".removesuffix("/").removesuffix(".git")


def build_info(repo: Path = REPO, environ: Mapping[str, str] = os.environ) -> BuildInfo:
    import disbench

    commit, modified = git_commit(repo)
    return BuildInfo(disbench.__version__, commit, modified, build_date(environ), repository_url(repo, environ, commit))
