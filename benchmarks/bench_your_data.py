"""What analysing your own data costs: ``disbench analyze --data`` and ``suggest-loss`` on 20,480 images.

Writes a 64x64 RGB dataset (a disc at 32 x 32 positions, with 5 radii and 4 colours) in four
layouts: a folder of PNG files with a CSV, an uncompressed and a compressed ``.npz``, and an HDF5
file. Then, each in a fresh process (so its peak memory is its own), for each layout in turn
(round-robin, so the machine's drift hits every layout alike):

* ``open``: opening and checking the data (``from_files``), and hashing it (``fingerprint``);
* ``disbench analyze --data PATH`` and ``disbench suggest-loss --data PATH`` at their defaults, as a
  user runs them (analyze: 5,000 pairs per factor, 32 traversals per factor, the comparison with the
  blur losses; suggest-loss: 32 traversals per factor, 13 candidate losses). Each command's own cost
  record (seconds, images decoded, the process's peak memory) and the whole process's wall time.

Medians of ``--rounds`` runs go to ``results/your_data.json``.

    python bench_your_data.py [--rounds 3] [--folder /tmp/bench-your-data]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SIZES = {"x": 32, "y": 32, "radius": 5, "colour": 4}
COLOURS = ((255, 64, 64), (64, 255, 64), (64, 64, 255), (255, 255, 255))
LAYOUTS = ("png", "npz", "npz-compressed", "hdf5")


def render(x: int, y: int, radius: int, colour: int) -> np.ndarray:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (64, 64), "black")
    cx, cy, r = 8 + 1.5 * x, 8 + 1.5 * y, 3 + radius
    ImageDraw.Draw(image).ellipse((cx - r, cy - r, cx + r, cy + r), fill=COLOURS[colour])
    return np.asarray(image)


def write_layouts(folder: Path) -> dict[str, Path]:
    """The dataset in every layout (written once; kept for later runs)."""
    import h5py
    import pandas as pd
    from PIL import Image

    paths = {"png": folder / "png", "npz": folder / "discs.npz", "npz-compressed": folder / "discs-compressed.npz", "hdf5": folder / "discs.h5"}
    if all(p.exists() for p in paths.values()):
        return paths
    grid = np.stack(np.unravel_index(np.arange(int(np.prod(list(SIZES.values())))), tuple(SIZES.values())), axis=1)
    images = np.stack([render(*row) for row in grid])
    paths["png"].mkdir(parents=True, exist_ok=True)
    names = [f"{i:05d}.png" for i in range(len(grid))]
    for name, image in zip(names, images):
        Image.fromarray(image).save(paths["png"] / name)
    pd.DataFrame({"file": names, **{k: grid[:, i] for i, k in enumerate(SIZES)}}).to_csv(paths["png"] / "factors.csv", index=False)
    factor_names = np.array(list(SIZES))
    np.savez(paths["npz"], images=images, factors=grid, factor_names=factor_names)
    np.savez_compressed(paths["npz-compressed"], images=images, factors=grid, factor_names=factor_names)
    with h5py.File(paths["hdf5"], "w") as f:
        f["images"] = images
        f["factors"] = grid
        f["factors"].attrs["factor_names"] = list(SIZES)
    return paths


def opening(path: str) -> dict:
    """Seconds to open and check the data, and to hash it, in this (fresh) process."""
    from disbench.data import from_files

    t = time.perf_counter()
    data = from_files(path)
    opened = time.perf_counter() - t
    t = time.perf_counter()
    _ = data.fingerprint
    return {"open_s": opened, "hash_s": time.perf_counter() - t}


def command(name: str, path: Path, out: Path) -> dict:
    """``disbench NAME --data PATH`` at its defaults, as a user runs it; its own cost record, plus the
    wall time of the whole process (Python's start and imports included)."""
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "disbench.cli", name, "--data", str(path), "--out", str(out)], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t
    record = json.loads((out / ("analysis.json" if name == "analyze" else "suggestion.json")).read_text())
    return {**record["cost"], "process_s": wall}


def main(rounds: int, folder: Path) -> None:
    from common import write_results

    # written by a child: Linux carries a process's peak memory across fork and exec, so writing them here
    # (some 800 MiB) would become every measured command's "peak memory"
    subprocess.run([sys.executable, __file__, "--write-layouts", "--folder", str(folder)], check=True)
    paths = write_layouts(folder)  # already there: only their paths
    runs: dict[str, list[dict]] = {f"{layout} {what}": [] for layout in LAYOUTS for what in ("open", "analyze", "suggest-loss")}
    for _ in range(rounds):
        for layout in LAYOUTS:
            done = subprocess.run([sys.executable, __file__, "--opening", str(paths[layout])], capture_output=True, text=True, check=True)
            runs[f"{layout} open"].append(json.loads(done.stdout.strip().splitlines()[-1]))
            for name in ("analyze", "suggest-loss"):
                runs[f"{layout} {name}"].append(command(name, paths[layout], folder / "out" / name))
    results = {}
    for name, measured in runs.items():
        results[name] = {k: round(statistics.median(m[k] for m in measured), 2) for k in measured[0]}
        results[name]["runs"] = measured
        print(f"{name:28} " + ", ".join(f"{k} {v}" for k, v in results[name].items() if k != "runs"))
    write_results("your_data", {"images": int(np.prod(list(SIZES.values()))), "shape": [3, 64, 64], "factors": SIZES, "rounds": rounds, "results": results})


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/bench-your-data"))
    parser.add_argument("--opening", metavar="PATH", help="(internal) time opening and hashing PATH in this process")
    parser.add_argument("--write-layouts", action="store_true", help="(internal) write the dataset's layouts into --folder and stop")
    args = parser.parse_args()
    if args.write_layouts:
        write_layouts(args.folder)
    elif args.opening:
        print(json.dumps(opening(args.opening)))
    else:
        main(args.rounds, args.folder)
