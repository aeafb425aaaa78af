"""The static site: built from a tiny results folder plus the committed records, then checked in headless chromium."""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

from disbench.leaderboard.aggregate import aggregate
from disbench.leaderboard.errors import LeaderboardError
from disbench.leaderboard.site import SiteOptions, build_site
from disbench.leaderboard.store import CheckContext, Source, load_board
from tests.leaderboard.conftest import REPO, copy_baselines, make_submission, record_dict, write_record

ANALYSED = ["xysquares-mse-v0", "dsprites-mse-v0"]


def _png(path: Path, color: tuple[int, int, int]) -> None:
    from PIL import Image

    Image.new("RGB", (48, 16), color).save(path)


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """Committed records + a test submission with a traversal picture and curves, a stale one, a local run, a pending folder."""
    from disbench.harness.submission import Submission

    root = tmp_path_factory.mktemp("site")
    results, subs, local, out = root / "results", root / "submissions", root / "local", root / "site"
    copy_baselines(results)
    for name in ("beta-vae", "ada-gvae"):
        shutil.copytree(REPO / "submissions" / name, subs / name, ignore=shutil.ignore_patterns("__pycache__"))
    gamma = Submission(make_submission(subs, "gamma")).content_hash()
    for seed, mig in ((0, 0.31), (1, 0.35)):
        rec = write_record(results, record_dict("xysquares-mse-v0", "gamma", seed, {"mig": mig, "dci.disentanglement": 0.5}, gamma))
        _png(rec.with_name(f"seed-{seed}.traversals.png"), (200, 40 * seed, 40))
        rec.with_name(f"seed-{seed}.curves.jsonl").write_text("".join(json.dumps({"step": s, "loss": 1.0 / s}) + "\n" for s in (10, 20, 30)))
    write_record(results, record_dict("xysquares-mse-v0", "stale-one", 0, {"mig": 0.9}, "b" * 64))
    make_submission(subs, "stale-one")
    make_submission(subs, "pending-one")
    write_record(local, record_dict("xysquares-boxblur-v0", "gamma", 0, {"mig": 0.7}, gamma))
    broken = results / "xysquares-mse-v0" / "gamma" / "quick" / "seed-7.json"
    broken.write_text("{ truncated")
    board = load_board([Source(results, "official"), Source(local, "local")], CheckContext(submissions_dir=subs))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DISBENCH_DATA", str(root / "no-data"))  # stored datasets: "data not prepared", whatever this machine holds
        files = build_site(aggregate(board), out, SiteOptions(submissions_dir=subs, analyse=ANALYSED, cache_dir=root / "cache"))
    return {"out": out, "files": files, "root": root, "board": board}


def test_site_has_every_page_and_the_pictures(site):
    out, files = site["out"], set(site["files"])
    for page in ("index.html", "ladder.html", "submit.html", "protocols.html", "pending.html", "records.html",
                 "tasks/xysquares-mse-v0.html", "tasks/dsprites-mse-v0.html", "submissions/gamma.html", "submissions/beta-vae.html"):
        assert page in files and (out / page).is_file(), page
    assert {"img/traversals/xysquares-mse-v0/gamma/official/quick/seed-0.png", "img/tasks/xysquares-mse-v0/matrices.png",
            "img/tasks/xysquares-mse-v0/samples.png", "img/ladder-quick.png", "img/submissions/gamma/curves-quick.png"} <= files
    task = (out / "tasks/xysquares-mse-v0.html").read_text()
    assert "adversarial" in task and "0.330 ± 0.028" in task  # gamma: mean of 0.31 and 0.35, std 0.0283
    assert 'marker-stale' in task and "stale-one" in task
    assert "data not prepared" in (out / "tasks/dsprites-mse-v0.html").read_text()
    assert "marker-local" in (out / "tasks/xysquares-boxblur-v0.html").read_text()
    assert "pending-one" in (out / "pending.html").read_text() and "gamma" not in (out / "pending.html").read_text()
    records = (out / "records.html").read_text()
    assert "xysquares-mse-v0/gamma/quick/seed-7.json" in records and "not a readable JSON file" in records
    ladder = (out / "ladder.html").read_text()
    assert "0.72–0.91 (fit ≈0.87)" in ladder  # the paper's Ada-GVAE MIG at spacing 1, beside the board's
    assert not re.search(r'(src|href)="(https?:)?//', re.sub(r'<a href="https?://[^"]*"', "", "".join((out / f).read_text() for f in files if f.endswith(".html"))))


