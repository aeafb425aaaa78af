"""The task registry, modelled on Gymnasium's: ids, specs, ``register``/``make``/``spec``.

Ids follow ``[namespace/]name[-vN]``. ``make("name")`` resolves to the highest registered,
non-deprecated version; results always record the full versioned id. Entry points are
``"module:attr"`` strings imported lazily, so registering costs nothing.

``make("module:id")`` imports ``module`` first (from the current folder too, see
``disbench.entry_points.import_module_here``), and the tasks that import registers remember it
(``TaskSpec.module``): a record or checkpoint of such a task names that module, as a hint for
whoever re-scores it (:func:`unregistered_hint`); nothing imports a module because a file names it.

Third-party packages ship tasks through the ``disbench.tasks`` entry-point group: each entry
point names a module (or a function) that calls :func:`register`, and its name is the namespace
its tasks are registered under (``mylab = "mylab.tasks"`` gives ``mylab/...`` ids). Plugins are
loaded on the first lookup, not at ``import disbench``, and a broken plugin only warns.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from disbench.entry_points import entry_point_name, import_module_here, load_entry_point
from disbench.error import (
    DeprecatedTask,
    DisbenchError,
    InvalidTaskId,
    NameNotFound,
    NamespaceNotFound,
    RegistrationError,
    VersionNotFound,
    did_you_mean,
)
from disbench.protocol import Protocol, default_protocols

if TYPE_CHECKING:
    from disbench.task import Task

MODULE_RE = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
TASK_ID_RE = re.compile(r"^(?:(?P<namespace>[\w.-]+)/)?(?P<name>[\w.-]+?)(?:-v(?P<version>\d+))?$")
DEFAULT_ENTRY_POINT = "disbench.task:build_task"
PLUGIN_GROUP = "disbench.tasks"
DEFAULT_PRIMARY_METRIC = "mig"
# make() options that choose where data lives, not what the task is: never off-protocol.
RUNTIME_KWARGS = ("download", "root")
WHERE_DATA_LIES = ("path",)  # task arguments that may change between a run and its re-scoring: the same content elsewhere (its sha256 is compared)


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
    primary_metric: str = DEFAULT_PRIMARY_METRIC  # what the leaderboard ranks this task's methods by
    module: str | None = None  # the module whose import registers it, when it was found as 'module:id' (see unregistered_hint)

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

    def to_dict(self) -> dict[str, Any]:
        """Every field; ``module`` only when set, so the specs of tasks found without one are unchanged."""
        return {
            "id": self.id,
            "entry_point": entry_point_name(self.entry_point),
            "kwargs": copy.deepcopy(self.kwargs),
            "protocols": {tier: p.to_dict() for tier, p in self.protocols.items()},
            "adversarial": self.adversarial,
            "twin": self.twin,
            "description": self.description,
            "deprecated": self.deprecated,
            "primary_metric": self.primary_metric,
            **({"module": self.module} if self.module else {}),
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
_current_namespace: str | None = None
_current_module: str | None = None  # the module a 'module:id' lookup is importing: what its registrations remember
_plugins_loaded = False


@contextlib.contextmanager
def namespace(name: str) -> Iterator[None]:
    """Register ids without a namespace under ``name`` inside this block (what plugins get)."""
    global _current_namespace
    before, _current_namespace = _current_namespace, name
    try:
        yield
    finally:
        _current_namespace = before


def register(
    id: str,
    entry_point: str | Callable[..., Any] = DEFAULT_ENTRY_POINT,
    kwargs: dict[str, Any] | None = None,
    protocols: dict[str, Protocol] | None = None,
    **spec_fields: Any,
) -> TaskSpec:
    """Add a task to the registry. Re-registering an identical spec is silent; a different one warns.

    A name is either versioned (``demo-v0``, ``demo-v1``, ...) or not (``demo``), never both:
    ``make("demo")`` would otherwise be ambiguous.
    """
    if _current_namespace is not None and parse_task_id(id)[0] is None:
        id = f"{_current_namespace}/{id}"
    if _current_module is not None:
        spec_fields.setdefault("module", _current_module)
    spec = TaskSpec(
        id=id,
        entry_point=entry_point,
        kwargs=copy.deepcopy(dict(kwargs or {})),
        protocols=dict(protocols) if protocols is not None else default_protocols(),
        **spec_fields,
    )
    clash = [s.id for s in registry.values() if s.namespace == spec.namespace and s.name == spec.name and (s.version is None) != (spec.version is None)]
    if clash:
        fix = f"register it as '{spec.id}-v0'" if spec.version is None else f"version {clash[0]!r} too"
        raise RegistrationError(
            f"Cannot register {spec.id!r} next to {clash[0]!r}: a task name is either versioned or unversioned, not both; {fix}."
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


def load_plugins() -> list[str]:
    """Import every ``disbench.tasks`` entry point once; return the namespaces loaded.

    Each plugin registers its tasks under its entry point's name. A plugin that fails to import
    or register is skipped with a warning that names it and the error: one broken package must
    never make disbench unusable.
    """
    global _plugins_loaded
    if _plugins_loaded:
        return []
    _plugins_loaded = True
    loaded = []
    for plugin in entry_points(group=PLUGIN_GROUP):
        try:
            with namespace(plugin.name):
                obj = plugin.load()
                if callable(obj):
                    obj()
        except Exception as e:  # noqa: BLE001 - any failure of third-party code is reported, not raised
            warnings.warn(
                f"The disbench task plugin {plugin.name!r} ({plugin.value}) failed to load and was skipped: "
                f"{type(e).__name__}: {e}. Fix or uninstall the package that provides it.",
                RuntimeWarning,
                stacklevel=2,
            )
            continue
        loaded.append(plugin.name)
    return loaded


def _versions(namespace: str | None, name: str) -> list[TaskSpec]:
    return sorted(
        (s for s in registry.values() if s.namespace == namespace and s.name == name),
        key=lambda s: -1 if s.version is None else s.version,
    )


def _check_name_exists(namespace: str | None, name: str) -> None:
    namespaces = {s.namespace for s in registry.values()}
    if namespace not in namespaces:
        known = sorted(ns for ns in namespaces if ns is not None)
        raise NamespaceNotFound(
            f"No task is registered in namespace {namespace!r}."
            + did_you_mean(namespace or "", known)
            + " Install or import the package that registers it, or use make('package.module:id')."
        )
    names = sorted({s.name for s in registry.values() if s.namespace == namespace})
    if name not in names:
        suffix = "" if namespace is None else f" in namespace {namespace!r}"
        raise NameNotFound(f"No task named {name!r}{suffix}." + did_you_mean(name, names) + " Run `disbench list` to see every task.")


def spec(task_id: str) -> TaskSpec:
    """Return the spec a task id resolves to (unversioned ids resolve to the latest version).

    Pinning a version older than the latest active one works, with a warning naming the latest.
    """
    if not isinstance(task_id, str):  # before any string operation, so the error says what was wrong
        raise InvalidTaskId(f"A task id must be a string, got {type(task_id).__name__}: {task_id!r}.")
    load_plugins()
    if ":" in task_id:
        module, _, task_id = task_id.partition(":")
        _import_registering(module, task_id)
    namespace, name, version = parse_task_id(task_id)
    _check_name_exists(namespace, name)
    versions = _versions(namespace, name)
    active = [s for s in versions if not s.deprecated]
    if version is None:
        if not active:
            raise DeprecatedTask(f"Every version of {name!r} is deprecated; use {versions[-1].deprecated!r}.")
        return active[-1]
    found = [s for s in versions if s.version == version]
    if not found:
        existing = ", ".join(s.id for s in versions)
        raise VersionNotFound(f"Task {name!r} has no version v{version}. Registered versions: {existing}.")
    if found[0].deprecated:
        raise DeprecatedTask(f"Task {found[0].id!r} is deprecated; use {found[0].deprecated!r} instead.")
    if active and active[-1].version is not None and active[-1].version > version:
        warnings.warn(f"{found[0].id!r} is not the latest version of this task; {active[-1].id!r} is.", UserWarning, stacklevel=2)
    return found[0]


def _import_registering(module: str, task_id: str) -> None:
    """Import the module of a 'module:id' lookup; the tasks it registers remember it."""
    global _current_module
    if module.endswith(".py"):
        raise InvalidTaskId(f"{module!r} is a file; name its module instead, without the folder and '.py': '{Path(module).stem}:{task_id}' "
                            "(a module in the current folder is found).")
    if not MODULE_RE.fullmatch(module):
        raise InvalidTaskId(f"{module!r} is not a module name; 'module:id' needs an absolute dotted name such as 'mylab.tasks:my-task-v0'.")
    before, _current_module = _current_module, module
    try:
        import_module_here(module)
    except DisbenchError as e:  # a check of disbench's in the module (its data, say): that is the error to show
        raise type(e)(f"{e} (importing {module!r} for {task_id!r})") from e
    except Exception as e:  # noqa: BLE001 - any failure of the named module's import is reported, not raised raw
        raise RegistrationError(f"Could not import {module!r} to register {task_id!r}: {type(e).__name__}: {e}") from e
    finally:
        _current_module = before


def unregistered_hint(spec: dict[str, Any]) -> str:
    """What to type when a task that a record or checkpoint names (``spec``, a ``to_dict()``) is not
    registered here. The module it says registered it is named, never imported: a file can say
    anything, and importing runs code; only a ``--task MODULE:ID`` the user types imports one."""
    module = spec.get("module")
    return (f" Its task is not registered in this process: pass --task {module or 'MODULE'}:{spec['id']}, naming the module that registers it "
            "(a file in the current folder does)" + (f"; it says it came from {module!r}, which is imported only if you name it" if module else "") + ".")


def spec_differences(recorded: dict[str, Any], found: dict[str, Any]) -> list[str]:
    """How ``found`` (a spec's ``to_dict()``) differs from ``recorded`` (a record's or checkpoint's) in
    what builds the task: its entry point and arguments, but for where its data lies. Empty when
    nothing was recorded (a run of a task without a spec)."""
    if not recorded:
        return []
    before = recorded.get("kwargs", {})
    now = json.loads(json.dumps(found["kwargs"], default=str))  # as a record keeps it: a tuple argument is the list it was saved as
    movable = set(WHERE_DATA_LIES) if before.get("sha256") and now.get("sha256") else set()  # elsewhere, only when the content is compared
    rows = [("entry point", recorded.get("entry_point"), found["entry_point"])]
    rows += [(key, before.get(key), now.get(key)) for key in sorted((set(before) | set(now)) - movable)]
    return [f"{name}: was {_short(a)}, now {_short(b)}" for name, a, b in rows if a != b]


def _short(value: object) -> str:
    return f"{value[:12]}..." if isinstance(value, str) and len(value) == 64 else repr(value)  # a sha256 by its first digits


def make(task_id: str | TaskSpec, **kwargs: Any) -> Task:
    """Build a task. Keyword arguments override the registered ones and mark the task off-protocol,
    except ``download``/``root`` (where stored data lives), which are passed through.

    The task gets its own deep copy of the spec: changing it never changes the registry.
    """
    from disbench.task import Task  # here, not at import: the registry alone never loads data code (a child needs it without)

    task_spec = task_id if isinstance(task_id, TaskSpec) else spec(task_id)
    runtime = {k: kwargs.pop(k) for k in RUNTIME_KWARGS if k in kwargs}
    merged = {**task_spec.kwargs, **kwargs}
    off_protocol = merged != task_spec.kwargs
    made_spec = copy.deepcopy(dataclasses.replace(task_spec, kwargs=merged))
    creator = load_entry_point(task_spec.entry_point)
    task = creator(**copy.deepcopy(merged), **runtime)
    if not isinstance(task, Task):
        raise RegistrationError(
            f"Entry point {entry_point_name(task_spec.entry_point)!r} of {task_spec.id!r} returned "
            f"{type(task).__name__}, expected a disbench.Task."
        )
    task.spec = made_spec
    task.off_protocol = off_protocol
    return task


def pprint_registry(print_output: bool = True) -> str | None:
    """Print (or return) the registry as one table per namespace, with an adversarial column; a
    column no task of the namespace fills (no twins, none deprecated) is left out."""
    from tabulate import tabulate

    load_plugins()
    by_namespace: dict[str | None, list[TaskSpec]] = {}
    for s in sorted(registry.values(), key=lambda s: (s.namespace or "", s.name, s.version or 0)):
        by_namespace.setdefault(s.namespace, []).append(s)
    headers = ["task", "dataset", "loss", "adversarial", "twin", "ranked by", "deprecated"]
    sections = []
    for ns, specs in by_namespace.items():
        rows = [(s.id, s.dataset or "-", s.loss or "-", "yes" if s.adversarial else "no", s.twin or "", s.primary_metric,
                 f"use {s.deprecated}" if s.deprecated else "") for s in specs]
        shown = [i for i in range(len(headers)) if any(row[i] for row in rows)]  # no column without a value (twin, deprecated)
        table = tabulate([[row[i] for i in shown] for row in rows], headers=[headers[i] for i in shown], tablefmt="simple")
        sections.append(f"== {ns or 'disbench (built-in)'}: {len(specs)} tasks ==\n{table}")
    text = "\n\n".join(sections)
    if print_output:
        print(text)
        return None
    return text
