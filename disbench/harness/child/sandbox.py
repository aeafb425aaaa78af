"""The operating system's walls around a submission's child process.

The child runs under bubblewrap (Debian's ``bubblewrap``; chosen over ``unshare`` because it builds
the whole filesystem view declaratively, in one audited setuid-free binary, where ``unshare``
would need our own mount-and-drop-privileges code):

* its own PID, mount, network, IPC and UTS namespaces: it sees no other process (so it cannot
  signal or read the harness), has no network, and every process it starts dies with it
  (``--die-with-parent``: the namespace's init is killed with the harness, and all of it with that);
* a filesystem of read-only binds of what Python needs (the system's ``/usr`` and ``/etc``, the
  interpreter, site-packages, the disbench package), the submission folder read-only, and one
  writable scratch folder; nothing else (not the repository, records, keys, or ``$HOME``);
* as root, a separate unprivileged user (:data:`SANDBOX_USER`, made by ``disbench sandbox setup``)
  and a cgroup that limits memory and the number of processes of the whole tree.

:func:`isolation` says which of these this machine gives; a run records it, and only a run with
all of them (:attr:`Isolation.official`) can be signed for the board. Where bubblewrap is missing
the child runs as before (own session, scrubbed environment), recorded as unofficial.
"""

from __future__ import annotations

import os
import pwd
import shutil
import site
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from disbench.error import DisbenchError

SANDBOX_USER = "disbench-child"
CGROUP_ROOT = Path("/sys/fs/cgroup")


class SandboxError(DisbenchError):
    """The sandbox cannot be set up as asked."""


@dataclass(frozen=True)
class Isolation:
    """What walls a run's child had; all three make a run official."""

    namespaces: bool  # bubblewrap: own PID, mount, network and IPC namespaces, read-only code
    separate_user: bool  # the child ran as SANDBOX_USER, not as the harness's user
    cgroup: bool  # memory and process limits for the child's whole process tree

    @property
    def official(self) -> bool:
        return self.namespaces and self.separate_user and self.cgroup

    def missing(self) -> list[str]:
        """Why a run under this isolation cannot be official, with the fix."""
        reasons = []
        if not self.namespaces:
            reasons.append("no namespaces: bubblewrap is not installed (apt-get install bubblewrap)")
        if not self.separate_user:
            reasons.append(f"the child ran as the harness's user: run as root after `disbench sandbox setup` (creates user {SANDBOX_USER!r})")
        if not self.cgroup:
            reasons.append("no cgroup limits for the child's process tree: run as root on a machine with the memory and pids cgroup controllers")
        return reasons


def isolation() -> Isolation:
    """The walls this machine gives a child now."""
    bwrap = shutil.which("bwrap") is not None
    root = os.geteuid() == 0
    return Isolation(namespaces=bwrap, separate_user=bwrap and root and sandbox_user() is not None, cgroup=bwrap and root and cgroup_version() is not None)


def sandbox_user() -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(SANDBOX_USER)
    except KeyError:
        return None


def setup() -> list[str]:
    """Create :data:`SANDBOX_USER` (as root) and report what this machine gives; ``disbench sandbox setup``."""
    lines = []
    if os.geteuid() != 0:
        raise SandboxError(f"`disbench sandbox setup` creates the system user {SANDBOX_USER!r}, so it must run as root (sudo disbench sandbox setup).")
    if sandbox_user() is None:
        done = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SANDBOX_USER], capture_output=True, text=True)
        if done.returncode != 0:
            raise SandboxError(f"useradd {SANDBOX_USER} failed: {done.stderr.strip()}")
        lines.append(f"created the system user {SANDBOX_USER!r}")
    else:
        lines.append(f"the system user {SANDBOX_USER!r} exists")
    now = isolation()
    lines += [f"missing: {reason}" for reason in now.missing()] or ["isolation: namespaces, separate user, cgroup limits: runs are official"]
    return lines


def cgroup_version() -> int | None:
    """2 for a unified hierarchy with the memory and pids controllers, 1 for v1's memory and pids
    hierarchies, ``None`` when neither is writable here."""
    controllers = CGROUP_ROOT / "cgroup.controllers"
    if controllers.is_file() and {"memory", "pids"} <= set(controllers.read_text().split()) and os.access(CGROUP_ROOT, os.W_OK):
        return 2
    if all(os.access(CGROUP_ROOT / c, os.W_OK) for c in ("memory", "pids")):
        return 1
    return None


