"""Plot details a reader would notice: titles that fit their figure, axes at the scores' own scale."""

from __future__ import annotations

import numpy as np
import pytest

from disbench.leaderboard.plots import score_limits


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
