"""The harness's side of the process boundary: a learner whose submission runs in a child process.

:class:`RemoteLearner` has the interface of :class:`~disbench.harness.child.learner.Learner`, but the
submission's code (its import, ``build``, ``loss``, ``encode``, ``decode``) runs only in
``python -m disbench.harness.child``, started with

* the operating system's walls of ``sandbox.py`` where this machine has them (namespaces, a
  read-only view of the code, no network, a separate user, cgroup limits for its whole tree), and
  Python's own switches off: no bytecode written, no user site-packages;
* a scrubbed environment: an allowlist of harmless variables, never a token, key or credential
  (``HF_*``, ``DISBENCH_RUNNER_KEY``, ``*_TOKEN`` ...);
* a scratch working directory, the only place it can write, removed afterwards: it saves models
  there and the harness moves them into the run folder (and copies them back in to load), never
  following what the child left under a name (``scratch.py``);
* resource limits: memory (the cgroup; address space too on CPU runs), the size of any file it
  writes (its log included), open files, and a timeout on every request, so a model that hangs,
  leaks or explodes ends the run with a recorded reason.

The harness process makes itself non-dumpable first, so a same-user child cannot read its memory
through ``/proc`` or ptrace. Batches go through shared memory with two slots: on a GPU the harness
renders batch ``s + 1`` while the child trains on batch ``s``; on a CPU it waits for each step, as
the two processes would otherwise compete for the same cores. ``pack_remote.RemotePack`` is the
same process for several seeds trained together (``--pack``).
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

import disbench
from disbench.error import SubmissionError
from disbench.harness.child.channel import Channel, ChannelClosed, ChannelTimeout, SharedTensor
from disbench.harness.child.sandbox import Cgroup, bwrap_command, isolation, sandbox_user
from disbench.harness.child.scratch import Scratch
from disbench.methods.base import TaskInfo
from disbench.protocol import Protocol
from disbench.supervision import TRACKS
from disbench.task import Task

EVAL_ROWS = 256
TRAVERSAL_STEPS = 9
SAFE_ENV = {
    "PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "LD_LIBRARY_PATH", "PYTHONHASHSEED", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "CUDA_VISIBLE_DEVICES", "CUDA_HOME", "NVIDIA_VISIBLE_DEVICES",
    "PYTORCH_CUDA_ALLOC_CONF", "CUBLAS_WORKSPACE_CONFIG",
}
SECRET = re.compile(r"TOKEN|KEY|SECRET|PASSW|CREDENTIAL|AUTH", re.IGNORECASE)
PR_SET_DUMPABLE = 4


@dataclass(frozen=True)
class Limits:
    """What a submission's process may use; crossing a limit ends the run with that reason."""

    memory_bytes: int | None = 16 << 30  # the cgroup's memory, and the address space on CPU runs (CUDA maps far more than it uses)
    file_bytes: int = 2 << 30  # any one file the child writes (its model file, its log): RLIMIT_FSIZE, checked again on copy
    open_files: int = 1024
    startup_timeout_s: float = 300.0  # import + build
    request_timeout_s: float = 600.0  # any one step, save, load or encoding chunk
    wall_time_s: float = 72 * 3600.0  # the child's whole life (a standard run on a CPU takes about 7 h)
    max_processes: int = 512  # processes and threads of the child's whole tree (cgroup isolation only)


