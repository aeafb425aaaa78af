"""``disbench ci check-pr`` on real temporary git repositories."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from disbench.cli import main
from disbench.leaderboard.ci import Change, check_pr, classify, validate_folder
from disbench.leaderboard.errors import PullRequestError
from tests.leaderboard.conftest import REPO, make_submission

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path):
    """A repository whose main branch has one submission and one record, and a checked-out PR branch."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "t@example.org")
    git(root, "config", "user.name", "t")
    make_submission(root / "submissions", "alpha")
    record = root / "leaderboards" / "results" / "xysquares-mse-v0" / "alpha" / "quick" / "seed-0.json"
    record.parent.mkdir(parents=True)
    record.write_text('{"metrics": {"mig": 0.1}}\n')
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "base")
    git(root, "checkout", "-q", "-b", "pr")
    return root


def commit_all(root, message="pr"):
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


def test_pr_that_edits_records_is_refused(repo, tmp_path, monkeypatch, capsys):
    (repo / "leaderboards" / "results" / "xysquares-mse-v0" / "alpha" / "quick" / "seed-0.json").write_text('{"metrics": {"mig": 0.9}}\n')
    (repo / "submissions" / "alpha" / "model.py").write_text("# improved\n")
    commit_all(repo)
    seen = []
    report = check_pr(repo, "main", validate=lambda folder: (seen.append(folder.name) or True, "validated"))
    assert [p for p, _ in report.refusals] == ["leaderboards/results/xysquares-mse-v0/alpha/quick/seed-0.json"]
    assert "come from the official runner" in report.refusals[0][1]
    assert seen == ["alpha"] and not report.ok

    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert main(["ci", "check-pr", "--repo", str(repo), "--base", "main", "--no-smoke"]) == 1
    text = summary.read_text()
    assert "**FAILED**" in text and "`leaderboards/results/xysquares-mse-v0/alpha/quick/seed-0.json`" in text
    assert "disbench validate submissions/alpha" in capsys.readouterr().out


def test_pr_with_a_valid_baseline_copy_passes_validation(repo):
    shutil.copytree(REPO / "submissions" / "beta-vae", repo / "submissions" / "beta-vae", ignore=shutil.ignore_patterns("__pycache__"))
    commit_all(repo)
    report = check_pr(repo, "main", validate=lambda folder: validate_folder(folder, smoke_run=False))
    assert report.refusals == [] and list(report.validations) == ["beta-vae"]
    ok, text = report.validations["beta-vae"]
    assert ok, text
    assert "[ok] encode(x)" in text and report.ok and "**PASSED**" in report.markdown()


def test_folder_name_must_match_the_submission_name(repo):
    shutil.copytree(REPO / "submissions" / "beta-vae", repo / "submissions" / "renamed", ignore=shutil.ignore_patterns("__pycache__"))
    ok, text = validate_folder(repo / "submissions" / "renamed", smoke_run=False)
    assert not ok and "declares name = 'beta-vae'" in text


def test_classify_refuses_files_outside_submissions_symlinks_and_deletions():
    refusals, names = classify([
        Change("M", "disbench/cli.py", "100644"),
        Change("A", "submissions/README.md", "100644"),
        Change("A", "submissions/x/link.py", "120000"),
        Change("D", "submissions/y/submission.toml", "000000"),
        Change("A", "submissions/z/model.py", "100644"),
    ])
    why = dict(refusals)
    assert "may change only submissions/<name>/" in why["disbench/cli.py"] and "may change only" in why["submissions/README.md"]
    assert "symlinks" in why["submissions/x/link.py"] and "deletes the submission 'y'" in why["submissions/y/submission.toml"]
    assert names == ["z"]


def test_unknown_base_names_the_fix(repo):
    with pytest.raises(PullRequestError, match="fetch-depth: 0"):
        check_pr(repo, "nonexistent-base")
