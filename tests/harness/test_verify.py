"""``disbench verify``: a genuine record checks out; an edited record, a swapped checkpoint or a
forged signature does not; the runner signs what it writes when its key is present."""

import json
import shutil
from pathlib import Path

import pytest
import torch

from disbench.cli import main as cli
from disbench.harness.record import load_record
from disbench.harness.signing import KEY_ENV, generate_keypair

ROOT = Path(__file__).resolve().parents[2]
RECORD = Path("runs/results/xysquares-mse-v0/my-vae/smoke/seed-0.json")


@pytest.fixture(scope="module")
def signed_run(tmp_path_factory):
    """One smoke-tier run of a copied beta-vae, made with a throwaway runner key present."""
    folder = tmp_path_factory.mktemp("verify")
    shutil.copytree(ROOT / "submissions" / "beta-vae", folder / "my-vae")
    toml = folder / "my-vae" / "submission.toml"
    toml.write_text(toml.read_text().replace('name = "beta-vae"', 'name = "my-vae"'))
    (folder / "keys").mkdir()
    private, public = generate_keypair(folder / "keys" / "runner.pem", folder / "keys" / "runner.pub")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        mp.setenv(KEY_ENV, str(private))
        assert cli(["run", "my-vae", "--task", "xysquares-mse", "--protocol", "smoke", "--device", "cpu", "--quiet"]) == 0
    return folder, public


def test_a_genuine_signed_record_verifies(signed_run, monkeypatch, capsys):
    folder, public = signed_run
    monkeypatch.chdir(folder)
    record = load_record(RECORD)
    assert record.signature and len(record.checkpoint_sha256) == 64 and record.on_protocol
    assert cli(["verify", str(RECORD), "--public-key", str(public)]) == 0
    out = capsys.readouterr().out
    assert f"[ok] re-scored metrics: all {len(record.metrics)} identical" in out and "[ok] signature: the runner's" in out
    assert "[ok] checkpoint hash: matches" in out and out.rstrip().endswith("VERIFIED")


def test_an_edited_metric_is_caught_twice(signed_run, tmp_path, monkeypatch, capsys):
    folder, public = signed_run
    monkeypatch.chdir(folder)
    data = json.loads(RECORD.read_text())
    data["metrics"]["mig"] = 0.999
    forged = tmp_path / "seed-0.json"
    forged.write_text(json.dumps(data))
    checkpoint = folder / "runs" / "xysquares-mse-v0" / "my-vae" / "smoke" / "seed-0" / "checkpoint.pt"
    assert cli(["verify", str(forged), "--checkpoint", str(checkpoint), "--public-key", str(public)]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] re-scored metrics: mig: record 0.999, now" in out and "[FAIL] signature: does not match" in out
    assert out.rstrip().endswith("NOT VERIFIED")


def test_a_swapped_checkpoint_and_a_missing_one_are_caught(signed_run, tmp_path, monkeypatch, capsys):
    folder, public = signed_run
    monkeypatch.chdir(folder)
    assert cli(["verify", str(RECORD), "--checkpoint", str(tmp_path / "missing.pt")]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] checkpoint: no checkpoint at" in out and "[FAIL] signature: cannot be checked: No runner public key" in out
    run = folder / "runs" / "xysquares-mse-v0" / "my-vae" / "smoke" / "seed-0"
    shutil.copytree(run, tmp_path / "other")
    model = next((tmp_path / "other").glob("model-*.pt"))
    state = torch.load(model, weights_only=True)
    first = next(iter(state["model"]))
    state["model"][first] = state["model"][first] + 0.5  # another model, saved the same way
    torch.save(state, model)
    assert cli(["verify", str(RECORD), "--checkpoint", str(tmp_path / "other" / "checkpoint.pt"), "--public-key", str(public)]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] checkpoint hash: record" in out and "not re-scored" in out and "[ok] signature" in out  # the record itself is genuine


def test_retrain_reproduces_the_record_bit_for_bit(signed_run, monkeypatch, capsys):
    folder, public = signed_run
    monkeypatch.chdir(folder)
    assert cli(["verify", str(RECORD), "--retrain", "--public-key", str(public)]) == 0
    assert "[ok] retrained: every metric identical after training again" in capsys.readouterr().out
