"""The analysis on data from files (``analyze --data``, ``suggest-loss``): known answers from
datasets the tests render, and every bad input as one line, exit 2."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from scipy.stats import chisquare

import disbench
from disbench.analysis import analyse, factor_correlation
from disbench.analysis.compare import comparison_losses
from disbench.analysis.sampling import factor_pairs, random_pairs, traversals
from disbench.analysis.suggest import candidate_losses, suggest_loss
from disbench.cli import main as cli
from disbench.data import from_files
from disbench.task import Task
from disbench.viz.distances import ground_truth_panel
from tests.data.own_data import drop_combinations, patches, write_folder, xysquares_folder


@pytest.fixture(scope="module")
def spacing(tmp_path_factory):
    """``spacing(s)``: one red square on an 8x8 grid at spacing s, as PNG files + CSV (64 images)."""
    root = tmp_path_factory.mktemp("squares")
    return lambda s: xysquares_folder(root / f"s{s}", grid_spacing=s)


@pytest.fixture(scope="module")
def patch_folder(tmp_path_factory):
    """Made adversarial on purpose: the patch's x positions never overlap; its brightness is ordered."""
    images, grid = patches()
    return write_folder(tmp_path_factory.mktemp("patches") / "patches", images, {"x": grid[:, 0] * 6 + 2, "brightness": np.array([60, 120, 180, 240])[grid[:, 1]]})


def test_files_give_the_built_in_datasets_known_answers(spacing):
    """paper.md §1.7 on files: constant 128/12288 at spacing 8, rho 1.000 (7 distinct values) at spacing 1."""
    folder, original = spacing(8)
    report = analyse(Task(from_files(folder), "mse"), num_pairs=300, repeats=4)
    assert report.verdict == "adversarial" and set(report.reason.split("along ")[1].split(", ")) == {"x_R", "y_R"}
    assert all(s.mean == pytest.approx(128 / 12288, abs=1e-7) and s.std < 1e-7 for s in report.distances.values())
    folder, original = spacing(1)
    on_files = factor_correlation(Task(from_files(folder), "mse"), repeats=4)
    built_in = factor_correlation(Task(original, "mse"), repeats=4)
    assert on_files == built_in and all(c.spearman == pytest.approx(1.0) and c.distinct_values == 7 for c in on_files.values())


def test_a_dataset_adversarial_on_purpose_is_named_factor_by_factor(patch_folder):
    report = analyse(Task(from_files(patch_folder), "mse"), num_pairs=300, repeats=8)
    assert report.verdict == "adversarial" and report.reason == "constant perceived distance along x"
    assert report.correlations["x"].constant and report.correlations["brightness"].spearman == pytest.approx(1.0)


def test_a_categorical_factor_is_shown_but_judges_nothing(tmp_path):
    """Patch kinds named by strings have no order: ranked alphabetically their rho would be noise.
    The verdict (and the suggestion) rest on the ordered factors: x, adversarial under MSE."""
    grid = np.stack(np.unravel_index(np.arange(15), (5, 3)), axis=1)  # x index, kind index
    kinds = np.array(["dot", "bar", "square"])[grid[:, 1]]
    images = np.zeros((15, 1, 16, 32), dtype=np.uint8)
    for n, (i, _) in enumerate(grid):  # each kind its own shape, at x = 6 i: never overlapping itself
        rows, cols = {"dot": (slice(7, 9), slice(3, 5)), "bar": (slice(6, 10), slice(3, 5)), "square": (slice(6, 10), slice(2, 6))}[kinds[n]]
        images[n, 0, rows, slice(cols.start + 6 * i, cols.stop + 6 * i)] = 200
    data = from_files(write_folder(tmp_path / "kinds", images, {"x": grid[:, 0], "kind": kinds}))
    assert data.categorical_factors == ("kind",)
    report = analyse(Task(data, "mse"), num_pairs=200, repeats=8)
    assert report.verdict == "adversarial" and report.reason == "constant perceived distance along x" and not report.correlations["kind"].ordered
    suggestion = suggest_loss(data, repeats=4)
    assert suggestion.recommended.verdict == "aligned" and [c.factor for c in suggestion.recommended.deciding] == ["x"]
    kind = next(t for t in report.traversals if t.factor == "kind")
    truth, label = ground_truth_panel(kind, categorical=True)  # drawn as same-or-not: no order to show
    assert label == "same or not (categorical)" and np.array_equal(truth, 1 - np.eye(3)) and kind.ground_truth[0, 2] == 2

    ordered = from_files(tmp_path / "kinds", factor_order={"kind": ["dot", "bar", "square"]})  # now an order: judged
    assert analyse(Task(ordered, "mse"), num_pairs=200, repeats=8).correlations["kind"].deciding


