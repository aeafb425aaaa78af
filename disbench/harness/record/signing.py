"""Runner signatures: official records are signed with Ed25519 so the board can refuse edits.

The official runner holds a private key, named by the ``DISBENCH_RUNNER_KEY`` environment
variable (a path to a PEM file), and signs every record it writes; the matching public key is
published as ``leaderboards/runner-key.pub`` by the maintainers' runner. A signature covers
:func:`canonical_payload`: every field of the record except ``signature`` itself, so changing
any metric, seed, hash or setting after signing makes :func:`verify` return False.

Private keys never enter git, a test fixture or a log: nothing here prints or embeds one, and
:func:`generate_keypair` writes the private file with mode 0600 and refuses to overwrite.
Note that the payload includes every schema field (``None`` ones too), so adding a field to
``RunResult`` changes every payload: that is a schema-version change, as it should be.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from disbench.error import SigningError, SigningKeyNotFound
from disbench.files import missing_folder

if TYPE_CHECKING:
    from disbench.harness.record import RunResult

KEY_ENV = "DISBENCH_RUNNER_KEY"
DEFAULT_PUBLIC_KEY = Path("leaderboards/runner-key.pub")
SIGNATURE_BYTES = 64  # every Ed25519 signature has this length
_REPO_ROOT = Path(__file__).resolve().parents[3]


def canonical_payload(record: RunResult) -> bytes:
    """The bytes a signature covers: the record as JSON without ``signature``, keys sorted,
    compact separators, UTF-8. Equal records give equal bytes, however they were loaded."""
    data = record.model_dump(mode="json")
    data.pop("signature", None)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(record: RunResult, private_key: Ed25519PrivateKey) -> str:
    """The base64 Ed25519 signature of ``record``'s canonical payload (store it in ``record.signature``)."""
    if not isinstance(private_key, Ed25519PrivateKey):
        raise SigningError(f"Records are signed with an Ed25519 private key, got {type(private_key).__name__}; load it with load_private_key().")
    return base64.b64encode(private_key.sign(canonical_payload(record))).decode("ascii")


