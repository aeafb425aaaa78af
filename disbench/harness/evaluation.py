"""Scoring a trained method: the encode function the metrics call, the representation's
contract checked before training, and re-scoring a checkpoint (``disbench eval``)."""

from __future__ import annotations

from pathlib import Path

import torch

import disbench
from disbench.error import SubmissionError
from disbench.harness.checkpoint import load_checkpoint
from disbench.methods.base import Method, TaskInfo
from disbench.protocol import Protocol
from disbench.task import EncodeFn, Task

CHANNELS_LAST = torch.channels_last


def encoder_of(method: Method) -> EncodeFn:
    """The encode function the metrics call (channels-last inputs; callers set eval mode)."""

    def encode(x: torch.Tensor) -> torch.Tensor:
        return method.encode(x.contiguous(memory_format=CHANNELS_LAST))

    return encode


def evaluate_method(task: Task, method: Method, protocol: Protocol, seed: int, progress: bool = False) -> dict[str, float]:
    """The protocol's metric suite on the method's representation (eval mode)."""
    method.eval()
    return task.evaluate(encoder_of(method), seed=seed, protocol=protocol, progress=progress)


def check_representation(task: Task, method: Method, protocol: Protocol) -> int:
    """Encode two observations before any training: the codes must be finite floating-point
    ``[N, D]`` with ``D`` within the protocol's latent size. Returns ``D``."""
    method.eval()
    with torch.inference_mode():
        x = task.sample(2, torch.Generator().manual_seed(0)).x
        z = encoder_of(method)(x.to(next(method.parameters()).device))
    method.train()
    if not isinstance(z, torch.Tensor) or z.ndim != 2 or z.shape[0] != 2:
        raise SubmissionError(f"encode(x) must return a tensor [N, D]; for N = 2 it returned {tuple(getattr(z, 'shape', ())) or type(z).__name__}.")
    if not z.dtype.is_floating_point:
        raise SubmissionError(f"encode(x) returned {z.dtype} codes; the metrics need floating-point codes (e.g. return z.float()).")
    if not bool(torch.isfinite(z).all()):
        raise SubmissionError("encode(x) returned NaN or inf for freshly initialised weights; check the model's initialisation.")
    if z.shape[1] > protocol.latent_dim:
        raise SubmissionError(f"The representation has {z.shape[1]} dimensions; protocol {protocol.name!r} allows at most {protocol.latent_dim}.")
    return int(z.shape[1])


def evaluate_checkpoint(checkpoint: str | Path, protocol: str = "standard", seed: int = 0, task_id: str | None = None) -> dict[str, float]:
    """Rebuild a submission's model from a run checkpoint and score it with a tier's metric suite."""
    from disbench.harness.submission import Submission

    path = Path(checkpoint)
    if not path.is_file():
        raise SubmissionError(f"No checkpoint at {path}; a run writes it to runs/<task>/<submission>/<tier>/seed-<n>/checkpoint.pt.")
    state = load_checkpoint(path)
    folder = state.get("submission_path")
    if not folder:
        raise SubmissionError(f"{path} was not made from a submission folder; evaluate it from Python with task.evaluate.")
    task = disbench.make(task_id or state["task_spec"]["id"])
    tier = task.get_protocol(protocol)
    method = Submission(folder).build(TaskInfo.from_task(task, tier.name), **state["hyperparameters"])
    method.load_state_dict(state["model"])
    method.to(memory_format=CHANNELS_LAST)
    return evaluate_method(task, method, tier, seed)
