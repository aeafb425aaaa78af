"""The attacks of the second trust review (docs/trust.md), each as a real malicious submission
run through the real path (``run_submission`` -> a sandboxed child), and each stopped for the
stated reason. Tests of the operating system's walls need root, bubblewrap and the cgroup
controllers (CI has them); elsewhere they skip and say why."""

import hashlib
import os
import site
import uuid
from pathlib import Path

import pytest

import disbench
from disbench.cli import main as cli
from disbench.error import SubmissionError, TrainingError
from disbench.harness.child import sandbox
from disbench.harness.child.remote import Limits
from disbench.harness.record import load_record
from disbench.harness.record.signing import KEY_ENV
from tests.harness.test_trust import smoke, submission

TRAVERSALS = Path(disbench.__file__).parent / "viz" / "traversals.py"


@pytest.fixture(scope="module")
def walls():
    """The sandbox's every wall, or a skip naming what this machine lacks. As root it runs
    ``disbench sandbox setup``, which creates the system user ``disbench-child`` if missing (on
    purpose: CI runs as root, and these tests are the sandbox's evidence)."""
    if os.geteuid() == 0 and sandbox.shutil.which("bwrap"):
        sandbox.setup()
    missing = sandbox.isolation().missing()
    if missing:
        pytest.skip("needs the full sandbox: " + "; ".join(missing))


def test_the_child_cannot_write_the_harness_code_or_drop_a_pth_file(walls, tmp_path):
    """Attack 1 (key theft): append a payload to a disbench module the harness imports later, and
    drop a .pth file that every later Python would run. Both writes fail: the code is read-only."""
    pth = Path(site.getsitepackages()[0]) / "zz_disbench_attack.pth"
    before = hashlib.sha256(TRAVERSALS.read_bytes()).hexdigest()
    thief = submission(tmp_path, "thief", f"""
        for target, text in (({str(TRAVERSALS)!r}, "\\n# payload\\n"), ({str(pth)!r}, "import os\\n")):
            try:
                with open(target, "a") as f:
                    f.write(text)
                print("WROTE", target)
            except OSError as e:
                print("BLOCKED", target, type(e).__name__)

        class Model(BetaVAE):
            pass
    """)
    try:
        record = smoke(thief, tmp_path, evaluate=True)
        log = (tmp_path / "runs" / "xysquares-mse-v0" / "thief" / "smoke" / "seed-0" / "child.log").read_text()
        assert "WROTE" not in log and f"BLOCKED {TRAVERSALS}" in log and f"BLOCKED {pth}" in log
        assert hashlib.sha256(TRAVERSALS.read_bytes()).hexdigest() == before and not pth.exists()
        assert record.status == "completed" and record.isolation.official and record.signature is None
    finally:  # never leave a payload behind, whatever happened
        pth.unlink(missing_ok=True)
        if hashlib.sha256(TRAVERSALS.read_bytes()).hexdigest() != before:
            TRAVERSALS.write_text(TRAVERSALS.read_text().replace("\n# payload\n", ""))


def test_a_change_to_the_harness_code_during_a_run_fails_it(tmp_path, monkeypatch):
    """Attack 1 without the walls: the child (here unsandboxed) drops a .pth file on the harness's
    path. The harness's code digest differs at the end, so the run is failed, not scored."""
    monkeypatch.setattr("disbench.harness.child.remote.isolation", lambda: sandbox.Isolation(False, False, False))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    (tmp_path / "site").mkdir()
    dropper = submission(tmp_path, "dropper", f"""
        Path({str(tmp_path / "site" / "evil.pth")!r}).write_text("import os\\n")

        class Model(BetaVAE):
            pass
    """)
    with pytest.raises(TrainingError, match="harness's own code .* changed while this run was going"):
        smoke(dropper, tmp_path, evaluate=True)
    record = load_record(tmp_path / "runs" / "results" / "xysquares-mse-v0" / "dropper" / "smoke" / "seed-0.json")
    assert record.status == "failed" and not record.metrics and not record.isolation.namespaces


@pytest.mark.parametrize("junk", ["__pycache__/model.cpython-311.pyc", "native.so", "evil.pth", "weights.bin"])
def test_files_outside_the_allowlist_are_refused_by_validate_and_run(tmp_path, capsys, junk):
    """Attack 2 (hidden code): a harmless model.py next to compiled bytecode (or a native library,
    a .pth) that would run instead of it. The folder is refused before anything runs."""
    folder = submission(tmp_path, "hider")
    (folder / junk).parent.mkdir(exist_ok=True)
    (folder / junk).write_bytes(b"\0hidden code")
    assert cli(["validate", str(folder), "--no-smoke"]) == 1
    out = capsys.readouterr().out
    assert "holds files a submission may not hold" in out and junk.split("/")[0] in out
    with pytest.raises(SubmissionError, match="may not hold"):
        smoke(folder, tmp_path)


def test_a_symlink_in_a_submission_is_refused(tmp_path):
    folder = submission(tmp_path, "linker")
    (folder / "helper.py").symlink_to(folder / "model.py")
    with pytest.raises(SubmissionError, match="helper.py is a symlink"):
        smoke(folder, tmp_path)


