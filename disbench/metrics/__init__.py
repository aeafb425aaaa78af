"""Disentanglement metrics: array in, flat dict out; interventional ones take a task and encoder.

Array metrics take ``codes [N, D]`` and ``factors [N, F]``: :func:`mig`, :func:`dci`, :func:`sap`,
:func:`modularity_explicitness`, :func:`irs`, :func:`unsupervised`. Metrics that need
observations with chosen factors take ``(task, encode_fn)``: :func:`factor_vae`,
:func:`beta_vae`, :func:`flatness`, :func:`factored_components`. :func:`evaluate` runs a
whole suite. Definitions, ranges and deviations from the references: docs/metrics.md.
"""

from disbench.metrics.beta_vae import beta_vae
from disbench.metrics.codes import CodeSource
from disbench.metrics.dci import dci
from disbench.metrics.factor_vae import factor_vae
from disbench.metrics.factored_components import factored_components
from disbench.metrics.flatness import flatness
from disbench.metrics.irs import irs
from disbench.metrics.mig import mig
from disbench.metrics.modularity import modularity_explicitness
from disbench.metrics.sap import sap
from disbench.metrics.suites import evaluate
from disbench.metrics.unsupervised import unsupervised
from disbench.protocol import SUITES, suite_config

__all__ = [
    "SUITES", "CodeSource", "beta_vae", "dci", "evaluate", "factor_vae", "factored_components", "flatness",
    "irs", "mig", "modularity_explicitness", "sap", "suite_config", "unsupervised",
]
