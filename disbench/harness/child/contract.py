"""The method contract, checked on a fresh learner (``disbench validate``, in the child process).

A finite, differentiable ``"loss"`` whose gradients reach the parameters; ``encode`` returning
finite floating-point ``[N, D]`` codes within the latent budget, identical twice in eval mode;
``decode`` (if present) returning observations of the input's shape; at least one parameter.
Each check is ``(name, ok, detail)``: plain data, so it can cross the process boundary.
"""

from __future__ import annotations

import torch

from disbench.error import DisbenchError
from disbench.harness.child.learner import Learner
from disbench.methods.base import loss_value

Check = tuple[str, bool, str]


def _describe(e: Exception) -> str:
    return str(e) if isinstance(e, DisbenchError) else f"{type(e).__name__}: {e}"


def check_learner(learner: Learner, x: torch.Tensor, latent_dim: int) -> list[Check]:
    """Run every contract check on observations ``x`` (for pairs: N first halves, then N partners)."""
    method, checks = learner.method, []
    batch = learner.batch(x)
    inputs = batch.x0 if hasattr(batch, "x0") else batch.x
    n = inputs.shape[0]
    method.train()
    try:
        loss = loss_value(method.loss(batch, learner.recon_loss))
        ok = bool(torch.isfinite(loss))
        checks.append(("loss(batch, recon_loss)", ok, f"loss = {loss.item():.4g}" if ok else f"the loss is {loss.item()} for a fresh model; it must be finite"))
        if ok:
            loss.backward()
            grads = [p.grad for p in method.parameters() if p.grad is not None]
            ok = bool(grads) and all(bool(torch.isfinite(g).all()) for g in grads)
            checks.append(("gradients", ok, f"{len(grads)} parameter tensors receive finite gradients" if ok else "no finite gradients reach the parameters"))
            method.zero_grad(set_to_none=True)
    except Exception as e:  # noqa: BLE001 - a broken submission is a failed check, not a crash
        checks.append(("loss(batch, recon_loss)", False, _describe(e)))
    try:
        z1, z2 = learner.encode(inputs), learner.encode(inputs)
        ok = isinstance(z1, torch.Tensor) and z1.ndim == 2 and z1.shape[0] == n and z1.dtype.is_floating_point and bool(torch.isfinite(z1).all())
        checks.append(("encode(x)", ok, f"[{n}, {z1.shape[1]}] {z1.dtype}" if ok else f"must return finite floating-point [N, D]; got {getattr(z1, 'dtype', type(z1).__name__)} {tuple(getattr(z1, 'shape', ()))}"))
        if ok:
            checks.append(("latent size", z1.shape[1] <= latent_dim, f"D = {z1.shape[1]}, protocol maximum {latent_dim}"))
            same = torch.equal(z1, z2)
            checks.append(("eval-mode determinism", same, "encode(x) twice gives identical codes" if same else "encode(x) differs between calls in eval mode"))
            if method.can_decode:
                with torch.inference_mode():
                    out = method.decode(z1)
                checks.append(("decode(z)", tuple(out.shape) == tuple(inputs.shape), f"shape {tuple(out.shape)}, expected {tuple(inputs.shape)}"))
    except Exception as e:  # noqa: BLE001
        checks.append(("encode(x)", False, _describe(e)))
    params = learner.info()["num_parameters"]
    checks.append(("parameters", params > 0, f"{params:,} parameters"))
    return checks
