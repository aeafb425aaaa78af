"""The attacks of the third trust review (docs/trust.md): a submission turning the files and
memory it shares with the harness against it. Each is a real malicious submission through the
real path; the child runs without the operating system's walls here (as it would on a machine
without them), because each defence lies in what the harness itself does with the shared
scratch folder, buffers and messages."""

import hashlib
import json
import os
import subprocess

import pytest

from disbench.cli import main as cli
from disbench.error import SubmissionError
from disbench.harness.child import sandbox
from disbench.harness.child.remote import Limits
from disbench.harness.child.scratch import Scratch
from disbench.harness.run import integrity
from disbench.harness.submission import Submission
from disbench.registration import registry
from tests.harness.test_trust import smoke, submission

SECRET = "RUNNER-SECRET-4f1c"


@pytest.fixture(autouse=True)
def no_walls(monkeypatch):
    monkeypatch.setattr("disbench.harness.child.remote.isolation", lambda: sandbox.Isolation(False, False, False))


@pytest.fixture
def secret(tmp_path):
    """A host file the submission must neither read nor overwrite (the runner's key, say)."""
    path = tmp_path / "outside" / "runner.pem"
    path.parent.mkdir()
    path.write_text(SECRET + "\n")
    path.chmod(0o600)
    return path


def test_a_symlink_planted_at_load_pt_is_not_written_through(tmp_path, secret):
    """The child plants ``load.pt -> <host file>`` in its scratch folder; when the harness hands it
    a model to load (eval, verify, resume) it used to copy the model through the link, as root."""
    planter = submission(tmp_path, "planter", f"""
        if not os.path.lexists("load.pt"):  # the working directory is the scratch folder (model.py is imported twice)
            os.symlink({str(secret)!r}, "load.pt")

        class Model(BetaVAE):
            pass
    """)
    smoke(planter, tmp_path)
    checkpoint = tmp_path / "runs" / "xysquares-mse-v0" / "planter" / "smoke" / "seed-0" / "checkpoint.pt"
    assert cli(["eval", str(checkpoint), "--json"]) == 0
    assert secret.read_text() == SECRET + "\n"


@pytest.mark.parametrize("kind, why", [
    ("symlink", "left a symbolic link as its model file"),
    ("hardlink", "a hard link"),
    ("fifo", "not a regular file"),
])
def test_a_model_file_that_is_not_the_childs_own_plain_file_is_refused(tmp_path, secret, kind, why):
    """The child answers 'saved' with ``save.pt`` pointing at a host file (the deterministic form of
    swapping it between the harness's check and its copy): the harness copies nothing."""
    make = {"symlink": f"os.symlink({str(secret)!r}, path)", "hardlink": "open('mine', 'w').close(); os.link('mine', path)",
            "fifo": "os.mkfifo(path)"}[kind]
    saver = submission(tmp_path, "saver", f"""
        import disbench.harness.child.learner as learner

        def save(self, path):
            {make}

        learner.Learner.save = save

        class Model(BetaVAE):
            pass
    """)
    with pytest.raises(SubmissionError, match=why):
        smoke(saver, tmp_path)
    folder = tmp_path / "runs" / "xysquares-mse-v0" / "saver" / "smoke" / "seed-0"
    assert not any(SECRET in f.read_text(errors="replace") for f in folder.rglob("*") if f.is_file() and f.name != "child.log")


def test_truncating_the_shared_buffers_is_refused(tmp_path):
    """Shrinking the memory both processes map would make the harness's next write a SIGBUS: the
    harness dead, no record, and a sweep that resumes the run. The buffers are sealed at their size."""
    truncator = submission(tmp_path, "truncator", """
        for fd in os.listdir("/proc/self/fd"):
            try:
                if "memfd:disbench" in os.readlink(f"/proc/self/fd/{fd}"):
                    os.ftruncate(int(fd), 0)
                    print("TRUNCATED", flush=True)
            except OSError as e:
                print("BLOCKED", e.errno, flush=True)

        class Model(BetaVAE):
            pass
    """)
    record = smoke(truncator, tmp_path, evaluate=True)
    log = (tmp_path / "runs" / "xysquares-mse-v0" / "truncator" / "smoke" / "seed-0" / "child.log").read_text()
    assert record.status == "completed" and "TRUNCATED" not in log and log.count("BLOCKED 1") >= 2  # EPERM, both buffers


def test_a_file_over_the_size_limit_cannot_be_written(tmp_path):
    """A child filling the runner's disk through one file (a model, a sparse one, its log) hits its
    file-size limit; the run fails saying so."""
    filler = submission(tmp_path, "filler", """
        with open("filler.bin", "wb") as f:
            f.write(b"x" * (3 << 20))

        class Model(BetaVAE):
            pass
    """)
    with pytest.raises(SubmissionError, match="File too large"):
        smoke(filler, tmp_path, limits=Limits(file_bytes=2 << 20))


def test_a_model_file_over_the_limit_is_not_copied(tmp_path):
    folder, out = tmp_path / "scratch", tmp_path / "run" / "model.pt"
    folder.mkdir()
    with open(folder / "save.pt", "wb") as f:
        f.truncate(5 << 20)  # sparse: costs the child nothing, the runner 5 MiB once copied
    scratch = Scratch(folder, max_file_bytes=1 << 20)
    with pytest.raises(SubmissionError, match="above the harness's limit"):
        scratch.take("save.pt", out)
    scratch.close()
    assert not out.exists() and (not out.parent.exists() or list(out.parent.iterdir()) == [])