class Cgroup:
    """A memory and process limit for one child's whole tree (created by the root harness)."""

    def __init__(self, name: str, memory_bytes: int | None, max_processes: int) -> None:
        self.version = cgroup_version()
        if self.version is None:
            raise SandboxError("No writable cgroup hierarchy with the memory and pids controllers.")
        if self.version == 2:
            self.dirs = [CGROUP_ROOT / name]
        else:
            self.dirs = [CGROUP_ROOT / "memory" / name, CGROUP_ROOT / "pids" / name]
        for d in self.dirs:
            d.mkdir(exist_ok=True)
        memory, pids = (self.dirs[0], self.dirs[0]) if self.version == 2 else self.dirs
        if memory_bytes:
            if self.version == 2:
                (memory / "memory.max").write_text(str(memory_bytes))
                (memory / "memory.swap.max").write_text("0")
            else:
                (memory / "memory.limit_in_bytes").write_text(str(memory_bytes))
        (pids / "pids.max").write_text(str(max_processes))
        self.memory, self.pids = memory, pids

    def join(self) -> None:
        """Put the calling process (and so everything it starts) into the group."""
        for d in dict.fromkeys((self.memory, self.pids)):
            (d / "cgroup.procs").write_text(str(os.getpid()))

    def out_of_memory(self) -> bool:
        """Whether the kernel killed a process of the group for memory."""
        try:
            if self.version == 2:
                events = dict(line.split() for line in (self.memory / "memory.events").read_text().splitlines())
                return int(events.get("oom_kill", 0)) > 0
            return int((self.memory / "memory.failcnt").read_text()) > 0
        except (OSError, ValueError):
            return False

    def kill(self) -> None:
        """SIGKILL every process still in the group."""
        for d in dict.fromkeys((self.memory, self.pids)):
            try:
                pids = (d / "cgroup.procs").read_text().split()
            except OSError:
                continue
            for pid in pids:
                try:
                    os.kill(int(pid), 9)
                except (ProcessLookupError, ValueError):
                    pass

    def remove(self) -> None:
        self.kill()
        for d in self.dirs:
            try:
                d.rmdir()
            except OSError:
                pass


HIDDEN = Path(__file__).resolve().parents[2] / "data"  # disbench.data, which a child may neither import nor read


def readable_roots() -> list[Path]:
    """What the child may read: the interpreter and its libraries, site-packages, disbench itself."""
    package = Path(__file__).resolve().parents[2]
    paths = [Path(sys.base_prefix), Path(sys.prefix), Path(sys.executable).resolve().parent, package]
    paths += [Path(p) for p in site.getsitepackages()]
    out: list[Path] = []
    for p in sorted({p.resolve() for p in paths if p.exists()}, key=lambda p: len(p.parts)):
        if p != Path("/") and not str(p).startswith("/usr/") and not any(p.is_relative_to(o) for o in out):
            out.append(p)
    return out


def bwrap_command(argv: list[str], submission: Path, scratch: Path, device: str, drop_to: pwd.struct_passwd | None) -> list[str]:
    """``argv`` wrapped in bubblewrap: namespaces, read-only code, the submission read-only, one
    writable ``scratch``; as ``drop_to``'s user when given (bubblewrap runs as root and
    ``setpriv`` drops every privilege before Python starts)."""
    cmd = ["bwrap", "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
           "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        link = Path("/") / name
        if link.is_symlink():
            cmd += ["--symlink", os.readlink(link), str(link)]
        elif link.is_dir():
            cmd += ["--ro-bind", str(link), str(link)]
    binds = [(p, "--ro-bind") for p in readable_roots()] + [(submission.resolve(), "--ro-bind"), (scratch.resolve(), "--bind")]
    parents = sorted({a for p, _ in binds for a in p.parents if a != Path("/")}, key=lambda p: len(p.parts))
    for parent in parents:  # fresh, traversable directories above each bind (the real ones may be 0700, like /root)
        cmd += ["--perms", "0755", "--dir", str(parent)]
    for path, how in binds:
        cmd += [how, str(path), str(path)]
    cmd += ["--tmpfs", str(HIDDEN)]  # an empty folder over the data code: the renderers are the harness's alone
    if device.startswith("cuda"):
        cmd += ["--ro-bind", "/sys", "/sys"]
        for node in sorted(Path("/dev").glob("nvidia*")):
            cmd += ["--dev-bind", str(node), str(node)]
    cmd += ["--chdir", str(scratch.resolve())]
    if drop_to is not None:
        cmd += ["--cap-add", "CAP_SETUID,CAP_SETGID", "--", "setpriv", f"--reuid={drop_to.pw_uid}", f"--regid={drop_to.pw_gid}", "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
    return cmd + ["--", *argv]
