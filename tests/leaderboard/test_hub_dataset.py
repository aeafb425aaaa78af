"""The published Hub dataset, offline: build the folder with ``disbench publish --out`` and load every
config with the ``datasets`` library and pandas from disk, with the network switched off."""

from __future__ import annotations

import json
import math
import socket

import pandas as pd
import pytest

from disbench.cli import main
from tests.leaderboard.conftest import record_dict, signed, throwaway_key, write_record

CONFIGS = ("scores", "records", "curves", "summary")


@pytest.fixture
def offline(monkeypatch):
    """No socket can connect and both Hugging Face libraries are told they are offline."""
    import datasets.config
    import huggingface_hub.constants

    def refuse(*args, **kwargs):
        raise AssertionError(f"the test tried to reach the network: {args[1:] or kwargs}")

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def folder(workspace, offline):
    """The dataset of a board with two submissions whose hyperparameters have different names, one signed
    record, one unsigned, and one whose signed score was edited afterwards (refused, never published)."""
    root, results, hashes = workspace["root"], workspace["results"], workspace["hashes"]
    private, public = throwaway_key(root)

    a0 = record_dict("xysquares-mse-v0", "alpha", 0, {"mig": 0.2, "sap": 0.5}, hashes["alpha"])
    a0["submission"]["hyperparameters"] = {"beta": 4.0}
    a0.update(curve={"mig": [[250, 0.1], [500, 0.3]]}, max_during_training={"mig": 0.3})
    write_record(results, signed(a0, private))
    a1 = record_dict("xysquares-mse-v0", "alpha", 1, {"mig": 0.4, "sap": 0.7}, hashes["alpha"])
    a1["submission"]["hyperparameters"] = {"beta": 4.0}
    write_record(results, a1)
    b0 = record_dict("xysquares-mse-v0", "beta", 0, {"mig": 0.6, "dci.disentanglement": 0.3}, hashes["beta"], supervision="weak-pairs")
    b0["submission"]["hyperparameters"] = {"tc_beta": 6.0, "alpha": 1.0}  # other names than alpha's: the old layout's "Couldn't cast"
    write_record(results, b0)
    forged = signed(record_dict("xysquares-boxblur-v0", "alpha", 0, {"mig": 0.1}, hashes["alpha"]), private)
    forged["metrics"]["mig"] = 0.99
    write_record(results, forged)

    out = root / "dataset"
    assert main(["publish", "--repo", "org/board", "--dry-run", "--out", str(out), "--official", str(results),
                 "--submissions", str(workspace["submissions"]), "--public-key", str(public)]) == 0
    return out


def load(folder, name, cache):
    import datasets

    return datasets.load_dataset(str(folder), name, split="train", cache_dir=str(cache)).to_pandas()


def test_every_config_loads_with_datasets_and_pandas(folder, tmp_path):
    frames = {name: load(folder, name, tmp_path / "cache") for name in CONFIGS}
    for name in CONFIGS:
        pd.testing.assert_frame_equal(frames[name], pd.read_parquet(folder / "data" / f"{name}.parquet"), check_dtype=False)
    assert {name: len(frame) for name, frame in frames.items()} == {"scores": 7, "records": 3, "curves": 2, "summary": 5}

    import datasets

    default = datasets.load_dataset(str(folder), split="train", cache_dir=str(tmp_path / "cache"))  # no name: the card's default
    assert default.num_rows == 7 and "metric" in default.column_names


def test_scores_are_one_row_per_record_and_metric_with_their_trust(folder, tmp_path):
    scores = load(folder, "scores", tmp_path).set_index(["record", "metric"])
    a0, a1, b0 = (f"xysquares-mse-v0/{s}/quick/seed-{n}" for s, n in (("alpha", 0), ("alpha", 1), ("beta", 0)))
    assert sorted(scores.index) == sorted([(a0, "mig"), (a0, "sap"), (a0, "mig@max"), (a1, "mig"), (a1, "sap"),
                                           (b0, "mig"), (b0, "dci.disentanglement")])  # not the forged record
    assert scores.loc[(a0, "mig"), "value"] == 0.2 and scores.loc[(a0, "mig@max"), "value"] == 0.3 and scores.loc[(b0, "mig"), "value"] == 0.6
    assert scores.loc[(a0, "mig"), "verified"] and not scores.loc[(a1, "mig"), "verified"] and not scores.loc[(b0, "mig"), "verified"]
    assert scores.loc[(a0, "mig"), "primary"] and not scores.loc[(a0, "sap"), "primary"]
    assert scores.loc[(b0, "mig"), "supervision"] == "weak-pairs" and scores.loc[(a1, "sap"), "seed"] == 1


