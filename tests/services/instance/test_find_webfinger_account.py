from __future__ import annotations

import pytest

from starling.domain.errors import BadRequest, NotFound
from starling.services.instance.find_webfinger_account import username_of


@pytest.mark.parametrize(
    ("resource", "username"),
    [
        ("acct:alice@example.social", "alice"),
        ("ACCT:alice@Example.Social", "alice"),
        ("alice@example.social", "alice"),
        ("@alice@example.social", "alice"),
        ("https://example.social/users/alice", "alice"),
        ("https://example.social/@alice/", "alice"),
        (" acct:alice@example.social ", "alice"),
    ],
)
def test_local_resources(resource: str, username: str) -> None:
    assert username_of(resource, "example.social") == username


@pytest.mark.parametrize(
    "resource",
    ["acct:alice@other.example",  "https://other.example/users/alice", "https://example.social/about",
     "https://example.social/users/alice/statuses/1"],
)
def test_other_servers_and_pages_are_not_found(resource: str) -> None:
    with pytest.raises(NotFound):
        username_of(resource, "example.social")


@pytest.mark.parametrize("resource", [None, "", "  ", "alice", "acct:alice", "acct:@example.social", "a@b@c", "alice@"])
def test_malformed_resources(resource: str | None) -> None:
    with pytest.raises(BadRequest):
        username_of(resource, "example.social")
