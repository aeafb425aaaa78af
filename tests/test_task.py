"""Task: the weak-pairs sampling (the weak-pairs track's definition), devices, and a light import."""

import itertools
import json
import math
import subprocess
import sys

import pytest
import torch

import disbench
from disbench.error import DataError

N = 200_000


def k_distribution(num_factors: int) -> dict[int, float]:
    """The documented law of the number k of resampled factors: uniform on [1, F-1], then 1 w.p. 1/2."""
    uniform = 1 / (num_factors - 1)
    return {k: (0.5 if k == 1 else 0.0) + 0.5 * uniform for k in range(1, num_factors)}


def changed_distribution(sizes: tuple[int, ...], k_law: dict[int, float]) -> list[float]:
    """Exact law of the number of factors that *change* between the two elements of a pair.

    k factors, a uniformly chosen subset, are resampled uniformly; factor j then changes with
    probability 1 - 1/size_j (it may redraw its own value).
    """
    num = len(sizes)
    law = [0.0] * (num + 1)
    for k, pk in k_law.items():
        subsets = list(itertools.combinations(range(num), k))
        for subset in subsets:
            counts = [1.0]  # Poisson-binomial over the subset's change probabilities
            for j in subset:
                q = 1 - 1 / sizes[j]
                counts = [(counts[c] if c < len(counts) else 0.0) * (1 - q) + (counts[c - 1] * q if c > 0 else 0.0) for c in range(len(counts) + 1)]
            for c, pc in enumerate(counts):
                law[c] += pk * pc / len(subsets)
    return law


def assert_matches(observed: torch.Tensor, expected: list[float]) -> None:
    """Frequencies within 5 standard errors of the exact law, for every count."""
    freq = torch.bincount(observed, minlength=len(expected)).double() / len(observed)
    assert len(freq) == len(expected)
    for c, p in enumerate(expected):
        tol = 5 * math.sqrt(max(p * (1 - p), 1e-12) / len(observed)) + 1e-9
        assert abs(freq[c].item() - p) <= tol, (c, freq.tolist(), expected)


@pytest.mark.parametrize("task_id", ["xysquares-mse", "xyobject-mse"])
def test_pair_factors_follow_the_documented_law_of_k(task_id):
    task = disbench.make(task_id)
    sizes = task.data.factor_sizes
    f0, f1 = task.sample_pair_factors(N, torch.Generator().manual_seed(0))
    assert f0.shape == f1.shape == (N, len(sizes)) and f0.dtype == f1.dtype == torch.long
    assert (f1 < torch.tensor(sizes)).all() and (f1 >= 0).all()
    changed = (f0 != f1).sum(dim=1)
    law = k_distribution(len(sizes))
    # P(k=1) = 1/2 + 1/(2(F-1)), every other k 1/(2(F-1))
    assert law[1] == pytest.approx(0.5 + 0.5 / (len(sizes) - 1)) and sum(law.values()) == pytest.approx(1.0)
    assert_matches(changed, changed_distribution(sizes, law))
    # no factor is favoured: factor j changes with probability E[k]/F * (1 - 1/size_j)
    mean_k = sum(k * p for k, p in law.items())
    for j, size in enumerate(sizes):
        p = mean_k / len(sizes) * (1 - 1 / size)
        assert (f0[:, j] != f1[:, j]).double().mean().item() == pytest.approx(p, abs=5 * math.sqrt(p * (1 - p) / N))


@pytest.mark.parametrize("k", [1, 3, 6])
def test_a_fixed_k_resamples_exactly_k_factors(xysquares, k):
    f0, f1 = xysquares.sample_pair_factors(N, torch.Generator().manual_seed(1), k=k)
    changed = (f0 != f1).sum(dim=1)
    assert changed.max().item() == k  # never more than k, and k is reached
    assert_matches(changed, changed_distribution(xysquares.data.factor_sizes, {k: 1.0}))


def test_k_out_of_range_is_a_data_error(xysquares):
    for k in (0, -1, 7):
        with pytest.raises(DataError, match=r"k must be between 1 and the number of factors \(6\)"):
            xysquares.sample_pair_factors(4, torch.Generator().manual_seed(0), k=k)


