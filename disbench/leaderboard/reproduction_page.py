"""The site's page of the paper's claims tested on the project's own runs: docs/reproduction.md's generated part
(:mod:`disbench.reproduction.summary`) as tables, with each grid's figure of every run.

The records are the reproduction's (``reproduction/results/`` and the board's ``leaderboards/results/`` of a clone),
not the board the rest of the site shows: the reproduction trains on the public task and uses every seed it has."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from disbench.leaderboard.cells import Cell
from disbench.leaderboard.tables import Row, Table

if TYPE_CHECKING:  # type hints only: the reproduction's modules are imported when the page is built
    from disbench.reproduction.experiments import Experiment
    from disbench.reproduction.summary import SectionResult

CLAIM_HEADERS = ["claim", "quantity", "n", "median difference [95 % CI] or trend", "one-sided p", "Holm p", "paper", "verdict"]


def claims_table(title: str, result: SectionResult) -> Table:
    """A grid's claims: each p sorts by its value; the verdict is a text column that wraps on a phone."""
    from disbench.reproduction.statistics import format_p

    table = Table(title, CLAIM_HEADERS, prose=("claim", CLAIM_HEADERS[3], "verdict"),
                  note="n: runs per arm (a+b), or all runs for a trend. Holm p: adjusted across the grid's claims; "
                       "\"sign shown\" needs it below 0.05.")
    for c in result.claims:
        table.rows.append(Row([Cell(c.claim), Cell(c.quantity), Cell(c.n), Cell(c.estimate), Cell(format_p(c.p_value), c.p_value),
                               Cell(format_p(c.p_holm), c.p_holm), Cell(c.paper), Cell(c.verdict)]))
    return table


def cells_table(title: str, headers: list[str], rows: list[list], note: str) -> Table:
    """A table of a grid's cells: the condition, then one "median [IQR] (n)" text per column."""
    table = Table(title, headers, note=note)
    for condition, *cells in rows:
        table.rows.append(Row([Cell(str(condition), condition), *(Cell(text) for text in cells)]))
    return table


def pooled_note(experiment: Experiment) -> str:
    """For a grid that pools several β (Fig. 11, as the paper did): what its n counts, and why a collapsed encoder weighs on it."""
    if len(experiment.betas) < 2:
        return ""
    return (f"Each arm pools our runs at β = {' and '.join(f'{b:g}' for b in experiment.betas)}, as the paper pooled them, so an arm's n "
            "counts both. An encoder that collapses (its informativeness at the majority-class baseline, the figure's last column) scores "
            "0 on MIG and gated DCI by construction, so a pooled difference can be one against an encoder that encodes nothing; "
            "the grid at one β does not mix the two.")


def reproduction_sections(folders: Sequence[Path], img_dir: Path) -> list[dict[str, Any]]:
    """One dict per grid of :data:`disbench.reproduction.summary.SECTIONS`: its title and anchor, the run count, the claims,
    cells and beside tables and its figure (written under ``img_dir``), or the command that trains its records."""
    from disbench.reproduction.experiments import EXPERIMENTS
    from disbench.reproduction.figures import figure
    from disbench.reproduction.summary import CELLS_NOTE, SECTIONS, beside_note, section_result

    sections = []
    for section in SECTIONS:
        experiment = EXPERIMENTS[section.experiment]
        page = {"title": section.title, "anchor": section.anchor, "command": section.command, "runs": None, "img": None, "claims": None,
                "no_claim": section.no_claim, "cells": None, "beside": None, "setting": experiment.paper_settings, "trend": experiment.ladder,
                "pooled": pooled_note(experiment)}
        result = section_result(section, folders)
        if result is not None:
            img = figure(experiment, result.frame, section.tier, img_dir / f"{section.anchor}.png", section.averaging)
            page.update(runs=result.runs, img=img,
                        claims=claims_table(f"{section.title}: the paper's effects", result) if result.claims else None,
                        cells=cells_table(f"{section.title}: each cell", result.cell_headers, result.cell_rows, CELLS_NOTE),
                        beside=cells_table(f"{section.title}: beside the {section.beside} averaging", result.beside_headers,
                                           result.beside_rows, beside_note(section)) if result.beside_rows else None)
        sections.append(page)
    return sections
