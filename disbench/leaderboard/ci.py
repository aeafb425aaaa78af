"""``disbench ci check-pr``: may a pull request change what it changes, and do its submissions validate?

The policy is decided from git data alone: ``git diff --raw base...head`` lists the changes,
``git cat-file`` gives blob sizes and the ``submission.toml`` files. The head need not be checked
out and nothing of it is imported or run, so the check-submission-policy workflow runs the *base*
branch's disbench on a fetched head, and a PR cannot change the check that judges it. The rules:

- nothing under ``leaderboards/`` (records and the runner's key come only from the runner) and no
  key file (``*.pub``, ``*.pem``, ``*.key``, ``*.p12``, ``*runner-key*``) anywhere, in any pull request;
- a PR that changes nothing under ``submissions/`` is not a submission PR: it passes, and the
  maintainers review it as code;
- a submission PR changes exactly one ``submissions/<name>/`` and nothing outside it;
- a folder that exists on the base branch may be changed only by a login listed in the base
  version's ``maintainers``; the head's ``submission.toml`` must parse and declare ``name = "<name>"``;
- every added or changed file passes :func:`disbench.harness.submission.file_problem`, and
  ``submission.toml`` is never deleted.

A *disbench maintainer* (GitHub's ``author_association`` of the PR's author is OWNER, MEMBER or
COLLABORATOR: set by GitHub, not by the PR) lands what the runner made and what the project needs:
records and tables under ``leaderboards/``, the trust root ``leaderboards/runner-key.pub``, code with
baseline changes, several or removed submissions. Such a PR is not restricted by path; its notes
list what it changes of the board and the trust root, for the reviewers. What no PR may do, a
maintainer's neither: add any other key file (a private key never enters git), or add a submission
file outside the allowlist (the harness would refuse the folder anyway).

``disbench validate`` imports the submission's model, so it runs separately (``--validate-only``,
in the untrusted validate-submission workflow), on the checked-out working tree. The report is
Markdown, printed and appended to ``$GITHUB_STEP_SUMMARY`` when that is set.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from disbench.files import runs_unreviewed
from disbench.harness.submission import file_problem
from disbench.leaderboard.errors import PullRequestError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

SUBMISSION_PATH = re.compile(r"^submissions/(?P<name>[^/]+)/(?P<rest>.+)$")
KINDS = {"100644": "file", "100755": "file", "120000": "symlink"}  # git's modes; a submodule (160000) is "other"
COMMIT_FIRST = "git switch -c my-submission && git add submissions/<name> && git commit"
MAINTAINER_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})  # GitHub's author_association of people given a role in the repo
TRUST_ROOT = "leaderboards/runner-key.pub"
KEY_SUFFIXES = (".pub", ".pem", ".key", ".p12")


@dataclass(frozen=True)
class Change:
    status: str  # git's letter: A, M, D, T
    path: str
    mode: str  # the new file mode ("000000" when deleted)
    size: int = 0  # the new blob's size in bytes (regular files only)


@dataclass
class PRReport:
    changes: list[Change]
    refusals: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    validations: dict[str, tuple[bool, str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.refusals and all(ok for ok, _ in self.validations.values())

    def markdown(self) -> str:
        """Refusals, notes and validation output first; the verdict is the last line."""
        lines = ["## disbench submission check", ""]
        if self.refusals:
            lines += ["### Refused changes", "", "| file | why |", "|---|---|"]
            lines += [f"| `{_cell(p)}` | {_cell(why)} |" for p, why in self.refusals]
            lines.append("")
        if self.notes:
            lines += [f"- {_cell(note)}" for note in self.notes] + [""]
        for name, (ok, text) in sorted(self.validations.items()):
            lines += [f"### `disbench validate submissions/{name}`: {'ok' if ok else 'FAILED'}", "", "```text", text, "```", ""]
        lines.append(f"**{'PASSED' if self.ok else 'FAILED'}**: {len(self.changes)} changed file(s), "
                     f"{len(self.refusals)} refused, {len(self.validations)} submission(s) validated.")
        return "\n".join(lines)


def _cell(text: str) -> str:
    """``text`` on one line, without breaking a table (paths come from the PR)."""
    return text.replace("\n", "\\n").replace("|", "\\|")


def _run(repo: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", "-C", str(repo), *args], input=stdin, capture_output=True, check=False)
    except FileNotFoundError:
        raise PullRequestError("git is not installed; check-pr needs git to list the pull request's changes.") from None


def _git(repo: Path, *args: str, stdin: bytes | None = None) -> bytes:
    """git's output; a failure is a :class:`PullRequestError` with git's message."""
    done = _run(repo, *args, stdin=stdin)
    if done.returncode != 0:
        raise PullRequestError(f"git {' '.join(args)} failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def _commit(repo: Path, ref: str) -> str | None:
    """The sha of the commit ``ref`` names, or ``None``."""
    done = _run(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    return done.stdout.decode().strip() if done.returncode == 0 else None


def _toml(repo: Path, spec: str) -> dict | None:
    """The blob ``rev:path`` parsed as TOML (``None``: no such blob); ``ValueError`` when it does not parse."""
    done = _run(repo, "cat-file", "blob", spec)
    return tomllib.loads(done.stdout.decode()) if done.returncode == 0 else None


def resolve_base(repo: Path, base: str) -> str:
    """The commit of ``base`` or ``origin/<base>``, whichever git knows."""
    probe = _run(repo, "rev-parse", "--git-dir")
    if probe.returncode != 0:  # no branch could be found in what git cannot read as a repository
        said = " ".join(probe.stderr.decode(errors="replace").split())[:300]
        raise PullRequestError(f"{repo} is not a git repository git can read here ({said or 'not a folder'}); run `disbench ci check-pr` "
                               "in the clone that holds the pull request's head, or pass --repo with it.")
    sha = _commit(repo, base) or _commit(repo, f"origin/{base}")
    if sha is None:
        raise PullRequestError(f"git knows no branch {base!r} or 'origin/{base}'; fetch it first (actions/checkout with fetch-depth: 0), or pass --base.")
    return sha


def changed_files(repo: Path, base: str, head: str) -> list[Change]:
    """Files changed on ``head`` since it left ``base`` (renames split into a delete and an add), with blob sizes."""
    parts = _git(repo, "diff", "--raw", "--no-renames", "--no-abbrev", "-z", f"{base}...{head}").decode(errors="replace").split("\0")
    raw = [(meta[1:].split(), path) for meta, path in zip(parts[0::2], parts[1::2])]  # ":old new oldsha newsha status"
    blobs = "".join(f"{f[3]}\n" for f, _ in raw if KINDS.get(f[1]) == "file")
    sizes = {}
    for line in _git(repo, "cat-file", "--batch-check=%(objectname) %(objectsize)", stdin=blobs.encode()).decode().splitlines():
        sha, size = line.split()
        if size == "missing":
            raise PullRequestError(f"git has no blob {sha}; fetch the pull request's whole head (no shallow or partial clone).")
        sizes[sha] = int(size)
    return sorted((Change(f[4][0], path, f[1], sizes.get(f[3], 0)) for f, path in raw), key=lambda c: c.path)


def is_maintainer(association: str | None) -> bool:
    """Whether GitHub's ``author_association`` makes the PR's author a disbench maintainer."""
    return (association or "").upper() in MAINTAINER_ASSOCIATIONS


def classify(changes: list[Change], maintainer: bool = False) -> tuple[list[tuple[str, str]], list[str]]:
    """``(refusals, names)``: why each refused path is refused (path rules only), and the submission folders touched."""
    names = sorted({m["name"] for c in changes if (m := SUBMISSION_PATH.match(c.path))})
    submission_pr = any(c.path.startswith("submissions/") for c in changes)
    refusals = []
    for c in changes:
        why = _path_problem(c, submission_pr, maintainer)
        if why:
            refusals.append((c.path, why))
    if len(names) > 1 and not maintainer:
        folders = ", ".join(f"submissions/{n}/" for n in names)
        refusals.append(("submissions/", f"this pull request changes {len(names)} submission folders ({folders}); a pull request may change exactly one: split it"))
    return refusals, names


def _path_problem(c: Change, submission_pr: bool, maintainer: bool) -> str | None:
    filename = c.path.rsplit("/", 1)[-1].lower()
    if c.status != "D" and (filename.endswith(KEY_SUFFIXES) or "runner-key" in filename) and not (maintainer and c.path == TRUST_ROOT):
        return "keys are never added by pull request"
    m = SUBMISSION_PATH.match(c.path)
    if c.status != "D" and not m and runs_unreviewed(c.path):  # (a submission's own files: file_problem)
        return ("compiled code and .pth start-up files run without their source being reviewed (a .pyc in disbench/ "
                "replaces the module it shadows); never commit them: remove it from the PR")
    if maintainer:
        return file_problem(m["rest"], c.size, KINDS.get(c.mode, "other")) if m and c.status != "D" else None
    if c.path.split("/")[0] == "leaderboards":
        return "records and tables under leaderboards/ come from the official runner; remove this change from the PR"
    if not m:
        return "a submission PR may change only submissions/<name>/; open a separate PR for other changes" if submission_pr else None
    if c.status == "D":
        return f"deletes the submission {m['name']!r}; removing a submission is done by maintainers" if m["rest"] == "submission.toml" else None
    return file_problem(m["rest"], c.size, KINDS.get(c.mode, "other"))


def maintainer_notes(changes: list[Change], association: str) -> list[str]:
    """What a maintainer's PR changes of the board and its trust root, for the reviewers."""
    notes = [f"the author is a disbench maintainer (GitHub: {association.upper()}): no path rule applies; review it as code"]
    if any(c.path == TRUST_ROOT for c in changes):
        notes.append(f"changes {TRUST_ROOT}, the key every official record is verified against: compare its fingerprint "
                     "(`disbench leaderboard signatures`) with the one `disbench keys init` printed on the runner")
    records = [c for c in changes if c.path.startswith("leaderboards/results/") and c.path.endswith(".json")]
    if records:
        notes.append(f"changes {len(records)} record file(s) under leaderboards/results/: each counts as verified only with the runner's "
                     "signature, and a signature that does not match fails the publish job (`disbench leaderboard signatures`)")
    return notes


