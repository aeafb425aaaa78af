"""The leaderboard subcommands through ``disbench.cli.main``, as a user runs them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from disbench.cli import main
from tests.leaderboard.conftest import REPO, make_submission, record_dict, write_record


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


def header_of(out: str, title: str) -> list[str]:
    """The column names of the table titled ``title`` in ``leaderboard show``'s output."""
    lines = out.splitlines()
    return re.split(r"\s{2,}", lines[lines.index(title) + 1].strip())


def rows_of(out: str, title: str) -> list[list[str]]:
    """The cells of each row of the table titled ``title`` (tabulate's columns are 2 or more spaces apart)."""
    lines = out.splitlines()
    body = lines[lines.index(title) + 3:]
    return [re.split(r"\s{2,}", line.strip()) for line in body[: next(i for i, line in enumerate(body + [""]) if not line.strip() or line.startswith("("))]]


def test_show_wide_gives_every_metric_its_column_and_the_default_fits_100_columns(workspace, capsys):
    """Issue 20: a small board whose default view fits 100 columns (the ladder split in two) and whose wide view
    shows each metric the records score, named in full, and the whole ladder in one table."""
    from disbench.harness.submission import Submission

    results, subs = workspace["results"], workspace["submissions"]
    hashes = {**workspace["hashes"], **{name: Submission(make_submission(subs, name)).content_hash() for name in ("gamma", "delta")}}
    extra = {"sap": (0.1, 0.3), "modularity": (0.5, 0.5), "beta_vae.eval_accuracy": (0.6, 0.8), "factor_vae.eval_accuracy": (0.7, 0.9)}
    for i, name in enumerate(hashes):
        for task in ("xysquares-s1-mse-v0", "xysquares-mse-v0"):
            for seed in (0, 1):
                metrics = {"mig": 0.1 * i + 0.01 * seed, "dci.disentanglement": 0.2, **{m: v[seed] for m, v in extra.items()}}
                sup = "weak-pairs" if name == "beta" else "unsupervised"
                write_record(results, record_dict(task, name, seed, metrics, hashes[name], supervision=sup))
    board = ["leaderboard", "show", "--official", str(results), "--submissions", str(subs)]

    assert main(board) == 0
    out = capsys.readouterr().out
    assert max(map(len, out.splitlines())) <= 100
    assert header_of(out, "xysquares-mse-v0 (quick), unsupervised track") == ["rank", "submission", "mig *", "dci.disentanglement", "n"]
    assert "Overlap ladder (quick): mig by grid spacing (1 of 2)" in out  # four columns of 22 do not fit 80

    assert main([*board, "--wide"]) == 0
    out = capsys.readouterr().out
    assert header_of(out, "xysquares-mse-v0 (quick), unsupervised track") == [
        "rank", "submission", "mig *", "dci.disentanglement", "sap", "factor_vae.eval_accuracy", "modularity", "beta_vae.eval_accuracy", "n"]
    assert rows_of(out, "xysquares-mse-v0 (quick), unsupervised track")[0] == [
        "1", "delta [unverified]", "0.305 ± 0.007", "0.200 ± 0.000", "0.200 ± 0.141", "0.800 ± 0.141", "0.500 ± 0.000", "0.700 ± 0.141", "2/2"]
    assert header_of(out, "Overlap ladder (quick): mig by grid spacing") == [
        "spacing", "alpha [unverified]", "delta [unverified]", "gamma [unverified]", "beta [unverified]"]
    assert "(1 of 2)" not in out and max(map(len, out.splitlines())) > 100


def test_show_wide_on_the_committed_board_names_every_metric_of_a_record(baselines, capsys):
    import json

    record = json.loads((REPO / "leaderboards" / "results" / "xysquares-mse-v0" / "beta-vae" / "quick" / "seed-0.json").read_text())
    assert main(["leaderboard", "show", "--official", baselines, "--task", "xysquares-mse", "--tier", "quick", "--wide"]) == 0
    header = header_of(capsys.readouterr().out, "xysquares-mse-v0 (quick), unsupervised track")
    assert header[:4] == ["rank", "submission", "mig *", "dci.disentanglement"] and header[-1] == "n"
    assert sorted(header[4:-1]) == sorted(set(record["metrics"]) - {"mig", "dci.disentanglement"})
    with pytest.raises(SystemExit):  # one or the other
        main(["leaderboard", "show", "--official", baselines, "--wide", "--metric", "sap"])
    assert "argument --metric: not allowed with argument --wide" in capsys.readouterr().err


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


