"""An experiment's records next to the paper's values: a frame, the claims with their statistics, and the tables.

Both of our numbers are shown for every cell: the final model's score (the leaderboard's number)
and the maximum of the protocol's curve during training (the paper's quantity, paper.md §4.7).
DCI disentanglement is gated by informativeness at every point (``disbench.reproduction.gate``;
records made before the suite gated it are gated here, and say so), and the informativeness it
was gated on is shown beside it. A cell is the median [first quartile, third quartile] (n) of
its runs; an effect is a difference of medians with its bootstrap interval and a one-sided
Mann-Whitney p (``disbench.reproduction.statistics``).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from disbench.harness.record.environment import device_kind
from disbench.paper import DCI, PAPER_LABEL
from disbench.reproduction import statistics
from disbench.reproduction.experiments import AVERAGES, Experiment
from disbench.reproduction.gate import gated_dci
from disbench.reproduction.runner import Planned

METRICS = ("mig", DCI)
METRIC_LABEL = {"mig": "MIG", DCI: "DCI disentanglement"}
QUANTITIES = {"max": "max during training", "final": "final"}  # the paper's quantity first: it carries the verdict
REPORT_ORDER = ("ada-gvae", "beta-vae")  # the methods' order in every table, line and figure
SIZE_TIER = "standard"  # the paper's budget (57,600 steps of 256): the only tier whose effect sizes compare with the paper's
GATE_BY = {"suite": "suite", "report": "report (record predates the gate)", "none": "ungated (old record)"}
DATA_KINDS = ("public", "secret", "replayed")  # what a run trained on: the task itself, the runner's secret variant, a replayed seal
COLUMNS = ["method", "submission", "average", "condition", "task", "seed", "metric", "final", "max", "final_ungated", "max_ungated",
           "informativeness", "baseline", "gated", "gated_points", "points", "gate", "data", "device", "source"]


def records_frame(planned: Sequence[Planned]) -> pd.DataFrame:
    """One row per record and metric: the final score and the maximum during training (NaN when the
    record's tier has no curve for that metric), DCI gated, with the ungated values and the gate's inputs, and
    which data the run trained on: ``public`` (the task itself), ``secret`` (the runner's secret variant) or
    ``replayed`` (a variant replayed from a published seal)."""
    modes = {mode: name for name, mode in AVERAGES.items()}
    rows = []
    for p in planned:
        if p.record is None:
            continue
        r = p.record
        dci = gated_dci(r)
        gate = {"informativeness": math.nan, "baseline": math.nan, "gated": math.nan, "gated_points": math.nan, "points": math.nan,
                "gate": "none"}
        if dci is not None:
            gate = {"informativeness": dci.informativeness, "baseline": dci.baseline, "gated": float(dci.gated),
                    "gated_points": dci.gated_points, "points": dci.points, "gate": dci.by}
        base = {"method": p.arm.method, "submission": r.submission.name, "condition": p.arm.condition, "task": r.task.id, "seed": r.seed,
                "average": modes.get(r.submission.hyperparameters.get("average")) if p.arm.method == "ada-gvae" else None,
                **gate, "data": "public" if r.seal is None else "secret" if r.seal.secret else "replayed", "device": device_kind(r.training.device),
                "source": os.path.relpath(p.found_in)}
        mig, mig_max = r.metrics.get("mig", math.nan), r.max_during_training.get("mig", math.nan)
        rows.append({**base, "metric": "mig", "final": mig, "max": mig_max, "final_ungated": mig, "max_ungated": mig_max})
        if dci is None:
            rows.append({**base, "metric": DCI, **dict.fromkeys(("final", "max", "final_ungated", "max_ungated"), math.nan)})
        else:
            rows.append({**base, "metric": DCI, "final": dci.final, "max": dci.peak, "final_ungated": dci.final_ungated, "max_ungated": dci.peak_ungated})
    return pd.DataFrame(rows, columns=COLUMNS)


def cell_values(frame: pd.DataFrame, method: str, condition, metric: str, quantity: str) -> list[float]:
    part = frame[(frame["method"] == method) & (frame["condition"] == condition) & (frame["metric"] == metric)]
    return part[quantity].dropna().tolist()


def _methods(frame: pd.DataFrame) -> list[str]:
    return [m for m in REPORT_ORDER if m in set(frame["method"])]


def table(experiment: Experiment, frame: pd.DataFrame, metric: str, fmt: str = "github") -> str:
    """Rows: the experiment's conditions; per method our maximum during training, our final score and the paper's cell."""
    from tabulate import tabulate

    methods = _methods(frame)
    headers = [experiment.condition_name]
    for m in methods:
        headers += [f"{PAPER_LABEL[m]} {QUANTITIES[q]}" for q in QUANTITIES] + [f"{PAPER_LABEL[m]} paper"]
    rows = []
    for condition in _conditions(experiment, frame):
        row = [condition]
        for m in methods:
            paper = experiment.paper_cell(m, metric, condition)
            row += [statistics.describe(cell_values(frame, m, condition, metric, q)).text() for q in QUANTITIES] + [paper.text if paper else "–"]
        rows.append(row)
    return tabulate(rows, headers=headers, tablefmt=fmt)


def informativeness_table(experiment: Experiment, frame: pd.DataFrame, fmt: str = "github") -> str:
    """Per method and condition: the final models' DCI test informativeness, its majority-class baseline, and how
    often the gate closed (final models; curve points), with who applied it."""
    from tabulate import tabulate

    part = frame[frame["metric"] == DCI]
    rows = []
    for m in _methods(frame):
        for condition in _conditions(experiment, frame):
            cell = part[(part["method"] == m) & (part["condition"] == condition)]
            if cell.empty:
                continue
            known = cell.dropna(subset=["gated"])
            closed = f"{int(known['gated'].sum())} of {len(known)}; {int(known['gated_points'].sum())} of {int(known['points'].sum())}" if len(known) else "–"
            rows.append([PAPER_LABEL[m], condition, statistics.describe(cell["informativeness"]).text(),
                         statistics.describe(cell["baseline"]).text(), closed, ", ".join(GATE_BY[g] for g in sorted(set(cell["gate"])))])
    headers = ["method", experiment.condition_name, "informativeness (test, final)", "majority baseline", "gate closed: final; curve points", "gated by"]
    return tabulate(rows, headers=headers, tablefmt=fmt)


def by_submission(frame: pd.DataFrame, fmt: str = "github") -> str | None:
    """Before pooling: each submission's median per condition, metric and quantity, median (n).
    None when every method has a single submission (nothing was pooled)."""
    from tabulate import tabulate

    if frame.groupby("method")["submission"].nunique().max() < 2:
        return None
    stats = frame.groupby(["submission", "condition", "metric"])[list(QUANTITIES)].agg(["median", "count"])
    headers = ["submission", "condition"] + [f"{METRIC_LABEL[m]} {QUANTITIES[q]}" for m in METRICS for q in QUANTITIES]

    def cell(key: tuple[str, str, str], quantity: str) -> str:  # every record has a row per metric; n = 0 when all are NaN
        n = int(stats.loc[key, (quantity, "count")])
        return f"{stats.loc[key, (quantity, 'median')]:.3f} ({n})" if n else "–"

    rows = [[submission, condition, *(cell((submission, condition, m), q) for m in METRICS for q in QUANTITIES)]
            for submission, condition in stats.index.droplevel("metric").unique()]  # sorted, as groupby sorts
    return tabulate(rows, headers=headers, tablefmt=fmt)


def by_seed(experiment: Experiment, frame: pd.DataFrame, metric: str, fmt: str = "github") -> str:
    """Every record's own numbers, "max during training / final", one row per submission and condition and one
    column per seed: what the medians above are made of. Where DCI's gate closed, the ungated pair follows; a run
    not trained on the public task is marked ``VARIANT_MARK``."""
    from tabulate import tabulate

    part = frame[frame["metric"] == metric]
    seeds = sorted(part["seed"].unique())
    values = part.set_index(["submission", "condition", "seed"])
    submissions = sorted(part[["method", "submission"]].drop_duplicates().itertuples(index=False),
                         key=lambda r: (REPORT_ORDER.index(r.method), r.submission))
    present = set(values.index.droplevel("seed"))  # (submission, condition) pairs with at least one record

    def pair(row, suffix: str = "") -> str:
        return " / ".join("–" if math.isnan(row[q + suffix]) else f"{row[q + suffix]:.3f}" for q in QUANTITIES)

    def cell(key: tuple) -> str:
        if key not in values.index:
            return "–"
        row = values.loc[key]
        differs = any(not math.isnan(row[q]) and row[q] != row[q + "_ungated"] for q in QUANTITIES)
        return pair(row) + (f" (ungated {pair(row, '_ungated')})" if differs else "") + ("" if row["data"] == "public" else f" {VARIANT_MARK}")

    rows = [[s.submission, condition, *(cell((s.submission, condition, seed)) for seed in seeds)]
            for s in submissions for condition in experiment.conditions if (s.submission, condition) in present]
    return tabulate(rows, headers=["submission", experiment.condition_name, *(f"seed {seed}" for seed in seeds)], tablefmt=fmt)


@dataclass(frozen=True)
class Claim:
    """One of the paper's effects tested on our runs, with its statistics and verdict, as the claims table shows it."""

    claim: str  # e.g. "Ada-GVAE MIG, 1 minus 8"
    quantity: str
    n: str  # runs per arm ("5+5"), or all runs of a trend
    estimate: str  # the difference of medians with its interval, or Spearman's rho
    p_value: float  # one-sided
    paper: str  # the paper's effect
    size: str | None  # where the paper's effect lies against ours
    p_holm: float = math.nan
    verdict: str = ""


def claims(experiment: Experiment, frame: pd.DataFrame, tier: str) -> list[Claim]:
    """The experiment's effect (spacing 1 minus 8, box blur minus MSE) for every method, metric and quantity with runs
    in both arms, and for the ladder its trend over every spacing; Holm-adjusted across them all. A size is compared
    with the paper's only at the paper's budget (``SIZE_TIER``) and where the paper's cells are this grid's."""
    high, low = experiment.effect
    not_comparable = experiment.paper_differs or (None if tier == SIZE_TIER else f"{tier} tier")
    found = []
    for method in _methods(frame):
        for metric in METRICS:
            name = f"{PAPER_LABEL[method]} {METRIC_LABEL[metric]}"
            for quantity in QUANTITIES:
                e = statistics.effect(cell_values(frame, method, high, metric, quantity), cell_values(frame, method, low, metric, quantity))
                if e is not None:
                    a, b = experiment.paper_cell(method, metric, high), experiment.paper_cell(method, metric, low)
                    paper = a.centre - b.centre if a and b else None
                    found.append(Claim(f"{name}, {high} minus {low}", QUANTITIES[quantity], e.n,
                                       f"{e.difference:+.3f} [{e.ci_low:+.3f}, {e.ci_high:+.3f}]", e.p_value,
                                       "–" if paper is None else f"{paper:+.3f}", statistics.size_against(e, paper, not_comparable)))
            if experiment.ladder:
                part = frame[(frame["method"] == method) & (frame["metric"] == metric)].dropna(subset=["max"])
                if part["condition"].nunique() >= 3:
                    rho, p = statistics.trend(part["condition"].astype(float), part["max"])
                    found.append(Claim(f"{name}, falls as the spacing grows", QUANTITIES["max"], str(len(part)), f"Spearman ρ {rho:+.2f}", p,
                                       "falls", None))
    adjusted = statistics.holm([c.p_value for c in found])
    return [dataclasses.replace(c, p_holm=p, verdict=statistics.verdict(p, c.n, c.size)) for c, p in zip(found, adjusted)]


def by_data(experiment: Experiment, frame: pd.DataFrame, tier: str, fmt: str = "github") -> str | None:
    """Each claim within each kind of data (``DATA_KINDS``) alone: n, estimate, one-sided p.
    None when the runs are all of one kind (nothing was pooled across kinds)."""
    from tabulate import tabulate

    kinds = [kind for kind in DATA_KINDS if kind in set(frame["data"])]
    if len(kinds) < 2:
        return None
    rows = [[kind, c.claim, c.quantity, c.n, c.estimate, statistics.format_p(c.p_value)]
            for kind in kinds for c in claims(experiment, frame[frame["data"] == kind], tier)]
    headers = ["data", "claim", "quantity", "n", "median difference [95 % CI] or trend", "one-sided p"]
    return tabulate(rows, headers=headers, tablefmt=fmt, disable_numparse=True) if rows else None


def claims_table(claims_found: list[Claim], fmt: str = "github") -> str:
    from tabulate import tabulate

    rows = [[c.claim, c.quantity, c.n, c.estimate, statistics.format_p(c.p_value), statistics.format_p(c.p_holm), c.paper, c.verdict]
            for c in claims_found]
    headers = ["claim", "quantity", "n", "median difference [95 % CI] or trend", "one-sided p", "Holm p", "paper", "verdict"]
    return tabulate(rows, headers=headers, tablefmt=fmt, disable_numparse=True)


def report_text(experiment: Experiment, frame: pd.DataFrame, tier: str, averaging: str, missing: Sequence[str] = ()) -> str:
    """The whole report as Markdown: claims, the tables per metric, informativeness, and every run."""
    high, low = experiment.effect
    found, data = claims(experiment, frame, tier), _data_line(frame) + device_line(experiment, frame)
    lines = [f"# {experiment.figure} reproduced: {experiment.name}, {tier} tier{averaging}", "",
             f"Paper: {experiment.paper_settings}.",
             "Ours: max during training = the maximum of the tier's curve (the paper's quantity); final = the final model's score "
             "(the leaderboard's number). Cells: median [first quartile, third quartile] (n runs); β values pooled where the paper "
             "pools them. DCI disentanglement is 0 wherever its informativeness does not beat the majority-class baseline "
             "(one-sided binomial test at 1 %, docs/metrics.md), at every curve point before the maximum.", *data,
             "", "## Claims", "",
             f"The paper's effect, {experiment.condition_name} {high} minus {low}: the difference of medians with a bootstrap 95 % interval "
             "(10,000 resamples of each arm, seed 0) and a one-sided Mann-Whitney p (exact over every split of the runs)"
             + (", and the trend over every spacing: Spearman's ρ with a one-sided permutation p (10,000 shuffles, seed 0)" if experiment.ladder else "")
             + f"; each p Holm-adjusted across this report's {len(found)} claims. Verdict: \"sign shown\" when the Holm p is below "
             f"{statistics.ALPHA}, then whether the paper's effect (the difference of its cells' centres) lies inside our interval "
             f"(compared only at the {SIZE_TIER} tier, the paper's budget, and where the paper's cells are this grid's; \"unresolved\" "
             "when our interval includes 0: the rank test shows the sign, the interval of medians leaves the size open); "
             "\"not shown\" otherwise.", ""]
    lines.append(claims_table(found) if found else f"none yet: a claim needs runs at both {high} and {low}.")
    for metric in METRICS:
        lines += ["", f"## {METRIC_LABEL[metric]}", "", table(experiment, frame, metric)]
    lines += ["", "## DCI informativeness", "",
              "What the gate read: the final models' test informativeness (mean accuracy over factors) and its majority-class "
              "baseline; how many final models and curve points it gated.", "", informativeness_table(experiment, frame)]
    split = by_data(experiment, frame, tier)
    if split:
        lines += ["", "## Each kind of data alone", "",
                  "The claims recomputed within the runs on the public task and within those on secret variants, each alone: "
                  "whether pooling the two carries a claim. A description, not a test: one-sided p unadjusted.", "", split]
    pooled = by_submission(frame)
    if pooled:
        lines += ["", "## Each submission before pooling", "", "Median (n) over seeds.", "", pooled]
    lines += ["", "## Each seed", "", "Max during training / final, per record"
              + (f"; {VARIANT_MARK} trained on a secret variant, not the public task." if data else ".")]
    for metric in METRICS:
        lines += ["", f"### {METRIC_LABEL[metric]}", "", by_seed(experiment, frame, metric)]
    if missing:
        lines += ["", f"Missing: {len(missing)} runs have no record yet (" + ", ".join(missing[:6]) + (", ..." if len(missing) > 6 else "") + ")."]
    return "\n".join(lines)


VARIANT_MARK = "†"


def _data_line(frame: pd.DataFrame) -> list[str]:
    """A sentence on which runs trained on a secret variant, when any did (board records: docs/trust.md)."""
    runs = frame.drop_duplicates(["submission", "condition", "seed"])
    variants = runs["data"].value_counts()
    if set(variants.index) <= {"public"}:
        return []
    counts = ", ".join(f"{n} on {'the public task' if kind == 'public' else f'a {kind} variant'}" for kind, n in variants.items())
    return [f"Data: of {len(runs)} runs, {counts}. Secret variants are the board's records, trained by the official runner "
            "(docs/trust.md); they are pooled with the public runs, and marked under \"Each seed\"."]


def device_line(experiment: Experiment, frame: pd.DataFrame) -> list[str]:
    """A sentence naming the runs trained on another device than most, when the records come from more than one:
    same protocol and budget, but not the same arithmetic, so those runs are not bit-for-bit what the others' device gives."""
    runs = frame.drop_duplicates(["submission", "condition", "seed"])
    devices = runs["device"].value_counts()
    if len(devices) < 2:
        return []
    usual = min(devices.index, key=lambda d: (-devices[d], d))  # the most runs; a tie by name, so the sentence never flips
    others = runs[runs["device"] != usual]
    def on(device: str) -> str:
        return "a CPU" if device == "CPU" else device

    named = ", ".join(f"{r.submission} at {experiment.condition_name} {r.condition} seed {r.seed} on {on(r.device)}" for r in others.head(6).itertuples())
    return [f"Devices: of {len(runs)} runs, {devices[usual]} trained on {on(usual)} and {len(others)} elsewhere ({named}"
            + (", ..." if len(others) > 6 else "") + "): the same protocol and budget, a different device's arithmetic."]


def _conditions(experiment: Experiment, frame: pd.DataFrame) -> list:
    present = set(frame["condition"])
    return [c for c in experiment.conditions if c in present]
