"""``disbench keys init``: the board's trust root, made on the official runner.

The private half goes where no ``git add`` can pick it up: outside every git work tree (default
``~/.config/disbench/runner-key.pem``, or under ``$XDG_CONFIG_HOME``), mode 0600 in a folder made
0700, never printed. The public half goes to ``leaderboards/runner-key.pub`` of the clone the
command runs in, to be committed: every official record is verified against it. ``--rotate``
replaces an existing public key (after a compromise): records signed with the old key are then
refused until they are re-signed or re-run (docs/trust.md, "Rotating the key").
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from disbench.error import SigningError
from disbench.files import missing_folder
from disbench.harness.record.signing import DEFAULT_PUBLIC_KEY, KEY_ENV, generate_keypair, load_public_key


def default_private_path(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/disbench/runner-key.pem``, else ``~/.config/disbench/runner-key.pem``."""
    env = os.environ if env is None else env
    config = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return config / "disbench" / "runner-key.pem"


def enclosing_work_tree(path: Path) -> Path | None:
    """The top of the git work tree holding ``path`` (a folder with a ``.git`` folder or file), or None."""
    path = Path(path).resolve()
    return next((folder for folder in (path, *path.parents) if (folder / ".git").exists()), None)


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """``SHA256:<base64>`` of the raw public key, to compare the committed key with the runner's by eye."""
    digest = hashlib.sha256(public_key.public_bytes_raw()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


@dataclass(frozen=True)
class NewKey:
    private: Path
    public: Path
    fingerprint: str
    replaced: str | None  # the old public key's fingerprint, when rotating

    def report(self) -> str:
        """What was written and what to do next; names paths and fingerprints, never the key."""
        lines = [f"wrote the runner's private key to {self.private} (mode 0600, outside any git work tree): it stays on this machine",
                 f"wrote the public key to {self.public} ({self.fingerprint}): commit it, it is the board's trust root"]
        if self.replaced:
            lines.append(f"it replaces the key {self.replaced}: records signed with that key are refused until re-signed (docs/trust.md, 'Rotating the key')")
        lines.append(f"sign records with: {KEY_ENV}={self.private} disbench sign RECORD... --public-key {self.public}")
        return "\n".join(lines)


def _private_folder(private: Path) -> None:
    """Create the private key's folder as 0700 if it is missing (an existing one is left as it is)."""
    if not private.parent.exists():
        private.parent.mkdir(parents=True, mode=0o700)
        private.parent.chmod(0o700)


def init_keys(private: str | os.PathLike[str] | None = None, public: str | os.PathLike[str] = DEFAULT_PUBLIC_KEY, rotate: bool = False) -> NewKey:
    """Write the runner's key pair: the private file outside any git work tree, the public one at ``public``.

    Without ``rotate`` an existing public key is an error (a runner key exists already); with it, the
    public key is replaced only once the new private key is safely written. A private key is never
    overwritten.
    """
    private = Path(private).expanduser() if private is not None else default_private_path()
    public = Path(public)
    tree = enclosing_work_tree(private)
    if tree is not None:
        raise SigningError(f"{private} is inside the git work tree {tree}, where a `git add` could commit it; "
                           f"choose a path outside every clone, e.g. the default {default_private_path()}.")
    if not public.parent.is_dir():
        raise SigningError(f"The folder {public.parent} for the public key {missing_folder(public.parent)}; run `disbench keys init` from the root of the disbench clone "
                           "(the key goes to leaderboards/runner-key.pub), or give --public a path in an existing folder.")
    replaced = None
    if public.exists():
        if not rotate:
            raise SigningError(f"{public} exists already: this board has a runner key. Sign with its private key; "
                               "to replace it (a lost or leaked key), add --rotate and read docs/trust.md, 'Rotating the key', first.")
        try:
            replaced = fingerprint(load_public_key(public))
        except SigningError:
            replaced = f"in {public} (unreadable)"
    elif rotate:
        raise SigningError(f"--rotate replaces an existing public key, but {public} does not exist; run `disbench keys init` without --rotate.")
    if private.exists():
        raise SigningError(f"{private} already exists; private keys are never overwritten. Move it away, or choose another --private path.")
    _private_folder(private)
    staged = public.with_name(f".{public.name}.new-{os.getpid()}")
    generate_keypair(private, staged)
    os.replace(staged, public)
    return NewKey(private.resolve(), public, fingerprint(load_public_key(public)), replaced)
