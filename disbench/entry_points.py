"""``"module:attr"`` entry points: how tasks and datasets name their code without importing it.

Kept apart from the registry so that any layer (data, tasks, plugins) can resolve entry points
without importing the registry, and the registry without importing them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from disbench.error import RegistrationError


def entry_point_name(entry_point: str | Callable[..., Any]) -> str:
    """The ``"module:qualname"`` string of an entry point (what result files record)."""
    if isinstance(entry_point, str):
        return entry_point
    module, qualname = getattr(entry_point, "__module__", None), getattr(entry_point, "__qualname__", None)
    if not module or not qualname or "<" in qualname:
        raise RegistrationError(
            f"Entry point {entry_point!r} cannot be recorded in a result file; pass it as a "
            "'module:function' string instead."
        )
    return f"{module}:{qualname}"


def load_entry_point(entry_point: str | Callable[..., Any]) -> Callable[..., Any]:
    """Import ``"module:attr"`` (dotted attrs allowed) and return the object; callables pass through."""
    if callable(entry_point):
        return entry_point
    module_name, sep, attr = entry_point.partition(":")
    if not sep or not module_name or not attr:
        raise RegistrationError(f"Entry point {entry_point!r} must look like 'package.module:function'.")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as e:
        raise RegistrationError(f"Cannot import module {module_name!r} of entry point {entry_point!r}: {e}") from e
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as e:
            raise RegistrationError(f"Module {module_name!r} has no attribute {attr!r} (entry point {entry_point!r}).") from e
    return obj
