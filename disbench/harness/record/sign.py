"""``disbench sign RECORD...``: the official runner's signature, as a step of its own.

Training never sees the key (``run`` refuses to start while ``DISBENCH_RUNNER_KEY`` is set), and
this step never runs submission code: it only reads records, hashes files and signs. It signs a
record only if everything it can check from the outside holds:

* the record loads through the schema, is a completed run and on-protocol;
* its protocol hash is the registered tier's;
* its child ran with every wall of the sandbox (namespaces, a separate user, cgroup limits);
* it was made by harness code whose digest equals this signer's own (``integrity.code_digest``);
* the submission folder it names still has the record's content hash;
* the run's model file is in its run folder and has the record's ``checkpoint_sha256``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import disbench
from disbench.error import DisbenchError
from disbench.files import sha256_file
from disbench.harness.record import RunResult, load_record, write_record
from disbench.harness.record.signing import load_private_key, load_public_key, sign, verify
from disbench.harness.run.evaluation import load_run_state
from disbench.harness.run.folder import run_dir
from disbench.harness.run.integrity import code_digest


@dataclass
class Signed:
    path: Path
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'signed ' if self.ok else 'refused'} {self.path}: {self.detail}"


def refusal(record: RunResult, submissions_dir: Path, runs_dir: Path, own_code: str) -> str | None:
    """Why ``record`` may not be signed (``None``: it may)."""
    if record.status != "completed":
        return "the run failed"
    if not record.on_protocol:
        return "off-protocol: " + "; ".join(record.off_protocol_reasons)
    if record.isolation is None or not record.isolation.official:
        return "its child did not run with every wall of the sandbox (namespaces, separate user, cgroup); run it again with `disbench sandbox setup` done, as root"
    tier = disbench.spec(record.task.id).protocols.get(record.protocol.name)
    if tier is None or tier.hash() != record.protocol.hash:
        return "its protocol hash is not the registered tier's"
    if not (record.environment.get("code_check") or "").startswith("matches"):
        return (f"its harness code was not checked clean at the run's start ({record.environment.get('code_check') or 'no check recorded'}); "
                "run it from a clean checkout or an installed wheel")
    if record.environment.get("code_sha256") != own_code:
        return "it was made by harness code other than this signer's (code digests differ); run it with this installation"
    if record.seal is None or not record.seal.secret:
        return ("it was not trained and scored on the runner's secret task variant (" + ("no seal" if record.seal is None else "its seal was given, not drawn")
                + "); run it again with `disbench run` and no --seal")
    from disbench.harness.submission import code_mismatch

    if problem := code_mismatch(submissions_dir / record.submission.name, record.submission.content_hash):
        return problem
    run = run_dir(runs_dir, record.task.id, record.submission.name, record.protocol.name, record.seed)
    try:
        model = (run / load_run_state(run / "checkpoint.pt")["model_file"]).resolve()
    except (DisbenchError, KeyError) as e:
        return f"no usable checkpoint in {run} ({e})"
    if model.parent != run.resolve() or not model.is_file() or sha256_file(model) != record.checkpoint_sha256:
        return f"the model file in {run} is not the record's (missing, outside the run folder, or another hash)"
    return None


def sign_records(paths: list[str | Path], submissions_dir: str | Path = "submissions", runs_dir: str | Path = "runs",
                 public_key: str | Path | None = None) -> list[Signed]:
    """Sign each record that passes every check, in place; the key comes from ``DISBENCH_RUNNER_KEY``."""
    key, own_code = load_private_key(), code_digest()
    if public_key is not None and load_public_key(public_key).public_bytes_raw() != key.public_key().public_bytes_raw():
        raise DisbenchError(f"The private key in $DISBENCH_RUNNER_KEY is not the pair of {public_key}; records signed with it would be refused.")
    out = []
    for path in map(Path, paths):
        try:
            record = load_record(path)
        except DisbenchError as e:
            out.append(Signed(path, False, str(e).splitlines()[0]))
            continue
        if record.signature is not None and verify(record, key.public_key()):
            out.append(Signed(path, True, "already signed with this key"))
            continue
        reason = refusal(record, Path(submissions_dir), Path(runs_dir), own_code)
        if reason:
            out.append(Signed(path, False, reason))
            continue
        record.signature = None
        record.signature = sign(record, key)
        write_record(record, path)
        out.append(Signed(path, True, f"{record.submission.name} on {record.task.id}, tier {record.protocol.name}, seed {record.seed}"))
    return out
