"""Per-request context: one database session, the authenticated viewer, and commit with wake-up.

Handlers get a :class:`Ctx` from :func:`auth`, call a service with ``ctx.session`` and then
``await ctx.commit()`` before building the response, so a client is only told "done" once the
write (and the jobs it queued) is durable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from starling.adapters.db import done_writing, start_writing
from starling.bootstrap import Container
from starling.domain.errors import Forbidden, StarlingError, Unauthorized, Unprocessable
from starling.domain.scopes import grants
from starling.domain.tokens import hash_token
from starling.jobs.queue import JOBS_ADDED
from starling.models import AccessToken, Account, Application, User


@dataclass
class Viewer:
    token: AccessToken
    application: Application | None
    user: User | None
    account: Account | None
    scopes: frozenset[str] = field(default_factory=frozenset)

    def require_account(self) -> Account:
        if self.account is None:
            raise Unprocessable("This method requires an authenticated user")
        return self.account


@dataclass
class Ctx:
    request: Request
    container: Container
    session: AsyncSession
    viewer: Viewer | None

    @property
    def account(self) -> Account:
        """The signed-in account; endpoints that need one declare ``auth(scope)``."""
        if self.viewer is None or self.viewer.account is None:
            raise Unauthorized("The access token is invalid")
        return self.viewer.account

    @property
    def account_or_none(self) -> Account | None:
        return self.viewer.account if self.viewer else None

    @property
    def user(self) -> User:
        if self.viewer is None or self.viewer.user is None:
            raise Unauthorized("The access token is invalid")
        return self.viewer.user

    async def start_writing(self) -> None:
        """What the request read so far was only reading; its write transaction begins at the next statement."""
        await start_writing(self.session)

    async def commit(self) -> None:
        """End the request's write transaction; what the handler does after it only reads."""
        await self.session.commit()
        done_writing()
        if self.session.info.pop(JOBS_ADDED, False):
            self.container.runner.wake()


def reject_nul(request: Request) -> None:
    """A NUL character can be stored by neither database; refuse it before any query sees it."""
    if "\x00" in request.url.path or "%00" in request.url.query or "\x00" in request.url.query:
        raise Unprocessable("Validation failed: the request contains a NUL character", field="base")


def is_write(request: Request) -> bool:
    return request.method not in ("GET", "HEAD", "OPTIONS")


@asynccontextmanager
async def open_session(container: Container) -> AsyncIterator[AsyncSession]:
    """A database session for one request. A request that writes calls ``start_writing`` once it has
    read what it needs to authenticate: on SQLite its write transaction, which holds the database's only
    write lock, then begins at its first statement after that, never while it authenticates or while
    its body arrives."""
    async with container.current_sessions()() as session:
        yield session


async def anonymous(request: Request) -> AsyncIterator[Ctx]:
    """Dependency for endpoints that never look at a bearer token (app registration, the token endpoint,
    server information): a stale token a client still sends must not turn them into a 401."""
    async with _anonymous(request, writes_now=is_write(request)) as ctx:
        yield ctx


async def anonymous_reads_first(request: Request) -> AsyncIterator[Ctx]:
    """As :func:`anonymous`, for a handler that reads and checks before it writes (the token endpoint checks
    passwords): it calls ``ctx.start_writing()`` when its reads are done."""
    async with _anonymous(request, writes_now=False) as ctx:
        yield ctx


@asynccontextmanager
async def _anonymous(request: Request, *, writes_now: bool) -> AsyncIterator[Ctx]:
    reject_nul(request)
    container = get_container(request)
    async with open_session(container) as session:
        if writes_now:
            await start_writing(session)
        ctx = Ctx(request=request, container=container, session=session, viewer=None)
        try:
            yield ctx
        except StarlingError:
            await session.rollback()
            raise


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return None
    return request.query_params.get("access_token") or None


async def load_viewer(session: AsyncSession, raw_token: str) -> Viewer:
    row = (
        await session.execute(
            select(AccessToken, Application, User, Account)
            .outerjoin(Application, Application.id == AccessToken.application_id)
            .outerjoin(User, User.id == AccessToken.user_id)
            .outerjoin(Account, Account.id == User.account_id)
            .where(AccessToken.token_hash == hash_token(raw_token))
        )
    ).first()
    if row is None:
        raise Unauthorized("The access token is invalid")
    token, app, user, account = row
    if token.revoked_at is not None:
        raise Unauthorized("The access token was revoked")
    if user is not None:
        if account is None or account.suspended_at is not None:
            raise Forbidden("Your login is currently disabled")
        if not user.approved:
            raise Forbidden("Your login is currently pending approval")
    return Viewer(token=token, application=app, user=user, account=account, scopes=frozenset(token.scopes.split()))


def auth(
    scope: str | tuple[str, ...] | None = None, *, required: bool = True, user: bool = True
) -> Callable[[Request], AsyncIterator[Ctx]]:
    """Dependency factory.

    ``scope``: the scope the endpoint needs, or a tuple of scopes any one of which will do
    (checked when a token is present).
    ``required``: a token must be given. ``user``: the token must belong to a user (not an app token).
    """

    scopes = (scope,) if isinstance(scope, str) else (scope or ())

    async def dependency(request: Request) -> AsyncIterator[Ctx]:
        reject_nul(request)
        container = get_container(request)
        async with open_session(container) as session:
            viewer: Viewer | None = None
            raw = bearer_token(request)
            if raw is not None:
                viewer = await load_viewer(session, raw)
            elif required:
                raise Unauthorized("The access token is invalid")
            if viewer is not None:
                if scopes and not any(grants(viewer.scopes, s) for s in scopes):
                    raise Forbidden("This action is outside the authorized scopes")
                if required and user and viewer.account is None:
                    raise Unprocessable("This method requires an authenticated user")
            if is_write(request):
                await start_writing(session)
            ctx = Ctx(request=request, container=container, session=session, viewer=viewer)
            try:
                yield ctx
            except StarlingError:
                await session.rollback()
                raise

    return dependency


def public(scope: str | tuple[str, ...] | None = None) -> Callable[[Request], AsyncIterator[Ctx]]:
    """A token is optional; when one is given it must be valid and hold ``scope``."""
    return auth(scope, required=False)


AsyncHandler = Callable[..., Awaitable[object]]