def test_the_log_tail_is_read_from_the_log_the_harness_opened(tmp_path, secret, capsys):
    """Where a child's log lives in its scratch folder (validate, eval), it replaces the log with a
    link to a host file and dies: the harness used to print the file's last lines as the log's."""
    leaker = submission(tmp_path, "leaker", f"""
        print("about to leave", flush=True)
        if os.path.lexists("child.log"):
            os.remove("child.log")
        os.symlink({str(secret)!r}, "child.log")
        os._exit(3)
    """)
    assert cli(["validate", str(leaker), "--no-smoke"]) == 1
    out = capsys.readouterr().out
    assert "exit code 3" in out and "about to leave" in out and SECRET not in out


def test_the_childs_step_does_not_overwrite_the_harnesss_in_the_curve(tmp_path):
    liar = submission(tmp_path, "liar", """
        class Model(BetaVAE):
            def loss(self, batch, recon_loss):
                return {**super().loss(batch, recon_loss), "step": torch.tensor(10.0**9)}
    """)
    smoke(liar, tmp_path)
    lines = (tmp_path / "runs" / "xysquares-mse-v0" / "liar" / "smoke" / "seed-0" / "curves.jsonl").read_text().splitlines()
    steps = [json.loads(line)["step"] for line in lines]
    assert steps == sorted(steps) and 0 < steps[-1] == registry["xysquares-mse-v0"].protocols["smoke"].steps


def test_a_window_without_the_total_loss_fails_the_run(tmp_path):
    patcher = submission(tmp_path, "patcher", """
        import disbench.harness.child.learner as learner
        end_window = learner.Learner.end_window
        learner.Learner.end_window = lambda self: ({k: v for k, v in end_window(self)[0].items() if k != "loss"}, None)

        class Model(BetaVAE):
            pass
    """)
    with pytest.raises(SubmissionError, match="without the total 'loss'"):
        smoke(patcher, tmp_path)


def test_a_crash_in_the_model_says_where(tmp_path):
    crasher = submission(tmp_path, "crasher", """
        class Model(BetaVAE):
            def loss(self, batch, recon_loss):
                raise ValueError("boom")
    """)
    with pytest.raises(SubmissionError) as e:
        smoke(crasher, tmp_path)
    assert "while taking a training step: ValueError: boom" in str(e.value)
    assert "model.py" in str(e.value) and 'raise ValueError("boom")' in str(e.value)


def test_a_text_file_that_holds_another_file_is_refused(tmp_path):
    """The content hash ends each path and file with NUL, so a .md holding ``\\0evil.py\\0<code>``
    hashed as a folder with a separate evil.py: sign's and verify's "same code" check could pass
    for different code. Files with NUL bytes are refused, which makes the hash one folder's."""
    one, two = submission(tmp_path, "hashed"), tmp_path / "two" / "hashed"
    two.parent.mkdir()
    (one / "NOTES.md").write_bytes(b"notes\0evil.py\0print('evil')")
    subprocess.run(["cp", "-r", str(one), str(two)], check=True)
    (two / "NOTES.md").write_bytes(b"notes")
    (two / "evil.py").write_bytes(b"print('evil')")
    with pytest.raises(SubmissionError, match="NOTES.md holds NUL bytes"):
        Submission(one).content_hash()
    assert Submission(two).content_hash()  # the honest layout still hashes
    assert cli(["validate", str(one), "--no-smoke"]) == 1


def test_tracked_bytecode_in_the_package_fails_the_code_check(tmp_path, monkeypatch):
    """A PR adding ``disbench/.../__pycache__/sign.cpython-311.pyc`` (an unchecked-hash .pyc runs
    instead of the reviewed sign.py) leaves git clean once committed: the code check names it."""
    package = tmp_path / "repo" / "disbench"
    (package / "__pycache__").mkdir(parents=True)
    (package / "sign.py").write_text("def refusal(record):\n    return 'checked'\n")
    (package / "__pycache__" / "sign.cpython-311.pyc").write_bytes(hashlib.sha256(b"forged").digest())
    git = ["git", "-C", str(tmp_path / "repo")]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-f", "."], check=True)
    subprocess.run([*git, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "x"], check=True)
    monkeypatch.setattr(integrity, "PACKAGE", package)
    monkeypatch.setattr(integrity, "wheel_hashes", lambda: {})
    verdict = integrity.code_check()
    assert verdict.startswith("differs") and "disbench/__pycache__/sign.cpython-311.pyc" in verdict


def test_a_planted_folder_at_the_exchange_name_is_refused(tmp_path):
    folder = tmp_path / "scratch"
    (folder / "load.pt").mkdir(parents=True)
    scratch = Scratch(folder, max_file_bytes=1 << 20)
    model = tmp_path / "model.pt"
    model.write_bytes(b"weights")
    with pytest.raises(SubmissionError, match="made a folder at load.pt"):
        scratch.give(model, "load.pt")
    scratch.close()
    assert os.listdir(folder / "load.pt") == []
