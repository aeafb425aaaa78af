"""Load result records and pass each through a pipeline of checks before the board may use it.

Every record file becomes an :class:`Entry`. Checks run in order; each returns findings that
either *refuse* the record (it is never aggregated; the reason is shown on the refused list)
or *mark* it (it is shown, with a marker such as ``stale``, ``unverified`` or ``local``). A
refusal stops the pipeline, because later checks assume what earlier ones established.

The pipeline (``DEFAULT_CHECKS``):

1. ``parse``     valid JSON, this schema version, the ``RunResult`` schema;
2. ``location``  the file sits where its content says (task/submission/tier/seed);
3. ``status``    a failed run is not a score;
4. ``protocol``  on-protocol, a registered task with the same definition, the current hash
                 of the tier, a seed of the tier;
5. ``signature`` the official runner's Ed25519 signature (``disbench.harness.record.signing``):
                 a bad signature is refused; a missing one is refused when the board
                 requires signatures and marked ``unverified`` otherwise;
6. ``stale``     the submission folder's content hash still matches the record's;
7. ``origin``    records from a local results folder are marked ``local``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from disbench.error import DisbenchError
from disbench.files import existing_folder
from disbench.harness.record import SCHEMA_VERSION, RunResult
from disbench.leaderboard.errors import LeaderboardError
from disbench.registration import spec_differences

Origin = Literal["official", "local"]
Severity = Literal["refuse", "mark"]


@dataclass(frozen=True)
class Finding:
    """One outcome of a check: ``refuse`` keeps the record off the board, ``mark`` flags it."""

    check: str
    severity: Severity
    marker: str
    reason: str


@dataclass
class Entry:
    """One record file, its parsed record (None until parsed) and what the checks found."""

    path: Path
    root: Path
    origin: Origin
    record: RunResult | None = None
    raw: dict[str, Any] | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return any(f.severity == "refuse" for f in self.findings)

    @property
    def markers(self) -> tuple[str, ...]:
        """Sorted markers of the non-refusing findings, e.g. ``("stale", "unverified")``."""
        return tuple(sorted({f.marker for f in self.findings if f.severity == "mark"}))

    @property
    def reasons(self) -> list[str]:
        return [f.reason for f in self.findings]

    @property
    def relative_path(self) -> str:
        return self.path.relative_to(self.root).as_posix()

    def sidecar(self, suffix: str) -> Path | None:
        """A file next to the record, e.g. ``seed-0.traversals.png`` for ``.traversals.png``; None if absent."""
        candidate = self.path.with_name(self.path.name.removesuffix(".json") + suffix)
        return candidate if candidate.is_file() else None


@dataclass(frozen=True)
class Source:
    """A results folder laid out as ``<task-id>/<submission>/<tier>/seed-<n>.json``."""

    root: Path
    origin: Origin


@dataclass
class CheckContext:
    """What the checks need: where submissions live, whether signatures are required, how to verify.

    A ``public_key_path`` the caller names is loaded at once, and any problem with it is a
    :class:`~disbench.error.SigningError`: a mistyped path must not turn every signed record into
    an unverified one. Without one, the default key is looked up when a signed record needs it;
    where there is none, signed records are marked unverified with the reason (``verify_problem``)."""

    submissions_dir: Path | None = Path("submissions")
    require_signed: bool = False
    public_key_path: Path | None = None
    verifier: Callable[[RunResult], bool] | None = None
    verify_problem: str | None = None
    _hashes: dict[str, str | Exception] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.public_key_path is not None and self.verifier is None:
            from disbench.harness.record import signing

            key = signing.load_public_key(self.public_key_path)
            self.verifier = lambda r: bool(signing.verify(r, key))

    def verify(self, record: RunResult) -> bool | None:
        """True/False from the runner's public key; None if it cannot be checked here (see ``verify_problem``)."""
        if self.verifier is None:
            if self.verify_problem is not None:
                return None
            try:
                from disbench.harness.record import signing
            except ImportError as e:
                self.verify_problem = f"this disbench cannot verify signatures ({e})"
                return None
            try:
                key = signing.load_public_key(self.public_key_path)
            except DisbenchError as e:
                self.verify_problem = f"no usable runner public key ({e})"
                return None
            self.verifier = lambda r: bool(signing.verify(r, key))
        return self.verifier(record)

    def content_hash(self, name: str) -> str | Exception | None:
        """The current content hash of ``submissions/<name>`` (cached), the error loading it, or None if absent."""
        if self.submissions_dir is None:
            return None
        folder = self.submissions_dir / name
        if not folder.is_dir():
            return None
        if name not in self._hashes:
            from disbench.harness.submission import Submission

            try:
                self._hashes[name] = Submission(folder).content_hash()
            except DisbenchError as e:
                self._hashes[name] = e
        return self._hashes[name]


