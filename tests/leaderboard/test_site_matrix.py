"""The site's method × task matrix, per-seed values, entries' parameters and dates, downloads with their schema, and
footer, on a small board made here with known values; the matrix's search and filters run in headless chromium."""

from __future__ import annotations

import subprocess
import time
from datetime import datetime, timedelta, timezone
from email.message import Message
from pathlib import Path
from urllib.parse import urljoin

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from disbench.checkout import code_commit, git_commit
from disbench.leaderboard.aggregate import aggregate
from disbench.leaderboard.build_info import BuildInfo, build_date, repository_url, web_address
from disbench.leaderboard.entries import as_utc, entry_runs, quartiles, seed_lines, utc_date
from disbench.leaderboard.errors import LeaderboardError
from disbench.leaderboard.matrix import build_matrix
from disbench.leaderboard.site import SiteOptions, build_site
from disbench.leaderboard.store import CheckContext, Source, load_board
from tests.leaderboard.conftest import REPO, PageTables, make_submission, record_dict, serving, signed, too_wide, write_record

EPOCH = 1_000_000_000  # 2001-09-09 01:46:40 UTC
# (task, submission, tier, {seed: mig}, signed); alpha and gamma unsupervised, beta weak-pairs
RUNS = [
    ("xysquares-mse-v0", "alpha", "quick", {0: 0.10, 1: 0.20}, True),
    ("xysquares-boxblur-v0", "alpha", "quick", {0: 0.50, 1: 0.70}, True),
    ("dsprites-mse-v0", "alpha", "quick", {0: 0.30, 1: 0.30}, True),
    ("xysquares-mse-v0", "gamma", "quick", {0: 0.05, 1: 0.07}, False),
    ("xysquares-boxblur-v0", "gamma", "quick", {0: 0.90}, False),  # one seed of two: incomplete
    ("xysquares-mse-v0", "beta", "quick", {0: 0.40, 1: 0.60}, True),
    ("xysquares-boxblur-v0", "beta", "quick", {0: 0.20, 1: 0.40}, False),  # beta: one verified task, one not
    ("xysquares-mse-v0", "alpha", "standard", {0: 0.1, 1: 0.2, 2: 0.3, 3: 0.4, 4: 1.0}, True),
]
PARAMS = {"alpha": 123_456, "gamma": 2_500_000, "beta": 999}


@pytest.fixture(scope="session")
def small(tmp_path_factory, runner_key):
    from disbench.harness.submission import Submission

    private, public = runner_key
    root = tmp_path_factory.mktemp("small-site")
    results, local, subs, out = root / "results", root / "local", root / "submissions", root / "site"
    hashes = {name: Submission(make_submission(subs, name, "weak-pairs" if name == "beta" else "unsupervised")).content_hash() for name in PARAMS}
    for task, sub, tier, migs, sign in RUNS:
        for seed, mig in migs.items():
            raw = record_dict(task, sub, seed, {"mig": mig, "dci.disentanglement": mig / 2}, hashes[sub], tier,
                              "weak-pairs" if sub == "beta" else "unsupervised")
            raw["training"]["num_parameters"] = PARAMS[sub]
            raw["created"] = f"2024-03-0{seed + 1}T12:00:00Z"
            write_record(results, signed(raw, private) if sign else raw)
    write_record(local, record_dict("dsprites-mse-v0", "gamma", 0, {"mig": 0.8}, hashes["gamma"]))  # a local run: its own, unranked row
    board = load_board([Source(results, "official"), Source(local, "local")], CheckContext(submissions_dir=subs, public_key_path=public))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
        mp.setenv("GITHUB_REPOSITORY", "org/board")  # as in the publish workflow: the repository link
        files = build_site(aggregate(board), out, SiteOptions(submissions_dir=subs, analyse=[], cache_dir=root / "cache", hub_dataset="org/results"))
    return {"out": out, "files": files, "board": board, "root": root, "subs": subs}


def tables(small, page: str) -> dict[str, dict]:
    return {t["title"]: t for t in PageTables((small["out"] / page).read_text()).tables}


def by_name(table: dict) -> dict[str, dict[str, str]]:
    """Each row of a parsed table as {header: text}, keyed by its submission (and markers)."""
    return {cells[0]: dict(zip(table["headers"], cells)) for _, cells in table["rows"]}


# --- the matrix ---------------------------------------------------------------------------------


