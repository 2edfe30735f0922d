"""OAuth 2 errors (RFC 6749 §4.1.2.1 and §5.2): an error code, a description and the HTTP status."""

from __future__ import annotations

from starling.domain.errors import StarlingError


class OAuthError(StarlingError):
    """Rendered as ``{"error": code, "error_description": ...}``.

    ``redirect_uri`` is set only once the client and its redirect URI were verified: only then may
    the error be sent back to the client by redirecting the browser.
    """

    def __init__(
        self,
        error: str,
        description: str,
        *,
        status_code: int = 400,
        redirect_uri: str | None = None,
        state: str | None = None,
    ):
        super().__init__(error, status_code=status_code, description=description)
        self.error = error
        self.redirect_uri = redirect_uri
        self.state = state


def invalid_client() -> OAuthError:
    return OAuthError(
        "invalid_client",
        "Client authentication failed due to unknown client, no client authentication included, "
        "or unsupported authentication method.",
        status_code=401,
    )


def invalid_grant(description: str | None = None) -> OAuthError:
    return OAuthError(
        "invalid_grant",
        description
        or "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI "
        "used in the authorization request, or was issued to another client.",
    )


def invalid_scope() -> OAuthError:
    return OAuthError("invalid_scope", "The requested scope is invalid, unknown, or malformed.")


def invalid_request(description: str) -> OAuthError:
    return OAuthError("invalid_request", description)
