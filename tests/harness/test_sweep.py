"""Sweeps: exact grids, exact skip/resume/re-run decisions from fabricated records, an interrupted
sweep that runs only what it did not finish (calls counted), a real run through submitit's local
executor, and the exact Slurm job (parameters and sbatch file) submitted through a stand-in
``sbatch``.

The one real run (a copy of the beta-VAE baseline renamed ``tiny-vae``, ``smoke`` tier of
xysquares-mse, seed 0) is trained once by a module fixture; each test works on a copy of its folders.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

import disbench
from disbench.cli import main
from disbench.harness.record import RunResult, load_record, write_record
from disbench.harness.run.folder import RunFolder
from disbench.harness.sweep import (
    Action,
    Run,
    State,
    Sweep,
    SweepError,
    action,
    counts,
    estimate_eta_s,
    expand,
    group_runs,
    load_sweep_file,
    match_tasks,
    parse_seeds,
    survey,
    to_do,
)
from disbench.harness.sweep.executors import (
    SlurmOptions,
    execute,
    execute_group,
    make_executor,
    run_local,
    submit,
    submitit_parameters,
    wait,
)
from disbench.seeds import SeedError

ROOT = Path(__file__).resolve().parents[2]
TASK = "xysquares-mse-v0"


def make_workspace(root: Path) -> Path:
    """``root/submissions/tiny-vae`` (a renamed copy of the beta-VAE baseline); results and runs go under ``root``."""
    folder = root / "submissions" / "tiny-vae"
    shutil.copytree(ROOT / "submissions" / "beta-vae", folder, ignore=shutil.ignore_patterns("__pycache__"))
    toml = folder / "submission.toml"
    toml.write_text(toml.read_text().replace('name = "beta-vae"', 'name = "tiny-vae"'))
    return root


def sweep_in(root: Path, seeds=(0, 1), tasks=("xysquares-mse",)) -> Sweep:
    return Sweep(submissions=("tiny-vae",), tasks=tasks, seeds=seeds, protocol="smoke", submissions_dir=root / "submissions",
                 results_dir=root / "results", runs_dir=root / "runs")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A sweep of seed 0 run for real through submitit's local executor (a job in a subprocess):
    the workspace, and the outcomes the job sent back."""
    root = make_workspace(tmp_path_factory.mktemp("trained"))
    grid = expand(sweep_in(root, seeds=(0,)))
    groups = group_runs([s.run for s in to_do(survey(grid.runs))])
    jobs = submit(groups, make_executor("local", root / "logs", SlurmOptions(gpus_per_job=0, timeout_min=10)), device="cpu")
    return root, wait(jobs, groups, progress=False, poll_s=0.5, echo=lambda line: None), jobs


@pytest.fixture
def workspace(trained, tmp_path):
    """A private copy of the trained sweep's folders: seed 0 done."""
    root = tmp_path / "ws"
    shutil.copytree(trained[0], root)
    return root


# ---------------------------------------------------------------------------------------------
# grid


def test_seeds_specs_expand_exactly_and_bad_ones_say_what_a_seed_is():
    assert parse_seeds(None) == parse_seeds("tier") == parse_seeds(["tier"]) == "tier"
    assert parse_seeds("0-4") == (0, 1, 2, 3, 4)
    assert parse_seeds(["3", "0", "1", "1"]) == (0, 1, 3)
    assert parse_seeds([0, "5-6", 2]) == (0, 2, 5, 6)
    for bad, message in [("4-0", "runs backwards"), ("-1", "is negative"), (["tier", "1"], "stands alone"), ("x", "is not a seed"),
                         ([], "No seeds"), ("0-20000", "at most 10,000"), (str(2**64), "too large"), (str(2**32), "too large")]:
        with pytest.raises(SeedError, match=message):
            parse_seeds(bad)


