"""A task registered from your own files, in a module of yours, trains and is scored through the
real harness path (``run_submission`` -> the sandboxed child), its factors stay out of the child's
reach, and ``disbench verify`` re-scores its record in a fresh process, finding the task through
``--task MODULE:ID`` only (the module a record names is a hint, never imported), and never
against other data."""

import json
import subprocess
import sys
import textwrap

import pytest

from disbench.cli import main as cli
from disbench.data import from_files
from disbench.harness.child.sandbox import isolation
from disbench.harness.record import load_record
from disbench.harness.run import run_submission
from disbench.registration import registry
from tests.data.own_data import xysquares_folder
from tests.harness.test_trust import submission

MODULE = "yourtasks"  # a module name no other test imports: the tasks it registers remember it
TASKS = textwrap.dedent("""
    from pathlib import Path

    import disbench
    from disbench.protocol import Protocol, default_protocols

    tiny = Protocol("smoke", steps=4, batch_size=8, latent_dim=9, metric_suite="smoke", seeds=(0,))
    data = disbench.data.from_files(Path(__file__).parent / {folder!r})
    disbench.register("mysquares-mse-v0", kwargs=data.task_kwargs("mse"), protocols={{"standard": default_protocols()["standard"], "smoke": tiny}})
    disbench.register("{other}-v0", kwargs=data.task_kwargs("mse+box_r8_w289"))
""")
RECORD = "runs/results/mysquares-mse-v0/spy/smoke/seed-0.json"
CHECKPOINT = "runs/mysquares-mse-v0/spy/smoke/seed-0/checkpoint.pt"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One smoke-tier run (4 steps) of a spy submission on ``yourtasks:mysquares-mse``, from a folder
    holding the data (16 images, one square) and ``yourtasks.py``."""
    folder = tmp_path_factory.mktemp("your-data")
    data_folder, _ = xysquares_folder(folder / "data", grid_spacing=8, grid_size=4)
    (folder / f"{MODULE}.py").write_text(TASKS.format(folder="data", other="mysquares-blur"))
    spy = submission(folder, "spy", f"""
        try:
            print("READ", Path({str(data_folder / "factors.csv")!r}).read_text().splitlines()[0])
        except OSError as e:
            print("BLOCKED", type(e).__name__)

        class Model(BetaVAE):
            pass
    """)
    before = dict(registry)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.chdir(folder)  # where `disbench run --task yourtasks:...` is typed
            record = run_submission(spy, f"{MODULE}:mysquares-mse", seed=0, protocol="smoke", device="cpu", runs_dir="runs", results_dir="runs/results",
                                    progress=False, evaluate=True)
        yield folder, data_folder, record
    finally:
        registry.clear()
        registry.update(before)
        sys.modules.pop(MODULE, None)


def test_a_registered_file_dataset_trains_through_the_harness_and_its_factors_stay_with_it(trained):
    """The child never re-creates the task: it gets observations through shared memory. So the data
    folder is not bound into its sandbox, and the CSV of factors next to the images is out of its
    reach (where the machine has the sandbox's namespaces; elsewhere the child is unwalled, as for
    any dataset)."""
    folder, data_folder, record = trained
    data = from_files(data_folder)
    assert record.status == "completed" and record.training.steps == 4 and 0 <= record.metrics["mig"] <= 1 and len(record.metrics) > 50
    assert record.task.spec["kwargs"]["sha256"] == data.fingerprint and record.task.spec["kwargs"]["path"] == str(data_folder)
    assert record.task.spec["module"] == MODULE and load_record(folder / RECORD).metrics == record.metrics
    log = (folder / CHECKPOINT).with_name("child.log").read_text()
    if isolation().namespaces:
        assert "BLOCKED FileNotFoundError" in log and "READ" not in log
    else:
        assert "READ file," in log


def _one_line_error(capsys, argv) -> str:
    assert cli(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def _failed_task_check(capsys, argv) -> str:
    """``disbench verify`` reports the task check as failed (exit 1) and checks nothing after it."""
    assert cli(argv) == 1
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("  [FAIL] task: ")]
    assert len(lines) == 1 and "re-scored" not in out and out.rstrip().endswith("NOT VERIFIED"), out
    return lines[0].removeprefix("  [FAIL] task: ")


def test_verify_finds_your_task_through_task_only_and_refuses_other_data(trained, tmp_path, monkeypatch, capsys, scratch_registry):
    folder, data_folder, record = trained
    monkeypatch.chdir(folder)
    sha = record.task.spec["kwargs"]["sha256"]
    del scratch_registry["mysquares-mse-v0"]  # as in a fresh process
    sys.modules.pop(MODULE, None)
    line = _failed_task_check(capsys, ["verify", RECORD])  # the record names its module, as a hint: nothing imports it unasked
    assert line.endswith(f"pass --task {MODULE}:mysquares-mse-v0, naming the module that registers it (a file in the current folder does); "
                         f"it says it came from {MODULE!r}, which is imported only if you name it.") and MODULE not in sys.modules
    assert cli(["verify", RECORD, "--task", f"{MODULE}:mysquares-mse"]) == 0  # the fresh `disbench eval` imports what was typed
    out = capsys.readouterr().out
    assert f"[ok] task: {MODULE}:mysquares-mse builds the record's task (data sha256 {sha[:12]}...)" in out
    assert f"[ok] re-scored metrics: all {len(record.metrics)} identical" in out and out.rstrip().endswith("VERIFIED (unsigned: not from the official runner)")

    stripped = json.loads((folder / RECORD).read_text())  # a record that does not say where its task is registered, in a fresh process
    del stripped["task"]["spec"]["module"]
    (tmp_path / "seed-0.json").write_text(json.dumps(stripped))
    fresh = subprocess.run([sys.executable, "-m", "disbench.cli", "verify", str(tmp_path / "seed-0.json")], capture_output=True, text=True, timeout=300)
    assert fresh.returncode == 1 and "[FAIL] task: No task named 'mysquares-mse'" in fresh.stdout and (
        "pass --task MODULE:mysquares-mse-v0, naming the module that registers it (a file in the current folder does).\n") in fresh.stdout

    line = _failed_task_check(capsys, ["verify", RECORD, "--task", f"{MODULE}:mysquares-blur"])
    assert line == f"--task {MODULE}:mysquares-blur is the task mysquares-blur-v0, but mysquares-mse-v0 made the record; give --task MODULE:mysquares-mse-v0."
    other, _ = xysquares_folder(folder / "other", grid_spacing=4, grid_size=4)  # other data under the record's task id
    (folder / "othertasks.py").write_text(TASKS.format(folder="other", other="other-blur"))
    del scratch_registry["mysquares-mse-v0"]  # as in a fresh process, where only othertasks registers it
    sys.modules.pop(MODULE, None)
    try:
        line = _failed_task_check(capsys, ["verify", RECORD, "--task", "othertasks:mysquares-mse"])
        assert line.startswith(f"othertasks:mysquares-mse does not build the task the record was made on (name: was 'data', now 'other'; "
                               f"sha256: was {sha[:12]}..., now {from_files(other).fingerprint[:12]}...); verify the record with the task and data")
        line = _failed_task_check(capsys, ["verify", RECORD])  # othertasks now registers the id: the content is still compared
        assert line.startswith("mysquares-mse-v0 does not build the task the record was made on (name: was 'data', now 'other'; sha256")
        line = _one_line_error(capsys, ["eval", CHECKPOINT])  # nor does eval score the checkpoint on it unless told to (--task)
        assert line.startswith(f"error: mysquares-mse-v0 is no longer the task {CHECKPOINT} was trained on (name: was 'data', now 'other'; sha256")
    finally:
        sys.modules.pop("othertasks", None)


def test_a_record_cannot_make_verify_or_the_board_import_code_it_names(trained, tmp_path, monkeypatch, capsys, scratch_registry):
    """The attack: a crafted record names a module (a file beside it, or a submission's model.py
    reached as a namespace package) so that verifying it, or building the board from it, runs that
    code in the trusted process before any signature is checked. Nothing imports it."""
    from disbench.entry_points import import_module_here
    from disbench.leaderboard.store import CheckContext, Source, load_board

    folder, _, _ = trained
    del scratch_registry["mysquares-mse-v0"]  # as in a fresh process: the task is registered nowhere here
    monkeypatch.chdir(tmp_path)
    payload = f"open({str(tmp_path / 'RAN')!r}, 'w').write('payload ran')\n"
    (tmp_path / "evil.py").write_text(payload)
    (tmp_path / "submissions" / "evil").mkdir(parents=True)
    (tmp_path / "submissions" / "evil" / "model.py").write_text(payload)
    raw = json.loads((folder / RECORD).read_text())
    for n, module in enumerate(["evil", "submissions.evil.model"]):
        crafted = {**raw, "task": {**raw["task"], "spec": {**raw["task"]["spec"], "module": module}}}
        (tmp_path / f"named-{n}.json").write_text(json.dumps(crafted))
        assert "which is imported only if you name it" in _failed_task_check(capsys, ["verify", str(tmp_path / f"named-{n}.json")])
    task_id = "evil:mysquares-mse-v0"  # a module in the task id itself
    crafted = {**raw, "task": {**raw["task"], "id": task_id}}
    results = tmp_path / "results" / task_id / "spy" / "smoke"
    results.mkdir(parents=True)
    (results / "seed-0.json").write_text(json.dumps(crafted))
    assert cli(["verify", str(results / "seed-0.json")]) == 1 and "[FAIL] schema: " in capsys.readouterr().out
    board = load_board([Source(tmp_path / "results", "local")], CheckContext(submissions_dir=tmp_path / "submissions"))
    assert not board.accepted and len(board.refused) == 1
    with pytest.raises(ModuleNotFoundError, match=r"only a submissions.py file or a submissions/ package with an __init__.py counts"):
        import_module_here("submissions.evil.model")  # a bare folder is no package here, even when typed
    assert not (tmp_path / "RAN").exists() and "evil" not in sys.modules
