"""``disbench leaderboard signatures``: the trust root and every official record's signature, before publishing.

The publish job holds no private key: it verifies what the runner signed. This check says which
key the board trusts (its fingerprint) and sorts the official records: verified (signed, and the
signature checks out), unsigned (published as *unverified*), and those whose signature does not
match this key (edited after signing, or signed with another key). The last kind, or a signed
record with no usable key to check it, fails the check: on ``main`` that is an incident to look
into, not a record to drop quietly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from disbench.error import DisbenchError
from disbench.leaderboard.store import Board, CheckContext, Entry, Source, load_board


@dataclass
class SignatureReport:
    key: str  # "leaderboards/runner-key.pub (SHA256:...)", or why there is no usable key
    key_ok: bool
    verified: list[Entry] = field(default_factory=list)
    unsigned: list[Entry] = field(default_factory=list)
    mismatched: list[Entry] = field(default_factory=list)
    unchecked: list[Entry] = field(default_factory=list)  # signed, but no usable key here
    refused: list[Entry] = field(default_factory=list)  # refused before the signature was looked at (schema, protocol, ...)

    @property
    def ok(self) -> bool:
        return not self.mismatched and not self.unchecked

    def render(self) -> str:
        lines = [f"runner key: {self.key}"]
        lines += [f"signature does not match: {e.relative_path}" for e in self.mismatched]
        lines += [f"signed, but cannot be checked without the key: {e.relative_path}" for e in self.unchecked]
        lines.append(f"{len(self.verified)} verified, {len(self.unsigned)} unsigned (published as unverified), "
                     f"{len(self.mismatched)} with a signature that does not match, {len(self.unchecked)} signed but unchecked; "
                     f"{len(self.refused)} refused for other reasons (see `disbench leaderboard show`)")
        if not self.ok:
            lines.append("FAILED: a signed record that does not verify is never published; restore it from the runner, or re-sign it there "
                         "(docs/trust.md)" + ("" if self.key_ok else "; commit the runner's public key as leaderboards/runner-key.pub"))
        return "\n".join(lines)


def describe_key(path: Path | None) -> tuple[str, bool]:
    """The key the board trusts, as its path and fingerprint, or why the default key cannot be used; a key
    file the user named (``path``) that cannot be used raises :class:`~disbench.error.SigningError`."""
    from disbench.harness.record.keys import fingerprint
    from disbench.harness.record.signing import DEFAULT_PUBLIC_KEY, load_public_key

    if path is not None:
        return f"{path} ({fingerprint(load_public_key(path))})", True
    try:
        key = load_public_key()
    except DisbenchError as e:
        return f"none usable ({e})", False
    return f"{DEFAULT_PUBLIC_KEY} ({fingerprint(key)})", True


def classify(board: Board, key: str, key_ok: bool) -> SignatureReport:
    report = SignatureReport(key, key_ok)
    for e in board.entries:
        if e.refused:
            bad = any(f.check == "signature" and f.severity == "refuse" for f in e.findings)
            (report.mismatched if bad else report.refused).append(e)
        elif e.record.signature is None:
            report.unsigned.append(e)
        elif "unverified" in e.markers:
            report.unchecked.append(e)
        else:
            report.verified.append(e)
    return report


def check_signatures(official: Path, public_key: Path | None = None) -> SignatureReport:
    """Every record of ``official``, checked as the board checks it, sorted by what its signature says."""
    key, key_ok = describe_key(public_key)
    board = load_board([Source(Path(official), "official")], CheckContext(submissions_dir=None, public_key_path=public_key))
    return classify(board, key, key_ok)
