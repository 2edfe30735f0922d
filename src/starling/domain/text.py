"""Plain text to safe HTML, and the status length rule.

The text is split into tokens first (web addresses, e-mail addresses, mentions, hashtags and plain
text); every token is escaped on its own when it is written out, so no markup a user typed can
ever reach the HTML unescaped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html import escape
from urllib.parse import quote

_URL = r"(?P<url>\bhttps?://[^\s<>\"'\u200b]+)"
_EMAIL = r"(?P<email>\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b)"
_MENTION = (
    r"(?P<mention>(?<![\w@/])@(?P<m_user>[A-Za-z0-9_]+(?:[.-]+[A-Za-z0-9_]+)*)"
    r"(?:@(?P<m_domain>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::\d{1,5})?))?)"
)
_HASHTAG = r"(?P<tag>(?<![\w#&/])#(?P<t_name>[\w\u00b7\u200c]*[^\W\d_][\w\u00b7\u200c]*))"
_TOKEN = re.compile("|".join((_URL, _MENTION, _EMAIL, _HASHTAG)), re.UNICODE)

# Punctuation that ends a sentence rather than a web address.
_TRAILING = ".,;:!?'\")]}"
_MAX_TAG = 100


@dataclass(frozen=True)
class Token:
    kind: str  # "text" | "url" | "email" | "mention" | "tag"
    value: str
    username: str = ""
    domain: str | None = None


def _trim_url(url: str) -> tuple[str, str]:
    rest = ""
    while url and url[-1] in _TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        rest = url[-1] + rest
        url = url[:-1]
    return url, rest


def tokenize(text: str) -> Iterator[Token]:
    pos = 0
    for m in _TOKEN.finditer(text):
        start = m.start()
        if start < pos:
            continue
        if start > pos:
            yield Token("text", text[pos:start])
        if m.group("url"):
            url, rest = _trim_url(m.group("url"))
            yield Token("url", url)
            if rest:
                yield Token("text", rest)
        elif m.group("mention"):
            yield Token("mention", m.group("mention"), m.group("m_user"), m.group("m_domain"))
        elif m.group("email"):
            yield Token("email", m.group("email"))
        else:
            name = m.group("t_name")
            if len(name) > _MAX_TAG:
                yield Token("text", m.group("tag"))
            else:
                yield Token("tag", m.group("tag"), name)
        pos = m.end()
    if pos < len(text):
        yield Token("text", text[pos:])


def extract_mentions(text: str) -> list[tuple[str, str | None]]:
    seen: dict[tuple[str, str | None], None] = {}
    for t in tokenize(text):
        if t.kind == "mention":
            seen[(t.username.lower(), t.domain.lower() if t.domain else None)] = None
    return list(seen)


def normalize_tag(name: str) -> str:
    return unicodedata.normalize("NFKC", name).lower()


def extract_tags(text: str) -> list[str]:
    """Hashtag names as written (first spelling wins), unique by normalised name."""
    seen: dict[str, str] = {}
    for t in tokenize(text):
        if t.kind == "tag":
            seen.setdefault(normalize_tag(t.username), t.username)
    return list(seen.values())


def status_length(text: str, *, url_length: int = 23) -> int:
    """Characters as Mastodon counts them: every web address counts as ``url_length``,
    a remote mention counts only its ``@user`` part."""
    n = 0
    for t in tokenize(text):
        if t.kind == "url":
            n += url_length
        elif t.kind == "mention":
            n += len(t.username) + 1
        else:
            n += len(t.value)
    return n


# Resolver: (username, domain) -> (profile URL) or None when the account is unknown.
MentionResolver = Callable[[str, str | None], str | None]


def _link_url(url: str) -> str:
    shown = re.sub(r"^https?://(www\.)?", "", url)
    invisible = url[: len(url) - len(shown)]
    if len(shown) > 30:
        visible, ellipsis_rest = shown[:30], shown[30:]
        return (
            f'<a href="{escape(url)}" target="_blank" rel="nofollow noopener noreferrer">'
            f'<span class="invisible">{escape(invisible)}</span>'
            f'<span class="ellipsis">{escape(visible)}</span>'
            f'<span class="invisible">{escape(ellipsis_rest)}</span></a>'
        )
    return (
        f'<a href="{escape(url)}" target="_blank" rel="nofollow noopener noreferrer">'
        f'<span class="invisible">{escape(invisible)}</span><span class="">{escape(shown)}</span></a>'
    )


def render_html(text: str, *, base_url: str, resolve_mention: MentionResolver) -> str:
    """Render plain text as Mastodon-style HTML: paragraphs, line breaks and links."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    if not text.strip():
        return ""
    paragraphs = re.split(r"\n{2,}", text)
    return "".join(f"<p>{_render_paragraph(p, base_url, resolve_mention)}</p>" for p in paragraphs)


def _render_paragraph(text: str, base_url: str, resolve_mention: MentionResolver) -> str:
    out: list[str] = []
    for t in tokenize(text):
        if t.kind == "text":
            out.append(escape(t.value).replace("\n", "<br />"))
        elif t.kind == "url":
            out.append(_link_url(t.value))
        elif t.kind == "email":
            out.append(f'<a href="mailto:{escape(t.value)}">{escape(t.value)}</a>')
        elif t.kind == "mention":
            href = resolve_mention(t.username, t.domain)
            if href is None:
                out.append(escape(t.value))
            else:
                out.append(
                    f'<span class="h-card" translate="no"><a href="{escape(href)}" class="u-url mention">'
                    f"@<span>{escape(t.username)}</span></a></span>"
                )
        else:
            href = f"{base_url}/tags/{quote(normalize_tag(t.username))}"
            out.append(
                f'<a href="{escape(href)}" class="mention hashtag" rel="tag">#<span>{escape(t.username)}</span></a>'
            )
    return "".join(out)


def clean_text(text: str) -> str:
    """Drop characters no database can store (NUL) and unify line endings."""
    return text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")


_ISO_639_1 = frozenset(
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz "
    "ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik "
    "io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml "
    "mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd "
    "se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi "
    "vo wa wo xh yi yo za zh zu".split()
)


def normalize_language(value: str | None) -> str | None:
    """An ISO 639-1 code from what a client sent (``en``, ``EN``, ``en-US``, ``pt_BR``); None when unusable.

    Clients send their interface locale; an unknown code falls back to the default rather than
    failing the post, as Mastodon does."""
    if not value:
        return None
    base = value.strip().replace("_", "-").split("-", 1)[0].lower()
    return base if base in _ISO_639_1 else None
