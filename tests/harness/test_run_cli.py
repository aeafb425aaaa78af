"""``disbench run`` as a new user meets it (issue 21): a finished run is immutable, Ctrl-C is one
line with the command to resume, a GPU the machine lacks and a seed out of range are one-line
errors that leave nothing behind, and a seed named twice runs once."""

import json

import pytest
import torch

from disbench.cli import main as cli
from tests.harness.test_trust import submission


def run(folder, tmp_path, *extra):
    return cli(["run", str(folder), "--task", "xysquares-mse", "--protocol", "smoke", "--device", "cpu", "--quiet",
                "--results-dir", str(tmp_path / "results"), "--runs-dir", str(tmp_path / "runs"), *extra])


def test_resume_on_a_finished_run_changes_nothing_and_a_twice_named_seed_runs_once(tmp_path, capsys):
    folder = submission(tmp_path, "done")
    assert run(folder, tmp_path) == 0
    record = tmp_path / "results" / "xysquares-mse-v0" / "done" / "smoke" / "seed-0.json"
    local = tmp_path / "runs" / "xysquares-mse-v0" / "done" / "smoke" / "seed-0" / "result.json"
    before = record.read_bytes(), local.read_bytes()
    capsys.readouterr()
    assert run(folder, tmp_path, "--resume", "--seeds", "0", "0") == 0
    out = capsys.readouterr().out
    assert "names a seed twice; each runs once" in out and "seed 0: finished earlier" in out and "leaves a finished run as it is" in out
    assert (record.read_bytes(), local.read_bytes()) == before and json.loads(before[0])["training"]["final_loss"] is not None


def test_ctrl_c_is_one_line_with_the_command_to_resume(tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("disbench.harness.run.run_submission", interrupted)
    assert run(submission(tmp_path, "stopped"), tmp_path) == 130
    err = capsys.readouterr().err.strip()
    assert err == "interrupted; its last checkpoint is kept: run the same command again with --resume to continue"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_a_gpu_the_machine_lacks_is_one_line_and_leaves_no_lock(tmp_path, capsys):
    folder = submission(tmp_path, "gpu")
    assert cli(["run", str(folder), "--task", "xysquares-mse", "--protocol", "smoke", "--device", "cuda", "--runs-dir", str(tmp_path / "runs"),
                "--results-dir", str(tmp_path / "results")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --device cuda: this machine has no usable CUDA GPU") and "use --device cpu" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "runs").exists() and not (tmp_path / "results").exists()


def test_a_seed_out_of_range_is_refused_before_anything(tmp_path, capsys):
    with pytest.raises(SystemExit):
        run(submission(tmp_path, "big"), tmp_path, "--seeds", "99999999999999999999")
    assert "is too large; seeds go from 0 to 4,294,967,295" in capsys.readouterr().err
    from disbench.error import TrainingError
    from disbench.harness.run import run_submission

    with pytest.raises(TrainingError, match="A seed must be an integer from 0 to 4,294,967,295"):
        run_submission(submission(tmp_path, "big2"), "xysquares-mse", seed=2**40, protocol="smoke", device="cpu", runs_dir=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("argv", [["analyze", "xysquares-mse", "--out"], ["leaderboard", "build", "--out"], ["site", "build", "--out"]])
def test_an_unwritable_out_folder_is_one_line_before_any_work(tmp_path, capsys, argv):
    """A folder below a regular file cannot be made, even by root (chmod would not stop root)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert cli([*argv, str(blocker / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: The --out folder {blocker / 'out'} is not writable (Not a directory)") and len(err.splitlines()) == 1


def test_validate_catches_a_folder_named_other_than_its_submission(tmp_path, capsys):
    folder = submission(tmp_path, "renamed")
    folder.rename(tmp_path / "other-folder")
    assert cli(["validate", str(tmp_path / "other-folder"), "--no-smoke"]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert "[FAIL] folder name: the folder 'other-folder' declares name = 'renamed'" in "\n".join(out) and out[-1] == "FAILED"
