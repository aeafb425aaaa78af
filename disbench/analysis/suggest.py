"""Which reconstruction loss lets a VAE perceive a dataset's factors (``disbench suggest-loss``).

The paper's lesson (paper.md §1.3-1.4, §3): a VAE learns the distances its reconstruction loss
perceives, so it can only disentangle factors along which those distances grow with the
ground-truth distance. Blurring the loss (Eq. 11) re-enables factors that MSE sees as constant.

The search scores the plain base loss and its augmented versions: box blurs and Gaussians of
radius 1 to 31 (weight ``(2r+1)^2``, the paper's convention: 3969 for r = 31) and the shipped
learnt kernel, all on the same random traversals. Candidates are ranked by

1. verdict: aligned, then misaligned, then adversarial (``disbench.analysis.report``); data whose
   factors cannot decide a verdict is ``undecided`` under every loss, and the base loss is kept;
2. the base loss first when it is already aligned: a blur only changes what the model is asked to
   reconstruct, and the paper gives no reason to change a loss that already orders every factor;
3. fewer factors perceived as constant, then a higher lowest Spearman rho over the factors, then
   a higher mean rho; ties keep the candidate order (box before Gaussian, smaller radius first).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tabulate import tabulate

from disbench.analysis.compare import LossScore, blur_losses, score_losses
from disbench.analysis.report import UNDECIDED_REASON, categorical_note, format_rho, incomplete_note
from disbench.data.base import GroundTruthData
from disbench.losses import LEARNT, make_loss

VERDICTS = ("aligned", "misaligned", "undecided", "adversarial")


def candidate_losses(base: str = "mse", image_side: int = 64, learnt: bool = True) -> list[str]:
    """The base loss, its box and Gaussian blurs of radius up to ``image_side - 2`` (a box of radius
    ``image_side - 1`` covers the whole image from every pixel: it blurs every position to the same
    picture), and the shipped learnt kernel (learnt for MSE)."""
    base = make_loss(base).name
    return [base, *blur_losses(base, image_side), *([LEARNT] if learnt and base == "mse" else [])]


def rank_key(score: LossScore, base: str) -> tuple:
    """Sort key of the ranking in the module docstring (smaller is better)."""
    kept = score.loss == base and score.verdict == "aligned"
    lowest = score.lowest if score.lowest is not None else float("-inf")
    mean = score.mean if score.mean is not None else float("-inf")
    return (VERDICTS.index(score.verdict), not kept, score.constant, -lowest, -mean)


def _lowest(score: LossScore) -> str:
    deciding = [c for c in score.deciding if c.spearman is not None]
    if not deciding:
        return "no factor ordered"
    worst = min(deciding, key=lambda c: c.spearman)
    return f"lowest Spearman rho {worst.spearman:.3f}, {worst.factor}"


@dataclass
class Suggestion:
    """The candidates ranked best first, the recommended loss and why."""

    data: str
    base: str
    ranking: list[LossScore]
    recommended: LossScore
    reason: str
    settings: dict = field(default_factory=dict)

    def score(self, loss: str) -> LossScore:
        return next(s for s in self.ranking if s.loss == make_loss(loss).name)

    @property
    def shown_beside_base(self) -> LossScore:
        """The loss whose matrices are drawn next to the base loss's: the recommendation, or the best other."""
        return self.recommended if self.recommended.loss != self.base else next((s for s in self.ranking if s.loss != self.base), self.recommended)

    def to_dict(self) -> dict:
        return {"data": self.data, "base": self.base, "recommended": self.recommended.loss, "reason": self.reason,
                "ranking": [s.to_dict() for s in self.ranking], "settings": self.settings}


def _recommend(ranking: list[LossScore], base: LossScore) -> tuple[LossScore, str]:
    best = ranking[0]
    if not base.deciding:
        return base, f"{UNDECIDED_REASON}; keep {base.loss}"
    if best is base:
        if base.verdict == "aligned":
            other = next((s for s in ranking if s is not base), None)
            beside = f"; the best augmented loss, {other.loss}, is {other.verdict} ({_lowest(other)})" if other else ""
            return base, f"{base.loss} already orders every factor ({_lowest(base)}): keep it{beside}"
        return base, f"no augmented loss does better than {base.loss}, which is {base.verdict} ({base.reason})"
    if best.verdict == "aligned":
        return best, f"{base.loss} is {base.verdict} ({base.reason}); {best.loss} orders every factor ({_lowest(best)})"
    return best, f"no candidate orders every factor; the best, {best.loss}, is {best.verdict} ({best.reason}), {base.loss} is {base.verdict}"


def suggest_loss(data: GroundTruthData, losses: list[str] | None = None, base: str = "mse", repeats: int = 32, seed: int = 777,
                 space: str = "unit") -> Suggestion:
    """Rank ``losses`` (default :func:`candidate_losses`) by how well their perceived distances follow
    ``data``'s factors, along ``repeats`` random traversals per factor, and recommend one."""
    base = make_loss(base).name
    losses = list(dict.fromkeys([base, *(make_loss(name).name for name in losses or candidate_losses(base, max(data.obs_shape[1:])))]))
    scores = score_losses(data, losses, repeats=repeats, seed=seed, space=space)
    ranking = sorted(scores.values(), key=lambda s: rank_key(s, base))
    recommended, reason = _recommend(ranking, scores[base])
    return Suggestion(data.name, base, ranking, recommended, reason, {"repeats": repeats, "seed": seed, "space": space, "candidates": losses})


def format_suggestion(suggestion: Suggestion) -> str:
    """The ranking as a table, then the recommendation."""
    names = [c.factor for c in suggestion.ranking[0].correlations.values()]
    rows = [(rank, s.loss, s.verdict, "constant" if s.constant else "-" if s.lowest is None else f"{s.lowest:.3f}", *(format_rho(s.correlations[n]) for n in names))
            for rank, s in enumerate(suggestion.ranking, 1)]
    table = tabulate(rows, headers=["rank", "loss", "verdict", "lowest rho", *names], tablefmt="simple", disable_numparse=True)
    table += categorical_note(suggestion.ranking[0].correlations) + incomplete_note(suggestion.ranking[0].traversals)
    return f"Spearman rho of perceived vs ground-truth distance along traversals, by loss:\n{table}\n\nsuggested loss: {suggestion.recommended.loss} ({suggestion.reason})"
