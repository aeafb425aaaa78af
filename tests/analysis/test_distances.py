import json

import numpy as np
import pytest
import torch

import disbench
from disbench.analysis import analyse, factor_correlation, perceived_distances, traversal_matrices
from disbench.analysis.distances import _images
from disbench.cli import main as cli
from disbench.error import DataError


def test_table_a1_xysquares_row():
    """paper Table A1: every factor 0.0104 (0.0000), random pairs 0.0308 (0.0022)."""
    stats = perceived_distances(disbench.make("xysquares-mse"), num_pairs=10_000, seed=777)
    for name, s in stats["factors"].items():
        assert s.mean == pytest.approx(128 / 12288, abs=1e-7) and s.std < 1e-6, name
    assert stats["random"].mean == pytest.approx(0.0308, abs=0.0003)
    assert stats["random"].std == pytest.approx(0.0022, abs=0.0002)


@pytest.mark.parametrize("spacing, rho, distinct", [(1, 1.000, 7), (2, 0.979, 4), (3, 0.923, 3), (4, 0.764, 2), (7, 0.764, 2)])
def test_spearman_along_traversals_by_spacing(spacing, rho, distinct):
    task = disbench.make("xysquares-mse", grid_spacing=spacing)
    for c in factor_correlation(task, repeats=4).values():
        assert c.spearman == pytest.approx(rho, abs=5e-4) and c.distinct_values == distinct and not c.constant


def test_spacing_8_is_constant_not_nan():
    correlations = factor_correlation(disbench.make("xysquares-mse"), repeats=4)
    assert all(c.constant and c.spearman is None and c.distinct_values == 1 for c in correlations.values())
    ground, perceived = traversal_matrices(disbench.make("xysquares-mse"), "x_R", repeats=4)
    off_diagonal = perceived[~np.eye(8, dtype=bool)]
    assert np.allclose(off_diagonal, 128 / 12288) and np.allclose(np.diag(perceived), 0)
    assert np.array_equal(ground, np.abs(np.arange(8)[:, None] - np.arange(8)[None, :]))


def test_adjacent_distance_at_small_spacing():
    """paper.md §1.7: adjacent squares at spacing s differ in 2*8*s pixels of 12288."""
    for s in (1, 2, 3):
        _, perceived = traversal_matrices(disbench.make("xysquares-mse", grid_spacing=s), 0, repeats=2)
        assert perceived[0, 1] == pytest.approx(2 * 8 * s / 12288)


def test_box_blur_restores_an_ordering():
    """paper.md §3.2: standardised data, x_R from position 0, the blurred term x3969 is
    [1.00, 2.50, 3.99, 5.67, 7.16, 8.65, 10.15] and pixel MSE is 0.677 everywhere."""
    task = disbench.make("xysquares-boxblur")
    f = torch.zeros(8, 6, dtype=torch.long)
    f[:, 0] = torch.arange(8)
    x = _images(task, f, "model")
    total = torch.stack([task.loss(x[j : j + 1], x[:1])[0] for j in range(1, 8)])
    pixel = torch.stack([((x[j] - x[0]) ** 2).mean() for j in range(1, 8)])
    assert torch.allclose(pixel, torch.full((7,), 0.677, dtype=torch.float64), atol=1e-3)
    assert torch.allclose(total - pixel, torch.tensor([1.00, 2.50, 3.99, 5.67, 7.16, 8.65, 10.15], dtype=torch.float64), atol=0.006)
    correlations = factor_correlation(task, repeats=8)
    # along every traversal the same order (0.992 with float-noise ties kept as ties); pooled over
    # traversals lower, as zero padding changes the distances' scale with the other coordinate
    assert all(c.spearman == pytest.approx(0.9916, abs=1e-4) and 0.94 < c.pooled_spearman < 0.98 for c in correlations.values())


def test_verdicts():
    assert analyse(disbench.make("xysquares-mse"), num_pairs=500, repeats=4).verdict == "adversarial"
    assert analyse(disbench.make("xysquares-boxblur"), num_pairs=500, repeats=4).verdict == "aligned"
    assert analyse(disbench.make("xysquares-s1-mse"), num_pairs=500, repeats=4).verdict == "aligned"


