"""``disbench ci check-pr`` on real temporary git repositories: each attack is a real PR branch."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

import disbench.leaderboard.ci as ci
from disbench.cli import main
from disbench.leaderboard.ci import Change, check_pr, classify, validate_folder
from disbench.leaderboard.errors import PullRequestError
from tests.leaderboard.conftest import REPO, make_submission

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

KEYS = "keys are never added by pull request"
# A PR's own ci.py that passes everything: the old workflow ran the PR's copy of disbench.
PASSING_CI = "class Report:\n    ok = True\n\n\ndef check_pr(*args, **kwargs):\n    return Report()\n"


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True).stdout


@pytest.fixture
def repo(tmp_path):
    """main: submission alpha, submission beta-vae maintained by alice, one record; checked out: a PR branch."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "t@example.org")
    git(root, "config", "user.name", "t")
    make_submission(root / "submissions", "alpha")
    beta = make_submission(root / "submissions", "beta-vae")
    with open(beta / "submission.toml", "a") as f:
        f.write('maintainers = ["alice"]\n')
    (beta / "README.md").write_text("# beta-vae\n")
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


def policy(repo, author=None, head="HEAD"):
    """The policy job's check: no validation."""
    return check_pr(repo, "main", head=head, author=author)


def policy_as(repo, author, association):
    """The policy job's check with GitHub's author_association of the PR's author."""
    return check_pr(repo, "main", author=author, association=association)


def test_pr_that_edits_records_is_refused(repo, tmp_path, monkeypatch, capsys):
    (repo / "leaderboards" / "results" / "xysquares-mse-v0" / "alpha" / "quick" / "seed-0.json").write_text('{"metrics": {"mig": 0.9}}\n')
    (repo / "submissions" / "alpha" / "model.py").write_text("# improved\n")
    commit_all(repo)
    seen = []
    report = check_pr(repo, "main", validate=lambda folder: (seen.append(folder.name) or True, "validated"))
    assert [p for p, _ in report.refusals] == ["leaderboards/results/xysquares-mse-v0/alpha/quick/seed-0.json"]
    assert "come from the official runner" in report.refusals[0][1]
    assert report.notes == ["submissions/alpha exists on the base branch: ownership not checked (no --author)"]
    assert seen == ["alpha"] and not report.ok
    only = check_pr(repo, "main", validate=lambda folder: (True, "validated"), policy=False)  # the untrusted job's half
    assert only.refusals == [] and list(only.validations) == ["alpha"] and only.ok

    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert main(["ci", "check-pr", "--repo", str(repo), "--base", "main", "--no-smoke"]) == 1
    text = summary.read_text()
    assert "`leaderboards/results/xysquares-mse-v0/alpha/quick/seed-0.json`" in text
    assert text.strip().splitlines()[-1].startswith("**FAILED**")  # the verdict comes after every refusal and [FAIL]
    assert "disbench validate submissions/alpha" in capsys.readouterr().out


def test_pr_with_a_valid_baseline_copy_passes_validation(repo):
    folder = repo / "submissions" / "my-vae"
    shutil.copytree(REPO / "submissions" / "beta-vae", folder, ignore=shutil.ignore_patterns("__pycache__"))
    toml = folder / "submission.toml"
    toml.write_text(toml.read_text().replace('name = "beta-vae"', 'name = "my-vae"'))
    commit_all(repo)
    report = check_pr(repo, "main", author="newcomer", validate=lambda folder: validate_folder(folder, smoke_run=False))
    assert report.refusals == [] and list(report.validations) == ["my-vae"]
    ok, text = report.validations["my-vae"]
    assert ok, text
    assert "[ok] encode(x)" in text and report.ok and report.markdown().splitlines()[-1].startswith("**PASSED**")


def test_folder_name_must_match_the_submission_name(repo):
    shutil.copytree(REPO / "submissions" / "beta-vae", repo / "submissions" / "renamed", ignore=shutil.ignore_patterns("__pycache__"))
    ok, text = validate_folder(repo / "submissions" / "renamed", smoke_run=False)
    assert not ok and "declares name = 'beta-vae'" in text


