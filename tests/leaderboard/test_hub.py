"""The Hub, offline: the exact commit plan, one commit through a fake client, and clear refusals."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, DatasetCard

from disbench.cli import main
from disbench.leaderboard import hub
from disbench.leaderboard.aggregate import aggregate
from disbench.leaderboard.errors import HubError
from disbench.leaderboard.store import CheckContext, Source, load_board
from tests.leaderboard.conftest import record_dict, write_record


class FakeHub:
    """Records what would have been sent to a Hub repo that already holds ``existing``."""

    def __init__(self, existing=()):
        self.calls = []
        self.existing = list(existing)

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))

    def repo_info(self, repo_id, **kwargs):
        self.calls.append(("repo_info", repo_id, kwargs))
        return SimpleNamespace(sha="head0")

    def list_repo_files(self, repo_id, **kwargs):
        self.calls.append(("list_repo_files", repo_id, kwargs))
        return list(self.existing)

    def create_commit(self, repo_id, operations, **kwargs):
        self.calls.append(("create_commit", repo_id, list(operations), kwargs))
        return "https://huggingface.co/datasets/org/board/commit/abc"


@pytest.fixture
def published(workspace):
    results, runs = workspace["results"], workspace["root"] / "runs"
    a = write_record(results, record_dict("xysquares-mse-v0", "alpha", 0, {"mig": 0.1}, workspace["hashes"]["alpha"]))
    a.with_name("seed-0.traversals.png").write_bytes(b"\x89PNG fake picture")
    write_record(results, record_dict("xysquares-boxblur-v0", "alpha", 1, {"mig": 0.2}, workspace["hashes"]["alpha"]))
    bad = write_record(results, record_dict("xysquares-mse-v0", "beta", 0, {"mig": 0.3}, workspace["hashes"]["beta"]))
    bad.write_text("{broken")
    ckpt = runs / "xysquares-mse-v0" / "alpha" / "quick" / "seed-0" / "checkpoint.pt"
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b"weights")
    local = workspace["root"] / "local"
    write_record(local, record_dict("xysquares-s1-mse-v0", "alpha", 0, {"mig": 0.5}, workspace["hashes"]["alpha"]))
    board = load_board([Source(results, "official"), Source(local, "local")], CheckContext(submissions_dir=workspace["submissions"]))
    return {"board": board, "runs": runs, "a": a}


DATA = ["data/curves.parquet", "data/records.parquet", "data/scores.parquet", "data/summary.parquet"]
RECORDS = ["results/xysquares-boxblur-v0/alpha/quick/seed-1.json", "results/xysquares-mse-v0/alpha/quick/seed-0.json",
           "results/xysquares-mse-v0/alpha/quick/seed-0.traversals.png"]


def test_records_plan_has_exact_paths_and_bytes(published):
    plan = hub.records_plan(published["board"], runs_dir=published["runs"])
    assert [f.path_in_repo for f in plan] == ["checkpoints/xysquares-mse-v0/alpha/quick/seed-0.pt", *RECORDS]  # not the refused or local record
    by = {f.path_in_repo: f.data for f in plan}
    assert by["checkpoints/xysquares-mse-v0/alpha/quick/seed-0.pt"] == b"weights"
    assert by["results/xysquares-mse-v0/alpha/quick/seed-0.json"] == published["a"].read_bytes()
    assert by["results/xysquares-mse-v0/alpha/quick/seed-0.traversals.png"] == b"\x89PNG fake picture"

    ops = hub.operations(plan, ["old.json"])
    assert [(o.path_in_repo, o.path_or_fileobj) for o in ops[:-1]] == [(f.path_in_repo, f.data) for f in plan]
    assert isinstance(ops[-1], CommitOperationDelete) and ops[-1].path_in_repo == "old.json"


def test_dataset_plan_adds_one_parquet_file_per_config_and_a_card_that_names_them(published):
    plan = hub.dataset_plan(aggregate(published["board"]), "org/board")
    assert [f.path_in_repo for f in plan] == ["README.md", *DATA, *RECORDS]
    card = DatasetCard({f.path_in_repo: f for f in plan}["README.md"].data.decode())
    meta = card.data.to_dict()
    assert [(c["config_name"], c["data_files"]) for c in meta["configs"]] == [
        (name, [{"split": "train", "path": f"data/{name}.parquet"}]) for name in ("scores", "records", "curves", "summary")]
    assert meta["configs"][0].get("default") is True and meta["license"] == "mit"
    assert meta["task_categories"] == ["image-feature-extraction"] and meta["size_categories"] == ["n<1K"] and "leaderboard" in meta["tags"]
    assert 'load_dataset("org/board", "scores", split="train")' in card.text and "2 records, 0 of them verified" in card.text
    assert "Tiers (`standard`, `extended`, `quick`, `smoke`) are never mixed." in " ".join(card.text.split())  # every tier, from the protocol
    again = hub.dataset_plan(aggregate(published["board"]), "org/board")
    assert [(f.path_in_repo, f.sha256) for f in again] == [(f.path_in_repo, f.sha256) for f in plan]  # same board, same bytes


def test_commit_adds_the_plan_and_deletes_what_it_no_longer_has(published):
    plan = hub.dataset_plan(aggregate(published["board"]), "org/board")
    existing = [".gitattributes", "README.md", "data/scores.parquet", "results/xysquares-mse-v0/alpha/quick/seed-0.json",
                "results/xysquares-s3-mse-v0/alpha/quick/seed-0.json",  # a record no longer on the board
                "checkpoints/xysquares-mse-v0/alpha/quick/seed-0.pt",  # a checkpoint of a record still published: kept without --runs
                "checkpoints/xysquares-s3-mse-v0/alpha/quick/seed-0.pt", "summary.parquet"]
    fake = FakeHub(existing)
    done = hub.commit(fake, "org/board", plan, "dataset", "update")
    assert done.deleted == ["checkpoints/xysquares-s3-mse-v0/alpha/quick/seed-0.pt", "results/xysquares-s3-mse-v0/alpha/quick/seed-0.json",
                            "summary.parquet"]
    assert [c[0] for c in fake.calls] == ["create_repo", "repo_info", "list_repo_files", "create_commit"]
    assert fake.calls[0] == ("create_repo", "org/board", {"repo_type": "dataset", "exist_ok": True})
    assert fake.calls[2][2] == {"repo_type": "dataset", "revision": "head0"}
    kind, repo, ops, kwargs = fake.calls[3]
    assert kwargs == {"commit_message": "update", "repo_type": "dataset", "parent_commit": "head0"}
    assert [o.path_in_repo for o in ops if isinstance(o, CommitOperationAdd)] == [f.path_in_repo for f in plan]
    assert [o.path_in_repo for o in ops if isinstance(o, CommitOperationDelete)] == done.deleted


def test_nothing_accepted_is_nothing_to_publish(workspace):
    board = load_board([Source(workspace["results"], "official")], CheckContext(submissions_dir=workspace["submissions"]))
    with pytest.raises(HubError, match="no accepted official records"):
        hub.dataset_plan(aggregate(board), "org/board")


def test_checkpoint_that_does_not_match_the_record_is_refused(published, workspace):
    raw = record_dict("xysquares-mse-v0", "alpha", 0, {"mig": 0.1}, workspace["hashes"]["alpha"])
    raw["checkpoint_sha256"] = "0" * 64
    write_record(workspace["results"], raw)
    board = load_board([Source(workspace["results"], "official")], CheckContext(submissions_dir=workspace["submissions"]))
    with pytest.raises(HubError, match="does not match the record's checkpoint_sha256"):
        hub.records_plan(board, runs_dir=published["runs"])


def test_site_plan_needs_a_built_site(tmp_path):
    with pytest.raises(HubError, match="run `disbench site build --out"):
        hub.site_plan(tmp_path)
    (tmp_path / ".disbench-site").write_text("x")
    (tmp_path / "index.html").write_text("<html>")
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(b"png")
    assert [(f.path_in_repo, f.data) for f in hub.site_plan(tmp_path)] == [("img/a.png", b"png"), ("index.html", b"<html>")]


def test_offline_or_tokenless_fails_at_once_naming_what_to_set():
    with pytest.raises(HubError, match="HF_HUB_OFFLINE=1 is set.*unset HF_HUB_OFFLINE"):
        hub.require_token({"HF_HUB_OFFLINE": "1", "HF_TOKEN": "hf_secret"})
    with pytest.raises(HubError, match="set HF_TOKEN"):
        hub.require_token({})
    assert hub.require_token({"HF_TOKEN": "hf_x"}) == "hf_x"
    with pytest.raises(HubError, match="ORG/NAME"):
        hub.check_repo_id("no-slash")


def test_pull_uses_the_download_function_and_checks_the_layout(tmp_path):
    def download(repo_id, **kwargs):
        assert repo_id == "org/board" and kwargs["repo_type"] == "dataset"
        (tmp_path / "snap" / "results").mkdir(parents=True)
        return str(tmp_path / "snap")

    assert hub.pull("org/board", tmp_path / "snap", download=download, env={}) == tmp_path / "snap" / "results"
    with pytest.raises(HubError, match="HF_HUB_OFFLINE=1"):
        hub.pull("org/board", tmp_path, download=download, env={"HF_HUB_OFFLINE": "1"})


def test_cli_dry_run_prints_the_plan_and_never_the_token(published, workspace, monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", "hf_do_not_print_me")
    rc = main(["publish", "--repo", "org/board", "--dry-run", "--official", str(workspace["results"]), "--submissions", str(workspace["submissions"])])
    out = capsys.readouterr()
    assert rc == 0
    assert "results/xysquares-mse-v0/alpha/quick/seed-0.json" in out.out and "dry run: nothing was sent" in out.out
    assert "hf_do_not_print_me" not in out.out + out.err
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["publish", "--repo", "org/board", "--official", str(workspace["results"])]) == 2
    err = capsys.readouterr().err
    assert "HF_HUB_OFFLINE=1 is set" in err and "hf_do_not_print_me" not in err


@pytest.fixture
def fake_hub():
    """A local HTTP server that answers every Hub request with one status (404 'RepoNotFound' or 401), and the
    endpoint of a closed port: the real huggingface_hub client's failures, offline."""
    import http.server
    import socket
    import threading

    servers = {}

    def serve(status: int, headers: dict[str, str]) -> str:
        class Answer(http.server.BaseHTTPRequestHandler):
            def answer(self):
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(b'{"error": "Invalid credentials in Authorization header"}' if status == 401 else b'{"error": "Repository not found"}')

            do_GET = do_HEAD = do_POST = answer

            def log_message(self, *args):
                pass

        server = http.server.HTTPServer(("127.0.0.1", 0), Answer)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers[status] = server
        return f"http://127.0.0.1:{server.server_port}"

    with socket.socket() as s:  # a port nothing listens on once closed
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    yield {"missing": serve(404, {"X-Error-Code": "RepoNotFound"}), "refusing": serve(401, {}), "busy": serve(503, {}),
           "moved": serve(412, {}), "closed": closed}
    for server in servers.values():
        server.shutdown()