def test_task_patterns_match_registered_ids_with_and_without_versions():
    xysquares = [i for i in disbench.registry if i.startswith("xysquares-")]
    assert match_tasks(["xysquares-*"]) == xysquares
    assert match_tasks(["xysquares-*-v0"]) == xysquares
    assert match_tasks(["xysquares-s?-mse"]) == [f"xysquares-s{k}-mse-v0" for k in range(1, 8)]
    assert match_tasks(["xysquares-mse", "xysquares-m*", "xcolumns-mse-v0"]) == ["xysquares-mse-v0", "xcolumns-mse-v0"]
    with pytest.raises(SweepError, match=r"No registered task matches 'xysqares-\*'\. Did you mean"):
        match_tasks(["xysqares-*"])
    with pytest.raises(SweepError, match="Task 'xysquares-msee'.*Did you mean 'xysquares-mse'"):
        match_tasks(["xysquares-msee"])
    with pytest.raises(SweepError, match="No tasks given"):
        match_tasks([])


def test_grid_is_submission_task_seed_in_order_with_notes_on_off_protocol_seeds(tmp_path):
    root = make_workspace(tmp_path)
    shutil.copytree(root / "submissions" / "tiny-vae", root / "submissions" / "other-vae")
    toml = root / "submissions" / "other-vae" / "submission.toml"
    toml.write_text(toml.read_text().replace('name = "tiny-vae"', 'name = "other-vae"'))
    sweep = Sweep(("tiny-vae", str(root / "submissions" / "other-vae")), ("xysquares-s2-mse", "xysquares-s1-mse"), "0 2", "smoke",
                  root / "submissions", root / "results", root / "runs")
    grid = expand(sweep)
    assert [(r.submission, r.task_id, r.seed) for r in grid.runs] == [
        (name, task, seed) for name in ("tiny-vae", "other-vae") for task in ("xysquares-s2-mse-v0", "xysquares-s1-mse-v0") for seed in (0, 2)
    ]
    assert grid.notes == [f"{t}: seed 2 is not the smoke tier's official seed 0: the record will be off-protocol (the leaderboard refuses it)."
                          for t in ("xysquares-s2-mse-v0", "xysquares-s1-mse-v0")]
    run = grid.runs[0]
    assert run.record_file == root / "results" / "xysquares-s2-mse-v0" / "tiny-vae" / "smoke" / "seed-0.json"
    assert run.folder.path == root / "runs" / "xysquares-s2-mse-v0" / "tiny-vae" / "smoke" / "seed-0"
    standard = expand(Sweep(("tiny-vae",), ("xysquares-mse",), "tier", "standard", root / "submissions"))
    assert [r.seed for r in standard.runs] == list(disbench.spec("xysquares-mse").protocols["standard"].seeds) and not standard.notes
    with pytest.raises(SweepError, match="No submission 'tiny-vea'.*Did you mean 'tiny-vae'"):
        expand(Sweep(("tiny-vea",), ("xysquares-mse",), submissions_dir=root / "submissions"))
    with pytest.raises(SweepError, match="Unknown protocol tier 'smok'.*Did you mean 'smoke'"):
        Sweep(("tiny-vae",), ("xysquares-mse",), protocol="smok")


def test_sweep_file_is_read_and_options_given_override_it(tmp_path):
    from disbench.cli import build_parser
    from disbench.harness.sweep.cli import settings

    root = make_workspace(tmp_path)
    file = root / "overlap.toml"
    file.write_text('submissions = ["tiny-vae"]\ntasks = ["xysquares-s?-mse"]\nseeds = "0-2"\nprotocol = "smoke"\n'
                    f'submissions_dir = "{root / "submissions"}"\nexecutor = "slurm"\npack = 4\n[slurm]\npartition = "gpu"\ntimeout_min = 30\n')
    sweep, executor, slurm, pack = settings(build_parser().parse_args(["sweep", "--config", str(file), "--seeds", "1", "--timeout-min", "5"]))
    assert (sweep.seeds, sweep.protocol, sweep.tasks, executor, pack) == ((1,), "smoke", ("xysquares-s?-mse",), "slurm", 4)
    assert settings(build_parser().parse_args(["sweep", "--config", str(file), "--pack", "2"]))[3] == 2
    assert slurm == {"partition": "gpu", "gpus_per_job": 1, "cpus_per_task": None, "mem_gb": None, "timeout_min": 5, "array_parallelism": 64,
                     "account": None}
    assert len(expand(sweep).runs) == 7
    file.write_text('submissions = ["tiny-vae"]\ntasks = ["xysquares-mse"]\nseed = [0]\npack = 0\n[slurm]\ngpus_per_job = -1\n')
    with pytest.raises(SweepError, match=r"(?s)overlap.toml is invalid:.*pack: Input should be greater.*slurm.gpus_per_job: Input should be greater.*seed: Extra inputs"):
        load_sweep_file(file)
    with pytest.raises(SweepError, match="No sweep file"):
        load_sweep_file(root / "nope.toml")
    # the file committed with the repository expands against the real registry
    committed = load_sweep_file(ROOT / "sweeps" / "overlap.toml")
    assert match_tasks(committed.tasks) == [*(f"xysquares-s{k}-mse-v0" for k in range(1, 8)), "xysquares-mse-v0"]
    assert (committed.submissions, committed.seeds, committed.protocol) == (["beta-vae", "ada-gvae"], "tier", "standard")


