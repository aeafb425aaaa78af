"""The paper's Fig. 9 (XYSquares grid spacing vs score), transcribed from paper.md §6.2 for comparison.

Michlo, Klein & James (IJCAI 2023), Fig. 9: D = 9, 57,600 steps (the ``standard`` tier's
budget), 5 repeats; approximate scatter ranges read off the figure and, where the paper gives
one, its polynomial fit. ``text`` is the cell as the paper's table states it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaperCell:
    text: str
    low: float
    high: float
    fit: float | None = None


def _c(low: float, high: float, fit: float | None = None) -> PaperCell:
    if low == high:
        return PaperCell(f"≈{low:g}", low, high, fit)
    return PaperCell(f"{low:g}–{high:g}" + (f" (fit ≈{fit:g})" if fit is not None else ""), low, high, fit)


# submission name -> metric -> grid spacing -> cell
FIG9: dict[str, dict[str, dict[int, PaperCell]]] = {
    "ada-gvae": {
        "mig": {1: _c(0.72, 0.91, 0.87), 2: _c(0.53, 0.87, 0.75), 3: _c(0.21, 0.70, 0.45), 4: _c(0.03, 0.38, 0.25),
                5: _c(0.03, 0.12, 0.08), 6: _c(0.02, 0.05), 7: _c(0.01, 0.07), 8: _c(0.0, 0.03)},
        "dci.disentanglement": {1: _c(0.96, 1.0, 1.0), 2: _c(0.86, 1.0, 0.95), 3: _c(0.43, 1.0, 0.75), 4: _c(0.40, 0.61, 0.45),
                                5: _c(0.14, 0.57, 0.2), 6: _c(0.03, 0.13), 7: _c(0.02, 0.15), 8: _c(0.0, 0.19)},
    },
    "beta-vae": {
        "mig": {1: _c(0.04, 0.44, 0.21), 2: _c(0.03, 0.30, 0.12), 3: _c(0.0, 0.11, 0.05), 4: _c(0.02, 0.02),
                5: _c(0.02, 0.02), 6: _c(0.02, 0.02), 7: _c(0.02, 0.02), 8: _c(0.01, 0.01)},
        "dci.disentanglement": {1: _c(0.17, 0.80, 0.44), 2: _c(0.13, 0.60, 0.28), 3: _c(0.05, 0.26, 0.13), 4: _c(0.02, 0.12, 0.05),
                                5: _c(0.02, 0.10, 0.03), 6: _c(0.03, 0.08), 7: _c(0.02, 0.14), 8: _c(0.0, 0.17)},
    },
}
PAPER_LABEL = {"ada-gvae": "Ada-GVAE", "beta-vae": "β-VAE"}
SETTINGS = "D = 9, 57,600 steps of batch 256 (the standard tier's budget), 5 repeats; β-VAE β = 0.001 (0.00316 below spacing 3), Ada-GVAE β = 0.001"