def test_a_patched_base_optimizer_is_caught_by_the_harness(tmp_path):
    """Attack 4a: patch ``Method.configure_optimizer`` itself (so the method 'does not override
    it') to SGD at lr 0.01 (a rate that trains, so the run completes). The harness reads the saved
    optimizer state and marks the run off-protocol."""
    patcher = submission(tmp_path, "patcher", """
        import disbench.methods.base as base
        base.Method.configure_optimizer = lambda self, lr: torch.optim.SGD(self.parameters(), lr=0.01)

        class Model(BetaVAE):
            pass
    """)
    record = smoke(patcher, tmp_path, evaluate=True)
    assert not record.on_protocol
    assert any("the optimizer state is not the protocol's Adam" in r and "'lr': 0.01" in r for r in record.off_protocol_reasons)


def test_an_honest_run_passes_the_optimizer_check(tmp_path):
    record = smoke(submission(tmp_path, "honest"), tmp_path, evaluate=True)
    assert record.on_protocol and record.off_protocol_reasons == []


def test_flipping_supervision_after_build_gets_no_pairs(tmp_path):
    """Attack 4b: an entry declared unsupervised flips to weak pairs after build() is checked."""
    flipper = submission(tmp_path, "flipper", """
        class Model(BetaVAE):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)

            def train(self, mode=True):
                self.supervision = "weak-pairs"
                return super().train(mode)
    """)
    with pytest.raises(SubmissionError, match="submission.toml declares 'unsupervised'"):
        smoke(flipper, tmp_path)


def test_processes_the_child_starts_die_with_it(walls, tmp_path):
    """Attack 5: a double-forked, setsid process that outlives the child (to edit records later)."""
    marker = f"disbench-orphan-{uuid.uuid4().hex}"
    spawner = submission(tmp_path, "spawner", f"""
        import subprocess, sys
        subprocess.Popen([sys.executable, "-c", "import os, time\\nif os.fork() == 0:\\n    os.setsid()\\n    time.sleep(600)  # {marker}"],
                         start_new_session=True)

        class Model(BetaVAE):
            pass
    """)
    smoke(spawner, tmp_path)
    survivors = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker.encode() in cmdline.read_bytes():
                survivors.append(cmdline.parent.name)
        except OSError:
            pass
    assert survivors == []


def test_the_child_cannot_signal_or_read_the_harness(walls, tmp_path):
    """Attack 6: SIGSTOP and SIGKILL to the harness, a read of its environment, and a connection
    to a port the harness listens on (on this machine's loopback)."""
    import socket

    harness, listener = os.getpid(), socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stopper = submission(tmp_path, "stopper", f"""
        import signal
        for what, act in (("stop", lambda: os.kill({harness}, signal.SIGSTOP)), ("kill", lambda: os.kill({harness}, signal.SIGKILL)),
                          ("environ", lambda: open("/proc/{harness}/environ", "rb").read()), ("network", lambda: __import__("socket").create_connection(("127.0.0.1", {port}), 1))):
            try:
                act()
                print("REACHED", what)
            except OSError as e:
                print("BLOCKED", what, e.errno)

        class Model(BetaVAE):
            pass
    """)
    with listener:
        smoke(stopper, tmp_path)
    log = (tmp_path / "runs" / "xysquares-mse-v0" / "stopper" / "smoke" / "seed-0" / "child.log").read_text()
    assert "REACHED" not in log
    assert "BLOCKED stop 3" in log and "BLOCKED network 111" in log  # no such process in its namespace; its loopback is its own


def test_a_run_refuses_to_start_with_the_signing_key_in_its_environment(tmp_path, monkeypatch):
    """Signing is a separate step: the key is never in the training process tree."""
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "runner.pem"))
    with pytest.raises(TrainingError, match="must never be in the environment of a training run.*disbench sign"):
        smoke(submission(tmp_path, "honest"), tmp_path)


def test_memory_is_limited_for_the_whole_tree(walls, tmp_path):
    """Attack 5b: stay under a per-process memory limit by spreading 2 GiB over helper processes.
    The cgroup counts the whole tree, so with 2 GiB allowed the kernel kills one of them (a helper,
    or the child itself, which then fails the run with that reason)."""
    hoarder = submission(tmp_path, "hoarder", """
        import subprocess, sys
        hoard = "import time\\nx = bytearray(900 << 20)\\nfor i in range(0, len(x), 4096):\\n    x[i] = 1\\ntime.sleep(3)"
        helpers = [subprocess.Popen([sys.executable, "-c", hoard]) for _ in range(3)]
        print("HELPERS", [h.wait(timeout=60) for h in helpers])

        class Model(BetaVAE):
            pass
    """)
    try:
        smoke(hoarder, tmp_path, limits=Limits(memory_bytes=2 << 30))  # each helper is within the 2 GiB per-process limit
    except SubmissionError as e:
        assert "killed for going over its memory limit of 2 GiB" in str(e)
        return
    log = (tmp_path / "runs" / "xysquares-mse-v0" / "hoarder" / "smoke" / "seed-0" / "child.log").read_text()
    codes = [int(c) for c in log.split("HELPERS [", 1)[1].split("]", 1)[0].split(",")]
    assert -9 in codes  # SIGKILLed by the kernel's OOM killer inside the cgroup
