"""``disbench info``: what a task is made of, in words a user can act on."""

from __future__ import annotations

from tabulate import tabulate

from disbench.data import is_stored, make_dataset
from disbench.registration import make, spec


def describe_task(task_id: str, seed: int = 0, verdict: bool = True) -> str:
    """Data, loss, adversarial flag and twin, protocol tiers with their hashes, and (when the data
    is at hand and ``verdict``) the perceived-distance verdict of ``disbench analyze``."""
    task_spec = spec(task_id)
    kwargs = {k: v for k, v in task_spec.kwargs.items() if k not in ("dataset", "loss")}
    data = make_dataset(task_spec.dataset, **kwargs)
    lines = [
        f"{task_spec.id}: {task_spec.description}",
        f"  dataset     {task_spec.dataset} {kwargs or ''}".rstrip(),
        f"  loss        {task_spec.loss}",
        f"  adversarial {'yes' if task_spec.adversarial else 'no'}" + (f"   twin: {task_spec.twin}" if task_spec.twin else ""),
        f"  ranked by   {task_spec.primary_metric}",
    ]
    available = True
    if is_stored(task_spec.dataset):
        available = data.is_prepared()
        state = "prepared" if available else f"NOT prepared: run `{data.prepare_command}`"
        lines.append(f"  data        {data.folder} ({state})")
    lines.append(f"  observation uint8 {data.obs_shape}, {len(data):,} observations")
    lines.append("  factors     " + ", ".join(f"{n} ({s})" for n, s in zip(data.factor_names, data.factor_sizes)))
    rows = [(p.name, f"{p.steps:,}", p.batch_size, p.latent_dim, p.metric_suite, " ".join(map(str, p.seeds)), p.hash()[:12]) for p in task_spec.protocols.values()]
    lines.append(tabulate(rows, headers=["tier", "steps", "batch", "max z", "metrics", "seeds", "hash"], tablefmt="simple"))
    if verdict and available:
        from disbench.analysis import analyse  # scipy: imported only when the verdict is asked for

        report = analyse(make(task_spec.id), num_pairs=2000, repeats=16, seed=seed)
        lines.append(f"\nperceived-distance verdict: {report.verdict}  ({report.reason})")
        measured = report.verdict == "adversarial"
        if report.verdict != "undecided" and measured != task_spec.adversarial:
            lines.append(f"note: {task_spec.id} is registered with adversarial={task_spec.adversarial}, but its loss measures {report.verdict} "
                         f"here; register it with adversarial={measured} so that runs and the board say what its scores mean")
    return "\n".join(lines)
