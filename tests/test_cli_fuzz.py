"""Every subcommand's argument parser, driven with generated arguments (issue 21).

The subcommands are found by walking ``disbench.cli.build_parser()``, so a new one is covered the
day it is added. Each example runs ``disbench.cli.main(argv)`` in this process, in a scratch folder,
with arguments drawn from the parser's own options and choices, values of the wrong type, unknown
flags, missing values, random text, huge and negative numbers, and paths that do not exist (or are
files where folders are wanted). The contract checked: no traceback ever; the exit status is 0, 1
or 2; a usage error is argparse's usage and one ``error:`` line; any other error is one line.

Arguments good enough to start real work stop at the work: the entry points in ``HEAVY`` (rendering
observations, which every analysis, figure and training does first; starting a submission's child
process; a download, a server, ...) raise ``StartedWork``, which the test accepts. A command that runs longer than ``SLOW_S`` without reaching
one of them fails the test, naming its arguments: add its heavy entry point to ``HEAVY``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import re
import shutil
import signal
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from disbench.cli import build_parser, main

REPO = Path(__file__).resolve().parents[1]
RECORD = REPO / "leaderboards/results/xysquares-mse-v0/beta-vae/quick/seed-0.json"
SLOW_S = 20  # generous: a cold import on a busy machine takes seconds; real work takes minutes
HEAVY = [  # (module, attribute): calling it is the real work, where an example stops
    ("disbench.data.base", "GroundTruthData.render"),  # observations: where every analysis, figure and training starts
    ("disbench.data.base", "GroundTruthData.render_normalised"),
    ("disbench.harness.child.remote", "RemoteLearner.__init__"),  # a submission's child process: run, eval, validate, verify
    ("disbench.harness.pack.remote", "RemotePack.__init__"),
    ("disbench.harness.sweep.executors", "run_local"),
    ("disbench.harness.sweep.executors", "submit"),  # submitit jobs
    ("disbench.reproduction.runner", "run_missing"),
    ("disbench.reproduction.report", "report_text"),  # a report's statistics (bootstrap intervals, rank tests)
    ("disbench.reproduction.summary", "summary_text"),
    ("matplotlib.pyplot", "subplots"),  # every figure
    ("matplotlib.pyplot", "figure"),
    ("disbench.leaderboard.site", "build_site"),
    ("disbench.harness.child.sandbox", "setup"),  # creates a user: never from a test
    ("disbench.data.stored", "StoredData.prepare"),  # downloads
    ("disbench.leaderboard.hub", "pull"),
    ("disbench.leaderboard.hub", "commit"),
    ("http.server", "ThreadingHTTPServer.__init__"),
    ("time", "sleep"),  # sweep status --watch
]


class StartedWork(BaseException):
    """The command got through its parsing and early checks to the work itself (a BaseException,
    so no ``except Exception`` of the code under test swallows it)."""


class TooSlow(BaseException):
    """The command worked for ``SLOW_S`` seconds without reaching an entry point of ``HEAVY``."""


def parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """``(subcommand words, parser)`` for the parser and every subcommand below it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from parsers(sub, (*path, name))


PARSER = build_parser()
COMMANDS = {path: parser for path, parser in parsers(PARSER) if path}

# --- generated words ------------------------------------------------------------------------------

TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)  # what a shell can pass
NUMBERS = st.one_of(st.integers(-(2**70), 2**70).map(str), st.sampled_from(["0", "-1", "1e309", "nan", "inf", "-inf", "0.5", "1_000", "9" * 5000]))
NAMES = st.sampled_from(["xysquares-mse", "xysquares-mse-v0", "xysquares-msee", "xysquares-mse-v9", "mylab/nothing", "dsprites-mse", "a:b",
                         "quick", "quik", "standard", "smoke", "mig", "mgi", "beta-vae", "ada-gvae", "vae", "mpi3d", "toy", "dsprites",
                         "0-3", "3-0", "0-99999", "tier", "0 1", "cpu", "cuda", "cuda:7", "tpu", "main", "HEAD", "org/name", "bad repo"])
