"""``disbench reproduce overlap | boxblur``: the grids, record reuse, and the report's numbers.

Records are fabricated with known scores (through the real ``build_record``, with the current
protocol and submission hashes), so the tables and effect sizes have known answers; training
itself is covered by the harness and sweep tests.
"""

from __future__ import annotations

import json
import re

import pytest
import torch

import disbench
from disbench.cli import main as cli
from disbench.harness.record import build_record, record_path, write_record
from disbench.harness.run import submission_record
from disbench.harness.submission import Submission
from disbench.reproduction.experiments import BOXBLUR, OVERLAP, ReproductionError
from disbench.reproduction.runner import plan


def fabricate(results, arm, tier: str, seed: int, mig: float, dci: float, peak: float = 0.0) -> None:
    """A completed record for ``arm`` whose final MIG/DCI are given and whose curve peaks ``peak`` above them."""
    task = disbench.make(arm.task)
    protocol = task.get_protocol(tier)
    submission = Submission(arm.submission)
    curve = [{"step": protocol.steps // 2, "mig": mig + peak, "dci.disentanglement": 0.0}, {"step": protocol.steps, "mig": mig, "dci.disentanglement": dci + peak}]
    record = build_record(task, protocol, seed, submission_record(submission, task.id), {"mig": mig, "dci.disentanglement": dci},
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
    assert OVERLAP.arms(("beta-vae", "beta-vae")) == OVERLAP.arms(("beta-vae",))  # a method named twice counts once
    with pytest.raises(ReproductionError, match="Unknown method 'vae'"):
        OVERLAP.arms(("vae",))
    with pytest.raises(ReproductionError, match="Ada-GVAE's alone.*drop --average paper"):
        BOXBLUR.arms(("beta-vae",), "paper")


def test_records_are_reused_from_any_folder_and_only_the_rest_would_train(tmp_path):
    arms = [a for a in OVERLAP.arms(("ada-gvae",)) if a.condition in (1, 8)]
    fabricate(tmp_path / "committed", arms[0], "quick", 0, 0.9, 0.95)
    planned = plan(arms, "quick", (0, 1), tmp_path / "new", tmp_path / "runs", reuse=[tmp_path / "committed"])
    found = {(p.arm.condition, p.run.seed): p.found_in for p in planned}
    assert found == {(1, 0): tmp_path / "committed", (1, 1): None, (8, 0): None, (8, 1): None}


def test_overlap_report_has_final_max_and_paper_values_with_known_effects(tmp_path, capsys):
    results = tmp_path / "results"
    for arm in OVERLAP.arms():
        strong = arm.method == "ada-gvae"
        for seed in (0, 1):
            mig = (0.9 if strong else 0.2) * (8 - arm.condition) / 7 + 0.01 * seed
            fabricate(results, arm, "quick", seed, mig, mig, peak=0.05)
    out = tmp_path / "out"
    assert cli(["reproduce", "overlap", "--report-only", "--results-dir", str(results), "--reuse", "--runs-dir", str(tmp_path / "runs"), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "32 runs, 32 with a record" in text and "before pooling" not in text  # one submission per method: nothing pooled
    # spacing 1: mean of 0.90 and 0.91, std 0.007; max during training 0.05 higher; the paper's cell beside them
    assert re.search(r"\|\s+1 \| 0\.905 ± 0\.007 \(2\)\s+\| 0\.955 ± 0\.007 \(2\)\s+\| 0\.72–0\.91 \(fit ≈0\.87\)", text)
    assert "Ada-GVAE MIG, 1 minus 8: ours final +0.900, max during training +0.900; paper +0.855 (centres 0.87 and 0.015)" in text
    # each record's own pair, final / max, one column per seed
    assert re.search(r"\| ada-gvae\s+\|\s+1 \| 0\.900 / 0\.950 \| 0\.910 / 0\.960 \|", text)
    assert re.search(r"\| beta-vae\s+\|\s+8 \| 0\.000 / 0\.050 \| 0\.010 / 0\.060 \|", text)
    report = (out / "overlap-quick.md").read_text()
    # with every run recorded, --dry-run says so and writes nothing
    dry = tmp_path / "dry"
    assert cli(["reproduce", "overlap", "--dry-run", "--results-dir", str(results), "--reuse", "--runs-dir", str(tmp_path / "runs"), "--out", str(dry)]) == 0
    assert "would train 0 runs into " in capsys.readouterr().out and not dry.exists()
    assert report.strip() in text
    assert (out / "overlap-quick.png").stat().st_size > 10_000
    rows = (out / "overlap-quick.csv").read_text().splitlines()
    assert len(rows) == 1 + 32 * 2 and rows[0].startswith("method,submission,average,condition")


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
    assert "Ada-GVAE MIG, boxblur minus mse: ours final +0.393" in text  # (0.5 + 0.3) / 2 - (0 + 0 + 0.02) / 3
    assert re.search(r"\| ada-gvae-z25-b0\.0001 \| mse\s+\| 0\.000 / 0\.000 \| 0\.020 / 0\.050 \|", text)
    assert re.search(r"\| ada-gvae-z25-b0\.0316 \| boxblur\s+\| 0\.300 / 0\.300 \| –\s+\|", text)
    # before pooling, each beta's own row: MIG final, MIG max, DCI final, DCI max
    assert re.search(r"\| ada-gvae-z25-b0\.0001 \| boxblur\s+\| 0\.500 \(1\)\s+\| 0\.500 \(1\)\s+\| 0\.000 \(1\)", text)
    assert re.search(r"\| ada-gvae-z25-b0\.0316 \| boxblur\s+\| 0\.300 \(1\)", text)
    assert (out / "boxblur-smoke.png").stat().st_size > 10_000


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
