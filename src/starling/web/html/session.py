"""Browser sign-in sessions and CSRF protection for the server-rendered pages.

The whole session is one signed cookie (HMAC-SHA256 with the server secret): a random nonce, the
user's id, when they signed in, and a fingerprint of their password hash, so changing the password
ends every browser session. The CSRF token of a form is an HMAC of the nonce; signing in or out
draws a new nonce, so tokens of a previous session stop working.

The secret is ``STARLING_SECRET_KEY`` when set; otherwise one is made on first use and kept in the
``instance_settings`` table, so every worker process and every restart agrees on it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from starling.adapters.db import done_writing, start_writing, unit_of_work
from starling.bootstrap import Container
from starling.config import Settings
from starling.jobs.queue import JOBS_ADDED
from starling.models import Account, User
from starling.repositories.accounts import get_account, get_user
from starling.repositories.instance import get_setting, put_setting
from starling.web.deps import get_container, open_session

COOKIE_NAME = "starling_session"
CSRF_FIELD = "csrf_token"
SESSION_SECONDS = 30 * 24 * 3600
SECRET_SETTING = "secret_key"
_EXTRAS_KEY = "web_session_secret"
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """HMAC-SHA256 under the server secret, with a purpose so one MAC can never stand in for another."""

    def __init__(self, secret: bytes):
        self._key = hashlib.sha256(b"starling-web-session\x00" + secret).digest()

    def mac(self, purpose: str, data: str | bytes) -> str:
        raw = data.encode() if isinstance(data, str) else data
        return _b64(hmac.new(self._key, purpose.encode() + b"\x00" + raw, hashlib.sha256).digest())

    def verify(self, purpose: str, data: str | bytes, mac: str) -> bool:
        return hmac.compare_digest(self.mac(purpose, data).encode(), mac.encode())


async def _stored_secret(container: Container) -> str:
    for _attempt in range(2):
        try:
            async with unit_of_work(container.current_sessions()) as session:
                value = await get_setting(session, SECRET_SETTING)
                if isinstance(value, str) and len(value) >= 32:
                    return value
                value = secrets.token_urlsafe(48)
                await put_setting(session, SECRET_SETTING, value)
            return value
        except IntegrityError:
            continue  # another process stored one first: read it
    raise RuntimeError("could not store the server secret")


async def server_secret(container: Container) -> bytes:
    """Load (or make) the secret once per process; call it before opening the request's own session."""
    cached = container.extras.get(_EXTRAS_KEY)
    if isinstance(cached, bytes):
        return cached
    configured = container.settings.secret_key
    secret = (configured if configured else await _stored_secret(container)).encode()
    container.extras[_EXTRAS_KEY] = secret
    return secret


@dataclass(frozen=True)
class WebSession:
    nonce: str
    user_id: int | None = None
    issued_at: int = 0
    fingerprint: str = ""

    @classmethod
    def anonymous(cls) -> WebSession:
        return cls(nonce=secrets.token_urlsafe(18), issued_at=int(time.time()))


def encode_session(signer: Signer, web: WebSession) -> str:
    payload = _b64(orjson.dumps({"n": web.nonce, "u": web.user_id, "t": web.issued_at, "f": web.fingerprint}))
    return f"{payload}.{signer.mac('session', payload)}"


def decode_session(signer: Signer, value: str | None) -> WebSession | None:
    """None for a missing, forged, malformed or expired cookie."""
    if not value or value.count(".") != 1 or len(value) > 1024:
        return None
    payload, mac = value.split(".")
    if not signer.verify("session", payload, mac):
        return None
    try:
        data: Any = orjson.loads(_unb64(payload))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(data, dict):
        return None
    nonce, user_id, issued, fingerprint = data.get("n"), data.get("u"), data.get("t"), data.get("f", "")
    if not isinstance(nonce, str) or not isinstance(issued, int) or not isinstance(fingerprint, str):
        return None
    if user_id is not None and not isinstance(user_id, int):
        return None
    if user_id is not None and time.time() - issued > SESSION_SECONDS:
        return None
    return WebSession(nonce=nonce, user_id=user_id, issued_at=issued, fingerprint=fingerprint)


def password_fingerprint(signer: Signer, user: User) -> str:
    return signer.mac("password", user.password_hash)[:22]


