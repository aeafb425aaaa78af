"""The training harness on tiny budgets: determinism, resume, NaN handling, records, CLI."""

import json
import shutil
from pathlib import Path

import pytest
import torch

import disbench
from disbench.cli import main as cli
from disbench.error import TrainingError
from disbench.harness.record import RunResult, SubmissionRecord, load_record, load_records
from disbench.harness.run.train import train
from disbench.methods import BetaVAE
from disbench.protocol import Protocol

ROOT = Path(__file__).resolve().parents[2]
TINY = Protocol("smoke", steps=8, batch_size=4, latent_dim=25, metric_suite="smoke", seeds=(0,))


def fresh(seed=0, cls=BetaVAE, **kwargs):
    torch.manual_seed(seed)
    return cls((3, 64, 64), 4, beta=0.001, **kwargs)


def run(tmp_path, name, method, **kwargs):
    kwargs.setdefault("evaluate", False)
    kwargs.setdefault("protocol", TINY)
    return train(disbench.make("xysquares-mse"), method, seed=0, device="cpu", out_dir=tmp_path / name,
                 log_every=2, checkpoint_every=2, progress=False, results_dir=None, **kwargs)


def same_weights(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def curves(folder):
    return [json.loads(line) for line in (folder / "curves.jsonl").read_text().splitlines()]


def test_same_seed_same_training(tmp_path):
    a, b = fresh(), fresh()
    run(tmp_path, "a", a)
    run(tmp_path, "b", b)
    assert same_weights(a, b)
    assert [r["loss"] for r in curves(tmp_path / "a")] == [r["loss"] for r in curves(tmp_path / "b")]
    assert [r["step"] for r in curves(tmp_path / "a")] == [2, 4, 6, 8]


class Interrupted(BetaVAE):
    """Raises KeyboardInterrupt at a given step, like a user pressing Ctrl-C."""

    def __init__(self, *args, stop_at, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls, self.stop_at = 0, stop_at

    def loss(self, batch, recon_loss):
        self.calls += 1
        if self.calls == self.stop_at:
            raise KeyboardInterrupt
        return super().loss(batch, recon_loss)


def test_resume_after_interruption_is_identical_to_an_uninterrupted_run(tmp_path):
    whole = fresh()
    run(tmp_path, "whole", whole)
    broken = fresh(cls=Interrupted, stop_at=6)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, "resumed", broken)
    assert torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=False)["step"] == 4
    with pytest.raises(TrainingError, match="resume=True"):
        run(tmp_path, "resumed", fresh())
    resumed = fresh(seed=123)  # different init: everything must come from the checkpoint
    run(tmp_path, "resumed", resumed, resume=True)
    assert same_weights(whole, resumed)
    assert curves(tmp_path / "whole") == [
        {**row, "steps_per_s": whole_row["steps_per_s"]} for row, whole_row in zip(curves(tmp_path / "resumed"), curves(tmp_path / "whole"))
    ]


def test_the_curve_is_scored_at_its_steps_and_survives_a_resume(tmp_path):
    curved = Protocol("smoke", steps=8, batch_size=4, latent_dim=25, metric_suite="smoke", seeds=(0,), curve={"mig": 3}, curve_suite="smoke")
    options = {"protocol": curved, "evaluate": True}
    whole = run(tmp_path, "whole", fresh(), **options)
    assert [step for step, _ in whole.curve["mig"]] == [3, 6]  # every 3 steps, never at step 0
    assert whole.max_during_training == {"mig": max(v for _, v in whole.curve["mig"])}
    assert whole.training.curve_time_s > 0
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, "resumed", fresh(cls=Interrupted, stop_at=6), **options)
    assert [p["step"] for p in torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=True)["curve"]] == [3]
    resumed = run(tmp_path, "resumed", fresh(seed=123), resume=True, **options)
    assert resumed.curve == whole.curve and resumed.max_during_training == whole.max_during_training
    assert resumed.metrics == whole.metrics
    with pytest.raises(ValueError, match="maximum of each metric's curve"):
        RunResult.model_validate({**whole.model_dump(), "max_during_training": {"mig": 1.0}})