Check = Callable[[Entry, CheckContext], list[Finding]]


def _refuse(check: str, reason: str) -> list[Finding]:
    return [Finding(check, "refuse", check, reason)]


def check_parse(entry: Entry, ctx: CheckContext) -> list[Finding]:
    """Valid JSON, the schema version this disbench reads, and the RunResult schema."""
    try:
        raw = json.loads(entry.path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:  # RecursionError: absurdly deep nesting
        return _refuse("parse", f"not a readable JSON file ({type(e).__name__}: {e})")
    if not isinstance(raw, dict):
        return _refuse("parse", f"expected a JSON object, found {type(raw).__name__}")
    entry.raw = raw
    version = raw.get("schema_version")
    if version != SCHEMA_VERSION:
        return _refuse("schema", f"schema version {version!r}; this disbench reads version {SCHEMA_VERSION} (upgrade disbench, or re-run the record)")
    try:
        entry.record = RunResult.model_validate(raw)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc'])) or '(record)'}: {err['msg']}" for err in e.errors()[:3])
        return _refuse("schema", f"does not match the record schema ({problems})")
    return []


def check_location(entry: Entry, ctx: CheckContext) -> list[Finding]:
    """A record must sit at the path its own content names: moving a file is not re-running it."""
    r = entry.record
    expected = f"{r.task.id}/{r.submission.name}/{r.protocol.name}/seed-{r.seed}.json"
    if entry.relative_path != expected:
        return _refuse("location", f"filed as {entry.relative_path} but its content says {expected}")
    return []


def check_status(entry: Entry, ctx: CheckContext) -> list[Finding]:
    """A failed run has an error, not a score."""
    if entry.record.status != "completed":
        return _refuse("failed", f"the run failed: {entry.record.error}")
    return []


def check_protocol(entry: Entry, ctx: CheckContext) -> list[Finding]:
    """On-protocol, against the registered task and the current hash of its tier."""
    import disbench

    r = entry.record
    if r.task.off_protocol or not r.on_protocol:
        return _refuse("off-protocol", "off-protocol run (task kwargs overridden, or no submission hash); the board takes on-protocol runs only")
    try:
        spec = disbench.spec(r.task.id)
    except DisbenchError as e:
        return _refuse("unknown-task", f"task {r.task.id!r} is not registered here ({e})")
    changed = spec_differences(r.task.spec, spec.to_dict())
    if changed:
        return _refuse("task-changed", f"the record's task definition differs from the registered {spec.id}: {'; '.join(changed)}")
    tier = spec.protocols.get(r.protocol.name)
    if tier is None:
        return _refuse("protocol", f"tier {r.protocol.name!r} does not exist for {spec.id}; tiers are {sorted(spec.protocols)}")
    if tier.hash() != r.protocol.hash:
        return _refuse("protocol", f"made under protocol hash {r.protocol.hash[:12]}, but {spec.id} {tier.name} is now {tier.hash()[:12]}; re-run it under the current protocol")
    if r.seed not in tier.seeds:
        return _refuse("protocol", f"seed {r.seed} is not one of the {tier.name} tier's seeds {list(tier.seeds)}")
    return []


def check_signature(entry: Entry, ctx: CheckContext) -> list[Finding]:
    """A present signature must verify; a missing one is refused or marked, as the board requires."""
    signature = getattr(entry.record, "signature", None)
    if signature:
        ok = ctx.verify(entry.record)
        if ok is None:
            if ctx.require_signed:
                return _refuse("signature", f"signed, but the signature cannot be checked: {ctx.verify_problem}")
            return [Finding("signature", "mark", "unverified", f"signed, but the signature cannot be checked: {ctx.verify_problem}")]
        if not ok:
            return _refuse("signature", "the runner's signature does not match the record: it was changed after signing, or signed by another key")
        return []
    if ctx.require_signed:
        return _refuse("unsigned", "unsigned; the official board takes only records signed by the official runner")
    if entry.origin == "official":
        return [Finding("signature", "mark", "unverified", "unsigned: not made by the official runner, so its numbers are not verified")]
    return []


def check_stale(entry: Entry, ctx: CheckContext) -> list[Finding]:
    """Stale: the submission's folder no longer has the code that produced the record."""
    r = entry.record
    current = ctx.content_hash(r.submission.name)
    if current is None:
        if ctx.submissions_dir is not None and ctx.submissions_dir.is_dir():
            return [Finding("stale", "mark", "stale", f"no folder {ctx.submissions_dir / r.submission.name}: the submission was removed or renamed")]
        return []
    if isinstance(current, Exception):
        return [Finding("stale", "mark", "stale", f"the submission folder no longer loads ({current})")]
    if current != r.submission.content_hash:
        return [Finding("stale", "mark", "stale", f"the submission changed since this run (record {str(r.submission.content_hash)[:12]}, folder now {current[:12]}); it needs a re-run")]
    return []


def check_origin(entry: Entry, ctx: CheckContext) -> list[Finding]:
    """Records from a local results folder are shown, marked as local."""
    if entry.origin == "local":
        return [Finding("origin", "mark", "local", f"a local run from {entry.root}, not an official record")]
    return []


DEFAULT_CHECKS: tuple[Check, ...] = (check_parse, check_location, check_status, check_protocol, check_signature, check_stale, check_origin)


def run_checks(entry: Entry, ctx: CheckContext, checks: Sequence[Check] = DEFAULT_CHECKS) -> Entry:
    """Run ``checks`` on ``entry`` in order, stopping at the first refusal."""
    for check in checks:
        entry.findings.extend(check(entry, ctx))
        if entry.refused:
            break
    return entry


def find_record_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("seed-*.json") if p.is_file())


