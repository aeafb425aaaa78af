"""Scoring a learner: the representation's contract checked before training, the metric suite
after it, and re-scoring a run's checkpoint (``disbench eval``). Metrics are computed here, in the
harness, from the codes the learner returns."""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import torch

import disbench
from disbench.error import SubmissionError
from disbench.protocol import Protocol
from disbench.task import Task


def check_representation(task: Task, learner: Any, protocol: Protocol) -> int:
    """Encode two observations before any training: the codes must be finite floating-point
    ``[N, D]`` with ``D`` within the protocol's latent size. Returns ``D``."""
    x = task.sample(2, torch.Generator().manual_seed(0), device="cpu").x
    z = learner.encode(x)
    if not isinstance(z, torch.Tensor) or z.ndim != 2 or z.shape[0] != 2:
        raise SubmissionError(f"encode(x) must return a tensor [N, D]; for N = 2 it returned {tuple(getattr(z, 'shape', ())) or type(z).__name__}.")
    if not z.dtype.is_floating_point:
        raise SubmissionError(f"encode(x) returned {str(z.dtype).removeprefix('torch.')} codes; the metrics need floating-point codes (e.g. return z.float()).")
    if not bool(torch.isfinite(z).all()):
        raise SubmissionError("encode(x) returned NaN or inf for freshly initialised weights; check the model's initialisation.")
    if z.shape[1] > protocol.latent_dim:
        raise SubmissionError(f"The representation has {z.shape[1]} dimensions; protocol {protocol.name!r} allows at most {protocol.latent_dim}.")
    return int(z.shape[1])


def finite_codes(learner: Any) -> Any:
    """``learner.encode``, refusing NaN or inf codes with the submission's error (a metric given
    them would fail somewhere deep, or score noise)."""

    def encode(x: torch.Tensor) -> torch.Tensor:
        z = learner.encode(x)
        if not bool(torch.isfinite(z).all()):
            raise SubmissionError(f"encode(x) returned NaN or inf codes ({int((~torch.isfinite(z)).sum())} of {z.numel()} values); "
                                  "the model has diverged or divides by zero.")
        return z

    return encode


def evaluate_learner(task: Task, learner: Any, protocol: Protocol, seed: int, progress: bool = False) -> dict[str, float]:
    """The protocol's metric suite on the learner's representation."""
    return task.evaluate(finite_codes(learner), seed=seed, protocol=protocol, progress=progress)


def evaluate_curve(task: Task, learner: Any, protocol: Protocol, seed: int, step: int, metrics: list[str]) -> dict[str, float]:
    """One point of the protocol's curve: ``metrics`` with the curve suite's sample counts, from
    samples drawn for this seed and step (so a resumed run scores exactly what it would have)."""
    from disbench.metrics import evaluate
    from disbench.metrics.utils import derive_seed

    return evaluate(task, finite_codes(learner), suite=protocol.curve_suite, seed=derive_seed(seed, f"curve-step-{step}"), metrics=metrics)


def load_run_state(checkpoint: str | Path) -> dict[str, Any]:
    """A run's ``checkpoint.pt`` (written by the harness; loaded without unpickling code)."""
    path = Path(checkpoint)
    if path.is_dir() and (path / "checkpoint.pt").is_file():
        raise SubmissionError(f"{path} is a run folder; pass its checkpoint: {path / 'checkpoint.pt'}.")
    if path.suffix == ".json" and path.is_file():
        raise SubmissionError(f"{path} is a record, not a checkpoint: `disbench verify {path}` checks a record; eval scores a run's checkpoint.pt.")
    if not path.is_file():
        raise SubmissionError(f"No checkpoint at {path}; a run writes it to runs/<task>/<submission>/<tier>/seed-<n>/checkpoint.pt.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:  # torch's own message advises weights_only=False: running the file's code, never safe here
        found = next(iter(re.findall(r"GLOBAL [\w.]+", str(e))), None)  # what the file asked for, not torch's advice
        raise SubmissionError(f"{path} is not a disbench run checkpoint: it is not a torch file of tensors and plain values "
                              f"({'it asks to load ' + found if found else 'it does not unpickle as one'}; checkpoints are loaded with weights_only=True, so no code in a "
                              "file ever runs); give a run folder's checkpoint.pt.") from None
    except Exception as e:  # noqa: BLE001 - any unreadable file is the same user error
        raise SubmissionError(f"{path} is not a disbench run checkpoint ({type(e).__name__}: {(str(e).splitlines() or [''])[0][:200]}).") from None
    if not isinstance(state, dict) or "step" not in state:
        raise SubmissionError(f"{path} is a torch file but not a disbench run checkpoint (those are a run folder's checkpoint.pt).")
    return state


def evaluate_checkpoint(checkpoint: str | Path, protocol: str = "standard", seed: int = 0, task_id: str | None = None, device: str = "cpu") -> dict[str, float]:
    """Rebuild a submission's model from a run checkpoint, in a child process, and score it with a
    tier's metric suite, on the task variant (seal) the checkpoint was trained on."""
    from disbench.harness.child.remote import RemoteLearner
    from disbench.harness.run.seal import Seal, sealed

    path = Path(checkpoint)
    state = load_run_state(path)
    if not state.get("submission_path") or not state.get("model_file"):
        raise SubmissionError(f"{path} was not made from a submission folder; evaluate it from Python with task.evaluate.")
    task = disbench.make(task_id or state["task_spec"]["id"])
    if state.get("seal"):  # the variant it was trained on
        task = sealed(task, Seal.from_dict(state["seal"]))
    tier = task.get_protocol(protocol)
    with RemoteLearner(state["submission_path"], task, tier, state["seed"], state["hyperparameters"], device=device) as learner:
        learner.load(path.parent / state["model_file"])
        return evaluate_learner(task, learner, tier, seed)
