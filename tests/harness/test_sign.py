"""``disbench sign``: a step apart from training that signs only records it can vouch for."""

import subprocess

import pytest

from disbench.cli import main as cli
from disbench.harness.child import sandbox
from disbench.harness.record import load_record
from disbench.harness.record.signing import KEY_ENV, generate_keypair, load_public_key, verify
from disbench.harness.run import integrity
from tests.harness.test_attacks import walls  # noqa: F401 - the fixture
from tests.harness.test_trust import smoke, submission


@pytest.fixture(autouse=True)
def clean_install(monkeypatch):
    """The runs here come from this checkout, which may have local changes while someone works on
    it: the start-of-run check reports it clean (its own test is below), so the rest is tested."""
    code_check_says(monkeypatch, "matches git commit (test)")


def code_check_says(monkeypatch, verdict: str) -> None:
    """Runs started from now take the real code digest, with ``verdict`` as their installation check."""
    monkeypatch.setattr(integrity.HarnessCode, "take", classmethod(lambda cls: cls(integrity.code_digest(), verdict)))


def record_file(tmp_path, name):
    return tmp_path / "runs" / "results" / "xysquares-mse-v0" / name / "smoke" / "seed-0.json"


def sign(tmp_path, monkeypatch, *records):
    if not (tmp_path / "runner.pem").exists():
        generate_keypair(tmp_path / "runner.pem", tmp_path / "runner.pub")
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "runner.pem"))
    try:
        return cli(["sign", *map(str, records), "--submissions", str(tmp_path), "--runs-dir", str(tmp_path / "runs"), "--public-key", str(tmp_path / "runner.pub")])
    finally:
        monkeypatch.delenv(KEY_ENV)


def test_an_official_run_is_signed_once_and_a_changed_submission_is_refused(walls, tmp_path, monkeypatch, capsys):  # noqa: F811
    folder = submission(tmp_path, "honest")
    smoke(folder, tmp_path, evaluate=True)
    path = record_file(tmp_path, "honest")
    assert sign(tmp_path, monkeypatch, path.parents[3]) == 0  # a folder of records
    assert "signed  " in capsys.readouterr().out
    assert verify(load_record(path), load_public_key(tmp_path / "runner.pub"))
    assert sign(tmp_path, monkeypatch, path) == 0 and "already signed with this key" in capsys.readouterr().out
    smoke(folder, tmp_path, evaluate=True, overwrite=True)  # a fresh, unsigned record of the same run ...
    (folder / "README.md").write_text("changed after the run\n")  # ... whose code then changes
    assert sign(tmp_path, monkeypatch, path) == 1
    assert "has changed since the run (content hash " in capsys.readouterr().out and load_record(path).signature is None


def test_a_run_without_the_walls_is_never_signed(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("disbench.harness.child.remote.isolation", lambda: sandbox.Isolation(True, False, False))
    smoke(submission(tmp_path, "loose"), tmp_path, evaluate=True)
    path = record_file(tmp_path, "loose")
    assert sign(tmp_path, monkeypatch, path) == 1
    out = capsys.readouterr().out
    assert "refused" in out and "did not run with every wall of the sandbox" in out and "0 signed, 1 refused" in out
    assert load_record(path).signature is None


def test_sign_refuses_a_key_that_is_not_the_published_one(tmp_path, monkeypatch, capsys):
    generate_keypair(tmp_path / "runner.pem", tmp_path / "runner.pub")
    generate_keypair(tmp_path / "other.pem", tmp_path / "other.pub")
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "runner.pem"))
    assert cli(["sign", str(tmp_path / "none.json"), "--public-key", str(tmp_path / "other.pub")]) == 2
    assert "is not the pair of" in capsys.readouterr().err


def test_sign_refuses_a_folder_without_records(tmp_path, monkeypatch, capsys):
    """`sign emptydir` (or the submissions folder, mistaken for the results) used to print '0 signed, 0 refused', exit 0."""
    monkeypatch.delenv(KEY_ENV, raising=False)  # refused before the key is even looked for
    (tmp_path / "empty").mkdir()
    assert cli(["sign", str(tmp_path / "empty")]) == 2
    assert capsys.readouterr().err == (f"error: No result records (seed-<n>.json) under {tmp_path / 'empty'}; give record files or the "
                                       "folder `disbench run --results-dir` wrote them to.\n")


@pytest.mark.parametrize("missing", [True, False])
def test_sign_without_the_key_is_one_line(tmp_path, monkeypatch, capsys, missing):
    monkeypatch.delenv(KEY_ENV, raising=False)
    if not missing:
        monkeypatch.setenv(KEY_ENV, str(tmp_path / "nowhere.pem"))
    assert cli(["sign", str(tmp_path / "seed-0.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and KEY_ENV in err and len(err.strip().splitlines()) == 1


def test_a_run_from_changed_code_is_refused(walls, tmp_path, monkeypatch, capsys):  # noqa: F811
    """The start-of-run check said the package was not its commit: the record says so, sign refuses."""
    code_check_says(monkeypatch, "differs from git commit 0123456789ab: disbench/metrics/mig.py")
    smoke(submission(tmp_path, "patched"), tmp_path, evaluate=True)
    path = record_file(tmp_path, "patched")
    assert load_record(path).environment["code_check"].startswith("differs")
    assert sign(tmp_path, monkeypatch, path) == 1 and "was not checked clean at the run's start" in capsys.readouterr().out


def test_the_code_check_compares_the_package_with_its_commit_or_its_wheel(tmp_path, monkeypatch):
    """A clone: clean at its commit, then an edited and an added module are named. A wheel: its
    RECORD's hashes decide, whatever git says."""
    package = tmp_path / "repo" / "disbench"
    package.mkdir(parents=True)
    (package / "a.py").write_text("x = 1\n")
    git = ["git", "-C", str(tmp_path / "repo"), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "c"], check=True)
    monkeypatch.setattr(integrity, "PACKAGE", package)
    monkeypatch.setattr(integrity, "wheel_hashes", lambda: {})
    assert integrity.code_check().startswith("matches git commit")
    (package / "a.py").write_text("x = 2\n")
    (package / "b.py").write_text("")
    found = integrity.code_check()
    assert found.startswith("differs from git commit") and "disbench/a.py" in found and "disbench/b.py" in found
    record = {path: integrity._record_hash(path) for path in (package / "a.py", package / "b.py")}
    monkeypatch.setattr(integrity, "wheel_hashes", lambda: record)
    assert integrity.code_check() == "matches the installed wheel's RECORD"
    (package / "b.py").write_text("import os\n")
    assert integrity.code_check() == "differs from the installed wheel's RECORD: disbench/b.py"