def test_show_of_a_tier_with_only_refused_records_says_why_they_were_refused(baselines, capsys):
    """The error used to stop at 'No accepted records of tier': the user could not see that theirs were refused, nor why."""
    standard = Path(baselines) / "xysquares-mse-v0" / "beta-vae" / "standard"
    standard.mkdir(parents=True)
    record = json.loads(next((Path(baselines) / "xysquares-mse-v0" / "beta-vae" / "quick").glob("seed-*.json")).read_text())
    record["protocol"]["name"] = "standard"  # a quick run filed as standard: its protocol hash no longer matches
    (standard / "seed-0.json").write_text(json.dumps(record))
    assert main(["leaderboard", "show", "--official", baselines, "--tier", "standard"]) == 2
    out, err = capsys.readouterr()
    assert err == "error: No accepted records of tier 'standard' (1 refused, listed above); tiers with records: quick.\n"
    assert out.startswith("Refused records (1)\n  xysquares-mse-v0/beta-vae/standard/seed-0.json (official)\n") and "protocol hash" in out


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


def test_build_from_an_empty_or_wrong_folder_leaves_the_board_as_it_was(tmp_path, capsys):
    """`leaderboard build --official EMPTY` used to replace leaderboards/README.md and summary.* with an empty board, exit 0."""
    board = tmp_path / "board"
    board.mkdir()
    (board / "README.md").write_text("the committed board\n")
    (tmp_path / "empty").mkdir()
    (tmp_path / "a-file").write_text("")
    for official, message in ((tmp_path / "empty", "it holds no records"),
                              (REPO / "submissions", "it holds no records"),  # an easy mix-up: submissions, not records
                              (tmp_path / "a-file", f"Results folder {tmp_path / 'a-file'} is a file, not a folder")):
        assert main(["leaderboard", "build", "--official", str(official), "--out", str(board)]) == 2, official
        assert message in capsys.readouterr().err, official
    assert [p.name for p in board.iterdir()] == ["README.md"] and (board / "README.md").read_text() == "the committed board\n"


def test_site_serve_refuses_a_folder_that_is_not_a_site(tmp_path, capsys):
    assert main(["site", "serve", "--dir", str(tmp_path)]) == 2
    assert "run `disbench site build --out" in capsys.readouterr().err


def test_site_build_refuses_a_hub_dataset_that_is_not_a_repo_id(tmp_path, capsys):
    assert main(["site", "build", "--out", str(tmp_path / "site"), "--hub-dataset", "not a repo"]) == 2
    assert "'not a repo' is not a Hub repo id; use ORG/NAME" in capsys.readouterr().err
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize("argv", [["leaderboard", "show"], ["site", "build", "--out"], ["leaderboard", "build", "--out"]])
def test_a_public_key_the_user_names_must_exist_and_parse(workspace, tmp_path, capsys, argv):
    """A mistyped --public-key used to exit 0 with every signed record marked [unverified] under a legend saying 'not signed'."""
    garbage = tmp_path / "garbage.pub"
    garbage.write_text("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n")
    out = [str(tmp_path / "out")] if argv[-1] == "--out" else []
    for key, problem in ((tmp_path / "nonexist.pub", "does not exist"), (garbage, "is not a PEM public key")):
        assert main([*argv, *out, "--official", str(workspace["results"]), "--public-key", str(key)]) == 2
        std = capsys.readouterr()
        assert std.out == "" and len(std.err.splitlines()) == 1
        assert std.err.startswith(f"error: The public key file {key} {problem}") and "leave --public-key out to use that file" in std.err
    assert not (tmp_path / "out").exists()


def test_signed_records_without_the_default_key_are_shown_unverified_with_a_warning(workspace, runner_key, capsys, monkeypatch):
    """No key was named and none is at leaderboards/runner-key.pub (a pip install reading a pulled snapshot): the board is still
    shown, a warning says the signatures could not be checked and how to check them, and the legend does not call them unsigned."""
    from disbench.harness.record import signing
    from tests.leaderboard.conftest import signed

    monkeypatch.chdir(workspace["root"])
    monkeypatch.setattr(signing, "_REPO_ROOT", workspace["root"])
    for seed in (0, 1):
        write_record(workspace["results"], signed(record_dict("xysquares-mse-v0", "alpha", seed, {"mig": 0.1}, workspace["hashes"]["alpha"]),
                                                  runner_key[0]))
    assert main(["leaderboard", "show", "--official", str(workspace["results"]), "--submissions", str(workspace["submissions"])]) == 0
    std = capsys.readouterr()
    assert "alpha [unverified]" in std.out and "not signed" not in std.out
    assert "[unverified] no signature of the official runner checked here (unsigned, or no runner public key to check it)" in " ".join(std.out.split())
    assert std.err.startswith("warning: 2 signed records are shown as [unverified]: the signatures cannot be checked here, no usable runner "
                              f"public key (No runner public key at {workspace['root'] / 'leaderboards' / 'runner-key.pub'}")
    assert std.err.rstrip().endswith("pass --public-key with the runner's public key to check them") and len(std.err.splitlines()) == 1
    assert main(["leaderboard", "show", "--official", str(workspace["results"]), "--public-key", str(runner_key[1])]) == 0
    std = capsys.readouterr()
    assert "alpha [unverified]" not in std.out and "alpha " in std.out and std.err == ""


