"""Plain text → HTML: tokens, escaping (property-tested), the length rule and language codes."""

from __future__ import annotations

import html
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from starling.domain.text import (
    clean_text,
    extract_mentions,
    extract_tags,
    normalize_language,
    render_html,
    status_length,
    tokenize,
)

BASE = "https://social.example"


def resolve_local(username: str, domain: str | None) -> str | None:
    return None if domain else f"{BASE}/@{username}"


def no_one(username: str, domain: str | None) -> str | None:
    return None


# Exactly the tags the renderer writes; anything else left in the output would have come from the input.
_OWN_TAGS = re.compile(
    r'</?p>|<br />|</a>|</span>'
    r'|<span class="(?:invisible|ellipsis|)">'
    r'|<span class="h-card" translate="no">'
    r'|<span>'
    r'|<a href="[^"<>]*"(?: target="_blank" rel="nofollow noopener noreferrer"'
    r'| class="u-url mention"| class="mention hashtag" rel="tag")?>'
)


def _text_content(rendered: str) -> str:
    return _OWN_TAGS.sub("", rendered)


def _squash(s: str) -> str:
    return "".join(s.split())


_pieces = st.one_of(
    st.text(),
    st.sampled_from([
        "<", ">", "&", '"', "'", "<script>alert(1)</script>", "&amp;", "&#39;", "\n", "\n\n", " ", "@", "#",
        "@bob", "@bob@remote.example", "#tag", "#123", "https://example.com/a?b=<c>&d='e'",
        "http://www.example.org/" + "x" * 40, "mail@example.com", "(https://example.com/x)", "\r\n",
        'javascript:alert("x")', "<a href='x'>", "#caf\u00e9", "@\u00e9", "\u200b", "@a.b-c_d",
    ]),
)
_texts = st.lists(_pieces, max_size=12).map("".join)


@settings(max_examples=400, deadline=None)
@given(_texts)
def test_rendered_html_escapes_all_input(text: str) -> None:
    for resolver in (resolve_local, no_one):
        rendered = render_html(text, base_url=BASE, resolve_mention=resolver)
        content = _text_content(rendered)
        assert "<" not in content
        assert ">" not in content
        assert _squash(html.unescape(content)) == _squash(text)


@settings(max_examples=200, deadline=None)
@given(_texts)
def test_tokens_cover_the_input(text: str) -> None:
    assert "".join(t.value for t in tokenize(text)) == text


def test_paragraphs_and_line_breaks() -> None:
    assert render_html("a\nb\n\n\nc", base_url=BASE, resolve_mention=no_one) == "<p>a<br />b</p><p>c</p>"
    assert render_html("\n\n  \n", base_url=BASE, resolve_mention=no_one) == ""
    assert render_html("x\r\ny", base_url=BASE, resolve_mention=no_one) == "<p>x<br />y</p>"


def test_links_trim_trailing_punctuation_and_shorten() -> None:
    out = render_html("see https://example.com/a.", base_url=BASE, resolve_mention=no_one)
    assert out.endswith('<span class="">example.com/a</span></a>.</p>')
    assert '<span class="invisible">https://</span>' in out
    long = "https://www.example.com/" + "x" * 50
    out = render_html(long, base_url=BASE, resolve_mention=no_one)
    assert '<span class="invisible">https://www.</span>' in out
    assert '<span class="ellipsis">' in out
    out = render_html("(https://example.com/wiki_(x))", base_url=BASE, resolve_mention=no_one)
    assert 'href="https://example.com/wiki_(x)"' in out


def test_mentions_resolved_or_left_as_text() -> None:
    out = render_html("hi @bob and @eve@far.example", base_url=BASE, resolve_mention=resolve_local)
    assert f'<a href="{BASE}/@bob" class="u-url mention">@<span>bob</span></a>' in out
    assert "@eve@far.example" in out and "far.example</a>" not in out
    assert extract_mentions("@Bob @bob @x@Host.Example @y@localhost:3000 a@b.c") == [
        ("bob", None), ("x", "host.example"), ("y", "localhost:3000"),
    ]
    assert extract_mentions("@bob@testserver.") == [("bob", "testserver")]


def test_hashtags() -> None:
    assert extract_tags("#One #one #ONE #two #3 a#b &#39; #caf\u00e9") == ["One", "two", "caf\u00e9"]
    out = render_html("#Tag", base_url=BASE, resolve_mention=no_one)
    assert out == f'<p><a href="{BASE}/tags/tag" class="mention hashtag" rel="tag">#<span>Tag</span></a></p>'


def test_status_length() -> None:
    assert status_length("hello") == 5
    assert status_length("https://example.com/" + "a" * 100) == 23
    assert status_length("go https://example.com/x now", url_length=10) == 3 + 10 + 4
    assert status_length("@someone@very.long.domain.example hi") == len("@someone hi")


def test_clean_text() -> None:
    assert clean_text("a\x00b\r\nc\rd") == "ab\nc\nd"


def test_normalize_language() -> None:
    assert normalize_language("en") == "en"
    assert normalize_language("EN-us") == "en"
    assert normalize_language("pt_BR") == "pt"
    assert normalize_language("xx") is None
    assert normalize_language("english") is None
    assert normalize_language("") is None
    assert normalize_language(None) is None
