"""The leaderboard's ``disbench`` subcommands: ``leaderboard``, ``site``, ``publish`` and ``ci``.

``disbench.cli.build_parser`` calls :func:`add_commands`; every handler is a thin wrapper over
the modules of this package and returns the exit status.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

from disbench.arguments import port_number
from disbench.error import did_you_mean
from disbench.files import existing_folder, writable_folder
from disbench.leaderboard.errors import LeaderboardError
from disbench.protocol import TIERS

OFFICIAL = Path("leaderboards/results")  # written only by the official runner


def _add_board_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--official", default=str(OFFICIAL), help="folder of official records (default: leaderboards/results; a pulled Hub snapshot works too)")
    p.add_argument("--results", nargs="+", default=[], metavar="DIR", help="also show local results folders (e.g. runs/results), marked as local")
    p.add_argument("--submissions", default="submissions", help="submission folders, to mark stale records (default: submissions)")
    p.add_argument("--require-signed", action="store_true", help="refuse records not signed by the official runner (the published board)")
    p.add_argument("--public-key", default=None, help="the runner's public key (default: the signing module's, leaderboards/runner-key.pub)")


def _board(args: argparse.Namespace):
    """The checked, aggregated board; a --public-key that cannot be used is an error (SigningError) before any record is read."""
    from disbench.leaderboard.aggregate import aggregate
    from disbench.leaderboard.store import CheckContext, Source, load_board

    sources = [Source(Path(args.official), "official")] + [Source(Path(d), "local") for d in args.results]
    submissions = Path(args.submissions) if args.submissions else None
    ctx = CheckContext(submissions_dir=submissions, require_signed=args.require_signed,
                       public_key_path=Path(args.public_key) if args.public_key else None)
    board = load_board(sources, ctx)
    _warn_unchecked(board, ctx)
    return aggregate(board)


def _warn_unchecked(board, ctx) -> None:
    """Say on stderr when signed records could not be checked (no default key found), so their marker is not taken for 'unsigned'."""
    if ctx.verify_problem is None:
        return
    signed = [e for e in board.entries if e.record is not None and e.record.signature and any(f.check == "signature" for f in e.findings)]
    records = "1 signed record is" if len(signed) == 1 else f"{len(signed)} signed records are"
    shown = "refused (--require-signed)" if ctx.require_signed else "shown as [unverified]"
    print(f"warning: {records} {shown}: the signatures cannot be checked here, {ctx.verify_problem}; "
          "pass --public-key with the runner's public key to check them", file=sys.stderr)


def _cmd_show(args: argparse.Namespace) -> int:
    import disbench
    from disbench.leaderboard.tables import board_tables, refused_entries, refused_text, render_text

    if args.task:
        args.task = disbench.spec(args.task).id
    agg = _board(args)
    refused = refused_entries(agg, task=args.task, tier=args.tier)
    missing = None
    if args.tier and args.tier not in agg.tiers:
        missing = f"of tier {args.tier!r}", f"tiers with records: {', '.join(agg.tiers) or 'none'}"
    elif args.task and args.task not in agg.tasks:
        missing = f"for {args.task}", f"tasks with records: {', '.join(agg.tasks) or 'none'}"
    if missing:
        if refused:  # nothing accepted: the refusals, with their reasons, are the answer
            print(refused_text(refused))
        listed = f" ({len(refused)} refused, listed above)" if refused else ""
        raise LeaderboardError(f"No accepted records {missing[0]}{listed}; {missing[1]}.")
    if args.metric and not agg.summary[agg.summary["metric"] == args.metric].shape[0]:
        known = sorted(agg.summary["metric"].unique())
        raise LeaderboardError(f"No record has metric {args.metric!r}.{did_you_mean(args.metric, known)} Metrics include {', '.join(known[:12])}, ...")
    tables = board_tables(agg, task=args.task, tier=args.tier, metric=args.metric, wide=args.wide)
    print(render_text(tables) if tables else "No accepted records.")
    if refused:
        print(f"\n{refused_text(refused)}")
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    from disbench.leaderboard.tables import render_markdown, write_atomic, write_summary

    agg = _board(args)
    if not agg.board.accepted:  # an empty board would replace the committed one (leaderboards/README.md, summary.*)
        found = len(agg.board.entries)
        why = f"none of the {found} records found was accepted (`disbench leaderboard show` lists why)" if found else "it holds no records"
        sources = ", ".join([args.official, *args.results])
        raise LeaderboardError(f"Nothing to build from {sources}: {why}; {args.out} is left as it was. Pass the folder of "
                               "records (--official DIR, laid out <task>/<submission>/<tier>/seed-<n>.json).")
    out = writable_folder(args.out, "--out folder", LeaderboardError)
    readme = write_atomic(out / "README.md", render_markdown(agg).encode())
    written = [readme, *write_summary(agg, out)]
    print(f"{len(agg.board.accepted)} records accepted, {len(agg.board.refused)} refused; wrote " + ", ".join(map(str, written)))
    return 0


def _cmd_signatures(args: argparse.Namespace) -> int:
    from disbench.leaderboard.signatures import check_signatures

    report = check_signatures(Path(args.official), Path(args.public_key) if args.public_key else None)
    print(report.render())
    return 0 if report.ok else 1


def _cmd_pull(args: argparse.Namespace) -> int:
    from disbench.leaderboard.hub import check_repo_id, pull

    check_repo_id(args.repo)
    out = Path(args.out).absolute()
    made = next((p for p in reversed([out, *out.parents]) if not p.exists()), None)  # the outermost folder this makes
    writable_folder(out, "--out folder", LeaderboardError)  # before the download, not after
    try:
        results = pull(args.repo, out)
    except BaseException:
        if made is not None:  # a failed download leaves no folder it made (the client's partial files and cache included)
            shutil.rmtree(made, ignore_errors=True)
        raise
    print(f"pulled {args.repo} into {results}; build from it with `disbench site build --official {results}`")
    return 0


def _check_runs_folder(runs: str | None) -> None:
    """A mistyped --runs used to build a site without the local runs' pictures, or publish without checkpoints, silently."""
    if runs:
        existing_folder(runs, "The --runs folder", "give the folder `disbench run --runs-dir` wrote (default: runs) or leave --runs out.",
                        LeaderboardError)


