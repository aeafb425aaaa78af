"""``disbench verify``: a genuine record checks out; an edited record, a swapped checkpoint or a
forged signature does not; a checkpoint naming other code, or a model outside its folder, is refused."""

import json
import shutil
from pathlib import Path

import pytest
import torch

from disbench.cli import main as cli
from disbench.harness.record import load_record, write_record
from disbench.harness.record.signing import KEY_ENV, generate_keypair, load_private_key, sign

ROOT = Path(__file__).resolve().parents[2]
RECORD = Path("runs/results/xysquares-mse-v0/my-vae/smoke/seed-0.json")


@pytest.fixture(scope="module")
def signed_run(tmp_path_factory):
    """One smoke-tier run of a copied beta-vae, then signed with a throwaway runner key (the
    signing policy of ``disbench sign`` has its own tests in test_sign.py)."""
    folder = tmp_path_factory.mktemp("verify")
    shutil.copytree(ROOT / "submissions" / "beta-vae", folder / "my-vae")
    toml = folder / "my-vae" / "submission.toml"
    toml.write_text(toml.read_text().replace('name = "beta-vae"', 'name = "my-vae"'))
    (folder / "keys").mkdir()
    private, public = generate_keypair(folder / "keys" / "runner.pem", folder / "keys" / "runner.pub")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        assert cli(["run", "my-vae", "--task", "xysquares-mse", "--protocol", "smoke", "--device", "cpu", "--quiet"]) == 0
        mp.setenv(KEY_ENV, str(private))
        record = load_record(RECORD)
        record.signature = sign(record, load_private_key())
        write_record(record, RECORD)
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
    monkeypatch.setattr("disbench.harness.record.signing._REPO_ROOT", tmp_path)  # no key anywhere (the clone's own is not this run's)
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


def test_a_checkpoint_naming_other_code_or_a_model_outside_its_folder_is_refused(signed_run, tmp_path, monkeypatch, capsys):
    """Attack: keep the genuine record and model, but point the checkpoint at an oracle's folder
    (re-scoring would run the oracle), or at a model file elsewhere."""
    folder, public = signed_run
    monkeypatch.chdir(folder)
    oracle = tmp_path / "oracle"
    shutil.copytree(folder / "my-vae", oracle)
    (oracle / "model.py").write_text((oracle / "model.py").read_text() + "\n# an oracle's encode would be here\n")
    run = tmp_path / "run"
    shutil.copytree(folder / "runs" / "xysquares-mse-v0" / "my-vae" / "smoke" / "seed-0", run)
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    torch.save({**state, "submission_path": str(oracle)}, run / "checkpoint.pt")
    assert cli(["verify", str(RECORD), "--checkpoint", str(run / "checkpoint.pt"), "--public-key", str(public)]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] content hash:" in out and "has changed since the run" in out and "re-scored metrics" not in out
    elsewhere = tmp_path / "elsewhere.pt"
    shutil.copy(run / state["model_file"], elsewhere)
    torch.save({**state, "model_file": "../elsewhere.pt"}, run / "checkpoint.pt")
    assert cli(["verify", str(RECORD), "--checkpoint", str(run / "checkpoint.pt"), "--public-key", str(public)]) == 1
    assert "outside its run folder; refused" in capsys.readouterr().out


def test_an_unsigned_record_says_so(signed_run, tmp_path, monkeypatch, capsys):
    folder, _ = signed_run
    monkeypatch.chdir(folder)
    data = json.loads(RECORD.read_text())
    data["signature"] = None
    unsigned = tmp_path / "seed-0.json"
    unsigned.write_text(json.dumps(data))
    checkpoint = folder / "runs" / "xysquares-mse-v0" / "my-vae" / "smoke" / "seed-0" / "checkpoint.pt"
    assert cli(["verify", str(unsigned), "--checkpoint", str(checkpoint)]) == 0
    out = capsys.readouterr().out
    assert "[ok] signature: none: the record is unsigned" in out and out.rstrip().endswith("VERIFIED (unsigned: not from the official runner)")


def test_a_public_key_the_user_names_must_exist(tmp_path, capsys):
    """A mistyped --public-key stops verify at once, naming the file, instead of a failed signature check per record."""
    records = [str(tmp_path / "a.json"), str(tmp_path / "b.json")]  # never read: the key is checked first
    assert cli(["verify", *records, "--public-key", str(tmp_path / "nonexist.pub")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith(f"error: The public key file {tmp_path / 'nonexist.pub'} does not exist")


def test_one_checkpoint_for_several_records_is_refused(tmp_path, capsys):
    """It used to check every record against the one --checkpoint, which belongs to one run at most."""
    assert cli(["verify", "a.json", "b.json", "--checkpoint", str(tmp_path / "checkpoint.pt")]) == 2
    assert capsys.readouterr().err.startswith("error: --checkpoint names one run's checkpoint, but 2 records were given")
