"""What every ``disbench`` command's arguments share: the parser class and the value types.

:class:`Parser` names each option's default in its help and answers a mistyped choice or option
with "did you mean"; ``add_subparsers`` hands the class down, so every subcommand (including ones
added elsewhere with ``sub.add_parser``) gets both. The value types turn a bad number into
argparse's one-line usage error before any work starts.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from disbench.error import did_you_mean


class DefaultsFormatter(argparse.HelpFormatter):
    """Help that names an option's default, unless its text already does (``default: ...``).

    Flags (``store_true``) and options without a default (``None``: the help says what happens
    then) are left as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        shown = default_text(action)
        if shown is None or "default" in text:
            return text
        return f"{text} (default: {shown.replace('%', '%%')})"


def default_text(action: argparse.Action) -> str | None:
    """An option's default as a user types it, or ``None`` when there is nothing to name."""
    default = action.default
    if default is None or default is argparse.SUPPRESS or action.nargs == 0:
        return None  # a flag (store_true, ...) takes no value: it is off unless given
    if isinstance(default, (list, tuple)):
        return " ".join(map(str, default)) or None
    return str(default)


class Parser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` with :class:`DefaultsFormatter` and "did you mean" in its errors."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", DefaultsFormatter)
        super().__init__(*args, **kwargs)
        self.subcommands: Any = None  # the subparsers action, once add_subparsers made it

    def add_subparsers(self, **kwargs: Any) -> Any:
        self.subcommands = super().add_subparsers(**kwargs)  # subcommands are Parsers too: argparse makes them of this class
        return self.subcommands

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        if action.choices is not None and value not in action.choices:
            choices = [str(c) for c in action.choices]
            raise argparse.ArgumentError(action, f"invalid choice: {value!r} (choose from {', '.join(map(repr, choices))}).{did_you_mean(str(value), choices)}")

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> argparse.Namespace:  # type: ignore[override]
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            leaf = self._leaf(parsed)
            hints = [did_you_mean(word.split("=")[0], leaf._option_strings(), n=2) for word in extras if word.startswith("-")]
            leaf.error(f"unrecognized arguments: {' '.join(extras)}." + "".join(h for h in hints if h))
        self._refuse_empty(parsed)
        return parsed

    def _refuse_empty(self, parsed: argparse.Namespace) -> None:
        """An empty value (``--out ""``, an unset shell variable) is never meant: as a path it is the current
        folder ("error: . already exists"), as a name it matches nothing. Refuse it, naming the argument,
        in this parser and in every subcommand chosen below it."""
        for action in self._actions:
            value = getattr(parsed, action.dest, None)
            if value == "" or (isinstance(value, list) and "" in value):
                name = "/".join(action.option_strings) or action.metavar or action.dest
                self.error(f"argument {name}: an empty value; give one (an unset shell variable expands to nothing)")
        chosen = getattr(parsed, self.subcommands.dest, None) if self.subcommands is not None else None
        if chosen is not None:
            self.subcommands.choices[chosen]._refuse_empty(parsed)

    def error(self, message: str) -> NoReturn:
        """argparse's usage and one ``error:`` line, even when the words it quotes hold a newline."""
        super().error("".join(c if c.isprintable() else repr(c)[1:-1] for c in message))

    def _leaf(self, parsed: argparse.Namespace) -> Parser:
        """The (sub)command parser that ``parsed`` came through, following the chosen subcommands."""
        parser = self
        while parser.subcommands is not None and getattr(parsed, parser.subcommands.dest, None) in parser.subcommands.choices:
            parser = parser.subcommands.choices[getattr(parsed, parser.subcommands.dest)]
        return parser

    def _option_strings(self) -> list[str]:
        return [s for a in self._actions for s in a.option_strings if s.startswith("--") and s != "--help"]


def number(kind: Callable[[str], Any], what: str, low: float, high: float = math.inf, above: bool = False) -> Callable[[str], Any]:
    """An argparse ``type``: ``kind(text)``, finite, from ``low`` (or above it) to ``high``."""
    if above:
        bounds = f"above {low:g}"
    else:
        bounds = f"from {low:g} to {high:g}" if math.isfinite(high) else f"{low:g} or more"

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not {what}; give {what} {bounds}") from None
        if not math.isfinite(value) or value < low or (above and value == low) or value > high:
            raise argparse.ArgumentTypeError(f"{text[:40]} is out of range; give {what} {bounds}")
        return value

    return parse


positive_int = number(int, "a whole number", 1)
non_negative_int = number(int, "a whole number", 0)
positive_float = number(float, "a number", 0, above=True)
port_number = number(int, "a port number", 0, 65_535)


def device_argument(text: str) -> str:
    """argparse ``type`` of ``--device``: cpu, cuda or cuda:N, the devices disbench trains on (whether
    this machine has that GPU is checked when the run starts)."""
    import torch

    try:
        kind = torch.device(text).type
    except (RuntimeError, ValueError):
        kind = None
    if kind not in ("cpu", "cuda"):
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a device disbench trains on; use cpu, cuda or cuda:N")
    return text