def test_records_keep_each_hyperparameter_name_in_one_json_column(folder, tmp_path):
    records = load(folder, "records", tmp_path).set_index("record")
    assert json.loads(records.loc["xysquares-mse-v0/beta/quick/seed-0", "hyperparameters"]) == {"tc_beta": 6.0, "alpha": 1.0}
    assert json.loads(records.loc["xysquares-mse-v0/alpha/quick/seed-0", "hyperparameters"]) == {"beta": 4.0}
    assert records["signed"].tolist() == [True, False, False] and records["verified"].tolist() == [True, False, False]
    assert records.loc["xysquares-mse-v0/alpha/quick/seed-1", "path"] == "results/xysquares-mse-v0/alpha/quick/seed-1.json"
    assert (folder / records.loc["xysquares-mse-v0/alpha/quick/seed-1", "path"]).is_file()
    assert json.loads(records.iloc[0]["task_spec"])["id"] == "xysquares-mse-v0" and records["created"].dt.tz is not None


def test_curves_and_summary_hold_the_known_numbers(folder, tmp_path):
    curves = load(folder, "curves", tmp_path)
    assert curves[["record", "metric", "step", "value"]].values.tolist() == [
        ["xysquares-mse-v0/alpha/quick/seed-0", "mig", 250, 0.1], ["xysquares-mse-v0/alpha/quick/seed-0", "mig", 500, 0.3]]
    summary = load(folder, "summary", tmp_path).set_index(["submission", "metric"])
    mig = summary.loc[("alpha", "mig")]
    assert mig["mean"] == pytest.approx(0.3) and mig["std"] == pytest.approx(math.sqrt(0.02)) and mig["n"] == 2
    assert mig["unverified"]  # one of its two seeds is unsigned
    assert summary.loc[("beta", "mig"), "n"] == 1 and pd.isna(summary.loc[("beta", "mig"), "std"])  # one seed: no std
    assert summary.loc[("alpha", "mig"), ["seeds", "expected", "incomplete"]].tolist() == [2, 2, False]
    assert summary.loc[("beta", "mig"), ["seeds", "expected", "incomplete", "rank"]].tolist() == [1, 2, True, 1]
    assert set(summary["origin"]) == {"official"}


def test_the_summary_config_is_the_sites_summary_download(folder, workspace, tmp_path):
    """One table, one schema: the Hub's summary is the site's data/summary.parquet (and leaderboard build's), official rows only.
    It used to lack origin, unverified, incomplete, seeds and expected."""
    import pyarrow.parquet as pq

    from disbench.leaderboard.aggregate import aggregate
    from disbench.leaderboard.downloads import write_downloads
    from disbench.leaderboard.store import CheckContext, Source, load_board

    local = tmp_path / "local"
    write_record(local, record_dict("xysquares-s1-mse-v0", "alpha", 0, {"mig": 0.5}, workspace["hashes"]["alpha"]))
    ctx = CheckContext(submissions_dir=workspace["submissions"], public_key_path=workspace["root"] / "runner.pub")  # the folder's key
    board = load_board([Source(workspace["results"], "official"), Source(local, "local")], ctx)
    site = next(d for d in write_downloads(aggregate(board), tmp_path / "site") if d.name == "summary")
    hub, downloaded = folder / "data" / "summary.parquet", tmp_path / "site" / site.files["parquet"]
    assert pq.read_schema(hub).remove_metadata() == pq.read_schema(downloaded).remove_metadata()
    assert [c.name for c in site.columns] == ["task", "tier", "submission", "version", "supervision", "origin", "stale", "unverified",
                                              "incomplete", "seeds", "expected", "metric", "primary", "mean", "std", "n", "rank"]
    frame = pd.read_parquet(downloaded)
    assert set(frame["origin"]) == {"official", "local"}
    official = frame[frame["origin"] == "official"].reset_index(drop=True)
    pd.testing.assert_frame_equal(pd.read_parquet(hub), official)


def test_out_must_be_a_new_or_empty_folder(folder, workspace, capsys):
    assert main(["publish", "--repo", "org/board", "--dry-run", "--out", str(folder), "--official", str(workspace["results"])]) == 2
    assert "is not a new or empty folder" in capsys.readouterr().err