class Exploding(BetaVAE):
    def __init__(self, *args, nan_at, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls, self.nan_at = 0, nan_at

    def loss(self, batch, recon_loss):
        self.calls += 1
        terms = super().loss(batch, recon_loss)
        if self.calls >= self.nan_at:
            terms["loss"] = terms["loss"] * float("nan")
        return terms


def test_nan_loss_stops_names_the_step_keeps_the_checkpoint_and_records_a_failure(tmp_path):
    method = fresh(cls=Exploding, nan_at=5)
    with pytest.raises(TrainingError, match="non-finite .* at step 5"):
        run(tmp_path, "nan", method, submission=SubmissionRecord(name="exploding", version="1", content_hash="0" * 64, supervision="unsupervised", hyperparameters={}), evaluate=True)
    assert torch.load(tmp_path / "nan" / "checkpoint.pt", weights_only=False)["step"] == 4
    record = load_record(tmp_path / "nan" / "result.json")
    assert record.status == "failed" and record.metrics == {} and "step 5" in record.error and not record.on_protocol


def test_completed_record_has_everything_the_leaderboard_needs(tmp_path):
    record = run(tmp_path, "full", fresh(), submission=SubmissionRecord(name="tiny", version="0.1", content_hash="a" * 64, supervision="unsupervised", hyperparameters={"beta": 0.001}), evaluate=True)
    again = load_record(tmp_path / "full" / "result.json")
    assert again == record and record.status == "completed"
    assert record.task.id == "xysquares-mse-v0" and record.task.spec["kwargs"]["grid_spacing"] == 8
    assert record.protocol.hash == TINY.hash() and record.seed == 0 and record.training.steps == 8
    assert not record.on_protocol  # a custom budget is not one of the task's tiers
    assert {"mig", "dci.disentanglement", "factor_vae.eval_accuracy"} <= set(record.metrics)
    assert record.environment["torch"] == torch.__version__.split("+")[0] or record.environment["torch"].startswith(torch.__version__.split("+")[0])
    assert (tmp_path / "full" / "traversals.png").stat().st_size > 5_000
    with pytest.raises(ValueError, match="needs an error"):
        RunResult.model_validate({**record.model_dump(), "status": "failed"})
    with pytest.raises(ValueError, match="finite"):
        RunResult.model_validate({**record.model_dump(), "metrics": {"mig": float("nan")}})


def test_latent_size_above_the_protocol_is_refused(tmp_path):
    torch.manual_seed(0)
    with pytest.raises(disbench.error.SubmissionError, match="at most 25"):
        run(tmp_path, "big", BetaVAE((3, 64, 64), 30))


def test_cli_run_and_eval_a_copied_submission(tmp_path, monkeypatch, capsys):
    """The user journey: copy beta-vae, run it on the smoke tier, find its record, evaluate the checkpoint."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(ROOT / "submissions" / "beta-vae", tmp_path / "my-vae")
    toml = tmp_path / "my-vae" / "submission.toml"
    toml.write_text(toml.read_text().replace('name = "beta-vae"', 'name = "my-vae"'))
    assert cli(["validate", "my-vae", "--no-smoke"]) == 0
    assert cli(["run", "my-vae", "--task", "xysquares-mse", "--protocol", "smoke", "--seeds", "0", "--device", "cpu", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "my-vae" in printed and "mig" in printed
    assert not (tmp_path / "leaderboards").exists()  # local runs never write into the leaderboard's folder
    records = load_records(tmp_path / "runs" / "results")
    assert len(records) == 1 and records[0].on_protocol and records[0].submission.name == "my-vae"
    path = tmp_path / "runs" / "results" / "xysquares-mse-v0" / "my-vae" / "smoke" / "seed-0.json"
    assert path.exists() and path.with_name("seed-0.traversals.png").stat().st_size > 5_000
    assert "of 6" in printed and "metrics shown; every metric is in the records" in printed
    checkpoint = tmp_path / "runs" / "xysquares-mse-v0" / "my-vae" / "smoke" / "seed-0" / "checkpoint.pt"
    assert cli(["eval", str(checkpoint), "--protocol", "smoke", "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["mig"] == pytest.approx(records[0].metrics["mig"])


def test_cli_validate_reports_failures(tmp_path, capsys):
    folder = tmp_path / "broken"
    shutil.copytree(ROOT / "submissions" / "beta-vae", folder)
    (folder / "model.py").write_text(
        "import torch\nfrom disbench.methods import BetaVAE\n\n"
        "class Bad(BetaVAE):\n    def encode(self, x):\n        return super().encode(x)[:, 0]\n\n"
        "def build(task_info, **hp):\n    return Bad(task_info.obs_shape, 9)\n"
    )
    assert cli(["validate", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] encode(x)" in out and "FAILED" in out and "smoke run" not in out


def test_overwrite_starts_again(tmp_path):
    first = fresh()
    run(tmp_path, "again", first)
    second = fresh()
    run(tmp_path, "again", second, overwrite=True)
    assert same_weights(first, second) and len(curves(tmp_path / "again")) == 4
    with pytest.raises(TrainingError, match="exclude"):
        run(tmp_path, "again", fresh(), overwrite=True, resume=True)


def copy_submission(tmp_path, name="my-vae"):
    folder = tmp_path / name
    shutil.copytree(ROOT / "submissions" / "beta-vae", folder)
    toml = folder / "submission.toml"
    toml.write_text(toml.read_text().replace('name = "beta-vae"', f'name = "{name}"'))
    return folder


def test_cli_refuses_negative_seeds_and_missing_checkpoints(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        cli(["run", "submissions/beta-vae", "--task", "xysquares-mse", "--seeds", "-1"])
    assert e.value.code == 2 and "-1 is negative" in capsys.readouterr().err
    assert cli(["eval", str(tmp_path / "nope.pt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: No checkpoint at") and "Traceback" not in err
    record, run = tmp_path / "seed-0.json", tmp_path / "seed-0"
    record.write_text("{}")
    (run / "checkpoint.pt").parent.mkdir()
    (run / "checkpoint.pt").write_bytes(b"")
    assert cli(["eval", str(record)]) == 2
    assert f"{record} is a record, not a checkpoint: `disbench verify {record}` checks a record" in capsys.readouterr().err
    assert cli(["eval", str(run)]) == 2
    assert f"is a run folder; pass its checkpoint: {run / 'checkpoint.pt'}" in capsys.readouterr().err
    with pytest.raises(TrainingError, match="A seed must be an integer from 0 to"):
        train(disbench.make("xysquares-mse"), fresh(), seed=-1, protocol=TINY, device="cpu", out_dir=tmp_path / "neg", results_dir=None)


def test_a_loss_without_the_loss_key_is_explained_by_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    folder = copy_submission(tmp_path)
    (folder / "model.py").write_text(
        "from disbench.methods import BetaVAE\n\n"
        "class NoKey(BetaVAE):\n    def loss(self, batch, recon_loss):\n        return {'total': super().loss(batch, recon_loss)['loss']}\n\n"
        "def build(task_info, latent_dim=9, beta=0.001):\n    return NoKey(task_info.obs_shape, latent_dim, beta=beta)\n"
    )
    assert cli(["run", str(folder), "--task", "xysquares-mse", "--protocol", "smoke", "--device", "cpu", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "Method.loss must return a dict with a scalar tensor under 'loss'" in err and "['total']" in err and "KeyError" not in err


def test_a_run_folder_in_use_is_refused_naming_the_first_run(tmp_path):
    from disbench.harness.run.folder import RunFolder

    with RunFolder(tmp_path / "busy").lock():
        with pytest.raises(TrainingError, match=r"is in use by a run that is still going \(pid \d+ on "):
            run(tmp_path, "busy", fresh())
    assert not (tmp_path / "busy" / "checkpoint.pt").exists()
    run(tmp_path, "busy", fresh())  # the lock is gone with its holder
    assert (tmp_path / "busy" / "checkpoint.pt").exists()


def test_unwritable_results_folder_and_integer_codes_fail_before_training(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    submission = SubmissionRecord(name="tiny", version="1", content_hash="a" * 64, supervision="unsupervised", hyperparameters={})
    with pytest.raises(TrainingError, match="results folder .*a-file/results/.* cannot be made: .*a-file is a file, not a folder"):
        train(disbench.make("xysquares-mse"), fresh(), protocol=TINY, device="cpu", out_dir=tmp_path / "unwritable", submission=submission,
              results_dir=blocker / "results", progress=False)
    with pytest.raises(TrainingError, match="run folder .*a-file/run cannot be made: .*a-file is a file, not a folder"):  # was 'Not a directory'
        train(disbench.make("xysquares-mse"), fresh(), protocol=TINY, device="cpu", out_dir=blocker / "run", submission=submission, progress=False)

    class IntCodes(BetaVAE):
        def encode(self, x):
            return super().encode(x).long()

    with pytest.raises(disbench.error.SubmissionError, match="int64 codes; the metrics need floating-point codes"):
        run(tmp_path, "ints", fresh(cls=IntCodes))
    for name in ("unwritable", "ints"):
        assert not (tmp_path / name / "checkpoint.pt").exists()


def test_validate_and_run_say_which_hyperparameter_value_wins(tmp_path, monkeypatch, capsys):
    folder = copy_submission(tmp_path)
    model = folder / "model.py"
    model.write_text(model.read_text().replace("latent_dim: int = 9", "latent_dim: int = 12"))
    assert cli(["validate", str(folder), "--no-smoke"]) == 0
    out = capsys.readouterr().out
    assert "latent_dim = 9 from submission.toml [hyperparameters.default] (build() says 12; submission.toml wins)" in out
    assert "D = 9" in out
    assert cli(["run", str(folder), "--task", "xysquares-mse", "--protocol", "smoke", "--device", "cpu", "--quiet",
                "--results-dir", str(tmp_path / "results"), "--runs-dir", str(tmp_path / "runs")]) == 0
    assert "note: latent_dim = 9 from submission.toml [hyperparameters.default] (build() says 12; submission.toml wins)" in capsys.readouterr().out
