"""Reading submitted forms and the ``next`` address pages send people back to."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from starling.web.html.session import Page
from starling.web.html.templating import render

MAX_FIELD = 10_000


async def read_form(request: Request) -> dict[str, str] | None:
    """Text fields of a form post, first value of each; None when the body is not a readable form."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return None
    try:
        form = await request.form(max_files=0, max_fields=100)
    except Exception:
        return None
    out: dict[str, str] = {}
    for key, value in form.multi_items():
        if isinstance(value, str) and key not in out:
            out[key] = value[:MAX_FIELD]
    return out


async def read_form_and_files(
    request: Request, max_files: int
) -> tuple[dict[str, str], dict[str, UploadFile]] | None:
    """Like :func:`read_form`, also keeping up to ``max_files`` non-empty files (spooled to disk)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return None
    try:
        form = await request.form(max_files=max_files, max_fields=100)
    except Exception:
        return None
    fields: dict[str, str] = {}
    files: dict[str, UploadFile] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            fields.setdefault(key, value[:MAX_FIELD])
        elif (value.filename or value.size) and key not in files:
            files[key] = value
    return fields, files


def safe_next(value: object, default: str = "/") -> str:
    """Only a path on this server: never another site (``//host``, ``/\\host``, ``https://...``)."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//"):
        return default
    if "\\" in value or any(ord(c) < 32 or ord(c) == 127 for c in value) or len(value) > 4000:
        return default
    return value


async def bad_form(page: Page) -> Response:
    return await render(
        page, "message.html", status_code=400, title="Bad request", message="The form could not be read.", error=True,
        link=None,
    )


async def csrf_failed(page: Page) -> Response:
    """A post without this browser session's form token: forged elsewhere, or the page is old."""
    return await render(
        page,
        "message.html",
        status_code=403,
        title="Form expired",
        message="This form is no longer valid. Go back, reload the page and try again.",
        error=True,
        link=None,
    )
