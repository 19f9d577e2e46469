"""Provides the typed errors a user can cause, each carrying one sentence that names the fix.

Library code raises these; the CLI prints ``str(error)`` on stderr without a traceback and exits
with status 2. Bugs are not wrapped: they still raise normally.

Example::

    >>> raise BadSetting("lr must be a positive number, got -1.0; pass e.g. --model.lr 0.01.")
    Traceback (most recent call last):
    ...
    digitnet.errors.BadSetting: lr must be a positive number, got -1.0; pass e.g. --model.lr 0.01.
"""

from __future__ import annotations


class DigitnetError(Exception):
    """A problem the user can fix; its message is one sentence naming the problem and the fix."""


class BadSetting(DigitnetError, ValueError):
    """A hyper-parameter or option value that is out of range or of the wrong kind."""


class DataError(DigitnetError):
    """A data set that is missing, truncated, corrupt or fails its checksum."""


class CheckpointError(DigitnetError):
    """A checkpoint that is missing, corrupt, unsafe or of another architecture."""


class RunError(DigitnetError):
    """A run folder that is missing or cannot be used as asked."""


class Cancelled(RunError):
    """A run stopped by its user (Ctrl-C, SIGTERM, the dashboard's cancel): not an error, so the
    CLI prints it without ``error:``, and exits with status 2 all the same (it did not finish)."""
