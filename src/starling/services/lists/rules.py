"""What a list may be: its title, its replies policy, and how many lists one account may have."""

from __future__ import annotations

from starling.domain.errors import Unprocessable

REPLIES_POLICIES = ("followed", "list", "none")
DEFAULT_REPLIES_POLICY = "list"
MAX_TITLE = 255
# As Mastodon's List::PER_ACCOUNT_LIMIT.
MAX_LISTS = 50


def checked_title(title: str | None) -> str:
    value = (title or "").strip()
    if not value:
        raise Unprocessable("Validation failed: Title can't be blank", field="title", code="ERR_BLANK")
    if len(value) > MAX_TITLE:
        raise Unprocessable(
            f"Validation failed: Title is too long (maximum is {MAX_TITLE} characters)", field="title",
            code="ERR_TOO_LONG",
        )
    return value


def checked_replies_policy(value: str) -> str:
    if value not in REPLIES_POLICIES:
        raise Unprocessable(
            "Validation failed: Replies policy is not included in the list", field="replies_policy",
            code="ERR_INCLUSION",
        )
    return value
