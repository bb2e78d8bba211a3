"""dbarchitect's own exceptions. The CLI prints them as one line and exits with status 2."""

from __future__ import annotations


class DbarchError(Exception):
    """Base of every error dbarchitect raises on purpose; `str()` is the one-line message."""

    exit_code = 2


class InputError(DbarchError):
    """Bad input: a missing file, broken SQL, an unknown dialect, a malformed URL or spec."""


class ConnectionFailed(DbarchError):
    """A database could not be reached or refused us (wrong password, no such host)."""


class ReadOnlyViolation(DbarchError):
    """A statement that could write was refused on a read-only session."""


class EngineUnavailable(DbarchError):
    """A database engine this command needs is not installed and could not be started."""
