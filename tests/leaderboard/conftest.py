"""Fixtures for the leaderboard tests: records made from a committed baseline, tiny submission folders."""

from __future__ import annotations

import contextlib
import copy
import functools
import http.server
import json
import shutil
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import pytest

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "leaderboards" / "results" / "xysquares-mse-v0" / "beta-vae" / "quick" / "seed-0.json"


def make_submission(root: Path, name: str, supervision: str = "unsupervised", body: str = "# model\n", description: str = "a test submission") -> Path:
    """A submission folder that loads (schema only; nothing imports its model here)."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "submission.toml").write_text(
        f'name = "{name}"\nversion = "1.0.0"\nauthors = ["Test Author"]\ndescription = "{description}"\nlicence = "MIT"\n'
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


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep pytest's output clean
        pass


@contextlib.contextmanager
def serving(folder: Path) -> Iterator[str]:
    """``folder`` served on a free localhost port while the block runs; yields its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def browser():
    """Headless Debian chromium through selenium (skipped where either is missing; CI installs both)."""
    found = (shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver"))
    if not all(found):
        pytest.skip("chromium and chromedriver are not installed (Debian: apt-get install chromium chromium-driver); CI installs them")
    pytest.importorskip("selenium", reason="selenium is not installed (pip install -e '.[test]')")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for arg in ("--headless=new", "--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage", "--window-size=1280,1600"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(found[1]), options=options)
    yield driver
    driver.quit()


def too_wide(browser, base: str, pages: list[str], widths: tuple[int, ...] = (1280, 400)) -> list[str]:
    """The pages whose document is wider than the window (it scrolls sideways) at any of ``widths``."""
    found = []
    try:
        for width in widths:
            browser.set_window_size(width, 900)
            for page in pages:
                browser.get(urljoin(base, page))
                scroll, window = browser.execute_script("return [document.documentElement.scrollWidth, document.documentElement.clientWidth];")
                if scroll > window:
                    found.append(f"{page} at {width} px: {scroll} > {window}")
    finally:
        browser.set_window_size(1280, 1600)
    return found


class PageTables(HTMLParser):
    """Every table of a page: its title (the caption paragraph before it), headers, rows as (classes, cell texts), and
    ``details``: per row, each cell's smaller lines (``span.detail``: each seed's value), which its text leaves out."""

    def __init__(self, html: str):
        super().__init__()
        self.tables: list[dict] = []
        self._title, self._in, self._text, self._row, self._lines, self._detail = "", None, [], None, [], None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "p" and a.get("class") == "caption" or tag in ("th", "td"):
            self._in, self._text, self._lines = tag, [], []
        elif tag == "table":
            self.tables.append({"title": self._title or f"#{len(self.tables)}", "headers": [], "rows": [], "details": []})
            self._title = ""
        elif tag == "tr" and self.tables:
            self._row = (a.get("class") or "", [], [])
        elif tag == "span" and a.get("class") == "detail" and self._in == "td":
            self._detail = []

    def handle_data(self, data):
        if self._detail is not None:
            self._detail.append(data)
        elif self._in:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "span" and self._detail is not None:
            self._lines.append(" ".join("".join(self._detail).split()))
            self._detail = None
            return
        text = " ".join("".join(self._text).split())
        if tag == "p" and self._in == "p":
            self._title, self._in = text, None
        elif tag == "th" and self._in == "th":
            self.tables[-1]["headers"].append(text.replace(" ↕", ""))
            self._in = None
        elif tag == "td" and self._in == "td":
            self._row[1].append(text)
            self._row[2].append(tuple(self._lines))
            self._in = None
        elif tag == "tr" and self._row is not None:
            if self._row[1]:
                self.tables[-1]["rows"].append(self._row[:2])
                self.tables[-1]["details"].append(self._row[2])
            self._row = None