def test_runs_are_packed_by_submission_task_and_tier_in_grid_order():
    def run(submission, task, seed, protocol="smoke"):
        return Run(submission, Path(f"/s/{submission}"), task, protocol, seed, Path("/r"), Path("/w"))

    runs = [run("a", TASK, seed) for seed in range(5)] + [run("a", "xysquares-s1-mse-v0", 0), run("b", TASK, 0), run("b", TASK, 1, "quick")]
    assert group_runs(runs) == [[r] for r in runs]
    assert [[(r.submission, r.task_id, r.seed) for r in group] for group in group_runs(runs, pack=2)] == [
        [("a", TASK, 0), ("a", TASK, 1)], [("a", TASK, 2), ("a", TASK, 3)], [("a", TASK, 4)], [("a", "xysquares-s1-mse-v0", 0)], [("b", TASK, 0)],
        [("b", TASK, 1)]]
    assert group_runs(runs, pack=16)[0] == runs[:5]
    with pytest.raises(SweepError, match="pack=0: give how many runs to train together"):
        group_runs(runs, pack=0)


def test_a_finished_run_resumed_into_another_results_folder_publishes_its_record_there(workspace):
    """The run folder holds seed 0's finished run; a sweep into a fresh results folder used to 'resume' it, print
    "completed" and write nothing there, every time. Now the record (and its picture) lands, untrained, then reads done."""
    elsewhere = Sweep(("tiny-vae",), ("xysquares-mse",), (0,), "smoke", workspace / "submissions", workspace / "results-2", workspace / "runs")
    run = expand(elsewhere).runs[0]
    [state] = survey([run])
    assert (state.state, state.reason) == (State.PARTIAL, "finished in its run folder, its record not in this results folder: resuming publishes it")
    outcome = execute(run, device="cpu")  # the real run_submission: it returns before any child starts
    assert (outcome.action, outcome.status) == (Action.RESUME, "completed")
    assert run.record_file.read_bytes() == run.folder.result.read_bytes()
    assert run.record_file.with_name("seed-0.traversals.png").read_bytes() == run.folder.traversals.read_bytes()
    assert survey([run])[0].state is State.DONE


def test_a_run_folder_made_by_other_code_is_rerun_by_a_sweep_and_refused_by_a_resume(workspace):
    """After model.py changed, seed 0's folder holds a run of the old code. Without its record, a sweep re-runs it,
    finished or stopped half way (it used to resume it: one model trained by two codes, or the old code's scores
    published under the new hash); ``--resume`` and a packed resume refuse, before any child starts, and name the fix."""
    from disbench.error import TrainingError
    from disbench.harness.run import run_packed_submission, run_submission

    run = expand(sweep_in(workspace, seeds=(0,))).runs[0]
    run.record_file.unlink()
    model = workspace / "submissions" / "tiny-vae" / "model.py"
    model.write_text(model.read_text() + "\n# changed\n")
    options = dict(protocol="smoke", device="cpu", resume=True, results_dir=workspace / "results", runs_dir=workspace / "runs", progress=False)
    fix = r"holds a run made under other settings: the submission's code \(content hash \w{12}, now \w{12}\)\. .*--overwrite"
    for stopped_half_way in (False, True):
        if stopped_half_way:
            run.folder.result.unlink()  # a checkpoint alone
        [state] = survey([run])
        assert (state.state, action(state.state)) == (State.STALE, Action.RERUN)
        assert state.reason.startswith("its run folder holds a run made under other settings: the submission's code (content hash")
        with pytest.raises(TrainingError, match=fix):
            run_submission(run.submission_path, TASK, seed=0, **options)
        with pytest.raises(TrainingError, match=fix):
            run_packed_submission(run.submission_path, TASK, seeds=[1, 0], **options)
    assert not run.record_file.exists() and not (run.record_file.parent / "seed-1.json").exists()


