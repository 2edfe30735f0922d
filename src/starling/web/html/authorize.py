"""The OAuth authorization page: sign in if needed, then allow or deny what an application asks for.

Errors about the client or its redirect URI are shown here and never redirected (the address could be
anyone's); once both are verified, errors go back to the application as RFC 6749 §4.1.2.1 says.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from starling.services.oauth.authorize import AuthorizationParams, check_authorization_request, decide_authorization
from starling.services.oauth.errors import OAuthError
from starling.services.oauth.redirect_uris import OOB, with_params
from starling.web.html.auth_pages import sign_in_page
from starling.web.html.forms import bad_form, csrf_failed, read_form
from starling.web.html.scope_labels import describe_all
from starling.web.html.session import CSRF_FIELD, Page, page_context
from starling.web.html.templating import redirect, render

router = APIRouter()

_TRUE = ("1", "true", "yes", "on")


async def _error(page: Page, exc: OAuthError) -> Response:
    if exc.redirect_uri is not None and exc.redirect_uri != OOB:
        target = with_params(
            exc.redirect_uri, {"error": exc.error, "error_description": exc.description, "state": exc.state}
        )
        return redirect(page, target, status_code=302)
    denied = exc.error == "access_denied"
    return await render(
        page,
        "message.html",
        status_code=200 if denied else 400,
        title="Access denied" if denied else "Authorization failed",
        message=exc.description or exc.error,
        error=not denied,
        link=None,
    )


@router.get("/oauth/authorize", include_in_schema=False)
async def authorize_form(request: Request, page: Page = Depends(page_context)) -> Response:
    params = AuthorizationParams.from_mapping(request.query_params)
    try:
        auth_request = await check_authorization_request(page.session, params)
    except OAuthError as exc:
        return await _error(page, exc)
    fields = auth_request.form_fields()
    here = "/oauth/authorize?" + urlencode(fields)
    force_login = request.query_params.get("force_login", "").lower() in _TRUE
    if page.user is None or force_login:
        return await sign_in_page(page, next_url=here, application=auth_request.application)
    return await render(
        page,
        "authorize.html",
        title="Authorization required",
        application=auth_request.application,
        scopes=describe_all(auth_request.scopes),
        fields=fields,
        here=here,
    )


@router.post("/oauth/authorize", include_in_schema=False)
async def authorize(request: Request, page: Page = Depends(page_context)) -> Response:
    form = await read_form(request)
    if form is None:
        return await bad_form(page)
    if not page.csrf_ok(form.get(CSRF_FIELD)):
        return await csrf_failed(page)
    params = AuthorizationParams.from_mapping(form)
    if page.user is None:
        fields = {k: v for k, v in vars(params).items() if v is not None}
        return redirect(page, "/oauth/authorize?" + urlencode(fields))
    try:
        outcome = await decide_authorization(
            page.session, params, page.user, approved=form.get("decision") == "authorize"
        )
    except OAuthError as exc:
        await page.session.rollback()
        return await _error(page, exc)
    await page.commit()
    if outcome.redirect_uri == OOB:
        return await render(page, "oob.html", title="Authorization code", code=outcome.code,
                            application=outcome.application)
    return redirect(page, with_params(outcome.redirect_uri, {"code": outcome.code, "state": outcome.state}),
                    status_code=302)
