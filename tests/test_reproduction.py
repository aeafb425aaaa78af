"""``disbench reproduce overlap | boxblur``: the grids, record reuse, and the report's numbers.

Records are fabricated with known scores (through the real ``build_record``, with the current
protocol and submission hashes), so the tables and effect sizes have known answers; training
itself is covered by the harness and sweep tests.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tarfile

import pandas as pd
import pytest
import torch

import disbench
from disbench.cli import main as cli
from disbench.harness.record import build_record, record_path, write_record
from disbench.harness.run import submission_record
from disbench.harness.submission import Submission
from disbench.reproduction import statistics
from disbench.reproduction.experiments import BOXBLUR, BOXBLUR_LOW_BETA, OVERLAP, ROOT, ReproductionError
from disbench.reproduction.report import COLUMNS, by_data, claims, device_line
from disbench.reproduction.runner import plan
from disbench.reproduction.summary import BEGIN, END, FULL_REPORTS, Section, generated_part, section_result, summary_text


def fabricate(results, arm, tier: str, seed: int, mig: float, dci: float, peak: float = 0.0, informativeness: float = 0.9) -> None:
    """A completed record for ``arm`` as made before the suite gated DCI: final MIG/DCI given, a curve that peaks ``peak``
    above them, and the DCI informativeness the report gates on (0.9: far above XYSquares' majority baseline of about 0.15)."""
    task = disbench.make(arm.task)
    protocol = task.get_protocol(tier)
    submission = Submission(arm.submission)
    inf = {"dci.informativeness_test": informativeness}
    curve = [{"step": protocol.steps // 2, "mig": mig + peak, "dci.disentanglement": 0.0, **inf},
             {"step": protocol.steps, "mig": mig, "dci.disentanglement": dci + peak, **inf}]
    record = build_record(task, protocol, seed, submission_record(submission, task.id), {"mig": mig, "dci.disentanglement": dci, **inf},
                          steps=protocol.steps, elapsed=1.0, eval_time=1.0, device=torch.device("cpu"), final_loss=0.1, num_parameters=1, curve=curve)
    write_record(record, record_path(results, task.id, submission.name, protocol.name, seed))


def test_grids_name_the_papers_settings():
    overlap = OVERLAP.arms()
    assert len(overlap) == 16 and {a.condition for a in overlap} == set(range(1, 9))
    assert {a.submission.name for a in overlap} == {"beta-vae", "ada-gvae"}
    paper_avg = OVERLAP.arms(("ada-gvae",), "paper")
    assert {a.submission.name for a in paper_avg} == {"ada-gvae-paper-avg"}
    assert Submission(paper_avg[0].submission).hyperparameters("xysquares-mse-v0") == {"latent_dim": 9, "beta": 0.001, "average": "gvae-paper"}
    boxblur = BOXBLUR.arms()
    assert len(boxblur) == 8 and {a.task for a in boxblur} == {"xysquares-mse", "xysquares-boxblur"}
    for arm in boxblur:  # Fig. 11: z = 25, beta in {0.0316, 0.0001}
        hp = Submission(arm.submission).hyperparameters("xysquares-mse-v0")
        assert hp["latent_dim"] == 25 and hp["beta"] in (0.0316, 0.0001)
        assert hp.get("average", "gvae") == "gvae"
    # Fig. 11 at beta = 0.0001 alone, with either averaging: the grid of the eight-seed runs
    assert {a.submission.name for a in BOXBLUR_LOW_BETA.arms()} == {"ada-gvae-z25-b0.0001", "beta-vae-z25-b0.0001"}
    assert {a.submission.name for a in BOXBLUR_LOW_BETA.arms(("ada-gvae",), "paper")} == {"ada-gvae-paper-avg-z25-b0.0001"}
    assert BOXBLUR_LOW_BETA.effect == ("boxblur", "mse") and OVERLAP.effect == (1, 8) and OVERLAP.ladder and not BOXBLUR.ladder
    ends = OVERLAP.arms(conditions=("1", "2", "4", "8"))
    assert len(ends) == 8 and {a.condition for a in ends} == {1, 2, 4, 8}
    with pytest.raises(ReproductionError, match="overlap has no grid spacing '9'; its grid spacings are 1, 2, 3, 4, 5, 6, 7, 8"):
        OVERLAP.arms(conditions=("1", "9"))
    assert OVERLAP.arms(("beta-vae", "beta-vae")) == OVERLAP.arms(("beta-vae",))  # a method named twice counts once
    with pytest.raises(ReproductionError, match="Unknown method 'vae'"):
        OVERLAP.arms(("vae",))
    with pytest.raises(ReproductionError, match="Ada-GVAE's alone.*drop --average paper"):
        BOXBLUR.arms(("beta-vae",), "paper")


def test_records_are_reused_from_any_folder_and_only_the_rest_would_train(tmp_path):
    arms = [a for a in OVERLAP.arms(("ada-gvae",)) if a.condition in (1, 8)]
    fabricate(tmp_path / "committed", arms[0], "quick", 0, 0.9, 0.95)
    fabricate(tmp_path / "committed", arms[0], "quick", 5, 0.8, 0.9)  # a seed beyond the tier's, trained with --seeds
    (tmp_path / "committed" / "xysquares-mse-v0" / "ada-gvae" / "quick").mkdir(parents=True)
    (tmp_path / "committed" / "xysquares-mse-v0" / "ada-gvae" / "quick" / "seed-6.json").write_text("{}")  # not a valid record
    planned = plan(arms, "quick", (0, 1), tmp_path / "new", tmp_path / "runs", reuse=[tmp_path / "committed"])
    found = {(p.arm.condition, p.run.seed): p.found_in for p in planned}
    assert found == {(1, 0): tmp_path / "committed", (1, 1): None, (8, 0): None, (8, 1): None}
    # a report shows every validly recorded seed of each arm, beyond the ones asked for; an invalid one is neither shown nor trained
    every = plan(arms, "quick", (0, 1), tmp_path / "new", tmp_path / "runs", reuse=[tmp_path / "committed"], every_recorded=True)
    assert {(p.arm.condition, p.run.seed): p.found_in for p in every} == {**found, (1, 5): tmp_path / "committed"}


def test_overlap_report_has_medians_claims_and_informativeness_with_known_answers(tmp_path, capsys):
    results = tmp_path / "results"
    for arm in OVERLAP.arms():
        strong = arm.method == "ada-gvae"
        for seed in (0, 1, 2):
            mig = (0.9 if strong else 0.2) * (8 - arm.condition) / 7 + 0.02 * seed
            fabricate(results, arm, "quick", seed, mig, mig, peak=0.05)
    out = tmp_path / "out"
    args = ["reproduce", "overlap", "--report-only", "--results-dir", str(results), "--reuse", "--runs-dir", str(tmp_path / "runs"), "--out", str(out)]
    assert cli(args) == 0  # the tier's seeds are 0 and 1; seed 2 has records, so the report shows it too
    text = capsys.readouterr().out
    assert "32 runs, 48 with a record" not in text and "48 runs, 48 with a record" in text and "before pooling" not in text
    # spacing 1, Ada-GVAE: finals 0.90, 0.92, 0.94 and maxima 0.05 higher: median [quartiles] (n), the paper's cell beside them
    assert re.search(r"\|\s+1 \| 0\.970 \[0\.960, 0\.980\] \(3\)\s+\| 0\.920 \[0\.910, 0\.930\] \(3\)\s+\| 0\.72–0\.91 \(fit ≈0\.87\)", text)
    # the claim at the ends: medians 0.97 and 0.07; 3 runs per arm cannot do better than p = 1/20, 0.4 after Holm's x 8
    assert re.search(r"\| Ada-GVAE MIG, 1 minus 8\s+\| max during training \| 3\+3 \| \+0\.900 \[\+0\.860, \+0\.940\]\s+\| 0\.05 ", text)
    assert "not shown (n = 3+3, p = 0.4)" in text
    # the trend over all 24 runs is clear: rho near -1, permutation p at its floor 1/10,001, Holm over the report's 12 claims
    assert re.search(r"\| Ada-GVAE MIG, falls as the spacing grows\s+\| max during training \| 24\s+\| Spearman ρ -0\.9\d", text)
    assert "sign shown (p = 0.0012, n = 24)" in text
    # informativeness beside the scores: 0.9 everywhere, against XYSquares' majority baseline, never gated, by the report
    assert re.search(r"\| Ada-GVAE\s+\|\s+1 \| 0\.900 \[0\.900, 0\.900\] \(3\)\s+\| 0\.1\d\d \[.*\| 0 of 3; 0 of 6\s+\| report \(record predates the gate\)", text)
    # each record's own pair, max / final, one column per seed
    assert re.search(r"\| ada-gvae\s+\|\s+1 \| 0\.950 / 0\.900 \| 0\.970 / 0\.920 \| 0\.990 / 0\.940 \|", text)
    report = (out / "overlap-quick.md").read_text()
    # with every run recorded, --dry-run says so and writes nothing
    dry = tmp_path / "dry"
    assert cli(["reproduce", "overlap", "--dry-run", "--results-dir", str(results), "--reuse", "--runs-dir", str(tmp_path / "runs"), "--out", str(dry)]) == 0
    assert "would train 0 runs into " in capsys.readouterr().out and not dry.exists()
    assert report.strip() in text
    assert (out / "overlap-quick.png").stat().st_size > 10_000
    rows = (out / "overlap-quick.csv").read_text().splitlines()
    assert len(rows) == 1 + 48 * 2 and rows[0].startswith("method,submission,average,condition")


def test_a_collapsed_encoder_in_an_old_record_is_gated_by_the_report_and_its_ungated_dci_stays_visible(tmp_path, capsys):
    results = tmp_path / "results"
    for arm in BOXBLUR_LOW_BETA.arms(("ada-gvae",)):
        collapsed = arm.condition == "mse"
        fabricate(results, arm, "quick", 0, 0.0 if collapsed else 0.1, 0.4 if collapsed else 0.2, informativeness=0.12 if collapsed else 0.46)
    out = tmp_path / "out"
    assert cli(["reproduce", "boxblur-b0.0001", "--methods", "ada-gvae", "--report-only", "--seeds", "0", "--results-dir", str(results), "--reuse",
                "--runs-dir", str(tmp_path / "runs"), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert re.search(r"\| ada-gvae-z25-b0\.0001 \| mse\s+\| 0\.000 / 0\.000 \(ungated 0\.400 / 0\.400\) \|", text)
    assert re.search(r"\| ada-gvae-z25-b0\.0001 \| boxblur\s+\| 0\.200 / 0\.200\s+\|", text)
    assert re.search(r"\| Ada-GVAE\s+\| mse\s+\| 0\.120 \(1\)\s+\| 0\.1\d\d \(1\)\s+\| 1 of 1; 2 of 2 ", text)
    assert re.search(r"\| Ada-GVAE DCI disentanglement, boxblur minus mse \| max during training \| 1\+1\s+\| \+0\.200", text)


def test_claims_with_eight_runs_per_arm_show_the_sign_and_compare_the_size_only_where_the_paper_measured_it():
    rows = []
    for seed in range(8):
        for condition, mig in (("boxblur", 0.10 + 0.01 * seed), ("mse", 0.01 * seed / 8)):
            rows.append({"method": "ada-gvae", "condition": condition, "seed": seed, "metric": "mig", "final": mig, "max": mig})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    found = {c.quantity: c for c in claims(BOXBLUR, frame, "standard")}
    assert set(found) == {"max during training", "final"}
    c = found["max during training"]
    assert (c.n, c.p_value, c.p_holm) == ("8+8", pytest.approx(1 / 12_870), pytest.approx(2 / 12_870))
    assert c.estimate.startswith("+0.131 [") and c.paper == "+0.365"  # medians 0.135 and 0.0044; paper 0.37 - 0.005
    assert c.verdict == "sign shown (p = 0.00016, n = 8+8); size below the paper's (+0.365)"
    # at 1/115 of the paper's budget, or against cells that pool another β, the size is not the paper's to compare
    assert claims(BOXBLUR, frame, "quick")[0].verdict == "sign shown (p = 0.00016, n = 8+8); size not compared (quick tier)"
    assert claims(BOXBLUR_LOW_BETA, frame, "standard")[0].verdict == "sign shown (p = 0.00016, n = 8+8); size not compared (the paper's cells pool both β)"


def test_each_kind_of_data_alone_shows_a_pooled_sign_that_one_kind_carries_and_the_other_reverses():
    """Pooled, box blur beats MSE 8 to 0 on public runs and loses 0 to 3 on secret variants: the pooled claim holds
    (p well under 0.05) while the secret runs alone point the other way, which only the split shows."""
    rows = []
    for seed in range(8):
        rows += [{"method": "ada-gvae", "condition": "boxblur", "seed": seed, "metric": "mig", "max": 0.5 + 0.01 * seed, "data": "public"},
                 {"method": "ada-gvae", "condition": "mse", "seed": seed, "metric": "mig", "max": 0.1 + 0.01 * seed, "data": "public"}]
    for seed in range(8, 11):
        rows += [{"method": "ada-gvae", "condition": "boxblur", "seed": seed, "metric": "mig", "max": 0.2, "data": "secret"},
                 {"method": "ada-gvae", "condition": "mse", "seed": seed, "metric": "mig", "max": 0.3 + 0.01 * seed, "data": "secret"}]
    frame = pd.DataFrame(rows, columns=COLUMNS).assign(final=lambda f: f["max"])
    assert claims(BOXBLUR, frame, "quick")[0].p_value < 0.01
    split = [[c.strip() for c in line.strip("|").split("|")] for line in by_data(BOXBLUR, frame, "quick").splitlines()[2:]]
    by_kind = {(row[0], row[2]): row for row in split}
    assert by_kind["public", "max during training"][3] == "8+8" and by_kind["public", "max during training"][4].startswith("+0.400 [")
    assert by_kind["public", "max during training"][5] == statistics.format_p(1 / 12_870)
    assert by_kind["secret", "max during training"][3] == "3+3" and by_kind["secret", "max during training"][4].startswith("-0.190 [")
    assert by_kind["secret", "max during training"][5] == "1"  # every MSE run above every box-blur run: no evidence for the sign
    assert by_data(BOXBLUR, frame[frame["data"] == "public"], "quick") is None  # one kind: nothing was pooled


def test_the_paper_averaging_grid_shows_the_fixed_one_beside_it_on_the_seeds_both_have(tmp_path):
    """Paper averaging has seeds 0-1, fixed has 0-2: the beside table compares seeds 0-1 only, each averaging's own
    median [IQR] (n), so a seed one averaging lacks does not tilt the comparison."""
    results = tmp_path / "results"
    for average, seeds, mig in (("paper", (0, 1), 0.10), ("fixed", (0, 1, 2), 0.30)):
        for arm in BOXBLUR_LOW_BETA.arms(("ada-gvae",), average):
            for seed in seeds:
                fabricate(results, arm, "quick", seed, mig + 0.1 * seed, 0.5, informativeness=0.9)
    section = Section("boxblur-b0.0001", "quick", "paper", ("ada-gvae",), beside="fixed")
    result = section_result(section, (results,))
    assert result.beside_headers[:3] == ["loss", "MIG, paper", "MIG, fixed"]
    assert result.beside_rows[0][:3] == ["mse", "0.150 [0.125, 0.175] (2)", "0.350 [0.325, 0.375] (2)"]  # fixed's seed 2 (0.5) left out
    assert [row[0] for row in result.beside_rows] == ["mse", "boxblur"]
    assert not section_result(Section("boxblur-b0.0001", "quick", "paper", ("ada-gvae",)), (results,)).beside_rows


def test_a_sign_shown_beside_an_interval_that_includes_0_leaves_the_size_unresolved():
    """The rank test orders the runs, the interval is of medians: three of five box-blur runs tie the MSE runs' best, so
    every box-blur run ranks at or above every MSE run (one-sided p = 4/126 with the ties) while resampled medians can meet."""
    high, low = [0.30, 0.30, 0.30, 0.31, 0.90], [0.10, 0.20, 0.25, 0.30]
    e = statistics.effect(high, low)
    assert e.p_value == pytest.approx(4 / 126) and e.difference == pytest.approx(0.075) and e.ci_low == 0.0
    assert statistics.size_against(e, 0.2) == statistics.size_against(e, 0.2, "quick tier") == "size unresolved (interval includes 0)"


def test_boxblur_pools_both_betas_and_reports_missing_runs(tmp_path, capsys):
    results = tmp_path / "results"
    for arm in BOXBLUR.arms(("ada-gvae",)):
        beta_small = "b0.0001" in arm.submission.name
        fabricate(results, arm, "smoke", 0, (0.5 if beta_small else 0.3) if arm.condition == "boxblur" else 0.0, 0.0)
        if beta_small and arm.condition == "mse":  # one seed-1 record: the other rows show "–" for seed 1
            fabricate(results, arm, "smoke", 1, 0.02, 0.1, peak=0.03)
    out = tmp_path / "out"
    assert cli(["reproduce", "boxblur", "--tier", "smoke", "--seeds", "0", "1", "--report-only", "--results-dir", str(results), "--reuse", "--runs-dir", str(tmp_path / "runs"), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "16 runs, 5 with a record" in text and "Missing: 11 runs" in text
    # box blur: 0.5 and 0.3, median 0.4; MSE: 0, 0 and 0.02, median 0
    assert re.search(r"\| Ada-GVAE MIG, boxblur minus mse\s+\| final\s+\| 2\+3\s+\| \+0\.400 \[", text)
    assert re.search(r"\| ada-gvae-z25-b0\.0001 \| mse\s+\| 0\.000 / 0\.000 \| 0\.050 / 0\.020 \|", text)
    assert re.search(r"\| ada-gvae-z25-b0\.0316 \| boxblur\s+\| 0\.300 / 0\.300 \| –\s+\|", text)
    # before pooling, each beta's own row: MIG max, MIG final, DCI max, DCI final
    assert re.search(r"\| ada-gvae-z25-b0\.0001 \| boxblur\s+\| 0\.500 \(1\)\s+\| 0\.500 \(1\)\s+\| 0\.000 \(1\)", text)
    assert re.search(r"\| ada-gvae-z25-b0\.0316 \| boxblur\s+\| 0\.300 \(1\)", text)
    assert (out / "boxblur-smoke.png").stat().st_size > 10_000


def test_the_generated_part_of_docs_reproduction_is_what_the_committed_records_give():
    """docs/reproduction.md's numbers and verdicts are regenerated from the committed records; when a record lands
    or a submission changes, run `disbench reproduce summary --write docs/reproduction.md`."""
    page = ROOT / "docs" / "reproduction.md"
    assert generated_part(page) == summary_text(), "docs/reproduction.md is stale: run disbench reproduce summary --write docs/reproduction.md"


def test_the_hand_written_reading_quotes_only_estimates_and_p_values_the_generated_part_gives():
    """"Reading the results" is written by hand; every interval estimate ("+0.060 [+0.021, +0.090]") it quotes must be in the
    generated claims' estimate column and every "Holm p" in their Holm column, so a record that moves them makes the text fail
    here. It checks these two patterns only: the reading's other numbers (ranges, rho, informativeness) are checked by review."""
    page = (ROOT / "docs" / "reproduction.md").read_text(encoding="utf-8")
    reading = " ".join(page.split("## Reading the results", 1)[1].split("\n## ", 1)[0].split())  # the text wraps inside an estimate
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in generated_part(ROOT / "docs" / "reproduction.md").splitlines()]
    header = ["claim", "quantity", "n", "median difference [95 % CI] or trend", "one-sided p", "Holm p", "paper", "verdict"]
    assert header in rows, "the generated claims tables changed their columns: update this test"
    claims = [row for row in rows if len(row) == len(header) and row != header and not set(row[0]) <= {"-"}]
    estimates_given, holm_given = {row[3] for row in claims}, {row[5] for row in claims}
    estimates = re.findall(r"[+-]\d\.\d{3} \[[+-]\d\.\d{3}, [+-]\d\.\d{3}\]", reading)
    holm = [p for group in re.findall(r"Holm p ((?:[\d.e-]+(?:,| and| each)? ?)+)", reading) for p in re.findall(r"\d[\d.e-]*\d", group)]
    assert claims and estimates and holm, "no claims table, or the reading quotes no estimate: drop or rewrite this test"
    for estimate in estimates:
        assert estimate in estimates_given, f"docs/reproduction.md's reading quotes {estimate}, which no generated claim gives"
    for p in holm:
        assert p in holm_given, f"docs/reproduction.md's reading quotes Holm p {p}, which no generated claim's Holm p is"


def test_the_full_reports_in_docs_reproduction_are_what_the_committed_records_give(tmp_path, monkeypatch, capsys):
    """docs/reproduction/'s reports (each run, each seed, every claim) are `reproduce ARGS --report-only` on the committed
    records, for each ARGS of FULL_REPORTS (a grid without records writes none); when a record lands, write them again."""
    monkeypatch.setattr("disbench.reproduction.figures.figure", lambda *args, **kwargs: None)  # the picture is not compared
    for args in FULL_REPORTS:
        cli(["reproduce", *args, "--report-only", "--out", str(tmp_path)])
    capsys.readouterr()
    folder = ROOT / "docs" / "reproduction"
    written, committed = sorted(p.name for p in tmp_path.glob("*.md")), sorted(p.name for p in folder.glob("*.md"))
    assert written == committed and len(written) >= 3, "run each of disbench.reproduction.summary.FULL_REPORTS with --report-only --out docs/reproduction"
    for name in written:
        assert (tmp_path / name).read_text() == (folder / name).read_text(), \
            f"docs/reproduction/{name} is stale: run its `disbench reproduce ... --report-only --out docs/reproduction` again"


def test_summary_write_replaces_only_the_generated_part(tmp_path, monkeypatch, capsys):
    page = tmp_path / "page.md"
    page.write_text(f"# Title\n\nbefore\n\n{BEGIN}\nold numbers\n{END}\n\nafter\n")
    monkeypatch.setattr("disbench.reproduction.summary.summary_text", lambda: f"{BEGIN}\nnew numbers\n{END}")
    assert cli(["reproduce", "summary", "--write", str(page)]) == 0
    assert page.read_text() == f"# Title\n\nbefore\n\n{BEGIN}\nnew numbers\n{END}\n\nafter\n"
    page.write_text("no markers\n")
    assert cli(["reproduce", "summary", "--write", str(page)]) == 2
    assert "needs exactly one pair of the markers" in capsys.readouterr().err and page.read_text() == "no markers\n"
    page.write_bytes(b"\x00\xff binary")
    assert cli(["reproduce", "summary", "--write", str(page)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {page} is not UTF-8 text (byte 1: invalid start byte)")
    for missing in (tmp_path / "missing.md", tmp_path):  # a page that is not there, a folder
        assert cli(["reproduce", "summary", "--write", str(missing)]) == 2
        assert capsys.readouterr().err == (f"error: {missing} is not a page: --write replaces the generated part of an existing Markdown page "
                                           "(docs/reproduction.md); to see the summary alone, leave --write out.\n")
    assert not (tmp_path / "missing.md").exists()


def test_wrong_inputs_get_one_line_errors(tmp_path, capsys):
    with pytest.raises(SystemExit):  # a usage error, as for run and sweep
        cli(["reproduce", "overlap", "--seeds", "3-1", "--report-only", "--reuse", "--results-dir", str(tmp_path), "--runs-dir", str(tmp_path / "runs")])
    assert "runs backwards" in capsys.readouterr().err
    assert cli(["reproduce", "overlap", "--reuse", str(tmp_path / "typo"), "--dry-run"]) == 2
    assert f"--reuse folder {tmp_path / 'typo'} does not exist" in capsys.readouterr().err
    assert cli(["reproduce", "boxblur", "--methods", "beta-vae", "--average", "paper", "--dry-run"]) == 2
    assert "add it (--methods ... ada-gvae) or drop --average paper" in capsys.readouterr().err
    assert cli(["reproduce", "boxblur", "--methods", "beta-vae", "--dry-run", "--results-dir", str(tmp_path), "--runs-dir", str(tmp_path / "runs"), "--reuse"]) == 0
    assert capsys.readouterr().out.startswith("boxblur (Fig. 11), quick tier: 8 runs, 0 with a record\n")  # no averaging: no Ada-GVAE
    with pytest.raises(SystemExit):
        cli(["reproduce", "overlap", "--methods", "vae"])
    assert "invalid choice: 'vae'" in capsys.readouterr().err
    assert cli(["reproduce", "overlap", "--report-only", "--reuse", "--results-dir", str(tmp_path), "--runs-dir", str(tmp_path / "runs")]) == 1
    assert "no records yet" in capsys.readouterr().out
    assert cli(["reproduce", "overlap", "--conditions", "0", "--dry-run"]) == 2
    assert "overlap has no grid spacing '0'; its grid spacings are 1, 2, 3, 4, 5, 6, 7, 8." in capsys.readouterr().err
    assert cli(["reproduce", "boxblur-b0.0001", "--conditions", "blur", "--dry-run"]) == 2
    assert "boxblur-b0.0001 has no loss 'blur'; its losses are mse, boxblur." in capsys.readouterr().err  # not "losss"
    with pytest.raises(SystemExit):
        cli(["reproduce", "boxblur-b0.0001", "--help"])
    assert "only these losses of the grid (mse, boxblur; default: all)" in " ".join(capsys.readouterr().out.split())
    assert not json.dumps([str(p) for p in tmp_path.iterdir()]).count("overlap")  # nothing half-written


def test_a_local_run_of_a_slot_changes_no_report_of_the_committed_records(tmp_path, monkeypatch, capsys):
    """Issue 21: ``disbench run`` writes to runs/results; --report-only reports the committed records
    (here: the --reuse folder) unless a --results-dir is named, so the local record changes nothing."""
    arms = [a for a in BOXBLUR.arms(("beta-vae",)) if "b0.0316" in a.submission.name]
    for arm in arms:
        fabricate(tmp_path / "committed", arm, "smoke", 0, 0.25, 0.5)
    fabricate(tmp_path / "runs" / "results", arms[0], "smoke", 0, 0.75, 0.5)  # a local run of the first slot
    monkeypatch.chdir(tmp_path)
    args = ["reproduce", "boxblur", "--methods", "beta-vae", "--tier", "smoke", "--seeds", "0", "--reuse", str(tmp_path / "committed")]

    def mig_cells(out: str) -> set[str]:
        return set(re.findall(r"\| (0\.\d+) / 0\.\d+ \|", out.split("## Each seed")[1].split("###")[1]))

    assert cli([*args, "--report-only", "--out", "committed-only"]) == 0
    out = capsys.readouterr().out
    assert "2 with a record\n" in out and f"2 from {tmp_path / 'committed'}" in out and mig_cells(out) == {"0.250"}
    assert cli([*args, "--dry-run"]) == 0  # training would keep the committed record too: nothing of this slot to train
    assert "2 from " in capsys.readouterr().out
    assert cli([*args, "--report-only", "--results-dir", "runs/results", "--out", "with-local"]) == 0  # the opt-in
    out = capsys.readouterr().out
    assert "1 from runs/results" in out and mig_cells(out) == {"0.250", "0.750"}


def test_report_only_into_a_file_refuses_before_printing_the_report(tmp_path, monkeypatch, capsys):
    """An --out that is a file is refused with exit 2 and one line, before the report is printed, and nothing is written."""
    arm = next(a for a in BOXBLUR.arms(("beta-vae",)) if "b0.0316" in a.submission.name)
    fabricate(tmp_path / "committed", arm, "smoke", 0, 0.25, 0.5)
    (tmp_path / "taken").write_text("mine\n")
    monkeypatch.chdir(tmp_path)
    args = ["reproduce", "boxblur", "--methods", "beta-vae", "--tier", "smoke", "--seeds", "0", "--reuse", str(tmp_path / "committed")]
    assert cli([*args, "--report-only", "--out", "taken"]) == 2
    out, err = capsys.readouterr()
    assert "## Each seed" not in out and "1 with a record" in out
    assert "The --out folder taken is a file, not a folder" in err and (tmp_path / "taken").read_text() == "mine\n"
    assert cli([*args, "--report-only", "--out", "folder"]) == 0 and "## Each seed" in capsys.readouterr().out  # the same, into a folder


def test_report_only_with_a_results_dir_that_is_not_there_is_refused(tmp_path, monkeypatch, capsys):
    """It used to report the committed records alone, exit 0, as if the named folder had been read."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("")
    for folder, what in (("nope", "does not exist"), ("a-file", "is a file, not a folder")):
        assert cli(["reproduce", "overlap", "--report-only", "--results-dir", folder, "--out", "report"]) == 2
        assert capsys.readouterr().err.startswith(f"error: --results-dir {folder} {what}; --report-only reads the records in it")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_a_device_this_machine_lacks_is_refused_before_planning(capsys):
    assert cli(["reproduce", "overlap", "--dry-run", "--device", "cuda:99"]) == 2  # used to say "would train 32 runs"
    out, err = capsys.readouterr()
    assert err.startswith("error: --device cuda:99: this machine has") and out == ""


def test_runs_from_another_device_are_named_and_one_device_says_nothing():
    """Three runs on a CPU (its record's device string, as the harness writes it) and one on a GPU: the report names the
    GPU run; the same runs all on the CPU need no sentence. The metric rows of one run count once."""
    from disbench.harness.record.environment import device_kind, device_name

    cpu = device_kind(device_name(torch.device("cpu")))
    assert cpu == "CPU" and device_kind("NVIDIA H200") == "NVIDIA H200"
    rows = [{"submission": "ada-gvae", "condition": c, "seed": s, "metric": m, "device": cpu}
            for c, s in ((1, 1), (8, 0), (8, 1)) for m in ("mig", "dci")]
    rows += [{"submission": "ada-gvae", "condition": 1, "seed": 0, "metric": m, "device": "NVIDIA H200"} for m in ("mig", "dci")]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    assert device_line(OVERLAP, frame) == [
        "Devices: of 4 runs, 3 trained on a CPU and 1 elsewhere (ada-gvae at grid spacing 1 seed 0 on NVIDIA H200): "
        "the same protocol and budget, a different device's arithmetic."]
    assert device_line(OVERLAP, frame.assign(device=cpu)) == []


def test_gpu_runs_script_trains_runs_side_by_side_and_packs_their_records(tmp_path):
    """reproduction/gpu_runs.sh as a GPU session runs it, here on the CPU at the smoke tier with one run: the record
    comes back inside records.tar.gz (the only files a device session returns), and a call without runs names what to give."""
    env = {**os.environ, "OUT": str(tmp_path / "out"), "WORK": str(tmp_path / "work"), "DEVICE": "cpu", "TIER": "smoke",
           "SMOKE": "0", "RUNS": "8:0", "BUDGET_S": "400", "BENCH_S": "-1000"}
    (tmp_path / "out").mkdir()
    done = subprocess.run(["bash", "reproduction/gpu_runs.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    log = (tmp_path / "out" / "runs.log").read_text()
    assert "started 1 runs (smoke tier): 8:0" in log and "1 of 1 records written" in log and "no time left for bench_train.py" in log
    with tarfile.open(tmp_path / "out" / "records.tar.gz") as packed:
        names = packed.getnames()
        record = json.load(packed.extractfile("results/xysquares-mse-v0/ada-gvae/smoke/seed-0.json"))
    assert record["status"] == "completed" and record["seed"] == 0 and not any(name.endswith(".pt") for name in names)
    missing = subprocess.run(["bash", "reproduction/gpu_runs.sh"], cwd=ROOT, env={k: v for k, v in env.items() if k != "RUNS"},
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0 and "give condition:seed pairs" in missing.stderr