def verify(record: RunResult, public_key: Ed25519PublicKey) -> bool:
    """True only if ``record.signature`` is ``public_key``'s signature of this exact record.

    A missing, malformed or non-matching signature gives False, never an exception; an
    unusable key raises :class:`~disbench.error.SigningError`, because that is the caller's setup
    error, not a property of the record.
    """
    if not isinstance(public_key, Ed25519PublicKey):
        raise SigningError(f"Signatures are checked with an Ed25519 public key, got {type(public_key).__name__}; load it with load_public_key().")
    signature = getattr(record, "signature", None)
    if not isinstance(signature, str):
        return False
    try:
        raw = base64.b64decode(signature.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        return False
    if len(raw) != SIGNATURE_BYTES:
        return False
    try:
        public_key.verify(raw, canonical_payload(record))
    except InvalidSignature:
        return False
    return True


def _read_key_file(path: Path, what: str, fix: str = "") -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise SigningKeyNotFound(f"The {what} file {path} does not exist{fix}.") from None
    except (IsADirectoryError, PermissionError, OSError) as e:
        raise SigningError(f"Cannot read the {what} file {path}: {e.strerror or e}{fix}.") from None


# What to do about a public key file that was named but cannot be used.
PUBLIC_KEY_FIX = (f"; give the path of the runner's public key ({DEFAULT_PUBLIC_KEY} in a disbench clone), or leave --public-key out "
                  "to use that file")


def load_public_key(path: str | os.PathLike[str] | None = None) -> Ed25519PublicKey:
    """The runner's public key from a PEM file (default ``leaderboards/runner-key.pub``, looked
    up in the current folder, then in the repository disbench was imported from). Every problem
    is a :class:`~disbench.error.SigningError` naming the file and what to do."""
    if path is None:
        candidates = [Path.cwd() / DEFAULT_PUBLIC_KEY, _REPO_ROOT / DEFAULT_PUBLIC_KEY]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise SigningKeyNotFound(
                f"No runner public key at {' or '.join(str(c) for c in dict.fromkeys(candidates))}; the maintainers' runner "
                "publishes it as leaderboards/runner-key.pub (or pass the path of the key explicitly)."
            )
        path = found
    path = Path(path)
    data = _read_key_file(path, "public key", PUBLIC_KEY_FIX)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as e:
        raise SigningError(f"The public key file {path} is not a PEM public key ({e}); expected the file written by `disbench keys init` "
                           f"or `disbench keys generate`{PUBLIC_KEY_FIX}.") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError(f"The public key file {path} holds a {type(key).__name__}, not an Ed25519 public key; expected the file written by "
                           f"`disbench keys init` or `disbench keys generate`{PUBLIC_KEY_FIX}.")
    return key


def load_private_key() -> Ed25519PrivateKey:
    """The runner's private key, from the PEM file that ``$DISBENCH_RUNNER_KEY`` names.

    The file must be private to its owner (no group or other permissions, as ssh demands);
    error messages name the variable and the path, never the key.
    """
    value = os.environ.get(KEY_ENV, "").strip()
    if not value:
        raise SigningError(
            f"{KEY_ENV} is not set: set it to the path of the runner's private key (PEM) to sign records. "
            "Only the official runner signs; local runs are recorded unsigned."
        )
    path = Path(value).expanduser()
    try:
        data = _read_key_file(path, "private key")
    except SigningKeyNotFound:
        raise SigningKeyNotFound(f"{KEY_ENV} points to {path}, which does not exist; set it to the runner's private key file.") from None
    mode = stat.S_IMODE(path.stat().st_mode)
    if os.name == "posix" and mode & 0o077:
        raise SigningError(f"{KEY_ENV} points to {path}, whose permissions {mode:04o} let others read it; run `chmod 600 {path}`.")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise SigningError(f"{path} ({KEY_ENV}) is encrypted; the runner needs an unencrypted PEM key with mode 0600.") from None
    except (ValueError, UnsupportedAlgorithm):
        raise SigningError(f"{path} ({KEY_ENV}) is not a PEM private key; expected the file written by `disbench keys generate`.") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"{path} ({KEY_ENV}) holds a {type(key).__name__}, not an Ed25519 private key.")
    return key


def generate_keypair(private_path: str | os.PathLike[str], public_path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write a new Ed25519 pair: the private key (PEM, mode 0600) and the public key (PEM).

    Neither file may exist already, so a runner's key is never overwritten by accident; the
    private file is created with its final mode, so it is never readable by others, not even
    briefly. If writing the public key fails, the private file is removed again.
    """
    private_path, public_path = Path(private_path), Path(public_path)
    if private_path.resolve() == public_path.resolve():
        raise SigningError(f"The private and public key paths are the same ({private_path}); give two different files.")
    for path in (private_path, public_path):
        if path.exists():
            raise SigningError(f"{path} already exists; keys are never overwritten. Move it away or choose another path.")
        if not path.parent.is_dir():
            fix = "give a key path in a folder" if path.parent.exists() else "create it first"
            raise SigningError(f"The folder {path.parent} {missing_folder(path.parent)}; {fix}.")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as e:
        raise SigningError(f"Cannot create {private_path}: {e.strerror or e}.") from None
    public_created = False
    try:
        with os.fdopen(fd, "wb") as f:
            if hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), 0o600)  # the umask can only remove bits; make the mode exact
            f.write(private_pem)
        with open(public_path, "xb") as f:
            public_created = True
            f.write(public_pem)
    except OSError as e:
        private_path.unlink(missing_ok=True)
        if public_created:
            public_path.unlink(missing_ok=True)
        raise SigningError(f"Writing the key pair failed ({e.strerror or e}); nothing was kept.") from None
    return private_path, public_path


def keys_generate(private_path: str | os.PathLike[str], public_path: str | os.PathLike[str]) -> str:
    """``disbench keys generate``: write a pair and say what to do with each half (never the key itself)."""
    private, public = generate_keypair(private_path, public_path)
    return (
        f"wrote the private key to {private} (mode 0600): keep it only on the runner, out of git, and set {KEY_ENV}={private.resolve()}\n"
        f"wrote the public key to {public}: publish it as {DEFAULT_PUBLIC_KEY} so the leaderboard can verify signed records"
    )