def test_site_build_never_overwrites_a_foreign_folder(site, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(LeaderboardError, match="was not made by `disbench site build`"):
        build_site(aggregate(site["board"]), tmp_path, SiteOptions(analyse=[]))
    assert (tmp_path / "notes.txt").read_text() == "mine"


def _chromium() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@pytest.fixture(scope="session")
def served(site):
    handler = functools.partial(_QuietHandler, directory=str(site["out"]))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep pytest's output clean
        pass


@pytest.fixture(scope="session")
def browser():
    found = _chromium()
    if found is None:
        pytest.skip("chromium and chromedriver are not installed (Debian: apt-get install chromium chromium-driver); CI installs them")
    selenium = pytest.importorskip("selenium", reason="selenium is not installed (pip install -e '.[test]')")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for arg in ("--headless=new", "--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage", "--window-size=1280,1600"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(found[1]), options=options)
    assert selenium.__version__
    yield driver
    driver.quit()


def test_every_page_loads_without_errors_with_images_and_working_links(site, served, browser):
    pages = sorted(f for f in site["files"] if f.endswith(".html"))
    problems = []
    for page in pages:
        browser.get(urljoin(served, page))
        errors = [e["message"] for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        problems += [f"{page}: console: {m}" for m in errors]
        broken = browser.execute_script(
            "return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'));")
        problems += [f"{page}: image did not load: {src}" for src in broken]
        for href in browser.execute_script("return Array.from(document.querySelectorAll('a[href]')).map(a => a.href);"):
            url = urlparse(href)
            if url.scheme in ("http", "https") and url.netloc == urlparse(served).netloc:
                target = site["out"] / url.path.lstrip("/")
                if not target.is_file():
                    problems.append(f"{page}: broken link {href}")
    assert not problems, "\n".join(problems)
    assert len(pages) >= 10


def test_clicking_a_header_sorts_and_a_screenshot_is_kept(site, served, browser):
    from selenium.webdriver.common.by import By

    browser.get(urljoin(served, "tasks/xysquares-mse-v0.html"))
    table = browser.find_element(By.CSS_SELECTOR, "table.sortable")

    def names():
        return [row.find_elements(By.TAG_NAME, "td")[1].text for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")]

    before = names()
    assert len(before) >= 3
    header = [h for h in table.find_elements(By.CSS_SELECTOR, "thead th") if h.text.startswith("submission")][0]
    header.click()
    ascending = names()
    assert ascending == sorted(before, key=str.lower) and ascending != before
    header.click()
    assert names() == ascending[::-1]

    artifacts = Path(os.environ.get("DISBENCH_ARTIFACTS") or site["root"] / "artifacts")
    artifacts.mkdir(parents=True, exist_ok=True)
    for page, name in (("tasks/xysquares-mse-v0.html", "task"), ("index.html", "index"), ("ladder.html", "ladder")):
        browser.get(urljoin(served, page))
        shot = artifacts / f"leaderboard-{name}.png"
        assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    print(f"screenshots in {artifacts}")


def test_local_runs_folder_supplies_traversals_and_curves(workspace):
    results, runs = workspace["results"], workspace["root"] / "runs"
    write_record(results, record_dict("xysquares-s1-mse-v0", "alpha", 0, {"mig": 0.4}, workspace["hashes"]["alpha"]))
    run = runs / "xysquares-s1-mse-v0" / "alpha" / "quick" / "seed-0"
    run.mkdir(parents=True)
    _png(run / "traversals.png", (10, 200, 10))
    (run / "curves.jsonl").write_text('{"step": 1, "loss": 2.0}\n{"step": 2, "loss": 1.5}\n')
    board = load_board([Source(results, "local")], CheckContext(submissions_dir=workspace["submissions"]))
    out = workspace["root"] / "site"
    files = build_site(aggregate(board), out, SiteOptions(submissions_dir=workspace["submissions"], runs_dir=runs, analyse=[]))
    picture = "img/traversals/xysquares-s1-mse-v0/alpha/local/quick/seed-0.png"
    assert picture in files and (out / picture).read_bytes() == (run / "traversals.png").read_bytes()
    assert "img/submissions/alpha/curves-quick.png" in files
    page = (out / "submissions/alpha.html").read_text()
    assert 'marker-local' in page and "curves-quick.png" in page
    rebuilt = build_site(aggregate(board), out, SiteOptions(submissions_dir=workspace["submissions"], analyse=[]))
    assert picture not in rebuilt and not (out / picture).exists()  # a rebuild replaces the whole folder