def test_matrix_cells_averages_and_ranks_have_the_known_values(small):
    agg = aggregate(small["board"])
    m = build_matrix(agg, "quick", "unsupervised", "mig", entry_runs(small["board"]))
    assert [c.task for c in m.columns] == ["dsprites-mse-v0", "xysquares-boxblur-v0", "xysquares-mse-v0"]
    assert [c.family for c in m.columns] == ["dsprites", "xysquares", "xysquares"] and [c.adversarial for c in m.columns] == [False, False, True]
    alpha, gamma, local = m.rows
    assert (alpha.name.text, alpha.rank.value, gamma.name.text, gamma.rank.value) == ("alpha", 1, "gamma", 2)
    assert [c.text for c in alpha.cells] == ["0.300", "0.600", "0.150"]
    assert [c.detail for c in alpha.cells] == [("± 0.000 (2)",), ("± 0.141 (2)",), ("± 0.071 (2)",)]
    assert alpha.average.value == pytest.approx((0.3 + 0.6 + 0.15) / 3) and alpha.average.text == "0.350" and alpha.tasks.text == "3/3"
    assert alpha.cells[2].title == "seed 0: 0.1000; seed 1: 0.2000" and alpha.cells[2].styles == ()
    # gamma lacks dsprites: no average over a different set of tasks; its one-seed boxblur cell is unverified and incomplete
    assert [c.text for c in gamma.cells] == ["–", "0.900", "0.060"] and gamma.cells[1].detail == ("(1)",)
    assert gamma.cells[1].styles == ("unverified", "incomplete") and gamma.cells[2].styles == ("unverified",)
    assert local.cells[0].styles == ("incomplete", "local")  # not signed either: the filter's "verified cells" hides it
    assert gamma.average.text == "–" and gamma.average.value is None and gamma.tasks.text == "2/3"
    assert "has 2 of the 3 tasks" in gamma.average.title and gamma.name.markers == ("unverified", "incomplete")
    assert (local.name.text, local.rank.text, local.markers, [c.text for c in local.cells]) == ("gamma", "–", ("local",), ["0.800", "–", "–"])
    assert build_matrix(agg, "quick", "weak-pairs", "mig", {}).rows[0].average.text == "0.400"  # (0.3 + 0.5) / 2
    assert build_matrix(agg, "quick", "unsupervised", "sap", {}) is None  # no record has it


def test_matrix_page_shows_every_tier_track_and_metric(small):
    found = tables(small, "matrix.html")
    assert set(found) == {"mig, unsupervised track (quick)", "mig, weak-pairs track (quick)", "mig, unsupervised track (standard)",
                          "dci.disentanglement, unsupervised track (quick)", "dci.disentanglement, weak-pairs track (quick)",
                          "dci.disentanglement, unsupervised track (standard)"}
    quick = found["mig, unsupervised track (quick)"]
    assert quick["headers"] == ["submission", "rank", "average over all 3 tasks", "tasks", "dsprites-mse-v0", "xysquares-boxblur-v0",
                                "xysquares-mse-v0 adv."]
    rows = [cells for _, cells in quick["rows"]]
    assert rows == [["alpha", "1", "0.350", "3/3", "0.300", "0.600", "0.150"], ["gamma unverified incomplete", "2", "–", "2/3", "–", "0.900", "0.060"],
                    ["gamma incomplete local", "–", "–", "1/3", "0.800", "–", "–"]]
    assert [classes for classes, _ in quick["rows"]] == ["", "", "row-local"]
    dci = by_name(found["dci.disentanglement, unsupervised track (quick)"])
    assert dci["alpha"]["average over all 3 tasks"] == "0.175"  # half of each MIG
    html = (small["out"] / "matrix.html").read_text()
    assert 'class="cell-unverified cell-incomplete" data-value="0.9"' in html and 'data-family="dsprites"' in html
    assert "static/matrix.js" in html and '<form id="matrix-filter" class="filter" role="search" hidden>' in html  # shown by the script only


# --- per-seed values, parameters, run dates --------------------------------------------------------


def test_seed_lines_show_every_seed_and_from_five_the_median_and_iqr():
    assert seed_lines([(0, 0.036), (1, 0.006)]) == ("0.036 · 0.006",)
    five = [(s, v) for s, v in enumerate([0.1, 0.2, 0.3, 0.4, 1.0])]
    assert quartiles(v for _, v in five) == pytest.approx((0.2, 0.3, 0.4))
    assert seed_lines(five) == ("0.100 · 0.200 · 0.300 · 0.400 · 1.000", "median 0.300 [IQR 0.200–0.400]")
    assert seed_lines([]) == ()