def stream_key(signer: Signer, web: WebSession) -> int:
    """The number that names one browser sign-in to the streaming hub, in place of an access token's id.

    The page's live stream is opened with it, and signing out announces it revoked (as revoking a token
    does), so that sign-in's open streams close at once. It is derived from the session's nonce, which
    signing in draws anew, and is always negative: access token ids are positive, so the two never meet.
    """
    digest = _unb64(signer.mac("stream", web.nonce))
    return -(int.from_bytes(digest[:8], "big") >> 2) - 1


@dataclass
class Page:
    """One browser request: its database session, its web session and who is signed in."""

    request: Request
    container: Container
    session: AsyncSession
    signer: Signer
    web: WebSession
    user: User | None = None
    account: Account | None = None
    changed: bool = False
    extra_headers: dict[str, str] = field(default_factory=dict)
    uploads: dict[str, UploadFile] = field(default_factory=dict)  # files of the posted form

    @property
    def settings(self) -> Settings:
        return self.container.settings

    @property
    def csrf_token(self) -> str:
        return self.signer.mac("csrf", self.web.nonce)

    def csrf_ok(self, token: object) -> bool:
        return isinstance(token, str) and self.signer.verify("csrf", self.web.nonce, token)

    def sign_in(self, user: User, account: Account) -> None:
        self.web = WebSession(
            nonce=secrets.token_urlsafe(18),
            user_id=user.id,
            issued_at=int(time.time()),
            fingerprint=password_fingerprint(self.signer, user),
        )
        self.user, self.account, self.changed = user, account, True

    def sign_out(self) -> None:
        self.web = WebSession.anonymous()
        self.user, self.account, self.changed = None, None, True

    def finish(self, response: Response) -> Response:
        """Write the session cookie when it changed, and the headers every page carries."""
        if self.changed:
            response.set_cookie(
                COOKIE_NAME,
                encode_session(self.signer, self.web),
                max_age=SESSION_SECONDS if self.web.user_id is not None else None,
                path="/",
                secure=self.settings.secure_cookies,
                httponly=True,
                samesite="lax",
            )
        response.headers.update(self.extra_headers)
        return response

    async def commit(self) -> None:
        await self.session.commit()
        done_writing()
        if self.session.info.pop(JOBS_ADDED, False):
            self.container.runner.wake()


async def _signed_in(page: Page) -> tuple[User, Account] | None:
    if page.web.user_id is None:
        return None
    user = await get_user(page.session, page.web.user_id)
    if user is None or not hmac.compare_digest(page.web.fingerprint, password_fingerprint(page.signer, user)):
        return None
    account = await get_account(page.session, user.account_id)
    if account is None or account.suspended_at is not None or not user.approved:
        return None
    return user, account


async def page_context(request: Request) -> AsyncIterator[Page]:
    """Dependency for server-rendered pages."""
    container = get_container(request)
    signer = Signer(await server_secret(container))
    async with open_session(container) as session:
        web = decode_session(signer, request.cookies.get(COOKIE_NAME))
        page = Page(request=request, container=container, session=session, signer=signer,
                    web=web or WebSession.anonymous(), changed=web is None)
        if web is not None and web.user_id is not None:
            found = await _signed_in(page)
            if found is None:
                page.sign_out()
            else:
                page.user, page.account = found
        if request.method not in _SAFE_METHODS:
            await start_writing(session)
        yield page


async def cookie_sign_in(request: Request) -> tuple[Account, int] | None:
    """Who the session cookie signs in and that sign-in's ``stream_key``, checked like every page does,
    with a database session that is closed again at once (for long-lived responses that must not hold a
    connection)."""
    container = get_container(request)
    signer = Signer(await server_secret(container))
    web = decode_session(signer, request.cookies.get(COOKIE_NAME))
    if web is None or web.user_id is None:
        return None
    async with open_session(container) as session:
        page = Page(request=request, container=container, session=session, signer=signer, web=web)
        found = await _signed_in(page)
    return (found[1], stream_key(signer, web)) if found is not None else None


async def cookie_account(request: Request) -> Account | None:
    """Who the session cookie signs in (see ``cookie_sign_in``)."""
    found = await cookie_sign_in(request)
    return found[0] if found is not None else None
