import argparse
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

import disbench
from disbench.arguments import default_text
from disbench.cli import build_parser
from disbench.cli import main as cli

REPO = Path(__file__).resolve().parents[1]


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


@pytest.mark.parametrize("name, message", [
    ("samples.txt", "needs one of the endings .png, .pdf, .svg, .jpg, .jpeg, .eps, .tif, .tiff, .webp: e.g. {tmp}/samples.png."),
    ("samples", "needs one of the endings .png, .pdf, .svg, .jpg, .jpeg, .eps, .tif, .tiff, .webp: e.g. {tmp}/samples.png."),  # not added unasked
    ("", "is a folder; give a file's path, e.g. {tmp}/out.png."),
    ("taken/samples.png", "The folder of the --out picture {tmp}/taken is a file, not a folder"),
])
def test_show_refuses_an_out_it_would_not_write_as_named(tmp_path, capsys, name, message):
    (tmp_path / "taken").write_text("mine\n")
    assert cli(["show", "xyobject-mse", "--out", str(tmp_path / name)]) == 2
    assert message.format(tmp=tmp_path) in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]  # nothing written, under any name


def test_learn_kernel_refuses_a_bad_out_before_learning_and_writes_exactly_the_named_file(tmp_path, capsys, monkeypatch):
    import numpy as np

    from disbench.analysis import kernels

    def learning_not_allowed(*args, **kwargs):
        raise AssertionError("learnt before the --out was checked")

    monkeypatch.setattr(kernels, "learn_kernel", learning_not_allowed)
    for out, message in ((tmp_path / "kernel.pt", "needs the ending .npy: e.g. "), (tmp_path, "is a folder; give a file's path")):
        assert cli(["learn-kernel", "xysquares-mse", "--out", str(out), "--steps", "1"]) == 2
        assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    for flags, message in ((["--radius", "100000"], "--radius 100000 is not smaller than the images (64 pixels); give at most 63"),
                           (["--batch-size", "1"], "--batch-size 1: a step compares pairs of observations, so it needs at least 2")):
        assert cli(["learn-kernel", "xysquares-mse", "--out", str(tmp_path / "new" / "kernel.npy"), "--steps", "1", *flags]) == 2  # was a traceback
        assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    learnt = kernels.LearntKernel(torch.full((3, 3), 1 / 9), [0.5])
    learnt.save(tmp_path / "kernel.npy")
    assert [p.name for p in tmp_path.iterdir()] == ["kernel.npy"] and np.load(tmp_path / "kernel.npy").shape == (3, 3)


def test_unknown_task_is_a_friendly_error(capsys):
    assert cli(["info", "xysqures-mse"]) == 2
    assert "Did you mean 'xysquares-mse'" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [(["frobnicate"], "invalid choice: 'frobnicate'"), (["info"], "the following arguments are required: task"),
                                           (["run", "submissions/beta-vae", "--task", "xysquares-mse", "--resume", "--overwrite"],
                                            "argument --overwrite: not allowed with argument --resume"),  # before a lock or folder is made
                                           (["keys", "generate", "--private", "", "--public", "k.pub"], "argument --private: an empty value"),  # was ". already exists"
                                           (["info", ""], "argument task: an empty value"),
                                           (["run", "submissions/beta-vae", "--task", "xysquares-mse", "--seeds", "0", "--runs-dir", ""], "argument --runs-dir: an empty value"),
                                           (["analyze", "--categorical", "a", "", "--data", "x.csv"], "argument --categorical: an empty value")])
def test_usage_errors_exit_nonzero(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli(argv)
    assert exit_.value.code == 2  # argparse's usage-error status
    assert message in capsys.readouterr().err


# --- issue 21, second round: the CLI explains itself ---------------------------------------------


def all_parsers(parser=None, path=("disbench",)):
    """``(command words, parser)`` for the whole command line, subcommands found by walking it."""
    parser = parser or build_parser()
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from all_parsers(sub, (*path, name))


def options(parser):
    return [a for a in parser._actions if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))]


def test_every_option_has_help_naming_its_default():
    missing, unnamed = [], []
    for path, parser in all_parsers():
        formatter = parser._get_formatter()
        for action in options(parser):
            name = f"{' '.join(path)} {'/'.join(action.option_strings) or action.dest}"
            if not (action.help or "").strip():
                missing.append(name)
                continue
            shown = default_text(action)
            text = formatter._expand_help(action)
            if shown is not None and not ("default" in text and shown in text):
                unnamed.append(f"{name}: {text!r} does not name its default {shown!r}")
    assert not missing, "options without help: " + ", ".join(missing)
    assert not unnamed, "\n".join(unnamed)
    help_text = dict(all_parsers())[("disbench", "run")].format_help()
    assert "--pack K" in help_text and "(default: 1)" in help_text and "(default: 0)" in help_text  # appended by the formatter


