"""``disbench reproduce table-a1 | overlap | boxblur | boxblur-b0.0001 | summary``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from disbench.arguments import device_argument, positive_int
from disbench.files import existing_folder, writable_folder
from disbench.seeds import seed_argument, seeds_argument

LOCAL_RESULTS = Path("runs/results")  # where new runs' records go unless --results-dir says otherwise


def _cmd_table_a1(args: argparse.Namespace) -> int:
    from disbench.analysis.table_a1 import format_table_a1, reproduce_table_a1

    print(format_table_a1(reproduce_table_a1(num_pairs=args.num_pairs, seed=args.seed, progress=not args.quiet)))
    return 0


def add_commands(sub: Any) -> None:
    """Add ``reproduce`` and its actions to the top-level subparsers ``sub``."""
    parser = sub.add_parser("reproduce", help="reproduce a table or figure of the paper")
    actions = parser.add_subparsers(dest="what", required=True, metavar="WHAT")

    p = actions.add_parser("table-a1", help="Table A1: how MSE perceives each dataset's factors (no training)")
    p.add_argument("--num-pairs", type=positive_int, default=50_000, help="pairs per dataset")
    p.add_argument("--seed", type=seed_argument, default=777, help="seed of the sampled pairs")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_cmd_table_a1)
    _experiment_parser(actions, "overlap", "Fig. 9: disentanglement against the squares' overlap (grid spacing 1..8)")
    _experiment_parser(actions, "boxblur", "Fig. 11: XYSquares under MSE against MSE + box blur (z = 25, both β pooled)")
    _experiment_parser(actions, "boxblur-b0.0001", "Fig. 11 at z = 25, β = 0.0001 alone, where both losses' encoders stay informative")
    p = actions.add_parser("summary", help="every claim's statistics and verdict from the committed records (docs/reproduction.md's generated part)")
    p.add_argument("--write", metavar="FILE", default=None, help="replace the generated part of FILE (e.g. docs/reproduction.md) instead of printing it")
    p.set_defaults(handler=_cmd_summary)


def _cmd_summary(args: argparse.Namespace) -> int:
    from disbench.reproduction.summary import summary_text, write_summary

    if args.write is None:
        print(summary_text())
        return 0
    print(f"wrote the generated part of {write_summary(args.write)}")
    return 0


def _cmd_experiment(args: argparse.Namespace) -> int:
    from collections import Counter

    from disbench.reproduction import report
    from disbench.reproduction.experiments import EXPERIMENTS, ReproductionError, averaging_label
    from disbench.reproduction.runner import DEFAULT_REUSE, plan, run_missing
    from disbench.seeds import parse_seeds

    experiment = EXPERIMENTS[args.what]
    tier = args.tier or experiment.default_tier
    if args.device is not None and not args.report_only:  # a GPU this machine lacks: now, not once per run
        from disbench.harness.run.train import check_device

        check_device(args.device)
    arms = experiment.arms(tuple(args.methods), args.average, tuple(args.conditions) if args.conditions else None)
    reuse = [Path(p) for p in args.reuse] if args.reuse is not None else list(DEFAULT_REUSE)
    absent = [p for p in reuse if args.reuse and not p.is_dir()]  # only folders the user named
    if absent:
        raise ReproductionError(f"--reuse folder {absent[0]} does not exist; name folders of records "
                                "(e.g. leaderboards/results), or give --reuse alone to reuse nothing.")
    results_dir = Path(args.results_dir or LOCAL_RESULTS)
    if args.report_only and args.results_dir is not None:  # else reported as counted, yet never read
        existing_folder(results_dir, "--results-dir", "--report-only reads the records in it: give the folder your runs wrote, "
                        "or leave --results-dir out to report the committed records alone.", ReproductionError)
    local = "first" if args.results_dir is not None else "never" if args.report_only else "last"  # a folder named is the user's choice
    planned = plan(arms, tier, parse_seeds(args.seeds), results_dir, Path(args.runs_dir), reuse, local=local, every_recorded=True)
    found = [p for p in planned if p.record is not None]
    averaging = averaging_label(args.methods, args.average)
    print(f"{experiment.name} ({experiment.figure}), {tier} tier{averaging}: {len(planned)} runs, "
          f"{len(found)} with a record" + "".join(f"\n  {n} from {d}" for d, n in Counter(str(p.found_in) for p in found).items()))
    missing = [p for p in planned if p.record is None]
    if args.dry_run:  # trains nothing and writes nothing, whether or not runs are missing
        print(f"would train {len(missing)} runs into {results_dir}" + (":" if missing else ": every run has a record"))
        for p in missing:
            print(f"  {p.run.label} ({p.state.state.value}{': ' + p.state.reason if p.state.reason else ''})")
        return 0
    if missing and not args.report_only:
        writable_folder(args.out, "--out folder", ReproductionError)  # before hours of training, not after
        print(f"training {len(missing)} runs into {results_dir} (resumable: run the same command again to continue)")
        planned = run_missing(planned, device=args.device, progress=not args.quiet)
    frame = report.records_frame(planned)
    left = [p for p in planned if p.record is None]
    if frame.empty:
        print(f"no records yet: run without --report-only to train the {len(left)} runs.")
        return 1
    out = writable_folder(args.out, "--out folder", ReproductionError)  # refused before the report is printed, not after
    text = report.report_text(experiment, frame, tier, averaging, [p.run.label for p in left])
    print("\n" + text)
    stem = f"{experiment.name}-{tier}" + ("-paper-avg" if "ada-gvae" in args.methods and args.average == "paper" else "")
    from disbench.files import write_text_atomic
    from disbench.reproduction.figures import figure

    written = [figure(experiment, frame, tier, out / f"{stem}.png", averaging)]
    written.append(write_text_atomic(out / f"{stem}.md", text + "\n"))
    written.append(write_text_atomic(out / f"{stem}.csv", frame.to_csv(index=False, float_format="%.10g")))
    print("\nwrote " + ", ".join(str(p) for p in written if p))
    return 1 if left and not args.report_only else 0


def _experiment_parser(actions: Any, name: str, help_text: str) -> None:
    from disbench.protocol import TIERS
    from disbench.reproduction.experiments import EXPERIMENTS, METHODS

    default_tier = EXPERIMENTS[name].default_tier
    p = actions.add_parser(name, help=help_text)
    p.add_argument("--tier", default=None, choices=TIERS, help=f"protocol tier (default: {default_tier}, as for every command: the tier a CPU can afford)")
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS, help=f"frameworks to compare (default: both, {' '.join(METHODS)})")
    p.add_argument("--seeds", nargs="+", type=seeds_argument, default=None, metavar="SEED",
                   help="'tier' (default: the tier's official seeds), a range '0-4', seeds '0 1 2', or a mix '0 3-5': the runs to train; "
                        "the report shows every seed with a record")
    conditions = ", ".join(map(str, EXPERIMENTS[name].conditions))
    p.add_argument("--conditions", nargs="+", default=None, metavar="C",
                   help=f"only these {EXPERIMENTS[name].condition_plural} of the grid ({conditions}; default: all)")
    p.add_argument("--average", default="fixed", choices=("fixed", "paper"), help="Ada-GVAE's averaging: fixed (default) or the paper-era one (paper.md §4.3)")
    p.add_argument("--results-dir", default=None,
                   help=f"where new runs' records go, and a folder whose records count (default: {LOCAL_RESULTS}, read only when training: "
                        "--report-only reports the committed records alone unless a --results-dir is given)")
    p.add_argument("--runs-dir", default="runs", help="checkpoints of new runs (default: runs)")
    p.add_argument("--reuse", nargs="*", default=None,
                   help="results folders whose valid records count, before --results-dir's (default: the committed leaderboards/results reproduction/results)")
    p.add_argument("--out", default="runs/reproduction", help="folder for the figure, the table (.md) and the scores (.csv)")
    p.add_argument("--report-only", action="store_true", help="train nothing: report the records that exist")
    p.add_argument("--dry-run", action="store_true", help="say what would be trained, and stop")
    p.add_argument("--device", type=device_argument, default=None, help="cpu, cuda, ... (default: cuda if available)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=_cmd_experiment)
