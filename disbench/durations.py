"""One way to write a length of time for a reader: the run summary, a sweep's ETA and the site's runs table."""

from __future__ import annotations


def duration(seconds: float) -> str:
    """``"45 s"``, ``"5 min 12 s"``, ``"1 h 02 min"``: what a reader compares with a progress bar."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