PATHS = st.sampled_from(["sub", "record.json", "garbage.txt", "garbage.txt/child", "sweep.toml", "empty", "site", "ckpt.pt", "missing/x",
                         "missing", "/proc/definitely/not", ".", ""])


GOOD = {  # a value that passes the early checks, by dest: so that examples also get past them, to the work
    "submission": "sub", "submissions": "sub", "task": "xysquares-mse", "tasks": "xysquares-*", "checkpoint": "ckpt.pt", "records": "record.json",
    "name": "dsprites", "config": "sweep.toml", "dir": "site", "official": str(REPO / "leaderboards" / "results"), "repo": "org/name",
    "space": "org/name", "private": "keys/private.pem", "public": "keys/public.pem", "out": "out",
}


def values(action: argparse.Action | None) -> st.SearchStrategy[str]:
    """Words for ``action``'s value: its own choices, and everything else."""
    choices = [str(c) for c in getattr(action, "choices", None) or ()]
    return st.one_of(*([st.sampled_from(choices)] if choices else []), NAMES, PATHS, NUMBERS, TEXT)


def argv_for(path: tuple[str, ...], parser: argparse.ArgumentParser) -> st.SearchStrategy[list[str]]:
    options = [a for a in parser._actions if a.option_strings]
    positionals = [a for a in parser._actions if not a.option_strings]

    @st.composite
    def item(draw) -> list[str]:
        kind = draw(st.sampled_from(["option", "option", "option=", "positional", "positional", "unknown", "word"]))
        if kind.startswith("option") and options:
            action = draw(st.sampled_from(options))
            flag = draw(st.sampled_from(action.option_strings))
            if kind == "option=":
                return [f"{flag}={draw(values(action))}"]
            return [flag, *draw(st.lists(values(action), max_size=2))]
        if kind == "positional" and positionals:
            return [draw(values(draw(st.sampled_from(positionals))))]
        if kind == "unknown":
            return [draw(st.sampled_from(["--frobnicate", "-x", "--", "-", "---", "--seed=", "--task", "--seeds"]) | TEXT.map(lambda t: "--" + t))]
        return [draw(values(None))]

    @st.composite
    def complete(draw) -> list[str]:
        """Every positional and required option with a value: what reaches the command's own checks."""
        def value(action: argparse.Action) -> str:
            good = GOOD.get(action.dest)
            return good if good is not None and draw(st.integers(0, 3)) else draw(values(action))

        words = [value(a) for a in positionals if a.nargs not in ("?", "*", argparse.REMAINDER)]
        for action in (a for a in options if a.required):
            words += [action.option_strings[-1], value(action)]
        return words

    @st.composite
    def known_option(draw) -> list[str]:
        """One of the command's options with a plausible value: its choices, a name, a path or a small number."""
        action = draw(st.sampled_from(options))
        plausible = [str(c) for c in action.choices or ()] or ["0", "1", "2", "-1", "sub", "missing", "xysquares-mse", "quick", "mig"]
        return [draw(st.sampled_from(action.option_strings)), *draw(st.lists(st.sampled_from(plausible), max_size=2 if action.nargs else 0))]

    @st.composite
    def argv(draw) -> list[str]:
        mode = draw(st.sampled_from(["chaos", "complete", "complete", "plausible"]))
        base = draw(complete()) if mode != "chaos" else []
        extra = draw(st.lists(known_option() if mode == "plausible" and options else item(), max_size=3 if mode == "plausible" else 5))
        return [*path, *base, *(word for words in extra for word in words)]

    return argv()


# --- the contract ---------------------------------------------------------------------------------

USAGE_ERROR = re.compile(r"^disbench( \S+)*: error: \S")