def test_task_pages_show_each_seed_beside_the_mean_and_each_entrys_parameters_and_dates(small):
    found = tables(small, "tasks/xysquares-mse-v0.html")
    quick, standard = found["xysquares-mse-v0 (quick), unsupervised track"], found["xysquares-mse-v0 (standard), unsupervised track"]
    mig = quick["headers"].index("mig *")
    rows = {cells[1].split()[0]: (cells, details) for (_, cells), details in zip(quick["rows"], quick["details"])}
    cells, details = rows["alpha"]
    assert cells[mig] == "0.150 ± 0.071" and details[mig] == ("0.100 · 0.200",)
    assert details[1] == ("123 k params", "run 2024-03-01 – 2024-03-02")
    assert rows["gamma"][1][1] == ("2.5 M params", "run 2024-03-01 – 2024-03-02")
    (_, cells), = standard["rows"]
    assert cells[mig] == "0.400 ± 0.354" and standard["details"][0][mig] == ("0.100 · 0.200 · 0.300 · 0.400 · 1.000", "median 0.300 [IQR 0.200–0.400]")
    assert standard["details"][0][1] == ("123 k params", "run 2024-03-01 – 2024-03-05")
    html = (small["out"] / "tasks/xysquares-mse-v0.html").read_text()
    assert "from 5 seeds the median [IQR]" in html
    assert 'title="123,456 trainable parameters; records written (UTC) seed 0: 2024-03-01; seed 1: 2024-03-02; hyperparameters: ' in html


def test_submission_page_shows_scores_with_seeds_parameters_dates_and_every_run(small):
    found = tables(small, "submissions/alpha.html")
    scores = found["alpha on every task"]
    assert scores["headers"] == ["task", "tier", "metric", "score", "n", "rank", "parameters", "run dates (UTC)"]
    first = dict(zip(scores["headers"], scores["rows"][0][1]))
    assert first == {"task": "xysquares-mse-v0", "tier": "standard", "metric": "mig", "score": "0.400 ± 0.354", "n": "5/5", "rank": "1",
                     "parameters": "123 k", "run dates (UTC)": "2024-03-01 – 2024-03-05"}
    assert scores["details"][0][3] == ("0.100 · 0.200 · 0.300 · 0.400 · 1.000", "median 0.300 [IQR 0.200–0.400]")
    runs = next(t for t in found.values() if t["headers"][:4] == ["task", "tier", "seed", "primary metric"])
    assert len(runs["rows"]) == 5 + 2 * 3
    row = dict(zip(runs["headers"], runs["rows"][0][1]))
    assert (row["task"], row["tier"], row["seed"], row["primary metric"], row["parameters"], row["recorded (UTC)"]) == \
        ("xysquares-mse-v0", "standard", "0", "mig 0.100", "123 k", "2024-03-01 12:00")


