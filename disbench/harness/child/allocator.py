"""Keep freed tensor memory in the process instead of returning it to the OS after every batch.

glibc serves large allocations (a 256 x 3 x 64 x 64 float batch is 12.6 MB) with fresh pages
and trims freed memory back to the kernel, so every batch pays page faults again; on this
project's 2-core machines that halves XYSquares sampling throughput and slows training steps
(benchmarks/results/data.json). Raising glibc's mmap and trim thresholds, what PyTorch's CPU
tuning guides do through MALLOC_* environment variables or jemalloc, lets freed blocks be
reused. The ``disbench`` command line calls this at start; scripts may call it themselves.
"""

from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
OLD_GLIBC_MMAP_MAX = 32 << 20


def tune_allocator(mmap_threshold: int = 256 << 20, trim_threshold: int = 1 << 30) -> bool:
    """Raise glibc's thresholds (Linux only); returns whether both settings took effect.

    glibc before 2.35 refuses mmap thresholds above 32 MiB on 64-bit systems; the largest
    accepted value is then used instead, which still covers a batch of 256 observations.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (e.g. musl): nothing to tune
        return False
    mmap_set = libc.mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1 or libc.mallopt(M_MMAP_THRESHOLD, OLD_GLIBC_MMAP_MAX) == 1
    trim_set = libc.mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1
    return mmap_set and trim_set
