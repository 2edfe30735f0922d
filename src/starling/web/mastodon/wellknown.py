"""Discovery documents other servers and apps look for: WebFinger, host-meta, NodeInfo and the
OAuth authorization server metadata (RFC 8414)."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import quoteattr

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from starling import __version__
from starling.domain.scopes import ADMIN, ALL, READ, TOP_LEVEL, WRITE
from starling.services.instance.describe_instance import describe_instance
from starling.services.instance.find_webfinger_account import find_webfinger_account
from starling.web.deps import Ctx, anonymous, get_container
from starling.web.mastodon import urls
from starling.web.responses import json_response

router = APIRouter()

NODEINFO_SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/2.0"
PROFILE_PAGE = "http://webfinger.net/rel/profile-page"
CORS = {"Access-Control-Allow-Origin": "*"}
SCOPES = [s for s in (*TOP_LEVEL, *READ, *WRITE, *ADMIN) if s in ALL]


def _json(content: Any, media_type: str, *, cache: bool = False) -> Response:
    headers = dict(CORS)
    if cache:
        headers["Cache-Control"] = "max-age=259200, public"
        headers["Vary"] = "Accept"
    response = json_response(content, headers=headers)
    response.headers["Content-Type"] = media_type
    return response


@router.get("/.well-known/webfinger")
async def webfinger(request: Request, ctx: Ctx = Depends(anonymous)) -> Response:
    settings = ctx.container.settings
    account = await find_webfinger_account(ctx.session, request.query_params.get("resource"), settings.server_name)
    base = settings.base_url
    profile = urls.account_url(base, account)
    actor = urls.account_uri(base, account)
    jrd = {
        "subject": f"acct:{account.username}@{settings.server_name}",
        "aliases": [profile, actor],
        "links": [
            {"rel": PROFILE_PAGE, "type": "text/html", "href": profile},
            {"rel": "self", "type": "application/activity+json", "href": actor},
        ],
    }
    return _json(jrd, "application/jrd+json; charset=utf-8", cache=True)


@router.get("/.well-known/host-meta")
async def host_meta(request: Request) -> Response:
    template = get_container(request).settings.base_url + "/.well-known/webfinger?resource={uri}"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template={quoteattr(template)}/>\n'
        "</XRD>\n"
    )
    headers = {**CORS, "Cache-Control": "max-age=259200, public"}
    return Response(body, media_type="application/xrd+xml; charset=utf-8", headers=headers)


@router.get("/.well-known/nodeinfo")
async def nodeinfo_links(request: Request) -> Response:
    base = get_container(request).settings.base_url
    return _json({"links": [{"rel": NODEINFO_SCHEMA, "href": f"{base}/nodeinfo/2.0"}]}, "application/json")


@router.get("/nodeinfo/2.0")
async def nodeinfo(ctx: Ctx = Depends(anonymous)) -> Response:
    info = await describe_instance(ctx.session, ctx.container.settings, counts=True, activity=True)
    document = {
        "version": "2.0",
        "software": {"name": "starling", "version": __version__},
        "protocols": [],
        "services": {"outbound": [], "inbound": []},
        "usage": {
            "users": {
                "total": info.stats.user_count,
                "activeMonth": info.stats.active_month,
                "activeHalfyear": info.stats.active_half_year,
            },
            "localPosts": info.stats.status_count,
        },
        "openRegistrations": info.registrations_open,
        "metadata": {"nodeName": info.title, "nodeDescription": info.description},
    }
    return _json(document, f'application/json; profile="{NODEINFO_SCHEMA}#"')


@router.get("/.well-known/oauth-authorization-server")
async def oauth_authorization_server(request: Request) -> Response:
    base = get_container(request).settings.base_url
    metadata = {
        "issuer": base + "/",
        "service_documentation": "https://docs.joinmastodon.org/",
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "userinfo_endpoint": f"{base}/oauth/userinfo",
        "app_registration_endpoint": f"{base}/api/v1/apps",
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "password", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
    }
    return _json(metadata, "application/json")
