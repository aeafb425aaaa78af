"""The ``disbench`` command line: argument parsing and printing; the work is done by the library."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from disbench.analysis.cli import add_commands as add_analysis_commands
from disbench.arguments import Parser, device_argument, positive_float, positive_int
from disbench.durations import duration
from disbench.error import DisbenchError
from disbench.harness.sweep.cli import add_commands as add_sweep_commands
from disbench.leaderboard.cli import add_commands as add_leaderboard_commands
from disbench.protocol import DEFAULT_TIER, TIERS
from disbench.reproduction.cli import add_commands as add_reproduce_commands
from disbench.seeds import seed_argument, seeds_argument

SHOWN_METRICS = ("mig", "dci.disentanglement", "dci.completeness", "dci.informativeness_test", "sap", "factor_vae.eval_accuracy",
                 "beta_vae.eval_accuracy", "irs")  # DCI beside the informativeness its gate read
PICTURE_ENDINGS = (".png", ".pdf", ".svg", ".jpg", ".jpeg", ".eps", ".tif", ".tiff", ".webp")  # `show --out`'s formats (matplotlib's)


def seal_choice(text: str) -> bool | int | None:
    """``--seal``: 'secret' -> True, 'none' -> None, a seed -> that int."""
    if text in ("secret", "none"):
        return True if text == "secret" else None
    if text.isdigit() and int(text) < 2**63:
        return int(text)
    raise argparse.ArgumentTypeError(f"{text!r} is not 'secret', 'none' or a seal seed (the integer 0 to 2**63-1 in a record's seal.seed)")


def _cmd_list(args: argparse.Namespace) -> int:
    import disbench

    disbench.pprint_registry()
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from disbench.describe import describe_task

    print(describe_task(args.task, seed=args.seed))
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    import disbench
    from disbench.files import writable_file
    from disbench.viz.samples import save_samples_figure

    task = disbench.make(args.task)
    writable_file(args.out, "--out picture", PICTURE_ENDINGS, DisbenchError)
    print(f"wrote {save_samples_figure(task.data, args.out, seed=args.seed, title=f'{task.id} ({task.loss.name})')}")
    return 0


def _cmd_learn_kernel(args: argparse.Namespace) -> int:
    import disbench
    from disbench.analysis import factor_correlation
    from disbench.analysis.kernels import check_learning, learn_kernel
    from disbench.files import writable_file
    from disbench.losses import augmented

    task = disbench.make(args.task)
    check_learning(task, args.radius, args.batch_size)
    writable_file(args.out, "--out kernel", (".npy",), DisbenchError)  # before minutes of learning, not after
    learnt = learn_kernel(task, radius=args.radius, steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed, progress=True)
    learnt.save(args.out)
    rho = factor_correlation(disbench.make(task.spec.id, loss=augmented("mse", learnt.kernel, 1.0)), repeats=32)
    print(f"wrote {args.out}; final soft Spearman {learnt.history[-1]:.4f}; traversal Spearman " + ", ".join(f"{n} {c.spearman:.3f}" for n, c in rho.items()))
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from disbench.harness.validate import validate_submission

    report = validate_submission(args.submission, task_id=args.task, smoke_run=not args.no_smoke)
    print(report.render())
    return 0 if report.ok else 1


def _cmd_run(args: argparse.Namespace) -> int:
    import time

    import disbench
    from disbench.harness.run import run_packed_submission, run_submission
    from disbench.harness.submission import Submission

    submission = Submission(args.submission)
    task_spec = disbench.spec(args.task)
    notes: set[str] = set()

    def note(line: str) -> None:
        if line not in notes:
            notes.add(line)
            print(f"note: {line}")

    seeds = _run_seeds(args.seeds, task_spec, args.protocol, note)
    options = dict(protocol=args.protocol, device=args.device, resume=args.resume, overwrite=args.overwrite, results_dir=args.results_dir,
                   runs_dir=args.runs_dir, progress=not args.quiet, notify=note, seal=args.seal)
    started = datetime.now(timezone.utc)
    records, failed = [], []
    for start in range(0, len(seeds), args.pack):
        group_seeds = seeds[start : start + args.pack]
        began = time.perf_counter()
        if len(group_seeds) == 1:
            group = [run_submission(submission, task_spec.id, seed=group_seeds[0], **options)]
        else:
            group = run_packed_submission(submission, task_spec.id, group_seeds, **options)
        took = time.perf_counter() - began
        for seed, record in zip(group_seeds, group):
            if record.status == "failed":
                failed.append(f"seed {seed}: {record.error}")
                continue
            records.append(record)
            if record.created < started:
                print(f"seed {seed}: finished earlier ({record.created:%Y-%m-%d %H:%M} UTC); --resume leaves a finished run as it is (re-score it with disbench eval)")
            else:
                print(f"seed {seed}: {_timing(record.training, took, len(group_seeds))}")
    if records:
        _print_scores(records, Path(args.results_dir) / task_spec.id / submission.name / args.protocol)
    for line in failed:
        print(f"error: {line}", file=sys.stderr)
    return 2 if failed else 0


def _run_seeds(words: list[str], task_spec, tier_name: str, note) -> list[int]:
    """The seeds ``--seeds`` names (the tier's own for 'tier'), each once, in order; notes (before any
    training) a seed named twice and seeds outside the tier's official ones."""
    from disbench.error import ProtocolError
    from disbench.seeds import TIER_SEEDS, off_protocol_note, parse_seeds, seed_list

    tier = task_spec.protocols.get(tier_name)
    if tier is None:
        raise ProtocolError(f"Task {task_spec.id} has no {tier_name!r} tier; its tiers are {', '.join(task_spec.protocols)}.")
    if parse_seeds(words) == TIER_SEEDS:
        return list(tier.seeds)
    named = seed_list(words)
    if len(set(named)) < len(named):
        note(f"--seeds {' '.join(words)} names a seed twice; each runs once")
    seeds = list(dict.fromkeys(named))
    off_protocol = off_protocol_note(task_spec.id, tier.name, tier.seeds, seeds)
    if off_protocol:
        note(off_protocol)
    return seeds


