"""The paper's training results, transcribed from paper.md §6 for comparison with our records.

Michlo, Klein & James (IJCAI 2023). The paper gives its scores only as plots; these are the
approximate ranges (and, where it gives them, the polynomial fit or the median and interquartile
range) read off its figures, about ±0.02-0.03. Every value is the *maximum* of a fast metric
evaluated periodically during training (paper.md §4.7), not the final model's score: compare
them with a record's ``max_during_training`` first, and its final ``metrics`` second.

- Fig. 9 (``FIG9``): XYSquares under MSE at grid spacing 1-8; D = 9, 57,600 steps of 256,
  5 repeats; beta-VAE beta = 0.001 (0.00316 below spacing 3), Ada-GVAE beta = 0.001.
- Fig. 11 (``FIG11``): XYSquares (spacing 8) under MSE and under MSE + box blur; D = 25,
  beta pooled over {0.0316, 0.0001}, 57,600 steps of 256, 5 repeats per beta.
"""

from __future__ import annotations

from dataclasses import dataclass

DCI = "dci.disentanglement"


@dataclass(frozen=True)
class PaperCell:
    """One method × condition × metric of a figure: the range of its dots, and its centre if given."""

    text: str
    low: float
    high: float
    fit: float | None = None  # Fig. 9's polynomial fit at this spacing
    median: float | None = None  # Fig. 11's violin median
    iqr: tuple[float, float] | None = None  # Fig. 11's interquartile range

    @property
    def centre(self) -> float:
        """The fit or median where the paper gives one, else the middle of the range."""
        for value in (self.fit, self.median):
            if value is not None:
                return value
        return (self.low + self.high) / 2


def _c(low: float, high: float, fit: float | None = None) -> PaperCell:
    if low == high:
        return PaperCell(f"≈{low:g}", low, high, fit)
    return PaperCell(f"{low:g}–{high:g}" + (f" (fit ≈{fit:g})" if fit is not None else ""), low, high, fit)


def _v(low: float, high: float, median: float | None = None, iqr: tuple[float, float] | None = None) -> PaperCell:
    text = f"{low:g}–{high:g}" + (f", median ≈{median:g}" if median is not None else "") + (f", IQR ≈{iqr[0]:g}–{iqr[1]:g}" if iqr else "")
    return PaperCell(text, low, high, median=median, iqr=iqr)


# method -> metric -> grid spacing -> cell
FIG9: dict[str, dict[str, dict[int, PaperCell]]] = {
    "ada-gvae": {
        "mig": {1: _c(0.72, 0.91, 0.87), 2: _c(0.53, 0.87, 0.75), 3: _c(0.21, 0.70, 0.45), 4: _c(0.03, 0.38, 0.25),
                5: _c(0.03, 0.12, 0.08), 6: _c(0.02, 0.05), 7: _c(0.01, 0.07), 8: _c(0.0, 0.03)},
        DCI: {1: _c(0.96, 1.0, 1.0), 2: _c(0.86, 1.0, 0.95), 3: _c(0.43, 1.0, 0.75), 4: _c(0.40, 0.61, 0.45),
              5: _c(0.14, 0.57, 0.2), 6: _c(0.03, 0.13), 7: _c(0.02, 0.15), 8: _c(0.0, 0.19)},
    },
    "beta-vae": {
        "mig": {1: _c(0.04, 0.44, 0.21), 2: _c(0.03, 0.30, 0.12), 3: _c(0.0, 0.11, 0.05), 4: _c(0.02, 0.02),
                5: _c(0.02, 0.02), 6: _c(0.02, 0.02), 7: _c(0.02, 0.02), 8: _c(0.01, 0.01)},
        DCI: {1: _c(0.17, 0.80, 0.44), 2: _c(0.13, 0.60, 0.28), 3: _c(0.05, 0.26, 0.13), 4: _c(0.02, 0.12, 0.05),
              5: _c(0.02, 0.10, 0.03), 6: _c(0.03, 0.08), 7: _c(0.02, 0.14), 8: _c(0.0, 0.17)},
    },
}

# method -> metric -> reconstruction loss ("mse" or "boxblur") -> cell
FIG11: dict[str, dict[str, dict[str, PaperCell]]] = {
    "ada-gvae": {
        "mig": {"mse": _v(0.0, 0.01), "boxblur": _v(0.02, 0.69, 0.37, (0.28, 0.53))},
        DCI: {"mse": _v(0.0, 0.11, 0.03), "boxblur": _v(0.07, 1.0, 0.80, (0.66, 0.97))},
    },
    "beta-vae": {
        "mig": {"mse": _v(0.0, 0.015), "boxblur": _v(0.015, 0.105, 0.06, (0.04, 0.075))},
        DCI: {"mse": _v(0.0, 0.05, 0.02), "boxblur": _v(0.18, 0.57, 0.30, (0.22, 0.41))},
    },
}

PAPER_LABEL = {"ada-gvae": "Ada-GVAE", "beta-vae": "β-VAE"}
FIG9_SETTINGS = ("D = 9, 57,600 steps of batch 256 (the standard tier's budget), 5 repeats; β-VAE β = 0.001 (0.00316 below "
                 "spacing 3), Ada-GVAE β = 0.001; each score the maximum of fast evaluations during training")
FIG11_SETTINGS = ("D = 25, β pooled over {0.0316, 0.0001}, 57,600 steps of batch 256, 5 repeats per β; each score the maximum of "
                  "fast evaluations during training")