def test_pull_and_publish_say_what_failed_at_the_hub_in_one_line(fake_hub, tmp_path):
    """The real client against a missing repo, a refusing Hub and no connection: a HubError naming the repo and the fix."""
    from functools import partial

    from huggingface_hub import HfApi, snapshot_download

    def pull_from(endpoint):
        return hub.pull("org/board", tmp_path / "snap", download=partial(snapshot_download, endpoint=endpoint), env={})

    with pytest.raises(HubError, match=r"^The Hub has no repo org/board that can be read here: check the name"):
        pull_from(fake_hub["missing"])
    with pytest.raises(HubError, match=r"^Could not reach the Hugging Face Hub to download org/board \(.+\); check the internet connection"):
        pull_from(fake_hub["closed"])
    plan = [hub.PlannedFile("results/a.json", b"{}", "a.json")]
    with pytest.raises(HubError, match=r"^The Hub refused to publish to org/board \(HTTP 401: .*Invalid credentials.*\); check that HF_TOKEN"):
        hub.commit(HfApi(endpoint=fake_hub["refusing"], token="hf_test"), "org/board", plan, "dataset", "test")
    with pytest.raises(HubError, match=r"^The Hub refused to publish to org/board \(HTTP 503: .*\); the Hub is busy or failing: try again later"):
        hub.commit(HfApi(endpoint=fake_hub["busy"], token="hf_test"), "org/board", plan, "dataset", "test")
    with pytest.raises(HubError, match=r"^The Hub refused to publish to org/board \(HTTP 412: .*\); the repo changed while this ran"):
        hub.commit(HfApi(endpoint=fake_hub["moved"], token="hf_test"), "org/board", plan, "dataset", "test")
    with pytest.raises(HubError, match=r"^Could not reach the Hugging Face Hub to publish to org/board"):
        hub.commit(HfApi(endpoint=fake_hub["closed"], token="hf_test"), "org/board", plan, "dataset", "test")
    assert not (tmp_path / "snap" / "results").exists()


def test_pull_checks_its_out_folder_before_downloading(tmp_path, capsys, monkeypatch):
    (tmp_path / "file").write_text("mine\n")

    def no_download(*args, **kwargs):
        raise AssertionError("downloaded before --out was checked")

    monkeypatch.setattr(hub, "pull", no_download)
    assert main(["leaderboard", "pull", "--repo", "org/board", "--out", str(tmp_path / "file")]) == 2
    assert f"The --out folder {tmp_path / 'file'} is a file, not a folder" in capsys.readouterr().err


def test_a_failed_pull_leaves_no_folder_it_made(tmp_path, capsys, monkeypatch):
    def failing_pull(repo_id, local_dir):
        (local_dir / ".cache").mkdir()  # what the client writes before it fails
        raise HubError("Could not reach the Hugging Face Hub")

    monkeypatch.setattr(hub, "pull", failing_pull)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kept").mkdir()
    for out in ("runs/hub", "kept"):
        assert main(["leaderboard", "pull", "--repo", "org/board", "--out", out]) == 2
        assert "Could not reach the Hugging Face Hub" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"] and (tmp_path / "kept" / ".cache").is_dir()  # the user's folder stays
