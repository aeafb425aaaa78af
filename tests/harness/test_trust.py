"""The process boundary, tried as an adversarial submitter would (docs/trust.md).

Each test copies the beta-vae baseline into a scratch folder, replaces its model.py with a
misbehaving one, and runs it through the real path: ``run_submission`` -> a child process."""

import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

import disbench
from disbench.error import SubmissionError, TrainingError
from disbench.harness.child.remote import Limits
from disbench.harness.child.sandbox import isolation
from disbench.harness.record import load_record
from disbench.harness.run import run_submission
from disbench.leaderboard.store import CheckContext, Source, load_board

ROOT = Path(__file__).resolve().parents[2]
GENUINE = ROOT / "leaderboards" / "results" / "xysquares-mse-v0" / "beta-vae" / "quick" / "seed-1.json"
HEADER = "import os, json, time, torch\nfrom pathlib import Path\nfrom disbench.methods import BetaVAE\n\n"
BUILD = "\n\ndef build(task_info, latent_dim=9, beta=0.001, **extra):\n    return Model(task_info.obs_shape, latent_dim, beta=beta)\n"


def submission(tmp_path, name, model_py=None):
    folder = tmp_path / name
    shutil.copytree(ROOT / "submissions" / "beta-vae", folder)
    toml = folder / "submission.toml"
    toml.write_text(toml.read_text().replace('name = "beta-vae"', f'name = "{name}"'))
    if model_py is not None:
        (folder / "model.py").write_text(HEADER + textwrap.dedent(model_py) + BUILD)
    return folder


def smoke(folder, tmp_path, **options):
    options.setdefault("evaluate", False)
    options.setdefault("results_dir", tmp_path / "runs" / "results")
    return run_submission(folder, "xysquares-mse", seed=0, protocol="smoke", device="cpu", runs_dir=tmp_path / "runs", progress=False, **options)


def test_patching_the_metrics_from_model_py_changes_nothing(tmp_path):
    """Forgery 1: model.py replaces disbench's evaluate functions with ones that return 1.0."""
    forger = submission(tmp_path, "forger", """
        perfect = lambda *args, **kwargs: {"mig": 1.0, "dci.disentanglement": 1.0}
        try:  # the metrics need the data code, which the child may not import: patch what it can
            import disbench.metrics, disbench.metrics.suites, disbench.task
            disbench.metrics.evaluate = disbench.metrics.suites.evaluate = perfect
            disbench.task.Task.evaluate = perfect
        except ImportError as e:
            print("REFUSED", e)
        import disbench.methods.base
        disbench.methods.base.Method.evaluate = perfect

        class Model(BetaVAE):
            pass
    """)
    honest = submission(tmp_path, "honest")
    forged = smoke(forger, tmp_path, evaluate=True, seal=3)  # one task variant for both, so their scores compare
    genuine = smoke(honest, tmp_path, evaluate=True, seal=3)
    assert forged.metrics == genuine.metrics and forged.metrics["mig"] < 0.5 and len(forged.metrics) > 50


def test_an_unsupervised_method_never_sees_the_factors(tmp_path):
    """Forgery 2: regress the ground-truth factors that a batch used to carry."""
    cheat = submission(tmp_path, "cheat", """
        class Model(BetaVAE):
            def loss(self, batch, recon_loss):
                terms = super().loss(batch, recon_loss)
                terms["loss"] = terms["loss"] + (self.encode(batch.x)[:, :6] - batch.factors.float()).square().mean()
                return terms
    """)
    with pytest.raises(SubmissionError, match="'Observations' object has no attribute 'factors'"):
        smoke(cheat, tmp_path)
    record = load_record(tmp_path / "runs" / "results" / "xysquares-mse-v0" / "cheat" / "smoke" / "seed-0.json")
    assert record.status == "failed" and "factors" in record.error and not record.on_protocol