def test_every_tier_option_defaults_to_the_quick_tier_and_says_so():
    from disbench.harness.sweep import Sweep, SweepFile
    from disbench.protocol import DEFAULT_TIER
    from disbench.reproduction.experiments import EXPERIMENTS

    assert DEFAULT_TIER == "quick"
    tier_options = [(path, parser._get_formatter()._expand_help(a), a) for path, parser in all_parsers() for a in options(parser)
                    if a.dest in ("protocol", "tier")]
    assert {" ".join(path) for path, _, _ in tier_options} >= {"disbench run", "disbench eval", "disbench sweep", "disbench sweep status",
                                                              "disbench reproduce overlap", "disbench reproduce boxblur", "disbench leaderboard show"}
    for path, text, action in tier_options:
        if action.default not in (None, argparse.SUPPRESS):
            assert action.default == DEFAULT_TIER, path
        named = {"eval": "the tier it was trained under", "show": "every tier"}.get(path[-1], f"default: {DEFAULT_TIER}")
        assert named in text, (path, text)
    assert Sweep(("s",), ("t",)).protocol == SweepFile(submissions=["s"], tasks=["t"]).protocol == DEFAULT_TIER
    assert {e.default_tier for e in EXPERIMENTS.values()} == {DEFAULT_TIER}


@pytest.mark.parametrize("argv, hint", [
    (["run", "s", "--task", "t", "--protocol", "quik"], "invalid choice: 'quik' (choose from 'standard', 'extended', 'quick', 'smoke'). Did you mean 'quick'?"),
    (["rnu"], "Did you mean 'run'?"),
    (["reproduce", "overlap", "--methods", "ada-gave"], "Did you mean 'ada-gvae'"),
    (["leaderboard", "show", "--tier", "standart"], "Did you mean 'standard'?"),
    (["run", "s", "--task", "t", "--sed", "1"], "unrecognized arguments: --sed 1. Did you mean '--seeds'"),
    (["analyze", "xysquares-mse", "--num-pairs", "-3"], "argument --num-pairs: -3 is out of range; give a whole number of pairs from 1 to 100000"),
    (["analyze", "xysquares-mse", "--num-pairs", "1000000000"], "argument --num-pairs: 1000000000 is out of range; give a whole number of pairs from 1 to 100000"),
    (["site", "serve", "--port", "70000"], "argument --port: 70000 is out of range; give a port number from 0 to 65535"),
    (["run", "s", "--task", "t", "--device", "xysquares-mse"], "argument --device: 'xysquares-mse' is not a device disbench trains on; use cpu"),
    (["sweep", "--device", "mps"], "argument --device: 'mps' is not a device disbench trains on; use cpu, cuda or cuda:N"),
])
def test_a_mistyped_name_or_number_is_one_usage_line_with_the_fix(argv, hint, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and err[0].startswith("usage: ") and hint in err[-1] and sum("error:" in line for line in err) == 1


def test_an_unknown_metric_suggests_the_nearest(capsys):
    assert cli(["leaderboard", "show", "--official", str(REPO / "leaderboards" / "results"), "--metric", "mgi"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: No record has metric 'mgi'. Did you mean 'mig'?") and err.count("\n") == 1


TINY_TASKS = textwrap.dedent("""
    import numpy as np

    import disbench

    images = np.zeros((12, 16, 16), dtype=np.uint8)
    factors = np.array([(i, j) for i in range(4) for j in range(3)])
    for n, (i, j) in enumerate(factors):  # a 3x3 square: x steps of 4 (never overlapping), y steps of 1
        images[n, 2 + j : 5 + j, 1 + 4 * i : 4 + 4 * i] = 255
    np.savez("tiny.npz", images=images, factors=factors, factor_names=np.array(["x", "y"]))
    disbench.register("tiny-mse-v0", kwargs=disbench.data.from_files("tiny.npz").task_kwargs("mse"))
""")


def console_script() -> Path:
    """The ``disbench`` executable pip installed for this interpreter."""
    script = Path(sys.executable).with_name("disbench")
    found = str(script) if script.is_file() else shutil.which("disbench")
    if found is None:
        pytest.skip("the disbench console script is not installed here (pip install -e .)")
    return Path(found)


def test_the_installed_script_runs_a_task_of_a_module_in_the_current_folder(tmp_path):
    """The console script's path holds its own folder, not the current one; 'module:id' finds
    ./mytasks.py anyway (PYTHONPATH points the script at this checkout's code)."""
    (tmp_path / "mytasks.py").write_text(TINY_TASKS)
    root = str(Path(disbench.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}

    def run(*argv):
        return subprocess.run([str(console_script()), *argv], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)

    done = run("analyze", "mytasks:tiny-mse", "--repeats", "4", "--num-pairs", "50", "--out", "out")
    assert done.returncode == 0, done.stderr
    assert "verdict: adversarial (constant perceived distance along x)" in done.stdout and (tmp_path / "out" / "analysis.json").is_file()
    typo = run("analyze", "mytask:tiny-mse", "--out", "out")
    assert typo.returncode == 2 and typo.stderr.strip() == (
        "error: Could not import 'mytask' to register 'tiny-mse': ModuleNotFoundError: No module named 'mytask' (looked among the installed packages "
        f"and in the current folder {tmp_path}, where only a mytask.py file or a mytask/ package with an __init__.py counts). "
        "Did you mean 'mytasks'?")
