"""Signing in, signing out and signing up in the browser."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from starling.adapters.db import reads_first
from starling.domain.errors import Forbidden, Unauthorized
from starling.repositories.instance import registrations_mode
from starling.services.accounts.authenticate import authenticate
from starling.services.accounts.errors import ValidationFailed
from starling.services.accounts.sign_up import SignUp, sign_up
from starling.streaming.emit import token_revoked
from starling.web.html.forms import bad_form, csrf_failed, read_form, safe_next
from starling.web.html.session import CSRF_FIELD, Page, page_context, stream_key
from starling.web.html.templating import redirect, render

router = APIRouter()


async def sign_in_page(
    page: Page, *, next_url: str, login: str = "", errors: list[str] | None = None, status_code: int = 200,
    application: object = None, notice: str | None = None,
) -> Response:
    mode = await registrations_mode(page.session, page.settings)
    return await render(
        page, "sign_in.html", status_code=status_code, title="Sign in", next=next_url, login=login,
        errors=errors or [], application=application, notice=notice, registrations_open=mode != "closed",
    )


@router.get("/auth/sign_in", include_in_schema=False)
async def sign_in_form(request: Request, page: Page = Depends(page_context)) -> Response:
    next_url = safe_next(request.query_params.get("next"))
    if page.user is not None:
        return redirect(page, next_url)
    return await sign_in_page(page, next_url=next_url)


@router.post("/auth/sign_in", include_in_schema=False)
async def sign_in(request: Request, page: Page = Depends(page_context)) -> Response:
    form = await read_form(request)
    if form is None:
        return await bad_form(page)
    if not page.csrf_ok(form.get(CSRF_FIELD)):
        return await csrf_failed(page)
    next_url = safe_next(form.get("next"))
    login = form.get("login", "")
    try:
        async with reads_first(page.session):  # signing in writes nothing: no write lock while hashing
            user, account = await authenticate(page.session, login, form.get("password", ""))
    except (Unauthorized, Forbidden) as exc:
        return await sign_in_page(page, next_url=next_url, login=login, errors=[exc.message], status_code=422)
    page.sign_in(user, account)
    return redirect(page, next_url)


@router.post("/auth/sign_out", include_in_schema=False)
async def sign_out(request: Request, page: Page = Depends(page_context)) -> Response:
    form = await read_form(request)
    if form is None:
        return await bad_form(page)
    if not page.csrf_ok(form.get(CSRF_FIELD)):
        return await csrf_failed(page)
    if page.user is not None:
        # Close the live streams this sign-in opened (in every worker, through the event log).
        token_revoked(page.session, stream_key(page.signer, page.web))
        await page.commit()
    page.sign_out()
    return redirect(page, safe_next(form.get("next"), "/auth/sign_in"))


async def _sign_up_page(
    page: Page, *, mode: str, next_url: str, form: dict[str, str] | None = None, errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    values = {"username": "", "email": "", "reason": "", "agreement": ""}
    values.update({k: v for k, v in (form or {}).items() if k in values})
    return await render(
        page, "sign_up.html", status_code=status_code, title="Sign up", mode=mode, next=next_url, form=values,
        errors=errors or [],
    )


@router.get("/auth/sign_up", include_in_schema=False)
async def sign_up_form(request: Request, page: Page = Depends(page_context)) -> Response:
    mode = await registrations_mode(page.session, page.settings)
    return await _sign_up_page(page, mode=mode, next_url=safe_next(request.query_params.get("next"), ""))


@router.post("/auth/sign_up", include_in_schema=False)
async def sign_up_submit(request: Request, page: Page = Depends(page_context)) -> Response:
    form = await read_form(request)
    if form is None:
        return await bad_form(page)
    if not page.csrf_ok(form.get(CSRF_FIELD)):
        return await csrf_failed(page)
    next_url = safe_next(form.get("next"), "")
    data = SignUp(
        username=form.get("username", ""),
        email=form.get("email", ""),
        password=form.get("password", ""),
        password_confirmation=form.get("password_confirmation", ""),
        agreement=form.get("agreement", "") not in ("", "0", "false", "off"),
        reason=form.get("reason"),
        locale="en",
    )
    try:
        done = await sign_up(page.session, page.settings, data)
    except Forbidden:
        await page.session.rollback()
        return await _sign_up_page(page, mode="closed", next_url=next_url, status_code=403)
    except ValidationFailed as exc:
        await page.session.rollback()
        mode = await registrations_mode(page.session, page.settings)
        return await _sign_up_page(
            page, mode=mode, next_url=next_url, form=form, errors=exc.messages(), status_code=422
        )
    await page.commit()
    if done.pending:
        return await render(
            page, "message.html", title="Almost there",
            message="Your account has been created and is waiting for a moderator's approval. "
            "You can sign in once it has been approved.",
            error=False, link={"href": "/auth/sign_in", "text": "Sign in"},
        )
    page.sign_in(done.user, done.account)
    if next_url:
        return redirect(page, next_url)
    return await render(
        page, "message.html", title="Welcome", message=f"Your account @{done.account.username} is ready.",
        error=False, link={"href": "/", "text": "Continue"},
    )
