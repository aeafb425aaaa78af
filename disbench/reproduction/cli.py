"""``disbench reproduce table-a1 | overlap | boxblur``."""

from __future__ import annotations

import argparse
from typing import Any


def _cmd_table_a1(args: argparse.Namespace) -> int:
    from disbench.analysis.table_a1 import format_table_a1, reproduce_table_a1

    print(format_table_a1(reproduce_table_a1(num_pairs=args.num_pairs, seed=args.seed, progress=not args.quiet)))
    return 0


def add_commands(sub: Any) -> None:
    """Add ``reproduce`` and its actions to the top-level subparsers ``sub``."""
    parser = sub.add_parser("reproduce", help="reproduce a table or figure of the paper")
    actions = parser.add_subparsers(dest="what", required=True, metavar="WHAT")

    p = actions.add_parser("table-a1", help="Table A1: how MSE perceives each dataset's factors (no training)")
    p.add_argument("--num-pairs", type=int, default=50_000)
    p.add_argument("--seed", type=int, default=777)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_cmd_table_a1)