def _timing(training, took_s: float, pack: int) -> str:
    """Where a run's time went, in the progress bars' terms: the training bar covers the steps and the
    curve scored between them, the evaluation bar the final metric suite; ``took_s`` is the whole
    call (the child's start-up and rendering included), shared by the seeds of a pack."""
    bar = training.wall_time_s + training.curve_time_s
    text = (f"{training.steps:,} steps: training {duration(bar)} ({duration(training.wall_time_s)} of steps, "
            f"{duration(training.curve_time_s)} scoring the curve), final evaluation {duration(training.evaluation_time_s)}; ")
    if bar + training.evaluation_time_s > took_s + 1:
        return text + f"{duration(took_s)} in this session (the training time includes the sessions before --resume)"
    return text + (f"{duration(took_s)} in all for the pack of {pack} seeds" if pack > 1 else f"{duration(took_s)} in all, start-up included")


def _print_scores(records, folder: Path) -> None:
    print(score_table([(r.task.id, r.submission.name, r.protocol.name, r.seed, r.metrics) for r in records]))
    print(f"{len(SHOWN_METRICS)} of {len(records[0].metrics)} metrics shown; every metric is in the records: {folder}/seed-<n>.json")
    for r in records:
        if not r.on_protocol:
            print(f"seed {r.seed} is off-protocol: {'; '.join(r.off_protocol_reasons)}")
    _adversarial_note(records[0].task.id)


def score_table(rows: list[tuple[str, str, str, int, dict[str, float]]]) -> str:
    """One row per (task, submission, tier, seed, metrics): the metrics of ``SHOWN_METRICS``."""
    from tabulate import tabulate

    table = [(task, name, tier, seed, *(metrics.get(k) for k in SHOWN_METRICS)) for task, name, tier, seed, metrics in rows]
    return tabulate(table, headers=["task", "submission", "protocol", "seed", *SHOWN_METRICS], floatfmt=".3f", tablefmt="simple")


