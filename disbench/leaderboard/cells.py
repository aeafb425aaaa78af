"""A table cell, as every renderer of the board sees it (text, Markdown, the site), and the number format."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass
class Cell:
    """What a reader sees, the value a sorter uses, (on the site) a page it links to, and its markers."""

    text: str
    value: float | str | None = None
    link: str | None = None
    markers: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()  # markers shown only as the site's cell style (the column header names them in words)
    detail: tuple[str, ...] = ()  # smaller lines under the text on the site (each seed's value); text output leaves them out
    title: str | None = None  # the site's tooltip

    def plain(self) -> str:
        """The cell as text: its markers follow it in brackets, ``beta-vae [unverified, incomplete]``."""
        return f"{self.text} [{', '.join(self.markers)}]".strip() if self.markers else self.text


def fmt(x: float | None, digits: int = 3) -> str:
    return "–" if x is None or pd.isna(x) else f"{x:.{digits}f}"