def test_pr_editing_the_check_itself_is_judged_by_the_base_code(repo, tmp_path):
    (repo / "disbench" / "leaderboard").mkdir(parents=True)
    (repo / "disbench" / "leaderboard" / "ci.py").write_text(PASSING_CI)
    make_submission(repo / "submissions", "new-vae")
    commit_all(repo)
    # Run as the PR's own code, its ci.py passes the PR ...
    pr_ci = tmp_path / "pr_ci.py"
    pr_ci.write_bytes(git(repo, "show", "pr:disbench/leaderboard/ci.py"))
    spec = importlib.util.spec_from_file_location("pr_ci", pr_ci)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.check_pr(repo).ok
    # ... but the policy job checks out the base branch and reads the PR head as git data only.
    git(repo, "checkout", "-q", "main")
    assert not (repo / "disbench").exists() and REPO in Path(ci.__file__).resolve().parents
    report = policy(repo, author="mallory", head="pr")
    assert report.refusals == [("disbench/leaderboard/ci.py", "a submission PR may change only submissions/<name>/; open a separate PR for other changes")]
    assert not report.ok
    assert main(["ci", "check-pr", "--repo", str(repo), "--head", "pr", "--author", "mallory", "--no-validate"]) == 1
    assert main(["ci", "check-pr", "--repo", str(repo), "--head", "pr"]) == 2  # validation needs the head checked out


def test_keys_are_refused_everywhere(repo):
    (repo / "leaderboards" / "runner-key.pub").write_text("ssh-ed25519 AAAA attacker\n")
    (repo / "deploy.pem").write_text("-----BEGIN PRIVATE " + "KEY-----\n")  # split: no key-looking text is tracked
    make_submission(repo / "submissions", "new-vae")
    (repo / "submissions" / "new-vae" / "runner-key.txt").write_text("not really\n")  # an allowed suffix, still a key
    commit_all(repo)
    assert dict(policy(repo).refusals) == {p: KEYS for p in ("leaderboards/runner-key.pub", "deploy.pem", "submissions/new-vae/runner-key.txt")}
    # Without any submission the PR is no submission PR, and the key is still refused.
    git(repo, "checkout", "-q", "-b", "key-only", "main")
    (repo / "leaderboards" / "runner-key.pub").write_text("ssh-ed25519 AAAA attacker\n")
    commit_all(repo)
    report = policy(repo, author="mallory")
    assert report.refusals == [("leaderboards/runner-key.pub", KEYS)] and report.notes == [] and not report.ok


def test_only_the_maintainers_of_a_submission_may_change_it(repo):
    readme = repo / "submissions" / "beta-vae" / "README.md"
    readme.write_text(readme.read_text() + " \n")  # a whitespace edit
    commit_all(repo)
    report = policy(repo, author="mallory")
    assert report.refusals == [("submissions/beta-vae/", "submissions/beta-vae belongs to its maintainers [alice]; "
                                                        "ask one of them, or a disbench maintainer, to make this change")]
    report = policy(repo, author="alice")
    assert report.ok and report.notes == ["submissions/beta-vae: alice is one of its maintainers"]
    assert policy(repo).ok and "not checked (no --author)" in policy(repo).notes[0]
    # Adding oneself to maintainers in the PR does not help: the base branch's list counts.
    toml = repo / "submissions" / "beta-vae" / "submission.toml"
    toml.write_text(toml.read_text().replace('["alice"]', '["alice", "mallory"]'))
    commit_all(repo)
    assert [p for p, _ in policy(repo, author="mallory").refusals] == ["submissions/beta-vae/"]


def test_a_submission_without_maintainers_is_changed_only_by_disbench_maintainers(repo):
    (repo / "submissions" / "alpha" / "model.py").write_text("# mine now\n")
    commit_all(repo)
    assert "submissions/alpha belongs to its maintainers [none listed]" in dict(policy(repo, author="alice").refusals)["submissions/alpha/"]