def test_a_packed_group_runs_each_action_as_one_pack_and_skips_what_is_done(workspace):
    grid = expand(sweep_in(workspace, seeds="0-4"))
    runs = {r.seed: r for r in grid.runs}
    done = load_record(runs[0].record_file)
    fabricate(done, runs[2].record_file, seed=2, status="failed", error="NaN at step 3", metrics={})
    half_way(runs[0], runs[4])
    packs = []

    def pack_fn(submission, task_id, seeds, **kwargs):
        packs.append((seeds, kwargs["resume"], kwargs["overwrite"]))
        if seeds == [2]:
            raise SweepError("boom")
        return [done.model_copy(update={"seed": s}) for s in seeds]

    outcomes = execute_group(list(runs.values()), run_fn=None, pack_fn=pack_fn)
    assert packs == [([1, 3], False, False), ([2], False, True), ([4], True, False)]
    assert [(o.run.seed, o.action, o.status, o.detail) for o in outcomes] == [
        (0, Action.SKIP, "skipped", "done"), (1, Action.START, "completed", None), (2, Action.RERUN, "failed", "boom"),
        (3, Action.START, "completed", None), (4, Action.RESUME, "completed", None)]


# ---------------------------------------------------------------------------------------------
# states and decisions


def half_way(done: Run, run: Run) -> None:
    """A checkpoint and no record for ``run``: ``done``'s checkpoint, made out to ``run``'s seed."""
    from disbench.harness.run.checkpoint import save_checkpoint
    from disbench.harness.run.evaluation import load_run_state

    run.folder.path.mkdir(parents=True)
    save_checkpoint(run.folder.checkpoint, {**load_run_state(done.folder.checkpoint), "seed": run.seed})


def fabricate(record: RunResult, path: Path, **changes) -> None:
    """Write a copy of a real record with fields replaced (no validation on the way: load_record checks)."""
    nested = {k: changes.pop(k) for k in ("protocol", "submission") if k in changes}
    copy = record.model_copy(update=changes)
    for key, fields in nested.items():
        setattr(copy, key, getattr(record, key).model_copy(update=fields))
    write_record(copy, path)