def check_folder(repo: Path, base: str, head: str, name: str, author: str | None, maintainer: bool = False) -> tuple[list[tuple[str, str]], list[str]]:
    """``(refusals, notes)`` for ``submissions/<name>``: who may change it (the base branch's
    ``maintainers``, or a disbench maintainer), and whether the head's ``submission.toml`` parses and names the folder."""
    folder = f"submissions/{name}"
    refusals, notes = [], []
    existed = _run(repo, "cat-file", "-e", f"{base}:{folder}").returncode == 0
    if existed and not maintainer:
        try:
            maintainers = (_toml(repo, f"{base}:{folder}/submission.toml") or {}).get("maintainers", [])
        except ValueError:  # an unreadable base version: only disbench maintainers may mend it
            maintainers = []
        if author is None:
            notes.append(f"{folder} exists on the base branch: ownership not checked (no --author)")
        elif author.casefold() in {m.casefold() for m in maintainers}:
            notes.append(f"{folder}: {author} is one of its maintainers")
        else:
            refusals.append((f"{folder}/", f"{folder} belongs to its maintainers [{', '.join(maintainers) or 'none listed'}]; "
                                           "ask one of them, or a disbench maintainer, to make this change"))
    try:
        config = _toml(repo, f"{head}:{folder}/submission.toml")
    except ValueError as e:
        return refusals + [(f"{folder}/submission.toml", f"does not parse as TOML: {e}")], notes
    if config is None and not existed:
        refusals.append((f"{folder}/", "a new submission needs a submission.toml"))
    elif config is None and maintainer:
        notes.append(f"{folder}: removed by a disbench maintainer")
    elif config is not None and config.get("name") != name:
        refusals.append((f"{folder}/submission.toml", f"declares name = {config.get('name')!r}; it must equal the folder name {name!r}"))
    return refusals, notes