def _site_options(args: argparse.Namespace):
    from disbench.leaderboard.hub import check_repo_id
    from disbench.leaderboard.site import SITE_DIR, SiteOptions

    _check_runs_folder(args.runs)
    return SiteOptions(submissions_dir=Path(args.submissions) if args.submissions else None, runs_dir=Path(args.runs) if args.runs else None,
                       analyse=args.analyse, cache_dir=writable_folder(args.cache, "--cache folder", LeaderboardError) if args.cache else None,
                       templates_dir=Path(args.templates) if args.templates else SITE_DIR,
                       hub_dataset=check_repo_id(args.hub_dataset) if args.hub_dataset else None,
                       reproduction=None if args.no_reproduction else _reproduction_folders())


def _reproduction_folders() -> tuple[Path, ...] | None:
    """The clone's reproduction records (reproduction/results, then the committed board); None where there is no clone."""
    from disbench.reproduction.summary import FOLDERS

    return FOLDERS if FOLDERS[0].is_dir() else None


def _cmd_site_build(args: argparse.Namespace) -> int:
    from disbench.leaderboard.site import build_site

    options = _site_options(args)
    agg = _board(args)  # seconds; a bad --official or --public-key stops here, before --out is made
    writable_folder(args.out, "--out folder", LeaderboardError)  # before the minutes of the build
    files = build_site(agg, Path(args.out), options)
    pages = [f for f in files if f.endswith(".html")]
    print(f"wrote {len(pages)} pages and {len(files) - len(pages)} assets to {args.out}; open {Path(args.out) / 'index.html'} or run `disbench site serve --dir {args.out}`")
    return 0


