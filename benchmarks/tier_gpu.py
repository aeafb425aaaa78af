"""What a GPU session's side-by-side runs cost (``reproduction/gpu_runs.sh``), read from what it sent back.

Each ``records.tar.gz`` holds the runs' folders (``curves.jsonl``: one row per 50-step logging window,
with the window's steps per second, curve scoring included where the window ends on a curve step) and
the records of the runs that finished (their time in training steps, scoring the curve, and the final suite:
a record counts the three apart).
Per call: how many runs shared the machine, when they started and when the last ended or was stopped
(seconds from the script's start), and per run the steps it reached and the median steps/s
of its windows; per finished record its times. The runs shared one GPU and the machine's cores, so
these are costs under that sharing, not a lone run's.

    python benchmarks/tier_gpu.py CALL_DIR [CALL_DIR ...]   # each with one call's records.tar.gz and runs.log
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tarfile
from datetime import date
from pathlib import Path

from common import RESULTS


def machine(folder: Path) -> dict:
    """The GPU machine, from the lines gpu_runs.sh logs first (nvidia-smi's name, driver and memory; cores; torch)."""
    gpu, cores, torch_line = (folder / "runs.log").read_text().splitlines()[:3]
    name, driver, memory = (part.strip() for part in gpu.split(","))
    return {"gpu": name, "driver": driver, "gpu_memory": memory, "cpus": int(cores), "torch": torch_line.split()[0],
            "date": date.fromtimestamp((folder / "records.tar.gz").stat().st_mtime).isoformat()}


def call(folder: Path) -> dict:
    log = (folder / "runs.log").read_text()
    started = re.search(r"\[(\d+) s\] started (\d+) runs \((\w+) tier\)", log)
    packed_at = [int(t) for t in re.findall(r"\[(\d+) s\] packed:", log)]
    runs, records = {}, []
    with tarfile.open(folder / "records.tar.gz") as packed:
        for member in packed.getmembers():
            parts = member.name.split("/")
            if member.name.endswith("curves.jsonl") and parts[0] == "runs" and parts[3] != "smoke":
                rows = [json.loads(line) for line in packed.extractfile(member).read().decode().splitlines() if line]
                runs[f"{parts[1]} seed {parts[4].removeprefix('seed-')}"] = {
                    "steps": rows[-1]["step"], "median_steps_per_s": statistics.median(row["steps_per_s"] for row in rows)}
            elif member.name.endswith(".json") and parts[0] == "results":
                record = json.load(packed.extractfile(member))
                training = record["training"]
                records.append({"task": record["task"]["id"], "seed": record["seed"], "device": training["device"],
                                "wall_time_s": training["wall_time_s"], "curve_time_s": training["curve_time_s"],
                                "evaluation_time_s": training["evaluation_time_s"], "torch": record["environment"]["torch"]})
    return {"call": folder.name, "machine": machine(folder), "runs_side_by_side": int(started.group(2)), "tier": started.group(3),
            "runs_started_at_s": int(started.group(1)), "runs_ended_by_s": max(packed_at), "runs": runs,
            "median_steps_per_s": statistics.median(r["median_steps_per_s"] for r in runs.values()), "finished_records": records}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("calls", type=Path, nargs="+", help="folders holding what one call of gpu_runs.sh sent back: records.tar.gz and runs.log")
    args = parser.parse_args()
    for folder in args.calls:
        lacking = [name for name in ("runs.log", "records.tar.gz") if not (folder / name).is_file()]
        if lacking:
            parser.error(f"{folder} lacks {' and '.join(lacking)}: pass the folder a gpu_runs.sh call's files were fetched into "
                         "(its $OUT: runs.log and records.tar.gz)")
    calls = [call(folder) for folder in args.calls]
    for c in calls:
        print(c["call"], c["runs_side_by_side"], "runs side by side: median steps/s", round(c["median_steps_per_s"], 1),
              "| finished:", [(r["task"], round(r["wall_time_s"]), round(r["evaluation_time_s"])) for r in c["finished_records"]])
    path = RESULTS / "tier_gpu.json"
    path.write_text(json.dumps({"calls": calls}, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
