"""Data throughput: XYSquares batches of 256, rendered, converted to float and normalised.

Target (issue #2): >= 150,000 observations/s on a 2-core CPU (a DataLoader over per-item numpy
rendering gives about 17,000). Also: the generic path (uint8 render, then normalise), and the
memory of sampling from a 1.5 GB stored dataset opened memory-mapped, measured in a child process
that did not write it: private (anonymous) memory, which is what the process needs, and the
page-cache pages it maps, which the kernel reclaims under pressure.

    python benchmarks/bench_data.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import textwrap

import torch
from common import median_time, write_results

import disbench
from disbench.harness.child.allocator import tune_allocator

BATCH, BATCHES = 256, 200


def throughput(make_batch) -> dict:
    """Each batch is dropped before the next one is made, as in a training loop (keeping 200
    batches alive would measure page faults on 2.5 GB of fresh memory instead)."""

    def loop():
        for _ in range(BATCHES):
            make_batch()

    median, times = median_time(loop, repeats=5)
    return {"obs_per_s": BATCH * BATCHES / median, "median_s": median, "runs_s": times}


MEMMAP_CHILD = textwrap.dedent('''
    import json, sys, time
    import numpy as np, torch
    from disbench.data.stored import StoredData

    class Big(StoredData):
        name = "bench-big"
        factor_names = ("a", "b")
        factor_sizes = (1000, 122)  # 122,000 x 3 x 64 x 64 uint8 = 1.5 GB
        obs_shape = (3, 64, 64)
        constants = ((0.5,), (0.25,))

    mode, root = sys.argv[1], sys.argv[2]
    data = Big(root=root)
    if mode == "write":  # a separate process: the pages it writes must not count for the reader
        data.folder.mkdir(parents=True)
        array = np.lib.format.open_memmap(data.array_path, mode="w+", dtype=np.uint8, shape=(len(data), 3, 64, 64))
        for start in range(0, len(data), 8192):
            array[start:start + 8192] = np.random.default_rng(start).integers(0, 256, (min(8192, len(data) - start), 3, 64, 64), dtype=np.uint8)
        array.flush(); del array
        data.manifest_path.write_text("{}")
        sys.exit(0)
    data.open()

    def memory():
        status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line)
        return {key: int(status[key].split()[0]) / 1024 for key in ("VmHWM", "RssAnon", "RssFile")}

    before = memory()
    gen = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for _ in range(100):
        data.render_normalised(data.sample_factors(256, gen))
    elapsed = time.perf_counter() - start
    after = memory()
    print(json.dumps({"dataset_bytes": len(data) * 3 * 64 * 64, "obs_per_s": 100 * 256 / elapsed,
                      "private_memory_mib_before": before["RssAnon"], "private_memory_mib_after_100_batches": after["RssAnon"],
                      "mapped_file_pages_mib_after": after["RssFile"], "peak_rss_mib": after["VmHWM"],
                      "note": "mapped file pages are the kernel's page cache (clean, reclaimable), not memory the process needs"}))
''')


def main() -> None:
    task = disbench.make("xysquares-mse")
    data = task.data
    gen = torch.Generator().manual_seed(0)
    default_allocator = throughput(lambda: task.sample(BATCH, gen))
    tuned = tune_allocator()  # what the disbench CLI does at start
    fast = throughput(lambda: task.sample(BATCH, gen))
    generic = throughput(lambda: data.normalise(data.render(data.sample_factors(BATCH, gen))))
    pairs = throughput(lambda: task.sample_pairs(BATCH, gen))
    with tempfile.TemporaryDirectory() as root:
        subprocess.run([sys.executable, "-c", MEMMAP_CHILD, "write", root], check=True)
        child = subprocess.run([sys.executable, "-c", MEMMAP_CHILD, "sample", root], capture_output=True, text=True, check=True)
    memmap = json.loads(child.stdout.strip().splitlines()[-1])
    results = {
        "xysquares_sample_256_default_allocator": default_allocator,
        "allocator_tuned": tuned,
        "xysquares_sample_256": fast,
        "xysquares_render_then_normalise_256": generic,
        "xysquares_sample_pairs_256_pairs": {**pairs, "note": "obs_per_s counts pairs; each pair is two observations"},
        "stored_memmap": memmap,
        "target_obs_per_s": 150_000,
    }
    write_results("data", results)
    print(f"task.sample: {fast['obs_per_s']:,.0f} obs/s (default allocator {default_allocator['obs_per_s']:,.0f}); render+normalise: {generic['obs_per_s']:,.0f} obs/s; "
          f"pairs: {pairs['obs_per_s']:,.0f} pairs/s; memmap 1.5 GB: private memory {memmap['private_memory_mib_after_100_batches']:.0f} MiB, "
          f"mapped page cache {memmap['mapped_file_pages_mib_after']:.0f} MiB")


if __name__ == "__main__":
    main()