def test_each_state_gets_its_exact_action_and_reason(workspace):
    grid = expand(sweep_in(workspace, seeds="0-7"))
    runs = {r.seed: r for r in grid.runs}
    done = load_record(runs[0].record_file)
    fabricate(done, runs[2].record_file, seed=2, status="failed", error="The loss became non-finite at step 7.", metrics={})
    fabricate(done, runs[3].record_file, seed=3, protocol={"hash": "0" * 64})
    fabricate(done, runs[4].record_file, seed=4, submission={"content_hash": "f" * 64})
    runs[5].record_file.write_text('{"status": "compl')
    half_way(runs[0], runs[6])
    with RunFolder(runs[7].folder.path).lock():  # another process training seed 7 (flock: per open file)
        states = survey(grid.runs)
        assert [(s.run.seed, s.state) for s in states] == [(0, State.DONE), (1, State.MISSING), (2, State.FAILED), (3, State.STALE),
                                                            (4, State.STALE), (5, State.FAILED), (6, State.PARTIAL), (7, State.RUNNING)]
        assert states[2].reason == "The loss became non-finite at step 7."
        assert states[3].reason.startswith("its record was made under other settings: the tier's protocol (hash 000000000000, now ")
        assert states[4].reason.startswith("its record was made under other settings: the submission's code (content hash ffffffffffff, now ")
        assert states[5].reason.startswith("unreadable record:") and "seed-5.json" in states[5].reason
        assert states[7].reason.startswith("pid ")
        assert [(s.run.seed, s.state) for s in to_do(states)] == [(1, State.MISSING), (2, State.FAILED), (3, State.STALE), (4, State.STALE),
                                                                  (5, State.FAILED), (6, State.PARTIAL)]
        assert list(counts(states).values()) == [1, 1, 1, 2, 2, 1]  # done, running, partial, failed, stale, missing
        train = done.training.wall_time_s + done.training.evaluation_time_s
        assert estimate_eta_s(states) == pytest.approx(7 * train)  # 7 runs left at seed 0's time, one at a time
        assert estimate_eta_s(states, parallel=7) == pytest.approx(train)

        calls = []

        def record_call(submission, task_id, **kwargs):
            calls.append((kwargs["seed"], kwargs["resume"], kwargs["overwrite"]))
            return done

        outcomes = [execute(run, record_call) for run in grid.runs]
    assert calls == [(1, False, False), (2, False, True), (3, False, True), (4, False, True), (5, False, True), (6, True, False)]
    assert [(o.run.seed, o.action, o.status) for o in outcomes] == [
        (0, Action.SKIP, "skipped"), (1, Action.START, "completed"), (2, Action.RERUN, "completed"), (3, Action.RERUN, "completed"),
        (4, Action.RERUN, "completed"), (5, Action.RERUN, "completed"), (6, Action.RESUME, "completed"), (7, Action.SKIP, "skipped")]
    assert outcomes[7].detail.startswith("running (pid ")

    def crash(*args, **kwargs):
        raise ValueError("bad shape")

    crashed = execute(runs[1], crash)
    assert crashed.detail == "ValueError: bad shape"  # a crashing run is an outcome; the sweep goes on
    assert crashed.line() == f"failed    {runs[1].label} (new run, 0s): ValueError: bad shape"  # says what was tried, not "trained"
    assert outcomes[1].line().startswith(f"completed {outcomes[1].run.label} (new run, ")


def test_a_record_filed_under_another_seed_is_stale_not_done(workspace):
    grid = expand(sweep_in(workspace, seeds="0-1"))
    shutil.copyfile(grid.runs[0].record_file, grid.runs[1].record_file)  # seed 0's record, as seed 1's file
    states = survey(grid.runs)
    assert [s.state for s in states] == [State.DONE, State.STALE]
    assert states[1].reason == "its record was made under other settings: the seed (0, asked 1)"


def test_submitit_local_executor_trains_a_run_and_reports_it(trained):
    root, outcomes, jobs = trained
    grid = expand(sweep_in(root, seeds=(0,)))
    assert [(o.run, o.action, o.status, o.detail) for o in outcomes] == [(grid.runs[0], Action.START, "completed", None)], jobs[0].stderr()
    record = load_record(grid.runs[0].record_file)
    assert record.status == "completed" and record.training.steps == disbench.spec(TASK).protocols["smoke"].steps
    assert [s.state for s in survey(grid.runs)] == [State.DONE]


