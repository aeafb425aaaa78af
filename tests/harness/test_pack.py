"""Packed training: K seeds of a submission trained in one child process, each equal to its solo run.

The solo references run the child's own solo path (``child.build_learner``, the learner every
``disbench run`` uses) in this process; the packs run through the real child (``RemotePack``).
A metric suite of MIG alone (``mig-only``, added to ``SUITES`` for these tests) keeps each final
evaluation to about a second; the curve is the smoke suite's MIG every 3 steps.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from dataclasses import asdict
from pathlib import Path

import pytest
import torch

import disbench
from disbench.cli import main as cli
from disbench.error import TrainingError
from disbench.harness.child.learner import Learner
from disbench.harness.child.serve import build_learner
from disbench.harness.pack import PackedLearner
from disbench.harness.pack.noise import Unpackable
from disbench.harness.record import load_record
from disbench.harness.run import run_packed_submission, submission_record
from disbench.harness.run.train import run_training
from disbench.harness.submission import Submission
from disbench.methods import BetaVAE, TaskInfo
from disbench.methods.adavae import AdaVAE
from disbench.protocol import SUITES, Protocol

ROOT = Path(__file__).resolve().parents[2]
SEEDS = [0, 1, 2, 3]
MIG_ONLY = {"mig": {"num_train": 256}}
TINY_ARGS = {"name": "smoke", "steps": 6, "batch_size": 4, "latent_dim": 25, "metric_suite": "mig-only", "seeds": (0,), "curve": {"mig": 3},
             "curve_suite": "smoke"}
TINY = Protocol(**TINY_ARGS)
TRAINING = {"log_every": 2, "checkpoint_every": 2, "progress": False}
WEIGHT_TOLERANCE = 1e-5  # max |packed - solo| over every weight after 6 steps; measured about 1e-6 (grouped vs plain convolutions)
FUSE = '''
import torch
from disbench.methods import BetaVAE


class Fuse(BetaVAE):
    """beta-VAE whose loss turns NaN from step ``nan_step`` on (a buffer: each packed model has its own)."""

    def __init__(self, obs_shape, latent_dim, beta, nan_step):
        super().__init__(obs_shape, latent_dim, beta=beta)
        self.register_buffer("nan_step", torch.tensor(float(nan_step)))
        self.steps = 0

    def loss(self, batch, recon_loss):
        self.steps += 1
        terms = super().loss(batch, recon_loss)
        terms["loss"] = terms["loss"] * torch.where(self.nan_step <= self.steps, float("nan"), 1.0)
        return terms


def build(task_info, latent_dim=9, beta=0.001):
    # the child seeds torch with the run's seed right before build(): seed 2's model explodes at step 5
    return Fuse(task_info.obs_shape, latent_dim, beta, nan_step=5 if torch.initial_seed() == 2 else float("inf"))
'''
KILLED_PACK = f"""
import os, signal, sys
from disbench.protocol import SUITES, Protocol
SUITES["mig-only"] = {MIG_ONLY!r}
from disbench.harness.run import train
from disbench.harness.run import run_packed_submission

save = train.RunBook.save

def dying_save(book):
    if book.state.step == 4 and book.seed == 1:  # seed 0 has its step-4 checkpoint, seeds 1-3 still their step-2 ones
        os.kill(os.getpid(), signal.SIGKILL)
    save(book)

train.RunBook.save = dying_save
run_packed_submission(sys.argv[1], "xysquares-mse", {SEEDS!r}, Protocol(**{TINY_ARGS!r}), device="cpu", runs_dir=sys.argv[2], results_dir=None,
                      log_every=2, checkpoint_every=2, progress=False, seal=None)
