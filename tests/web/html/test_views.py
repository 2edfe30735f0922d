"""The view values templates get: trusted local HTML, cleaned remote HTML, text for titles, ages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from markupsafe import Markup

from starling.web.html.views import absolute, plain_text, safe_html, same_site, when


def test_remote_html_is_cleaned_and_local_html_kept() -> None:
    hostile = '<p>Hi <script>alert(1)</script><a href="javascript:x" onclick="y">link</a><img src=x onerror=z></p>'
    cleaned = safe_html(hostile, remote=True)
    assert isinstance(cleaned, Markup)
    assert "<script" not in cleaned and "onclick" not in cleaned and "onerror" not in cleaned
    assert "javascript:" not in cleaned
    assert "<p>Hi" in cleaned
    local = '<p>Hi <a href="https://example.org" rel="nofollow noopener noreferrer">x</a></p>'
    assert safe_html(local, remote=False) == Markup(local)


def test_plain_text_for_titles() -> None:
    assert plain_text("<p>Hello <b>world</b></p><p>again &amp; again</p>") == "Hello world again & again"
    long = plain_text("<p>" + "word " * 100 + "</p>", limit=20)
    assert len(long) == 20 and long.endswith("…")


def test_ages() -> None:
    now = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    assert when(now - timedelta(seconds=5), now) == "5s"
    assert when(now - timedelta(minutes=3), now) == "3m"
    assert when(now - timedelta(hours=2), now) == "2h"
    assert when(now - timedelta(days=3), now) == "3d"
    assert when(now - timedelta(days=30), now) == "2025-12-11"
    assert when(now + timedelta(seconds=30), now) == "0s"


def test_addresses() -> None:
    base = "https://social.example"
    assert same_site("https://social.example/static/a.png", base) == "/static/a.png"
    assert same_site("https://cdn.example/a.png", base) == "https://cdn.example/a.png"
    assert same_site("https://social.example.evil/a.png", base) == "https://social.example.evil/a.png"
    assert absolute("/static/a.png", base) == "https://social.example/static/a.png"
    assert absolute("https://cdn.example/a.png", base) == "https://cdn.example/a.png"