def test_a_record_time_without_a_zone_is_read_as_utc_whatever_the_build_machines_zone(monkeypatch):
    """The runs table and the run dates read a zone-less record time alike: as UTC, not as local time."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        naive, aware = datetime(2024, 3, 1, 23, 30), datetime(2024, 3, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
        assert as_utc(naive).strftime("%Y-%m-%d %H:%M") == "2024-03-01 23:30" and utc_date(naive) == "2024-03-01"
        assert as_utc(aware).strftime("%Y-%m-%d %H:%M") == "2024-03-02 04:30" and utc_date(aware) == "2024-03-02"
    finally:
        monkeypatch.undo()
        time.tzset()


# --- downloads and their schema -----------------------------------------------------------------------


def test_downloads_load_with_pandas_and_match_the_schema_on_the_data_page(small):
    out = small["out"]
    page = tables(small, "data.html")
    listing = by_name(page["#0"])
    assert set(listing) == {"summary", "scores", "records", "curves"}
    is_type = {"string": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t), "bool": pa.types.is_boolean, "int64": pa.types.is_int64,
               "float64": pa.types.is_float64, "timestamp (UTC)": lambda t: pa.types.is_timestamp(t) and t.tz == "UTC"}
    for name, row in listing.items():
        schema = next(t for t in page.values() if t["title"].startswith(f"{name}: one row per"))
        columns = [(cells[0], cells[1]) for _, cells in schema["rows"]]
        parquet, csv = pd.read_parquet(out / "data" / f"{name}.parquet"), pd.read_csv(out / "data" / f"{name}.csv")
        assert list(parquet.columns) == list(csv.columns) == [c for c, _ in columns], name
        arrow = pq.read_schema(out / "data" / f"{name}.parquet")
        assert all(is_type[kind](arrow.field(column).type) for column, kind in columns), (name, columns, arrow)
        assert len(parquet) == len(csv) == int(row["rows"].replace(",", "")), name
        for column, kind in columns:  # the CSV holds the parquet's values
            a, b = csv[column], parquet[column]
            if kind in ("int64", "float64"):
                assert a.astype(float).tolist() == pytest.approx(b.astype(float).tolist(), rel=1e-9, nan_ok=True), (name, column)
            elif kind == "timestamp (UTC)":
                assert (pd.to_datetime(a, utc=True) == b).all(), (name, column)
            else:
                assert a.astype(object).where(a.notna(), None).tolist() == b.astype(object).where(b.notna(), None).tolist(), (name, column)
    summary = pd.read_csv(out / "data" / "summary.csv")
    alpha = summary[(summary.task == "xysquares-mse-v0") & (summary.submission == "alpha") & (summary.tier == "quick") & (summary.metric == "mig")]
    assert alpha[["mean", "std", "n", "rank"]].values.tolist()[0] == pytest.approx([0.15, 0.0707106781, 2, 1])
    scores = pd.read_parquet(out / "data" / "scores.parquet")
    assert sorted(scores[(scores.submission == "gamma") & (scores.metric == "mig")].value) == [0.05, 0.07, 0.9]  # official records only
    assert set(scores[scores.submission == "gamma"].verified) == {False} and set(scores[scores.submission == "alpha"].verified) == {True}
    assert 'load_dataset("org/results", "scores"' in (out / "data.html").read_text()


def test_every_page_links_the_downloads_the_repository_and_the_citation(small):
    for page in (f for f in small["files"] if f.endswith(".html")):
        html = (small["out"] / page).read_text()
        root = "../" * page.count("/")
        for link in ("data/summary.csv", "data/summary.parquet", "data.html", "cite.html"):
            assert f'href="{root}{link}"' in html, (page, link)
        assert 'href="https://github.com/org/board"' in html and "built <time" in html, page


# --- footer: commit, date, citation -------------------------------------------------------------------------


def test_a_column_without_a_meaning_stops_the_schema_page(tmp_path):
    from disbench.leaderboard.downloads import _schema

    pq.write_table(pa.table({"task": ["x"], "mystery": [1.0]}), tmp_path / "scores.parquet")
    with pytest.raises(LeaderboardError, match="Column 'mystery' of the scores table has no meaning in disbench.leaderboard.downloads.MEANINGS"):
        _schema("scores", tmp_path / "scores.parquet")


def test_footer_says_the_commit_and_the_source_date_epoch_date(small):
    html = (small["out"] / "index.html").read_text()
    assert '<time class="build-date" datetime="2001-09-09T01:46:40+00:00">2001-09-09 01:46 UTC</time>' in html
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert f">{head[:12]}" in html if head else "not a git checkout" in html  # the checkout the test runs in, asked of git itself
    cite = (small["out"] / "cite.html").read_text()
    assert "@inproceedings{michlo2023overlooked" in cite and "10.24963/ijcai.2023/453" in cite and "4073--4081" in cite
    assert "@misc{disbench" in cite and "year    = {2001}" in cite


def test_build_date_honours_source_date_epoch_and_refuses_a_bad_one():
    assert build_date({"SOURCE_DATE_EPOCH": "0"}) == datetime(1970, 1, 1, tzinfo=timezone.utc)
    assert abs((build_date({}) - datetime.now(timezone.utc)).total_seconds()) < 60
    with pytest.raises(LeaderboardError, match="SOURCE_DATE_EPOCH='yesterday' is not a whole number"):
        build_date({"SOURCE_DATE_EPOCH": "yesterday"})


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True, text=True).stdout.strip()


def test_git_commit_names_the_checkouts_head_and_its_uncommitted_changes(tmp_path, monkeypatch):
    assert git_commit(tmp_path) == (None, False)
    assert BuildInfo("0", None, False, datetime(2024, 1, 1, tzinfo=timezone.utc), None).commit_text == "not a git checkout"
    repo = tmp_path / "clone"
    repo.mkdir()
    _git(repo, "init", "-q")
    assert git_commit(repo) == (None, False)  # no commit yet
    (repo / "a.txt").write_text("one\n")
    _git(repo, "add", "a.txt")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "first")
    head = _git(repo, "rev-parse", "HEAD")
    assert git_commit(repo) == (head, False)
    (repo / "untracked.txt").write_text("not part of the build\n")
    assert git_commit(repo) == (head, False)
    (repo / "a.txt").write_text("two\n")
    assert git_commit(repo) == (head, True)
    info = BuildInfo("0", head, True, datetime(2024, 1, 1, tzinfo=timezone.utc), "https://github.com/o/r")
    assert info.commit_text == f"{head[:12]} with uncommitted changes" and info.commit_link == f"https://github.com/o/r/tree/{head}"
    (repo / "sub").mkdir()
    assert git_commit(repo / "sub") == (None, False)  # a folder inside another checkout is not the code's checkout
    monkeypatch.setattr("disbench.checkout.SOURCE", repo)  # the records' git_commit: the same answer, as one string
    assert code_commit() == f"{head}-dirty"
    monkeypatch.setattr("disbench.checkout.SOURCE", repo / "sub")  # disbench installed as files inside some project's checkout
    assert code_commit() is None


def test_the_repository_url_is_what_something_states_never_a_guess(tmp_path, monkeypatch):
    """pyproject's [project.urls] first, then the GitHub Actions run's repository, then the
    checkout's origin remote as a web address (credentials dropped); none of them: no link."""
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    monkeypatch.setattr("importlib.metadata.metadata", lambda name: Message())  # this install's metadata states none
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "c"], check=True)
    assert repository_url(repo, {}) is None
    subprocess.run([*git, "remote", "add", "origin", "https://user:token@github.com/o/r.git"], check=True)
    assert repository_url(repo, {}) == "https://github.com/o/r"
    actions = {"GITHUB_SERVER_URL": "https://github.example.com", "GITHUB_REPOSITORY": "org/board"}
    assert repository_url(repo, actions) == "https://github.example.com/org/board"
    (repo / "pyproject.toml").write_text('[project]\nname = "x"\n[project.urls]\nRepository = "https://example.org/x"\n')
    assert repository_url(repo, actions) == "https://example.org/x"
    remotes = ("git@github.com:o/r.git", "ssh://git@gitlab.com:2222/o/r", "https://bot:token@git.example.org:8443/o/r.git",
               "http://localhost:3000/o/r", "/srv/git/r.git", None)
    assert [web_address(r) for r in remotes] == [
        "https://github.com/o/r", "https://gitlab.com/o/r", "https://git.example.org:8443/o/r", "http://localhost:3000/o/r", None, None]


