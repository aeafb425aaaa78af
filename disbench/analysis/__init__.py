"""The paper's theory as a tool: how a reconstruction loss perceives a dataset, before training."""

from disbench.analysis.distances import perceived_distances, traversal_distances, traversal_matrices
from disbench.analysis.report import AnalysisReport, analyse, factor_correlation, verdict
from disbench.analysis.suggest import Suggestion, suggest_loss

__all__ = [
    "AnalysisReport",
    "Suggestion",
    "analyse",
    "factor_correlation",
    "perceived_distances",
    "suggest_loss",
    "traversal_distances",
    "traversal_matrices",
    "verdict",
]
