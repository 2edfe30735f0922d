"""Reading server-rendered forms in tests, and walking the OAuth pages as a browser would."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import httpx


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str]] = field(default_factory=list)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.labels_for: set[str] = set()
        self.input_ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(action=a.get("action", ""), method=a.get("method", "get").lower()))
        elif tag == "label" and a.get("for"):
            self.labels_for.add(a["for"])
        elif tag in ("input", "textarea") and self.forms:
            kind = a.get("type", "text")
            if kind not in ("hidden", "submit") and a.get("id"):
                self.input_ids.append(a["id"])
            if a.get("name") and kind != "checkbox":
                self.forms[-1].fields.setdefault(a["name"], a.get("value", ""))
        elif tag == "button" and self.forms and a.get("name"):
            self.forms[-1].buttons.append((a["name"], a.get("value", "")))


def parse_forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def unlabelled_inputs(html: str) -> list[str]:
    parser = _FormParser()
    parser.feed(html)
    return [i for i in parser.input_ids if i not in parser.labels_for]


def form_posting_to(html: str, action: str) -> Form:
    for form in parse_forms(html):
        if form.action == action:
            return form
    raise AssertionError(f"no form posting to {action} in page:\n{html[:2000]}")


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def create_app(
    client: httpx.AsyncClient, *, redirect_uris: str | list[str] = "https://app.example/callback",
    scopes: str = "read write follow push",
) -> dict[str, object]:
    r = await client.post(
        "/api/v1/apps", json={"client_name": "Test app", "redirect_uris": redirect_uris, "scopes": scopes,
                              "website": "https://app.example"}
    )
    assert r.status_code == 200, r.text
    data: dict[str, object] = r.json()
    return data


async def app_token(client: httpx.AsyncClient, scope: str = "write:accounts") -> tuple[dict[str, object], str]:
    """A new app and a token of its own (client credentials), as an app gets before signing someone up."""
    app = await create_app(client, scopes="read write follow push")
    r = await client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": app["client_id"],
                                                "client_secret": app["client_secret"], "scope": scope})
    assert r.status_code == 200, r.text
    return app, r.json()["access_token"]


async def sign_in(client: httpx.AsyncClient, page_html: str, login: str, password: str) -> httpx.Response:
    form = form_posting_to(page_html, "/auth/sign_in")
    data = dict(form.fields)
    data.update({"login": login, "password": password})
    return await client.post("/auth/sign_in", data=data)


async def consent(client: httpx.AsyncClient, page_html: str, decision: str = "authorize") -> httpx.Response:
    form = form_posting_to(page_html, "/oauth/authorize")
    assert ("decision", decision) in form.buttons
    return await client.post("/oauth/authorize", data={**form.fields, "decision": decision})


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def authorize_through_pages(
    client: httpx.AsyncClient, params: dict[str, str], login: str, password: str
) -> httpx.Response:
    """GET the authorize page, sign in on it, allow; returns the final response (redirect or code page)."""
    r = await client.get("/oauth/authorize", params=params)
    assert r.status_code == 200, r.text
    r = await sign_in(client, r.text, login, password)
    assert r.status_code == 303, r.text
    r = await client.get(r.headers["location"])
    assert r.status_code == 200, r.text
    assert "Authorize" in r.text
    return await consent(client, r.text)


PASSWORD = "correct horse battery"


@dataclass
class WebUser:
    """One browser (its own cookie jar) signed in as ``username``, posting forms as a person would."""

    client: httpx.AsyncClient
    username: str

    async def get(self, path: str, **kwargs: object) -> httpx.Response:
        return await self.client.get(path, **kwargs)  # type: ignore[arg-type]

    async def submit(self, path: str, action: str, button: tuple[str, str] | None = None,
                     **values: str) -> httpx.Response:
        """Open ``path``, fill the form posting to ``action`` with ``values`` and send it."""
        page = await self.client.get(path)
        assert page.status_code == 200, page.text
        form = form_posting_to(page.text, action)
        data = dict(form.fields)
        data.update(values)
        if button is not None:
            assert button in form.buttons, (button, form.buttons)
            data[button[0]] = button[1]
        return await self.client.post(action, data=data)

    async def csrf(self) -> str:
        page = await self.client.get("/about")
        return form_posting_to(page.text, "/auth/sign_out").fields["csrf_token"]


def forms_posting_to(html: str, action: str) -> list[Form]:
    return [f for f in parse_forms(html) if f.action == action]