def _adversarial_note(task_id: str) -> None:
    """On an adversarial task, near-zero scores are the result the suite exists to show: say so."""
    import disbench

    task_spec = disbench.spec(task_id)
    if task_spec.adversarial:
        twin = f"; its twin {task_spec.twin} is the same data under a loss that re-enables disentanglement" if task_spec.twin else ""
        print(f"note: {task_spec.id} is adversarial: its loss ({task_spec.loss}) perceives no ordering along some factors, so near-zero "
              f"disentanglement scores are the expected result here, for any method (the paper's point){twin}.")


def _cmd_eval(args: argparse.Namespace) -> int:
    import json

    import disbench
    from disbench.error import DataError, NameNotFound, NamespaceNotFound
    from disbench.harness.run.evaluation import evaluate_checkpoint, load_run_state
    from disbench.registration import spec_differences, unregistered_hint

    state = load_run_state(args.checkpoint)
    tier = args.protocol or state.get("protocol", {}).get("name", DEFAULT_TIER)  # the tier it was trained under
    seed = state.get("seed", 0) if args.seed is None else args.seed  # the run's: its record's scores again
    recorded = state.get("task_spec") or {}
    task = args.task or recorded.get("id")
    try:
        current = disbench.spec(task) if task else None
    except (NameNotFound, NamespaceNotFound) as e:
        raise type(e)(f"{e}{'' if args.task else unregistered_hint(recorded)}") from None
    if args.task is None and current is not None and (changed := spec_differences(recorded, current.to_dict())):
        raise DataError(f"{task} is no longer the task {args.checkpoint} was trained on ({'; '.join(changed[:3])}): its registration or "
                        "data changed since, or the run overrode its arguments; restore what changed, or name the task to score it on with --task.")
    scores = evaluate_checkpoint(args.checkpoint, protocol=tier, seed=seed, task_id=task)
    if args.json:
        print(json.dumps(scores, sort_keys=True))  # one line, the last: a module that prints at import does not break a reader
        return 0
    task_id = current.id
    print(score_table([(task_id, state["submission"]["name"], tier, seed, scores)]))
    print(f"{len(SHOWN_METRICS)} of {len(scores)} metrics shown; --json prints every one")
    _adversarial_note(task_id)
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from disbench.harness.record.signing import load_public_key
    from disbench.harness.record.verify import verify_record

    if args.checkpoint is not None and len(args.records) > 1:  # one checkpoint belongs to one run's record
        raise DisbenchError(f"--checkpoint names one run's checkpoint, but {len(args.records)} records were given; verify them one at a "
                            "time, or leave --checkpoint out to find each record's checkpoint in --runs-dir.")
    # a key the user names must be usable: one error now, not a failed check per record; and it is read once
    key = load_public_key(args.public_key) if args.public_key is not None else None
    failed = 0
    for record in args.records:
        report = verify_record(record, runs_dir=args.runs_dir, checkpoint=args.checkpoint, retrain=args.retrain, public_key=key,
                               task=args.task)
        print(report.render())
        failed += not report.ok
    return 1 if failed else 0


def _cmd_data_download(args: argparse.Namespace) -> int:
    import inspect

    from disbench.data import dataset_class, stored_dataset, stored_datasets

    if args.subset is not None and args.name in stored_datasets() and "subset" not in inspect.signature(dataset_class(args.name)).parameters:
        from disbench.data.mpi3d import SUBSETS

        raise DisbenchError(f"--subset {args.subset}: {args.name} has no subsets (only mpi3d has: {', '.join(SUBSETS)}); leave --subset out.")
    data = stored_dataset(args.name, root=args.root, **({"subset": args.subset} if args.subset else {}))
    path = data.prepare(progress=not args.quiet)
    if not args.keep_raw:
        data.remove_raw()
    print(f"{data.name}: {len(data):,} observations ready at {path}")
    return 0


