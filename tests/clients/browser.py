"""Walk the server's OAuth authorization pages as a browser would: follow redirects on the server,
fill in whatever sign-in form is shown (including its hidden fields such as a CSRF token), press the
button that grants access, and pick up the authorization code.

Nothing here knows the field names of the server's forms: inputs are recognised by type and by
usual names, so the pages can change without breaking the clients' tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
from bs4 import BeautifulSoup
from bs4.element import Tag

LOGIN_NAME = re.compile(r"email|user|login|acct|account|name", re.I)
GRANT = re.compile(r"authori[sz]e|allow|approve|accept|grant|continue|confirm|yes", re.I)
REFUSE = re.compile(r"deny|cancel|reject|refuse|decline|no\b", re.I)
MAX_STEPS = 12


class BrowserError(AssertionError):
    pass


@dataclass
class Button:
    name: str | None
    value: str
    label: str


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    password_fields: list[str] = field(default_factory=list)
    login_fields: list[str] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)

    @property
    def label(self) -> str:
        return " ".join(b.label for b in self.buttons) or self.action


def _text(tag: Tag) -> str:
    return " ".join(tag.get_text(" ", strip=True).split())


def _attr(tag: Tag, name: str, default: str = "") -> str:
    value = tag.get(name)
    if value is None:
        return default
    return " ".join(value) if isinstance(value, list) else str(value)


def parse_forms(html: str, page_url: str) -> list[Form]:
    soup = BeautifulSoup(html, "html.parser")
    forms: list[Form] = []
    for node in soup.find_all("form"):
        if not isinstance(node, Tag):
            continue
        form = Form(action=urljoin(page_url, _attr(node, "action") or page_url),
                    method=(_attr(node, "method") or "get").lower())
        for control in node.find_all(["input", "button", "select", "textarea"]):
            if not isinstance(control, Tag):
                continue
            name = _attr(control, "name") or None
            kind = _attr(control, "type", "submit" if control.name == "button" else "text").lower()
            if control.name == "button" or kind in ("submit", "image"):
                label = _text(control) or _attr(control, "value") or _attr(control, "aria-label")
                form.buttons.append(Button(name, _attr(control, "value"), label))
            elif name is None:
                continue
            elif kind == "password":
                form.password_fields.append(name)
            elif kind in ("checkbox", "radio"):
                if control.has_attr("checked"):
                    form.fields.append((name, _attr(control, "value", "on")))
            elif control.name == "select":
                chosen = control.find("option", selected=True) or control.find("option")
                if isinstance(chosen, Tag):
                    form.fields.append((name, _attr(chosen, "value", _text(chosen))))
            elif control.name == "textarea":
                form.fields.append((name, control.get_text()))
            elif kind in ("text", "email") and LOGIN_NAME.search(name) and not _attr(control, "value"):
                form.login_fields.append(name)
            else:
                form.fields.append((name, _attr(control, "value")))
        forms.append(form)
    return forms


CODE = re.compile(r"[A-Za-z0-9_\-.~]{16,}")


def _page_code(response: httpx.Response) -> str | None:
    """An out-of-band code: in the page's URL, or shown on the page (read-only input, <code>, id/class 'code')."""
    query = parse_qs(urlsplit(str(response.url)).query)
    if query.get("code"):
        return query["code"][0]
    soup = BeautifulSoup(response.text, "html.parser")
    candidates = [n for n in soup.find_all("input") if isinstance(n, Tag) and n.has_attr("readonly")]
    candidates += [n for n in soup.find_all(["code", "pre", "kbd", "samp", "output"]) if isinstance(n, Tag)]
    candidates += [n for n in soup.find_all(id=re.compile("code", re.I)) if isinstance(n, Tag)]
    candidates += [n for n in soup.find_all(class_=re.compile("code", re.I)) if isinstance(n, Tag)]
    for node in candidates:
        value = _attr(node, "value") if node.name == "input" else _text(node)
        if CODE.fullmatch(value):
            return value
    return None


@dataclass
class Grant:
    """Where the walk ended: a code, or the error the server sent back to the client (e.g. access_denied)."""

    code: str | None
    state: str | None
    redirect: str | None
    pages: list[str]
    error: str | None = None