def test_two_builds_at_one_source_date_epoch_are_identical(small, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    monkeypatch.setenv("GITHUB_REPOSITORY", "org/board")
    again = tmp_path / "again"
    files = build_site(aggregate(small["board"]), again, SiteOptions(submissions_dir=small["subs"], analyse=[], cache_dir=small["root"] / "cache",
                                                                     hub_dataset="org/results"))
    assert files == small["files"]
    differ = [f for f in files if (again / f).read_bytes() != (small["out"] / f).read_bytes()]
    assert differ == []


# --- in the browser ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served_small(small):
    with serving(small["out"]) as base:
        yield base


def _visible(browser, title: str) -> list[list[str]]:
    """The visible rows of the matrix titled ``title``: the texts of their visible cells, as the reader sees them."""
    return browser.execute_script("""
        const table = Array.from(document.querySelectorAll('table.matrix')).find(t => t.getAttribute('aria-label') === arguments[0]);
        return Array.from(table.tBodies[0].rows).filter(r => !r.hidden && r.hasAttribute('data-name'))
          .map(r => Array.from(r.cells).filter(c => !c.hidden).map(c => c.classList.contains('masked') ? '–' : c.innerText.split('\\n')[0].trim()));
    """, title)


def _headers(browser, title: str) -> list[str]:
    return browser.execute_script("""
        const table = Array.from(document.querySelectorAll('table.matrix')).find(t => t.getAttribute('aria-label') === arguments[0]);
        return Array.from(table.tHead.rows[0].cells).filter(c => !c.hidden).map(c => c.innerText.split('\\n')[0].replace(/[\\u2195\\u2191\\u2193]/g, '').trim());
    """, title)


def _shown(browser) -> dict[str, bool]:
    """Each matrix (by title) and whether its frame is shown."""
    return browser.execute_script(
        "return Object.fromEntries(Array.from(document.querySelectorAll('table.matrix')).map(t => [t.getAttribute('aria-label'), !t.closest('.table-wrap').hidden]));")


def test_matrix_search_and_filters_in_chromium(small, served_small, browser):
    from selenium.webdriver.common.by import By

    quick, pairs = "mig, unsupervised track (quick)", "mig, weak-pairs track (quick)"
    browser.get(urljoin(served_small, "matrix.html"))
    search = browser.find_element(By.ID, "matrix-search")
    status = browser.find_element(By.ID, "matrix-status")
    assert search.is_displayed() and status.text == "Showing 3 submissions on 3 tasks."
    # with every cell shown the script's averages are the build's
    assert _visible(browser, quick) == [["alpha", "1", "0.350", "3/3", "0.300", "0.600", "0.150"],
                                        ["gamma unverified incomplete", "2", "–", "2/3", "–", "0.900", "0.060"],
                                        ["gamma incomplete local", "–", "–", "1/3", "0.800", "–", "–"]]
    assert _visible(browser, pairs) == [["beta unverified", "1", "0.400", "2/2", "0.300", "0.500"]]

    def typed(text: str) -> None:
        search.clear()
        if text:
            search.send_keys(text)

    typed("alpha box")  # a submission word and a task word: alpha's row, boxblur's column, the average over it alone
    assert _headers(browser, quick)[2:] == ["average", "tasks", "xysquares-boxblur-v0"]
    assert _visible(browser, quick) == [["alpha", "1", "0.600", "1/1", "0.600"]]
    assert _visible(browser, pairs) == [] and status.text == "Showing 1 submission on 1 task."
    assert _shown(browser) == {quick: True, pairs: False, "mig, unsupervised track (standard)": False,
                               "dci.disentanglement, unsupervised track (quick)": True, "dci.disentanglement, weak-pairs track (quick)": False,
                               "dci.disentanglement, unsupervised track (standard)": False}
    assert browser.execute_script("return Array.from(document.querySelectorAll('section.matrices')).map(s => s.hidden);") == [True, True, False, False]  # standard (mig, dci), quick (mig, dci)
    typed("nothing-like-this")
    assert _visible(browser, quick) == [] and "No submission or task contains “nothing-like-this”" in status.text
    typed("")
    browser.find_element(By.CSS_SELECTOR, "input[data-hide-marker='unverified local']").click()  # verified cells only
    assert _visible(browser, quick) == [["alpha", "1", "0.350", "3/3", "0.300", "0.600", "0.150"]]
    # beta's one unverified cell is hidden: its row no longer says "unverified"
    assert _visible(browser, pairs) == [["beta", "1", "0.500", "1/1", "0.500"]]
    browser.find_element(By.CSS_SELECTOR, "input[data-hide-marker='unverified local']").click()
    assert _visible(browser, pairs)[0][0] == "beta unverified"
    browser.find_element(By.CSS_SELECTOR, "input[data-hide-marker='incomplete']").click()  # cells with every seed
    # gamma keeps its complete mse cell and loses its "incomplete" badge with its one-seed boxblur cell; the local row goes
    assert _visible(browser, quick) == [["alpha", "1", "0.350", "3/3", "0.300", "0.600", "0.150"], ["gamma unverified", "2", "–", "1/3", "–", "–", "0.060"]]
    browser.find_element(By.CSS_SELECTOR, "input[data-hide-marker='incomplete']").click()
    browser.find_element(By.CSS_SELECTOR, "input[data-family='xysquares']").click()  # dsprites only
    assert _headers(browser, quick)[2:] == ["average", "tasks", "dsprites-mse-v0"]
    assert _visible(browser, quick) == [["alpha", "1", "0.300", "1/1", "0.300"], ["gamma incomplete local", "–", "0.800", "1/1", "0.800"]]
    header = browser.find_element(By.CSS_SELECTOR, f"table[aria-label='{quick}'] th[data-average]")
    header.click()
    header.click()  # descending by the average shown: the local gamma row (0.800) first
    assert [r[0].split()[0] for r in _visible(browser, quick)] == ["gamma", "alpha"]
    browser.get(urljoin(served_small, "matrix.html?q=beta"))
    assert _visible(browser, pairs) == [["beta unverified", "1", "0.400", "2/2", "0.300", "0.500"]] and _visible(browser, quick) == []


def test_new_and_changed_pages_fit_at_desktop_and_phone_widths(small, served_small, browser):
    pages = ["index.html", "matrix.html", "data.html", "cite.html", "tasks/xysquares-mse-v0.html", "submissions/alpha.html",
             "submissions/gamma.html"]
    assert not (wide := too_wide(browser, served_small, pages)), "\n".join(wide)
    browser.get(urljoin(served_small, "matrix.html"))
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
