"""Rendering a profile's bio and field values to HTML, linking mentions of accounts this server knows."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.text import MentionResolver, extract_mentions, render_html
from starling.models import Account
from starling.repositories.accounts import accounts_by_usernames


def _profile_url(base_url: str, account: Account) -> str:
    if account.url:
        return account.url
    if account.domain is None:
        return f"{base_url}/@{account.username}"
    return account.uri or f"https://{account.domain}/@{account.username}"


async def mention_resolver(
    session: AsyncSession, texts: Iterable[str], *, base_url: str, local_domain: str
) -> MentionResolver:
    """One query for every mention in ``texts``; ``@user@this.server`` counts as local."""
    local = local_domain.lower()
    wanted = [(u, None if d == local else d) for text in texts for u, d in extract_mentions(text)]
    known = await accounts_by_usernames(session, wanted)

    def resolve(username: str, domain: str | None) -> str | None:
        d = domain.lower() if domain else None
        account = known.get((username.lower(), None if d == local else d))
        return _profile_url(base_url, account) if account else None

    return resolve


def render_field_value(value: str, *, base_url: str, resolve: MentionResolver) -> str:
    """A field value is one line of inline HTML (links, mentions), without the paragraph around it."""
    html = render_html(value.replace("\n", " "), base_url=base_url, resolve_mention=resolve)
    if html.startswith("<p>") and html.endswith("</p>"):
        html = html[3:-4]
    return html
