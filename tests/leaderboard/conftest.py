"""Fixtures for the leaderboard tests: records made from a committed baseline, tiny submission folders."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "leaderboards" / "results" / "xysquares-mse-v0" / "beta-vae" / "quick" / "seed-0.json"


def make_submission(root: Path, name: str, supervision: str = "unsupervised", body: str = "# model\n") -> Path:
    """A submission folder that loads (schema only; nothing imports its model here)."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "submission.toml").write_text(
        f'name = "{name}"\nversion = "1.0.0"\nauthors = ["Test Author"]\ndescription = "a test submission"\nlicence = "MIT"\n'
        f'entry_point = "model:build"\nsupervision = "{supervision}"\ncode = "https://example.org/{name}"\n'
    )
    (folder / "model.py").write_text(body)
    return folder


def record_dict(task: str, submission: str, seed: int, metrics: dict[str, float], content_hash: str, tier: str = "quick",
                supervision: str = "unsupervised") -> dict:
    """A valid on-protocol record of ``task`` (spec and protocol from the registry), with the given metrics."""
    import disbench

    raw = json.loads(TEMPLATE.read_text())
    spec = disbench.spec(task)
    protocol = spec.protocols[tier]
    out = copy.deepcopy(raw)
    out["task"] = {"id": spec.id, "spec": spec.to_dict(), "off_protocol": False}
    out["protocol"] = {"name": tier, "hash": protocol.hash(), "config": protocol.to_dict()}
    out["submission"].update({"name": submission, "content_hash": content_hash, "supervision": supervision})
    out["seed"] = seed
    out["metrics"] = dict(metrics)
    out.update(curve={}, max_during_training={}, checkpoint_sha256=None, signature=None)  # the template's belong to its own run
    return out


def copy_baselines(dest: Path) -> Path:
    """The committed baseline records, copied to ``dest`` under the tiers' current protocol hashes.

    The board's tests read real baseline scores without depending on every committed record
    having been re-run since the last protocol change (that is ``test_store``'s business)."""
    import disbench

    for path in sorted((REPO / "leaderboards" / "results").rglob("seed-*.json")):
        raw = json.loads(path.read_text())
        protocol = disbench.spec(raw["task"]["id"]).protocols[raw["protocol"]["name"]]
        raw["protocol"].update(hash=protocol.hash(), config=protocol.to_dict())
        raw["signature"] = None  # a rewritten record's signature is void; the tests sign with their own keys
        target = dest / path.relative_to(REPO / "leaderboards" / "results")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(raw, indent=2, sort_keys=True))
    return dest


@pytest.fixture
def baselines(tmp_path) -> str:
    return str(copy_baselines(tmp_path / "baselines"))


def write_record(results: Path, raw: dict) -> Path:
    path = results / raw["task"]["id"] / raw["submission"]["name"] / raw["protocol"]["name"] / f"seed-{raw['seed']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(raw, indent=2, sort_keys=True))
    return path


@pytest.fixture
def workspace(tmp_path):
    """An empty results folder and a submissions folder with two submissions (alpha: unsupervised, beta: weak-pairs)."""
    from disbench.harness.submission import Submission

    results, subs = tmp_path / "results", tmp_path / "submissions"
    results.mkdir()
    hashes = {}
    for name, sup in (("alpha", "unsupervised"), ("beta", "weak-pairs")):
        hashes[name] = Submission(make_submission(subs, name, sup)).content_hash()
    return {"results": results, "submissions": subs, "hashes": hashes, "root": tmp_path}


def throwaway_key(folder: Path):
    """A fresh runner key pair in ``folder``: (loaded private key, public key path)."""
    from cryptography.hazmat.primitives import serialization

    from disbench.harness.record import signing

    private, public = signing.generate_keypair(folder / "runner.pem", folder / "runner.pub")
    return serialization.load_pem_private_key(private.read_bytes(), password=None), public


def signed(raw: dict, private_key) -> dict:
    """``raw`` with the runner's signature made by ``private_key``."""
    from disbench.harness.record import RunResult, signing

    record = RunResult.model_validate(raw)
    return record.model_copy(update={"signature": signing.sign(record, private_key)}).model_dump(mode="json")


@pytest.fixture(scope="session")
def runner_key(tmp_path_factory):
    """A throwaway runner key pair for a whole session: (private key, public key path). Never the real runner's key."""
    return throwaway_key(tmp_path_factory.mktemp("runner-key"))