def make_non_dumpable() -> bool:
    """``prctl(PR_SET_DUMPABLE, 0)``: no core dumps, and no ``/proc/<pid>/mem`` or ptrace by same-user processes."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def child_environment(home: Path) -> dict[str, str]:
    """The allowlisted variables, minus anything that looks like a secret, plus a scratch HOME and
    the path to this very disbench (the child must run the harness's code, not another copy)."""
    env = {k: v for k, v in os.environ.items() if k in SAFE_ENV and not SECRET.search(k)}
    package_root = str(Path(disbench.__file__).resolve().parents[1])
    env.update(HOME=str(home), TMPDIR=str(home), PYTHONPATH=package_root, PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
    return env


class RemoteLearner:
    """A submission's learner in its own process; ``close()`` (or ``with``) ends it."""

    def __init__(self, submission_path: str | Path, task: Task, protocol: Protocol, seed: int, hyperparameters: dict[str, Any],
                 device: torch.device | str = "cpu", limits: Limits | None = None, log_path: str | Path | None = None) -> None:
        ready = self._launch(submission_path, task, protocol, hyperparameters, device, limits, log_path, 2 * protocol.batch_size, seed=seed)
        self._info = self._checked_info(ready.get("info"))
        self.overridden_defaults = [str(line) for line in ready.get("overridden", [])]
        self.unknown_hyperparameters = [str(line) for line in ready.get("unknown", [])][:20]

    def _launch(self, submission_path: str | Path, task: Task, protocol: Protocol, hyperparameters: dict[str, Any], device: torch.device | str,
                limits: Limits | None, log_path: str | Path | None, batch_rows: int, **seeding: Any) -> dict[str, Any]:
        """Start the child with a shared batch buffer of ``batch_rows`` rows per slot, send it the
        submission and ``seeding`` (``seed``, or a pack's ``seeds``), and return its ``ready`` message."""
        make_non_dumpable()
        self.limits, self.device = limits or Limits(), torch.device(device)
        limits = self.limits
        self.latent_dim = protocol.latent_dim
        rows = max(batch_rows, EVAL_ROWS, protocol.latent_dim * TRAVERSAL_STEPS)
        self._deadline = time.monotonic() + self.limits.wall_time_s
        self._obs = SharedTensor.create((2, rows, *task.data.obs_shape), "disbench-observations")
        self._codes = SharedTensor.create((EVAL_ROWS, protocol.latent_dim), "disbench-codes")
        self._scratch = Path(tempfile.mkdtemp(prefix="disbench-child-"))
        self._files = Scratch(self._scratch, limits.file_bytes)
        self.log_path = Path(log_path) if log_path else self._scratch / "child.log"
        # Opened before the child starts and read through this descriptor only: the child may
        # replace the name (in its scratch folder) with a link to a file it wants printed.
        self._log = os.open(self.log_path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        to_child, from_child = os.pipe(), os.pipe()
        child_fds = (to_child[0], from_child[1], self._obs.fd, self._codes.fd)
        argv = [sys.executable, "-B", "-s", "-m", "disbench.harness.child", str(to_child[0]), str(from_child[1])]
        argv, join = self._walls(argv, Path(submission_path), limits)
        self.process = subprocess.Popen(
            argv, pass_fds=child_fds, env=child_environment(self._scratch), cwd=self._scratch, preexec_fn=join,
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        os.close(to_child[0])
        os.close(from_child[1])
        self.channel = Channel(from_child[0], to_child[1])
        # On a GPU the harness renders batch s + 1 while the child trains on s (two slots in flight);
        # on a CPU the two would fight over the same cores (measured: +13 % per step on 2 cores),
        # so there the harness waits for each step before rendering the next.
        self._pending, self._slot, self._in_flight = 0, 0, 2 if self.device.type == "cuda" else 1
        self._harness_threads: int | None = None
        try:
            self.channel.send(
                "init", submission_path=str(Path(submission_path).resolve()), task_info=asdict(TaskInfo.from_task(task, protocol)),
                hyperparameters=hyperparameters, loss=task.loss.name, lr=protocol.lr, device=str(self.device),
                limits={"memory_bytes": limits.memory_bytes if self.device.type == "cpu" else None, "open_files": limits.open_files,
                        "file_bytes": limits.file_bytes},
                observations=self._obs.spec(), codes=self._codes.spec(), **seeding,
            )
            return self._expect("ready", limits.startup_timeout_s, "importing and building the model")
        except BaseException:
            self.close()
            raise

    def _walls(self, argv: list[str], submission: Path, limits: Limits) -> tuple[list[str], Any]:
        """``argv`` inside the walls this machine gives (``self.isolation`` records which), and the
        function that puts the new process into its cgroup before it starts anything."""
        self.isolation, self._cgroup = isolation(), None
        if not self.isolation.namespaces:
            return argv, None
        user = sandbox_user() if self.isolation.separate_user else None
        if user is not None:
            os.chown(self._scratch, user.pw_uid, user.pw_gid)
        if self.isolation.cgroup:
            self._cgroup = Cgroup(self._scratch.name, limits.memory_bytes, limits.max_processes)
        return bwrap_command(argv, submission, self._scratch, str(self.device), user), self._cgroup.join if self._cgroup else None

    # --- the learner interface ---------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        return dict(self._info)

    def step(self, x: torch.Tensor) -> None:
        """Hand over one batch; return once at most ``_in_flight - 1`` steps are still running."""
        self._hand_over([x])

    def _hand_over(self, batches: list[torch.Tensor], **payload: Any) -> None:
        """Write ``batches`` one after another into the free slot and ask for a step on them."""
        if self.device.type == "cpu" and self._harness_threads is None:
            # While a CPU child trains, the harness only renders batches; its thread pool would wake
            # for each one and then spin, taking cores from the child. Encoding restores it.
            self._harness_threads = torch.get_num_threads()
            torch.set_num_threads(1)
        n = batches[0].shape[0]
        for j, x in enumerate(batches):
            self._obs.tensor[self._slot, j * n : (j + 1) * n] = x
        self.channel.send("step", slot=self._slot, n=n, **payload)
        self._pending += 1
        self._slot ^= 1
        if self._pending == self._in_flight:
            self._expect("stepped", self.limits.request_timeout_s, "taking a training step")
            self._pending -= 1

    def end_window(self) -> tuple[dict[str, float], int | None]:
        self._drain()
        self.channel.send("end_window")
        return checked_window(self._expect("window", self.limits.request_timeout_s, "reporting losses"))

    def save(self, path: str | Path, **member: int) -> None:
        """The child saves into its scratch folder; the harness moves the file to ``path`` (which
        the child cannot see)."""
        self._files.discard("save.pt")
        self._request("save", "saving the model", path=str(self._scratch / "save.pt"), **member)
        self._files.take("save.pt", path)

    def load(self, path: str | Path, **member: int) -> None:
        inside = self._files.give(path, "load.pt")  # readable by the sandbox's user: the scratch folder is its own
        try:
            self._request("load", "loading the model", path=str(inside), **member)
        finally:
            self._files.discard("load.pt")

    def encode(self, x: torch.Tensor, **member: int) -> torch.Tensor:
        """Codes of ``x`` in chunks that fit the shared buffer; checked before they are used.
        (``member=k``: the codes of a pack's member ``k``; likewise for ``traverse``, ``save``, ``load``.)"""
        self._drain()
        self._restore_threads()
        parts = []
        for start in range(0, x.shape[0], EVAL_ROWS):
            chunk = x[start : start + EVAL_ROWS]
            self._obs.tensor[0, : chunk.shape[0]] = chunk
            reply = self._request("encode", "encoding observations", n=chunk.shape[0], **member)
            shape, dtype = reply.get("shape"), str(reply.get("dtype"))[:40]
            if not reply.get("written") or not (isinstance(shape, list) and len(shape) == 2 and all(type(d) is int for d in shape)
                                                and shape[0] == chunk.shape[0] and 0 < shape[1] <= self.latent_dim):
                raise SubmissionError(f"encode(x) must return a tensor [N, D] with D <= {self.latent_dim}; for N = {chunk.shape[0]} it returned {dtype} {str(shape)[:80]}.")
            if not dtype.startswith("torch.float") and not dtype.startswith("torch.bfloat"):
                raise SubmissionError(f"encode(x) returned {dtype.removeprefix('torch.')} codes; the metrics need floating-point codes (e.g. return z.float()).")
            parts.append(self._codes.tensor[: chunk.shape[0], : shape[1]].clone())
        return torch.cat(parts)

    def traverse(self, x: torch.Tensor, steps: int = TRAVERSAL_STEPS, limit: float = 2.5, **member: int) -> torch.Tensor:
        self._drain()
        self._obs.tensor[0, :1] = x[:1]
        reply = self._request("traverse", "drawing latent traversals", steps=steps, limit=limit, **member)
        n = reply.get("n")
        if not (type(n) is int and 0 < n <= self._obs.tensor.shape[1]):
            raise SubmissionError(f"decode(z) returned {str(reply.get('shape'))[:80]}; expected [{steps} x D, *observation shape].")
        return self._obs.tensor[1, :n].clone()

    def check(self, x: torch.Tensor) -> list[tuple[str, bool, str]]:
        """The method contract (``disbench.harness.child.contract``), run in the child on ``x``."""
        self._drain()
        self._obs.tensor[0, : x.shape[0]] = x
        reply = self._request("check", "checking the method contract", n=x.shape[0], latent_dim=self.latent_dim)
        return [(str(name), bool(ok), str(detail)) for name, ok, detail in reply.get("checks", [])]

    def close(self) -> None:
        """Ask the child to exit, and make sure it does; release the shared memory and scratch folder."""
        if getattr(self, "process", None) is not None and self.process.poll() is None:
            try:
                self._drain()
                self.channel.send("close")
                self.channel.recv(timeout=30)
                self.process.wait(timeout=30)
            except Exception:  # noqa: BLE001 - whatever state it is in, it ends here
                pass
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if getattr(self, "_cgroup", None) is not None:
            self._cgroup.remove()  # anything the child left running dies here
        if getattr(self, "channel", None) is not None:
            self.channel.close()
        self._obs.close()
        self._codes.close()
        self._files.close()
        try:
            os.close(self._log)
        except OSError:
            pass
        shutil.rmtree(self._scratch, ignore_errors=True)
        self._restore_threads()

    def __enter__(self) -> RemoteLearner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing -----------------------------------------------------------------------------

    def _restore_threads(self) -> None:
        if getattr(self, "_harness_threads", None) is not None:
            torch.set_num_threads(self._harness_threads)
            self._harness_threads = None

    def _drain(self) -> None:
        while self._pending:
            self._expect("stepped", self.limits.request_timeout_s, "taking a training step")
            self._pending -= 1

    def _request(self, kind: str, what: str, **payload: Any) -> dict[str, Any]:
        self._drain()
        self.channel.send(kind, **payload)
        replies = {"save": "saved", "load": "loaded", "encode": "codes", "traverse": "traversed", "check": "checked", "drop": "dropped"}
        return self._expect(replies[kind], self.limits.request_timeout_s, what)

    def _expect(self, kind: str, timeout: float, what: str) -> dict[str, Any]:
        left = self._deadline - time.monotonic()
        try:
            message = self.channel.recv(min(timeout, max(left, 0.0)))
        except ChannelTimeout:
            self._kill()
            if left < timeout:
                raise SubmissionError(f"The submission used up its wall-time limit of {self.limits.wall_time_s:.0f} s while {what} and was stopped.") from None
            raise SubmissionError(f"The submission did not finish {what} within {timeout:.0f} s and was stopped (a hang, or far too slow).") from None
        except (ChannelClosed, OSError) as e:
            raise SubmissionError(f"The submission process ended while {what} ({self._exit_reason()}; {e}).{self._log_tail()}") from None
        if message["kind"] == "error":
            self.process.wait(timeout=30)
            reason = f"{message.get('type')}: {message.get('message')}"
            if message.get("memory"):
                reason += f" (it went over its memory limit of {self.limits.memory_bytes / 2**30:.0f} GiB)"
            raise SubmissionError(f"The submission failed while {what}: {reason}{submission_frames(message.get('trace'))}") from None
        if message["kind"] != kind:
            self._kill()
            raise SubmissionError(f"The submission process answered {message['kind']!r} while {what}; expected {kind!r}.")
        return message

    def _kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def _exit_reason(self) -> str:
        try:
            code = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._kill()
            return "it stopped answering"
        if getattr(self, "_cgroup", None) is not None and self._cgroup.out_of_memory():
            return f"killed for going over its memory limit of {self.limits.memory_bytes / 2**30:.0f} GiB"
        if code < 0:
            name = signal.Signals(-code).name
            if name == "SIGXFSZ":
                return f"killed for writing a file over its limit of {self.limits.file_bytes / 2**30:.0f} GiB"
            return f"killed by {name}" + (" (out of memory?)" if name == "SIGKILL" else "")
        return f"exit code {code}"

    def _log_tail(self, lines: int = 8) -> str:
        try:
            size = os.fstat(self._log).st_size
            tail = os.pread(self._log, 4096, max(0, size - 4096)).decode(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return ("\nLast lines of its output:\n  " + "\n  ".join(tail)) if tail else ""

    def _checked_info(self, info: Any) -> dict[str, Any]:
        if (not isinstance(info, dict) or info.get("supervision") not in TRACKS or not isinstance(info.get("can_decode"), bool)
                or not isinstance(info.get("num_parameters"), int) or not isinstance(info.get("optimizer_overridden"), bool)):
            self.close()
            raise SubmissionError(f"The submission process described its model incorrectly: {info!r:.200}")
        return info


def submission_frames(trace: Any, lines: int = 12) -> str:
    """Where the child's exception was raised: the last frames of the traceback it sent (the
    indented lines; the exception itself is in the message already), printable characters only."""
    frames = [line for line in trace.splitlines() if line.startswith(" ")] if isinstance(trace, str) else []
    kept = ["".join(c for c in line if c.isprintable()).rstrip() for line in frames[-lines:]]
    return "\nWhere (the last frames of its traceback):\n" + "\n".join(kept) if kept else ""


def checked_window(reply: dict[str, Any]) -> tuple[dict[str, float], int | None]:
    """A ``window`` report (``means``, ``nonfinite``) checked: the harness trusts no shape it did not check."""
    means, bad = reply.get("means"), reply.get("nonfinite")
    if not isinstance(means, dict) or not all(isinstance(k, str) and (v is None or isinstance(v, (int, float))) for k, v in means.items()):
        raise SubmissionError("The submission process sent malformed loss values.")
    if "loss" not in means:
        raise SubmissionError("The submission process sent loss values without the total 'loss'.")
    if bad is not None and (not isinstance(bad, int) or isinstance(bad, bool)):
        raise SubmissionError("The submission process sent a malformed step index.")
    return {k: float("nan") if v is None else float(v) for k, v in means.items()}, bad
