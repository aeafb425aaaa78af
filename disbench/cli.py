"""The ``disbench`` command line. Each handler is a thin wrapper over the library."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from disbench.error import DisbenchError

Handler = Callable[[argparse.Namespace], int]


def _cmd_list(args: argparse.Namespace) -> int:
    import disbench

    disbench.pprint_registry()
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    import disbench
    from disbench.data import STORED, dataset_class, make_dataset

    spec = disbench.spec(args.task)
    kwargs = {k: v for k, v in spec.kwargs.items() if k not in ("dataset", "loss")}
    print(f"{spec.id}: {spec.description}")
    print(f"  dataset     {spec.dataset} {kwargs or ''}")
    print(f"  loss        {spec.loss}")
    print(f"  adversarial {'yes' if spec.adversarial else 'no'}" + (f"   twin: {spec.twin}" if spec.twin else ""))
    if spec.dataset in STORED:
        data = make_dataset(spec.dataset, **kwargs)
        state = "prepared" if data.is_prepared() else f"NOT prepared: run `{data.download_command.format(name=data.name)}`"
        print(f"  data        {data.folder} ({state})")
    else:
        data = dataset_class(spec.dataset)(**kwargs)
    print(f"  observation uint8 {data.obs_shape}, {len(data):,} observations")
    print("  factors     " + ", ".join(f"{n} ({s})" for n, s in zip(data.factor_names, data.factor_sizes)))
    rows = [(p.name, f"{p.steps:,}", p.batch_size, p.latent_dim, p.metric_suite, " ".join(map(str, p.seeds)), p.hash()[:12]) for p in spec.protocols.values()]
    print(tabulate(rows, headers=["tier", "steps", "batch", "max z", "metrics", "seeds", "hash"], tablefmt="simple"))
    if spec.dataset not in STORED or data.is_prepared():
        from disbench.analysis import analyse

        report = analyse(disbench.make(spec.id), num_pairs=2000, repeats=16, seed=args.seed)
        print(f"\nperceived-distance verdict: {report.verdict}  ({report.reason})")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    import disbench
    from disbench.viz.samples import save_samples_figure

    task = disbench.make(args.task)
    out = save_samples_figure(task.data, args.out, seed=args.seed, title=f"{task.spec.id} ({task.loss.name})")
    print(f"wrote {out}")
    return 0


def _comparison_losses(task) -> list[str]:
    """The task's own loss next to MSE, the blur losses and the learnt kernel (if shipped)."""
    from disbench.tasks import BOXBLUR, GAUSSBLUR, LEARNT

    losses = [task.loss.name, "mse", BOXBLUR, GAUSSBLUR]
    if task.data.name == "xysquares":
        losses.append(LEARNT)
    return list(dict.fromkeys(losses))


