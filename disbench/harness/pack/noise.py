"""Each packed model's random numbers, exactly as its solo run would draw them.

A method draws its training noise from torch's global generator (``torch.randn_like`` in the
reparameterisation trick), which the child seeds with the run's seed right after ``build()``.
Inside ``vmap`` a random call cannot do that: ``randomness="different"`` gives every model
numbers, but not the ones its solo run would get. So a pack

1. records, once before training, the random calls one model's loss makes, with the tensor each
   imitates (shape, strides, dtype, device): :class:`Recorder`;
2. each step, for each model in turn, puts that model's generator state into torch's global
   generator, repeats the recorded calls outside ``vmap`` and takes the advanced state back:
   :func:`draw` (so each model's stream is its solo run's, call for call);
3. answers the i-th random call inside the vmapped loss with the i-th drawn tensor, each model
   its own slice: :class:`Replayer`.

Supported are the calls whose values depend only on the generator and a shape: ``randn``,
``rand``, ``randint``, ``randperm``, their ``*_like`` forms and the in-place fills
(``normal_``, ``uniform_``, ...) with plain-number arguments. Anything else random (dropout,
``bernoulli`` of a computed tensor, a method's own ``torch.Generator``) is refused by ``vmap``
or by :class:`Recorder`, and the pack with it, before training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from disbench.harness.child.learner import capture_torch_rng, restore_torch_rng

LIKE = (torch.randn_like, torch.rand_like, torch.randint_like)
FACTORIES = (torch.randn, torch.rand, torch.randint, torch.randperm)
FILLS = (torch.Tensor.normal_, torch.Tensor.uniform_, torch.Tensor.random_, torch.Tensor.exponential_, torch.Tensor.geometric_,
         torch.Tensor.log_normal_, torch.Tensor.cauchy_, torch.Tensor.bernoulli_)
# random calls whose values depend on tensors the model computes, or that bring their own generator
UNREPRODUCIBLE = (torch.normal, torch.bernoulli, torch.multinomial, torch.poisson, torch.Tensor.bernoulli, torch.Tensor.multinomial)


class Unpackable(Exception):
    """A method that packing cannot train exactly as its solo runs would; the message says why."""


def _name(func: Any) -> str:
    owner = "Tensor." if getattr(func, "__qualname__", "").startswith("TensorBase.") else "torch."
    return owner + getattr(func, "__name__", str(func))


@dataclass(frozen=True)
class RandomCall:
    """One recorded random call: the function, its arguments, and the tensor it imitates (``*_like``)
    or fills (in place), as shape, strides, dtype and device; ``None`` for a factory."""

    func: Any
    args: tuple
    kwargs: dict
    template: tuple[tuple[int, ...], tuple[int, ...], torch.dtype, torch.device] | None

    @classmethod
    def record(cls, func: Any, args: tuple, kwargs: dict) -> RandomCall:
        if "generator" in kwargs or "out" in kwargs:
            raise Unpackable(f"its loss calls {_name(func)} with its own generator= or out=; packing gives each model the global generator's stream only")
        if func in FACTORIES:
            if any(isinstance(a, torch.Tensor) for a in (*args, *kwargs.values())):
                raise Unpackable(f"its loss calls {_name(func)} with tensor arguments, whose values packing cannot reproduce per model")
            return cls(func, args, kwargs, None)
        rest = (*args[1:], *kwargs.values())
        if any(isinstance(a, torch.Tensor) for a in rest):
            raise Unpackable(f"its loss calls {_name(func)} with tensor arguments, whose values packing cannot reproduce per model")
        x = args[0]
        return cls(func, args[1:], kwargs, (tuple(x.shape), tuple(x.stride()), x.dtype, x.device))

    def draw(self) -> torch.Tensor:
        """The values the recorded call gives from torch's global generator as it stands now."""
        if self.template is None:
            return self.func(*self.args, **self.kwargs)
        shape, stride, dtype, device = self.template
        x = torch.empty_strided(shape, stride, dtype=dtype, device=device)
        out = self.func(x, *self.args, **self.kwargs)
        return x if self.func in FILLS else out

    def matches(self, func: Any, args: tuple, kwargs: dict) -> bool:
        """Whether a call inside ``vmap`` is this one (per model: the template's shape, not its strides)."""
        if func is not self.func:
            return False
        if self.template is None:
            return args == self.args and kwargs == self.kwargs
        return tuple(args[0].shape) == self.template[0] and tuple(args[1:]) == self.args and kwargs == self.kwargs


class Recorder(TorchFunctionMode):
    """Records the supported random calls of an un-vmapped loss (letting them run), and refuses the
    random calls packing cannot reproduce."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[RandomCall] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in LIKE or func in FACTORIES or func in FILLS:
            self.calls.append(RandomCall.record(func, tuple(args), dict(kwargs)))
        elif func in UNREPRODUCIBLE:
            raise Unpackable(f"its loss calls {_name(func)}, whose values depend on tensors it computes; packing cannot reproduce them per model")
        return func(*args, **kwargs)


class Replayer(TorchFunctionMode):
    """Inside the vmapped loss: the i-th random call returns ``noise[i]`` (a batched input of the
    vmapped function: each model its own values). A call that is not the recorded one stops the step."""

    def __init__(self, calls: list[RandomCall], noise: list[torch.Tensor]) -> None:
        super().__init__()
        self.calls, self.noise, self.used = calls, noise, 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if not (func in LIKE or func in FACTORIES or func in FILLS):
            return func(*args, **kwargs)
        if self.used >= len(self.calls) or not self.calls[self.used].matches(func, tuple(args), dict(kwargs)):
            raise Unpackable(f"its loss made the random call {_name(func)} where the pack expected "
                             f"{_name(self.calls[self.used].func) if self.used < len(self.calls) else 'none'}: packing needs the same random calls every step; run it without --pack")
        values = self.noise[self.used]
        self.used += 1
        if func in FILLS:
            return args[0].copy_(values)
        return values

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        if exc[0] is None and self.used != len(self.calls):
            raise Unpackable(f"its loss made {self.used} random calls where the pack expected {len(self.calls)}: packing needs the same random calls every step; run it without --pack")


def draw(calls: list[RandomCall], states: list[dict[str, Any]]) -> list[torch.Tensor]:
    """Each call's values for every model, stacked ``[K, ...]``: model ``k`` draws from its generator
    state ``states[k]`` (what ``capture_torch_rng`` gives), which is advanced in place. Torch's global
    generator is left as it was."""
    if not calls:
        return []
    saved = capture_torch_rng()
    per_call: list[list[torch.Tensor]] = [[] for _ in calls]
    try:
        for k, state in enumerate(states):
            restore_torch_rng(state)
            for values, call in zip(per_call, calls):
                values.append(call.draw())
            states[k] = capture_torch_rng()
    finally:
        restore_torch_rng(saved)
    return [torch.stack(values) for values in per_call]
