"""One exception hierarchy for simap.

Every message names the input, what was expected, what was received and how to fix it.
The CLI maps these to a message and an exit code in one place (``simap.cli``); the web app
maps them to one JSON error body.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class SimapError(Exception):
    """Base class of every error simap raises on purpose."""

    exit_code = 1
    http_status = 500

    def __init__(self, message: str, *, hint: str | None = None, details: Sequence[Any] = ()) -> None:
        self.message = message
        self.hint = hint
        self.details = list(details)
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = self.message
        if self.hint:
            text += f" Fix: {self.hint}"
        return text


class InvalidInput(SimapError):
    """User-supplied data (a file, a row, a parameter) is not what was expected."""

    exit_code = 2
    http_status = 400

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
        details: Sequence[Any] = (),
    ) -> None:
        self.source = source
        self.line = line
        self.field = field
        where = []
        if source:
            where.append(str(source))
        if line is not None:
            where.append(f"line {line}")
        if field:
            where.append(f"field '{field}'")
        prefix = (", ".join(where) + ": ") if where else ""
        super().__init__(prefix + message, hint=hint, details=details)


class InvalidCodebook(InvalidInput):
    """A codebook file or object does not validate."""


class NotFound(SimapError):
    exit_code = 3
    http_status = 404


class NotFitted(SimapError):
    """A component was used before ``fit``."""


class BackendUnavailable(SimapError):
    """A named backend exists but its optional dependency or model is missing."""

    exit_code = 4
    http_status = 501


class UnknownBackend(InvalidInput):
    """A backend name is not in its registry."""


class MigrationError(SimapError):
    exit_code = 5


class Conflict(SimapError):
    """A write based on a stale view: someone changed the data since it was read (HTTP 409)."""

    exit_code = 7
    http_status = 409


class PermissionDenied(SimapError):
    exit_code = 6
    http_status = 403


def expected(thing: str, expected: str, got: object, fix: str | None = None) -> str:
    """Build the standard message: "<thing> must be <expected>; got <got>."""
    return f"{thing} must be {expected}; got {got!r}." + (f" {fix}" if fix else "")
