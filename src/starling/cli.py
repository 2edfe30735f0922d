"""The ``starling`` command."""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

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


def _data_dir() -> Path:
    return get_settings().data_dir.resolve()


def _print_revisions(title: str, revisions: list[Any]) -> None:
    for r in revisions:
        console.print(f"  {title} [bold]{r.revision}[/bold] ({r.phase}) {r.doc.splitlines()[0] if r.doc else ''}")


def _contract_blocker(pending_contract: list[Any]) -> str | None:
    """Why a contract step would hurt running workers now, or None when it is safe for this server."""
    from starling.serving import control

    status = control.running_status(_data_dir())
    if status is None:
        return None
    if status.get("state") not in ("serving", None):
        return f"the server is {status.get('state')}; wait until it is serving"
    known = set(status.get("revisions") or [])
    missing = [r.revision for r in pending_contract if r.revision not in known]
    if missing:
        return (
            f"the running workers (generation {status.get('generation')}) run code that does not know "
            f"{', '.join(missing)}: run `starling upgrade` (or `starling reload`) first"
        )
    return None


@app.command()
def migrate(
    contract: Annotated[bool, typer.Option("--contract", help="Also run contract migrations (removals, NOT NULL)")]
    = False,
    status: Annotated[bool, typer.Option("--status", help="Only list applied and pending migrations")] = False,
    force: Annotated[bool, typer.Option("--force", help="Run contract migrations even if old workers run")] = False,
) -> None:
    """Apply pending expand migrations (safe while the server runs); with --contract, contract ones too."""
    from starling import db_migrate

    settings = get_settings()
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.effective_database_url
    todo = db_migrate.pending(url)
    if status:
        done = db_migrate.applied(url)
        for r in db_migrate.all_revisions():
            mark = "[green]applied[/green]" if r.revision in done else "[yellow]pending[/yellow]"
            console.print(f"{mark} {r.revision} ({r.phase}) {r.doc.splitlines()[0] if r.doc else ''}")
        return
    if contract:
        blocker = _contract_blocker([r for r in todo if r.phase == db_migrate.CONTRACT])
        if blocker and not force:
            _fail(f"not running contract migrations: {blocker} (or pass --force)")
        ran = db_migrate.migrate_contract(url)
    else:
        ran = db_migrate.migrate_expand(url)
    _print_revisions("applied", ran)
    left = [r for r in db_migrate.pending(url) if r.phase == db_migrate.CONTRACT]
    if left:
        _print_revisions("pending", left)
        console.print("contract migrations wait: run `starling migrate --contract` once no old code runs")
    console.print("database is up to date" if not left else "expand migrations are up to date")


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
    workers: Annotated[int | None, typer.Option(help="Web worker processes (STARLING_WORKERS)")] = None,
    no_migrate: Annotated[bool, typer.Option("--no-migrate", help="Do not apply migrations first")] = False,
) -> None:
    """Serve the web interface and the API: a master process, N web workers on one socket, one job runner.

    `starling reload` (or SIGHUP to the master) replaces them all with the code now on disk, without
    dropping a request; SIGTERM drains and stops.
    """
    from starling.serving import state

    if host:
        os.environ["STARLING_HOST"] = host
    if port:
        os.environ["STARLING_PORT"] = str(port)
    get_settings.cache_clear()
    settings = get_settings()
    count = max(1, workers or settings.workers)
    running = state.read_pid(settings.data_dir)
    if running is not None:
        _fail(f"a Starling server already runs on this data directory (pid {running}); use `starling reload`")
    if not no_migrate:
        migrate(contract=False, status=False, force=False)
    _ensure_admin()
    console.print(f"Starling serving on {settings.base_url} ({count} worker{'s' if count > 1 else ''})")
    sys.stdout.flush()
    sys.stderr.flush()
    # The master imports no application code: exec it so this process's memory goes too.
    os.execv(sys.executable, [sys.executable, "-m", "starling.serving.master", "--workers", str(count)])


@app.command()
def reload(
    timeout: Annotated[float | None, typer.Option(help="Seconds to wait for the outcome")] = None,
) -> None:
    """Replace every worker with one running the code now on disk, without dropping a request."""
    from starling.serving import control

    try:
        outcome = control.reload(_data_dir(), timeout=timeout)
    except (control.NotRunning, TimeoutError) as exc:
        _fail(str(exc))
        return
    console.print(outcome.summary(), soft_wrap=True)
    if not outcome.ok:
        raise typer.Exit(1)


@app.command()
def upgrade(
    timeout: Annotated[float | None, typer.Option(help="Seconds to wait for the reload")] = None,
) -> None:
    """Upgrade a running server to the code on disk: expand migrations online, then a rolling reload."""
    from starling import db_migrate
    from starling.serving import control

    url = get_settings().effective_database_url
    ran = db_migrate.migrate_expand(url)
    _print_revisions("applied", ran)
    if not ran:
        console.print("no expand migrations pending")
    if control.running_status(_data_dir()) is None:
        console.print("no running server found: start it with `starling serve`")
    else:
        reload(timeout=timeout)
    left = [r for r in db_migrate.pending(url) if r.phase == db_migrate.CONTRACT]
    if left:
        _print_revisions("pending", left)
        console.print("when every server runs this release: `starling migrate --contract`")