def check(argv: list[str], status: int | None, out: str, err: str) -> None:
    """No traceback, an exit status of 0, 1 or 2, and errors in one line (argparse's after its usage)."""
    assert "Traceback" not in out + err, f"disbench {argv} printed a traceback:\n{err}"
    assert status in (0, 1, 2), f"disbench {argv} exited {status}:\n{err}"
    lines = [line for line in err.split("\n") if line.strip() and not line.startswith("warning: ")]  # a terminal breaks lines at \\n only
    errors = [line for line in lines if "error:" in line]
    if status == 2 and lines and lines[0].startswith("usage: "):
        assert USAGE_ERROR.match(lines[-1]) and len(errors) == 1, f"disbench {argv}: a usage error of more than one line:\n{err}"
    elif status == 2:
        assert len(lines) == 1 and lines[0].startswith("error: "), f"disbench {argv}: not a one-line error:\n{err}"
    else:
        assert not errors or status == 1, f"disbench {argv}: an error with exit status {status}:\n{err}"


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """A scratch working folder with the files the generated paths name; heavy work stops at once."""
    shutil.copytree(REPO / "submissions" / "beta-vae", tmp_path / "sub")
    shutil.copy(RECORD, tmp_path / "record.json")
    (tmp_path / "garbage.txt").write_bytes(b"\x00\xffnot json, toml or torch {[")
    (tmp_path / "sweep.toml").write_text('submissions = "beta-vae"\ntasks = [1, 2]\nseeds = "2-1"\nprotocol = "long"\n[slurm]\ngpus_per_job = -1\n')
    (tmp_path / "empty").mkdir()
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / ".disbench-site").write_text("")
    torch.save({"not": "a checkpoint"}, tmp_path / "ckpt.pt")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("disbench.cli.build_parser", lambda: PARSER)  # built once: argparse's set-up would be most of the time
    monkeypatch.delenv("DISBENCH_RUNNER_KEY", raising=False)
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):  # keys init, the sealing secret, caches: never the real ones
        monkeypatch.setenv(name, str(tmp_path / "home"))
    monkeypatch.delenv("DISBENCH_SEAL_SECRET_FILE", raising=False)
    for module, attribute in HEAVY:
        owner_name, _, name = attribute.rpartition(".")
        owner = importlib.import_module(module)
        for part in filter(None, owner_name.split(".")):
            owner = getattr(owner, part, None)
        if not hasattr(owner, name):
            pytest.fail(f"HEAVY names {module}.{attribute}, which no longer exists: name the function that does that work now")
        monkeypatch.setattr(owner, name, _stop)
    return tmp_path


def _stop(*args, **kwargs):
    raise StartedWork


def _too_slow(signum, frame):
    raise TooSlow


def run_cli(argv: list[str]) -> tuple[int | None, str, str]:
    """``main(argv)``'s exit status (``None`` when it reached the work) and what it printed."""
    out, err = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, _too_slow)
    signal.setitimer(signal.ITIMER_REAL, SLOW_S)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(argv)
            except SystemExit as e:
                status = e.code if isinstance(e.code, int) else 2 if e.code else 0
            except StartedWork:
                status = None
    except TooSlow:
        pytest.fail(f"disbench {argv} worked for {SLOW_S} s without reaching an entry point of HEAVY; add its heavy work there")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return status, out.getvalue(), err.getvalue()


THOROUGH = os.environ.get("DISBENCH_HYPOTHESIS_PROFILE") == "thorough"  # a longer, randomised search, as in test_bad_input.py


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
@settings(max_examples=600 if THOROUGH else 40, derandomize=not THOROUGH, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_no_arguments_make_a_traceback_and_every_error_is_one_line(scratch, path, data):
    argv = data.draw(argv_for(path, COMMANDS[path]), label="argv")
    status, out, err = run_cli(argv)
    if os.environ.get("DISBENCH_FUZZ_LOG"):
        with open(os.environ["DISBENCH_FUZZ_LOG"], "a") as log:
            log.write(f"{' '.join(path)}\t{status}\t{argv!r}\t{err.strip().splitlines()[-1:]!r}\n")
    assert "Traceback" not in out + err, f"disbench {argv} printed a traceback:\n{err}"
    if status is not None:  # reaching the work is accepted: the parsing and the early checks passed
        check(argv, status, out, err)
