"""Errors that carry their own HTTP status; rendered as Mastodon's ``{"error": ...}``."""

from __future__ import annotations


class StarlingError(Exception):
    status_code = 400

    def __init__(self, message: str, *, status_code: int | None = None, description: str | None = None):
        super().__init__(message)
        self.message = message
        self.description = description
        if status_code is not None:
            self.status_code = status_code


class BadRequest(StarlingError):
    status_code = 400


class Unauthorized(StarlingError):
    status_code = 401


class Forbidden(StarlingError):
    status_code = 403


class NotFound(StarlingError):
    status_code = 404

    def __init__(self, message: str = "Record not found"):
        super().__init__(message)


class Gone(StarlingError):
    status_code = 410


class Conflict(StarlingError):
    status_code = 409


FieldDetails = dict[str, list[dict[str, str]]]


class Unprocessable(StarlingError):
    """422; ``details`` names the fields at fault as Mastodon's validation errors do."""

    status_code = 422

    def __init__(self, message: str, *, field: str | None = None, code: str = "ERR_INVALID",
                 details: FieldDetails | None = None):
        super().__init__(message)
        self.details: FieldDetails = dict(details or {})
        if field is not None:
            self.details.setdefault(field, []).append({"error": code, "description": message})


class RateLimited(StarlingError):
    status_code = 429


class NotImplementedYet(StarlingError):
    status_code = 501

    def __init__(self, what: str = "This endpoint"):
        super().__init__(f"{what} is not implemented on this server yet")
