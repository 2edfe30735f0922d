"""The ``starling`` command."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from starling.config import get_settings

app = typer.Typer(help="Starling: a self-hosted microblogging server.", no_args_is_help=True)
console = Console()
T = TypeVar("T")


def _in_transaction(fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    from starling.adapters.db import unit_of_work
    from starling.bootstrap import build_container

    async def main() -> T:
        container = build_container(get_settings())
        try:
            async with unit_of_work(container.sessions) as session:
                return await fn(session)
        finally:
            await container.engine.dispose()

    return asyncio.run(main())


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    from starling import db_migrate

    settings = get_settings()
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    db_migrate.upgrade(settings.effective_database_url)
    console.print("database is up to date")


def _admin_email(server_name: str) -> str:
    host = server_name.split(":")[0]
    return f"admin@{host}" if "." in host else "admin@starling.invalid"


def _ensure_admin() -> None:
    """On first start, create an admin account and print its login once."""
    from starling.repositories.accounts import any_admin
    from starling.services.accounts.register_account import NewAccount, register_account

    password = secrets.token_urlsafe(12)
    settings = get_settings()

    async def create(session: AsyncSession) -> bool:
        if await any_admin(session):
            return False
        await register_account(
            session,
            NewAccount(username="admin", email=_admin_email(settings.server_name), password=password,
                       admin=True, allow_reserved=True),
        )
        return True

    if _in_transaction(create):
        console.print(
            f"[bold]First start:[/bold] admin account created. Log in at {settings.base_url}/auth/sign_in "
            f"as [bold]admin[/bold] with password [bold]{password}[/bold] (shown only once)."
        )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (STARLING_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (STARLING_PORT)")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (STARLING_WORKERS)")] = None,
    no_migrate: Annotated[bool, typer.Option("--no-migrate", help="Do not apply migrations first")] = False,
) -> None:
    """Serve the web interface and the API; runs the job runner too."""
    import os

    import uvicorn

    if host:
        os.environ["STARLING_HOST"] = host
    if port:
        os.environ["STARLING_PORT"] = str(port)
    get_settings.cache_clear()
    settings = get_settings()
    if not no_migrate:
        migrate()
    _ensure_admin()
    console.print(f"Starling serving on {settings.base_url}")
    uvicorn.run(
        "starling.web.asgi:app",
        host=settings.host,
        port=settings.port,
        workers=workers or settings.workers,
        log_level=settings.log_level,
        proxy_headers=True,
        timeout_graceful_shutdown=10,
    )


@app.command()
def worker() -> None:
    """Run only the job runner (for a separate process next to `starling serve`)."""
    from starling.bootstrap import build_container

    async def main() -> None:
        container = build_container(get_settings())
        try:
            await container.runner.run_forever()
        finally:
            await container.engine.dispose()

    console.print("job runner started")
    asyncio.run(main())


@app.command("create-user")
def create_user(
    username: str,
    email: Annotated[str, typer.Option(help="E-mail address")],
    password: Annotated[str | None, typer.Option(help="Password (random when left out)")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Make the user an admin")] = False,
) -> None:
    """Create a local user (approved)."""
    from starling.domain.errors import StarlingError
    from starling.services.accounts.register_account import NewAccount, register_account

    pw = password or secrets.token_urlsafe(12)

    async def create(session: AsyncSession) -> None:
        await register_account(
            session, NewAccount(username=username, email=email, password=pw, admin=admin, allow_reserved=admin)
        )

    try:
        _in_transaction(create)
    except StarlingError as exc:
        _fail(exc.message)
    console.print(f"created {'admin ' if admin else ''}user [bold]{username}[/bold]"
                  + ("" if password else f" with password [bold]{pw}[/bold]"))


def _moderate(action: str, acct: str, note: str | None = None) -> None:
    from starling.domain.errors import StarlingError
    from starling.services.admin import moderate_account as m

    domain = get_settings().server_name

    async def run(session: AsyncSession) -> None:
        if action == "verify":
            await m.verify_account(session, acct, note or "", domain)
        elif action == "unverify":
            await m.unverify_account(session, acct, domain)
        elif action == "suspend":
            await m.suspend_account(session, acct, domain)
        else:
            await m.unsuspend_account(session, acct, domain)

    try:
        _in_transaction(run)
    except StarlingError as exc:
        _fail(exc.message)
    console.print(f"{action}: {acct} done")


@app.command()
def verify(
    acct: str,
    note: Annotated[str, typer.Option(help="Who the account represents, e.g. 'The city council of X'")],
) -> None:
    """Mark an account verified, with a note of who it represents."""
    _moderate("verify", acct, note)


@app.command()
def unverify(acct: str) -> None:
    """Remove an account's verified badge."""
    _moderate("unverify", acct)


@app.command()
def suspend(acct: str) -> None:
    """Suspend an account: it can no longer sign in and its tokens are revoked."""
    _moderate("suspend", acct)


@app.command()
def unsuspend(acct: str) -> None:
    """Lift an account's suspension."""
    _moderate("unsuspend", acct)


if __name__ == "__main__":
    app()
