"""disbench: a Gymnasium-style benchmark suite for disentangled representation learning.

    import disbench
    task = disbench.make("xysquares-mse")
    batch = task.sample(256, generator=torch.Generator().manual_seed(0))
    scores = task.evaluate(model.encode)
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from disbench.registration import TaskSpec, make, pprint_registry, register, registry, spec

__version__ = "0.1.0"

_LAZY = {
    "Task": ("disbench.task", "Task"),
    "Batch": ("disbench.task", "Batch"),
    "PairBatch": ("disbench.task", "PairBatch"),
    "check_task": ("disbench.checker", "check_task"),
    "Method": ("disbench.methods.base", "Method"),
    "train": ("disbench.harness.run.train", "train"),
    "evaluate": ("disbench.metrics.suites", "evaluate"),
    "metrics": ("disbench.metrics", None),
    "analysis": ("disbench.analysis", None),
    "losses": ("disbench.losses", None),
    "data": ("disbench.data", None),
}


def __getattr__(name: str) -> Any:
    """Import heavy parts (data, sklearn metrics, the harness) only when first used: a submission's
    child process imports this package, and must not load the data code it may not see."""
    if name not in _LAZY:
        raise AttributeError(f"module 'disbench' has no attribute {name!r}")
    module_name, attr = _LAZY[name]
    module = import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


import disbench.tasks  # noqa: E402,F401  (registers the built-in suite)

__all__ = [
    "Batch", "PairBatch", "Task", "TaskSpec", "make", "pprint_registry", "register", "registry", "spec",
    "check_task", "Method", "train", "evaluate", "metrics", "analysis", "__version__",
]
