"""The paper's two training experiments as grids of runs: which submission runs on which task,
and which of the paper's cells each run is compared with.

- ``overlap`` (Fig. 9): beta-VAE and Ada-GVAE on XYSquares under MSE at grid spacing 1..8
  (``xysquares-s1-mse`` … ``xysquares-mse``), with the ``beta-vae`` / ``ada-gvae`` baselines
  (z = 9, beta as in the paper).
- ``boxblur`` (Fig. 11): the same frameworks with z = 25 and beta in {0.0316, 0.0001} (pooled, as
  the paper pools them) on ``xysquares-mse`` and ``xysquares-boxblur``, with the submissions in
  ``reproduction/submissions/``.

Ada-GVAE runs either with the fixed averaging (``average="fixed"``, the baselines' ``gvae``) or
with the averaging of the code the paper ran (``"paper"``, ``gvae-paper``; paper.md §4.3), each
from its own submission folder, so every record says which one it used.
"""

from __future__ import annotations

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
    condition_label: str  # a figure's axis
    conditions: tuple[int | str, ...]
    paper: dict[str, dict[str, dict]]  # method -> metric -> condition -> PaperCell
    paper_settings: str
    default_tier: str

    def paper_cell(self, method: str, metric: str, condition: int | str) -> PaperCell | None:
        return self.paper.get(method, {}).get(metric, {}).get(condition)

    def arms(self, methods: tuple[str, ...] = METHODS, average: Average = "fixed") -> list[Arm]:
        """Every (submission, task) of the grid for ``methods``, Ada-GVAE with the ``average`` mode."""
        unknown = [m for m in methods if m not in METHODS]
        if unknown:
            raise ReproductionError(f"Unknown method {unknown[0]!r}; the paper's experiments compare {' and '.join(METHODS)}.")
        if average not in AVERAGES:
            raise ReproductionError(f"Unknown averaging {average!r}; use 'fixed' (disent >= 0.5.1) or 'paper' (the code the paper ran).")
        if average == "paper" and "ada-gvae" not in methods:
            raise ReproductionError("The paper-era averaging is Ada-GVAE's alone, and ada-gvae is not among the methods: "
                                    "add it (--methods ... ada-gvae) or drop --average paper.")
        arms = [Arm(method, folder, task, condition) for method in dict.fromkeys(methods)  # a method named twice is one arm
                for folder, task, condition in self._cells(method, average)]
        for arm in arms:
            if not (arm.submission / "submission.toml").is_file():
                raise ReproductionError(f"The submission folder {arm.submission} is missing; reproductions run from a disbench checkout (git clone).")
        return arms

    def _cells(self, method: str, average: Average) -> list[tuple[Path, str, int | str]]:
        suffix = "-paper-avg" if method == "ada-gvae" and average == "paper" else ""
        if self.name == "overlap":
            from disbench.leaderboard.aggregate import ladder_tasks

            folder = VARIANTS / f"{method}{suffix}" if suffix else BASELINES / method
            return [(folder, lt.task, lt.spacing) for lt in ladder_tasks()]
        tasks = {"mse": "xysquares-mse", "boxblur": "xysquares-boxblur"}
        return [(VARIANTS / f"{method}{suffix}-z25-b{beta:g}", tasks[loss], loss) for beta in (0.0316, 0.0001) for loss in self.conditions]


OVERLAP = Experiment("overlap", "Fig. 9", "grid spacing", "grid spacing (px); 8 = no overlap", tuple(range(1, 9)), FIG9, FIG9_SETTINGS, default_tier="quick")
BOXBLUR = Experiment("boxblur", "Fig. 11", "loss", "reconstruction loss on XYSquares (spacing 8)", ("mse", "boxblur"), FIG11, FIG11_SETTINGS,
                     default_tier="quick")  # where the effect shows on a CPU (docs/protocols.md)
EXPERIMENTS = {e.name: e for e in (OVERLAP, BOXBLUR)}
