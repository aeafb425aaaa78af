"""The supervision tracks: what a method may see besides observations.

``unsupervised`` methods get single observations; ``weak-pairs`` methods get pairs that share
all but a few factors (Ada-GVAE's setting, paper.md §4.2). Scores are ranked per track.
"""

from __future__ import annotations

from typing import Literal

UNSUPERVISED = "unsupervised"
WEAK_PAIRS = "weak-pairs"
TRACKS = (UNSUPERVISED, WEAK_PAIRS)
Supervision = Literal["unsupervised", "weak-pairs"]
