"""The record store: every refusal and marker carries its reason; signatures are really checked."""

from __future__ import annotations

import json
import math

import pytest

from disbench.leaderboard.errors import LeaderboardError
from disbench.leaderboard.store import CheckContext, Source, load_board
from tests.leaderboard.conftest import REPO, make_submission, record_dict, write_record


def board(ws, ctx=None, local=None):
    sources = [Source(ws["results"], "official")] + ([Source(local, "local")] if local else [])
    return load_board(sources, ctx or CheckContext(submissions_dir=ws["submissions"]))


def only(b):
    assert len(b.entries) == 1
    return b.entries[0]


def test_committed_baselines_load_as_unverified_records_or_wait_for_a_rerun():
    """Every committed record is accepted (signed by the runner's committed key: verified; unsigned:
    unverified), or refused only because a protocol change since it was made means it must be re-run
    (``disbench sweep`` does that); nothing else."""
    b = load_board([Source(REPO / "leaderboards" / "results", "official")], CheckContext(submissions_dir=REPO / "submissions"))
    committed = list((REPO / "leaderboards" / "results").rglob("seed-*.json"))
    assert len(b.entries) == len(committed) >= 12
    assert {e.markers for e in b.entries if not e.refused} <= {(), ("unverified",), ("stale",), ("stale", "unverified")}
    signed = [e for e in b.entries if e.record.signature is not None]
    assert all(e.markers == () for e in signed if not e.refused)  # the re-run, signed records verify against the committed key
    for e in b.refused:
        assert len(e.reasons) == 1 and "re-run it under the current protocol" in e.reasons[0], e.reasons


def test_valid_unsigned_record_is_shown_as_unverified(workspace):
    write_record(workspace["results"], record_dict("xysquares-mse-v0", "alpha", 0, {"mig": 0.1}, workspace["hashes"]["alpha"]))
    e = only(board(workspace))
    assert not e.refused and e.markers == ("unverified",)
    assert "unsigned" in e.reasons[0]


@pytest.mark.parametrize(
    "mutate, reason",
    [
        (lambda p, raw: p.write_text("{not json"), "not a readable JSON file"),
        (lambda p, raw: p.write_text("[" * 100_000 + "]" * 100_000), "not a readable JSON file (RecursionError"),
        (lambda p, raw: p.write_text(json.dumps({**raw, "schema_version": 2})), "schema version 2; this disbench reads version 1"),
        (lambda p, raw: p.write_text(json.dumps({**raw, "seed": "zero"})), "does not match the record schema (seed"),
        (lambda p, raw: p.write_text(json.dumps({**raw, "seed": 1})), "filed as xysquares-mse-v0/alpha/quick/seed-0.json but its content says xysquares-mse-v0/alpha/quick/seed-1.json"),
        (lambda p, raw: p.write_text(json.dumps({**raw, "status": "failed", "metrics": {}, "error": "loss was NaN"})), "the run failed: loss was NaN"),
        (lambda p, raw: p.write_text(json.dumps({**raw, "on_protocol": False, "task": {**raw["task"], "off_protocol": True}})), "off-protocol run"),
        (lambda p, raw: p.write_text(json.dumps({**raw, "protocol": {**raw["protocol"], "hash": "0" * 64}})), "made under protocol hash 000000000000"),
        (lambda p, raw: p.write_text(json.dumps({**raw, "task": {**raw["task"], "spec": {**raw["task"]["spec"], "kwargs": {"dataset": "xysquares", "grid_spacing": 4, "loss": "mse"}}}})),
         "differs from the registered xysquares-mse-v0: grid_spacing: was 4, now 8"),
    ],
    ids=["json", "deep-nesting", "schema-version", "schema", "location", "failed", "off-protocol", "protocol-hash", "task-definition"],
)
def test_bad_records_are_refused_with_their_reason(workspace, mutate, reason):
    raw = record_dict("xysquares-mse-v0", "alpha", 0, {"mig": 0.1}, workspace["hashes"]["alpha"])
    path = write_record(workspace["results"], raw)
    mutate(path, raw)
    b = board(workspace)
    e = only(b)
    assert e.refused and b.accepted == []
    assert reason in e.reasons[-1], e.reasons


def test_a_task_argument_saved_as_json_still_matches_its_registered_task(workspace, scratch_registry):
    """A record keeps a tuple argument as the JSON list it was saved as; the board compares the
    task as the record keeps it, so the run is not refused as 'task changed'."""
    import disbench

    base = disbench.spec("xysquares-mse-v0")
    disbench.register("tuple-args-v0", base.entry_point, {**base.kwargs, "factors_shown": ("x", "y")}, protocols=base.protocols)
    raw = record_dict("tuple-args-v0", "alpha", 0, {"mig": 0.1}, workspace["hashes"]["alpha"])
    raw["task"]["spec"] = json.loads(json.dumps(raw["task"]["spec"]))  # written and read back, as every record is
    write_record(workspace["results"], raw)
    e = only(board(workspace))
    assert not e.refused, e.reasons


