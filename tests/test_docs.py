"""Every fenced code block in README.md, CONTRIBUTING.md and docs/**/*.md runs as written.

- ```python blocks run in order, in one namespace per file, in a temporary working folder.
- ```bash (or sh, shell) blocks run in order with ``bash -e``, in a throwaway copy of the
  repository (its tracked and untracked-but-not-ignored files), so commands such as
  ``cp -r submissions/beta-vae submissions/my-vae`` never touch the real tree. ``disbench`` is
  this interpreter's ``python -m disbench.cli``, running the copy's code.
- Blocks in any other language (text, toml, none) are not executed.

A block that cannot run in a test (it trains for minutes, installs packages, needs the internet)
carries a visible marker on the line before its fence::

    <!-- docs-test: parse-only -->

Its ``disbench ...`` commands are then checked against the real argument parser, ``pip`` commands
are skipped, and any other command must exist on PATH. A python block so marked is compiled only.
New documentation files are picked up automatically.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"^\s*<!--\s*docs-test:\s*(?P<mode>[\w-]+)\s*-->\s*$")
MODES = ("parse-only",)
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^\s`]*)")
LANGUAGES = {"python": "python", "py": "python", "bash": "bash", "sh": "bash", "shell": "bash"}
BLOCK_TIMEOUT_S = 600


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    lang: str  # "python", "bash", or the info string as written ("" for none)
    code: str
    mode: str  # "run" or "parse-only"

    @property
    def where(self) -> str:
        name = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path.name
        return f"{name}:{self.line}"


def doc_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("**/*.md"))]
    return [f for f in files if f.is_file()]


def parse_blocks(path: Path) -> list[Block]:
    """Fenced blocks of a Markdown file, each with the docs-test marker on the line before it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence, info, indent = opening["fence"], opening["info"].lower(), len(opening["indent"])
        j = i + 1
        while j < len(lines) and not re.match(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$", lines[j]):
            j += 1
        body = [line[indent:] if line[:indent].isspace() else line for line in lines[i + 1 : j]]
        marker = MARKER.match(lines[i - 1]) if i > 0 else None
        blocks.append(Block(path, i + 1, LANGUAGES.get(info, info), "\n".join(body) + "\n", marker["mode"] if marker else "run"))
        i = j + 1
    return blocks


def markers_without_blocks(path: Path) -> list[str]:
    """Problems with markers: an unknown mode, or a marker not directly above a fence."""
    lines = path.read_text(encoding="utf-8").splitlines()
    problems = []
    for n, line in enumerate(lines):
        if not (line.lstrip().startswith("<!--") and "docs-test" in line):
            continue
        marker = MARKER.match(line)
        if not marker:
            problems.append(f"{path.name}:{n + 1}: malformed marker {line.strip()!r}; write <!-- docs-test: parse-only -->")
        elif marker["mode"] not in MODES:
            problems.append(f"{path.name}:{n + 1}: unknown mode {marker['mode']!r}; known: {', '.join(MODES)}")
        elif n + 1 >= len(lines) or not FENCE.match(lines[n + 1]):
            problems.append(f"{path.name}:{n + 1}: the marker must be on the line right before a code fence")
    return problems


def cases() -> list:
    """One case per (file, language) that has executable blocks, e.g. ``README.md-bash``."""
    out = []
    for path in doc_files():
        langs = {b.lang for b in parse_blocks(path)} & {"python", "bash"}
        out += [pytest.param(path, lang, id=f"{path.relative_to(ROOT)}-{lang}") for lang in sorted(langs)]
    return out


# --- parse-only commands --------------------------------------------------------------------


def shell_commands(code: str) -> list[list[str]]:
    """Simple commands of a shell block: continuations joined, comments dropped, split at && || ; |."""
    commands = []
    for line in code.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        current: list[str] = []
        for token in lexer:
            if token in ("&&", "||", ";", "|", "&"):
                if current:
                    commands.append(current)
                current = []
            else:
                current.append(token)
        if current:
            commands.append(current)
    return commands


def check_parses(block: Block) -> None:
    from disbench.cli import build_parser

    if block.lang == "python":
        compile(block.code, block.where, "exec")
        return
    commands = shell_commands(block.code)
    assert commands, f"{block.where}: a parse-only block without commands"
    for argv in commands:
        if argv[0] == "pip" or argv[:3] == ["python", "-m", "pip"]:
            continue
        if argv[0] == "disbench":
            try:
                build_parser().parse_args(argv[1:])
            except SystemExit as e:
                pytest.fail(f"{block.where}: `{shlex.join(argv)}` does not parse (exit {e.code}); argparse's message is above")
        else:
            assert shutil.which(argv[0]), f"{block.where}: `{argv[0]}` is not a command on PATH"


# --- running --------------------------------------------------------------------------------


def copy_of_repository(dest: Path) -> Path:
    """The working tree's tracked and not-ignored untracked files, copied to ``dest``."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"the shell blocks run in a copy of a git checkout, and `git ls-files` failed here: {e}")
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():  # listed but deleted in the working tree: skip
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def disbench_shim(folder: Path) -> Path:
    """A ``disbench`` executable that is this interpreter running the package from PYTHONPATH."""
    folder.mkdir(parents=True, exist_ok=True)
    shim = folder / "disbench"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m disbench.cli "$@"\n')
    shim.chmod(0o755)
    return folder


def run_bash(block: Block, cwd: Path, env: dict[str, str]) -> None:
    try:
        done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block.code], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=BLOCK_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{block.where}: still running after {BLOCK_TIMEOUT_S} s; mark it parse-only or make it cheaper")
    if done.returncode != 0:
        pytest.fail(
            f"{block.where}: the bash block exited {done.returncode}\n--- block ---\n{block.code}"
            f"--- stdout (end) ---\n{done.stdout[-3000:]}\n--- stderr (end) ---\n{done.stderr[-3000:]}"
        )


@pytest.mark.parametrize("path, lang", cases())
def test_doc_blocks_run(path, lang, tmp_path, monkeypatch, scratch_registry):  # tasks a page registers do not outlive it
    blocks = [b for b in parse_blocks(path) if b.lang == lang]
    for block in blocks:
        if block.mode == "parse-only":
            check_parses(block)
    runnable = [b for b in blocks if b.mode == "run"]
    if lang == "python":
        work = tmp_path / "work"
        work.mkdir()
        monkeypatch.chdir(work)
        namespace: dict = {"__name__": "__docs__"}
        for block in runnable:
            exec(compile(block.code, block.where, "exec"), namespace)
    elif runnable:
        repo = copy_of_repository(tmp_path / "repo")
        env = dict(os.environ)  # DISBENCH_DATA is the test's own empty folder (conftest)
        env["PATH"] = f"{disbench_shim(tmp_path / 'bin')}{os.pathsep}{env.get('PATH', '')}"
        env["PYTHONPATH"] = f"{repo}{os.pathsep}{env['PYTHONPATH']}" if env.get("PYTHONPATH") else str(repo)
        for block in runnable:
            run_bash(block, repo, env)


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_docs_test_markers_are_well_formed(path):
    assert markers_without_blocks(path) == []


# --- the extractor itself -------------------------------------------------------------------

SAMPLE = textwrap.dedent(
    """\
    Text.

    ```python
    x = 1
    ```

    <!-- docs-test: parse-only -->
    ```bash
    pip install thing && disbench list   # comment
    disbench run a \\
      --task b
    ```

    ````text
    ```python
    not a block of its own
    ```
    ````

    ```
    plain
    ```
    """
)


def test_blocks_markers_and_commands_are_extracted(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text(SAMPLE)
    blocks = parse_blocks(doc)
    assert [(b.line, b.lang, b.mode) for b in blocks] == [(3, "python", "run"), (8, "bash", "parse-only"), (14, "text", "run"), (20, "", "run")]
    assert blocks[0].code == "x = 1\n" and "not a block" in blocks[2].code
    assert shell_commands(blocks[1].code) == [["pip", "install", "thing"], ["disbench", "list"], ["disbench", "run", "a", "--task", "b"]]
    doc.write_text("<!-- docs-test: parse-only -->\n\n```bash\nls\n```\n<!-- docs-test: skip -->\n```bash\nls\n```\n")
    problems = markers_without_blocks(doc)
    assert len(problems) == 2 and "line right before" in problems[0] and "unknown mode 'skip'" in problems[1]


def test_parse_only_checks_disbench_commands_against_the_parser(tmp_path):
    good = Block(tmp_path, 1, "bash", "pip install -e . && disbench run submissions/x --task xysquares-mse --protocol quick\n", "parse-only")
    check_parses(good)
    bad = Block(tmp_path, 1, "bash", "disbench run submissions/x --protocol quik\n", "parse-only")
    with pytest.raises(pytest.fail.Exception, match="does not parse"):
        check_parses(bad)


QUIET_RUN = re.compile(r"(\d+ min \d+ s) on a quiet 2-core machine")


def test_readme_and_protocols_state_the_measured_set_up_times():
    """The quick tier's time per run and the tests' time are benchmarks/results/readme_cpu.json's medians
    (benchmarks/bench_readme.py times the README's own commands), stated alike in README.md and
    docs/protocols.md (issue 21: they said 6-7 and 8-12 minutes)."""
    import json

    readme, protocols = (ROOT / "README.md").read_text(encoding="utf-8"), (ROOT / "docs" / "protocols.md").read_text(encoding="utf-8")
    measured = json.loads((ROOT / "benchmarks" / "results" / "readme_cpu.json").read_text(encoding="utf-8"))
    main_s = round(measured["main"]["median_s"])
    quick_row = next(line for line in protocols.splitlines() if line.startswith("| `quick` |"))
    times = {"README.md": set(QUIET_RUN.findall(readme)), "the quick row of docs/protocols.md": set(QUIET_RUN.findall(quick_row)),
             "docs/protocols.md": set(QUIET_RUN.findall(protocols))}  # its prose on the ladder's timings quotes the same run
    assert all(found == {f"{main_s // 60} min {main_s % 60} s"} for found in times.values()), (times, main_s)
    assert not re.search(r"\d+-\d+ minutes (per|on)", readme), "a quick-tier time in README.md other than the measured one"
    tests = re.search(r"Tests \(about (\d+) minutes on a quiet 2-core machine", readme)
    assert tests and int(tests.group(1)) == round(measured["tests"]["median_s"] / 60), measured["tests"]["median_s"]


def _cells(section: str, row_start: str, doc: str = "protocols.md") -> list[list[str]]:
    """The cells of a Markdown table's rows that start with ``row_start``, in one section of ``docs/<doc>``."""
    text = (ROOT / "docs" / doc).read_text(encoding="utf-8")
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return [[c.strip() for c in line.strip().strip("|").split("|")] for line in body.splitlines() if line.startswith(row_start)]


def _pairs(record, metric: str) -> str:
    return f"{record.metrics[metric]:.3f} / {record.max_during_training[metric]:.3f}"


def test_protocols_baseline_tables_are_the_committed_records():
    """docs/protocols.md quotes the baselines' board records cell by cell; a re-run that replaces a record must
    update them (the 2026-12-03 signed re-runs once left them quoting the first records)."""
    from disbench.harness.record import load_record

    def record(task, method, seed):
        return load_record(ROOT / "leaderboards" / "results" / task / method / "quick" / f"seed-{seed}.json")

    rows = _cells("The baselines' numbers (quick tier)", "| ada-gvae") + _cells("The baselines' numbers (quick tier)", "| beta-vae")
    assert len(rows) == 6
    for method, task, mig, dci, factor_vae in rows:
        runs = [record(task, method, seed) for seed in (0, 1)]
        assert mig == ", ".join(_pairs(r, "mig") for r in runs), (method, task)
        assert dci == ", ".join(_pairs(r, "dci.disentanglement") for r in runs), (method, task)
        assert factor_vae == ", ".join(f"{r.metrics['factor_vae.eval_accuracy']:.3f}" for r in runs), (method, task)

    baseline = _cells("Where the box blur shows on a CPU", "| z=9, β=0.001 (baseline)")
    assert len(baseline) == 2
    for _, seed, mig_mse, mig_blur, dci_mse, dci_blur, informativeness in baseline:
        mse, blur = (record(task, "ada-gvae", int(seed)) for task in ("xysquares-mse-v0", "xysquares-boxblur-v0"))
        assert [mig_mse, mig_blur, dci_mse, dci_blur] == [_pairs(mse, "mig"), _pairs(blur, "mig"), _pairs(mse, "dci.disentanglement"),
                                                          _pairs(blur, "dci.disentanglement")], seed
        assert informativeness == " / ".join(f"{r.metrics['dci.informativeness_test']:.3f}" for r in (mse, blur))


def _record(folder: str, task: str, submission: str, seed: int, tier: str = "quick"):
    from disbench.harness.record import load_record

    return load_record(ROOT / folder / "results" / task / submission / tier / f"seed-{seed}.json")


def test_hand_written_record_tables_are_the_committed_records():
    """The other tables that quote committed records cell by cell: Fig. 11's z = 25 rows of docs/protocols.md (ungated DCI, as
    they say), its candidates in docs/reproduction.md (informativeness: final and the lowest curve point of either seed), and
    the signed beta-VAE records docs/trust.md sets beside the public ones (gated DCI), and the extended tier's spacings
    without overlap in docs/reproduction.md's reading (informativeness over the curve and final, MIG and gated DCI)."""
    from disbench.reproduction.gate import gated_dci

    def ungated(r):
        g = gated_dci(r)
        return f"{g.final_ungated:.3f} / {g.peak_ungated:.3f}"

    def lowest(runs):
        return min(v for r in runs for _, v in r.curve["dci.informativeness_test"])

    fig11 = _cells("Where the box blur shows on a CPU", "| z=25")
    assert len(fig11) == 4
    for setting, seed, mig_mse, mig_blur, dci_mse, dci_blur, informativeness in fig11:
        name = "ada-gvae-z25-b" + setting.split("β=")[1]
        mse, blur = (_record("reproduction", task, name, int(seed)) for task in ("xysquares-mse-v0", "xysquares-boxblur-v0"))
        assert [mig_mse, mig_blur, dci_mse, dci_blur] == [_pairs(mse, "mig"), _pairs(blur, "mig"), ungated(mse), ungated(blur)], (setting, seed)
        assert informativeness == " / ".join(f"{r.metrics['dci.informativeness_test']:.3f}" for r in (mse, blur)), (setting, seed)

    candidates = _cells("Choosing Fig. 11's setting for more seeds", "| z = 25", "reproduction.md")
    assert len(candidates) == 3
    for setting, method, cell_mse, cell_blur, migs in candidates:
        name = ("ada-gvae" if method == "Ada-GVAE" else "beta-vae") + "-z25-b" + setting.split("β = ")[1].split(" ")[0]
        seeds = (0,) if method.endswith("seed 0") else (0, 1)
        arms = [[_record("reproduction", task, name, s) for s in seeds] for task in ("xysquares-mse-v0", "xysquares-boxblur-v0")]
        finals = [" / ".join(f"{r.metrics['dci.informativeness_test']:.3f}" for r in runs) for runs in arms]
        collapsed = all(gated_dci(r).gated for r in arms[0])
        assert cell_mse == (f"{finals[0]}: collapsed" if collapsed else f"{finals[0]} ({lowest(arms[0]):.3f})"), setting
        assert cell_blur == f"{finals[1]} ({lowest(arms[1]):.3f})", setting
        assert migs == " / ".join(", ".join(f"{r.metrics['mig']:.3f}" for r in runs) for runs in arms), setting

    extended = [row for row in _cells("Reading the results", "  | ", "reproduction.md") if row[0].isdigit()]
    assert [row[0] for row in extended] == ["5", "6", "7", "8"]
    for spacing, curve, final, mig, dci in extended:
        r = _record("reproduction", "xysquares-mse-v0" if spacing == "8" else f"xysquares-s{spacing}-mse-v0", "ada-gvae", 0, "extended")
        points = [v for _, v in r.curve["dci.informativeness_test"]]
        g = gated_dci(r)
        assert curve == f"{min(points):.2f}-{max(points):.2f}" and final == f"{r.metrics['dci.informativeness_test']:.3f}", spacing
        assert [mig, dci] == [f"{r.metrics['mig']:.3f} ({r.max_during_training['mig']:.3f})", f"{g.final:.3f} ({g.peak:.3f})"], spacing


def test_trust_seal_effect_table_is_the_benchmark_and_the_records():
    """docs/trust.md's paired comparison (sealed board records against the public ones they replaced) quotes
    benchmarks/results/seal_effect.json row by row, and that file's sealed side is what the committed records score."""
    import json

    from disbench.reproduction.gate import gated_dci

    results = json.loads((ROOT / "benchmarks" / "results" / "seal_effect.json").read_text(encoding="utf-8"))
    section = "Sealed evaluation: the public renderer is not the task"
    labels = {"MIG": "mig", "DCI disentanglement (gated)": "dci.disentanglement (gated)", "DCI test informativeness": "dci.informativeness_test"}
    rows = [row for row in _cells(section, "| ", "trust.md") if row[0] in labels]
    assert [row[0] for row in rows] == list(labels)

    def p_value(p: float) -> str:
        return f"{p:.3f}" if p < 0.1 else f"{p:.2f}"

    for label, n, median, lower_higher, p, p_holm in rows:
        s = results["summary"][labels[label]]
        assert n == str(s["n"]) == str(len(results["pairs"]))
        assert median == f"{s['median_difference']:+.3f} [{s['ci95'][0]:+.3f}, {s['ci95'][1]:+.3f}]", label
        assert lower_higher == f"{s['sealed_lower']} / {s['sealed_higher']}", label
        assert [p, p_holm] == [p_value(s["wilcoxon_p"]), p_value(s["wilcoxon_p_holm"])], label
    for pair in results["pairs"]:
        record = _record("leaderboards", *pair["record"].split("/")[:2], int(pair["record"].rsplit("-", 1)[1].removesuffix(".json")))
        assert pair["sealed"] == {"mig": record.metrics["mig"], "dci.disentanglement (gated)": gated_dci(record).final,
                                  "dci.informativeness_test": record.metrics["dci.informativeness_test"]}, pair["record"]
