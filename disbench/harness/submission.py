"""Submissions: a folder with ``submission.toml`` and a ``model.py`` that builds a ``Method``.

``submission.toml`` is parsed with a pydantic schema, so every wrong field is reported with
its name, the value found and what is allowed. A folder holds only source and small data files
(:data:`ALLOWED_FILES`): compiled bytecode, native libraries, ``.pth`` files and symlinks could
run code that no reviewer reads, so a folder with any of them is refused. The content hash
(sha256 over every file) goes into every result record, so a score can be traced to the exact
code that made it.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import inspect
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, field_validator

from disbench.error import DisbenchError, SubmissionError, did_you_mean
from disbench.files import BYTECODE
from disbench.methods.base import Method, TaskInfo
from disbench.registration import parse_task_id, registry
from disbench.supervision import Supervision

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

# suffix -> the largest file allowed (bytes): source, its config and docs, and small data files
ALLOWED_FILES = {".py": 1 << 20, ".toml": 64 << 10, ".md": 1 << 20, ".json": 64 << 10, ".txt": 64 << 10}
MAX_FILES = 200


def file_problem(relative: str, size: int, kind: str = "file") -> str | None:
    """Why one entry of a submission folder is refused (``None``: allowed). ``kind`` is ``"file"``,
    ``"symlink"`` or ``"other"``; the PR check applies the same rule to the files of a git tree."""
    parts = relative.split("/")
    if kind == "symlink":
        return f"{relative} is a symlink; commit the file itself"
    if kind != "file":
        return f"{relative} is not a regular file"
    if "__pycache__" in parts or relative.endswith(BYTECODE):
        return f"{relative} is compiled bytecode, which runs instead of the reviewed source; delete it"
    suffix = "." + parts[-1].rsplit(".", 1)[-1] if "." in parts[-1] else ""
    if suffix not in ALLOWED_FILES:
        allowed = ", ".join(ALLOWED_FILES)
        return f"{relative}: {suffix or 'files without a suffix'} not allowed in a submission (only {allowed}); remove it"
    if size > ALLOWED_FILES[suffix]:
        return f"{relative} is {size:,} bytes; {suffix} files may be at most {ALLOWED_FILES[suffix]:,}"
    return None


def folder_problems(path: Path) -> list[str]:
    """Every entry of a submission folder that :func:`file_problem` refuses."""
    problems = []
    entries = sorted(path.rglob("*"))
    if len(entries) > MAX_FILES:
        return [f"{path} holds {len(entries)} entries; a submission may hold at most {MAX_FILES}"]
    for entry in entries:
        relative = entry.relative_to(path).as_posix()
        if entry.is_symlink():
            problems.append(file_problem(relative, 0, "symlink"))
        elif entry.is_dir():
            if entry.name == "__pycache__":
                problems.append(file_problem(relative + "/", 0))
        elif entry.is_file():
            problem = file_problem(relative, entry.stat().st_size)
            if problem and not (entry.parent.name == "__pycache__"):
                problems.append(problem)
            elif not problem and b"\0" in entry.read_bytes():
                problems.append(f"{relative} holds NUL bytes; submission files are text (the content hash depends on it): save it as text")
        else:
            problems.append(file_problem(relative, 0, "other"))
    return problems


class SubmissionConfig(BaseModel):
    """The schema of ``submission.toml``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", description="lower-case slug, e.g. 'beta-vae'")
    version: str = Field(pattern=r"^\d+(\.\d+){0,2}$", description="e.g. '1.0.0'")
    authors: list[str] = Field(min_length=1)
    maintainers: list[str] = Field(default_factory=list, description="GitHub logins allowed to change this folder in a pull request")
    description: str = Field(min_length=1)
    licence: str = Field(min_length=1)
    entry_point: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$", description="'module:function' inside the folder")
    supervision: Supervision
    paper: HttpUrl | None = None
    code: HttpUrl | None = None
    hyperparameters: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("hyperparameters")
    @classmethod
    def _known_tasks(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        names = {s.name for s in registry.values()}
        for key in value:
            if key == "default":
                continue
            name = parse_task_id(key)[1]
            if name not in names:
                raise ValueError(f"[hyperparameters.{key!r}] is not a registered task; use 'default' or a task name.{did_you_mean(name, names, n=1)}")
        return value


def format_validation_error(error: ValidationError, source: str) -> str:
    lines = [f"{source} is invalid:"]
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "(file)"
        found = item.get("input")
        shown = "missing" if item["type"] == "missing" else f"got {found!r}"
        lines.append(f"  - {field}: {item['msg']} ({shown})")
    return "\n".join(lines)


class Submission:
    """A loaded submission folder."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).resolve()
        toml = self.path / "submission.toml"
        if not self.path.exists():
            raise SubmissionError(f"No submission folder at {self.path}; give the folder that holds submission.toml and model.py "
                                  "(the baselines are in submissions/).")
        if self.path.is_file():
            raise SubmissionError(f"{self.path} is a file; give the submission's folder ({self.path.parent}, if it holds submission.toml).")
        if not toml.is_file():
            raise SubmissionError(f"No submission.toml in {self.path}; a submission folder needs submission.toml and model.py.")
        try:
            raw = tomllib.loads(toml.read_text(encoding="utf-8"))
        except UnicodeDecodeError as e:
            raise SubmissionError(f"{toml} is not UTF-8 text (byte {e.start}: {e.reason}); save it as UTF-8 TOML.") from e
        except tomllib.TOMLDecodeError as e:
            raise SubmissionError(f"{toml} is not valid TOML: {e}") from e
        except RecursionError as e:  # tomllib recurses into nested arrays and inline tables
            raise SubmissionError(f"{toml} nests arrays or tables too deeply to read; submission.toml needs only a few levels.") from e
        try:
            self.config = SubmissionConfig.model_validate(raw)
        except ValidationError as e:
            raise SubmissionError(format_validation_error(e, str(toml))) from None
        problems = folder_problems(self.path)
        if problems:
            raise SubmissionError(f"{self.path} holds files a submission may not hold:\n" + "\n".join(f"  - {p}" for p in problems))

    @property
    def name(self) -> str:
        return self.config.name

    def hyperparameters(self, task_id: str) -> dict[str, Any]:
        """``default`` merged with the task's own table (matched by versioned id or by name)."""
        return {name: value for name, (value, _) in self._hyperparameter_tables(task_id).items()}

    def _hyperparameter_tables(self, task_id: str) -> dict[str, tuple[Any, str]]:
        """``{name: (value, the submission.toml table it came from)}`` for one task."""
        name = parse_task_id(task_id)[1]
        merged = {k: (v, "[hyperparameters.default]") for k, v in self.config.hyperparameters.get("default", {}).items()}
        for key, values in self.config.hyperparameters.items():
            if key != "default" and (key == task_id or key == name):
                merged.update({k: (v, f"[hyperparameters.{key}]") for k, v in values.items()})
        return merged

    def overridden_defaults(self, task_id: str) -> list[str]:
        """One line per ``build()`` default that submission.toml replaces, saying which value wins
        and why (submission.toml's tables are what the harness passes to ``build``)."""
        parameters = self._build_parameters
        lines = []
        for name, (value, table) in self._hyperparameter_tables(task_id).items():
            default = parameters[name].default if name in parameters else inspect.Parameter.empty
            if default is not inspect.Parameter.empty and default != value:
                lines.append(f"{name} = {value!r} from submission.toml {table} (build() says {default!r}; submission.toml wins)")
        return lines

    @functools.cached_property
    def _build_parameters(self) -> Mapping[str, inspect.Parameter]:
        """``build()``'s parameters (read once: each ``entry_point()`` imports model.py again)."""
        return inspect.signature(self.entry_point()).parameters

    def unknown_hyperparameters(self) -> list[str]:
        """One line per submission.toml table that sets a name ``build()`` does not take (every
        table, not only the task's at hand: a per-task table breaks only the runs of its task)."""
        parameters = self._build_parameters
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            return []
        return [f"[hyperparameters.{table}] sets {', '.join(unknown)}, which build() does not take; remove it or add it to build()"
                for table, values in self.config.hyperparameters.items() if (unknown := sorted(set(values) - set(parameters)))]

    def content_hash(self) -> str:
        """sha256 over every file of the folder (relative path and bytes, each ended by NUL, in
        sorted order). One hash means one folder only because no file holds a NUL byte (else a
        .md file could hold ``\\0evil.py\\0<code>`` and hash as a folder with evil.py):
        :func:`folder_problems`, which every ``Submission`` passes, refuses such files."""
        digest = hashlib.sha256()
        for file in sorted(p for p in self.path.rglob("*") if p.is_file()):
            digest.update(str(file.relative_to(self.path).as_posix()).encode() + b"\0")
            digest.update(file.read_bytes() + b"\0")
        return digest.hexdigest()

    def entry_point(self):
        module_name, attr = self.config.entry_point.split(":")
        file = self.path / (module_name.replace(".", "/") + ".py")
        if not file.is_file():
            raise SubmissionError(f"entry_point {self.config.entry_point!r} needs {file}, which does not exist.")
        unique = f"disbench_submission_{self.name.replace('-', '_').replace('.', '_')}_{module_name.replace('.', '_')}"
        spec = importlib.util.spec_from_file_location(unique, file)
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, str(self.path))
        writes_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # a __pycache__ would make the folder invalid
        try:
            spec.loader.exec_module(module)
        except Exception as e:
            raise SubmissionError(f"Importing {file} failed: {type(e).__name__}: {e}") from e
        finally:
            sys.path.remove(str(self.path))
            sys.dont_write_bytecode = writes_bytecode
        if not callable(getattr(module, attr, None)):
            raise SubmissionError(f"{file} has no function {attr!r} (entry_point {self.config.entry_point!r}).")
        return getattr(module, attr)

    def build(self, task_info: TaskInfo, **overrides: Any) -> Method:
        """Call ``build(task_info, **hyperparameters)`` and check that it returns a fitting Method."""
        hp = {**self.hyperparameters(task_info.id), **overrides}
        try:
            method = self.entry_point()(task_info, **hp)
        except SubmissionError:
            raise
        except Exception as e:
            raise SubmissionError(f"{self.config.entry_point}(task_info, **{hp}) raised {type(e).__name__}: {e}") from e
        if not isinstance(method, Method):
            raise SubmissionError(f"{self.config.entry_point} returned {type(method).__name__}; it must return a disbench.Method.")
        if method.supervision != self.config.supervision:
            raise SubmissionError(
                f"submission.toml declares supervision = {self.config.supervision!r} but the method's .supervision is "
                f"{method.supervision!r}; make them agree."
            )
        return method


def code_mismatch(folder: str | Path, content_hash: str | None) -> str | None:
    """Why ``folder`` is not the code a record with ``content_hash`` was made with (``None``: it is).
    Re-scoring, re-training and signing all ask this before trusting a folder."""
    try:
        found = Submission(folder).content_hash()
    except DisbenchError as e:
        return f"{folder} cannot be read as a submission ({str(e).splitlines()[0]})"
    if found != content_hash:
        return f"{folder} has changed since the run (content hash {found[:12]}…, record {str(content_hash)[:12]}…)"
    return None
