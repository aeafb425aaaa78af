"""The static site: built from a tiny results folder plus the committed records, then checked in headless chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

from disbench.leaderboard.aggregate import aggregate
from disbench.leaderboard.errors import LeaderboardError
from disbench.leaderboard.site import SiteOptions, build_site
from disbench.leaderboard.store import CheckContext, Source, load_board
from tests.leaderboard.conftest import (
    REPO,
    PageTables,
    copy_baselines,
    make_submission,
    record_dict,
    serving,
    signed,
    too_wide,
    write_record,
)

ANALYSED = ["xysquares-mse-v0", "dsprites-mse-v0"]
REPRODUCTION = (REPO / "reproduction" / "results", REPO / "leaderboards" / "results")  # the committed reproduction, as `site build` reads it in a clone


def _png(path: Path, color: tuple[int, int, int]) -> None:
    from PIL import Image

    Image.new("RGB", (48, 16), color).save(path)


@pytest.fixture(scope="session")
def site(tmp_path_factory, runner_key):
    """Committed records (unsigned) + gamma, signed with a throwaway key, with traversal pictures, curves and
    hyperparameters; a hand-made one-seed record; a stale one, a local run, a pending folder and a broken record."""
    from disbench.harness.submission import Submission

    private, public = runner_key
    root = tmp_path_factory.mktemp("site")
    results, subs, local, out = root / "results", root / "submissions", root / "local", root / "site"
    copy_baselines(results)
    for name in ("beta-vae", "ada-gvae"):
        shutil.copytree(REPO / "submissions" / name, subs / name, ignore=shutil.ignore_patterns("__pycache__"))
    gamma = Submission(make_submission(subs, "gamma")).content_hash()
    for seed, mig in ((0, 0.31), (1, 0.35)):
        metrics = {"mig": mig, "dci.disentanglement": 0.5, "dci.gated": 0.4, "dci.informativeness_baseline": 0.2}  # names the board does not know
        raw = record_dict("xysquares-mse-v0", "gamma", seed, metrics, gamma)
        raw["submission"]["hyperparameters"] = {"beta": 0.004, "latent_dim": 7}
        raw["curve"] = {"mig": [[10, 0.1], [20, mig + 0.05], [30, mig - 0.01]], "dci.gated": [[10, 0.3], [30, 0.4]]}
        raw["max_during_training"] = {"mig": mig + 0.05, "dci.gated": 0.4}
        rec = write_record(results, signed(raw, private))
        _png(rec.with_name(f"seed-{seed}.traversals.png"), (200, 40 * seed, 40))
        rec.with_name(f"seed-{seed}.curves.jsonl").write_text("".join(json.dumps({"step": s, "loss": 1.0 / s}) + "\n" for s in (10, 20, 30)))
    hand = Submission(make_submission(subs, "hand")).content_hash()
    write_record(results, record_dict("xysquares-mse-v0", "hand", 0, {"mig": 0.99, "dci.disentanglement": 0.99}, hand))
    write_record(results, record_dict("xysquares-mse-v0", "stale-one", 0, {"mig": 0.9}, "b" * 64))
    make_submission(subs, "stale-one")
    make_submission(subs, "pending-one", description="A plain convolutional autoencoder with no regulariser at all: its code is the representation")
    write_record(local, record_dict("xysquares-boxblur-v0", "gamma", 0, {"mig": 0.7}, gamma))
    broken = results / "xysquares-mse-v0" / "gamma" / "quick" / "seed-7.json"
    broken.write_text("{ truncated")
    board = load_board([Source(results, "official"), Source(local, "local")], CheckContext(submissions_dir=subs, public_key_path=public))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DISBENCH_DATA", str(root / "no-data"))  # stored datasets: "data not prepared", whatever this machine holds
        files = build_site(aggregate(board), out, SiteOptions(submissions_dir=subs, analyse=ANALYSED, cache_dir=root / "cache",
                                                              reproduction=REPRODUCTION))
    return {"out": out, "files": files, "root": root, "board": board}


def _page_tables(site, page: str) -> dict[str, dict]:
    return {t["title"]: t for t in PageTables((site["out"] / page).read_text()).tables}


def test_site_has_every_page_and_the_pictures(site):
    out, files = site["out"], set(site["files"])
    for page in ("index.html", "ladder.html", "reproduction.html", "submit.html", "protocols.html", "pending.html", "records.html",
                 "tasks/xysquares-mse-v0.html", "tasks/dsprites-mse-v0.html", "submissions/gamma.html", "submissions/beta-vae.html"):
        assert page in files and (out / page).is_file(), page
    assert {"img/traversals/xysquares-mse-v0/gamma/official/quick/seed-0.png", "img/tasks/xysquares-mse-v0/matrices.png",
            "img/tasks/xysquares-mse-v0/samples.png", "img/ladder-quick.png", "img/submissions/gamma/curves-quick.png",
            "img/submissions/gamma/mig-quick.png", "img/submissions/ada-gvae/mig-quick.png"} <= files
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


def _markdown_tables(text: str) -> list[dict]:
    """The GitHub-style tables of a Markdown text: headers and rows of stripped cell texts."""
    tables, lines = [], text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|") and (i == 0 or not lines[i - 1].startswith("|")):
            block = []
            for row in lines[i:]:
                if not row.startswith("|"):
                    break
                block.append([c.strip() for c in row.strip().strip("|").split("|")])
            tables.append({"headers": block[0], "rows": block[2:]})
    return tables


def test_reproduction_page_is_docs_reproduction_md_as_tables_with_each_grids_figure(site):
    """Per grid of the reproduction, the site shows the claims and cells docs/reproduction.md's generated part shows (which
    tests/test_reproduction.py holds to the committed records) and the grid's figure, or the command that trains its runs."""
    from disbench.reproduction.summary import SECTIONS, generated_part

    html = (site["out"] / "reproduction.html").read_text()
    tables = _page_tables(site, "reproduction.html")
    markdown = generated_part(REPO / "docs" / "reproduction.md")
    with_records = 0
    for section in SECTIONS:
        part = markdown.split(f"### {section.title}\n", 1)[1].split("\n### ", 1)[0]
        anchor = f"{section.experiment}-{section.tier}-{section.average}"
        assert f'<section id="{anchor}">' in html and f'href="#{anchor}"' in html, anchor
        if part.strip().startswith("No records yet"):
            assert f"No records yet; <code>{section.command}</code> trains them." in html, section.title
            continue
        with_records += 1
        claims, cells, *beside = _markdown_tables(part)
        shown = tables[f"{section.title}: the paper's effects"]
        assert shown["headers"] == claims["headers"] and [r[1] for r in shown["rows"]] == claims["rows"], section.title
        shown = tables[f"{section.title}: each cell"]
        assert shown["headers"] == cells["headers"] and [r[1] for r in shown["rows"]] == cells["rows"], section.title
        assert len(beside) == bool(section.beside), section.title  # Ada-GVAE's paper averaging, beside the fixed one
        if beside:
            shown = tables[f"{section.title}: beside the {section.beside} averaging"]
            assert shown["headers"] == beside[0]["headers"] and [r[1] for r in shown["rows"]] == beside[0]["rows"], section.title
        assert f"img/reproduction/{anchor}.png" in site["files"] and (site["out"] / "img/reproduction" / f"{anchor}.png").is_file()
        assert part.strip().split(";", 1)[0] in html  # "32 runs (16 Ada-GVAE, 16 β-VAE)"
    grids = {s.experiment: html.split(f'<section id="{s.experiment}-{s.tier}-{s.average}">', 1)[1].split("</section>", 1)[0] for s in SECTIONS}
    assert "pools our runs at β = 0.0316 and 0.0001" in grids["boxblur"]  # what the pooled grid's n counts, and its collapsed arm
    assert "pools" not in grids["boxblur-b0.0001"] and "pools" not in grids["overlap"]
    assert all("The paper's setting: D = " in grid for grid in grids.values())
    assert with_records >= 3 and "sign shown" in html and "not shown" in html
    assert "reads the records in <code>reproduction/results</code>, <code>leaderboards/results</code>" in html  # clone-relative, no machine path
    linked = re.search(r'href="reproduction.html#([^"]+)"', (site["out"] / "ladder.html").read_text()).group(1)
    assert f'<section id="{linked}">' in html  # the ladder page points at the ladder's grid


