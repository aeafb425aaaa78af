"""Errors of the leaderboard commands: each says what was wrong and what to do."""

from __future__ import annotations

from disbench.error import DisbenchError


class LeaderboardError(DisbenchError):
    """A results folder, site folder or option given to a leaderboard command is unusable."""


class HubError(LeaderboardError):
    """The Hugging Face Hub cannot be used as asked (offline, no token, bad repo id)."""


class PullRequestError(LeaderboardError):
    """``disbench ci check-pr`` cannot inspect the pull request (no git, unknown base)."""