@pytest.mark.parametrize("option, problem", [("--runs", "The --runs folder {path} does not exist; give the folder `disbench run --runs-dir` wrote"),
                                             ("--cache", "The --cache folder {path} is a file, not a folder")])
def test_site_build_refuses_a_runs_or_cache_folder_it_cannot_use(tmp_path, capsys, option, problem):
    """A mistyped --runs used to build the site silently without the local runs; a --cache that is a file failed after analysing,
    with 'Not a directory' and no option named."""
    path = tmp_path / ("no-such-runs" if option == "--runs" else "cache.txt")
    if option == "--cache":
        path.write_text("")
    assert main(["site", "build", "--out", str(tmp_path / "site"), "--no-reproduction", option, str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: " + problem.format(path=path)) and len(err.splitlines()) == 1
    assert not (tmp_path / "site").exists()


def test_publish_refuses_a_runs_folder_it_cannot_use(tmp_path, capsys, baselines):
    """A mistyped --runs used to plan the dataset without its checkpoints, silently (exit 0)."""
    (tmp_path / "a-file").write_text("")
    for runs, what in (("nope", "does not exist"), (str(tmp_path / "a-file"), "is a file, not a folder")):
        argv = ["publish", "--repo", "org/board", "--dry-run", "--official", baselines, "--runs", runs]
        assert main(argv) == 2
        assert capsys.readouterr().err.startswith(f"error: The --runs folder {runs} {what}; give the folder `disbench run --runs-dir` wrote")


def test_site_build_analyse_takes_registered_task_ids_only(tmp_path, capsys):
    """An unknown --analyse task used to build a site that analysed nothing; a versionless id matched no task and was skipped."""
    from disbench.leaderboard.site import SiteOptions

    assert main(["site", "build", "--out", str(tmp_path / "site"), "--analyse", "xysquares-mse", "xysquares-mes"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --analyse xysquares-mes: No task named 'xysquares-mes'. Did you mean 'xysquares-mse'") and len(err.splitlines()) == 1
    assert not (tmp_path / "site").exists()
    assert SiteOptions(analyse=["xysquares-mse", "xysquares-s1-mse-v0", "xysquares-mse-v0"]).analyse == ("xysquares-mse-v0", "xysquares-s1-mse-v0")


def test_show_at_a_hub_snapshots_root_points_to_its_results_folder(workspace, capsys):
    """The snapshot's root used to give 'No accepted records' with every record refused as filed one folder too deep."""
    for seed in (0, 1):
        write_record(workspace["results"], record_dict("xysquares-mse-v0", "alpha", seed, {"mig": 0.1 * seed}, workspace["hashes"]["alpha"]))
    snapshot = workspace["root"] / "snapshot"
    assert main(["publish", "--repo", "org/board", "--dry-run", "--out", str(snapshot), "--official", str(workspace["results"])]) == 0
    capsys.readouterr()
    for option in ("--official", "--results"):
        assert main(["leaderboard", "show", option, str(snapshot), "--submissions", str(workspace["submissions"])]) == 2
        err = capsys.readouterr().err
        assert err == (f"error: Results folder {snapshot} has no records at <task>/<submission>/<tier>/seed-<n>.json, but {snapshot / 'results'} "
                       f"has 2 (a Hub snapshot keeps them in results/); did you mean {snapshot / 'results'}?\n")
    assert main(["leaderboard", "show", "--official", str(snapshot / "results"), "--submissions", str(workspace["submissions"])]) == 0
    assert "alpha [unverified]" in capsys.readouterr().out


def test_site_build_with_no_templates_makes_no_out_folder(tmp_path, capsys):
    assert main(["site", "build", "--templates", str(tmp_path / "nope"), "--out", str(tmp_path / "site"), "--no-reproduction"]) == 2
    assert f"No site templates in {tmp_path / 'nope'}/templates" in capsys.readouterr().err
    assert not (tmp_path / "site").exists()  # it used to be made before the templates were looked for