def test_an_interrupted_sweep_runs_only_what_it_did_not_finish(workspace):
    grid = expand(sweep_in(workspace, seeds="0-2"))
    seed0 = load_record(grid.runs[0].record_file)
    calls = []

    def finish(submission, task_id, **kwargs):  # stands in for training: records the call, writes the run's record
        calls.append((kwargs["seed"], kwargs["resume"], kwargs["overwrite"]))
        if kwargs["seed"] == 2 and len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C while seed 2 trains
        fabricate(seed0, grid.runs[kwargs["seed"]].record_file, seed=kwargs["seed"])
        return seed0

    quiet = {"progress": False, "echo": lambda line: None}
    with pytest.raises(KeyboardInterrupt):
        run_local(group_runs([s.run for s in to_do(survey(grid.runs))]), run_fn=finish, **quiet)
    assert calls == [(1, False, False), (2, False, False)]  # seed 0 was done: not handed over
    assert [s.state for s in survey(grid.runs)] == [State.DONE, State.DONE, State.MISSING]
    outcomes = run_local(group_runs([s.run for s in to_do(survey(grid.runs))]), run_fn=finish, **quiet)
    assert calls[2:] == [(2, False, False)] and [(o.run.seed, o.status) for o in outcomes] == [(2, "completed")]
    assert to_do(survey(grid.runs)) == []
    # a duplicated job (every run handed over again) re-checks each run when it starts, and runs nothing
    assert [o.action for o in run_local(group_runs(grid.runs), run_fn=finish, **quiet)] == [Action.SKIP] * 3
    assert len(calls) == 3


# ---------------------------------------------------------------------------------------------
# Slurm


def test_slurm_jobs_have_the_exact_parameters_and_sbatch_file(tmp_path, monkeypatch):
    options = SlurmOptions(partition="gpu", gpus_per_job=1, cpus_per_task=8, mem_gb=32, timeout_min=90, array_parallelism=2, account="lab")
    assert submitit_parameters(options, "slurm") == {
        "name": "disbench-sweep", "timeout_min": 90, "gpus_per_node": 1, "cpus_per_task": 8, "mem_gb": 32, "slurm_array_parallelism": 2,
        "slurm_partition": "gpu", "slurm_account": "lab"}
    assert submitit_parameters(SlurmOptions(timeout_min=5, gpus_per_job=0), "local") == {"name": "disbench-sweep", "timeout_min": 5, "gpus_per_node": 0}

    with pytest.raises(SweepError, match="No Slurm cluster here"):
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
        make_executor("slurm", tmp_path / "logs", options)
    bin_dir = tmp_path / "bin"  # stand-ins for Slurm's commands: srun exists, sbatch keeps the file and answers with a job id
    bin_dir.mkdir()
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "sbatch").write_text(f'#!/bin/sh\ncp "$1" "{tmp_path}/submitted.sh"\necho "Submitted batch job 4242"\n')
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    root = make_workspace(tmp_path / "ws")
    groups = group_runs(expand(sweep_in(root, seeds="0-2")).runs)
    jobs = submit(groups, make_executor("slurm", tmp_path / "logs", options))
    assert [job.job_id for job in jobs] == ["4242_0", "4242_1", "4242_2"]
    sbatch = [line for line in (tmp_path / "submitted.sh").read_text().splitlines() if line.startswith("#SBATCH")]
    for flag in ("--array=0-2%2", "--partition=gpu", "--account=lab", "--gpus-per-node=1", "--cpus-per-task=8", "--mem=32GB", "--time=90",
                 "--job-name=disbench-sweep", "--signal=USR2@90"):
        assert f"#SBATCH {flag}" in sbatch, sbatch


def test_without_submitit_the_error_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "submitit", None)
    with pytest.raises(SweepError, match=r"pip install 'disbench\[slurm\]'"):
        make_executor("slurm", tmp_path, SlurmOptions())


# ---------------------------------------------------------------------------------------------
# command line