def test_a_record_written_by_build_is_refused_by_the_board_and_by_verify(tmp_path, capsys):
    """Forgery 3: build() writes result files for a genuine submission, with a better score. In the
    sandbox the results folder is not even visible; without it, the board and verify refuse them."""
    genuine = json.loads(GENUINE.read_text())  # under the tier's current protocol, as a fresh genuine record would be
    tier = disbench.spec(genuine["task"]["id"]).protocols[genuine["protocol"]["name"]]
    genuine["protocol"].update(hash=tier.hash(), config=tier.to_dict())
    results = tmp_path / "runs" / "results"
    forger = submission(tmp_path, "forger", f"""
        genuine = json.loads({json.dumps(json.dumps(genuine))})
        genuine["metrics"]["mig"] = 0.99
        folder = Path({str(results / "xysquares-mse-v0" / "beta-vae" / "quick")!r})
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "seed-1.json").write_text(json.dumps(genuine))
            (folder / "seed-7.json").write_text(json.dumps({{**genuine, "seed": 7}}))
        except OSError as e:
            print("BLOCKED", e)

        class Model(BetaVAE):
            pass
    """)
    smoke(forger, tmp_path)
    forged = results / "xysquares-mse-v0" / "beta-vae" / "quick"
    if isolation().namespaces:
        assert not forged.exists()
        return
    board = load_board([Source(results, "local")], CheckContext(require_signed=True))
    refused = {e.path.name: " ".join(f.reason for f in e.findings) for e in board.refused}
    assert "seed 7" in refused["seed-7.json"] and "signed" in refused["seed-1.json"]
    from disbench.cli import main as cli

    assert cli(["verify", str(forged / "seed-1.json"), "--runs-dir", str(tmp_path / "runs")]) == 1
    assert "[FAIL] checkpoint: no checkpoint at" in capsys.readouterr().out


