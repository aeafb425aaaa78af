"""The training harness on tiny budgets: determinism, resume, NaN handling, records, CLI."""

import json
import shutil
from pathlib import Path

import pytest
import torch

import disbench
from disbench.cli import main as cli
from disbench.error import TrainingError
from disbench.harness.record import RunResult, load_record, load_records
from disbench.harness.train import SubmissionInfo, train
from disbench.methods import BetaVAE
from disbench.protocol import Protocol

ROOT = Path(__file__).resolve().parents[2]
TINY = Protocol("smoke", steps=8, batch_size=4, latent_dim=25, metric_suite="smoke", seeds=(0,))


def fresh(seed=0, cls=BetaVAE, **kwargs):
    torch.manual_seed(seed)
    return cls((3, 64, 64), 4, beta=0.001, **kwargs)


def run(tmp_path, name, method, **kwargs):
    kwargs.setdefault("evaluate", False)
    return train(disbench.make("xysquares-mse"), method, seed=0, protocol=TINY, device="cpu", out_dir=tmp_path / name,
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
        run(tmp_path, "nan", method, submission=SubmissionInfo("exploding", "1", "0" * 64, {}), evaluate=True)
    assert torch.load(tmp_path / "nan" / "checkpoint.pt", weights_only=False)["step"] == 4
    record = load_record(tmp_path / "nan" / "result.json")
    assert record.status == "failed" and record.metrics == {} and "step 5" in record.error and not record.on_protocol


def test_completed_record_has_everything_the_leaderboard_needs(tmp_path):
    record = run(tmp_path, "full", fresh(), submission=SubmissionInfo("tiny", "0.1", "a" * 64, {"beta": 0.001}), evaluate=True)
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
    records = load_records(tmp_path / "leaderboards" / "results")
    assert len(records) == 1 and records[0].on_protocol and records[0].submission.name == "my-vae"
    path = tmp_path / "leaderboards" / "results" / "xysquares-mse-v0" / "my-vae" / "smoke" / "seed-0.json"
    assert path.exists()
    checkpoint = tmp_path / "runs" / "xysquares-mse-v0" / "my-vae" / "smoke" / "seed-0" / "checkpoint.pt"
    assert cli(["eval", str(checkpoint), "--protocol", "smoke"]) == 0
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
