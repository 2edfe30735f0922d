from __future__ import annotations

import pytest

from starling.services.oauth.redirect_uris import OOB, split_uris, uri_problem, with_params


@pytest.mark.parametrize(
    "uri",
    [OOB, "https://app.example/cb", "http://127.0.0.1:8080/cb", "com.example.app:/oauth", "myapp://callback",
     "https://app.example/cb?from=starling"],
)
def test_accepted_uris(uri: str) -> None:
    assert uri_problem(uri) is None


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("/cb", "must be an absolute URI"),
        ("app.example/cb", "must be an absolute URI"),
        ("https://app.example/cb#x", "cannot contain a fragment"),
        ("javascript:alert(1)", "must be an absolute URI"),
        ("data:text/html,hi", "must be an absolute URI"),
        ("https://", "must be an absolute URI"),
        ("https://app.example/" + "x" * 1000, "is too long (maximum is 1000 characters)"),
    ],
)
def test_refused_uris(uri: str, problem: str) -> None:
    assert uri_problem(uri) == problem


def test_split_uris_keeps_order_and_drops_duplicates() -> None:
    assert split_uris("a:/1\nb:/2\r\n a:/1 ") == ["a:/1", "b:/2"]
    assert split_uris(["a:/1", "b:/2 c:/3"]) == ["a:/1", "b:/2", "c:/3"]


def test_with_params() -> None:
    assert with_params("https://a.example/cb", {"code": "x y", "state": None}) == "https://a.example/cb?code=x+y"
    assert with_params("https://a.example/cb?k=1", {"code": "c"}) == "https://a.example/cb?k=1&code=c"
    assert with_params("com.app:/cb", {"code": "c", "state": "s"}) == "com.app:/cb?code=c&state=s"