def test_data_whose_factors_cannot_decide_is_undecided_not_aligned(tmp_path, capsys):
    """A two-valued factor and a categorical one give a loss nothing to order: the verdict says so,
    under every loss, and suggest-loss keeps the base loss instead of ranking noise."""
    grid = np.stack(np.unravel_index(np.arange(6), (2, 3)), axis=1)  # side index, kind index
    kinds = np.array(["dot", "bar", "square"])[grid[:, 1]]
    images = np.zeros((6, 1, 16, 16), dtype=np.uint8)
    for n, (side, kind) in enumerate(grid):
        images[n, 0, 4 + 2 * kind: 8 + 2 * kind, 2 + 8 * side: 6 + 8 * side] = 200
    folder = write_folder(tmp_path / "two", images, {"side": grid[:, 0], "kind": kinds})
    data = from_files(folder)
    report = analyse(Task(data, "mse"), num_pairs=50, repeats=2)
    assert report.verdict == "undecided" and "no ordered factor has 3 or more values" in report.reason
    assert not any(c.deciding for c in report.correlations.values())
    suggestion = suggest_loss(data, losses=["mse", disbench.losses.BOXBLUR], repeats=2)
    assert {s.verdict for s in suggestion.ranking} == {"undecided"} and suggestion.recommended.loss == "mse"
    assert suggestion.reason.endswith("; keep mse")
    assert cli(["analyze", "--data", str(folder), "--out", str(tmp_path / "out"), "--repeats", "2", "--num-pairs", "50"]) == 0
    out = capsys.readouterr().out
    assert "verdict: undecided (no ordered factor has 3 or more values" in out and "suggest-loss" not in out


def test_info_notes_a_task_registered_against_its_measured_verdict(spacing, scratch_registry, capsys):
    """Own data registered without ``adversarial=True`` although MSE measures it adversarial: ``info``
    says so and how to register it; registered as measured, no note."""
    data = from_files(spacing(8)[0])
    disbench.register("sq8-mse-v0", kwargs=data.task_kwargs("mse"))
    assert cli(["info", "sq8-mse"]) == 0
    out = capsys.readouterr().out
    assert "verdict: adversarial" in out and "registered with adversarial=False, but its loss measures adversarial here; register it with adversarial=True" in out
    disbench.register("sq8-mse-v1", kwargs=data.task_kwargs("mse"), adversarial=True)
    assert cli(["info", "sq8-mse-v1"]) == 0
    out = capsys.readouterr().out
    assert "verdict: adversarial" in out and "note:" not in out


def test_suggest_loss_re_enables_xysquares_at_spacing_8(spacing):
    """The issue's test: MSE is adversarial; the suggested blur is aligned, and stays so when
    analysed on its own (the analysis's verdict, not just the ranking's)."""
    data = from_files(spacing(8)[0])
    suggestion = suggest_loss(data, repeats=2)
    assert suggestion.score("mse").verdict == "adversarial"
    best = suggestion.recommended
    assert best.loss != "mse" and ("box" in best.loss or "gauss" in best.loss or "learnt" in best.loss) and best.verdict == "aligned"
    assert analyse(Task(data, best.loss), num_pairs=200, repeats=4).verdict == "aligned"
    assert suggestion.ranking[0] is best and suggestion.ranking[-1].loss == "mse"
    assert [s.loss for s in suggestion.ranking].count(best.loss) == 1 and len(suggestion.ranking) == len(candidate_losses("mse", 64))


def test_suggest_loss_keeps_mse_where_it_already_aligns_even_if_a_blur_scores_higher(spacing):
    """Spacing 4: MSE orders each factor weakly but rightly (rho 0.764, paper.md §1.7); a blur orders
    it better, yet MSE is kept, and the reason names that blur."""
    suggestion = suggest_loss(from_files(spacing(4)[0]), repeats=2)
    mse = suggestion.score("mse")
    assert mse.verdict == "aligned" and mse.lowest == pytest.approx(0.764, abs=5e-4)
    stronger = [s for s in suggestion.ranking if s.verdict == "aligned" and s.lowest > mse.lowest + 0.1]
    assert stronger, "the test needs a blur that orders the factors better than MSE"
    assert suggestion.recommended is mse and suggestion.ranking[0] is mse
    assert "already orders every factor" in suggestion.reason and suggestion.ranking[1].loss in suggestion.reason


