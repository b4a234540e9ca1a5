"""One application error type; the API maps it to one JSON error shape."""

from __future__ import annotations


class ApplicationError(Exception):
    """A refused operation with a stable code, an HTTP status and a message people can act on."""

    def __init__(self, message: str, *, code: str = "invalid", status: int = 400, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.details = details or {}


class NotFound(ApplicationError):
    def __init__(self, message: str = "not found", **kwargs):
        kwargs.setdefault("code", "not_found")
        super().__init__(message, status=404, **kwargs)


class PermissionDenied(ApplicationError):
    def __init__(self, message: str = "you may not do this", **kwargs):
        kwargs.setdefault("code", "permission_denied")
        super().__init__(message, status=403, **kwargs)


class Conflict(ApplicationError):
    """The request is valid but the object's current state does not allow it."""

    def __init__(self, message: str, **kwargs):
        kwargs.setdefault("code", "conflict")
        super().__init__(message, status=409, **kwargs)
