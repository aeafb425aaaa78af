"""The analysis's ``disbench`` subcommands: ``analyze`` and ``suggest-loss``, on a task or on your data.

``disbench.cli.build_parser`` calls :func:`add_commands`. Both commands take a registered task id
or ``--data PATH`` (a folder of images with a CSV, an ``.npz`` or an HDF5 file; see
``disbench.data.files``), and end with what the analysis cost: images read, seconds, memory.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import time
import warnings
from pathlib import Path
from typing import Any

from disbench.arguments import number, positive_int
from disbench.error import DataError, DisbenchError
from disbench.files import writable_folder, write_text_atomic
from disbench.seeds import seed_argument
from disbench.task import Task

PAIRS = number(int, "a whole number of pairs", 1, 100_000)


def _factor_order(specs: list[str] | None) -> dict[str, list[str]] | None:
    """``["size=small,medium,large", ...]`` -> ``{"size": ["small", "medium", "large"]}``."""
    if not specs:
        return None
    order = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        if not sep or not name or not values:
            raise DataError(f"--order {spec!r}: write FACTOR=VALUE,VALUE,... with the values in order, e.g. --order size=small,medium,large.")
        order[name.strip()] = [v.strip() for v in values.split(",")]
    return order


def load_subject(args: argparse.Namespace) -> tuple[Task, str]:
    """The task to analyse (a registered one, or ``--data`` under ``--loss``) and its label."""
    from disbench.data import IncompleteGrid, from_files

    flags = {"factors": "--factors", "image_column": "--image-column", "image_size": "--image-size", "factor_order": "--order", "categorical": "--categorical"}
    data_options = {"factors": args.factors, "image_column": args.image_column, "image_size": args.image_size, "factor_order": _factor_order(args.order),
                    "categorical": args.categorical}
    if (args.task is None) == (args.data is None):
        raise DataError(f"Give a registered task (disbench {args.command} xysquares-mse) or your data (--data PATH){', not both' if args.task else ''}.")
    if args.task is not None:
        given = [flags[k] for k, v in data_options.items() if v is not None]
        if given:
            raise DataError(f"{given[0]} describes files and needs --data PATH; a registered task already knows its data.")
        task = _registered(args.task)
        if args.loss is not None:
            task = Task(task.data, args.loss)
        return task, task.id if args.loss is None else f"{task.spec.id} under {task.loss.name}"
    with warnings.catch_warnings():  # describe() states what an incomplete grid lacks, on the line the user reads first
        warnings.simplefilter("ignore", IncompleteGrid)
        data = from_files(args.data, **{k: v for k, v in data_options.items() if v is not None})
    print(data.describe())
    return Task(data, args.loss or "mse"), data.name


def _registered(task_id: str) -> Task:
    """The registered task, or, when the id names a file or folder instead, an error pointing to --data."""
    import disbench
    from disbench.error import InvalidTaskId, UnregisteredTask

    try:
        return disbench.make(task_id)
    except (UnregisteredTask, InvalidTaskId):
        if Path(task_id).exists():
            raise DataError(f"{task_id} is a file or folder, not a task id: to analyse your data, give it as --data {task_id}.") from None
        raise


def _lean_allocator() -> None:
    """Give freed memory back to the operating system: the analysis makes large, short-lived arrays
    of many sizes, which the training-minded setting of ``disbench.cli`` (keep freed memory for the
    next batch) piles up as fragments; this keeps the process near its working set, for some page
    faults (benchmarks/results/your_data.json has the cost)."""
    from disbench.harness.child.allocator import tune_allocator

    tune_allocator(mmap_threshold=4 << 20, trim_threshold=64 << 20)


def _cost(task: Task, started: float) -> dict[str, Any]:
    cost = {"seconds": round(time.perf_counter() - started, 2), "peak_memory_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    if hasattr(task.data, "images_read"):
        cost["images_read"] = task.data.images_read
    return cost


def _print_cost(cost: dict[str, Any]) -> None:
    read = f"{cost['images_read']:,} images read from the files, " if "images_read" in cost else ""
    print(f"\ncost: {read}{cost['seconds']:.1f} s, peak memory of this process {cost['peak_memory_mib']:,} MiB")


def _data_record(task: Task) -> dict[str, Any]:
    """What a JSON result says about data from files: where, which content, its factors."""
    data = task.data
    if not hasattr(data, "fingerprint"):
        return {}
    return {"data": {"path": str(data.path), "sha256": data.fingerprint, "images": data.num_images, "shape": list(data.obs_shape),
                     "factors": {n: list(v) for n, v in zip(data.factor_names, data.factor_values)},
                     "missing_combinations": data.num_missing, "missing_fraction": data.missing_fraction}}


def _cmd_analyze(args: argparse.Namespace) -> int:
    from disbench.analysis import analyse
    from disbench.analysis.compare import compare_losses, format_comparison
    from disbench.analysis.report import format_report, save_report

    started = time.perf_counter()
    _lean_allocator()
    task, label = load_subject(args)  # a wrong task, loss or data file is refused before --out is made
    writable_folder(args.out, "--out folder", DisbenchError)  # before the analysis's tens of seconds
    comparison = compare_losses(task, repeats=args.repeats, seed=args.seed, space=args.space)  # the task's loss among them: measured once
    own = comparison[task.loss.name].traversals
    report = dataclasses.replace(analyse(task, num_pairs=args.num_pairs, repeats=args.repeats, seed=args.seed, space=args.space, traversals=own), task=label)
    print(format_report(report))
    print("\n" + format_comparison(comparison))
    if report.verdict != "undecided":  # no factor to order: no loss can do better
        print(f"\nTo search the blur losses for one that orders every factor: disbench suggest-loss {'--data ' + args.data if args.data else args.task}")
    data_record = _data_record(task)  # hashes the data: part of what the command costs
    cost = _cost(task, started)
    extra = {"loss_comparison": {loss: {n: c.spearman for n, c in s.correlations.items()} for loss, s in comparison.items()}, **data_record, "cost": cost}
    written = save_report(report, args.out, extra)
    _print_cost(cost)
    print(f"wrote {' and '.join(map(str, written))}")
    return 0


def _cmd_suggest_loss(args: argparse.Namespace) -> int:
    from disbench.analysis.suggest import format_suggestion, suggest_loss
    from disbench.viz.distances import save_matrix_columns

    started = time.perf_counter()
    _lean_allocator()
    task, label = load_subject(args)  # a wrong task or data file is refused before --out is made
    out = writable_folder(args.out, "--out folder", DisbenchError)
    suggestion = suggest_loss(task.data, losses=args.losses, base=args.base, repeats=args.repeats, seed=args.seed, space=args.space)
    print(format_suggestion(suggestion))
    base, other = suggestion.score(suggestion.base), suggestion.shown_beside_base
    columns = {base.loss: base.traversals, other.loss: other.traversals}  # one column when they are the same loss
    picture = save_matrix_columns(columns, out / "suggestion.png", title=f"{label}: perceived distances", categorical=task.data.categorical_factors)
    data_record = _data_record(task)  # hashes the data: part of what the command costs
    cost = _cost(task, started)
    numbers = write_text_atomic(out / "suggestion.json", json.dumps({**suggestion.to_dict(), "data": label, **data_record, "cost": cost}, indent=1))
    _print_cost(cost)
    print(f"wrote {picture} and {numbers}")
    return 0


def _add_subject_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("task", nargs="?", default=None, help="a registered task id (or give --data)")
    p.add_argument("--data", default=None, metavar="PATH", help="your data: a folder of images with a CSV of factors, a .csv, an .npz or an HDF5 file")
    p.add_argument("--factors", nargs="+", default=None, metavar="NAME", help="which columns are factors (default: all but the image column)")
    p.add_argument("--image-column", default=None, metavar="NAME", help="the CSV column naming each image file (default: file, filename, image or path)")
    p.add_argument("--image-size", type=positive_int, default=None, metavar="N", help="resize every image to N x N when it is read")
    p.add_argument("--order", action="append", default=None, metavar="FACTOR=V1,V2,...",
                   help="the order of a factor's values, e.g. size=small,medium,large (repeatable); strings without one are categorical")
    p.add_argument("--categorical", nargs="+", default=None, metavar="NAME", help="more factors whose values have no order (e.g. numeric ids)")
    p.add_argument("--repeats", type=positive_int, default=32, help="random traversals per factor")
    p.add_argument("--seed", type=seed_argument, default=777, help="seed of the sampled pairs and traversals")
    p.add_argument("--space", choices=("unit", "model"), default="unit", help="images in [0, 1] (paper) or as the model sees them")


def add_commands(sub: Any) -> None:
    """Add ``analyze`` and ``suggest-loss`` to the top-level subparsers ``sub``."""
    p = sub.add_parser("analyze", help="how a loss perceives a task's data, or yours: matrices, correlations, verdict")
    _add_subject_arguments(p)
    p.add_argument("--loss", default=None, help="the loss to analyse (default: the task's; mse for --data)")
    p.add_argument("--out", default="analysis", help="folder for matrices.png and analysis.json")
    p.add_argument("--num-pairs", type=PAIRS, default=5000,
                   help="pairs per factor for the distance statistics; at most 100,000")
    p.set_defaults(handler=_cmd_analyze)

    p = sub.add_parser("suggest-loss", help="rank blur-augmented losses by how well they perceive the factors; recommend one")
    _add_subject_arguments(p)
    p.add_argument("--base", default="mse", help="the plain loss the candidates augment (default mse)")
    p.add_argument("--losses", nargs="+", default=None, metavar="LOSS", help="candidates to rank instead of the default search")
    p.add_argument("--out", default="suggestion", help="folder for suggestion.png and suggestion.json")
    p.set_defaults(handler=_cmd_suggest_loss, loss=None)
