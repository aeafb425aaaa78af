"""Plot details a reader would notice: titles that fit their figure, axes at the scores' own scale, each ladder point in its own
cell's trust style."""

from __future__ import annotations

import numpy as np
import pytest

from disbench.leaderboard.aggregate import aggregate
from disbench.leaderboard.plots import ladder_figure, score_limits, spans
from disbench.leaderboard.store import CheckContext, Source, load_board
from tests.leaderboard.conftest import record_dict, signed, write_record


def test_a_long_title_wraps_inside_the_figure_instead_of_being_cut(tmp_path):
    from PIL import Image

    from disbench.viz import pyplot, save_figure

    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(5.2, 2.4))
    for ax in axes:
        ax.set_axis_off()
    title = "xyobject-shaded-boxblur-v0: perceived distance along each factor (mse+learnt_xysquares_r31_w1)"
    out = save_figure(fig, tmp_path / "title.png", title=title)
    pixels = np.asarray(Image.open(out).convert("L"))
    edges = np.concatenate([pixels[:, :3], pixels[:, -3:]], axis=1)
    assert (edges > 250).all()  # no ink touches the left or right edge: every letter of the title is inside
    assert (pixels[:40] < 128).any()  # and the title is drawn


@pytest.mark.parametrize("values, expected", [
    ([0.008, 0.012], (-0.00048, 0.01296)),  # near 0.01: the axis ends just past the largest score, not at 1
    ([0.2, 0.9], (-0.036, 0.972)),
    ([-0.1, 0.1], (-0.108, 0.116)),
    ([0.0, 0.0], (-0.00004, 0.00008)),  # all zero: a small axis around 0, never an empty range
])
def test_score_axis_is_at_the_scores_scale(values, expected):
    assert score_limits(np.array(values)) == pytest.approx(expected)


def test_spans_write_runs_of_integers():
    assert spans([1, 2, 3, 5, 7, 8]) == "1–3, 5, 7–8" and spans([4]) == "4" and spans([]) == ""


def test_ladder_styles_each_point_by_its_own_cells_trust(workspace, runner_key):
    """alpha at spacings 1-4, signed except at spacing 2: only that spacing's points are hollow and lighter (and the
    segments that touch it); the legend says what filled and hollow mean and names the unverified spacing."""
    from matplotlib.colors import to_rgba

    private, public = runner_key
    migs = {1: (0.3, 0.5), 2: (0.2, 0.2), 3: (0.1, 0.3), 4: (0.0, 0.2)}
    for spacing, values in migs.items():
        for seed, mig in enumerate(values):
            raw = record_dict(f"xysquares-s{spacing}-mse-v0", "alpha", seed, {"mig": mig, "dci.disentanglement": mig}, workspace["hashes"]["alpha"])
            raw["curve"] = {"mig": [[10, mig + 0.05], [20, mig]]}
            raw["max_during_training"] = {"mig": mig + 0.05}
            write_record(workspace["results"], raw if spacing == 2 else signed(raw, private))
    board = load_board([Source(workspace["results"], "official")], CheckContext(submissions_dir=workspace["submissions"], public_key_path=public))
    fig = ladder_figure(aggregate(board).ladder, "quick")
    mig_axis = fig.axes[0]
    points = {}  # (marker, spacing) -> (mean, face alpha, artist alpha)
    for line in mig_axis.lines:
        if line.get_marker() in ("o", "^"):  # not the error bars' caps
            for x, y in zip(line.get_xdata(), line.get_ydata()):
                points[line.get_marker(), round(x)] = (round(float(y), 6), to_rgba(line.get_markerfacecolor())[3], line.get_alpha())
    trust = {s: (0.0, 0.5) if s == 2 else (1.0, 1.0) for s in migs}  # (face alpha, alpha): hollow and lighter at spacing 2 only
    assert points == {(marker, s): (round(float(np.mean(v)) + extra, 6), *trust[s]) for s, v in migs.items() for marker, extra in (("o", 0), ("^", 0.05))}
    segments = {(round(line.get_xdata()[0]), round(line.get_xdata()[1])): line.get_alpha()
                for line in mig_axis.lines if line.get_linestyle() == "-" and len(line.get_xdata()) == 2}
    assert segments == {(1, 2): 0.5, (2, 3): 0.5, (3, 4): 1.0}
    legend = {t.get_text(): h for t, h in zip(fig.legends[0].get_texts(), fig.legends[0].legend_handles)}
    assert "alpha [unverified at spacing 2]" in legend
    assert to_rgba(legend["filled: verified cell (signed by the official runner)"].get_markerfacecolor())[3] == 1.0
    assert to_rgba(legend["hollow, lighter: unverified cell"].get_markerfacecolor())[3] == 0.0