def _cmd_data_status(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from disbench.data import stored_variants

    rows = [(data.name, "yes" if data.is_prepared() else "no", str(data.folder)) for data in stored_variants(args.root)]
    print(tabulate(rows, headers=["dataset", "prepared", "folder"], tablefmt="simple"))
    if args.root is not None and not Path(args.root).is_dir():  # a mistyped --root would read as "nothing is prepared"
        from disbench.files import missing_folder

        print(f"warning: --root {args.root} {missing_folder(args.root)}, so nothing is prepared there; `disbench data download NAME --root {args.root}` "
              "would make it, or leave --root out for the default folder.", file=sys.stderr)
    return 0


def _cmd_keys_generate(args: argparse.Namespace) -> int:
    from disbench.harness.record.signing import keys_generate

    print(keys_generate(args.private, args.public))
    return 0


def _cmd_keys_init(args: argparse.Namespace) -> int:
    from disbench.harness.record.keys import init_keys

    print(init_keys(args.private, args.public, rotate=args.rotate).report())
    return 0


def _cmd_sign(args: argparse.Namespace) -> int:
    from disbench.harness.record.sign import sign_records

    paths = [f for r in map(Path, args.records) for f in (sorted(r.rglob("seed-*.json")) if r.is_dir() else [r])]
    if not paths:
        raise DisbenchError(f"No result records (seed-<n>.json) under {', '.join(args.records)}; give record files or the folder "
                            "`disbench run --results-dir` wrote them to.")
    results = sign_records(paths, submissions_dir=args.submissions, runs_dir=args.runs_dir, public_key=args.public_key)
    for result in results:
        print(result.line())
    refused = sum(not r.ok for r in results)
    print(f"{len(results) - refused} signed, {refused} refused")
    return 1 if refused else 0


def _cmd_sandbox(args: argparse.Namespace) -> int:
    from disbench.harness.child.sandbox import isolation, setup

    if args.sandbox_command == "setup":
        lines = setup()
    else:
        now = isolation()
        lines = [f"namespaces: {now.namespaces}, separate user: {now.separate_user}, cgroup limits: {now.cgroup}"]
        lines += [f"missing: {reason}" for reason in now.missing()] or ["runs here are official (they can be signed)"]
    print("\n".join(lines))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="disbench", description="Benchmark suite for disentangled representation learning.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="list the registered tasks, by namespace")
    p.set_defaults(handler=_cmd_list)

    p = sub.add_parser("info", help="describe a task: data, loss, protocols, perceived-distance verdict")
    p.add_argument("task", help="task id, e.g. xysquares-mse (disbench list shows them all)")
    p.add_argument("--seed", type=seed_argument, default=0, help="seed of the verdict's sampled pairs")
    p.set_defaults(handler=_cmd_info)

    p = sub.add_parser("show", help="write a PNG of samples and one traversal per factor")
    p.add_argument("task", help="task id, e.g. xysquares-mse")
    p.add_argument("--out", default="samples.png", help=f"the picture to write ({', '.join(PICTURE_ENDINGS)}; default: samples.png)")
    p.add_argument("--seed", type=seed_argument, default=0, help="seed of the samples drawn")
    p.set_defaults(handler=_cmd_show)

    add_analysis_commands(sub)  # analyze, suggest-loss
    add_reproduce_commands(sub)  # reproduce table-a1 | overlap | boxblur

    p = sub.add_parser("learn-kernel", help="learn a blur kernel whose augmented MSE ranks pairs like the factors")
    p.add_argument("task", help="task id whose data the kernel is learnt on, e.g. xysquares-mse")
    p.add_argument("--out", required=True, help="where to write the kernel (.npy)")
    p.add_argument("--radius", type=positive_int, default=31, help="kernel radius in pixels (the kernel is 2r+1 square)")
    p.add_argument("--steps", type=positive_int, default=1000, help="optimisation steps")
    p.add_argument("--batch-size", type=positive_int, default=128, help="pairs per step")
    p.add_argument("--lr", type=positive_float, default=1e-3, help="Adam's learning rate")
    p.add_argument("--seed", type=seed_argument, default=777, help="seed of the initial kernel and the pairs")
    p.set_defaults(handler=_cmd_learn_kernel)

    p = sub.add_parser("validate", help="check a submission folder: schema, import, method contract, smoke run")
    p.add_argument("submission", help="the submission's folder, e.g. submissions/my-vae")
    p.add_argument("--task", default="xysquares-mse", help="task the contract and the smoke run use")
    p.add_argument("--no-smoke", action="store_true", help="skip the short training run")
    p.set_defaults(handler=_cmd_validate)

    p = sub.add_parser("run", help="train and score a submission under a task's protocol")
    p.add_argument("submission", help="the submission's folder, e.g. submissions/beta-vae")
    p.add_argument("--task", required=True, help="task id, e.g. xysquares-mse")
    p.add_argument("--seeds", type=seeds_argument, nargs="+", default=["0"], metavar="SEED",
                   help="seeds '0 1 2', a range '0-4', a mix '0 3-5', or 'tier' (the tier's official seeds); others make off-protocol records")
    p.add_argument("--pack", type=positive_int, default=1, metavar="K",
                   help="train up to K seeds together in one process as one batched computation (1: one at a time); see docs/sweeps.md")
    p.add_argument("--protocol", "--tier", dest="protocol", default=DEFAULT_TIER, choices=TIERS,
                   help="protocol tier (default: %(default)s, minutes a run on a CPU; standard is the leaderboard's, hours on a CPU)")
    p.add_argument("--device", type=device_argument, default=None, help="cpu, cuda, cuda:1, ... (default: cuda if available)")
    again = p.add_mutually_exclusive_group()  # refused by argparse, before any folder or lock is made
    again.add_argument("--resume", action="store_true", help="continue interrupted runs from their checkpoints")
    again.add_argument("--overwrite", action="store_true", help="delete earlier runs of the same seeds and start again")
    p.add_argument("--results-dir", default="runs/results", help="where records go (default: the untracked runs/results)")
    p.add_argument("--runs-dir", default="runs", help="checkpoints, curves and pictures")
    p.add_argument("--seal", type=seal_choice, default="secret", metavar="secret|none|SEED",  # a string default goes through the type: True
                   help="the task variant the run trains and is scored on: 'secret' (default: this runner's secret variant, see docs/trust.md), "
                        "'none' (the public task; disbench sign refuses such records) or a record's seal seed, to replay it")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=_cmd_run)

    p = sub.add_parser("eval", help="score a run's checkpoint with a tier's metric suite (the run's record's scores again, by default)")
    p.add_argument("checkpoint", help="a run's checkpoint.pt, e.g. runs/xysquares-mse-v0/beta-vae/quick/seed-0/checkpoint.pt")
    p.add_argument("--task", default=None, help="task to score on (default: the task it was trained on; one a module of yours registers needs MODULE:ID)")
    p.add_argument("--protocol", "--tier", dest="protocol", default=None, choices=TIERS, help="tier whose metric suite scores it (default: the tier it was trained under)")
    p.add_argument("--seed", type=seed_argument, default=None, help="seed of the evaluation's samples (default: the run's seed, as in its record)")
    p.add_argument("--json", action="store_true", help="print every metric as JSON, for machines, instead of the table")
    p.set_defaults(handler=_cmd_eval)

    p = sub.add_parser("verify", help="re-check result records: hashes, signature, re-scored metrics (and --retrain)")
    p.add_argument("records", nargs="+", help="result record files (seed-<n>.json)")
    p.add_argument("--runs-dir", default="runs", help="where the runs' checkpoints are (default: runs)")
    p.add_argument("--checkpoint", default=None, help="the checkpoint, if not in the runs folder (one record only)")
    p.add_argument("--retrain", action="store_true", help="also train again from scratch and require identical metrics")
    p.add_argument("--public-key", default=None, help="the runner's public key (default: leaderboards/runner-key.pub)")
    p.add_argument("--task", default=None, metavar="MODULE:ID",
                   help="the record's task, for one a module of yours registers (e.g. mytasks:mydata-mse); refused unless it builds the record's task")
    p.set_defaults(handler=_cmd_verify)

    p = sub.add_parser("sign", help="the official runner's signature on records that pass every check (a step apart from training)")
    p.add_argument("records", nargs="+", help="record files (seed-<n>.json) or folders of them")
    p.add_argument("--submissions", default="submissions", help="where the submissions' folders are (default: submissions)")
    p.add_argument("--runs-dir", default="runs", help="where the runs' checkpoints are (default: runs)")
    p.add_argument("--public-key", default=None, help="also check that the key in $DISBENCH_RUNNER_KEY pairs with this public key")
    p.set_defaults(handler=_cmd_sign)

    p = sub.add_parser("sandbox", help="the operating system's walls around submission code")
    p.add_argument("sandbox_command", choices=["setup", "status"], metavar="ACTION",
                   help="setup: create the sandbox user (as root) and report; status: what isolation runs get here")
    p.set_defaults(handler=_cmd_sandbox)

    data = sub.add_parser("data", help="download and inspect stored datasets")
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    p = data_sub.add_parser("download", help="download, verify and convert a stored dataset")
    p.add_argument("name", help="dsprites, shapes3d, cars3d, smallnorb or mpi3d")
    p.add_argument("--subset", default=None, help="MPI3D subset: toy, realistic (default) or real")
    p.add_argument("--root", default=None, help="cache folder (default: $DISBENCH_DATA or ~/.cache/disbench/data)")
    p.add_argument("--keep-raw", action="store_true", help="keep the downloaded source files after conversion")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=_cmd_data_download)
    p = data_sub.add_parser("status", help="which stored datasets are prepared, and where")
    p.add_argument("--root", default=None, help="cache folder (default: $DISBENCH_DATA or ~/.cache/disbench/data)")
    p.set_defaults(handler=_cmd_data_status)

    p = sub.add_parser("keys", help="the official runner's record-signing keys")
    keys_sub = p.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    p = keys_sub.add_parser("generate", help="write a new Ed25519 key pair (private file 0600, never printed)")
    p.add_argument("--private", required=True, help="where to write the private key (outside the repository)")
    p.add_argument("--public", required=True, help="where to write the public key, e.g. leaderboards/runner-key.pub")
    p.set_defaults(handler=_cmd_keys_generate)
    p = keys_sub.add_parser("init", help="the official runner's key: private file outside any git clone (0600), public key to leaderboards/runner-key.pub")
    p.add_argument("--private", default=None, help="where to write the private key (default: ~/.config/disbench/runner-key.pem; never inside a git work tree)")
    p.add_argument("--public", default="leaderboards/runner-key.pub", help="where to write the public key (default: leaderboards/runner-key.pub)")
    p.add_argument("--rotate", action="store_true", help="replace an existing public key (a lost or leaked key; see docs/trust.md)")
    p.set_defaults(handler=_cmd_keys_init)
    add_leaderboard_commands(sub)  # leaderboard, site, publish, ci
    add_sweep_commands(sub)  # sweep, sweep status
    return parser


