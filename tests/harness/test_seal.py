"""Sealed evaluation (disbench.harness.run.seal): a seal changes every image, keeps every distance
the task's loss perceives, replays from its record, and defeats a lookup oracle that wins the
public task; the child cannot reach the data code, and validate flags a model that learns nothing."""

import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

import disbench
from disbench.data import is_stored
from disbench.harness.run.seal import Seal, SealGroup, choose_seal, runner_secret, seal_group, sealed

GENERATED = [spec.id for spec in disbench.registry.values() if not is_stored(spec.kwargs["dataset"])]


@pytest.mark.parametrize("task_id", GENERATED)
def test_a_seal_keeps_every_distance_the_loss_perceives(task_id):
    """For every generated task, under seals drawn from its group: each observation changes, and
    the loss between any two observations is the public one (so a learner perceives the same task)."""
    task = disbench.make(task_id)
    factors = task.data.sample_factors(24, torch.Generator().manual_seed(1))
    x = task.observe(factors)
    group = seal_group(task.data, task.loss)
    for seed in range(3):
        seal = Seal.draw(group, seed, secret=False)
        y = sealed(task, seal).observe(factors)
        assert y.shape == x.shape and not torch.equal(y, x)
        public = task.recon_loss(x[:12], x[12:])
        private = task.recon_loss(y[:12], y[12:])
        torch.testing.assert_close(private, public, rtol=1e-4, atol=1e-5)


def test_each_loss_gets_the_group_that_keeps_it_exact():
    """Pixel-wise losses admit every seal (6 * 8 * 8 * 64 * 64 for RGB 64x64); a blur no shift (its
    zero padding); the learnt kernel, which no turn or mirror leaves unchanged, neither."""
    assert seal_group(disbench.make("xysquares-mse").data, disbench.make("xysquares-mse").loss).size() == 6 * 8 * 8 * 4096
    blur = disbench.make("xysquares-boxblur")
    assert seal_group(blur.data, blur.loss) == SealGroup(3, True, tuple((t, m) for t in range(4) for m in (False, True)), None)
    learnt = disbench.make("xysquares-learnt")
    assert seal_group(learnt.data, learnt.loss).dihedral == ((0, False),)


def test_the_normalised_and_the_pixel_paths_agree_and_pictures_undo_the_seal():
    """A standardised observation is the sealed image standardised with the sealed constants, and
    ``to_image`` shows the public image again (pictures on the board are never sealed)."""
    task = disbench.make("xysquares-mse")
    seal = Seal(7, (2, 0, 1), (True, False, True), 1, True, (5, 60), secret=False)
    private = sealed(task, seal)
    factors = task.data.sample_factors(6, torch.Generator().manual_seed(0))
    images = private.data.render(factors)
    torch.testing.assert_close(private.observe(factors), private.data.normalise(images))
    torch.testing.assert_close(private.to_image(private.observe(factors)), task.to_image(task.observe(factors)), atol=1e-5, rtol=0)
    assert torch.equal(images[:, 0], 255 - torch.roll(torch.flip(torch.rot90(task.data.render(factors)[:, 2], 1, dims=(-2, -1)), dims=(-1,)), (5, 60), dims=(-2, -1)))


def test_runs_starting_together_never_read_a_half_written_secret(tmp_path, monkeypatch):
    """Attack on availability, or just a Slurm array's first start: while one run is still writing the
    new secret, another must neither read it short (it used to fail 'shorter than 16 bytes') nor make
    its own. A slow random source widens that window to a quarter second; every run gets the one secret."""
    path = tmp_path / "shared-home" / "seal-secret"
    monkeypatch.setenv("DISBENCH_SEAL_SECRET_FILE", str(path))
    real_token_bytes, writing = secrets.token_bytes, threading.Event()

    def slow_token_bytes(n):
        writing.set()
        time.sleep(0.25)
        return real_token_bytes(n)

    monkeypatch.setattr(secrets, "token_bytes", slow_token_bytes)
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(runner_secret)
        writing.wait(5)
        others = [pool.submit(runner_secret) for _ in range(3)]
        secrets_read = [first.result()] + [f.result() for f in others]
    assert len(set(secrets_read)) == 1 and len(secrets_read[0]) == 32 and path.read_bytes() == secrets_read[0]
    assert sorted(p.name for p in path.parent.iterdir()) == ["seal-secret"]  # no temporary file left behind