def check_pr(repo: Path, base: str = "main", head: str = "HEAD", author: str | None = None,
             validate: Callable[[Path], tuple[bool, str]] | None = None, policy: bool = True, association: str | None = None) -> PRReport:
    """The policy verdict on ``base...head``, read from git (``policy``), then ``validate(folder)`` on each
    changed submission folder of the working tree (``None``: no validation). ``association`` is GitHub's
    ``author_association`` of the PR's author: OWNER, MEMBER or COLLABORATOR make it a maintainer's PR."""
    repo = Path(repo)
    base_sha = resolve_base(repo, base)
    head_sha = _commit(repo, head)
    if head_sha is None:
        raise PullRequestError(f"git knows no commit {head!r}; fetch the pull request's head first (git fetch origin pull/<number>/head).")
    changes = changed_files(repo, base_sha, head_sha)
    if not changes:
        raise PullRequestError(f"{head} has no committed changes since {base} (a pull request holds commits, not the working tree); "
                               f"commit your submission on a branch first: {COMMIT_FIRST}")
    maintainer = is_maintainer(association)
    refusals, names = classify(changes, maintainer)
    report = PRReport(changes)
    if policy:
        report.refusals = refusals
        report.notes = maintainer_notes(changes, association) if maintainer else []
        for name in names:
            more, notes = check_folder(repo, base_sha, head_sha, name, author, maintainer)
            report.refusals += more
            report.notes += notes
    if not names and not report.refusals:
        report.notes.append("no submission changed; nothing to check")
    if validate:
        for name in names:
            folder = repo / "submissions" / name
            if (folder / "submission.toml").is_file():
                report.validations[name] = validate(folder)
    return report


def validate_folder(folder: Path, smoke_run: bool = True) -> tuple[bool, str]:
    """``disbench validate`` on ``folder``, as its verdict and its report."""
    from disbench.harness.validate import validate_submission

    report = validate_submission(folder, smoke_run=smoke_run)
    return report.ok, report.render()


def write_step_summary(markdown: str, env: dict[str, str] | None = None) -> Path | None:
    """Append to ``$GITHUB_STEP_SUMMARY`` if set (GitHub shows it on the job page)."""
    env = os.environ if env is None else env
    target = env.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    with open(target, "a", encoding="utf-8") as f:
        f.write(markdown + "\n")
    return Path(target)
