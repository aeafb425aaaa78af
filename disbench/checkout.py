"""Which git commit a piece of code is: the records' ``git_commit`` and the site's footer both ask here."""

from __future__ import annotations

import subprocess
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1]  # the folder above the package: a checkout's top, when disbench runs from one


def git(repo: Path, *args: str) -> str | None:
    """``git -C repo ARGS``'s output, stripped; ``None`` when git is missing, slow or fails."""
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_commit(repo: Path) -> tuple[str | None, bool]:
    """HEAD of the checkout whose top folder is ``repo`` and whether tracked files differ from it; (None, False) when
    ``repo`` is not the top of a git checkout (a folder inside another project's checkout does not count)."""
    top = git(repo, "rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != Path(repo).resolve():
        return None, False
    commit = git(repo, "rev-parse", "--verify", "HEAD")
    if commit is None:  # a checkout without commits
        return None, False
    return commit, bool(git(repo, "status", "--porcelain", "--untracked-files=no"))


def code_commit() -> str | None:
    """disbench's own commit, with ``-dirty`` when tracked files were changed; ``None`` when it is not run
    from a checkout (an installed wheel, even one inside another project's checkout)."""
    commit, modified = git_commit(SOURCE)
    return None if commit is None else commit + ("-dirty" if modified else "")