@app.command("status")
def server_status() -> None:
    """Show the running server's processes, the last reload and pending migrations."""
    from starling import db_migrate
    from starling.serving import control

    status = control.running_status(_data_dir())
    if status is None:
        console.print("no running server on this data directory")
    else:
        console.print(f"master {status['pid']} {status.get('state')} on {status.get('address')}, "
                      f"generation {status.get('generation')}")
        for w in status.get("workers") or []:
            console.print(f"  web worker {w['pid']} (generation {w['generation']})")
        if status.get("jobs"):
            console.print(f"  job runner {status['jobs']['pid']} (generation {status['jobs']['generation']})")
        for w in status.get("retiring") or []:
            console.print(f"  draining {w['role']} {w['pid']} (generation {w['generation']})")
        last = status.get("last_reload")
        if last:
            from starling.serving.control import ReloadOutcome

            console.print("last reload: " + ReloadOutcome(bool(last.get("ok")), last, status).summary(), soft_wrap=True)
    todo = db_migrate.pending(get_settings().effective_database_url)
    _print_revisions("pending", todo)


@app.command()
def worker() -> None:
    """Run only the job runner (when STARLING_RUN_JOBS_IN_SERVER=false, or on another host)."""
    from starling.serving.jobs_process import run_jobs

    console.print("job runner started")
    code = asyncio.run(run_jobs())
    if code:  # the runner ended by itself: fail, so a supervisor starts another
        console.print("[red]the job runner stopped unexpectedly[/red]")
        raise typer.Exit(code)


def _backfill_table(rows: dict[str, Any]) -> None:
    from starling.jobs.backfill import registered

    for name, spec in registered().items():
        progress = rows.get(name)
        if progress is None:
            console.print(f"{name}: never run — {spec.description}")
            continue
        console.print(
            f"{name}: {progress.state}, {progress.visited}/{progress.total} rows visited, "
            f"{progress.changed} changed in {progress.batches} batches (started {progress.started_at}"
            + (f", finished {progress.finished_at})" if progress.finished_at else ")")
        )


@app.command("backfill")
def backfill_command(
    name: Annotated[str | None, typer.Argument(help="Backfill to start or resume")] = None,
    status: Annotated[bool, typer.Option("--status", help="Show every backfill's progress")] = False,
    restart: Annotated[bool, typer.Option("--restart", help="Start over from the first row")] = False,
    batch_size: Annotated[int | None, typer.Option(help="Rows per batch (per transaction)")] = None,
    here: Annotated[bool, typer.Option("--here", help="Run the batches in this process, not the job runner")]
    = False,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Show progress until it is done")] = True,
) -> None:
    """Run a long data change in batches, as jobs, while the server keeps serving; shows its progress."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from starling.jobs import backfill as bf

    if status or name is None:
        _backfill_table(_in_transaction(bf.all_progress))
        return
    try:
        bf.get_backfill(name)
    except LookupError as exc:
        _fail(str(exc))

    async def begin(session: AsyncSession) -> bf.Progress:
        return await bf.start(session, name, restart=restart, batch_size=batch_size, enqueue_job=not here)

    async def read(session: AsyncSession) -> bf.Progress | None:
        return await bf.load_progress(session, name)

    async def step(session: AsyncSession) -> bf.Progress | None:
        return await bf.run_batch(session, name)

    current: bf.Progress | None = _in_transaction(begin)
    if not wait and not here:
        console.print(f"backfill {name} queued; follow it with `starling backfill --status`")
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    last_move, last_visited = time.monotonic(), -1
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(name, total=max(1, current.total if current else 1))
        while current is not None and current.state == "running":
            if here:
                current = _in_transaction(step) or _in_transaction(read)
            else:
                time.sleep(0.5)
                current = _in_transaction(read)
            if current is None:
                break
            bar.update(task, completed=current.visited, total=max(1, current.total))
            if current.visited != last_visited:
                last_move, last_visited = time.monotonic(), current.visited
            elif not here and time.monotonic() - last_move > 15:
                bar.stop()
                console.print("no progress for 15 s: is a job runner running? (`starling serve`, "
                              "`starling worker`, or run it here with --here)")
                last_move = time.monotonic()
        if current is not None:
            bar.update(task, completed=max(current.visited, current.total), total=max(1, current.total))
    if current is not None:
        console.print(f"backfill {name} {current.state}: {current.visited} rows visited, {current.changed} changed")


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



from starling.cli_maintenance import maintenance_app, maintenance_window  # noqa: E402

app.add_typer(maintenance_app, name="maintenance")
app.command("maintenance-window")(maintenance_window)


if __name__ == "__main__":
    app()