@pytest.mark.parametrize("task_id", [t for t, s in disbench.registry.items() if s.dataset in ("xysquares", "xcolumns")])
def test_registered_adversarial_flags_agree_with_the_analysis(task_id):
    report = analyse(disbench.make(task_id), num_pairs=200, repeats=4)
    assert (report.verdict == "adversarial") == disbench.spec(task_id).adversarial


def test_learnt_kernel_beats_the_box_blur_on_what_it_was_learnt_for():
    """The kernel was learnt to rank pairs from anywhere in the data, so it wins pooled over traversals
    (0.966 against 0.959); within one traversal the box blur orders positions a little better (0.992 against 0.983)."""
    box = factor_correlation(disbench.make("xysquares-boxblur"), repeats=16)
    learnt = factor_correlation(disbench.make("xysquares-learnt"), repeats=16)
    assert np.mean([c.pooled_spearman for c in learnt.values()]) > np.mean([c.pooled_spearman for c in box.values()]) + 0.005
    assert np.mean([c.spearman for c in box.values()]) > np.mean([c.spearman for c in learnt.values()])


def held_out_spearman(task, kernel, pairs=3000):
    """Hard Spearman of the augmented distance vs L1 factor distance on fixed random pairs."""
    from scipy.stats import spearmanr

    from disbench.losses import conv2d_fft

    g = torch.Generator().manual_seed(123)
    a, b = task.data.sample_factors(pairs, g), task.data.sample_factors(pairs, g)
    xa, xb = (task.data.render(f).double() / 255 for f in (a, b))
    d = ((xa - xb) ** 2).mean((1, 2, 3)) + ((conv2d_fft(xa, kernel.double()) - conv2d_fft(xb, kernel.double())) ** 2).mean((1, 2, 3))
    return spearmanr((a - b).abs().sum(1).numpy(), d.numpy()).statistic


def test_learn_kernel_improves_the_ranking():
    from disbench.analysis.kernels import learn_kernel, symmetrise

    task = disbench.make("xysquares-mse", image_size=32, square_size=4, grid_size=8)
    learnt = learn_kernel(task, radius=7, steps=40, batch_size=64, pairs_ratio=4, lr=0.05, seed=0)
    assert learnt.kernel.shape == (15, 15) and bool((learnt.kernel >= 0).all())
    assert torch.allclose(learnt.kernel, symmetrise(learnt.kernel))
    initial = torch.full((15, 15), 1 / 225)
    assert held_out_spearman(task, learnt.kernel) > held_out_spearman(task, initial) + 0.03


def test_bad_factor_is_a_clear_error():
    task = disbench.make("xysquares-mse")
    with pytest.raises(DataError, match="factors are x_R"):
        traversal_matrices(task, "z")
    with pytest.raises(DataError, match="out of range"):
        traversal_matrices(task, 6)


def test_cli_analyze_writes_pictures_and_numbers(tmp_path, capsys):
    out = tmp_path / "an"
    assert cli(["analyze", "xysquares-boxblur", "--out", str(out), "--num-pairs", "200", "--repeats", "4"]) == 0
    printed = capsys.readouterr().out
    assert "verdict: aligned" in printed and "mse+learnt_xysquares_r31_w1" in printed
    result = json.loads((out / "analysis.json").read_text())
    assert result["verdict"] == "aligned" and len(result["matrices"]["x_R"]["perceived"]) == 8
    assert result["loss_comparison"]["mse"]["x_R"] is None  # constant under MSE
    assert (out / "matrices.png").stat().st_size > 10_000


def test_cli_reproduce_table_a1(capsys):
    assert cli(["reproduce", "table-a1", "--num-pairs", "300"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Table A1")
    squares = [line.split() for line in lines if line.startswith("xysquares-mse-v0") and " random " not in line]
    # every XYSquares factor: paper 0.0104 (0.0000), recomputed 128/12288 exactly, whatever the pairs
    assert [row[1] for row in squares] == ["x_R", "y_R", "x_G", "y_G", "x_B", "y_B"]
    assert all(row[2:6] == ["0.0104", "(0.0000)", "0.0104", "(0.0000)"] and float(row[6]) == 0 for row in squares), squares
    stored = [line for line in lines if line.startswith("dsprites-mse-v0")]
    assert len(stored) == 6 and all(line.rstrip().endswith("data not prepared") for line in stored)  # no data here
    assert any(line.startswith("xyobject-shaded-mse-v0") and "intensity" in line for line in lines)
