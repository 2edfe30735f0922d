"""One's own settings: the profile (the API's update_credentials service) and the applications let in."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from starling.domain.errors import NotFound, StarlingError
from starling.domain.ids import parse_id
from starling.services.accounts.update_credentials import MAX_FIELDS, ProfileChanges, update_credentials
from starling.services.media.setup import media_setup
from starling.services.oauth.authorized_apps import list_authorized_apps, revoke_authorized_app
from starling.web.html.common import guarded, posted_form, render_app, rollback, sign_in_redirect
from starling.web.html.media_forms import profile_pictures
from starling.web.html.scope_labels import describe_all
from starling.web.html.session import Page, page_context
from starling.web.html.templating import redirect

router = APIRouter()

_ON = ("1", "on", "true", "yes")


def _field_rows(fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
    rows = list(fields)[:MAX_FIELDS]
    return rows + [("", "")] * (MAX_FIELDS - len(rows))


async def _profile_form(page: Page, *, saved: bool = False, errors: list[str] | None = None,
                        values: dict[str, str] | None = None, status_code: int = 200) -> Response:
    assert page.account is not None
    account = page.account
    if values is None:
        current = {
            "display_name": account.display_name, "note": account.note, "locked": "1" if account.locked else "",
        }
        fields = [(str(f.get("name", "")), str(f.get("value", ""))) for f in account.fields or []]
    else:
        current = values
        fields = [(values.get(f"field_name_{i}", ""), values.get(f"field_value_{i}", "")) for i in range(MAX_FIELDS)]
    return await render_app(
        page, "settings_profile.html", status_code=status_code, title="Edit profile", form=current,
        fields=_field_rows(fields), saved=saved, errors=errors or [],
    )


@router.get("/settings/profile", include_in_schema=False)
@guarded
async def profile_settings(page: Page = Depends(page_context)) -> Response:
    if page.account is None:
        return sign_in_redirect(page)
    return await _profile_form(page, saved=page.request.query_params.get("saved") == "1")


@router.post("/settings/profile", include_in_schema=False)
@guarded
async def save_profile(page: Page = Depends(page_context)) -> Response:
    form = await posted_form(page, max_files=2)
    if not isinstance(form, dict):
        return form
    assert page.account is not None and page.user is not None
    avatar, header = profile_pictures(page)
    changes = ProfileChanges(
        avatar=avatar,
        header=header,
        display_name=form.get("display_name", ""),
        note=form.get("note", ""),
        locked=form.get("locked", "") in _ON,
        fields=[(form.get(f"field_name_{i}", ""), form.get(f"field_value_{i}", "")) for i in range(MAX_FIELDS)],
    )
    settings = page.settings
    try:
        await update_credentials(
            page.session, page.account, page.user, changes, base_url=settings.base_url,
            local_domain=settings.server_name, media=media_setup(settings),
        )
    except StarlingError as exc:
        await rollback(page)
        return await _profile_form(page, errors=[exc.message], values=form, status_code=exc.status_code)
    await page.commit()
    return redirect(page, "/settings/profile?saved=1")


@router.get("/settings/applications", include_in_schema=False)
@guarded
async def applications(page: Page = Depends(page_context)) -> Response:
    if page.user is None:
        return sign_in_redirect(page)
    apps = await list_authorized_apps(page.session, page.user)
    return await render_app(
        page, "settings_apps.html", title="Authorised apps",
        apps=[(app, describe_all(app.scopes)) for app in apps],
        revoked=page.request.query_params.get("revoked") == "1",
    )


@router.post("/settings/applications/{token_id}/revoke", include_in_schema=False)
@guarded
async def revoke_application(token_id: str, page: Page = Depends(page_context)) -> Response:
    form = await posted_form(page)
    if not isinstance(form, dict):
        return form
    assert page.user is not None
    parsed = parse_id(token_id)
    if parsed is None:
        raise NotFound()
    await revoke_authorized_app(page.session, page.user, parsed)
    await page.commit()
    return redirect(page, "/settings/applications?revoked=1")
