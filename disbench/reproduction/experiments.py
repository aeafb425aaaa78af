"""The paper's two training experiments as grids of runs: which submission runs on which task,
and which of the paper's cells each run is compared with.

- ``overlap`` (Fig. 9): beta-VAE and Ada-GVAE on XYSquares under MSE at grid spacing 1..8
  (``xysquares-s1-mse`` … ``xysquares-mse``), with the ``beta-vae`` / ``ada-gvae`` baselines
  (z = 9, beta as in the paper).
- ``boxblur`` (Fig. 11): the same frameworks with z = 25 and beta in {0.0316, 0.0001} (pooled, as
  the paper pools them) on ``xysquares-mse`` and ``xysquares-boxblur``, with the submissions in
  ``reproduction/submissions/``.
- ``boxblur-b0.0001``: Fig. 11 at one of its two settings, z = 25 and beta = 0.0001, the one where
  both arms stay informative at the quick tier (with beta = 0.0316 the MSE encoders collapse,
  docs/reproduction.md); the grid that takes eight seeds per arm.

``arms(..., conditions=...)`` keeps some of a grid's conditions (e.g. spacings 1, 2, 4 and 8).

Ada-GVAE runs either with the fixed averaging (``average="fixed"``, the baselines' ``gvae``) or
with the averaging of the code the paper ran (``"paper"``, ``gvae-paper``; paper.md §4.3), each
from its own submission folder, so every record says which one it used.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from disbench.error import DisbenchError
from disbench.paper import FIG9, FIG9_SETTINGS, FIG11, FIG11_SETTINGS, PaperCell

ROOT = Path(__file__).resolve().parents[2]
BASELINES = ROOT / "submissions"
VARIANTS = ROOT / "reproduction" / "submissions"
METHODS = ("beta-vae", "ada-gvae")
AVERAGES = {"fixed": "gvae", "paper": "gvae-paper"}  # --average -> AdaVAE's average
Average = Literal["fixed", "paper"]


def averaging_label(methods: tuple[str, ...] | list[str], average: str) -> str:
    """``, Ada-GVAE fixed averaging`` for titles, or nothing when Ada-GVAE is not among ``methods`` (the averaging is its alone)."""
    return f", Ada-GVAE {average} averaging" if "ada-gvae" in methods else ""


class ReproductionError(DisbenchError):
    """An experiment cannot be set up as asked (unknown method, missing submission folder, ...)."""


@dataclass(frozen=True)
class Arm:
    """One submission on one task: a cell of the experiment's grid, compared with ``method`` at ``condition``."""

    method: str  # the paper's framework: "beta-vae" or "ada-gvae"
    submission: Path  # the submission folder
    task: str
    condition: int | str  # a grid spacing (overlap) or a loss (boxblur)


@dataclass(frozen=True)
class Experiment:
    name: str
    figure: str
    condition_name: str  # a table's first column
    condition_plural: str  # "losses", not "losss"
    condition_label: str  # a figure's axis
    conditions: tuple[int | str, ...]
    paper: dict[str, dict[str, dict]]  # method -> metric -> condition -> PaperCell
    paper_settings: str
    default_tier: str
    effect: tuple[int | str, int | str]  # (high, low): the claim is that high scores above low
    betas: tuple[float, ...] = ()  # Fig. 11's z = 25 submissions, pooled; none for the overlap ladder
    paper_differs: str | None = None  # why the paper's cells are not this grid's (sizes are then not compared)

    @property
    def ladder(self) -> bool:
        """Whether the conditions are grid spacings (a numeric axis) rather than losses."""
        return all(isinstance(c, int) for c in self.conditions)

    def paper_cell(self, method: str, metric: str, condition: int | str) -> PaperCell | None:
        return self.paper.get(method, {}).get(metric, {}).get(condition)

    def arms(self, methods: tuple[str, ...] = METHODS, average: Average = "fixed", conditions: tuple[str, ...] | None = None) -> list[Arm]:
        """Every (submission, task) of the grid for ``methods``, Ada-GVAE with the ``average`` mode; only the
        named ``conditions`` (as typed: "1", "boxblur") when given."""
        unknown = [m for m in methods if m not in METHODS]
        if unknown:
            raise ReproductionError(f"Unknown method {unknown[0]!r}; the paper's experiments compare {' and '.join(METHODS)}.")
        if average not in AVERAGES:
            raise ReproductionError(f"Unknown averaging {average!r}; use 'fixed' (disent >= 0.5.1) or 'paper' (the code the paper ran).")
        if average == "paper" and "ada-gvae" not in methods:
            raise ReproductionError("The paper-era averaging is Ada-GVAE's alone, and ada-gvae is not among the methods: "
                                    "add it (--methods ... ada-gvae) or drop --average paper.")
        keep = self.parse_conditions(conditions)
        arms = [Arm(method, folder, task, condition) for method in dict.fromkeys(methods)  # a method named twice is one arm
                for folder, task, condition in self._cells(method, average) if condition in keep]
        for arm in arms:
            if not (arm.submission / "submission.toml").is_file():
                raise ReproductionError(f"The submission folder {arm.submission} is missing; reproductions run from a disbench checkout (git clone).")
        return arms

    def parse_conditions(self, names: tuple[str, ...] | None) -> tuple[int | str, ...]:
        """The grid's conditions named by ``names`` (all of them for None), or an error listing the valid ones."""
        if names is None:
            return self.conditions
        by_name = {str(c): c for c in self.conditions}
        unknown = [n for n in names if str(n) not in by_name]
        if unknown:
            raise ReproductionError(f"{self.name} has no {self.condition_name} {unknown[0]!r}; its {self.condition_plural} are "
                                    f"{', '.join(by_name)}.")
        return tuple(by_name[str(n)] for n in dict.fromkeys(names))

    def _cells(self, method: str, average: Average) -> list[tuple[Path, str, int | str]]:
        suffix = "-paper-avg" if method == "ada-gvae" and average == "paper" else ""
        if self.name == "overlap":
            from disbench.leaderboard.aggregate import ladder_tasks

            folder = VARIANTS / f"{method}{suffix}" if suffix else BASELINES / method
            return [(folder, lt.task, lt.spacing) for lt in ladder_tasks()]
        tasks = {"mse": "xysquares-mse", "boxblur": "xysquares-boxblur"}
        return [(VARIANTS / f"{method}{suffix}-z25-b{beta:g}", tasks[loss], loss) for beta in self.betas for loss in self.conditions]


OVERLAP = Experiment("overlap", "Fig. 9", "grid spacing", "grid spacings", "grid spacing (px); 8 = no overlap", tuple(range(1, 9)), FIG9, FIG9_SETTINGS,
                     default_tier="quick", effect=(1, 8))
BOXBLUR = Experiment("boxblur", "Fig. 11", "loss", "losses", "reconstruction loss on XYSquares (spacing 8)", ("mse", "boxblur"), FIG11, FIG11_SETTINGS,
                     default_tier="quick", effect=("boxblur", "mse"), betas=(0.0316, 0.0001))  # where the effect shows on a CPU (docs/protocols.md)
BOXBLUR_LOW_BETA = dataclasses.replace(BOXBLUR, name="boxblur-b0.0001", figure="Fig. 11 at β = 0.0001", betas=(0.0001,),
                                       paper_settings=FIG11_SETTINGS + " (the paper gives only the pooled cells, shown here)",
                                       paper_differs="the paper's cells pool both β")
EXPERIMENTS = {e.name: e for e in (OVERLAP, BOXBLUR, BOXBLUR_LOW_BETA)}