def test_files_outside_the_allowlist_are_refused_each_with_its_reason(repo):
    folder = make_submission(repo / "submissions", "new-vae")
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "model.cpython-311.pyc").write_bytes(b"\x00bytecode")
    (folder / "fast.so").write_bytes(b"\x7fELF")
    (folder / "link.py").symlink_to("model.py")
    (folder / "data.json").write_text("0" * ((64 << 10) + 1))
    git(repo, "add", "-A")
    head = git(repo, "rev-parse", "HEAD").decode().strip()
    git(repo, "update-index", "--add", "--cacheinfo", f"160000,{head},submissions/new-vae/vendored")  # a submodule
    git(repo, "commit", "-q", "-m", "pr")
    why = dict(policy(repo, author="newcomer").refusals)
    assert "compiled bytecode" in why["submissions/new-vae/__pycache__/model.cpython-311.pyc"]
    assert ".so not allowed in a submission" in why["submissions/new-vae/fast.so"]
    assert "link.py is a symlink" in why["submissions/new-vae/link.py"]
    assert "data.json is 65,537 bytes; .json files may be at most 65,536" in why["submissions/new-vae/data.json"]
    assert "vendored is not a regular file" in why["submissions/new-vae/vendored"]
    assert len(why) == 5  # model.py and submission.toml pass


def test_a_new_submission_toml_must_parse_and_name_its_folder(repo):
    make_submission(repo / "submissions", "new-vae")
    (repo / "submissions" / "new-vae" / "submission.toml").write_text('name = "other"\n')
    commit_all(repo)
    assert dict(policy(repo).refusals) == {"submissions/new-vae/submission.toml": "declares name = 'other'; it must equal the folder name 'new-vae'"}
    (repo / "submissions" / "new-vae" / "submission.toml").write_text('name = "new-vae\n')
    commit_all(repo)
    assert "does not parse as TOML" in dict(policy(repo).refusals)["submissions/new-vae/submission.toml"]


def test_two_submission_folders_in_one_pr_are_refused(repo):
    make_submission(repo / "submissions", "new-a")
    make_submission(repo / "submissions", "new-b")
    commit_all(repo)
    assert policy(repo).refusals == [("submissions/", "this pull request changes 2 submission folders (submissions/new-a/, submissions/new-b/); "
                                                       "a pull request may change exactly one: split it")]