def test_the_child_gets_no_secrets_a_scratch_folder_and_a_non_dumpable_parent(tmp_path, monkeypatch):
    spy = submission(tmp_path, "spy", """
        print("SEEN", json.dumps({"env": dict(os.environ), "cwd": os.getcwd()}))

        class Model(BetaVAE):
            pass
    """)
    for name, value in {"HF_TOKEN": "hf_secret", "DISBENCH_RUNNER_KEY": "/keys/runner.pem", "MY_API_KEY": "k", "GITHUB_TOKEN": "g"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DISBENCH_RUNNER_KEY")  # a run refuses to start with it (test_attacks.py); the others must not leak
    monkeypatch.setenv("MY_RUNNER_KEY", "/keys/runner.pem")
    smoke(spy, tmp_path)
    log = (tmp_path / "runs" / "xysquares-mse-v0" / "spy" / "smoke" / "seed-0" / "child.log").read_text()
    seen = json.loads(next(line for line in log.splitlines() if line.startswith("SEEN "))[5:])
    assert not {"HF_TOKEN", "MY_RUNNER_KEY", "MY_API_KEY", "GITHUB_TOKEN"} & set(seen["env"])
    assert "secret" not in json.dumps(seen) and Path(seen["cwd"]) != tmp_path and not Path(seen["cwd"]).exists()  # scratch, removed
    assert ctypes.CDLL(None).prctl(3, 0, 0, 0, 0) == 0  # PR_GET_DUMPABLE: the harness is not dumpable


MISBEHAVIOUR = {
    "an exception in loss": ("""
        class Model(BetaVAE):
            def loss(self, batch, recon_loss):
                raise RuntimeError("boom at step")
    """, Limits(), r"failed while taking a training step: RuntimeError: boom at step", True),
    "a hang": ("""
        class Model(BetaVAE):
            def loss(self, batch, recon_loss):
                time.sleep(120)
    """, Limits(request_timeout_s=3), r"did not finish taking a training step within 3 s and was stopped", True),
    "the wall-time limit": ("""
        class Model(BetaVAE):
            def loss(self, batch, recon_loss):
                time.sleep(2)
                return super().loss(batch, recon_loss)
    """, Limits(wall_time_s=15), r"used up its wall-time limit of 15 s", True),
    "an exit": ("""
        class Model(BetaVAE):
            def loss(self, batch, recon_loss):
                os._exit(3)
    """, Limits(), r"process ended while taking a training step \(exit code 3", True),
    "too much memory": ("""
        class Model(BetaVAE):
            def loss(self, batch, recon_loss):
                self.hoard = torch.ones(3 << 30, dtype=torch.uint8)
                return super().loss(batch, recon_loss)
    """, Limits(memory_bytes=2 << 30), r"went over its memory limit of 2 GiB", True),
    "codes of the wrong shape": ("""
        class Model(BetaVAE):
            def encode(self, x):
                return super().encode(x)[:, 0]
    """, Limits(), r"encode\(x\) must return a tensor \[N, D\] with D <= 25; for N = 2 it returned torch.float32 \[2\]", False),
    "NaN codes": ("""
        class Model(BetaVAE):
            def encode(self, x):
                return super().encode(x) * float("nan")
    """, Limits(), r"NaN or inf for freshly initialised weights", False),
    "an import error": ("import no_such_package\n\nclass Model(BetaVAE):\n    pass\n", Limits(), r"No module named 'no_such_package'", False),
}


@pytest.mark.parametrize("case", list(MISBEHAVIOUR))
def test_misbehaving_models_end_with_a_clear_reason_and_nothing_half_written(tmp_path, case):
    source, limits, pattern, during_training = MISBEHAVIOUR[case]
    folder = submission(tmp_path, "bad", source)
    with pytest.raises(SubmissionError, match=pattern):
        smoke(folder, tmp_path, limits=limits)
    run = tmp_path / "runs" / "xysquares-mse-v0" / "bad" / "smoke" / "seed-0"
    record_file = tmp_path / "runs" / "results" / "xysquares-mse-v0" / "bad" / "smoke" / "seed-0.json"
    assert record_file.exists() == during_training  # failures before training have nothing to record
    if during_training:
        assert load_record(record_file).status == "failed"
    assert not list(run.glob("*.tmp")) and not list(run.glob("model-*.pt"))


KILLED_RUN = """
import sys
from disbench.harness.run import run_submission
run_submission(sys.argv[1], "xysquares-mse", seed=0, protocol="smoke", device="cpu", results_dir=None, runs_dir=sys.argv[2],
               progress=False, evaluate=False, log_every=2, checkpoint_every=4)
"""


def test_sigkill_then_resume_reproduces_the_uninterrupted_run(tmp_path):
    folder = submission(tmp_path, "victim")
    options = {"results_dir": None, "evaluate": False, "log_every": 2, "checkpoint_every": 4}
    smoke(folder, tmp_path / "whole", **options)
    runs = tmp_path / "killed" / "runs"
    run = runs / "xysquares-mse-v0" / "victim" / "smoke" / "seed-0"
    process = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(folder), str(runs)])
    deadline = time.monotonic() + 120
    while not (run / "checkpoint.pt").exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    step = torch.load(run / "checkpoint.pt", weights_only=True)["step"]
    assert 4 <= step < 20, "the kill must land mid-run"
    with pytest.raises(TrainingError, match="already holds a run"):
        smoke(folder, tmp_path / "killed", **options)
    smoke(folder, tmp_path / "killed", resume=True, **options)
    whole_run = tmp_path / "whole" / "runs" / "xysquares-mse-v0" / "victim" / "smoke" / "seed-0"
    a, b = (torch.load(next(r.glob("model-*.pt")), weights_only=True) for r in (whole_run, run))
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    rows = [[{k: v for k, v in json.loads(line).items() if k != "steps_per_s"} for line in (r / "curves.jsonl").read_text().splitlines()] for r in (whole_run, run)]
    assert rows[0] == rows[1] and [r["step"] for r in rows[0]] == list(range(2, 21, 2))