"""


def copy_submission(root: Path, name: str, model_py: str | None = None) -> Path:
    folder = root / name
    shutil.copytree(ROOT / "submissions" / "beta-vae", folder, ignore=shutil.ignore_patterns("__pycache__"))
    toml = folder / "submission.toml"
    toml.write_text(toml.read_text().replace('name = "beta-vae"', f'name = "{name}"'))
    if model_py is not None:
        (folder / "model.py").write_text(textwrap.dedent(model_py))
    return folder


def solo_run(folder: Path, seed: int, out: Path):
    """One seed trained as ``disbench run`` trains it, without the process boundary: the child's ``build_learner`` in this process."""
    task = disbench.make("xysquares-mse")
    submission = Submission(folder)
    record = submission_record(submission, task.id)
    init = {"submission_path": str(folder), "seed": seed, "task_info": asdict(TaskInfo.from_task(task, TINY)), "hyperparameters": record.hyperparameters,
            "loss": task.loss.name, "lr": TINY.lr, "device": "cpu"}
    return run_training(task, lambda device: build_learner(init), seed, TINY, "cpu", out / f"seed-{seed}", submission=record, submission_path=folder,
                        results_dir=None, data_device="cpu", **TRAINING)


def packed_run(folder: Path, runs: Path, **options):
    """The seeds packed, on the public task as ``solo_run`` trains them (sealing has its own test below)."""
    return run_packed_submission(folder, "xysquares-mse", SEEDS, TINY, device="cpu", runs_dir=runs, results_dir=None, seal=None, **TRAINING, **options)


def run_folder(runs: Path, name: str, seed: int) -> Path:
    return runs / "xysquares-mse-v0" / name / "smoke" / f"seed-{seed}"


def checkpoint(folder: Path) -> tuple[dict, dict]:
    """A run folder's ``checkpoint.pt`` and the model file it names."""
    state = torch.load(folder / "checkpoint.pt", weights_only=True)
    return state, torch.load(folder / state["model_file"], weights_only=True)


def max_weight_difference(a: Path, b: Path) -> float:
    """Over every weight of the model in run folder ``b`` (``a``'s may have more: the NaN test's buffer)."""
    model_a, model_b = checkpoint(a)[1]["model"], checkpoint(b)[1]["model"]
    assert model_b.keys() <= model_a.keys()
    return max(float((model_a[k] - model_b[k]).abs().max()) for k in model_b)


def curve_values(record) -> dict[tuple[str, int], float]:
    """A record's protocol curve, flat: (metric, step) -> value (flat so that pytest.approx takes it)."""
    return {(metric, step): value for metric, points in record.curve.items() for step, value in points}


