"""Errors a user can act on. Each message is one line that says what went wrong."""

from __future__ import annotations


class ParleyError(Exception):
    """Base for every error Parley reports to a user (CLI exit code 2, UI dialog)."""


class DecodeError(ParleyError):
    """The file could not be read as audio (empty, corrupt, unsupported or not media)."""


class ModelUnavailable(ParleyError):
    """A model could not be loaded: not installed, offline, or not authorized."""


class StoreError(ParleyError):
    """The database could not be read or written."""


class Cancelled(ParleyError):
    """The user cancelled a long-running job."""


class SaveFailed(StoreError):
    """A finished transcript could not be stored (a full disk, say). ``transcript`` holds it as text,
    so the caller can still show it; ``saved_to`` is a copy on disk, when one could be written."""

    def __init__(self, message: str, transcript: str = "", saved_to: str | None = None):
        super().__init__(message)
        self.transcript = transcript
        self.saved_to = saved_to