def _cmd_analyze(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from tabulate import tabulate

    import disbench
    from disbench.analysis import analyse, factor_correlation
    from disbench.viz.distances import save_matrices_figure

    task = disbench.make(args.task)
    report = analyse(task, num_pairs=args.num_pairs, repeats=args.repeats, seed=args.seed, space=args.space)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    save_matrices_figure(report.traversals, out / "matrices.png", title=f"{task.spec.id}: {task.loss.name}")

    def rho(c):
        return "constant" if c.constant else "-" if c.spearman is None else f"{c.spearman:.3f}"

    rows = []
    for name, c in report.correlations.items():
        d = report.distances.get(name)
        rows.append((name, c.size, f"{d.mean:.4f} ({d.std:.4f})" if d else "-", rho(c), c.distinct_values))
    rows.append(("random pairs", "", f"{report.random.mean:.4f} ({report.random.std:.4f})", "", ""))
    print(tabulate(rows, headers=["factor", "size", "distance mean (std)", "spearman", "distinct"], tablefmt="simple"))
    print(f"\nverdict: {report.verdict} ({report.reason})")

    comparison = {}
    for loss in _comparison_losses(task):
        comparison[loss] = factor_correlation(disbench.make(task.spec.id, loss=loss), repeats=args.repeats, seed=args.seed, space=args.space)
    names = task.data.factor_names
    table = [(loss, *(rho(c[n]) for n in names)) for loss, c in comparison.items()]
    print("\nSpearman rho of perceived vs ground-truth distance, by loss:")
    print(tabulate(table, headers=["loss", *names], tablefmt="simple"))

    result = report.to_dict()
    result["loss_comparison"] = {loss: {n: c[n].spearman for n in names} for loss, c in comparison.items()}
    (out / "analysis.json").write_text(json.dumps(result, indent=1))
    print(f"\nwrote {out / 'matrices.png'} and {out / 'analysis.json'}")
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from disbench.analysis.table_a1 import reproduce_table_a1

    rows = reproduce_table_a1(num_pairs=args.num_pairs, seed=args.seed)
    table = [
        (r.task, r.factor, f"{r.paper_mean:.4f} ({r.paper_std:.4f})",
         "data not prepared" if r.mean is None else f"{r.mean:.4f} ({r.std:.4f})",
         "" if r.mean is None else f"{r.mean - r.paper_mean:+.4f}")
        for r in rows
    ]
    print("Table A1: mean (std) perceived MSE distance, paper vs disbench")
    print(tabulate(table, headers=["task", "factor", "paper", "disbench", "diff"], tablefmt="simple"))
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


def _print_scores(records, keys=("mig", "dci.disentanglement", "dci.completeness", "sap", "factor_vae.eval_accuracy", "beta_vae.eval_accuracy", "irs")) -> None:
    from tabulate import tabulate

    rows = [(r.task.id, r.submission.name, r.protocol.name, r.seed, *(r.metrics.get(k) for k in keys), f"{r.training.wall_time_s:.0f}s") for r in records]
    print(tabulate(rows, headers=["task", "submission", "protocol", "seed", *keys, "train time"], floatfmt=".3f", tablefmt="simple"))


def _cmd_run(args: argparse.Namespace) -> int:
    from disbench.harness.run import run_submission
    from disbench.harness.submission import Submission

    submission = Submission(args.submission)
    records = []
    for seed in args.seeds:
        record = run_submission(submission, args.task, seed=seed, protocol=args.protocol, device=args.device, resume=args.resume, overwrite=args.overwrite,
                                results_dir=args.results_dir, runs_dir=args.runs_dir, progress=not args.quiet)
        records.append(record)
        print(f"seed {seed}: {record.training.steps} steps in {record.training.wall_time_s:.0f}s, evaluated in "
              f"{record.training.evaluation_time_s:.0f}s; record in {args.results_dir}/{record.task.id}/{submission.name}/{args.protocol}/")
    _print_scores(records)
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    import json

    import disbench
    from disbench.harness.checkpoint import load_checkpoint
    from disbench.harness.submission import Submission
    from disbench.harness.train import CHANNELS_LAST, evaluate_method
    from disbench.methods.base import TaskInfo

    state = load_checkpoint(args.checkpoint)
    meta = state.get("submission")
    if not meta or not meta.get("path"):
        raise disbench.error.SubmissionError(f"{args.checkpoint} was not made from a submission folder; evaluate it from Python with task.evaluate.")
    task_id = args.task or state["task_spec"]["id"]
    task = disbench.make(task_id)
    protocol = task.get_protocol(args.protocol)
    method = Submission(meta["path"]).build(TaskInfo.from_task(task, protocol.name), **meta["hyperparameters"])
    method.load_state_dict(state["model"])
    method.to(memory_format=CHANNELS_LAST)
    scores = evaluate_method(task, method, protocol, args.seed)
    print(json.dumps(scores, indent=1, sort_keys=True))
    return 0


def _stored_dataset(args: argparse.Namespace):
    from disbench.data import STORED, make_dataset
    from disbench.error import DataError

    if args.name not in STORED:
        raise DataError(f"{args.name!r} is not a stored dataset; stored datasets are {', '.join(STORED)} (the others are generated on the fly).")
    kwargs = {"subset": args.subset} if args.name == "mpi3d" else {}
    return make_dataset(args.name, root=args.root, **kwargs)


def _cmd_data_download(args: argparse.Namespace) -> int:
    data = _stored_dataset(args)
    path = data.prepare(progress=not args.quiet)
    if not args.keep_raw:
        data.remove_raw()
    print(f"{data.name}: {len(data):,} observations ready at {path}")
    return 0


def _cmd_data_status(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from disbench.data import STORED, make_dataset
    from disbench.data.mpi3d import SUBSETS

    rows = []
    for name in STORED:
        for kwargs in ([{"subset": s} for s in SUBSETS] if name == "mpi3d" else [{}]):
            data = make_dataset(name, root=args.root, **kwargs)
            rows.append((data.name, "yes" if data.is_prepared() else "no", str(data.folder)))
    print(tabulate(rows, headers=["dataset", "prepared", "folder"], tablefmt="simple"))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="disbench", description="Benchmark suite for disentangled representation learning.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="list the registered tasks")
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

    p = sub.add_parser("analyze", help="how the task's loss perceives its data: matrices, correlations, verdict")
    p.add_argument("task")
    p.add_argument("--out", default="analysis", help="folder for matrices.png and analysis.json")
    p.add_argument("--num-pairs", type=int, default=5000, help="pairs per factor for the distance statistics")
    p.add_argument("--repeats", type=int, default=32, help="random traversals per factor")
    p.add_argument("--seed", type=int, default=777)
    p.add_argument("--space", choices=("unit", "model"), default="unit", help="images in [0, 1] (paper) or as the model sees them")
    p.set_defaults(handler=_cmd_analyze)

    p = sub.add_parser("reproduce", help="recompute a table of the paper")
    p.add_argument("what", choices=["table-a1"])
    p.add_argument("--num-pairs", type=int, default=50_000)
    p.add_argument("--seed", type=int, default=777)
    p.set_defaults(handler=_cmd_reproduce)

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
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--protocol", default="quick", choices=["standard", "quick", "smoke"])
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ... (default: cuda if available)")
    p.add_argument("--resume", action="store_true", help="continue interrupted runs from their checkpoints")
    p.add_argument("--overwrite", action="store_true", help="delete earlier runs of the same seeds and start again")
    p.add_argument("--results-dir", default="leaderboards/results")
    p.add_argument("--runs-dir", default="runs", help="checkpoints, curves and pictures")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(handler=_cmd_run)

    p = sub.add_parser("eval", help="score a checkpoint with a task's metric suite")
    p.add_argument("checkpoint")
    p.add_argument("--task", default=None, help="default: the task it was trained on")
    p.add_argument("--protocol", default="standard")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=_cmd_eval)

    data = sub.add_parser("data", help="download and inspect stored datasets")
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    p = data_sub.add_parser("download", help="download, verify and convert a stored dataset")
    p.add_argument("name")
    p.add_argument("--subset", default="realistic", help="MPI3D subset: toy, realistic or real")
    p.add_argument("--root", default=None, help="cache folder (default: $DISBENCH_DATA or ~/.cache/disbench/data)")
    p.add_argument("--keep-raw", action="store_true", help="keep the downloaded source files after conversion")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(handler=_cmd_data_download)
    p = data_sub.add_parser("status", help="which stored datasets are prepared, and where")
    p.add_argument("--root", default=None)
    p.set_defaults(handler=_cmd_data_status)
    __import__("disbench.leaderboard.cli").leaderboard.cli.add_commands(sub)  # leaderboard, site, publish, ci
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from disbench.harness.allocator import tune_allocator

    args = build_parser().parse_args(argv)
    tune_allocator()
    try:
        return args.handler(args)
    except DisbenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
