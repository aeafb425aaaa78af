"""Data throughput: XYSquares batches of 256, rendered, converted to float and normalised.

Target (issue #2): >= 150,000 observations/s on a 2-core CPU (a DataLoader over per-item numpy
rendering gives about 17,000). Also: the generic path (uint8 render, then normalise), and the
peak memory of sampling from a 1.5 GB stored dataset opened memory-mapped (measured in a child
process so the number is that path's alone).

    python benchmarks/bench_data.py
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import torch
from common import median_time, write_results

import disbench

BATCH, BATCHES = 256, 200


def throughput(fn) -> dict:
    median, times = median_time(fn, repeats=5)
    return {"obs_per_s": BATCH * BATCHES / median, "median_s": median, "runs_s": times}


MEMMAP_CHILD = textwrap.dedent('''
    import json, resource, sys, tempfile, time
    import numpy as np, torch
    from disbench.data.stored import StoredData

    class Big(StoredData):
        name = "bench-big"
        factor_names = ("a", "b")
        factor_sizes = (1000, 122)  # 122,000 x 3 x 64 x 64 uint8 = 1.5 GB
        obs_shape = (3, 64, 64)
        constants = ((0.5,), (0.25,))

    root = tempfile.mkdtemp()
    data = Big(root=root)
    data.folder.mkdir(parents=True)
    array = np.lib.format.open_memmap(data.array_path, mode="w+", dtype=np.uint8, shape=(len(data), 3, 64, 64))
    for start in range(0, len(data), 8192):
        array[start:start + 8192] = np.random.default_rng(start).integers(0, 256, (min(8192, len(data) - start), 3, 64, 64), dtype=np.uint8)
    array.flush(); del array
    data.manifest_path.write_text("{}")
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    gen = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for _ in range(100):
        data.render_normalised(data.sample_factors(256, gen))
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"dataset_bytes": len(data) * 3 * 64 * 64, "peak_rss_mib_before_sampling": base, "peak_rss_mib_after_100_batches": peak,
                      "obs_per_s": 100 * 256 / elapsed}))
''')


def main() -> None:
    task = disbench.make("xysquares-mse")
    data = task.data
    gen = torch.Generator().manual_seed(0)
    fast = throughput(lambda: [task.sample(BATCH, gen) for _ in range(BATCHES)])
    generic = throughput(lambda: [data.normalise(data.render(data.sample_factors(BATCH, gen))) for _ in range(BATCHES)])
    pairs = throughput(lambda: [task.sample_pairs(BATCH, gen) for _ in range(BATCHES)])
    child = subprocess.run([sys.executable, "-c", MEMMAP_CHILD], capture_output=True, text=True, check=True)
    memmap = __import__("json").loads(child.stdout.strip().splitlines()[-1])
    results = {
        "xysquares_sample_256": fast,
        "xysquares_render_then_normalise_256": generic,
        "xysquares_sample_pairs_256_pairs": {**pairs, "note": "obs_per_s counts pairs; each pair is two observations"},
        "stored_memmap": memmap,
        "target_obs_per_s": 150_000,
    }
    write_results("data", results)
    print(f"task.sample: {fast['obs_per_s']:,.0f} obs/s; render+normalise: {generic['obs_per_s']:,.0f} obs/s; "
          f"pairs: {pairs['obs_per_s']:,.0f} pairs/s; memmap 1.5 GB: peak RSS {memmap['peak_rss_mib_after_100_batches']:.0f} MiB")


if __name__ == "__main__":
    main()
