"""Tensors in a line of text: what a batch's ``repr`` shows instead of every value."""

from __future__ import annotations

import torch


def tensor_text(tensor: torch.Tensor) -> str:
    """``"float32 [256, 3, 64, 64]"`` (with ``" on cuda:0"`` off the CPU); anything else as its type's name."""
    if not isinstance(tensor, torch.Tensor):
        return type(tensor).__name__
    device = "" if tensor.device.type == "cpu" else f" on {tensor.device}"
    return f"{str(tensor.dtype).removeprefix('torch.')} [{', '.join(map(str, tensor.shape))}]{device}"


def fields_repr(obj: object, groups: list[tuple[str, ...]], suffix: str = "") -> str:
    """``Name(a, b: float32 [N, ...], c: int64 [N, F]suffix)``: each group of fields (same dtype and
    shape, as a pair's two halves) described once, by its first."""
    parts = [f"{', '.join(names)}: {tensor_text(getattr(obj, names[0]))}" for names in groups]
    return f"{type(obj).__name__}({', '.join(parts)}{suffix})"
