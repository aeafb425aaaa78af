"""``"module:attr"`` entry points: how tasks and datasets name their code without importing it.

Kept apart from the registry so that any layer (data, tasks, plugins) can resolve entry points
without importing the registry, and the registry without importing them.

A module named this way is imported as Python finds it, or else from the current folder
(:func:`import_module_here`): ``disbench run --task mytasks:my-task`` finds ``./mytasks.py``
from the installed ``disbench`` script too, whose path does not hold the current folder.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from disbench.error import RegistrationError, did_you_mean


def _is_missing(error: ModuleNotFoundError, module: str) -> bool:
    """Whether ``error`` says ``module`` itself (or a package above it) is not found, rather than
    something it imports."""
    return error.name is not None and (module == error.name or module.startswith(error.name + "."))


def import_module_here(module: str) -> ModuleType:
    """Import ``module`` from where Python looks (installed packages, ``sys.path``), or else from the
    current folder: its ``<top>.py`` or ``<top>/__init__.py`` (never a bare folder, which Python would
    take as a namespace package: ``submissions.x.model`` must not reach a submission's code). The
    folder is appended to the search for this one import and removed after it, so a file there
    never shadows an installed module, and later imports never look there."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        here = os.getcwd()
        if not _is_missing(e, module) or here in sys.path:
            raise
    top = module.partition(".")[0]
    if not (Path(here, f"{top}.py").is_file() or Path(here, top, "__init__.py").is_file()):
        local = sorted({p.stem for p in Path(here).glob("*.py")} | {p.name for p in Path(here).iterdir() if (p / "__init__.py").is_file()})
        raise ModuleNotFoundError(f"No module named {module!r} (looked among the installed packages and in the current folder {here}, "
                                  f"where only a {top}.py file or a {top}/ package with an __init__.py counts)."
                                  f"{did_you_mean(top, local, n=1)}", name=top)
    sys.path.append(here)
    try:
        importlib.invalidate_caches()  # the folder's listing may be cached from before its files were written
        return importlib.import_module(module)
    finally:
        if here in sys.path:
            sys.path.remove(here)


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
        obj: Any = import_module_here(module_name)
    except ImportError as e:
        raise RegistrationError(f"Cannot import module {module_name!r} of entry point {entry_point!r}: {e}") from e
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as e:
            raise RegistrationError(f"Module {module_name!r} has no attribute {attr!r} (entry point {entry_point!r}).") from e
    return obj