def test_no_committed_changes_says_to_commit_first(repo, capsys):
    make_submission(repo / "submissions", "new-vae")  # in the working tree only
    with pytest.raises(PullRequestError, match="has no committed changes since main"):
        policy(repo)
    assert main(["ci", "check-pr", "--repo", str(repo), "--no-validate"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "git switch -c my-submission && git add submissions/<name> && git commit" in err


def test_a_maintainer_pr_without_submissions_passes_with_a_note(repo):
    (repo / "docs").mkdir()
    (repo / "docs" / "guide.md").write_text("# guide\n")
    (repo / "disbench").mkdir()
    (repo / "disbench" / "cli.py").write_text("# code\n")
    commit_all(repo)
    report = check_pr(repo, "main", author="maintainer", validate=lambda folder: pytest.fail("nothing to validate"))
    assert report.ok and report.refusals == [] and report.notes == ["no submission changed; nothing to check"]
    assert report.markdown().splitlines()[-1].startswith("**PASSED**: 2 changed file(s)")


def test_classify_refuses_files_outside_submissions_symlinks_and_deletions():
    refusals, names = classify([
        Change("M", "disbench/cli.py", "100644"),
        Change("A", "submissions/README.md", "100644"),
        Change("A", "submissions/x/link.py", "120000"),
        Change("D", "submissions/y/submission.toml", "000000"),
        Change("A", "submissions/z/model.py", "100644", size=10),
    ])
    why = dict(refusals)
    assert "may change only submissions/<name>/" in why["disbench/cli.py"] and "may change only" in why["submissions/README.md"]
    assert "is a symlink" in why["submissions/x/link.py"] and "deletes the submission 'y'" in why["submissions/y/submission.toml"]
    assert "changes 3 submission folders" in why["submissions/"] and "submissions/z/model.py" not in why
    assert names == ["x", "y", "z"]


def test_unknown_base_or_head_names_the_fix(repo):
    with pytest.raises(PullRequestError, match="fetch-depth: 0"):
        check_pr(repo, "nonexistent-base")
    with pytest.raises(PullRequestError, match="git fetch origin pull/<number>/head"):
        check_pr(repo, "main", head="nonexistent-head")


def maintainer_pr(repo):
    """What a maintainer lands: the runner key, a signed record and the rebuilt tables, code, two baselines changed, one removed."""
    (repo / "leaderboards" / "runner-key.pub").write_text("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n")
    (repo / "leaderboards" / "results" / "xysquares-mse-v0" / "alpha" / "quick" / "seed-1.json").write_text('{"signature": "..."}\n')
    (repo / "leaderboards" / "README.md").write_text("# board\n")
    (repo / "disbench").mkdir()
    (repo / "disbench" / "harness.py").write_text("# code\n")
    (repo / "submissions" / "alpha" / "model.py").write_text("# ported to the new interface\n")  # no maintainers listed
    shutil.rmtree(repo / "submissions" / "beta-vae")  # maintained by alice
    make_submission(repo / "submissions", "new-baseline")
    commit_all(repo)


def test_a_maintainer_pr_landing_records_the_key_code_and_baselines_passes(repo, capsys):
    maintainer_pr(repo)
    report = policy_as(repo, "lead", "MEMBER")
    assert report.refusals == [] and report.ok
    assert report.notes[0] == "the author is a disbench maintainer (GitHub: MEMBER): no path rule applies; review it as code"
    assert "changes leaderboards/runner-key.pub, the key every official record is verified against" in report.notes[1]
    assert report.notes[2].startswith("changes 1 record file(s) under leaderboards/results/")
    assert "submissions/beta-vae: removed by a disbench maintainer" in report.notes
    assert main(["ci", "check-pr", "--repo", str(repo), "--author", "lead", "--author-association", "OWNER", "--no-validate"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("**PASSED**: 10 changed file(s), 0 refused")


@pytest.mark.parametrize("association", [None, "CONTRIBUTOR", "FIRST_TIME_CONTRIBUTOR", "NONE"])
def test_the_same_pr_from_anyone_else_is_refused_on_every_rule(repo, association):
    maintainer_pr(repo)
    why = dict(policy_as(repo, "mallory", association).refusals)
    assert why["leaderboards/runner-key.pub"] == KEYS
    assert "come from the official runner" in why["leaderboards/results/xysquares-mse-v0/alpha/quick/seed-1.json"]
    assert "may change only submissions/<name>/" in why["disbench/harness.py"]
    assert "deletes the submission 'beta-vae'" in why["submissions/beta-vae/submission.toml"]
    assert "changes 3 submission folders" in why["submissions/"] and "belongs to its maintainers [none listed]" in why["submissions/alpha/"]


def test_a_maintainer_still_adds_no_private_key_other_key_or_bytecode(repo):
    (repo / "deploy.pem").write_text("-----BEGIN PRIVATE " + "KEY-----\n")
    (repo / "leaderboards" / "other-key.pub").write_text("not the trust root\n")
    folder = make_submission(repo / "submissions", "new-vae")
    (folder / "fast.so").write_bytes(b"\x7fELF")
    (folder / "submission.toml").write_text('name = "other"\n')
    commit_all(repo)
    why = dict(policy_as(repo, "lead", "COLLABORATOR").refusals)
    assert why.pop("deploy.pem") == KEYS and why.pop("leaderboards/other-key.pub") == KEYS
    assert ".so not allowed in a submission" in why.pop("submissions/new-vae/fast.so")
    assert why == {"submissions/new-vae/submission.toml": "declares name = 'other'; it must equal the folder name 'new-vae'"}


def test_check_pr_outside_a_git_repository_says_so(tmp_path, capsys):
    """It used to say git knew no branch 'main' and to pass --base, which cannot help in a folder that is not a repository."""
    (tmp_path / "a-file").write_text("")
    for repo in (tmp_path, tmp_path / "nope", tmp_path / "a-file"):
        assert main(["ci", "check-pr", "--repo", str(repo)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {repo} is not a git repository git can read here (") and "run `disbench ci check-pr` in the clone" in err


@pytest.mark.parametrize("path", ["disbench/harness/record/__pycache__/sign.cpython-311.pyc", "disbench/_speedups.so", "zz_patch.pth"])
def test_compiled_code_is_refused_in_a_pr_that_touches_no_submission(repo, path):
    """A code-only PR adding an unchecked-hash .pyc beside sign.py (it runs instead of the reviewed
    source, and leaves git clean once merged) is refused for every author, maintainers too."""
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_bytes(b"\x00compiled")
    commit_all(repo)
    for report in (policy(repo, author="mallory"), policy_as(repo, "lead", "MEMBER")):
        assert not report.ok and "compiled code" in dict(report.refusals)[path]
