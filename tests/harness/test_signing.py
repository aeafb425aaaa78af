"""Runner signatures: a signed record verifies, and any change to it (or another key) does not.

Every key here is a throwaway made in the test; no private key is ever committed.
"""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from disbench.cli import main
from disbench.error import DisbenchError, SigningError, SigningKeyNotFound
from disbench.harness.record import RunResult, load_record, signing, write_record

REPO = Path(__file__).resolve().parents[2]
RECORD = REPO / "leaderboards/results/xysquares-mse-v0/beta-vae/quick/seed-0.json"


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def record() -> RunResult:
    r = load_record(RECORD)
    r.checkpoint_sha256 = "ab" * 32
    return r


@pytest.fixture
def signed(record: RunResult, key: Ed25519PrivateKey) -> RunResult:
    record.signature = signing.sign(record, key)
    return record


def test_signed_record_verifies(signed: RunResult, key: Ed25519PrivateKey) -> None:
    assert len(base64.b64decode(signed.signature)) == 64
    assert signing.verify(signed, key.public_key()) is True


def _flip_hex(h: str) -> str:
    return ("0" if h[0] != "0" else "1") + h[1:]


TAMPERS = {
    "metric": lambda r: r.metrics.__setitem__("mig", r.metrics["mig"] + 1e-12),
    "new metric": lambda r: r.metrics.__setitem__("mig.extra", 0.5),
    "seed": lambda r: setattr(r, "seed", r.seed + 1),
    "on_protocol": lambda r: setattr(r, "on_protocol", not r.on_protocol),
    "content hash": lambda r: setattr(r.submission, "content_hash", _flip_hex(r.submission.content_hash)),
    "protocol hash": lambda r: setattr(r.protocol, "hash", _flip_hex(r.protocol.hash)),
    "checkpoint hash": lambda r: setattr(r, "checkpoint_sha256", _flip_hex(r.checkpoint_sha256)),
    "checkpoint hash removed": lambda r: setattr(r, "checkpoint_sha256", None),
    "hyperparameter": lambda r: r.submission.hyperparameters.__setitem__("beta", 1.0),
    "task spec": lambda r: r.task.spec.__setitem__("description", "edited"),
    "steps": lambda r: setattr(r.training, "steps", r.training.steps + 1),
}


@pytest.mark.parametrize("change", TAMPERS.values(), ids=TAMPERS.keys())
def test_any_change_after_signing_fails(signed: RunResult, key: Ed25519PrivateKey, change) -> None:
    before = signing.canonical_payload(signed)
    change(signed)
    assert signing.canonical_payload(signed) != before
    assert signing.verify(signed, key.public_key()) is False


def test_tampered_signature_fails(signed: RunResult, key: Ed25519PrivateKey) -> None:
    raw = bytearray(base64.b64decode(signed.signature))
    raw[0] ^= 1
    good = signed.signature
    for bad in (base64.b64encode(bytes(raw)).decode(), None, "", "not base64!", "é" * 8, base64.b64encode(b"short").decode(), good[:-4], good + "AAAA"):
        signed.signature = bad
        assert signing.verify(signed, key.public_key()) is False, bad


def test_other_key_fails(signed: RunResult) -> None:
    assert signing.verify(signed, Ed25519PrivateKey.generate().public_key()) is False


def test_signature_is_not_part_of_the_payload(record: RunResult, key: Ed25519PrivateKey) -> None:
    before = signing.canonical_payload(record)
    record.signature = signing.sign(record, key)
    assert signing.canonical_payload(record) == before
    assert b"signature" not in before
    assert b'"checkpoint_sha256":"' + b"ab" * 32 + b'"' in before  # the new fields are covered


def test_payload_stable_across_round_trips(signed: RunResult, key: Ed25519PrivateKey, tmp_path: Path) -> None:
    payload = signing.canonical_payload(signed)
    assert payload == signing.canonical_payload(RunResult.model_validate_json(signed.model_dump_json()))
    assert payload == signing.canonical_payload(RunResult.model_validate(json.loads(json.dumps(signed.model_dump(mode="json")))))
    # key order in the file does not matter
    items = list(signed.model_dump(mode="json").items())
    random.Random(0).shuffle(items)
    assert payload == signing.canonical_payload(RunResult.model_validate(dict(items)))
    # written to disk and read back (indented, sorted file), twice
    again = load_record(write_record(load_record(write_record(signed, tmp_path / "a.json")), tmp_path / "b.json"))
    assert signing.canonical_payload(again) == payload
    assert signing.verify(again, key.public_key()) is True
    expected = signed.model_dump(mode="json")
    del expected["signature"]
    assert json.loads(payload) == expected and b"\n" not in payload and payload.startswith(b'{"checkpoint_sha256":"')


def test_sign_and_verify_reject_unusable_keys(record: RunResult, key: Ed25519PrivateKey) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(SigningError, match="Ed25519 private key"):
        signing.sign(record, other)
    with pytest.raises(SigningError, match="Ed25519 public key"):
        signing.verify(record, key)  # a private key where the public one belongs
    with pytest.raises(SigningError, match="Ed25519 public key"):
        signing.verify(record, other.public_key())