class OAuthBrowser:
    """A cookie-keeping client that walks from an authorization URL to the code."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.origin = "{0.scheme}://{0.netloc}".format(urlsplit(self.base_url))
        self.http = httpx.Client(follow_redirects=False, timeout=30)
        self.pages: list[str] = []

    def close(self) -> None:
        self.http.close()

    def _on_server(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and f"{parts.scheme}://{parts.netloc}" == self.origin

    def _send(self, method: str, url: str, data: list[tuple[str, str]] | None = None,
              referer: str | None = None) -> httpx.Response:
        headers = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
        if method == "POST":
            headers["Origin"] = self.origin
        if referer:
            headers["Referer"] = referer
        if method == "POST":
            response = self.http.post(url, data=_multi(data or []), headers=headers)
        else:
            response = self.http.get(url, params=_multi(data or []) or None, headers=headers)
        self.pages.append(f"{method} {url} -> {response.status_code}")
        return response

    def _follow(self, response: httpx.Response) -> httpx.Response:
        """Follow redirects that stay on the server; stop at one that leaves it (the client's callback)."""
        for _ in range(MAX_STEPS):
            if not response.is_redirect:
                return response
            target = urljoin(str(response.url), response.headers["location"])
            if not self._on_server(target):
                return response
            response = self._send("GET", target)
        raise BrowserError(f"too many redirects: {self.pages}")

    def authorize(self, url: str, login: str, password: str, *, grant: bool = True) -> Grant:
        response = self._follow(self._send("GET", url))
        signed_in = consented = False
        for _ in range(MAX_STEPS):
            if response.is_redirect:
                target = urljoin(str(response.url), response.headers["location"])
                query = parse_qs(urlsplit(target).query)
                state = query.get("state", [""])[0] or None
                if "code" in query:
                    return Grant(query["code"][0], state, target, self.pages)
                if "error" in query:
                    return Grant(None, state, target, self.pages, error=query["error"][0])
                raise BrowserError(f"redirected away without a code: {target}\n{self.pages}")
            if response.status_code >= 400:
                raise BrowserError(
                    f"{response.request.method} {response.url} answered {response.status_code}:\n"
                    f"{response.text[:2000]}\n{self.pages}"
                )
            if consented:
                code = _page_code(response)
                if code:
                    return Grant(code, None, None, self.pages)
            forms = parse_forms(response.text, str(response.url))
            login_form = next((f for f in forms if f.password_fields), None)
            if login_form is not None:
                if signed_in:
                    raise BrowserError(f"sign-in form shown again (wrong credentials?):\n{_visible(response)}")
                response = self._submit(login_form, response, login=login, password=password)
                signed_in = True
                continue
            consent = _pick_consent_form(forms, grant=grant)
            if consent is None:
                raise BrowserError(f"no sign-in or consent form on {response.url}:\n{_visible(response)}")
            form, button = consent
            response = self._submit(form, response, button=button)
            consented = True
        raise BrowserError(f"authorization did not finish: {self.pages}")

    def _submit(self, form: Form, page: httpx.Response, *, login: str | None = None, password: str | None = None,
                button: Button | None = None) -> httpx.Response:
        data = list(form.fields)
        data += [(name, login or "") for name in form.login_fields]
        data += [(name, password or "") for name in form.password_fields]
        if button is None and form.buttons:
            button = form.buttons[0]
        if button is not None and button.name:
            data.append((button.name, button.value))
        method = "POST" if form.method == "post" else "GET"
        return self._follow(self._send(method, form.action, data, referer=str(page.url)))


def _multi(pairs: list[tuple[str, str]]) -> dict[str, str | list[str]]:
    out: dict[str, str | list[str]] = {}
    for k, v in pairs:
        if k in out:
            prev = out[k]
            out[k] = [*prev, v] if isinstance(prev, list) else [prev, v]
        else:
            out[k] = v
    return out


def _pick_consent_form(forms: list[Form], *, grant: bool) -> tuple[Form, Button | None] | None:
    wanted, unwanted = (GRANT, REFUSE) if grant else (REFUSE, GRANT)
    for form in forms:
        if any(name == "_method" and value.lower() == "delete" for name, value in form.fields) and grant:
            continue
        for button in form.buttons:
            words = f"{button.label} {button.name or ''} {button.value}"
            if wanted.search(words) and not unwanted.search(button.label):
                return form, button
    for form in forms:
        words = f"{form.action} {form.label}"
        if wanted.search(words) and not unwanted.search(form.label):
            return form, (form.buttons[0] if form.buttons else None)
    return None


def _visible(response: httpx.Response) -> str:
    soup = BeautifulSoup(response.text, "html.parser")
    return " ".join(soup.get_text(" ", strip=True).split())[:1500]
