"""What a published page may say about files: paths relative to the clone or the working folder, never the
build machine's absolute ones (its home folder, its user name, its temporary folders)."""

from __future__ import annotations

import os
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# An absolute POSIX path inside prose: starts at a "/" that follows no word, dot, dash, colon or slash (so URLs
# and "ns/task" ids are left alone) and runs to whitespace, a quote, a bracket or a separator.
_ABSOLUTE = re.compile(r"(?<![\w.~:/-])/[^\s'\"`<>()\[\]{},;]+")


def shown_path(path: str | os.PathLike[str]) -> str:
    """``path`` as a page may show it: relative to the working folder or the clone when inside one of them,
    else ``…/`` and its last part."""
    p = Path(path)
    if not p.is_absolute():
        return p.as_posix()
    resolved = p.resolve()
    for base in (Path.cwd().resolve(), REPO):
        if base != Path(base.anchor) and resolved.is_relative_to(base):
            return resolved.relative_to(base).as_posix() or "."
    return f"…/{p.name}"


def public_text(text: str) -> str:
    """``text`` with every absolute path in it replaced by :func:`shown_path` (a sentence's last full stop kept)."""
    def replace(match: re.Match[str]) -> str:
        path = match.group(0)
        tail = ""
        while path and path[-1] in ".:":
            path, tail = path[:-1], path[-1] + tail
        return shown_path(path) + tail if path not in ("", "/") else match.group(0)

    return _ABSOLUTE.sub(replace, text)