def test_a_site_without_the_reproduction_says_so(site, tmp_path):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DISBENCH_DATA", str(tmp_path / "no-data"))
        build_site(aggregate(site["board"]), tmp_path / "site", SiteOptions(analyse=[], cache_dir=tmp_path / "cache"))
    page = (tmp_path / "site" / "reproduction.html").read_text()
    assert "This build leaves the reproduction out" in page and "<table" not in page


def test_site_build_never_overwrites_a_foreign_folder(site, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(LeaderboardError, match="was not made by `disbench site build`"):
        build_site(aggregate(site["board"]), tmp_path, SiteOptions(analyse=[]))
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_unverified_entries_are_marked_everywhere_and_never_outrank_verified_ones(site):
    task = _page_tables(site, "tasks/xysquares-mse-v0.html")["xysquares-mse-v0 (quick), unsupervised track"]
    rows = [(cells[0], cells[1], cells[-1], classes) for classes, cells in task["rows"]]
    # gamma (signed, MIG 0.33) ranks above beta-vae (unsigned) and the hand-made one-seed 0.99, which is flagged
    assert rows[:3] == [("1", "gamma", "2/2", ""), ("2", "beta-vae unverified", "2/2", "row-unverified"),
                        ("3", "hand unverified incomplete", "1/2", "row-unverified row-incomplete")]
    assert task["headers"][:3] == ["rank", "submission", "mig *"]
    index = _page_tables(site, "index.html")
    overall = index["Overall, unsupervised track (quick)"]["rows"]
    assert [c[:2] for _, c in overall] == [["1", "gamma"], ["2", "beta-vae unverified"], ["3", "hand unverified incomplete"]]
    gap = index["Adversarial gap (quick): mig on xysquares-boxblur-v0 minus on xysquares-mse-v0"]
    assert gap["rows"] and all(classes == "row-unverified" and " ± " in cells[1] and cells[1].endswith("(2)") for classes, cells in gap["rows"])
    ladder = _page_tables(site, "ladder.html")["mig against grid spacing (quick)"]
    assert "ada-gvae [unverified] (disbench, final)" in ladder["headers"] and "gamma (disbench, final)" in ladder["headers"]
    ladder_html = (site["out"] / "ladder.html").read_text()
    assert 'class="cell-unverified"' in ladder_html and "so the maximum can sit below it by sampling noise" in ladder_html


def test_every_page_states_the_rank_rule_and_task_ranks_match_the_index(site):
    pages = [f for f in site["files"] if f.endswith(".html")]
    for page in pages:
        assert "Ranks are within a tier and a supervision track" in (site["out"] / page).read_text(), page
    index = _page_tables(site, "index.html")
    for track in ("unsupervised", "weak-pairs"):
        for _, cells in index[f"Overall, {track} track (quick)"]["rows"]:
            name, mean_rank = cells[1].split()[0], float(cells[3])
            ranks = []
            for task in ("xysquares-mse-v0", "xysquares-s1-mse-v0", "xysquares-boxblur-v0"):
                table = _page_tables(site, f"tasks/{task}.html").get(f"{task} (quick), {track} track")
                ranks += [int(c[0]) for _, c in (table or {"rows": []})["rows"] if c[1].split()[0] == name and c[0] != "–"]
            if name == "ada-gvae":  # on every ladder task it is alone in its track: first everywhere, as the index says
                assert ranks and set(ranks) == {1} and mean_rank == 1.0


def test_no_page_shows_an_absolute_path_of_the_build_machine(site):
    machine = {str(site["root"]), str(REPO), str(Path.cwd())} | ({str(Path.home())} if Path.home() != Path("/") else set())
    for page in (f for f in site["files"] if f.endswith(".html")):
        html = (site["out"] / page).read_text()
        assert not [m for m in machine if m in html], page
    dsprites = (site["out"] / "tasks/dsprites-mse-v0.html").read_text()
    assert "`disbench data download dsprites` prepares it" in dsprites


def test_submission_page_shows_hyperparameters_and_the_records_curves(site):
    page = (site["out"] / "submissions/gamma.html").read_text()
    hp = next(t for t in _page_tables(site, "submissions/gamma.html").values() if t["headers"] == ["hyperparameters", "tasks (tier)"])
    assert ["beta = 0.004, latent_dim = 7", "xysquares-mse-v0 (quick)"] in [c for _, c in hp["rows"]]
    assert "mig-quick.png" in page and "curves-quick.png" in page and "No training curves" not in page
    baseline = (site["out"] / "submissions/ada-gvae.html").read_text()
    assert "mig-quick.png" in baseline and "dci.disentanglement-quick.png" in baseline


def test_score_plot_scales_its_axis_to_the_scores_and_draws_unverified_hollow(site):
    from disbench.leaderboard.plots import score_figure

    fig = score_figure(aggregate(site["board"]), "xysquares-s5-mse-v0", "quick", ["mig"])
    lo, hi = fig.axes[0].get_xlim()
    assert lo <= 0 and 0.02 < hi < 0.05  # the baselines' MIG there is 0.007-0.024: not squashed into a 0-1 axis
    dots = [c for c in fig.axes[0].collections]
    assert dots and all(c.get_facecolor().size == 0 or c.get_facecolor()[0][3] == 0 for c in dots)  # all unverified: hollow


@pytest.fixture(scope="session")
def served(site):
    with serving(site["out"]) as base:
        yield base


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


def test_pages_fit_the_window_at_desktop_and_phone_widths_and_traversals_link_to_full_size(site, served, browser):
    pages = ["index.html", "matrix.html", "ladder.html", "reproduction.html", "submit.html", "protocols.html", "pending.html", "records.html", "data.html", "cite.html",
             "tasks/xysquares-mse-v0.html", "tasks/dsprites-mse-v0.html", "submissions/gamma.html", "submissions/beta-vae.html"]
    assert not (wide := too_wide(browser, served, pages)), "\n".join(wide)
    try:
        for width in (1280, 400):
            browser.set_window_size(width, 900)
            browser.get(urljoin(served, "tasks/xysquares-mse-v0.html"))
            pictures = browser.execute_script(
                "return Array.from(document.querySelectorAll('.gallery img')).map(i => "
                "[i.closest('a') && i.closest('a').href, i.src, i.getBoundingClientRect().width]);")
            assert len(pictures) == 2 and all(link == src for link, src, _ in pictures)  # each thumbnail opens its full-size picture
            readable = 480 if width == 1280 else 0.8 * browser.execute_script("return document.documentElement.clientWidth;") - 40
            assert min(w for _, _, w in pictures) >= readable, (width, pictures)
    finally:
        browser.set_window_size(1280, 1600)


def test_the_matrix_of_a_one_family_board_shows_every_task_without_family_boxes(site, served, browser):
    browser.get(urljoin(served, "matrix.html"))
    shown, total, boxes = browser.execute_script(
        "const heads = Array.from(document.querySelectorAll('table.matrix th[data-task]'));"
        "return [heads.filter(h => !h.hidden).length, heads.length, document.querySelectorAll('input[data-family]').length];")
    assert boxes == 0 and total > 0 and shown == total  # every task here is XYSquares
    assert browser.find_element("id", "matrix-status").text.startswith("Showing ")


class _Pictures(HTMLParser):
    """Each <img> of a page with the href of the link around it (None when it is in no link)."""

    def __init__(self, html: str):
        super().__init__()
        self.found: list[tuple[str, str | None]] = []
        self._links: list[str | None] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a":
            self._links.append(a.get("href"))
        elif tag == "img":
            self.found.append((a["src"], next((h for h in reversed(self._links) if h), None)))

    def handle_endtag(self, tag):
        if tag == "a" and self._links:
            self._links.pop()


def test_every_picture_links_to_its_full_size_file(site):
    """Plots shrink to a phone's width, where their labels and legends cannot be read: each must open at full size."""
    seen, unlinked = set(), []
    for page in (f for f in site["files"] if f.endswith(".html")):
        for src, href in _Pictures((site["out"] / page).read_text()).found:
            seen.add(src)
            if href != src:
                unlinked.append(f"{page}: {src} is linked to {href}")
    assert not unlinked, "\n".join(unlinked)
    kinds = {"ladder-quick.png", "scores-quick.png", "matrices.png", "samples.png", "curves-quick.png", "mig-quick.png", "seed-0.png"}
    assert kinds <= {Path(s).name for s in seen}  # the ladder, per-seed scores, distance matrices, samples, curves and traversals


def test_task_page_shows_why_the_task_is_adversarial_right_after_the_scores(site, served, browser):
    """Issue 20: the distance matrices follow the score tables and per-seed plot, before the traversals: at 1280 px
    beside the Spearman table at their own size, at 400 px across the window; no sideways scroll at either width."""
    page = "tasks/xysquares-mse-v0.html"
    html = (site["out"] / page).read_text()
    order = [html.index(s) for s in ("scores-quick.png", "Why the task is adversarial", "matrices.png", "img/traversals/")]
    assert order == sorted(order)
    try:
        for width in (1280, 400):
            browser.set_window_size(width, 900)
            browser.get(urljoin(served, page))
            box = browser.execute_script("""
                const r = e => e.getBoundingClientRect();
                const m = document.querySelector('#perception img[src$="matrices.png"]'), rho = document.querySelector('#perception table');
                return {matrices: [r(m).left, r(m).top, r(m).width, m.naturalWidth], rho: [r(rho).right, r(rho).bottom],
                        scores: r(document.querySelector('img[src$="scores-quick.png"]')).bottom, traversals: r(document.querySelector('.gallery img')).top,
                        scroll: document.documentElement.scrollWidth, window: document.documentElement.clientWidth};""")
            left, top, shown, natural = box["matrices"]
            assert box["scores"] < top < box["traversals"] and box["scroll"] <= box["window"], (width, box)
            if width == 1280:
                assert left >= box["rho"][0] and top < box["rho"][1] and shown >= natural, box  # beside the table, not shrunk
            else:
                assert shown >= 0.8 * box["window"] - 40, box  # across the phone's window
    finally:
        browser.set_window_size(1280, 1600)


def test_long_text_columns_wrap_so_their_tables_fit_a_phone(site, served, browser):
    """At 400 px a table's description (or reasons) column wraps on its own full-width line under the row's other cells, so
    the table fits its frame, nothing is cut off and nothing scrolls sideways; at 1280 px it is an ordinary table."""
    measure = """
        const wrap = document.querySelector('table.has-prose').closest('.table-wrap'), table = wrap.querySelector('table');
        const prose = Array.from(table.querySelectorAll('td.prose')).map(c => [c.getBoundingClientRect().left, c.getBoundingClientRect().right]);
        return {display: getComputedStyle(table).display, table: table.scrollWidth, frame: wrap.clientWidth, prose: prose,
                window: document.documentElement.clientWidth};"""
    try:
        for width in (1280, 400):
            browser.set_window_size(width, 900)
            for page in ("pending.html", "records.html"):
                browser.get(urljoin(served, page))
                box = browser.execute_script(measure)
                assert box["prose"] and box["table"] <= box["frame"], (page, width, box)
                assert all(0 <= left and right <= box["window"] for left, right in box["prose"]), (page, width, box)
                if width == 400:
                    assert min(right - left for left, right in box["prose"]) >= 0.8 * box["window"] - 40, (page, box)  # the full line
                else:
                    assert box["display"] == "table", (page, box)
    finally:
        browser.set_window_size(1280, 1600)