def test_cli_dry_run_status_and_wrong_input(workspace, capsys):
    grid = ["--submissions", "tiny-vae", "--tasks", "xysquares-mse", "--seeds", "0-1", "--protocol", "smoke", "--submissions-dir",
            str(workspace / "submissions"), "--results-dir", str(workspace / "results"), "--runs-dir", str(workspace / "runs")]
    assert main(["sweep", *grid, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "grid: 2 runs (1 submission, 1 task, protocol smoke): 1 done, 1 missing" in out
    assert "to do: 1 run (1 to start, 0 to resume, 0 to re-run) with the local executor" in out
    assert [line.split()[:5] for line in out.splitlines() if line.startswith("tiny-vae")] == [["tiny-vae", TASK, "1", "missing", "start"]]
    assert main(["sweep", "status", *grid, "--all"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[:4] for line in out.splitlines() if line.startswith("tiny-vae")] == [["tiny-vae", TASK, "0", "done"],
                                                                                           ["tiny-vae", TASK, "1", "missing"]]
    assert "1 done, 1 missing; 1/2 done, ETA ~" in out
    assert main(["sweep", "status", *grid[:5], "0", *grid[6:], "--watch", "1"]) == 0  # every run done: one refresh, then it stops
    assert "1 done; 1/1 done" in capsys.readouterr().out
    for argv, message in [
        (["sweep", "--tasks", "xysquares-mse"], "A sweep needs --submissions"),
        (["sweep", *grid, "--tasks", "xysqares-mse"], "Did you mean 'xysquares-mse'"),
        (["sweep", "status", *grid, "--runs-dir", str(workspace / "a-file")], f"The --runs-dir folder {workspace / 'a-file'} is a file"),
        (["sweep", *grid, "--submissions-dir", str(workspace / "nope")], f"No submission 'tiny-vae': {workspace / 'nope'} is not a folder here"),
        (["sweep", *grid, "--device", "cuda:99"], "error: --device cuda:99: this machine has"),  # once, not one failed run each
        (["sweep", *grid, "--device", "cuda:99", "--dry-run"], "error: --device cuda:99: this machine has"),
        (["sweep", *grid, "--runs-dir", str(workspace / "a-file" / "runs")],  # once, before any run (was: each run failed on it)
         f"error: The --runs-dir folder {workspace / 'a-file' / 'runs'} cannot be made: {workspace / 'a-file'} is a file"),
    ]:
        (workspace / "a-file").write_text("")
        assert main(argv) == 2, argv
        assert message in capsys.readouterr().err, argv
    assert not (workspace / "runs" / TASK / "tiny-vae" / "smoke" / "seed-1").exists()  # nothing was started
    for argv, message in [  # usage errors: argparse's, before anything is read
        (["sweep", *grid, "--seeds", "4-0"], "runs backwards"),
        (["sweep", "status", *grid, "--watch", "0"], "argument --watch: 0 is out of range; give a number above 0"),
        (["sweep", *grid, "--timeout-min", "0"], "argument --timeout-min: 0 is out of range; give a whole number 1 or more"),
    ]:
        with pytest.raises(SystemExit):
            main(argv)
        assert message in capsys.readouterr().err, argv


def test_a_sweep_trains_on_the_secret_variant_and_a_reproduction_on_the_public_task(workspace):
    """Board sweeps are sealed; `disbench reproduce` compares losses whose secret variants differ (a blurred loss admits
    no shift), so its runs train on the public task, solo and packed, and a sealed and a public run never share a pack."""
    from dataclasses import replace

    from disbench.harness.run.seal import choose_seal
    from disbench.reproduction.experiments import BOXBLUR
    from disbench.reproduction.runner import plan

    seals = []

    def run_fn(*args, seal, **kwargs):
        seals.append(("solo", seal))
        return load_record(grid.runs[0].record_file)

    def pack_fn(*args, seeds, seal, **kwargs):
        seals.append(("pack", seal))
        return [load_record(grid.runs[0].record_file)] * len(seeds)

    grid = expand(sweep_in(workspace, seeds="1-2"))
    assert all(run.sealed for run in grid.runs)
    execute(grid.runs[0], run_fn=run_fn)
    execute_group(grid.runs, run_fn=run_fn, pack_fn=pack_fn)
    arm = BOXBLUR.arms(("beta-vae",))[0]
    reproduction = [p.run for p in plan([arm], "smoke", (1, 2), workspace / "results", workspace / "runs", reuse=[])]
    assert [run.sealed for run in reproduction] == [False, False]
    execute(reproduction[0], run_fn=run_fn)
    execute_group(reproduction, run_fn=run_fn, pack_fn=pack_fn)
    assert seals == [("solo", True), ("pack", True), ("solo", False), ("pack", False)]
    public = replace(grid.runs[1], sealed=False)
    assert group_runs([grid.runs[0], public], pack=2) == [[grid.runs[0]], [public]]
    assert choose_seal(disbench.make(TASK), False, "any run") is None  # what run_submission does with seal=False: the public task