def test_candidates_fit_the_image(spacing):
    assert candidate_losses("mse", 16) == ["mse", *(f"mse+box_r{r}_w{(2 * r + 1) ** 2}" for r in (1, 2, 4, 8)),
                                           *(f"mse+gauss_r{r}_w{(2 * r + 1) ** 2}" for r in (2, 4, 8)), "mse+learnt_xysquares_r31_w1"]
    assert candidate_losses("l1", 64)[-1] == "l1+gauss_r31_w3969"  # the learnt kernel was learnt for MSE only


def test_analyze_compares_blurs_that_fit_the_image(patch_folder):
    """The paper's radius-31 blur covers a 16x32 image from every pixel (every position blurs to one
    picture: "constant"); analyze compares the widest blurs that fit instead, as suggest-loss does."""
    small = Task(from_files(patch_folder), "mse")
    assert [getattr(loss, "name", loss) for loss in comparison_losses(small)] == ["mse", "mse+box_r8_w289", "mse+gauss_r8_w289"]
    assert comparison_losses(disbench.make("xysquares-mse"))[1:] == ["mse+box_r31_w3969", "mse+gauss_r31_w3969", "mse+learnt_xysquares_r31_w1"]


def test_cli_analyze_and_suggest_loss_on_a_folder(patch_folder, tmp_path, capsys):
    out = tmp_path / "an"
    assert cli(["analyze", "--data", str(patch_folder), "--out", str(out), "--repeats", "4", "--num-pairs", "200"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("patches: 20 images, 1x16x32") and "verdict: adversarial (constant perceived distance along x)" in printed
    assert "cost: " in printed and " images read from the files, " in printed
    result = json.loads((out / "analysis.json").read_text())
    assert result["task"] == "patches" and result["data"]["sha256"] == from_files(patch_folder).fingerprint
    assert result["data"]["factors"] == {"x": [2, 8, 14, 20, 26], "brightness": [60, 120, 180, 240]} and result["cost"]["images_read"] > 0
    assert (out / "matrices.png").stat().st_size > 5_000
    alone = json.loads(json.dumps(analyse(Task(from_files(patch_folder), "mse"), num_pairs=200, repeats=4, seed=777).to_dict(), default=str))
    assert result["matrices"] == alone["matrices"] and result["factors"] == alone["factors"]  # its traversals, taken from the comparison: the same
    assert result["loss_comparison"]["mse"] == {name: f["spearman"] for name, f in alone["factors"].items()}

    out = tmp_path / "sg"
    assert cli(["suggest-loss", "--data", str(patch_folder), "--out", str(out), "--repeats", "4"]) == 0
    printed = capsys.readouterr().out
    suggestion = json.loads((out / "suggestion.json").read_text())
    assert f"suggested loss: {suggestion['recommended']} (mse is adversarial" in printed and suggestion["recommended"] != "mse"
    verdicts = {r["loss"]: r["verdict"] for r in suggestion["ranking"]}
    assert suggestion["ranking"][0]["verdict"] == "aligned" and verdicts["mse"] == "adversarial" and "mse+box_r31_w3969" not in verdicts
    assert (out / "suggestion.png").stat().st_size > 5_000


def _incomplete(folder, dest, fraction=0.1):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", disbench.data.IncompleteGrid)
        return from_files(drop_combinations(folder, dest, fraction))


def test_an_incomplete_grid_keeps_the_known_answers(spacing, patch_folder, tmp_path):
    """About 10% of the combinations dropped: at spacing 8 MSE still perceives every pair of positions
    at exactly 128/12288 (adversarial), at spacing 1 it still orders each position perfectly (rho 1 on
    the values each traversal has), the adversarial-on-purpose patches keep their verdict, and the
    suggested loss for spacing 8 is still an aligned blur."""
    s8 = _incomplete(spacing(8)[0], tmp_path / "s8")
    assert (s8.num_missing, len(s8)) == (6, 64)
    report = analyse(Task(s8, "mse"), num_pairs=300, repeats=8)
    assert report.verdict == "adversarial" and set(report.reason.split("along ")[1].split(", ")) == {"x_R", "y_R"}
    assert all(s.mean == pytest.approx(128 / 12288, abs=1e-7) and s.std < 1e-7 for s in report.distances.values())
    assert all(t.present is not None and t.present.sum(axis=1).min() >= 3 and np.isnan(t.perceived).any() for t in report.traversals)
    s1 = factor_correlation(Task(_incomplete(spacing(1)[0], tmp_path / "s1"), "mse"), repeats=8)
    assert all(c.spearman == pytest.approx(1.0) and not c.constant for c in s1.values())
    patches_report = analyse(Task(_incomplete(patch_folder, tmp_path / "patches", 0.15), "mse"), num_pairs=300, repeats=8)
    assert patches_report.verdict == "adversarial" and patches_report.reason == "constant perceived distance along x"
    assert patches_report.correlations["brightness"].spearman == pytest.approx(1.0)
    suggestion = suggest_loss(s8, repeats=4)
    assert suggestion.score("mse").verdict == "adversarial" and suggestion.recommended.loss != "mse" and suggestion.recommended.verdict == "aligned"


def test_on_an_incomplete_grid_only_images_it_has_are_drawn(spacing, tmp_path):
    """Traversals: lines with 3+ images, drawn uniformly; pairs differing in one factor: an image whose
    line has another, then one of those others, uniformly; random pairs: two distinct images. On a
    full grid the draws are the ones the analysis always made (same seed, same factors)."""
    data = _incomplete(spacing(8)[0], tmp_path / "gaps", fraction=0.3)
    present = data.present.reshape(data.factor_sizes)
    factors, mask = traversals(data, "x_R", 400, torch.Generator().manual_seed(0))
    assert np.array_equal(mask, present[:, factors[:, 0, 1].numpy()].T) and mask.sum(axis=1).min() >= 3
    usable = np.flatnonzero(present.sum(axis=0) >= 3)
    assert set(factors[:, 0, 1].tolist()) == set(usable.tolist())  # every usable line of x is drawn, and only those
    a, b = factor_pairs(data, 0, 6000, torch.Generator().manual_seed(1))
    assert present[tuple(a.T)].all() and present[tuple(b.T)].all() and (a[:, 1] == b[:, 1]).all() and (a[:, 0] != b[:, 0]).all()
    counts = present.sum(axis=0)  # images per line of x (a column y of the grid)
    expected = {(int(u), int(v), int(y)): 1 / (counts[y] - 1) for y in range(8) if counts[y] >= 2 for u in np.flatnonzero(present[:, y])
                for v in np.flatnonzero(present[:, y]) if u != v}
    seen = dict.fromkeys(expected, 0)
    for u, v, y in zip(a[:, 0].tolist(), b[:, 0].tolist(), a[:, 1].tolist()):
        seen[u, v, y] += 1
    probability = np.array(list(expected.values())) / sum(expected.values())
    assert chisquare(list(seen.values()), probability * len(a)).pvalue > 1e-3
    ra, rb = random_pairs(data, 2000, torch.Generator().manual_seed(2))
    assert present[tuple(ra.T)].all() and present[tuple(rb.T)].all() and (ra != rb).any(dim=1).all()
    full = from_files(spacing(8)[0])
    same, mask = traversals(full, 1, 16, torch.Generator().manual_seed(3))
    assert mask is None and torch.equal(same, full.sample_traversals(1, 16, torch.Generator().manual_seed(3)))


def test_a_factor_with_too_little_left_to_judge_is_refused(tmp_path, capsys):
    """Only the diagonal x = level kept: no traversal of x has two images, so nothing can say how a
    loss orders x: the analysis refuses, naming the factor, rather than judge it on nothing."""
    images, grid = patches(positions=4)
    diagonal = grid[:, 0] == grid[:, 1]
    np.savez(tmp_path / "diagonal.npz", images=images[diagonal], factors=grid[diagonal], factor_names=np.array(["x", "level"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", disbench.data.IncompleteGrid)
        data = from_files(tmp_path / "diagonal.npz")
    message = (r"Factor 'x' cannot be judged: no traversal of it \(the other factors held fixed\) has images at 3 or more of its 4 values \(at most 1\), "
               r"as 75\.0% of the combinations have none\. Add images that differ only in x")
    with pytest.raises(disbench.error.DataError, match=message):
        analyse(Task(data, "mse"), num_pairs=100, repeats=4)
    line = _one_line_error(capsys, ["suggest-loss", "--data", str(tmp_path / "diagonal.npz"), "--out", str(tmp_path / "out"), "--repeats", "2"])
    assert line.startswith("error: Factor 'x' cannot be judged")


def test_cli_on_an_incomplete_grid_states_what_is_missing(patch_folder, tmp_path, capsys):
    gaps = drop_combinations(patch_folder, tmp_path / "gaps", 0.15)
    out = tmp_path / "an"
    assert cli(["analyze", "--data", str(gaps), "--out", str(out), "--repeats", "8", "--num-pairs", "200"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"gaps: 17 images, 1x16x32, from {gaps / 'factors.csv'}; factors x (5), brightness (4); incomplete: 3 of the 20 "
                                   "factor combinations (15.0%) have no image (e.g. ")
    assert "incomplete grid: each traversal is measured on the values it has images for (on average x " in captured.out
    assert "verdict: adversarial (constant perceived distance along x)" in captured.out and "warning" not in captured.err
    result = json.loads((out / "analysis.json").read_text(), parse_constant=lambda c: pytest.fail(f"{c} in analysis.json"))
    assert result["data"]["missing_combinations"] == 3 and result["data"]["missing_fraction"] == 0.15 and result["data"]["images"] == 17
    assert (out / "matrices.png").stat().st_size > 5_000


def _one_line_error(capsys, argv) -> str:
    assert cli(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    return lines[0]


@pytest.fixture
def broken(patch_folder, tmp_path):
    """``broken(change)``: a copy of the patch folder with ``change(folder, frame)`` applied."""
    def make(change):
        folder = tmp_path / "broken"
        folder.mkdir()
        for f in patch_folder.iterdir():
            (folder / f.name).write_bytes(f.read_bytes())
        frame = pd.read_csv(folder / "factors.csv")
        change(folder, frame)
        return folder
    return make


def _csv(frame, folder):
    frame.to_csv(folder / "factors.csv", index=False)


@pytest.mark.parametrize("change, extra, message", [
    pytest.param(lambda d, f: None, ["--factors", "x", "brightnes"], "has no column 'brightnes'. Did you mean 'brightness'?", id="missing CSV column"),
    pytest.param(lambda d, f: _csv(f.assign(angle=np.linspace(0, 1, len(f)) ** 2 * 90), d), [], "Factor 'angle' looks continuous: 20 distinct values in 20 rows",
                 id="non-discrete factor"),
    pytest.param(lambda d, f: Image.new("L", (32, 20)).save(d / "img_0003.png"), [], "Images differ in size", id="mixed image sizes"),
    pytest.param(lambda d, f: (d / "img_0003.png").unlink(), [], "1 of the 20 image files that factors.csv names do not exist", id="missing image file"),
    pytest.param(lambda d, f: None, ["--loss", "mze"], "Unknown reconstruction loss 'mze'. Did you mean 'mse'", id="unknown loss"),
    pytest.param(None, ["xysquares-mse", "--image-size", "32"], "--image-size describes files and needs --data PATH", id="data option without --data"),
])
def test_cli_bad_input_is_one_line_and_exit_2(broken, capsys, tmp_path, change, extra, message):
    subject = [] if change is None else ["--data", str(broken(change))]
    line = _one_line_error(capsys, ["analyze", *subject, *extra, "--out", str(tmp_path / "out"), "--repeats", "2"])
    assert message in line, line


def test_cli_a_path_that_does_not_exist_and_no_subject(tmp_path, capsys):
    for command in ("analyze", "suggest-loss"):
        line = _one_line_error(capsys, [command, "--data", str(tmp_path / "my-data"), "--out", str(tmp_path / "out")])
        assert f"No such file or folder: {tmp_path / 'my-data'}" in line
    assert "Give a registered task" in _one_line_error(capsys, ["suggest-loss", "--out", str(tmp_path / "out")])
    line = _one_line_error(capsys, ["analyze", str(tmp_path), "--out", str(tmp_path / "out")])
    assert f"{tmp_path} is a file or folder, not a task id: to analyse your data, give it as --data {tmp_path}." in line
    assert "Did you mean 'mse+box_r31_w3969'" in _one_line_error(capsys, ["suggest-loss", "xysquares-mse", "--losses", "mse+blur_r31_w3969", "--out", str(tmp_path)])


def test_suggest_loss_on_a_registered_task(tmp_path, capsys):
    assert cli(["suggest-loss", "xcolumns-mse", "--losses", "mse", disbench.losses.BOXBLUR, "--repeats", "2", "--out", str(tmp_path)]) == 0
    assert "suggested loss: mse+box_r31_w3969 (mse is adversarial" in capsys.readouterr().out
