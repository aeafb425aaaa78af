"""Seeds as the command line names them: one grammar for ``run``, ``sweep`` and ``reproduce``.

``0 1 2`` names seeds, ``0-3`` an inclusive range, and the two mix (``0 3-5``); ``tier`` alone
means each task's own seeds for the protocol tier. A seed goes from 0 to ``MAX_SEED``, the range
every generator disbench seeds (torch, numpy, scikit-learn) accepts.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable, Sequence
from typing import Literal

from disbench.error import DisbenchError

MAX_SEED = 2**32 - 1
MAX_RANGE = 10_000  # seeds one range may name: more is a typo, not a plan
TIER_SEEDS = "tier"  # "each task's own seeds for the tier"
_RANGE = re.compile(r"(\d+)-(\d+)")
GRAMMAR = "integers from 0 ('0 1 2'), an inclusive range ('0-4'), or 'tier' (the tier's own seeds)"


class SeedError(DisbenchError, ValueError):
    """Seeds that do not follow the grammar, or lie outside 0 to ``MAX_SEED``."""


def seed_list(tokens: str | int | Iterable[str | int]) -> list[int]:
    """The seeds ``tokens`` name, in order, repeats kept (``"0 2-3"`` and ``["0", "2-3"]`` give ``[0, 2, 3]``)."""
    if isinstance(tokens, (str, int)):
        tokens = str(tokens).split()
    seeds: list[int] = []
    for token in (str(t).strip() for t in tokens):
        if token == TIER_SEEDS:
            raise SeedError("'tier' stands alone: it means each task's own seeds for the tier; drop the other seeds or drop 'tier'.")
        seeds += _token_seeds(token)
    if not seeds:
        raise SeedError(f"No seeds given; name {GRAMMAR}.")
    return seeds


def _token_seeds(token: str) -> list[int]:
    number = token.removeprefix("-")
    if number.isascii() and number.isdigit():
        if number != token:
            raise SeedError(f"{_shown(token)} is negative; seeds go from 0 to {MAX_SEED:,}.")
        value = _bounded(number)
        if value > MAX_SEED:
            raise SeedError(f"{_shown(token)} is too large; seeds go from 0 to {MAX_SEED:,}.")
        return [value]
    match = _RANGE.fullmatch(token) if token.isascii() else None
    if match is None:
        raise SeedError(f"{_shown(token)!r} is not a seed: use {GRAMMAR}.")
    low, high = _bounded(match[1]), _bounded(match[2])
    if max(low, high) > MAX_SEED:
        raise SeedError(f"Seed range {_shown(token)!r} goes past {MAX_SEED:,}, the largest seed.")
    if low > high:
        raise SeedError(f"Seed range {_shown(token)!r} runs backwards; write it low-high: '{high}-{low}'.")
    if high - low >= MAX_RANGE:
        raise SeedError(f"Seed range {_shown(token)!r} names {high - low + 1:,} seeds; one range names at most {MAX_RANGE:,}.")
    return list(range(low, high + 1))


def _bounded(digits: str) -> int:
    """``int(digits)``, or ``MAX_SEED + 1`` for any longer number (Python refuses to convert very long ones)."""
    significant = digits.lstrip("0") or "0"
    return int(significant) if len(significant) <= 20 else MAX_SEED + 1


def _shown(token: str, limit: int = 40) -> str:
    return token if len(token) <= limit else token[: limit - 1] + "…"


def parse_seeds(tokens: str | int | Iterable[str | int] | None) -> tuple[int, ...] | Literal["tier"]:
    """``"tier"`` (also for ``None``), or the sorted, distinct seeds ``tokens`` name."""
    words = str(tokens).split() if isinstance(tokens, (str, int)) else [str(t).strip() for t in tokens or ()]
    if tokens is None or words == [TIER_SEEDS]:
        return TIER_SEEDS
    return tuple(sorted(set(seed_list(words))))


def seeds_argument(text: str) -> str:
    """argparse ``type`` of a ``--seeds`` word: the word, once the grammar accepts it (else a usage error)."""
    if text != TIER_SEEDS:
        try:
            seed_list([text])
        except SeedError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    return text


def seed_argument(text: str) -> int:
    """argparse ``type`` of a single ``--seed``: one integer from 0 to ``MAX_SEED`` (else a usage error)."""
    word = text.strip()
    try:
        if not (word.isascii() and word.removeprefix("-").isdigit()):
            raise SeedError(f"{_shown(word)!r} is not a seed: give one integer from 0 to {MAX_SEED:,}.")
        return _token_seeds(word)[0]
    except SeedError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def format_seeds(seeds: Sequence[int]) -> str:
    """Seeds as a reader scans them: runs of consecutive seeds as ranges (``0-4, 7``)."""
    parts, ordered = [], sorted(set(seeds))
    start = 0
    for i, seed in enumerate(ordered):
        if i + 1 == len(ordered) or ordered[i + 1] != seed + 1:
            parts.append(str(ordered[start]) if start == i else f"{ordered[start]}-{seed}")
            start = i + 1
    return ", ".join(parts)


def off_protocol_note(task_id: str, tier: str, official: Sequence[int], seeds: Iterable[int]) -> str | None:
    """The warning for seeds outside a tier's official ones (their records are off-protocol), or ``None``."""
    outside = [s for s in dict.fromkeys(seeds) if s not in official]
    if not outside:
        return None
    one = len(outside) == 1
    if len(official) == 1:
        where = f"the {tier} tier's official seed {official[0]}"
    else:
        where = f"{'one of' if one else 'among'} the {tier} tier's official seeds {format_seeds(official)}"
    named = f"seed {outside[0]} is" if one else f"seeds {format_seeds(outside)} are"
    return f"{task_id}: {named} not {where}: the record{'' if one else 's'} will be off-protocol (the leaderboard refuses {'it' if one else 'them'})."
