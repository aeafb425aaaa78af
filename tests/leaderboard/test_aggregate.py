"""Aggregation with known answers: ranks (within a track, verified first), the adversarial gap, the ladder, tables,
CSV and Parquet. Records are signed with a throwaway key where the test needs verified ones."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from disbench.leaderboard.aggregate import aggregate, ladder_tasks
from disbench.leaderboard.store import CheckContext, Source, load_board
from disbench.leaderboard.tables import WIDTH, board_tables, render_markdown, render_text, task_table, write_summary
from tests.leaderboard.conftest import make_submission, record_dict, signed, write_record

MSE, BLUR, S1 = "xysquares-mse-v0", "xysquares-boxblur-v0", "xysquares-s1-mse-v0"
# submission -> (supervision, signed, task -> seeds' MIG); the quick tier has seeds 0 and 1
BOARD = {
    "alpha": ("unsupervised", True, {MSE: (0.02, 0.04), BLUR: (0.30, 0.50), S1: (0.10, 0.20)}),
    "beta": ("weak-pairs", True, {MSE: (0.01, 0.01), BLUR: (0.60, 0.80), S1: (0.90, 0.70)}),
    "gamma": ("unsupervised", False, {MSE: (0.20, 0.30), BLUR: (0.70, 0.90), S1: (0.50, 0.60)}),  # better than alpha, unsigned
    "hand": ("unsupervised", False, {MSE: (0.99,)}),  # a hand-made record: one seed, MIG 0.99, unsigned
    "delta": ("weak-pairs", True, {MSE: (0.95,)}),  # signed, but one of the tier's two seeds
}


@pytest.fixture
def agg(workspace, runner_key):
    from disbench.harness.submission import Submission

    private, public = runner_key
    for sub, (sup, sign, tasks) in BOARD.items():
        content = workspace["hashes"].get(sub) or Submission(make_submission(workspace["submissions"], sub, sup)).content_hash()
        for task, values in tasks.items():
            for seed, mig in enumerate(values):
                raw = record_dict(task, sub, seed, {"mig": mig, "dci.disentanglement": mig / 2}, content, supervision=sup)
                write_record(workspace["results"], signed(raw, private) if sign else raw)
    make_submission(workspace["submissions"], "stale-one")  # its record's hash is another folder's: stale, never ranked
    write_record(workspace["results"], record_dict(MSE, "stale-one", 0, {"mig": 0.999}, workspace["hashes"]["alpha"]))
    ctx = CheckContext(submissions_dir=workspace["submissions"], public_key_path=public)
    return aggregate(load_board([Source(workspace["results"], "official")], ctx))


def test_ranks_are_within_a_track_with_verified_and_complete_entries_first(agg):
    r = agg.ranks.set_index(["task", "submission"])
    # unsupervised: alpha (signed, 0.03) above gamma (unsigned, 0.25) above hand (unsigned, one seed, 0.99)
    assert [r.loc[(MSE, s), "rank"] for s in ("alpha", "gamma", "hand")] == [1, 2, 3]
    # weak-pairs, ranked apart: beta (signed, both seeds, 0.01) above delta (signed, one seed, 0.95)
    assert [r.loc[(MSE, s), "rank"] for s in ("beta", "delta")] == [1, 2]
    assert r.loc[(BLUR, "gamma"), "rank"] == 2 and r.loc[(BLUR, "beta"), "rank"] == 1  # 0.80 ranks 1st in its own track
    assert bool(r.loc[(MSE, "hand"), "unverified"]) and bool(r.loc[(MSE, "hand"), "incomplete"])
    assert (r.loc[(MSE, "delta"), ["seeds", "expected"]] == [1, 2]).all() and not r.loc[(MSE, "delta"), "unverified"]
    assert "stale-one" not in set(agg.ranks["submission"])


def test_overall_rank_uses_the_same_rule_and_agrees_with_the_task_ranks(agg):
    o = agg.overall.set_index(["supervision", "submission"])
    assert [o.loc[("unsupervised", s), "rank"] for s in ("alpha", "gamma", "hand")] == [1, 2, 3]
    assert o.loc[("unsupervised", "alpha"), "mean_task_rank"] == 1.0 and o.loc[("unsupervised", "gamma"), "mean_task_rank"] == 2.0
    assert [o.loc[("weak-pairs", s), "rank"] for s in ("beta", "delta")] == [1, 2]
    for row in agg.overall.itertuples():  # "mean task rank 1.00" means first on every task it covers, as the task tables say
        mine = agg.ranks[(agg.ranks["submission"] == row.submission) & (agg.ranks["tier"] == row.tier)]
        assert row.mean_task_rank == pytest.approx(mine["rank"].mean())


def test_task_table_rows_follow_the_ranks_and_carry_their_markers(agg):
    table = task_table(agg, MSE, "quick", "unsupervised", ("mig",))
    assert table.headers == ["rank", "submission", "mig *", "n"]
    rows = [(r.cells[0].text, r.cells[1].plain(), r.cells[-1].text) for r in table.rows]
    assert rows == [("1", "alpha", "2/2"), ("2", "gamma [unverified]", "2/2"), ("3", "hand [unverified, incomplete]", "1/2"),
                    ("–", "stale-one [unverified, incomplete, stale]", "1/2")]


def test_adversarial_gap_is_twin_minus_adversarial_with_its_spread(agg):
    g = agg.gaps.set_index("submission")
    assert g.loc["alpha", "twin"] == BLUR
    assert g.loc["alpha", "gap"] == pytest.approx(0.40 - 0.03)
    std_mse, std_blur = math.sqrt(2 * 0.01**2), math.sqrt(2 * 0.1**2)  # sample std of two seeds
    assert g.loc["alpha", "gap_se"] == pytest.approx(math.sqrt(std_mse**2 / 2 + std_blur**2 / 2))
    assert g.loc["alpha", ["adversarial_n", "twin_n"]].tolist() == [2, 2]
    assert not g.loc["alpha", "unverified"] and g.loc["gamma", "unverified"]
    text = render_text(board_tables(agg))
    assert "alpha               0.030 ± 0.014 (2)  0.400 ± 0.141 (2)  +0.370 ± 0.100" in text
    assert "gamma [unverified]" in text.split("Adversarial gap")[1]


def test_ladder_maps_tasks_to_spacing_and_gaps_to_the_widest(agg):
    spacing = {lt.task: lt.spacing for lt in ladder_tasks()}
    assert spacing[S1] == 1 and spacing[MSE] == 8 and sorted(spacing.values()) == list(range(1, 9))
    lad = agg.ladder[agg.ladder["metric"] == "mig"].set_index(["submission", "spacing"])
    assert lad.loc[("beta", 1), "mean"] == pytest.approx(0.8) and lad.loc[("beta", 8), "mean"] == pytest.approx(0.01)
    assert lad.loc[("gamma", 1), "unverified"] and not lad.loc[("beta", 1), "unverified"]
    gaps = agg.ladder_gaps[(agg.ladder_gaps["metric"] == "mig") & (agg.ladder_gaps["spacing"] == 1)].set_index("submission")["gap"]
    assert gaps["beta"] == pytest.approx(0.79) and gaps["alpha"] == pytest.approx(0.15 - 0.03)
    text = render_text(board_tables(agg))
    ladder = text[text.index("Overlap ladder (quick): mig"):text.index("Overlap ladder (quick): dci")]
    assert "mig by grid spacing (1 of 3)" in ladder and "mig by grid spacing (3 of 3)" in ladder  # five methods, split to fit
    assert max(len(line) for line in ladder.splitlines()) <= WIDTH
    headers = [line for line in ladder.splitlines() if line.startswith("spacing")]
    assert "gamma [unverified]" in headers[0] and "hand [unverified, incomplete]" in "".join(headers)
    assert "alpha  " in headers[0] and "alpha [" not in headers[0]
    assert "s1 − s8    +0.120" in ladder


def test_text_and_markdown_say_the_rank_rule_and_fit_the_terminal(agg):
    text = render_text(board_tables(agg))
    assert text.startswith("Ranks are within a tier and a supervision track")
    assert "Overall, unsupervised track (quick)" in text and "Overall, weak-pairs track (quick)" in text
    md = render_markdown(agg)
    assert "## Tier: quick" in md and "| 1      | alpha " in md and "| 2      | gamma [unverified]" in md
    assert "verified records before unverified ones" in md


def test_summary_csv_and_parquet_agree_and_carry_the_same_ranks(agg, tmp_path):
    csv, parquet = write_summary(agg, tmp_path / "out")
    a, b = pd.read_csv(csv), pd.read_parquet(parquet)
    assert len(a) == len(b) == len(agg.summary)
    row = b[(b["task"] == BLUR) & (b["submission"] == "beta") & (b["metric"] == "mig")].iloc[0]
    assert row["mean"] == pytest.approx(0.7) and row["n"] == 2 and row["rank"] == 1 and bool(row["primary"])
    hand = b[(b["submission"] == "hand") & (b["metric"] == "mig")].iloc[0]
    assert hand["rank"] == 3 and bool(hand["unverified"]) and bool(hand["incomplete"]) and (hand["seeds"], hand["expected"]) == (1, 2)
    assert b[(b["submission"] == "stale-one")]["rank"].isna().all()
    assert not list((tmp_path / "out").glob(".*tmp*"))
