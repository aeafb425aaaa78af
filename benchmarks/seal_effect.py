"""Does the secret variant change what a learning model scores? Every signed board record (trained on
the runner's secret variant) against the record of the same task, method, tier and seed that it
replaced (trained on the public task), read from git history: a paired comparison, no training.

For each pair: MIG, gated DCI disentanglement and DCI test informativeness of the final model.
Per metric: the median of the paired differences (sealed minus public) with a percentile bootstrap
95 % CI over pairs, and a two-sided Wilcoxon signed-rank p (zero differences dropped), Holm-adjusted
over the three metrics.

A pair shares its seed, its data stream (the seal transforms observations, not which are drawn) and the
model and loss code. It differs in the seal, in the harness's commit, and in packing: the sealed runs
trained two seeds in one child, which equals solo runs up to float rounding (tests/harness/test_pack.py);
the box-blur beta-vae public records are also of the quick tier's older protocol, whose training is the
same. `seal_quick.py` is the fully controlled comparison (same commit, same packing).

    python seal_effect.py     # seconds; needs a git checkout with history
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import scipy.stats
from common import write_results

from disbench.reproduction.statistics import RESAMPLES, holm, percentile_interval

ROOT = Path(__file__).resolve().parents[1]
BOARD = ROOT / "leaderboards" / "results"
METRICS = ("mig", "dci.disentanglement (gated)", "dci.informativeness_test")


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True).stdout


def public_predecessor(path: Path) -> tuple[str, dict] | None:
    """(commit, record) of the newest committed version of ``path`` that was not trained on a secret variant."""
    relative = path.relative_to(ROOT).as_posix()
    for commit in git("log", "--format=%H", "--", relative).split():
        try:
            record = json.loads(git("show", f"{commit}:{relative}"))
        except (subprocess.CalledProcessError, json.JSONDecodeError):
            continue  # the commit deleted the file, or wrote something that is not a record
        if not (record.get("seal") or {}).get("secret"):
            return commit, record
    return None


def scores(record) -> dict[str, float]:
    from disbench.reproduction.gate import gated_dci

    return {"mig": record.metrics["mig"], "dci.disentanglement (gated)": gated_dci(record).final,
            "dci.informativeness_test": record.metrics["dci.informativeness_test"]}


def pairs() -> list[dict]:
    from disbench.harness.record import RunResult, load_record

    found = []
    for path in sorted(BOARD.glob("*/*/*/seed-*.json")):
        sealed = load_record(path)
        if not (sealed.signature and sealed.seal and sealed.seal.secret):
            continue
        predecessor = public_predecessor(path)
        if predecessor is None:
            continue
        commit, public = predecessor
        found.append({"record": path.relative_to(BOARD).as_posix(), "public_commit": commit[:12],
                      "sealed": scores(sealed), "public": scores(RunResult.model_validate(public))})
    return found


def compare(found: list[dict], metric: str, seed: int = 0) -> dict:
    differences = np.array([p["sealed"][metric] - p["public"][metric] for p in found])
    rng = np.random.default_rng(seed)
    lo, hi = percentile_interval(np.median(rng.choice(differences, (RESAMPLES, len(differences))), axis=1))
    nonzero = differences[differences != 0]
    p = float(scipy.stats.wilcoxon(nonzero).pvalue) if len(nonzero) else 1.0
    return {"n": len(differences), "median_difference": float(np.median(differences)), "ci95": [lo, hi],
            "sealed_lower": int((differences < 0).sum()), "sealed_higher": int((differences > 0).sum()), "wilcoxon_p": p}


def main() -> None:
    found = pairs()
    if not found:
        sys.exit("no signed record has a public predecessor in git history")
    by_method: dict[str, list[dict]] = {}
    for p in found:
        by_method.setdefault(p["record"].split("/")[1], []).append(p)  # <task>/<method>/<tier>/seed-<n>.json
    summary = {metric: compare(found, metric) for metric in METRICS}
    for s, adjusted in zip(summary.values(), holm([s["wilcoxon_p"] for s in summary.values()])):
        s["wilcoxon_p_holm"] = adjusted  # over the three metrics
    for metric, s in summary.items():
        print(f"{metric}: n={s['n']} median sealed-public {s['median_difference']:+.3f} [{s['ci95'][0]:+.3f}, {s['ci95'][1]:+.3f}], "
              f"lower in {s['sealed_lower']}, higher in {s['sealed_higher']}, Wilcoxon p={s['wilcoxon_p']:.3f} (Holm {s['wilcoxon_p_holm']:.3f})")
    uncommitted = bool(git("status", "--porcelain", "--", BOARD.relative_to(ROOT).as_posix()).strip())
    board = git("rev-parse", "--short=12", "HEAD").strip() + (" with uncommitted records" if uncommitted else "")
    write_results("seal_effect", {"board": board, "summary": summary,
                                  "by_method": {m: {metric: compare(ps, metric) for metric in METRICS} for m, ps in by_method.items()},
                                  "pairs": found})


if __name__ == "__main__":
    main()
