"""Errors raised by disbench: one base class per family, each message says what to do."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str], n: int = 3, cutoff: float = 0.5) -> str:
    """``" Did you mean 'a' or 'b'?"`` for the choices closest to ``word``, or ``""`` if none is close."""
    close = difflib.get_close_matches(word, list(choices), n=n, cutoff=cutoff)
    return f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


class DisbenchError(Exception):
    """Base class of every error disbench raises on purpose."""


class UnregisteredTask(DisbenchError):
    """A task id does not resolve to a registered task."""


class NameNotFound(UnregisteredTask):
    """No task of that name exists (in that namespace)."""


class NamespaceNotFound(UnregisteredTask):
    """No task is registered under that namespace."""


class VersionNotFound(UnregisteredTask):
    """The task exists but not at the requested version."""


class DeprecatedTask(UnregisteredTask):
    """The requested version is deprecated; the message names the replacement."""


class InvalidTaskId(DisbenchError, ValueError):
    """A task id does not follow the grammar ``[namespace/]name[-vN]``."""


class RegistrationError(DisbenchError):
    """A task spec could not be registered or its entry point could not be loaded."""


class ProtocolError(DisbenchError, ValueError):
    """A protocol tier does not exist or is malformed."""


class DataError(DisbenchError):
    """A dataset is missing, corrupt, or was asked for something it cannot give."""


class DownloadError(DataError):
    """A file could not be downloaded or failed its checksum."""


class LossError(DisbenchError, ValueError):
    """A reconstruction loss name or kernel is invalid."""


class MetricError(DisbenchError, ValueError):
    """A metric received input it cannot score (constant codes, too few samples, NaN, ...)."""


class SubmissionError(DisbenchError):
    """A submission folder, its submission.toml or its model is invalid."""


class TrainingError(DisbenchError):
    """A training run failed (for example a non-finite loss)."""


class SigningError(DisbenchError):
    """A runner signing key is missing, unreadable or not an Ed25519 key."""


class SigningKeyNotFound(SigningError, FileNotFoundError):
    """A key file does not exist (also a ``FileNotFoundError``, for callers that catch that)."""


class RecordError(DisbenchError):
    """A result record file cannot be read: missing, truncated, not JSON, or not the record schema."""
