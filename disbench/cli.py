"""The ``disbench`` command line: argument parsing and printing; the work is done by the library."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from disbench.analysis.cli import add_commands as add_analysis_commands
from disbench.error import DisbenchError
from disbench.harness.sweep.cli import add_commands as add_sweep_commands
from disbench.leaderboard.cli import add_commands as add_leaderboard_commands
from disbench.protocol import TIERS
from disbench.reproduction.cli import add_commands as add_reproduce_commands

SHOWN_METRICS = ("mig", "dci.disentanglement", "dci.completeness", "dci.informativeness_test", "sap", "factor_vae.eval_accuracy",
                 "beta_vae.eval_accuracy", "irs")  # DCI beside the informativeness its gate read


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; seeds are 0, 1, 2, ...")
    if value > 2**32 - 1:
        raise argparse.ArgumentTypeError(f"{value} is too large; seeds go from 0 to {2**32 - 1:,}")
    return value


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
    from disbench.viz.samples import save_samples_figure

    task = disbench.make(args.task)
    print(f"wrote {save_samples_figure(task.data, args.out, seed=args.seed, title=f'{task.id} ({task.loss.name})')}")
    return 0


def _cmd_learn_kernel(args: argparse.Namespace) -> int:
    import disbench
    from disbench.analysis import factor_correlation
    from disbench.analysis.kernels import learn_kernel
    from disbench.losses import augmented

    task = disbench.make(args.task)
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
    import disbench
    from disbench.error import TrainingError
    from disbench.harness.run import run_packed_submission, run_submission
    from disbench.harness.submission import Submission

    if args.pack < 1:
        raise TrainingError(f"--pack {args.pack}: give how many seeds to train together in one process, 1 or more (1 trains them one at a time).")
    submission = Submission(args.submission)
    task_id = disbench.spec(args.task).id
    notes: set[str] = set()

    def note(line: str) -> None:
        if line not in notes:
            notes.add(line)
            print(f"note: {line}")

    options = dict(protocol=args.protocol, device=args.device, resume=args.resume, overwrite=args.overwrite, results_dir=args.results_dir,
                   runs_dir=args.runs_dir, progress=not args.quiet, notify=note, seal=args.seal)
    if len(set(args.seeds)) < len(args.seeds):
        note(f"--seeds {' '.join(map(str, args.seeds))} names a seed twice; each runs once")
        args.seeds = list(dict.fromkeys(args.seeds))
    started = datetime.now(timezone.utc)
    records, failed = [], []
    for start in range(0, len(args.seeds), args.pack):
        seeds = args.seeds[start : start + args.pack]
        if len(seeds) == 1:
            group = [run_submission(submission, task_id, seed=seeds[0], **options)]
        else:
            group = run_packed_submission(submission, task_id, seeds, **options)
        for seed, record in zip(seeds, group):
            if record.status == "failed":
                failed.append(f"seed {seed}: {record.error}")
                continue
            records.append(record)
            if record.created < started:
                print(f"seed {seed}: finished earlier ({record.created:%Y-%m-%d %H:%M} UTC); --resume leaves a finished run as it is (re-score it with disbench eval)")
            else:
                print(f"seed {seed}: {record.training.steps} steps in {record.training.wall_time_s:.0f}s, evaluated in {record.training.evaluation_time_s:.0f}s")
    if records:
        _print_scores(records, Path(args.results_dir) / task_id / submission.name / args.protocol)
    for line in failed:
        print(f"error: {line}", file=sys.stderr)
    return 2 if failed else 0


def _print_scores(records, folder: Path) -> None:
    from tabulate import tabulate

    rows = [(r.task.id, r.submission.name, r.protocol.name, r.seed, *(r.metrics.get(k) for k in SHOWN_METRICS), f"{r.training.wall_time_s:.0f}s") for r in records]
    print(tabulate(rows, headers=["task", "submission", "protocol", "seed", *SHOWN_METRICS, "train time"], floatfmt=".3f", tablefmt="simple"))
    total = len(records[0].metrics)
    print(f"{len(SHOWN_METRICS)} of {total} metrics shown; every metric is in the records: {folder}/seed-<n>.json")
    for r in records:
        if not r.on_protocol:
            print(f"seed {r.seed} is off-protocol: {'; '.join(r.off_protocol_reasons)}")


def _cmd_eval(args: argparse.Namespace) -> int:
    import json

    from disbench.harness.run.evaluation import evaluate_checkpoint

    scores = evaluate_checkpoint(args.checkpoint, protocol=args.protocol, seed=args.seed, task_id=args.task)
    print(json.dumps(scores, indent=1, sort_keys=True))
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from disbench.harness.record.verify import verify_record

    failed = 0
    for record in args.records:
        report = verify_record(record, runs_dir=args.runs_dir, checkpoint=args.checkpoint, retrain=args.retrain, public_key=args.public_key)
        print(report.render())
        failed += not report.ok
    return 1 if failed else 0


def _cmd_data_download(args: argparse.Namespace) -> int:
    from disbench.data import stored_dataset

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
    parser = argparse.ArgumentParser(prog="disbench", description="Benchmark suite for disentangled representation learning.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="list the registered tasks, by namespace")
    p.set_defaults(handler=_cmd_list)

    p = sub.add_parser("info", help="describe a task: data, loss, protocols, perceived-distance verdict")
    p.add_argument("task")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=_cmd_info)

    p = sub.add_parser("show", help="write a PNG of samples and one traversal per factor")
    p.add_argument("task")
    p.add_argument("--out", default="samples.png")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=_cmd_show)

    add_analysis_commands(sub)  # analyze, suggest-loss
    add_reproduce_commands(sub)  # reproduce table-a1 | overlap | boxblur

    p = sub.add_parser("learn-kernel", help="learn a blur kernel whose augmented MSE ranks pairs like the factors")
    p.add_argument("task")
    p.add_argument("--out", required=True, help="where to write the kernel (.npy)")
    p.add_argument("--radius", type=int, default=31)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=777)
    p.set_defaults(handler=_cmd_learn_kernel)

    p = sub.add_parser("validate", help="check a submission folder: schema, import, method contract, smoke run")
    p.add_argument("submission")
    p.add_argument("--task", default="xysquares-mse")
    p.add_argument("--no-smoke", action="store_true", help="skip the short training run")
    p.set_defaults(handler=_cmd_validate)

    p = sub.add_parser("run", help="train and score a submission under a task's protocol")
    p.add_argument("submission")
    p.add_argument("--task", required=True)
    p.add_argument("--seeds", type=non_negative_int, nargs="+", default=[0])
    p.add_argument("--pack", type=int, default=1, metavar="K",
                   help="train up to K seeds together in one process as one batched computation (default 1: one at a time); see docs/sweeps.md")
    p.add_argument("--protocol", default="quick", choices=TIERS)
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ... (default: cuda if available)")
    p.add_argument("--resume", action="store_true", help="continue interrupted runs from their checkpoints")
    p.add_argument("--overwrite", action="store_true", help="delete earlier runs of the same seeds and start again")
    p.add_argument("--results-dir", default="runs/results", help="where records go (default: the untracked runs/results)")
    p.add_argument("--runs-dir", default="runs", help="checkpoints, curves and pictures")
    p.add_argument("--seal", type=seal_choice, default=True, metavar="secret|none|SEED",
                   help="the task variant the run trains and is scored on: 'secret' (default: this runner's secret variant, see docs/trust.md), "
                        "'none' (the public task; disbench sign refuses such records) or a record's seal seed, to replay it")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(handler=_cmd_run)

    p = sub.add_parser("eval", help="score a checkpoint with a task's metric suite")
    p.add_argument("checkpoint")
    p.add_argument("--task", default=None, help="default: the task it was trained on")
    p.add_argument("--protocol", default="standard", choices=TIERS)
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.set_defaults(handler=_cmd_eval)

    p = sub.add_parser("verify", help="re-check result records: hashes, signature, re-scored metrics (and --retrain)")
    p.add_argument("records", nargs="+", help="result record files (seed-<n>.json)")
    p.add_argument("--runs-dir", default="runs", help="where the runs' checkpoints are (default: runs)")
    p.add_argument("--checkpoint", default=None, help="the checkpoint, if not in the runs folder (one record only)")
    p.add_argument("--retrain", action="store_true", help="also train again from scratch and require identical metrics")
    p.add_argument("--public-key", default=None, help="the runner's public key (default: leaderboards/runner-key.pub)")
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
    p.add_argument("name")
    p.add_argument("--subset", default=None, help="MPI3D subset: toy, realistic (default) or real")
    p.add_argument("--root", default=None, help="cache folder (default: $DISBENCH_DATA or ~/.cache/disbench/data)")
    p.add_argument("--keep-raw", action="store_true", help="keep the downloaded source files after conversion")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(handler=_cmd_data_download)
    p = data_sub.add_parser("status", help="which stored datasets are prepared, and where")
    p.add_argument("--root", default=None)
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


def main(argv: Sequence[str] | None = None) -> int:
    from disbench.harness.child.allocator import tune_allocator

    args = build_parser().parse_args(argv)
    tune_allocator()
    try:
        return args.handler(args)
    except DisbenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        resumable = args.command in ("run", "sweep", "reproduce")
        hint = "; its last checkpoint is kept: run the same command again with --resume to continue" if args.command == "run" else (
            "; finished runs and checkpoints are kept: run the same command again to continue" if resumable else "")
        print(f"\ninterrupted{hint}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
