"""``disbench leaderboard signatures``: the publish job's check of the trust root, with a throwaway key."""

from __future__ import annotations

import json

from disbench.cli import main
from disbench.harness.record.keys import fingerprint
from disbench.harness.record.signing import load_public_key
from tests.leaderboard.conftest import record_dict, signed, throwaway_key, write_record


def check(workspace, public):
    return main(["leaderboard", "signatures", "--official", str(workspace["results"]), "--public-key", str(public)])


def test_verified_unsigned_and_edited_records_are_told_apart(workspace, capsys):
    private, public = throwaway_key(workspace["root"])
    alpha = workspace["hashes"]["alpha"]
    write_record(workspace["results"], signed(record_dict("xysquares-mse-v0", "alpha", 0, {"mig": 0.1}, alpha), private))
    write_record(workspace["results"], record_dict("xysquares-mse-v0", "alpha", 1, {"mig": 0.2}, alpha))
    off = record_dict("xysquares-mse-v0", "alpha", 2, {"mig": 0.3}, alpha)
    off["protocol"]["hash"] = "0" * 64  # refused before its signature is looked at
    write_record(workspace["results"], off)
    assert check(workspace, public) == 0
    out = capsys.readouterr().out
    assert fingerprint(load_public_key(public)) in out
    assert "1 verified, 1 unsigned (published as unverified), 0 with a signature that does not match, 0 signed but unchecked; 1 refused" in out

    edited = write_record(workspace["results"], signed(record_dict("xysquares-boxblur-v0", "alpha", 0, {"mig": 0.1}, alpha), private))
    raw = json.loads(edited.read_text())
    raw["metrics"]["mig"] = 0.9
    edited.write_text(json.dumps(raw))
    assert check(workspace, public) == 1
    out = capsys.readouterr().out
    assert "signature does not match: xysquares-boxblur-v0/alpha/quick/seed-0.json" in out and "1 with a signature that does not match" in out
    assert out.strip().splitlines()[-1].startswith("FAILED: a signed record that does not verify is never published")


def test_a_signed_board_without_its_default_public_key_fails(workspace, capsys, monkeypatch):
    from disbench.harness.record import signing

    monkeypatch.chdir(workspace["root"])  # no leaderboards/runner-key.pub here, nor beside the package
    monkeypatch.setattr(signing, "_REPO_ROOT", workspace["root"])
    private, _ = throwaway_key(workspace["root"])
    write_record(workspace["results"], signed(record_dict("xysquares-mse-v0", "alpha", 0, {"mig": 0.1}, workspace["hashes"]["alpha"]), private))
    signatures = ["leaderboard", "signatures", "--official", str(workspace["results"])]
    assert main(signatures) == 1
    out = capsys.readouterr().out
    assert "runner key: none usable" in out and "1 signed but unchecked" in out and "commit the runner's public key" in out
    write_record(workspace["results"], record_dict("xysquares-mse-v0", "alpha", 0, {"mig": 0.1}, workspace["hashes"]["alpha"]))
    assert main(signatures) == 0  # an unsigned board needs no key: everything is unverified


def test_a_public_key_the_user_names_must_be_usable(workspace, capsys):
    """A mistyped --public-key is one line naming the file and the fix, not a board of 'signed but unchecked' records
    that blames a missing leaderboards/runner-key.pub."""
    private, _ = throwaway_key(workspace["root"])
    write_record(workspace["results"], signed(record_dict("xysquares-mse-v0", "alpha", 0, {"mig": 0.1}, workspace["hashes"]["alpha"]), private))
    missing = workspace["root"] / "missing.pub"
    assert check(workspace, missing) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.splitlines() == [f"error: The public key file {missing} does not exist; give the path of the runner's public key "
                                              "(leaderboards/runner-key.pub in a disbench clone), or leave --public-key out to use that file."]