def test_the_secret_seed_is_keyed_by_the_runner_secret_and_the_run(tmp_path, monkeypatch):
    """Same run, same secret: same seal (same seed, same result). Other code or another runner's
    secret: another seal. The secret file is made once, private to its owner."""
    monkeypatch.setenv("DISBENCH_SEAL_SECRET_FILE", str(tmp_path / "a" / "secret"))
    task = disbench.make("xysquares-mse")
    first = choose_seal(task, True, "xysquares-mse-v0/quick/0/" + "a" * 64)
    assert first == choose_seal(task, True, "xysquares-mse-v0/quick/0/" + "a" * 64) and first.secret
    assert first != choose_seal(task, True, "xysquares-mse-v0/quick/0/" + "b" * 64)
    assert (tmp_path / "a" / "secret").stat().st_mode & 0o777 == 0o600 and len(runner_secret()) == 32
    monkeypatch.setenv("DISBENCH_SEAL_SECRET_FILE", str(tmp_path / "b" / "secret"))
    assert choose_seal(task, True, "xysquares-mse-v0/quick/0/" + "a" * 64) != first
    replay = choose_seal(task, first.seed, "ignored")
    assert (replay.seed, replay.channels, replay.shift, replay.secret) == (first.seed, first.channels, first.shift, False)
    assert choose_seal(task, False, "x") is None and choose_seal(task, True, "x", checkpoint={"seal": first.to_dict()}) == first
    # a resumed run keeps its variant, the public task's too: a public checkpoint resumed as a secret run once drew
    # a secret seal half way through training
    assert choose_seal(task, True, "x", checkpoint={"seal": None}) is None


ORACLE = '''
def _table():
    """Every public image of one square, as its channel's mask -> (x, y): the public renderer, by hand."""
    table = {}
    for x in range(8):
        for y in range(8):
            mask = torch.zeros(64, 64, dtype=torch.bool)
            mask[8 * y : 8 * y + 8, 8 * x : 8 * x + 8] = True
            table[mask.numpy().tobytes()] = (x, y)
    return table


TABLE = _table()


class Model(BetaVAE):
    def encode(self, x):
        """Exact lookup of each channel in the public images; a channel it does not know codes as -1."""
        return torch.tensor([[v for channel in image for v in TABLE.get((channel > channel.min()).cpu().numpy().tobytes(), (-1, -1))]
                             + [0.0] * 3 for image in x], dtype=torch.float32)  # 9 dimensions, as decode expects
'''


def test_a_lookup_oracle_that_wins_the_public_task_scores_like_chance_sealed(tmp_path):
    """Attack 7: a submission that knows the public renderer's images and encodes by exact lookup.
    On the public task it is near perfect; on a sealed variant (here one with an off-grid shift,
    replayed so the test is exact) it finds nothing, and its codes carry no information."""
    from tests.harness.test_trust import smoke, submission

    oracle = submission(tmp_path, "oracle", ORACLE)
    task = disbench.make("xysquares-mse")
    seal_seed = next(s for s in range(100) if Seal.draw(seal_group(task.data, task.loss), s, secret=False).shift[1] % 8)
    public = smoke(oracle, tmp_path, evaluate=True, seal=None, results_dir=None)
    private = smoke(oracle, tmp_path, evaluate=True, seal=seal_seed, results_dir=None, overwrite=True)
    assert public.seal is None and public.metrics["mig"] > 0.9 and public.metrics["dci.informativeness_test"] > 0.9
    assert private.seal.seed == seal_seed and not private.seal.secret
    assert private.metrics["mig"] == 0.0 and private.metrics["dci.disentanglement"] < 0.1


def test_validate_flags_a_model_whose_parameters_never_change(tmp_path):
    """The oracle with a loss that no parameter's gradient reaches: validate's smoke run shows its
    Adam state all zero and fails 'learns from its data' (the PR check runs validate)."""
    from disbench.harness.validate import validate_submission
    from tests.harness.test_trust import submission

    idle = submission(tmp_path, "idle", ORACLE + '''
    def loss(self, batch, recon_loss):
        return {"loss": sum(p.sum() for p in self.parameters()) * 0.0}
''')
    report = validate_submission(idle)
    check = next(c for c in report.checks if c.name == "learns from its data")
    assert not report.ok and not check.ok and "did not change during training" in check.detail
    honest = validate_submission(submission(tmp_path, "honest"))
    assert honest.ok and next(c for c in honest.checks if c.name == "learns from its data").ok


def test_the_child_can_neither_import_nor_read_the_data_code(tmp_path):
    """The renderers are the harness's: in the sandbox disbench/data is an empty folder, and the
    import is refused even without the sandbox."""
    from disbench.harness.child import sandbox
    from tests.harness.test_trust import smoke, submission

    probe = submission(tmp_path, "probe", f'''
try:
    import disbench.data
    print("IMPORTED")
except ImportError as e:
    print("REFUSED", e)
print("FILES", sorted(p.name for p in Path({str(sandbox.HIDDEN)!r}).glob("*.py")))

class Model(BetaVAE):
    pass
''')
    smoke(probe, tmp_path)
    log = (tmp_path / "runs" / "xysquares-mse-v0" / "probe" / "smoke" / "seed-0" / "child.log").read_text()
    assert "IMPORTED" not in log and "REFUSED disbench.data is not available to submissions" in log
    if not sandbox.isolation().missing():
        assert "FILES []" in log