def test_pairs_are_reproducible_from_the_seed(xysquares):
    a = xysquares.sample_pair_factors(1000, torch.Generator().manual_seed(5))
    b = xysquares.sample_pair_factors(1000, torch.Generator().manual_seed(5))
    c = xysquares.sample_pair_factors(1000, torch.Generator().manual_seed(6))
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[1], c[1])
    pairs = xysquares.sample_pairs(16, torch.Generator().manual_seed(5))
    assert torch.equal(pairs.x0, xysquares.observe(pairs.factors0)) and torch.equal(pairs.x1, xysquares.observe(pairs.factors1))


def check_device(task_id: str, device: str) -> None:
    """Sampling and scoring on ``device`` give the CPU's values, on ``device``."""
    reference = disbench.make(task_id)
    task = disbench.make(task_id).to(device)
    assert task.to(device) is task and task.device == torch.device(device)
    batch = task.sample(8, torch.Generator().manual_seed(0))
    pairs = task.sample_pairs(8, torch.Generator().manual_seed(0))
    for t in (batch.x, batch.factors, pairs.x0, pairs.x1, pairs.factors0, pairs.factors1):
        assert t.device.type == torch.device(device).type
    cpu_batch = reference.sample(8, torch.Generator().manual_seed(0))
    assert torch.equal(batch.factors.cpu(), cpu_batch.factors)
    assert torch.allclose(batch.x.cpu(), cpu_batch.x)
    x_hat = torch.roll(batch.x, 1, dims=0)
    loss = task.recon_loss(x_hat, batch.x)
    assert loss.shape == (8,) and loss.device.type == torch.device(device).type
    assert torch.allclose(loss.cpu(), reference.recon_loss(x_hat.cpu(), cpu_batch.x), rtol=1e-4, atol=1e-6)
    assert (loss > 0).any()


@pytest.mark.parametrize("task_id", ["xysquares-mse", "xysquares-boxblur"])
def test_to_cpu(task_id):
    check_device(task_id, "cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available on this machine")
@pytest.mark.parametrize("task_id", ["xysquares-mse", "xysquares-boxblur"])
def test_to_cuda(task_id):
    check_device(task_id, "cuda")


HEAVY = ("sklearn", "matplotlib", "scipy", "pandas", "huggingface_hub")
INTERNAL = ("disbench.metrics", "disbench.harness", "disbench.analysis")


def test_import_disbench_and_make_stay_light():
    code = "import json, sys, disbench; disbench.make('xysquares-mse'); print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    modules = json.loads(out)
    assert "disbench.task" in modules  # the probe saw the import
    heavy = [m for m in modules if m.split(".")[0] in HEAVY]
    internal = [m for m in modules if any(m == p or m.startswith(p + ".") for p in INTERNAL)]
    assert not heavy and not internal, f"import disbench + make pulled in: {sorted({m.split('.')[0] for m in heavy}) + internal}"


@pytest.mark.parametrize("supervision", ["unsupervised", "weak-pairs"])
def test_sample_observations_are_the_batches_observations_without_their_factors(supervision):
    task = disbench.make("xysquares-mse")
    x = task.sample_observations(supervision, 8, torch.Generator().manual_seed(3))
    if supervision == "unsupervised":
        expected = task.sample(8, torch.Generator().manual_seed(3)).x
    else:
        pairs = task.sample_pairs(8, torch.Generator().manual_seed(3))
        expected = torch.cat([pairs.x0, pairs.x1])
    assert isinstance(x, torch.Tensor) and torch.equal(x, expected)
    with pytest.raises(disbench.error.DataError, match="Unknown supervision 'semi'"):
        task.sample_observations("semi", 8)


def test_batches_print_as_shapes_dtypes_and_factor_names(xysquares):
    """print(batch) is one short line (issue 21), not every value of its tensors."""
    from disbench.methods.base import ObservationPairs, Observations

    g = torch.Generator().manual_seed(0)
    names = "(x_R, y_R, x_G, y_G, x_B, y_B)"
    batch, pairs = xysquares.sample(256, generator=g), xysquares.sample_pairs(8, generator=g)
    assert repr(batch) == f"Batch(x: float32 [256, 3, 64, 64], factors: int64 [256, 6] {names})" == repr(batch.to("cpu"))
    assert repr(pairs) == f"PairBatch(x0, x1: float32 [8, 3, 64, 64], factors0, factors1: int64 [8, 6] {names})"
    assert repr(Observations(pairs.x0)) == "Observations(x: float32 [8, 3, 64, 64])"
    assert repr(ObservationPairs(pairs.x0, pairs.x1)) == "ObservationPairs(x0, x1: float32 [8, 3, 64, 64])"