def _cmd_site_serve(args: argparse.Namespace) -> int:
    import functools
    import http.server

    from disbench.leaderboard.site import MARKER_FILE

    root = Path(args.dir)
    if not (root / MARKER_FILE).is_file():
        raise LeaderboardError(f"No built site in {root}; run `disbench site build --out {root}` first.")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    try:
        server = http.server.ThreadingHTTPServer((args.host, args.port), handler)
    except (OSError, UnicodeError) as e:  # a host that does not resolve, a port in use or not ours to take
        raise LeaderboardError(f"Cannot serve on {args.host}:{args.port} ({getattr(e, 'strerror', None) or e}); "
                               "choose another --port (0: any free one) or --host (127.0.0.1: this machine).") from None
    with server:
        print(f"serving {root} at http://{args.host}:{server.server_address[1]}/ (Ctrl-C to stop)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
    return 0


def _send(args: argparse.Namespace, plan, repo_type: str, message: str, **create) -> int:
    from disbench.leaderboard.hub import check_repo_id, commit, default_client, render_plan, require_token

    repo = check_repo_id(args.repo if repo_type == "dataset" else args.space)
    if not args.dry_run:
        token = require_token()
    print(render_plan(plan, repo, repo_type))
    if args.dry_run:
        print("dry run: nothing was sent")
        return 0
    done = commit(default_client(token), repo, plan, repo_type, message, **create)
    gone = f"; deleted {len(done.deleted)} files it no longer has: {', '.join(done.deleted)}" if done.deleted else ""
    print(f"committed {len(plan)} files to {repo}{gone}: {getattr(done.info, 'commit_url', done.info)}")
    return 0


def _cmd_publish(args: argparse.Namespace) -> int:
    from disbench.leaderboard.hub import check_repo_id, dataset_plan, require_token, write_plan

    check_repo_id(args.repo)
    _check_runs_folder(args.runs)
    if not args.dry_run:
        require_token()  # fail before the work, not after
    agg = _board(args)
    plan = dataset_plan(agg, args.repo, runs_dir=Path(args.runs) if args.runs else None)
    if args.out:
        print(f"wrote the dataset to {write_plan(plan, Path(args.out))}; load it with datasets.load_dataset({str(args.out)!r}, 'scores')")
    return _send(args, plan, "dataset", args.message)


def _cmd_site_publish(args: argparse.Namespace) -> int:
    from disbench.leaderboard.hub import check_repo_id, site_plan

    check_repo_id(args.space)
    return _send(args, site_plan(Path(args.dir)), "space", args.message, space_sdk="static")


def _cmd_check_pr(args: argparse.Namespace) -> int:
    from disbench.leaderboard.ci import check_pr, validate_folder, write_step_summary
    from disbench.leaderboard.errors import PullRequestError

    if args.head != "HEAD" and not args.no_validate:
        raise PullRequestError("validation runs on the checked-out files, so it needs --head HEAD; add --no-validate to check another head's policy")
    validate = None if args.no_validate else (lambda folder: validate_folder(folder, smoke_run=not args.no_smoke))
    report = check_pr(Path(args.repo), args.base, args.head, args.author, validate=validate, policy=not args.validate_only,
                      association=args.author_association)
    markdown = report.markdown()
    print(markdown)
    target = write_step_summary(markdown)
    if target:
        print(f"(report appended to {target})", file=sys.stderr)
    return 0 if report.ok else 1


def add_commands(sub: Any) -> None:
    """Add ``leaderboard``, ``site``, ``publish`` and ``ci`` to the ``disbench`` parser."""
    lb = sub.add_parser("leaderboard", help="show and build the leaderboard from result records")
    lb_sub = lb.add_subparsers(dest="leaderboard_command", required=True, metavar="ACTION")
    p = lb_sub.add_parser("show", help="print the leaderboard tables")
    _add_board_options(p)
    p.add_argument("--task", default=None, help="only this task (default: every task)")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--metric", default=None, help="show this metric (e.g. sap, dci.completeness) in place of DCI disentanglement; the task's primary metric, which ranks the rows, stays")
    shown.add_argument("--wide", action="store_true",
                       help="show every metric the records score, each column named in full, and the ladder in one table: as wide as "
                            "it takes (try `| less -S`); the default fits 100 columns")
    p.add_argument("--tier", default=None, choices=TIERS, help="only this protocol tier (default: every tier, each in its own tables)")
    p.set_defaults(handler=_cmd_show)
    p = lb_sub.add_parser("build", help="write README.md (Markdown tables) and summary.csv/.parquet")
    _add_board_options(p)
    p.add_argument("--out", default="leaderboards", help="folder to write to (default: leaderboards)")
    p.set_defaults(handler=_cmd_build)
    p = lb_sub.add_parser("signatures", help="which official records the runner's key verifies; fails on a signature that does not match")
    p.add_argument("--official", default=str(OFFICIAL), help="folder of official records (default: leaderboards/results)")
    p.add_argument("--public-key", default=None, help="the runner's public key (default: leaderboards/runner-key.pub)")
    p.set_defaults(handler=_cmd_signatures)
    p = lb_sub.add_parser("pull", help="download published records from a Hub dataset repo")
    p.add_argument("--repo", required=True, help="ORG/NAME of the dataset repo")
    p.add_argument("--out", default="runs/hub", help="where to put the snapshot (default: runs/hub, ignored by git)")
    p.set_defaults(handler=_cmd_pull)

    site = sub.add_parser("site", help="build, serve and publish the static leaderboard site")
    site_sub = site.add_subparsers(dest="site_command", required=True, metavar="ACTION")
    p = site_sub.add_parser("build", help="render the site into a folder")
    _add_board_options(p)
    p.add_argument("--out", default="site/_build", help="output folder (default: site/_build, ignored by git)")
    p.add_argument("--runs", default=None, help="runs folder with curves.jsonl and traversals.png of local runs")
    p.add_argument("--analyse", nargs="*", default=None, metavar="TASK", help="analyse only these tasks (default: all; cached)")
    p.add_argument("--cache", default=None, help="analysis cache folder (default: ~/.cache/disbench/leaderboard)")
    p.add_argument("--templates", default=None, help="site folder with templates/ and static/ (default: the clone's site/)")
    p.add_argument("--hub-dataset", default=None, metavar="ORG/NAME", help="the Hub dataset the board is published to, named on the data page (empty: none)")
    p.add_argument("--no-reproduction", action="store_true",
                   help="leave out the page of the paper's claims tested on the clone's reproduction records (it reads them all and draws a figure per grid)")
    p.set_defaults(handler=_cmd_site_build)
    p = site_sub.add_parser("serve", help="serve a built site on localhost")
    p.add_argument("--dir", default="site/_build", help="the built site's folder")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s, this machine only)")
    p.add_argument("--port", type=port_number, default=8000, help="port to listen on (0: any free port)")
    p.set_defaults(handler=_cmd_site_serve)
    p = site_sub.add_parser("publish", help="upload a built site to a static Hugging Face Space")
    p.add_argument("--space", required=True, help="ORG/NAME of the Space")
    p.add_argument("--dir", default="site/_build", help="the built site's folder")
    p.add_argument("--dry-run", action="store_true", help="print the plan, send nothing")
    p.add_argument("--message", default="Update the disbench leaderboard site", help="the Space's commit message")
    p.set_defaults(handler=_cmd_site_publish)

    p = sub.add_parser("publish", help="upload the board to a Hub dataset repo (parquet configs, card, records), in one commit")
    _add_board_options(p)
    p.add_argument("--repo", required=True, help="ORG/NAME of the dataset repo")
    p.add_argument("--runs", default=None, help="runs folder holding the records' checkpoints, to publish them too")
    p.add_argument("--dry-run", action="store_true", help="print the plan, send nothing")
    p.add_argument("--out", default=None, metavar="DIR", help="also write the dataset into this new folder, exactly as the repo will hold it")
    p.add_argument("--message", default="Update disbench leaderboard records", help="the dataset repo's commit message")
    p.set_defaults(handler=_cmd_publish)

    ci = sub.add_parser("ci", help="checks run by the GitHub workflows")
    ci_sub = ci.add_subparsers(dest="ci_command", required=True, metavar="ACTION")
    p = ci_sub.add_parser("check-pr", help="check a pull request's changes (read from git, never run), then validate its submission")
    p.add_argument("--base", default="main", help="the branch or commit the PR targets (default: main)")
    p.add_argument("--head", default="HEAD", help="the PR's head commit; read with git, never checked out (default: HEAD)")
    p.add_argument("--author", default=None, metavar="LOGIN", help="the PR author's GitHub login, checked against an existing submission's maintainers")
    p.add_argument("--author-association", default=None, metavar="ASSOCIATION",
                   help="GitHub's author_association of the PR's author; OWNER, MEMBER or COLLABORATOR is a disbench maintainer, whose PR no path rule restricts")
    p.add_argument("--repo", default=".", help="the git checkout (default: .)")
    p.add_argument("--no-smoke", action="store_true", help="skip validate's short training run")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--no-validate", action="store_true", help="the policy only; imports and runs nothing from the PR")
    mode.add_argument("--validate-only", action="store_true", help="only disbench validate on each changed submission of the working tree")
    p.set_defaults(handler=_cmd_check_pr)
