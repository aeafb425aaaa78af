"""The task registry, modelled on Gymnasium's: ids, specs, ``register``/``make``/``spec``.

Ids follow ``[namespace/]name[-vN]``. ``make("name")`` resolves to the highest registered,
non-deprecated version; results always record the full versioned id. Entry points are
``"module:attr"`` strings imported lazily, so registering costs nothing.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import importlib
import json
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from disbench.error import (
    DeprecatedTask,
    InvalidTaskId,
    NameNotFound,
    NamespaceNotFound,
    RegistrationError,
    VersionNotFound,
)
from disbench.protocol import Protocol, default_protocols

if TYPE_CHECKING:
    from disbench.task import Task

TASK_ID_RE = re.compile(r"^(?:(?P<namespace>[\w.-]+)/)?(?P<name>[\w.-]+?)(?:-v(?P<version>\d+))?$")
DEFAULT_ENTRY_POINT = "disbench.task:build_task"
# make() options that choose where data lives, not what the task is: never off-protocol.
RUNTIME_KWARGS = ("download", "root")


def parse_task_id(task_id: str) -> tuple[str | None, str, int | None]:
    """Split ``[namespace/]name[-vN]`` into its parts; raise ``InvalidTaskId`` if malformed."""
    if not isinstance(task_id, str):
        raise InvalidTaskId(f"A task id must be a string, got {type(task_id).__name__}: {task_id!r}.")
    match = TASK_ID_RE.fullmatch(task_id)
    if match is None:
        raise InvalidTaskId(
            f"Malformed task id {task_id!r}: expected '[namespace/]name[-vN]' using letters, digits, "
            "'_', '-' and '.', for example 'xysquares-mse-v0' or 'mylab/xysquares-mse'."
        )
    version = match["version"]
    return match["namespace"], match["name"], None if version is None else int(version)


def get_task_id(namespace: str | None, name: str, version: int | None) -> str:
    """Inverse of :func:`parse_task_id`."""
    task_id = name if namespace is None else f"{namespace}/{name}"
    return task_id if version is None else f"{task_id}-v{version}"


def _entry_point_str(entry_point: str | Callable[..., Any]) -> str:
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
    """Import ``"module:attr"`` (dotted attrs allowed) and return the object."""
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


@dataclass
class TaskSpec:
    """Everything needed to rebuild a task, and what the leaderboard shows about it."""

    id: str
    entry_point: str | Callable[..., Any] = DEFAULT_ENTRY_POINT
    kwargs: dict[str, Any] = field(default_factory=dict)
    protocols: dict[str, Protocol] = field(default_factory=default_protocols)
    adversarial: bool = False
    twin: str | None = None
    description: str = ""
    deprecated: str | None = None

    namespace: str | None = field(init=False)
    name: str = field(init=False)
    version: int | None = field(init=False)

    def __post_init__(self) -> None:
        self.namespace, self.name, self.version = parse_task_id(self.id)
        if "standard" not in self.protocols:
            raise RegistrationError(f"Task {self.id!r} must define a 'standard' protocol tier.")
        for tier, protocol in self.protocols.items():
            if not isinstance(protocol, Protocol) or protocol.name != tier:
                raise RegistrationError(f"Task {self.id!r}: protocol tier {tier!r} must be a Protocol named {tier!r}.")

    @property
    def dataset(self) -> str | None:
        return self.kwargs.get("dataset")

    @property
    def loss(self) -> str | None:
        return self.kwargs.get("loss")

    def make(self, **kwargs: Any) -> Task:
        return make(self.id, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "entry_point": _entry_point_str(self.entry_point),
            "kwargs": copy.deepcopy(self.kwargs),
            "protocols": {tier: p.to_dict() for tier, p in self.protocols.items()},
            "adversarial": self.adversarial,
            "twin": self.twin,
            "description": self.description,
            "deprecated": self.deprecated,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TaskSpec:
        d = dict(d)
        d["protocols"] = {tier: Protocol.from_dict(p) for tier, p in d.get("protocols", {}).items()}
        return cls(**d)

    @classmethod
    def from_json(cls, text: str) -> TaskSpec:
        return cls.from_dict(json.loads(text))


registry: dict[str, TaskSpec] = {}


def register(
    id: str,
    entry_point: str | Callable[..., Any] = DEFAULT_ENTRY_POINT,
    kwargs: dict[str, Any] | None = None,
    protocols: dict[str, Protocol] | None = None,
    **spec_fields: Any,
) -> TaskSpec:
    """Add a task to the registry. Re-registering an identical spec is silent; a different one warns."""
    spec = TaskSpec(
        id=id,
        entry_point=entry_point,
        kwargs=dict(kwargs or {}),
        protocols=dict(protocols) if protocols is not None else default_protocols(),
        **spec_fields,
    )
    old = registry.get(spec.id)
    if old is not None and _same(old, spec) is False:
        warnings.warn(f"Overriding the registered task {spec.id!r} with a different spec.", stacklevel=2)
    registry[spec.id] = spec
    return spec


def _same(a: TaskSpec, b: TaskSpec) -> bool:
    try:
        return a.to_dict() == b.to_dict()
    except RegistrationError:  # a callable entry point that cannot be named: compare objects
        return a.entry_point is b.entry_point and a.kwargs == b.kwargs and a.protocols == b.protocols


def _versions(namespace: str | None, name: str) -> list[TaskSpec]:
    return sorted(
        (s for s in registry.values() if s.namespace == namespace and s.name == name),
        key=lambda s: -1 if s.version is None else s.version,
    )


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.5)
    return f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def _check_name_exists(namespace: str | None, name: str) -> None:
    namespaces = {s.namespace for s in registry.values()}
    if namespace not in namespaces:
        known = sorted(ns for ns in namespaces if ns is not None)
        raise NamespaceNotFound(
            f"No task is registered in namespace {namespace!r}."
            + _did_you_mean(namespace or "", known)
            + " Import the package that registers it, or use make('package.module:id')."
        )
    names = sorted({s.name for s in registry.values() if s.namespace == namespace})
    if name not in names:
        suffix = "" if namespace is None else f" in namespace {namespace!r}"
        raise NameNotFound(
            f"No task named {name!r}{suffix}." + _did_you_mean(name, names) + " Run `disbench list` to see every task."
        )


def spec(task_id: str) -> TaskSpec:
    """Return the spec a task id resolves to (unversioned ids resolve to the latest version)."""
    if ":" in task_id:
        module, _, task_id = task_id.partition(":")
        try:
            importlib.import_module(module)
        except ImportError as e:
            raise RegistrationError(f"Could not import {module!r} to register {task_id!r}: {e}") from e
    namespace, name, version = parse_task_id(task_id)
    _check_name_exists(namespace, name)
    versions = _versions(namespace, name)
    if version is None:
        active = [s for s in versions if not s.deprecated]
        if not active:
            raise DeprecatedTask(f"Every version of {name!r} is deprecated; use {versions[-1].deprecated!r}.")
        return active[-1]
    found = [s for s in versions if s.version == version]
    if not found:
        existing = ", ".join(s.id for s in versions)
        raise VersionNotFound(f"Task {name!r} has no version v{version}. Registered versions: {existing}.")
    if found[0].deprecated:
        raise DeprecatedTask(f"Task {found[0].id!r} is deprecated; use {found[0].deprecated!r} instead.")
    return found[0]


def make(task_id: str | TaskSpec, **kwargs: Any) -> Task:
    """Build a task. Keyword arguments override the registered ones and mark the task off-protocol,
    except ``download``/``root`` (where stored data lives), which are passed through."""
    task_spec = task_id if isinstance(task_id, TaskSpec) else spec(task_id)
    runtime = {k: kwargs.pop(k) for k in RUNTIME_KWARGS if k in kwargs}
    merged = {**task_spec.kwargs, **kwargs}
    off_protocol = merged != task_spec.kwargs
    made_spec = dataclasses.replace(task_spec, kwargs=merged)
    creator = load_entry_point(task_spec.entry_point)
    task = creator(**merged, **runtime)
    from disbench.task import Task

    if not isinstance(task, Task):
        raise RegistrationError(
            f"Entry point {_entry_point_str(task_spec.entry_point)!r} of {task_spec.id!r} returned "
            f"{type(task).__name__}, expected a disbench.Task."
        )
    task.spec = made_spec
    task.off_protocol = off_protocol
    return task


def pprint_registry(print_output: bool = True) -> str | None:
    """Print (or return) the registry as a table with an adversarial column."""
    from tabulate import tabulate

    rows = [
        (s.id, s.dataset or "-", s.loss or "-", "yes" if s.adversarial else "no", s.twin or "", "deprecated" if s.deprecated else "")
        for s in sorted(registry.values(), key=lambda s: (s.namespace or "", s.name, s.version or 0))
    ]
    text = tabulate(rows, headers=["task", "dataset", "loss", "adversarial", "twin", ""], tablefmt="simple")
    if print_output:
        print(text)
        return None
    return text
