"""Aggregation with known answers: ranks, the adversarial gap, the ladder, tables, CSV and Parquet."""

from __future__ import annotations

import pandas as pd
import pytest

from disbench.leaderboard.aggregate import aggregate, ladder_tasks
from disbench.leaderboard.store import CheckContext, Source, load_board
from disbench.leaderboard.tables import board_tables, render_markdown, render_text, write_summary
from tests.leaderboard.conftest import make_submission, record_dict, write_record

SCORES = {  # submission -> task -> seeds' MIG
    "alpha": {"xysquares-mse-v0": (0.02, 0.04), "xysquares-boxblur-v0": (0.30, 0.50), "xysquares-s1-mse-v0": (0.10, 0.20)},
    "beta": {"xysquares-mse-v0": (0.01, 0.01), "xysquares-boxblur-v0": (0.60, 0.80), "xysquares-s1-mse-v0": (0.90, 0.70)},
}


@pytest.fixture
def agg(workspace):
    for sub, tasks in SCORES.items():
        sup = "unsupervised" if sub == "alpha" else "weak-pairs"
        for task, values in tasks.items():
            for seed, mig in enumerate(values):
                write_record(workspace["results"], record_dict(task, sub, seed, {"mig": mig, "dci.disentanglement": mig / 2}, workspace["hashes"][sub], supervision=sup))
    # a stale third submission with a huge score must not take a rank
    stale_hash = workspace["hashes"]["alpha"]
    make_submission(workspace["submissions"], "gamma")
    write_record(workspace["results"], record_dict("xysquares-mse-v0", "gamma", 0, {"mig": 0.99}, stale_hash))
    return aggregate(load_board([Source(workspace["results"], "official")], CheckContext(submissions_dir=workspace["submissions"])))


def test_task_ranks_use_the_primary_metric_and_skip_stale_entries(agg):
    r = agg.ranks.set_index(["task", "submission"])["rank"]
    assert r[("xysquares-mse-v0", "alpha")] == 1 and r[("xysquares-mse-v0", "beta")] == 2
    assert r[("xysquares-boxblur-v0", "beta")] == 1 and r[("xysquares-s1-mse-v0", "beta")] == 1
    assert "gamma" not in set(agg.ranks["submission"])
    stale = agg.summary[agg.summary["submission"] == "gamma"]
    assert stale["stale"].all() and stale.set_index("metric").loc["mig", "mean"] == pytest.approx(0.99)


def test_overall_rank_is_per_supervision_track(agg):
    o = agg.overall.set_index(["supervision", "submission"])
    assert o.loc[("unsupervised", "alpha"), "rank"] == 1 and o.loc[("unsupervised", "alpha"), "tasks"] == 3
    assert o.loc[("weak-pairs", "beta"), "rank"] == 1 and o.loc[("weak-pairs", "beta"), "mean_task_rank"] == 1.0


def test_adversarial_gap_is_twin_minus_adversarial(agg):
    g = agg.gaps[agg.gaps["task"] == "xysquares-mse-v0"].set_index("submission")
    assert g.loc["alpha", "twin"] == "xysquares-boxblur-v0"
    assert g.loc["alpha", "gap"] == pytest.approx(0.40 - 0.03)
    assert g.loc["beta", "gap"] == pytest.approx(0.70 - 0.01)


def test_ladder_maps_tasks_to_spacing_and_gaps_to_the_widest(agg):
    spacing = {lt.task: lt.spacing for lt in ladder_tasks()}
    assert spacing["xysquares-s1-mse-v0"] == 1 and spacing["xysquares-mse-v0"] == 8 and sorted(spacing.values()) == list(range(1, 9))
    lad = agg.ladder[agg.ladder["metric"] == "mig"].set_index(["submission", "spacing"])["mean"]
    assert lad[("beta", 1)] == pytest.approx(0.8) and lad[("beta", 8)] == pytest.approx(0.01)
    gaps = agg.ladder_gaps[(agg.ladder_gaps["metric"] == "mig") & (agg.ladder_gaps["spacing"] == 1)].set_index("submission")["gap"]
    assert gaps["beta"] == pytest.approx(0.79) and gaps["alpha"] == pytest.approx(0.15 - 0.03)


def test_text_and_markdown_tables_show_scores_markers_and_gaps(agg):
    text = render_text(board_tables(agg, task="xysquares-mse-v0"))
    assert "0.030 ± 0.014" in text  # alpha: mean 0.03, std sqrt(2e-4) = 0.0141
    assert "gamma [stale, unverified]" not in text and "gamma [stale] [unverified]" in text
    md = render_markdown(agg)
    assert "## Tier: quick" in md and "| 1      | alpha [unverified]" in md
    assert "+0.690" in md  # beta's adversarial gap
    assert "Overlap ladder: mig by grid spacing (quick)" in md


def test_summary_csv_and_parquet_agree(agg, tmp_path):
    csv, parquet = write_summary(agg, tmp_path / "out")
    a, b = pd.read_csv(csv), pd.read_parquet(parquet)
    assert len(a) == len(b) == len(agg.summary)
    row = b[(b["task"] == "xysquares-boxblur-v0") & (b["submission"] == "beta") & (b["metric"] == "mig")].iloc[0]
    assert row["mean"] == pytest.approx(0.7) and row["n"] == 2 and row["rank"] == 1 and bool(row["primary"])
    assert b[(b["submission"] == "gamma")]["rank"].isna().all()
    assert not list((tmp_path / "out").glob(".*tmp*"))