def test_stale_record_is_marked_not_refused(workspace):
    write_record(workspace["results"], record_dict("xysquares-mse-v0", "alpha", 0, {"mig": 0.1}, workspace["hashes"]["alpha"]))
    make_submission(workspace["submissions"], "alpha", body="# model, changed after the run\n")
    e = only(board(workspace))
    assert not e.refused and "stale" in e.markers
    assert any("the submission changed since this run" in r for r in e.reasons)


def test_record_of_a_removed_submission_is_stale(workspace):
    write_record(workspace["results"], record_dict("xysquares-mse-v0", "gone", 0, {"mig": 0.1}, "a" * 64))
    e = only(board(workspace))
    assert "stale" in e.markers and any("was removed or renamed" in r for r in e.reasons)


def test_local_records_are_marked_local(workspace):
    local = workspace["root"] / "local"
    write_record(local, record_dict("xysquares-mse-v0", "alpha", 0, {"mig": 0.1}, workspace["hashes"]["alpha"]))
    e = only(board(workspace, local=local))
    assert e.origin == "local" and e.markers == ("local",)


def test_missing_results_folder_is_an_error_naming_the_fix(workspace):
    with pytest.raises(LeaderboardError, match="does not exist; run from the root of a disbench clone, pass the folder"):
        load_board([Source(workspace["root"] / "nope", "local")])


@pytest.fixture
def keys(tmp_path):
    from disbench.harness.record import signing

    folder = tmp_path / "keys"
    folder.mkdir()
    return signing.generate_keypair(folder / "runner.pem", folder / "runner.pub")


def _signed(workspace, keys, metrics):
    from cryptography.hazmat.primitives import serialization

    from disbench.harness.record import RunResult, signing

    private = serialization.load_pem_private_key(keys[0].read_bytes(), password=None)
    raw = record_dict("xysquares-mse-v0", "alpha", 0, metrics, workspace["hashes"]["alpha"])
    record = RunResult.model_validate(raw)
    raw = record.model_copy(update={"signature": signing.sign(record, private)}).model_dump(mode="json")
    return write_record(workspace["results"], raw)


def test_signed_record_verifies_and_a_tampered_one_is_refused(workspace, keys):
    path = _signed(workspace, keys, {"mig": 0.1})
    ctx = CheckContext(submissions_dir=workspace["submissions"], require_signed=True, public_key_path=keys[1])
    e = only(board(workspace, ctx))
    assert not e.refused and e.markers == ()

    raw = json.loads(path.read_text())
    raw["metrics"]["mig"] = 0.9  # a better score than the run produced
    path.write_text(json.dumps(raw))
    e = only(board(workspace, CheckContext(submissions_dir=workspace["submissions"], public_key_path=keys[1])))
    assert e.refused
    assert "signature does not match the record" in e.reasons[-1]


def test_official_board_refuses_unsigned_records(workspace, keys):
    write_record(workspace["results"], record_dict("xysquares-mse-v0", "alpha", 0, {"mig": 0.1}, workspace["hashes"]["alpha"]))
    ctx = CheckContext(submissions_dir=workspace["submissions"], require_signed=True, public_key_path=keys[1])
    e = only(board(workspace, ctx))
    assert e.refused and "unsigned; the official board takes only records signed by the official runner" in e.reasons[-1]


def test_signed_record_without_a_public_key_is_unverified_not_trusted(workspace, keys, monkeypatch):
    from disbench.harness.record import signing

    monkeypatch.chdir(workspace["root"])  # no default key here, nor beside the package
    monkeypatch.setattr(signing, "_REPO_ROOT", workspace["root"])
    _signed(workspace, keys, {"mig": 0.1})
    e = only(board(workspace, CheckContext(submissions_dir=workspace["submissions"])))
    assert e.markers == ("unverified",) and "cannot be checked" in e.reasons[-1] and "No runner public key at" in e.reasons[-1]
    assert only(board(workspace, CheckContext(submissions_dir=workspace["submissions"], require_signed=True))).refused


def test_a_named_public_key_that_cannot_be_used_is_an_error_at_once(workspace):
    from disbench.error import SigningError

    garbage = workspace["root"] / "garbage.pub"
    garbage.write_text("not a key")
    for path, problem in ((workspace["root"] / "missing.pub", "does not exist"), (workspace["root"], "Cannot read"),
                          (garbage, "is not a PEM public key")):
        with pytest.raises(SigningError, match=problem) as err:
            CheckContext(submissions_dir=workspace["submissions"], public_key_path=path)
        assert str(path) in str(err.value) and "leave --public-key out" in str(err.value)


def test_mean_std_n_over_two_seeds(workspace):
    from disbench.leaderboard.aggregate import aggregate

    for seed, mig in ((0, 0.2), (1, 0.4)):
        write_record(workspace["results"], record_dict("xysquares-mse-v0", "alpha", seed, {"mig": mig, "sap": 0.5}, workspace["hashes"]["alpha"]))
    s = aggregate(board(workspace)).summary.set_index("metric")
    assert s.loc["mig", "mean"] == pytest.approx(0.3)
    assert s.loc["mig", "std"] == pytest.approx(math.sqrt(((0.2 - 0.3) ** 2 + (0.4 - 0.3) ** 2) / 1))
    assert s.loc["mig", "n"] == 2
    assert s.loc["sap", "std"] == 0.0
