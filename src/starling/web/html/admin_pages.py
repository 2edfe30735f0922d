"""The admin area: who may sign up, how the server describes itself, its rules, and moderating accounts
(verify with a note, unverify, suspend, unsuspend) — the same services the command line uses."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from starling.domain.errors import Forbidden, NotFound
from starling.domain.ids import parse_id
from starling.repositories import instance as repo
from starling.repositories.accounts import find_by_acct
from starling.services.admin.moderate_account import (
    suspend_account,
    unsuspend_account,
    unverify_account,
    verify_account,
)
from starling.services.instance.manage_rules import add_rule, delete_rule
from starling.services.instance.update_instance_settings import InstanceSettingsChange, update_instance_settings
from starling.web.html.common import guarded, posted_form, render_app, sign_in_redirect
from starling.web.html.session import Page, page_context
from starling.web.html.templating import redirect
from starling.web.html.views import account_view

router = APIRouter()

MODES = (("open", "Anyone can sign up"), ("approval", "People ask, a moderator approves"),
         ("closed", "Nobody can sign up"))


def _require_admin(page: Page) -> Response | None:
    if page.account is None:
        return sign_in_redirect(page)
    if page.user is None or not page.user.admin:
        raise Forbidden("Only administrators can open this page")
    return None


async def _admin_form(page: Page) -> dict[str, str] | Response:
    """The posted form of an administrator, or the response that refuses it (bad form, not signed in)."""
    form = await posted_form(page)
    if not isinstance(form, dict):
        return form
    return _require_admin(page) or form


@router.get("/admin", include_in_schema=False)
@guarded
async def admin(request: Request, page: Page = Depends(page_context)) -> Response:
    refused = _require_admin(page)
    if refused is not None:
        return refused
    settings = await repo.load_settings(page.session)
    acct = request.query_params.get("acct", "").strip()[:300]
    found = None
    if acct:
        account = await find_by_acct(page.session, acct, page.settings.server_name)
        found = (account_view(account, page.settings.base_url), account.suspended_at is not None) if account else None
    return await render_app(
        page, "admin.html", title="Administration", modes=MODES,
        mode=await repo.registrations_mode(page.session, page.settings),
        description=None, instance_description=str(settings.get(repo.DESCRIPTION) or ""),
        closed_message=str(settings.get(repo.CLOSED_REGISTRATIONS_MESSAGE) or ""),
        rules=await repo.list_rules(page.session), acct=acct, found=found,
        done=request.query_params.get("done", ""),
    )


@router.post("/admin/settings", include_in_schema=False)
@guarded
async def save_settings(page: Page = Depends(page_context)) -> Response:
    form = await _admin_form(page)
    if not isinstance(form, dict):
        return form
    await update_instance_settings(page.session, InstanceSettingsChange(
        registrations_mode=form.get("registrations_mode"),
        description=form.get("description"),
        closed_registrations_message=form.get("closed_registrations_message"),
    ))
    await page.commit()
    return redirect(page, "/admin?done=settings")


@router.post("/admin/rules", include_in_schema=False)
@guarded
async def rules(page: Page = Depends(page_context)) -> Response:
    form = await _admin_form(page)
    if not isinstance(form, dict):
        return form
    if form.get("delete"):
        rule_id = parse_id(form["delete"])
        if rule_id is None:
            raise NotFound()
        await delete_rule(page.session, rule_id)
    else:
        await add_rule(page.session, form.get("text", ""), form.get("hint", ""))
    await page.commit()
    return redirect(page, "/admin?done=rules#rules")


@router.post("/admin/accounts", include_in_schema=False)
@guarded
async def moderate(page: Page = Depends(page_context)) -> Response:
    form = await _admin_form(page)
    if not isinstance(form, dict):
        return form
    acct, action, domain = form.get("acct", "").strip(), form.get("do", ""), page.settings.server_name
    if action == "verify":
        await verify_account(page.session, acct, form.get("note", ""), domain)
    elif action == "unverify":
        await unverify_account(page.session, acct, domain)
    elif action == "suspend":
        await suspend_account(page.session, acct, domain)
    elif action == "unsuspend":
        await unsuspend_account(page.session, acct, domain)
    else:
        raise NotFound()
    await page.commit()
    return redirect(page, f"/admin?acct={quote(acct)}&done={action}#accounts")
