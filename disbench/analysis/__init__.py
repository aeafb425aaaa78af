"""The paper's theory as a tool: how a reconstruction loss perceives a dataset, before training."""

from disbench.analysis.distances import perceived_distances, traversal_distances, traversal_matrices
from disbench.analysis.report import AnalysisReport, analyse, factor_correlation, verdict

__all__ = [
    "AnalysisReport",
    "analyse",
    "factor_correlation",
    "perceived_distances",
    "traversal_distances",
    "traversal_matrices",
    "verdict",
]
