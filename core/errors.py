"""Domain exceptions. Services raise these; the web layer maps them to HTTP statuses in
one place (``jifa.web.errors``) and the CLI prints their message."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: a problem the user can fix or must be told about (never a bug)."""

    status = 400

    def __init__(self, message: str, *, details: object | None = None):
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(DomainError):
    status = 422


class NotFound(DomainError):
    status = 404


class PermissionDenied(DomainError):
    status = 403


class NotAuthenticated(DomainError):
    status = 401


class Conflict(DomainError):
    """The request clashes with the current state (closed attempt, locked draw...)."""

    status = 409


class TooManyRequests(DomainError):
    """Throttled; ``retry_after``: seconds before trying again (the Retry-After header)."""

    status = 429

    def __init__(self, message: str, *, details: object | None = None, retry_after: int = 60):
        super().__init__(message, details=details)
        self.retry_after = retry_after


class PayloadTooLarge(DomainError):
    """An upload beyond the limits (its size, or its size once unpacked)."""

    status = 413
