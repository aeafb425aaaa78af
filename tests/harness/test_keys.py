"""``disbench keys init``: the trust root, with throwaway keys in temporary folders."""

from __future__ import annotations

import stat

import pytest

from disbench.cli import main
from disbench.error import SigningError
from disbench.harness.record import load_record, write_record
from disbench.harness.record.keys import default_private_path, enclosing_work_tree, fingerprint, init_keys
from disbench.harness.record.signing import KEY_ENV, keys_generate, load_private_key, load_public_key, sign, verify
from tests.leaderboard.conftest import TEMPLATE


@pytest.fixture
def clone(tmp_path, monkeypatch):
    """A folder that looks like a clone (``.git`` and ``leaderboards/``), the current folder, with a private config home."""
    root = tmp_path / "clone"
    (root / ".git").mkdir(parents=True)
    (root / "leaderboards").mkdir()
    monkeypatch.chdir(root)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    return root


def test_init_writes_the_private_key_outside_the_clone_and_the_public_key_into_it(clone, tmp_path, monkeypatch, capsys):
    assert main(["keys", "init"]) == 0
    out = capsys.readouterr().out
    private = tmp_path / "home" / ".config" / "disbench" / "runner-key.pem"
    public = clone / "leaderboards" / "runner-key.pub"
    assert private.is_file() and public.is_file()
    assert stat.S_IMODE(private.stat().st_mode) == 0o600 and stat.S_IMODE(private.parent.stat().st_mode) == 0o700
    assert enclosing_work_tree(private) is None and enclosing_work_tree(public) == clone.resolve()
    body = private.read_text().splitlines()[1]  # the key's base64, which must never be printed
    assert body not in out and "PRIVATE" not in out
    key = load_public_key(public)
    assert fingerprint(key) in out and f"{KEY_ENV}={private}" in out
    monkeypatch.setenv(KEY_ENV, str(private))
    record = load_record(TEMPLATE)
    record.signature = sign(record, load_private_key())
    assert verify(record, key)


def test_a_private_key_inside_a_git_work_tree_is_refused(clone, capsys):
    (clone / "runs").mkdir()
    for inside in (clone / "runs" / "key.pem", clone / "new" / "folder" / "key.pem"):
        assert main(["keys", "init", "--private", str(inside)]) == 2
        err = capsys.readouterr().err
        assert f"is inside the git work tree {clone.resolve()}" in err and len(err.strip().splitlines()) == 1
    assert not (clone / "leaderboards" / "runner-key.pub").exists() and not (clone / "new").exists()
    worktree = clone / "wt"  # a linked worktree has a .git *file*
    worktree.mkdir()
    (worktree / ".git").write_text("gitdir: elsewhere\n")
    with pytest.raises(SigningError, match="inside the git work tree"):
        init_keys(worktree / "key.pem")


def test_an_existing_key_is_never_replaced_without_rotate(clone, tmp_path):
    first = init_keys()
    with pytest.raises(SigningError, match="this board has a runner key.*--rotate"):
        init_keys(tmp_path / "second.pem")
    assert not (tmp_path / "second.pem").exists() and fingerprint(load_public_key(first.public)) == first.fingerprint
    with pytest.raises(SigningError, match="private keys are never overwritten"):
        init_keys(first.private, rotate=True)
    with pytest.raises(SigningError, match="folder .*missing for the public key does not exist; .*give --public a path in an existing folder"):
        init_keys(tmp_path / "third.pem", public=clone / "missing" / "runner-key.pub")
    (tmp_path / "a-file").write_text("")
    with pytest.raises(SigningError, match="folder .*a-file for the public key is a file, not a folder"):
        init_keys(tmp_path / "third.pem", public=tmp_path / "a-file" / "runner-key.pub")
    with pytest.raises(SigningError, match="The folder .*a-file is a file, not a folder; give a key path in a folder"):
        keys_generate(tmp_path / "a-file" / "k.pem", tmp_path / "k.pub")


def test_rotate_replaces_the_public_key_and_old_signatures_stop_verifying(clone, tmp_path, monkeypatch):
    with pytest.raises(SigningError, match="does not exist; run `disbench keys init` without --rotate"):
        init_keys(rotate=True)
    old = init_keys()
    monkeypatch.setenv(KEY_ENV, str(old.private))
    record = load_record(TEMPLATE)
    record.signature = sign(record, load_private_key())
    write_record(record, tmp_path / "signed.json")
    new = init_keys(tmp_path / "rotated.pem", rotate=True)
    assert new.replaced == old.fingerprint and new.fingerprint != old.fingerprint and old.private.is_file()
    assert "it replaces the key " + old.fingerprint in new.report()
    assert not verify(load_record(tmp_path / "signed.json"), load_public_key(new.public))
    assert [p.name for p in (clone / "leaderboards").iterdir()] == ["runner-key.pub"]  # no staged file left behind


def test_default_private_path_follows_xdg(tmp_path):
    assert default_private_path({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "disbench" / "runner-key.pem"
    assert default_private_path({}).parts[-3:] == (".config", "disbench", "runner-key.pem")


def test_after_rotating_sign_replaces_the_old_signature(clone, tmp_path, monkeypatch):
    from disbench.harness.record import sign as sign_module

    monkeypatch.setattr(sign_module, "refusal", lambda *args: None)  # the run's own checks are test_sign's business
    monkeypatch.setattr(sign_module, "code_digest", lambda: "digest")
    old = init_keys()
    path = write_record(load_record(TEMPLATE), tmp_path / "seed-0.json")
    monkeypatch.setenv(KEY_ENV, str(old.private))
    assert [r.detail for r in sign_module.sign_records([path])][0].startswith("beta-vae on xysquares-mse-v0")
    new = init_keys(tmp_path / "rotated.pem", rotate=True)
    monkeypatch.setenv(KEY_ENV, str(new.private))
    assert not verify(load_record(path), load_public_key(new.public))
    (result,) = sign_module.sign_records([path], public_key=new.public)
    assert result.ok and verify(load_record(path), load_public_key(new.public))
    assert sign_module.sign_records([path])[0].detail == "already signed with this key"
