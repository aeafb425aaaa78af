"""The submission's side of the process boundary, run as ``python -m disbench.harness.child``.

Started by :class:`disbench.harness.child.remote.RemoteLearner` with a scrubbed environment, a scratch
working directory and two pipes; it applies its resource limits, imports the submission, builds
its model under the seed, and then serves the harness's requests (``step``, ``end_window``,
``save``, ``load``, ``encode``, ``traverse``, ``check``, ``close``) until told to close. Any
exception is reported as an ``error`` message and ends the process.

With ``seeds`` in its first message the child trains a pack instead (``disbench.harness.pack``):
one model per seed, stepped together; requests about one model name it (``member``), and
``drop`` stops the models whose loss became non-finite.

Only observations ever arrive here: the harness keeps the factors, the metrics and the records.
"""

from __future__ import annotations

import resource
import sys
import traceback
from typing import Any

import torch

from disbench.harness.child.allocator import tune_allocator
from disbench.harness.child.channel import Channel, SharedTensor
from disbench.harness.child.contract import check_learner
from disbench.harness.child.learner import Learner
from disbench.harness.pack import PackedLearner
from disbench.harness.pack.noise import Unpackable
from disbench.harness.submission import Submission
from disbench.losses import make_loss
from disbench.methods.base import TaskInfo
from disbench.supervision import WEAK_PAIRS


def apply_limits(limits: dict[str, Any]) -> None:
    """Memory (address space, CPU runs only: CUDA maps far more than it uses), the size of any file
    written (a larger write kills the process with SIGXFSZ) and open files; hard limits, so the
    submission cannot raise them again."""
    if limits.get("file_bytes"):
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_bytes"], limits["file_bytes"]))
    if limits.get("memory_bytes"):
        resource.setrlimit(resource.RLIMIT_AS, (limits["memory_bytes"], limits["memory_bytes"]))
    if limits.get("open_files"):
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits["open_files"], limits["open_files"]))


def build_learner(init: dict[str, Any]) -> Learner:
    """The submission's model, initialised from the seed, as a learner on the requested device."""
    submission = Submission(init["submission_path"])
    torch.manual_seed(init["seed"])
    method = submission.build(TaskInfo.from_dict(init["task_info"]), **init["hyperparameters"])
    learner = Learner(method, make_loss(init["loss"]).to(init["device"]), init["lr"], init["device"])
    torch.manual_seed(init["seed"])  # training noise starts from the seed, as in an in-process run
    return learner


def build_pack(init: dict[str, Any]) -> PackedLearner:
    """One model per seed, each built as its solo run builds it, packed; ``Unpackable`` if the
    method cannot be packed (found by a probe on a stand-in batch, before any training)."""
    submission, task_info = Submission(init["submission_path"]), TaskInfo.from_dict(init["task_info"])
    methods = []
    for seed in init["seeds"]:
        torch.manual_seed(seed)
        methods.append(submission.build(task_info, **init["hyperparameters"]))
    pack = PackedLearner(methods, init["seeds"], make_loss(init["loss"]).to(init["device"]), init["lr"], init["device"])
    rows = init["batch_size"] * (2 if pack.info()["supervision"] == WEAK_PAIRS else 1)
    pack.probe(torch.zeros(rows, *task_info.obs_shape))
    return pack


def _finite(means: dict[str, float]) -> dict[str, float | None]:
    return {k: v if v == v and abs(v) != float("inf") else None for k, v in means.items()}


def serve(channel: Channel, init: dict[str, Any]) -> None:
    obs = SharedTensor(init["observations"]["fd"], tuple(init["observations"]["shape"])).tensor
    out = SharedTensor(init["codes"]["fd"], tuple(init["codes"]["shape"])).tensor
    packed = "seeds" in init
    try:
        learner = build_pack(init) if packed else build_learner(init)
    except Unpackable as e:
        channel.send("ready", unpackable=str(e))
        return
    submission = Submission(init["submission_path"])
    channel.send("ready", info=learner.info(), overridden=submission.overridden_defaults(init["task_info"]["id"]),
                 unknown=submission.unknown_hyperparameters())
    while True:
        request = channel.recv()
        kind = request["kind"]
        target = learner.member(request["member"]) if "member" in request else learner
        if kind == "step" and packed:  # member j's batch is rows [j n, (j + 1) n) of the slot
            if request["members"] != learner.members:
                raise ValueError(f"a step for members {request['members']}; the pack trains {learner.members}")
            k, n = len(learner.members), request["n"]
            learner.step(obs[request["slot"], : k * n].view(k, n, *obs.shape[2:]))
            channel.send("stepped")
        elif kind == "step":
            learner.step(obs[request["slot"], : request["n"]])
            channel.send("stepped")
        elif kind == "end_window" and packed:
            channel.send("window", members=[{"means": _finite(means), "nonfinite": bad} for means, bad in learner.end_window()])
        elif kind == "end_window":
            means, bad = learner.end_window()
            channel.send("window", means=_finite(means), nonfinite=bad)
        elif kind == "drop" and packed:
            learner.drop(request["members"])
            channel.send("dropped")
        elif kind == "save":
            target.save(request["path"])
            channel.send("saved")
        elif kind == "load":
            target.load(request["path"])
            channel.send("loaded")
        elif kind == "encode":
            z = target.encode(obs[0, : request["n"]])
            shape = list(getattr(z, "shape", ()))
            ok = isinstance(z, torch.Tensor) and z.ndim == 2 and z.shape[0] == request["n"] and z.shape[1] <= out.shape[1]
            if ok:
                out[: z.shape[0], : z.shape[1]] = z.detach().float().cpu()
            channel.send("codes", shape=shape, dtype=str(getattr(z, "dtype", type(z).__name__)), written=ok)
        elif kind == "traverse":
            images = target.traverse(obs[0, :1], steps=request["steps"], limit=request["limit"])
            fits = images.shape[0] <= obs.shape[1] and tuple(images.shape[1:]) == tuple(obs.shape[2:])
            if fits:
                obs[1, : images.shape[0]] = images.float().cpu()
            channel.send("traversed", n=images.shape[0] if fits else 0, shape=list(images.shape))
        elif kind == "check" and not packed:
            channel.send("checked", checks=check_learner(learner, obs[0, : request["n"]], request["latent_dim"]))
        elif kind == "close":
            channel.send("closed")
            return
        else:
            raise ValueError(f"unknown request {kind!r}")


class _NoDataCode:
    """Refuses ``disbench.data`` in the child: outside the sandbox (which hides its files) too."""

    @staticmethod
    def find_spec(name: str, path: Any = None, target: Any = None) -> None:
        if name == "disbench.data" or name.startswith("disbench.data."):
            raise ImportError(f"{name} is not available to submissions: the harness renders every observation, and the child sees only what it is sent.")


def main(argv: list[str]) -> int:
    sys.meta_path.insert(0, _NoDataCode)
    channel = Channel(int(argv[0]), int(argv[1]))
    tune_allocator()  # as the harness does: batch memory is reused, not re-faulted every step
    try:
        init = channel.recv()
        apply_limits(init["limits"])
        serve(channel, init)
        return 0
    except BaseException as e:  # noqa: BLE001 - every failure of submission code is reported to the harness
        try:
            memory = isinstance(e, MemoryError) or "can't allocate memory" in str(e)
            channel.send("error", type=type(e).__name__, message=str(e)[:2000], memory=memory, trace=traceback.format_exc(limit=-8)[-4000:])
        except Exception:  # noqa: BLE001 - the harness is gone; nothing left to tell
            pass
        return 1
