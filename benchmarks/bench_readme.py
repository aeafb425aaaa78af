"""The wall time of the README's two set-up commands: the main job (``disbench run`` of the beta-VAE
baseline on ``xysquares-mse``, quick tier: training, the curve scored during it and the final
scores) and the test suite (``pytest``), each run as README.md states it, minus the installs.

The commands are read from README.md's "Set up and run" section, so the number is always the
stated command's; the main job's ``--results-dir`` goes to a temporary folder. Each command runs
``--repeats`` times in a fresh process (``python -m disbench.cli`` / ``python -m pytest`` of this
checkout); the median is what README.md and docs/protocols.md state (tests/test_docs.py checks
it). The 1-minute load average before and after each run is written beside it: run this on an
otherwise idle machine, or the numbers say so.

    python benchmarks/bench_readme.py                      # both, 3 runs of the main job, 1 of the tests
    python benchmarks/bench_readme.py --only main --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from common import RESULTS, write_results

ROOT = Path(__file__).resolve().parents[1]
NAME = "readme_cpu"


def readme_commands(readme: Path = ROOT / "README.md") -> dict[str, list[str]]:
    """The last command of each of the first two bash blocks of "Set up and run": the main job, the tests."""
    section = readme.read_text(encoding="utf-8").split("## Set up and run", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)[:2]
    if len(blocks) != 2:
        raise SystemExit(f"{readme}: expected the main job's and the tests' bash blocks under 'Set up and run'")
    commands = [shlex.split(block.strip().split("&&")[-1]) for block in blocks]
    return dict(zip(("main", "tests"), commands, strict=True))


def runnable(command: list[str], scratch: Path) -> list[str]:
    """``command`` through this interpreter and checkout, its results folder in ``scratch``."""
    program, *args = command
    module = {"disbench": "disbench.cli", "pytest": "pytest"}[program]
    if "--results-dir" in args:
        args[args.index("--results-dir") + 1] = str(scratch / "results")
    return [sys.executable, "-m", module, *args]


def echoed_run(argv: list[str], env: dict[str, str]) -> str:
    """Run ``argv`` in this checkout, echoing its output; its last line (pytest's counts). A failing command is no measurement: stop."""
    last = ""
    with subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as child:
        for line in child.stdout:
            print(line, end="", flush=True)
            last = line.strip() or last
    if child.returncode:
        raise SystemExit(f"{shlex.join(argv)} failed (exit {child.returncode}): {last}")
    return last


def time_runs(command: list[str], repeats: int) -> dict:
    runs, loads, outcomes = [], [], []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as scratch:
            argv = runnable(command, Path(scratch))
            before = os.getloadavg()[0]
            start = time.perf_counter()
            outcomes.append(echoed_run(argv, env))
            runs.append(time.perf_counter() - start)
            loads.append([before, os.getloadavg()[0]])
            print(f"{shlex.join(command)}: {runs[-1]:.0f} s (load {before:.1f} -> {loads[-1][1]:.1f})", flush=True)
    return {"command": shlex.join(command), "commit": checkout_commit(), "date": date.today().isoformat(), "median_s": statistics.median(runs), "runs_s": runs, "last_lines": outcomes, "load_average_1min_before_after": loads}


def checkout_commit() -> str | None:
    """The commit measured (``git describe --always --dirty``), or None outside a git checkout."""
    done = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() or None


def minutes_seconds(seconds: float) -> str:
    """How README.md states a time: ``4 min 34 s``."""
    whole = round(seconds)
    return f"{whole // 60} min {whole % 60} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("main", "tests"), help="measure one command, keep the other's numbers")
    parser.add_argument("--repeats", type=int, help="runs per command (default: 3 of the main job, 1 of the tests)")
    args = parser.parse_args()
    previous = RESULTS / f"{NAME}.json"
    results = {k: v for k, v in json.loads(previous.read_text()).items() if k in ("main", "tests")} if previous.exists() else {}
    for which, command in readme_commands().items():
        if args.only in (None, which):
            results[which] = time_runs(command, args.repeats or {"main": 3, "tests": 1}[which])
    write_results(NAME, results)
    for which, r in results.items():
        print(f"{which}: median {minutes_seconds(r['median_s'])} over {len(r['runs_s'])} runs")


if __name__ == "__main__":
    main()