def test_generate_keypair_writes_private_0600(tmp_path: Path, record: RunResult, monkeypatch: pytest.MonkeyPatch) -> None:
    old = os.umask(0)  # even with a permissive umask the private key is owner-only
    try:
        private, public = signing.generate_keypair(tmp_path / "runner.pem", tmp_path / "runner.pub")
    finally:
        os.umask(old)
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    monkeypatch.setenv(signing.KEY_ENV, str(private))
    record.signature = signing.sign(record, signing.load_private_key())
    assert signing.verify(record, signing.load_public_key(public)) is True


def test_generate_keypair_never_overwrites(tmp_path: Path) -> None:
    private, public = signing.generate_keypair(tmp_path / "k.pem", tmp_path / "k.pub")
    before = private.read_bytes()
    with pytest.raises(SigningError, match="already exists"):
        signing.generate_keypair(private, tmp_path / "other.pub")
    with pytest.raises(SigningError, match="already exists"):
        signing.generate_keypair(tmp_path / "other.pem", public)
    with pytest.raises(SigningError, match="same"):
        signing.generate_keypair(tmp_path / "x.pem", tmp_path / "x.pem")
    with pytest.raises(SigningError, match="does not exist"):
        signing.generate_keypair(tmp_path / "no" / "k.pem", tmp_path / "no" / "k.pub")
    assert private.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.pem", "k.pub"]


def test_cli_keys_generate_never_prints_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    private, public = tmp_path / "runner.pem", tmp_path / "runner.pub"
    assert main(["keys", "generate", "--private", str(private), "--public", str(public)]) == 0
    out = capsys.readouterr()
    pem = private.read_text()
    body = "".join(pem.splitlines()[1:-1])
    assert body not in out.out + out.err and "PRIVATE" not in out.out + out.err
    assert signing.KEY_ENV in out.out and str(public) in out.out
    assert main(["keys", "generate", "--private", str(private), "--public", str(tmp_path / "b.pub")]) == 2
    assert "already exists" in capsys.readouterr().err


def test_missing_runner_key_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    for value in (None, "", "   "):
        if value is None:
            monkeypatch.delenv(signing.KEY_ENV, raising=False)
        else:
            monkeypatch.setenv(signing.KEY_ENV, value)
        with pytest.raises(SigningError, match=f"{signing.KEY_ENV} is not set"):
            signing.load_private_key()


def test_private_key_file_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nope.pem"
    monkeypatch.setenv(signing.KEY_ENV, str(missing))
    with pytest.raises(SigningKeyNotFound, match=f"{signing.KEY_ENV} points to .*nope.pem"):
        signing.load_private_key()

    private, public = signing.generate_keypair(tmp_path / "k.pem", tmp_path / "k.pub")
    secret = "".join(private.read_text().splitlines()[1:-1])
    private.chmod(0o644)
    monkeypatch.setenv(signing.KEY_ENV, str(private))
    with pytest.raises(SigningError, match="chmod 600") as err:
        signing.load_private_key()
    assert secret not in str(err.value)

    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"-----BEGIN NOTHING-----\nxx\n")
    garbage.chmod(0o600)
    monkeypatch.setenv(signing.KEY_ENV, str(garbage))
    with pytest.raises(SigningError, match="not a PEM private key"):
        signing.load_private_key()

    wrong = tmp_path / "ec.pem"
    wrong.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    wrong.chmod(0o600)
    monkeypatch.setenv(signing.KEY_ENV, str(wrong))
    with pytest.raises(SigningError, match="not an Ed25519 private key"):
        signing.load_private_key()

    encrypted = tmp_path / "enc.pem"
    encrypted.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")
        )
    )
    encrypted.chmod(0o600)
    monkeypatch.setenv(signing.KEY_ENV, str(encrypted))
    with pytest.raises(SigningError, match="encrypted"):
        signing.load_private_key()


def test_public_key_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SigningKeyNotFound) as err:
        signing.load_public_key(tmp_path / "absent.pub")
    assert isinstance(err.value, FileNotFoundError) and isinstance(err.value, DisbenchError)  # the loader catches either
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(signing, "_REPO_ROOT", tmp_path)
    with pytest.raises(SigningKeyNotFound, match="runner-key.pub"):
        signing.load_public_key()
    (tmp_path / "bad.pub").write_text("hello")
    with pytest.raises(SigningError, match="not a PEM public key"):
        signing.load_public_key(tmp_path / "bad.pub")
    (tmp_path / "ec.pub").write_bytes(
        ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(SigningError, match="not an Ed25519 public key"):
        signing.load_public_key(tmp_path / "ec.pub")
    with pytest.raises(SigningError, match="Cannot read"):
        signing.load_public_key(tmp_path)  # a folder


def test_default_public_key_is_found_in_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, record: RunResult) -> None:
    (tmp_path / "leaderboards").mkdir()
    private, _ = signing.generate_keypair(tmp_path / "k.pem", tmp_path / "leaderboards" / "runner-key.pub")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(signing.KEY_ENV, str(private))
    record.signature = signing.sign(record, signing.load_private_key())
    assert signing.verify(record, signing.load_public_key()) is True


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_no_private_key_is_tracked_by_git() -> None:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=False)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    needle = b"PRIVATE" + b" KEY-----"
    tracked = [REPO / name for name in listed.stdout.decode().split("\0") if name]
    leaked = [str(p.relative_to(REPO)) for p in tracked if p.is_file() and needle in p.read_bytes()]
    assert leaked == []