def curves(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "curves.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def mig_only():
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(SUITES, "mig-only", MIG_ONLY)
        yield


@pytest.fixture(scope="module")
def trained(tmp_path_factory, mig_only):
    """Seeds 0-3 of a beta-VAE copy: four solo runs, and one pack of the four through the child."""
    root = tmp_path_factory.mktemp("pack")
    folder = copy_submission(root, "tiny-vae")
    solo = [solo_run(folder, seed, root / "solo") for seed in SEEDS]
    packed = packed_run(folder, root / "packed")
    return root, folder, solo, packed


def test_each_packed_seed_equals_its_solo_run(trained):
    root, _, solo, packed = trained
    for seed, one, member in zip(SEEDS, solo, packed):
        mine, theirs = run_folder(root / "packed", "tiny-vae", seed), root / "solo" / f"seed-{seed}"
        assert member.status == one.status == "completed"
        assert member.model_dump().keys() == one.model_dump().keys() and member.training.model_dump().keys() == one.training.model_dump().keys()
        assert (member.seed, member.training.steps, member.protocol, member.submission, member.checkpoint_sha256 is not None) == \
               (seed, 6, one.protocol, one.submission, True)
        assert max_weight_difference(mine, theirs) < WEIGHT_TOLERANCE
        (state, model), (solo_state, solo_model) = checkpoint(mine), checkpoint(theirs)
        assert state["step"] == solo_state["step"] == 6 and torch.equal(state["data_rng"], solo_state["data_rng"])
        assert torch.equal(model["rng"]["torch"], solo_model["rng"]["torch"])  # each seed's noise stream, drawn as its solo run draws it
        assert model["optimizer"]["param_groups"] == solo_model["optimizer"]["param_groups"]
        for i, values in solo_model["optimizer"]["state"].items():
            assert values.keys() == model["optimizer"]["state"][i].keys() and torch.equal(values["step"], model["optimizer"]["state"][i]["step"])
            for key in ("exp_avg", "exp_avg_sq"):
                assert values[key].stride() == model["optimizer"]["state"][i][key].stride()  # the solo layout (channels-last convolutions)
                torch.testing.assert_close(model["optimizer"]["state"][i][key], values[key], rtol=1e-3, atol=1e-8)
        assert [r["step"] for r in curves(mine)] == [r["step"] for r in curves(theirs)] == [2, 3, 4, 6]
        for row, solo_row in zip(curves(mine), curves(theirs)):
            assert {k: v for k, v in row.items() if k != "steps_per_s"} == pytest.approx({k: v for k, v in solo_row.items() if k != "steps_per_s"}, rel=1e-5)
        assert [s for s, _ in member.curve["mig"]] == [3, 6]
        assert curve_values(member) == pytest.approx(curve_values(one), abs=1e-6) and member.metrics == pytest.approx(one.metrics, abs=1e-6)
        assert member.max_during_training == pytest.approx(one.max_during_training, abs=1e-6)
        assert load_record(mine / "result.json") == member and (mine / "traversals.png").stat().st_size > 5_000
    assert (run_folder(root / "packed", "tiny-vae", 0) / "child.log").exists()


def test_a_nan_in_one_seed_fails_that_seed_and_the_others_finish(trained, tmp_path):
    root, _, solo, _ = trained
    fuse = copy_submission(tmp_path, "fuse", FUSE)
    records = packed_run(fuse, tmp_path / "runs")
    assert [r.status for r in records] == ["completed", "completed", "failed", "completed"]
    failed = records[2]
    assert failed.error.startswith("The loss became non-finite (NaN or inf) at step 5.") and failed.training.steps == 4 and not failed.metrics
    folder = run_folder(tmp_path / "runs", "fuse", 2)
    assert checkpoint(folder)[0]["step"] == 4 and failed.checkpoint_sha256 is not None  # the last good checkpoint is kept
    with pytest.raises(TrainingError, match="at step 5"):
        solo_run(fuse, 2, tmp_path / "solo")
    alone = load_record(tmp_path / "solo" / "seed-2" / "result.json")
    assert alone.error.replace(str(tmp_path / "solo" / "seed-2"), "RUN") == failed.error.replace(str(folder), "RUN")
    assert alone.training.steps == failed.training.steps and curve_values(alone) == pytest.approx(curve_values(failed), abs=1e-6)
    for seed in (0, 1, 3):  # the others trained on undisturbed: their solo runs' weights and scores
        assert max_weight_difference(run_folder(tmp_path / "runs", "fuse", seed), root / "solo" / f"seed-{seed}") < WEIGHT_TOLERANCE
        assert records[seed].metrics == pytest.approx(solo[seed].metrics, abs=1e-6) and records[seed].training.steps == 6


def test_sigkill_between_two_seeds_checkpoints_then_resume_gives_the_solo_runs(trained, tmp_path):
    root, folder, solo, _ = trained
    runs = tmp_path / "runs"
    killed = subprocess.run([sys.executable, "-c", KILLED_PACK, str(folder), str(runs)], cwd=ROOT, timeout=300)
    assert killed.returncode == -9
    assert [checkpoint(run_folder(runs, "tiny-vae", seed))[0]["step"] for seed in SEEDS] == [4, 2, 2, 2]
    with pytest.raises(TrainingError, match="already holds a run"):
        packed_run(folder, runs)
    records = packed_run(folder, runs, resume=True)  # two packs: seed 0 from step 4, seeds 1-3 from step 2
    for seed, record, one in zip(SEEDS, records, solo):
        assert max_weight_difference(run_folder(runs, "tiny-vae", seed), root / "solo" / f"seed-{seed}") < WEIGHT_TOLERANCE
        assert curve_values(record) == pytest.approx(curve_values(one), abs=1e-6) and record.metrics == pytest.approx(one.metrics, abs=1e-6)
        assert [r["step"] for r in curves(run_folder(runs, "tiny-vae", seed))] == [2, 3, 4, 6]


def pack_of(cls, seeds=(0, 1), **kwargs) -> PackedLearner:
    methods = []
    for seed in seeds:
        torch.manual_seed(seed)
        methods.append(cls((3, 64, 64), 4, **kwargs))
    return PackedLearner(methods, list(seeds), disbench.make("xysquares-mse").recon_loss, 1e-3)


class OwnOptimizer(BetaVAE):
    def configure_optimizer(self, lr):
        return torch.optim.SGD(self.parameters(), lr=lr)


class Normalised(BetaVAE):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.norm = torch.nn.BatchNorm1d(8)

    def posterior(self, x):
        return self.norm(self.encoder(x)).chunk(2, dim=1)


class Dropout(BetaVAE):
    def loss(self, batch, recon_loss):
        return super().loss(type(batch)(torch.nn.functional.dropout(batch.x, 0.1)), recon_loss)


class Branching(BetaVAE):
    def loss(self, batch, recon_loss):
        terms = super().loss(batch, recon_loss)
        return terms if terms["kl"] > 0 else {**terms, "loss": 2 * terms["loss"]}


class Bernoulli(BetaVAE):
    def loss(self, batch, recon_loss):
        terms = super().loss(batch, recon_loss)
        return {**terms, "loss": terms["loss"] * torch.bernoulli(torch.sigmoid(terms["kl"]))}


@pytest.mark.parametrize(("cls", "reason"), [
    (OwnOptimizer, r"replaces the protocol's optimizer"),
    (Normalised, r"buffers \['norm.num_batches_tracked', 'norm.running_var'\] change while it trains \(running statistics"),
    (Dropout, r"draws random numbers with an operation packing cannot reproduce per model \(dropout, for one\)"),
    (Branching, r"cannot run under torch.func.vmap \(RuntimeError: vmap: It looks like you're attempting to use a Tensor in some data-dependent control flow"),
    (Bernoulli, r"calls torch.bernoulli, whose values depend on tensors it computes"),
])
def test_methods_that_cannot_be_packed_are_refused_before_training_with_the_reason(cls, reason):
    with pytest.raises(Unpackable, match=reason):
        pack = pack_of(cls)
        pack.probe(torch.zeros(2, 3, 64, 64))


def test_a_refused_pack_tells_the_user_to_run_without_pack_and_writes_nothing(tmp_path, capsys):
    dropout = copy_submission(tmp_path, "dropout-vae", """
        import torch
        from disbench.methods import BetaVAE

        class Dropout(BetaVAE):
            def loss(self, batch, recon_loss):
                return super().loss(type(batch)(torch.nn.functional.dropout(batch.x, 0.1)), recon_loss)

        def build(task_info, latent_dim=9, beta=0.001):
            return Dropout(task_info.obs_shape, latent_dim, beta=beta)
    """)
    common = ["--task", "xysquares-mse", "--protocol", "smoke", "--device", "cpu", "--quiet", "--runs-dir", str(tmp_path / "runs"),
              "--results-dir", str(tmp_path / "results")]
    with pytest.raises(SystemExit):
        cli(["run", str(dropout), "--seeds", "0", "1", "--pack", "0", *common])
    assert capsys.readouterr().err.endswith("argument --pack: 0 is out of range; give a whole number 1 or more\n")
    assert cli(["run", str(dropout), "--seeds", "0", "1", "--pack", "2", *common]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: The submission cannot be trained packed: its loss draws random numbers with an operation packing cannot reproduce")
    assert err.rstrip().endswith("run it without --pack (one model per process).") and err.count("\n") == 1
    assert not list((tmp_path / "runs").rglob("*.pt")) and not list((tmp_path / "results").rglob("*.json"))


def test_weak_pairs_draw_each_seeds_noise_in_its_solo_order():
    """Ada-GVAE draws two noise tensors per step: packed, each seed still gets its solo run's stream."""
    task = disbench.make("xysquares-mse")
    pack = pack_of(AdaVAE, seeds=(0, 1), beta=0.001)
    pack.probe(torch.zeros(8, 3, 64, 64))
    assert [call.func for call in pack.calls] == [torch.randn_like, torch.randn_like]
    generators = [torch.Generator().manual_seed(seed) for seed in (0, 1)]
    for _ in range(2):
        pack.step(torch.stack([task.sample_observations("weak-pairs", 4, g) for g in generators]))
    reports = pack.end_window()
    for j, seed in enumerate((0, 1)):
        torch.manual_seed(seed)
        learner = Learner(AdaVAE((3, 64, 64), 4, beta=0.001), task.recon_loss, 1e-3)
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        for _ in range(2):
            learner.step(task.sample_observations("weak-pairs", 4, generator))
        means, bad = learner.end_window()
        assert bad is None and reports[j][1] is None and reports[j][0] == pytest.approx(means, rel=1e-5)
        packed = pack._sync(j)  # the member's own module, the pack's weights copied in
        difference = max(float((a - b).abs().max()) for a, b in zip(packed.state_dict().values(), learner.method.state_dict().values()))
        assert difference < WEIGHT_TOLERANCE
        assert torch.equal(pack.rng[j]["torch"], torch.get_rng_state())


class ScalarBeta(BetaVAE):
    """A beta-VAE with a learnt scalar parameter: its Adam state has the step count's shape."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.log_scale = torch.nn.Parameter(torch.tensor(0.0))

    def loss(self, batch, recon_loss):
        terms = super().loss(batch, recon_loss)
        return {**terms, "loss": terms["loss"] * self.log_scale.exp()}


def test_members_saved_and_loaded_into_a_fresh_pack_train_on_identically_and_drop_cleanly(tmp_path):
    task = disbench.make("xysquares-mse")
    first, second = pack_of(ScalarBeta, seeds=(0, 1, 2)), pack_of(ScalarBeta, seeds=(0, 1, 2))
    for pack in (first, second):
        pack.probe(torch.zeros(2, 3, 64, 64))
    batches = torch.stack([task.sample_observations("unsupervised", 2, torch.Generator().manual_seed(s)) for s in range(3)])
    for _ in range(2):
        first.step(batches)
    for k in range(3):
        first.member(k).save(tmp_path / f"member-{k}.pt")
        second.member(k).load(tmp_path / f"member-{k}.pt")
    saved = torch.load(tmp_path / "member-1.pt", weights_only=True)
    assert saved["optimizer"]["state"][0]["exp_avg"].shape == () and float(saved["optimizer"]["state"][0]["step"]) == 2  # log_scale comes first
    for pack in (first, second):
        pack.drop([1])
        pack.step(batches[[0, 2]])
    assert first.members == second.members == [0, 2] and [torch.equal(a["torch"], b["torch"]) for a, b in zip(first.rng, second.rng)] == [True, True]
    assert all(torch.equal(first.params[name], second.params[name]) for name in first.params)
    with pytest.raises(ValueError, match="member 1 is not training in this pack"):
        first.member(1)


def test_cli_packs_seeds_in_groups_and_reports_each(monkeypatch, tmp_path, capsys):
    """``--pack K`` chunks the seeds into packs of at most K; a failed seed is an error line, the others' scores are shown."""
    calls, solo = [], []
    done = load_record(ROOT / "leaderboards" / "results" / "xysquares-mse-v0" / "beta-vae" / "quick" / "seed-1.json")

    def fake_pack(submission, task_id, seeds, **options):
        calls.append(list(seeds))
        return [done.model_copy(update={"seed": s}) if s != 3 else done.model_copy(update={"seed": s, "status": "failed", "metrics": {}, "error": "boom"})
                for s in seeds]

    def fake_solo(submission, task_id, seed, **options):
        solo.append(seed)
        return done.model_copy(update={"seed": seed})

    monkeypatch.setattr("disbench.harness.run.run_packed_submission", fake_pack)
    monkeypatch.setattr("disbench.harness.run.run_submission", fake_solo)
    args = ["run", str(ROOT / "submissions" / "beta-vae"), "--task", "xysquares-mse", "--results-dir", str(tmp_path), "--quiet"]
    assert cli([*args, "--seeds", "0", "1", "2", "3", "4", "--pack", "2"]) == 2
    out, err = capsys.readouterr()
    assert calls == [[0, 1], [2, 3]] and solo == [4] and err == "error: seed 3: boom\n"  # a lone seed left over runs solo
    assert [line.split(":")[0] for line in out.splitlines() if line.startswith("seed ")] == ["seed 0", "seed 1", "seed 2", "seed 4"]
    assert cli([*args, "--seeds", "0", "1", "--pack", "16"]) == 0 and calls[-1] == [0, 1]


def test_a_sweep_packs_the_runs_it_has_to_do(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(SUITES, "smoke", MIG_ONLY)  # the smoke tier's final scores: MIG alone, to keep this test short
    copy_submission(tmp_path / "submissions", "tiny-vae")
    grid = ["--submissions", "tiny-vae", "--tasks", "xysquares-mse", "--protocol", "smoke", "--submissions-dir", str(tmp_path / "submissions"),
            "--results-dir", str(tmp_path / "results"), "--runs-dir", str(tmp_path / "runs")]
    assert cli(["sweep", *grid, "--seeds", "0-1", "--pack", "2", "--device", "cpu", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "to do: 2 runs (2 to start, 0 to resume, 0 to re-run) with the local executor, packed by up to 2" in out
    assert "sweep finished: 2 completed, 0 failed, 0 skipped" in out
    records = [load_record(tmp_path / "results" / "xysquares-mse-v0" / "tiny-vae" / "smoke" / f"seed-{s}.json") for s in range(2)]
    assert all(r.status == "completed" and r.training.steps == 20 for r in records) and [r.on_protocol for r in records] == [True, False]
    runs = tmp_path / "runs" / "xysquares-mse-v0" / "tiny-vae" / "smoke"
    assert (runs / "seed-0" / "child.log").exists() and not (runs / "seed-1" / "child.log").exists()  # one child process for both
    assert cli(["sweep", *grid, "--seeds", "0-1", "--pack", "2", "--dry-run"]) == 0
    assert "grid: 2 runs (1 submission, 1 task, protocol smoke): 2 done" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli(["sweep", *grid, "--seeds", "0-1", "--pack", "0"])
    assert capsys.readouterr().err.endswith("argument --pack: 0 is out of range; give a whole number 1 or more\n")


def test_each_packed_seed_gets_the_secret_seal_its_solo_run_would(tmp_path):
    """Sealing is per run, not per pack: each member's record and checkpoint hold the variant keyed
    by its own seed, the one a solo run of that seed draws (the weights are compared above, on the
    public task, where six steps of Adam are not chaotic)."""
    from disbench.harness.run.seal import choose_seal

    folder = copy_submission(tmp_path, "tiny-vae")
    records = run_packed_submission(folder, "xysquares-mse", [0, 1], TINY, device="cpu", runs_dir=tmp_path / "runs", results_dir=None,
                                    evaluate=False, **TRAINING)
    assert records == [None, None]
    task = disbench.make("xysquares-mse")
    content = Submission(folder).content_hash()
    seals = [checkpoint(run_folder(tmp_path / "runs", "tiny-vae", seed))[0]["seal"] for seed in (0, 1)]
    assert seals[0] != seals[1]
    for seed, seal in zip((0, 1), seals):
        assert seal == choose_seal(task, True, f"{task.id}/{TINY.name}/{seed}/{content}").to_dict() and seal["secret"]