def one_line(message: str) -> str:
    """A message of several lines (a list of problems, say) as one: its lines joined by '; '."""
    lines = [line.strip().removeprefix("- ") for line in message.splitlines() if line.strip()]
    return " ".join(lines[:1] + ["; ".join(lines[1:])]).strip() if lines else message


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as the command line shows it: one line, no source path."""
    print(f"warning: {one_line(str(message))}", file=sys.stderr if file is None else file)


def main(argv: Sequence[str] | None = None) -> int:
    from disbench.harness.child.allocator import tune_allocator

    args = build_parser().parse_args(argv)
    tune_allocator()
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            return args.handler(args)
    except DisbenchError as e:
        print(f"error: {one_line(str(e))}", file=sys.stderr)
        return 2
    except OSError as e:  # the system refused a path the user gave (too long a name, no permission, a full disk, ...)
        where = f": {e.filename}" if e.filename else ""
        print(f"error: {one_line(e.strerror or str(e))}{where}", file=sys.stderr)
        return 2
    except MemoryError:  # sizes the user chose (an --image-size of 100000, say) that no array of this machine can hold
        print("error: not enough memory for what this command was asked to do; give smaller sizes (images, pairs, batch).", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        resumable = args.command in ("run", "sweep", "reproduce")
        hint = "; its last checkpoint is kept: run the same command again with --resume to continue" if args.command == "run" else (
            "; finished runs and checkpoints are kept: run the same command again to continue" if resumable else "")
        print(f"\ninterrupted{hint}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
