"""The leaderboard subcommands through ``disbench.cli.main``, as a user runs them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from disbench.cli import main
from tests.leaderboard.conftest import REPO, record_dict, write_record


def test_show_prints_the_committed_baselines(baselines, capsys):
    assert main(["leaderboard", "show", "--official", baselines, "--submissions", str(REPO / "submissions")]) == 0
    out = capsys.readouterr().out
    for text in ("Overall, unsupervised track (quick)", "xysquares-s1-mse-v0 (quick), weak-pairs track", "Adversarial gap (quick)",
                 "Overlap ladder (quick): mig by grid spacing"):
        assert text in out
    assert "ada-gvae [unverified]" in out and "beta-vae [unverified]" in out and "± " in out


def test_show_fits_80_columns_at_default_options(baselines, capsys):
    assert main(["leaderboard", "show", "--official", baselines, "--submissions", str(REPO / "submissions")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) > 50 and [line for line in lines if len(line) > 80] == []


def test_show_metric_names_its_column_in_full(baselines, capsys):
    assert main(["leaderboard", "show", "--official", baselines, "--task", "xysquares-mse", "--metric", "dci.disentanglement"]) == 0
    header = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("rank"))
    assert header.split() == ["rank", "submission", "mig", "*", "dci.disentanglement", "n"]


def test_show_task_lists_only_that_tasks_refused_records(baselines, capsys):
    for task in ("xysquares-mse-v0", "xysquares-s1-mse-v0"):
        (Path(baselines) / task / "beta-vae" / "quick" / "seed-9.json").write_text("{ truncated")
    assert main(["leaderboard", "show", "--official", baselines, "--task", "xysquares-mse"]) == 0
    out = capsys.readouterr().out
    assert "xysquares-mse-v0/beta-vae/quick/seed-9.json" in out and "xysquares-s1-mse-v0/" not in out
    assert "Refused records (1)" in out


def test_show_filters_and_marks_local_runs(workspace, baselines, capsys):
    write_record(workspace["results"], record_dict("xysquares-mse-v0", "alpha", 0, {"mig": 0.25, "sap": 0.1}, workspace["hashes"]["alpha"]))
    args = ["leaderboard", "show", "--official", baselines, "--results", str(workspace["results"]), "--submissions", str(workspace["submissions"]),
            "--task", "xysquares-mse", "--tier", "quick", "--metric", "sap"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "alpha [incomplete, local]" in out and "0.100" in out and "xysquares-boxblur-v0" not in out


def test_show_errors_name_the_fix(workspace, baselines, capsys):
    assert main(["leaderboard", "show", "--official", baselines, "--tier", "standard"]) == 2
    assert "No accepted records of tier 'standard'; tiers with records: quick" in capsys.readouterr().err
    assert main(["leaderboard", "show", "--official", str(workspace["root"] / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["leaderboard", "show", "--official", baselines, "--metric", "nope"]) == 2
    assert "No record has metric 'nope'" in capsys.readouterr().err


def test_build_writes_markdown_csv_and_parquet(tmp_path, baselines, capsys):
    assert main(["leaderboard", "build", "--official", baselines, "--submissions", str(REPO / "submissions"), "--out", str(tmp_path)]) == 0
    readme = (tmp_path / "README.md").read_text()
    assert readme.startswith("# disbench leaderboard") and "| rank" in readme
    frame = pd.read_parquet(tmp_path / "summary.parquet")
    assert {"xysquares-mse-v0", "xysquares-boxblur-v0", "xysquares-s1-mse-v0"} <= set(frame["task"])
    quick_mig = frame[(frame["metric"] == "mig") & (frame["tier"] == "quick") & frame["submission"].isin(["beta-vae", "ada-gvae"])]
    seeds_on_disk = {(cell.parts[-3], cell.parts[-2]): len(list(cell.glob("seed-*.json")))
                     for cell in (REPO / "leaderboards" / "results").glob("*/*/quick")}
    assert len(quick_mig) >= 6
    assert {(row.task, row.submission): row.n for row in quick_mig.itertuples()} == \
        {key: n for key, n in seeds_on_disk.items() if n and key[1] in ("beta-vae", "ada-gvae")}  # one score per committed seed
    assert len(pd.read_csv(tmp_path / "summary.csv")) == len(frame)
    committed = len(list((REPO / "leaderboards" / "results").rglob("seed-*.json")))
    assert f"{committed} records accepted, 0 refused" in capsys.readouterr().out


def test_site_serve_refuses_a_folder_that_is_not_a_site(tmp_path, capsys):
    assert main(["site", "serve", "--dir", str(tmp_path)]) == 2
    assert "run `disbench site build --out" in capsys.readouterr().err


def test_site_build_refuses_a_hub_dataset_that_is_not_a_repo_id(tmp_path, capsys):
    assert main(["site", "build", "--out", str(tmp_path / "site"), "--hub-dataset", "not a repo"]) == 2
    assert "'not a repo' is not a Hub repo id; use ORG/NAME" in capsys.readouterr().err
    assert not (tmp_path / "site").exists()
