"""``disbench run`` as a new user meets it (issue 21): a finished run is immutable, Ctrl-C is one
line with the command to resume, a GPU the machine lacks and a seed out of range are one-line
errors that leave nothing behind, and a seed named twice runs once. Its second round: the times
printed say what they measure, eval prints run's table, an adversarial task's near-zero scores are
explained, an off-protocol seed is named before training, and --seeds has sweep's grammar."""

import contextlib
import io
import json
import re

import pytest
import torch

from disbench.cli import SHOWN_METRICS
from disbench.cli import main as cli
from disbench.durations import duration
from disbench.harness.record import load_record
from tests.harness.test_trust import submission


def run(folder, tmp_path, *extra):
    return cli(["run", str(folder), "--task", "xysquares-mse", "--protocol", "smoke", "--device", "cpu", "--quiet",
                "--results-dir", str(tmp_path / "results"), "--runs-dir", str(tmp_path / "runs"), *extra])


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One finished smoke run of a copy of beta-vae (on the adversarial xysquares-mse), and what it printed."""
    tmp_path = tmp_path_factory.mktemp("finished")
    folder = submission(tmp_path, "done")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert run(folder, tmp_path) == 0
    return folder, tmp_path, printed.getvalue().splitlines()


def test_resume_on_a_finished_run_changes_nothing_and_a_twice_named_seed_runs_once(finished, capsys):
    folder, tmp_path, _ = finished
    record = tmp_path / "results" / "xysquares-mse-v0" / "done" / "smoke" / "seed-0.json"
    local = tmp_path / "runs" / "xysquares-mse-v0" / "done" / "smoke" / "seed-0" / "result.json"
    before = record.read_bytes(), local.read_bytes()
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


@pytest.mark.parametrize("argv", [["analyze", "xysquares-mse", "--out"], ["suggest-loss", "xysquares-mse", "--out"],
                                  ["leaderboard", "build", "--out"], ["site", "build", "--out"], ["reproduce", "overlap", "--report-only", "--out"]])
def test_an_out_folder_that_is_a_file_is_one_line_before_any_work(tmp_path, capsys, argv):
    """An existing file, or a folder below one, cannot be the folder (it used to say 'not writable (File exists)')."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert cli([*argv, str(blocker)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: The --out folder {blocker} is a file, not a folder; give a folder's path (it is made if missing)."
    assert cli([*argv, str(blocker / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: The --out folder {blocker / 'out'} cannot be made: {blocker} is a file, not a folder; give a folder's path (it is made if missing)."
    assert blocker.read_text() == ""


@pytest.mark.parametrize("argv, message", [(["analyze", "nosuch"], "No task named 'nosuch'"),
                                           (["analyze", "xysquares-mse", "--loss", "nosuch"], "Unknown reconstruction loss 'nosuch'"),
                                           (["suggest-loss", "--data", "nope.csv"], "No such file or folder: nope.csv")])
def test_a_refused_analysis_leaves_no_out_folder(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    assert cli([*argv, "--out", "deep/analysis"]) == 2
    assert message in capsys.readouterr().err and list(tmp_path.iterdir()) == []  # the --out used to be made first


def test_memory_a_user_asked_for_is_one_line_not_a_traceback(monkeypatch, capsys):
    def too_big(args):
        raise MemoryError("Unable to allocate 37.3 GiB")

    monkeypatch.setattr("disbench.cli._cmd_list", too_big)
    assert cli(["list"]) == 2
    assert capsys.readouterr().err == "error: not enough memory for what this command was asked to do; give smaller sizes (images, pairs, batch).\n"


def test_an_out_folder_the_system_refuses_keeps_its_reason(tmp_path, capsys):
    """Beyond a file in the way, the system's own reason is named (a name too long for the filesystem: even root cannot make it)."""
    long = tmp_path / ("x" * 300)
    assert cli(["leaderboard", "build", "--out", str(long)]) == 2
    assert capsys.readouterr().err.strip() == (f"error: The --out folder {long} is not writable (File name too long); "
                                               "choose another folder or fix its permissions.")


def test_validate_catches_a_folder_named_other_than_its_submission(tmp_path, capsys):
    folder = submission(tmp_path, "renamed")
    folder.rename(tmp_path / "other-folder")
    assert cli(["validate", str(tmp_path / "other-folder"), "--no-smoke"]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert "[FAIL] folder name: the folder 'other-folder' declares name = 'renamed'" in "\n".join(out) and out[-1] == "FAILED"


def test_run_and_eval_print_one_score_table_with_times_that_match_the_bars(finished, capsys):
    """Issue 21: the summary line says what each time measures (the training bar: steps and curve;
    the evaluation bar), eval prints run's table (not JSON) with the same scores, and on an
    adversarial task a line says near-zero scores are the expected result."""
    _, tmp_path, out = finished
    record = load_record(tmp_path / "results" / "xysquares-mse-v0" / "done" / "smoke" / "seed-0.json")
    t = record.training
    assert out[0].startswith(f"seed 0: 20 steps: training {duration(t.wall_time_s + t.curve_time_s)} ({duration(t.wall_time_s)} of steps, "
                             f"{duration(t.curve_time_s)} scoring the curve), final evaluation {duration(t.evaluation_time_s)}; ")
    assert re.search(r"; (\d+ min )?\d+ s in all, start-up included$", out[0])
    table = out[1:4]
    assert table[0].split()[:5] == ["task", "submission", "protocol", "seed", "mig"] and "train time" not in table[0]
    assert table[2].split()[:5] == ["xysquares-mse-v0", "done", "smoke", "0", f"{record.metrics['mig']:.3f}"]
    assert out[-1].startswith("note: xysquares-mse-v0 is adversarial:") and "near-zero disentanglement scores are the expected result" in out[-1]
    checkpoint = tmp_path / "runs" / "xysquares-mse-v0" / "done" / "smoke" / "seed-0" / "checkpoint.pt"
    assert cli(["eval", str(checkpoint)]) == 0  # the run's tier and seed: its record's scores again
    again = capsys.readouterr().out.splitlines()
    assert again[:3] == table and again[3] == f"{len(SHOWN_METRICS)} of {len(record.metrics)} metrics shown; --json prints every one" and again[-1] == out[-1]
    assert cli(["eval", str(checkpoint), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == pytest.approx(record.metrics, abs=1e-9)


def test_the_boxblur_twin_gets_no_adversarial_note(capsys):
    from disbench.cli import _adversarial_note

    _adversarial_note("xysquares-boxblur")
    _adversarial_note("xysquares-s1-mse")
    assert capsys.readouterr().out == ""


def stop_at_training(monkeypatch) -> list[list[int]]:
    """Patch the training entry points to note the seeds they get, then stop as Ctrl-C would."""
    calls: list[list[int]] = []

    def solo(submission, task_id, seed, **options):
        calls.append([seed])
        raise KeyboardInterrupt

    def packed(submission, task_id, seeds, **options):
        calls.append(list(seeds))
        raise KeyboardInterrupt

    monkeypatch.setattr("disbench.harness.run.run_submission", solo)
    monkeypatch.setattr("disbench.harness.run.run_packed_submission", packed)
    return calls


def test_an_off_protocol_seed_is_named_before_any_training(tmp_path, capsys, monkeypatch):
    calls = stop_at_training(monkeypatch)
    assert cli(["run", str(submission(tmp_path, "extra")), "--task", "xysquares-mse", "--seeds", "7", "--runs-dir", str(tmp_path / "runs")]) == 130
    assert calls == [[7]]  # the quick tier, by default
    assert capsys.readouterr().out == ("note: xysquares-mse-v0: seed 7 is not one of the quick tier's official seeds 0-1: "
                                       "the record will be off-protocol (the leaderboard refuses it).\n")


@pytest.mark.parametrize("words, seeds", [(["0-2", "5"], [0, 1, 2, 5]), (["tier"], [0]), (["3", "1-2", "3"], [3, 1, 2])])
def test_run_takes_the_seeds_grammar_of_sweep_and_reproduce(tmp_path, capsys, monkeypatch, words, seeds):
    calls = stop_at_training(monkeypatch)
    assert run(submission(tmp_path, "grammar"), tmp_path, "--pack", "8", "--seeds", *words) == 130
    assert calls == [seeds]


@pytest.mark.parametrize("command", [["run", "sub", "--task", "xysquares-mse"], ["sweep", "--submissions", "sub", "--tasks", "xysquares-mse"],
                                     ["reproduce", "overlap"]])
@pytest.mark.parametrize("word, message", [("3-1", "Seed range '3-1' runs backwards; write it low-high: '1-3'."),
                                           ("-1", "-1 is negative; seeds go from 0 to 4,294,967,295."),
                                           (str(2**32), "4294967296 is too large; seeds go from 0 to 4,294,967,295."),
                                           ("x", "'x' is not a seed: use integers from 0 ('0 1 2'), an inclusive range ('0-4'), or 'tier' (the tier's own seeds).")])
def test_run_sweep_and_reproduce_refuse_the_same_seeds_in_the_same_words(command, word, message, capsys):
    with pytest.raises(SystemExit):
        cli([*command, "--seeds", "0", word])
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(f"argument --seeds: {message}")


class _Payload:
    """Unpickling this runs ``touch``: what a malicious checkpoint would do under weights_only=False."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_eval_of_a_checkpoint_carrying_code_refuses_without_advising_to_run_it(tmp_path, capsys):
    """torch's message on such a file advises weights_only=False, which would run the file's code; eval never passes that on."""
    import torch

    marker = tmp_path / "code-ran"
    bad = tmp_path / "checkpoint.pt"
    torch.save({"step": 1, "model": _Payload(str(marker))}, bad)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(bytes(range(256)))
    for path in (bad, garbage):
        assert cli(["eval", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {path} is not a disbench run checkpoint") and "weights_only` set to `False" not in err, err
    assert not marker.exists()
    assert cli(["eval", str(bad)]) == 2 and "it asks to load GLOBAL posix.system" in capsys.readouterr().err  # what it asked to run