def check_layout(root: Path) -> None:
    """A folder with no records of its own whose ``results/`` has some (a Hub snapshot's root, as ``publish --out`` writes
    it) is an error that names ``results/``, not a board of records refused for sitting one folder too deep."""
    def laid_out(folder: Path) -> int:
        return sum(1 for p in folder.glob("*/*/*/seed-*.json") if p.is_file())

    inner = root / "results"
    if inner.is_dir() and not laid_out(root) and (found := laid_out(inner)):
        raise LeaderboardError(f"Results folder {root} has no records at <task>/<submission>/<tier>/seed-<n>.json, but {inner} has "
                               f"{found} (a Hub snapshot keeps them in results/); did you mean {inner}?")


@dataclass
class Board:
    """Every checked entry, from every source."""

    entries: list[Entry]
    sources: list[Source]
    require_signed: bool = False

    @property
    def accepted(self) -> list[Entry]:
        return [e for e in self.entries if not e.refused]

    @property
    def refused(self) -> list[Entry]:
        return [e for e in self.entries if e.refused]


def load_board(
    sources: Iterable[Source],
    ctx: CheckContext | None = None,
    checks: Sequence[Check] = DEFAULT_CHECKS,
) -> Board:
    """Load and check every record of every source; a missing folder is an error, not an empty board."""
    ctx = ctx or CheckContext()
    sources = list(sources)
    seen: set[Path] = set()
    entries = []
    kept = []
    for source in sources:
        root = Path(source.root)
        existing_folder(root, "Results folder", "run from the root of a disbench clone, pass the folder (--official DIR, --results DIR), "
                        "or make one: `disbench leaderboard pull --repo ORG/NAME`, `disbench run ... --results-dir DIR`.", LeaderboardError)
        check_layout(root)
        if root.resolve() in seen:
            continue
        seen.add(root.resolve())
        kept.append(Source(root, source.origin))
        for path in find_record_files(root):
            entries.append(run_checks(Entry(path=path, root=root, origin=source.origin), ctx, checks))
    return Board(entries=entries, sources=kept, require_signed=ctx.require_signed)
