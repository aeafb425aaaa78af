"""``disbench ci check-pr``: what a submission pull request may change, and whether its submissions validate.

A submission PR changes only ``submissions/<name>/``. Records and tables under
``leaderboards/`` come from the official runner, so any change there is refused, as is any
file outside a submission folder, a symlink, or the deletion of a submission. Every changed
submission that still exists is then checked with ``disbench validate``. The report is
Markdown, printed and appended to ``$GITHUB_STEP_SUMMARY`` when that is set (GitHub's job
summary); the workflow file only calls this command.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from disbench.leaderboard.errors import PullRequestError

SUBMISSION_PATH = re.compile(r"^submissions/(?P<name>[^/]+)/(?P<rest>.+)$")


@dataclass(frozen=True)
class Change:
    status: str  # git's letter: A, M, D, T, ...
    path: str
    mode: str  # the new file mode ("000000" when deleted)


@dataclass
class PRReport:
    changes: list[Change]
    refusals: list[tuple[str, str]] = field(default_factory=list)
    validations: dict[str, tuple[bool, str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.refusals and all(ok for ok, _ in self.validations.values())

    def markdown(self) -> str:
        lines = ["## disbench submission check", ""]
        lines.append(f"**{'PASSED' if self.ok else 'FAILED'}**: {len(self.changes)} changed file(s), "
                     f"{len(self.refusals)} refused, {len(self.validations)} submission(s) validated.")
        lines.append("")
        if self.refusals:
            lines += ["### Refused changes", "", "| file | why |", "|---|---|"]
            lines += [f"| `{p}` | {why} |" for p, why in self.refusals]
            lines.append("")
        for name, (ok, text) in sorted(self.validations.items()):
            lines += [f"### `disbench validate submissions/{name}`: {'ok' if ok else 'FAILED'}", "", "```text", text, "```", ""]
        if not self.changes:
            lines += ["This pull request changes no files relative to its base.", ""]
        return "\n".join(lines)


def _git(repo: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise PullRequestError("git is not installed; check-pr needs git to list the pull request's changes.") from None
    if done.returncode != 0:
        raise PullRequestError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def resolve_base(repo: Path, base: str) -> str:
    """``base`` or ``origin/<base>``, whichever git knows."""
    for candidate in (base, f"origin/{base}"):
        ok = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}"], capture_output=True)
        if ok.returncode == 0:
            return candidate
    raise PullRequestError(f"git knows no branch {base!r} or 'origin/{base}'; fetch it first (actions/checkout with fetch-depth: 0), or pass --base.")


def changed_files(repo: Path, base: str, head: str = "HEAD") -> list[Change]:
    """Files changed on ``head`` since it left ``base`` (renames split into a delete and an add)."""
    base_ref = resolve_base(repo, base)
    out = _git(repo, "diff", "--raw", "--no-renames", "-z", f"{base_ref}...{head}")
    parts = out.split("\0")
    changes = []
    i = 0
    while i < len(parts) - 1:
        meta = parts[i]
        if not meta.startswith(":"):
            i += 1
            continue
        fields = meta[1:].split()
        changes.append(Change(status=fields[4][0], path=parts[i + 1], mode=fields[1]))
        i += 2
    return sorted(changes, key=lambda c: c.path)


def classify(changes: list[Change]) -> tuple[list[tuple[str, str]], list[str]]:
    """``(refusals, submission names)``: why each refused path is refused, and the submissions touched."""
    refusals: list[tuple[str, str]] = []
    names: list[str] = []
    for c in changes:
        if c.path == "leaderboards" or c.path.startswith("leaderboards/"):
            refusals.append((c.path, "records and tables under leaderboards/ come from the official runner; remove this change from the PR"))
            continue
        m = SUBMISSION_PATH.match(c.path)
        if not m:
            refusals.append((c.path, "a submission PR may change only submissions/<name>/; open a separate PR for other changes"))
            continue
        if c.mode == "120000":
            refusals.append((c.path, "symlinks are not allowed in a submission; commit the file itself"))
            continue
        if c.status == "D" and m["rest"] == "submission.toml":
            refusals.append((c.path, f"deletes the submission {m['name']!r}; removing a submission is done by maintainers"))
            continue
        if m["name"] not in names:
            names.append(m["name"])
    return refusals, names


def check_pr(repo: Path, base: str = "main", validate: Callable[[Path], tuple[bool, str]] | None = None) -> PRReport:
    """Classify the PR's changes and validate each changed submission folder that still exists."""
    repo = Path(repo)
    changes = changed_files(repo, base)
    refusals, names = classify(changes)
    report = PRReport(changes, refusals)
    validate = validate or validate_folder
    for name in names:
        folder = repo / "submissions" / name
        if not (folder / "submission.toml").is_file():
            continue
        ok, text = validate(folder)
        report.validations[name] = (ok, text)
    return report


def validate_folder(folder: Path, smoke_run: bool = True) -> tuple[bool, str]:
    """``disbench validate`` on ``folder``, plus: the folder name must equal the submission's name."""
    from disbench.harness.validate import validate_submission

    report = validate_submission(folder, smoke_run=smoke_run)
    text = report.render()
    ok = report.ok
    try:
        from disbench.harness.submission import Submission

        name = Submission(folder).name
        if name != folder.name:
            ok = False
            text += f"\n  [FAIL] folder name: submissions/{folder.name} declares name = {name!r}; rename the folder or the name so they agree"
    except Exception:  # the schema failure is already in the report
        pass
    return ok, text


def write_step_summary(markdown: str, env: dict[str, str] | None = None) -> Path | None:
    """Append to ``$GITHUB_STEP_SUMMARY`` if set (GitHub shows it on the job page)."""
    env = os.environ if env is None else env
    target = env.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    with open(target, "a", encoding="utf-8") as f:
        f.write(markdown + "\n")
    return Path(target)
