"""Every failure ends in a failed record that says whose fault it is, never a traceback or a half
record: NaN codes at a curve step, a disk that fills up while checkpointing, two runs writing one record."""

import errno

import pytest

from disbench.error import SubmissionError, TrainingError
from disbench.harness.record import load_record
from disbench.harness.run.folder import record_lock
from tests.harness.test_trust import smoke, submission


def record_of(tmp_path, name):
    return load_record(tmp_path / "runs" / "results" / "xysquares-mse-v0" / name / "smoke" / "seed-0.json")


def test_nan_codes_at_a_curve_step_fail_the_run_naming_nan(tmp_path):
    """Codes are finite before training (so the run starts) and NaN once the model has trained."""
    diverging = submission(tmp_path, "diverging", """
        class Model(BetaVAE):
            steps = 0

            def loss(self, batch, recon_loss):
                self.steps += 1
                return super().loss(batch, recon_loss)

            def encode(self, x):
                z = super().encode(x)
                return z * float("nan") if self.steps else z
    """)
    with pytest.raises(SubmissionError, match="NaN or inf codes"):
        smoke(diverging, tmp_path, evaluate=True)
    record = record_of(tmp_path, "diverging")
    assert record.status == "failed" and "NaN or inf codes" in record.error and record.error.startswith("During training")


def test_a_full_disk_while_checkpointing_is_the_harness_fault(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("disbench.harness.run.train.save_checkpoint", full)
    with pytest.raises(TrainingError, match="No space left on device.*not the submission's fault.*--resume"):
        smoke(submission(tmp_path, "victim"), tmp_path)
    record = record_of(tmp_path, "victim")
    assert record.status == "failed" and "not the submission's fault" in record.error


def test_two_runs_writing_one_record_are_refused(tmp_path):
    folder = submission(tmp_path, "twice")
    path = tmp_path / "runs" / "results" / "xysquares-mse-v0" / "twice" / "smoke" / "seed-0.json"
    with record_lock(path):  # the first run, still going
        with pytest.raises(TrainingError, match="is being written by another run that is still going \\(pid"):
            smoke(folder, tmp_path / "elsewhere", results_dir=tmp_path / "runs" / "results")
    assert not path.exists()
