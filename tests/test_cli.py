import pytest

from disbench.cli import main as cli


def test_list_prints_the_suite_with_an_adversarial_column(capsys):
    assert cli(["list"]) == 0
    out = capsys.readouterr().out
    assert "adversarial" in out and "xysquares-mse-v0" in out and "mpi3d-real-mse-v0" in out


def test_info_shows_protocols_and_the_verdict(capsys):
    assert cli(["info", "xysquares-mse"]) == 0
    out = capsys.readouterr().out
    assert "57,600" in out and "x_R (8)" in out and "verdict: adversarial" in out and "twin: xysquares-boxblur-v0" in out


def test_info_on_a_stored_task_without_data(capsys):
    assert cli(["info", "dsprites-mse"]) == 0
    out = capsys.readouterr().out
    assert "NOT prepared: run `disbench data download dsprites`" in out and "verdict" not in out


def test_show_writes_a_png(tmp_path, capsys):
    out = tmp_path / "samples.png"
    assert cli(["show", "xyobject-mse", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5_000


def test_unknown_task_is_a_friendly_error(capsys):
    assert cli(["info", "xysqures-mse"]) == 2
    assert "Did you mean 'xysquares-mse'" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [(["frobnicate"], "invalid choice: 'frobnicate'"), (["info"], "the following arguments are required: task")])
def test_usage_errors_exit_nonzero(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli(argv)
    assert exit_.value.code == 2  # argparse's usage-error status
    assert message in capsys.readouterr().err
