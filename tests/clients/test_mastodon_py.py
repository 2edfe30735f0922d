"""A user story told through Mastodon.py against a real server process.

Every call goes through the library exactly as an application would make it: registering the app,
both sign-in flows (password and authorization code through the server's HTML pages), posting,
following a locked account, favourites, reblogs, threads, notifications, search, and paging the
home timeline through the ``Link`` header.
"""

from __future__ import annotations

import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from mastodon import Mastodon, MastodonIllegalArgumentError, MastodonNotFoundError

from tests.clients.browser import OAuthBrowser
from tests.support.live_server import LiveServer

pytestmark = [pytest.mark.server, pytest.mark.xdist_group("clients-mastodon-py")]

T = TypeVar("T")
PASSWORD = "a long and correct password 42"
OOB = "urn:ietf:wg:oauth:2.0:oob"
APP_CALLBACK = "org.starling.tests:/oauth-callback"
WAIT_SECONDS = 30.0


def eventually(check: Callable[[], T], timeout: float = WAIT_SECONDS) -> T:
    """Retry ``check`` until it stops failing an assertion: side effects (fan-out, notifications) run as jobs."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


@dataclass
class ClientApp:
    base_url: str
    client_id: str
    client_secret: str

    def api(self, **kwargs: Any) -> Mastodon:
        return Mastodon(client_id=self.client_id, client_secret=self.client_secret, api_base_url=self.base_url,
                        version_check_mode="created", request_timeout=30, **kwargs)

    def log_in(self, email: str, password: str = PASSWORD) -> Mastodon:
        api = self.api()
        api.log_in(username=email, password=password, allow_http=True)
        return api


@pytest.fixture(scope="module")
def server(live_server: LiveServer) -> LiveServer:
    return live_server


@pytest.fixture(scope="module")
def client_app(server: LiveServer) -> ClientApp:
    client_id, client_secret = Mastodon.create_app(
        "Starling client tests", api_base_url=server.base_url, redirect_uris=[OOB, APP_CALLBACK],
        website="https://client.example/", request_timeout=30,
    )
    return ClientApp(server.base_url, client_id, client_secret)


def _new_user(client_app: ClientApp, name: str) -> str:
    """Sign up through the API as an app does (client-credentials token, then POST /api/v1/accounts)."""
    email = f"{name}@example.com"
    token = client_app.api().create_account(name, PASSWORD, email, agreement=True)
    assert token
    return email


@pytest.fixture(scope="module")
def alice(server: LiveServer, client_app: ClientApp) -> Mastodon:
    server.create_user("alice", "alice@example.com", PASSWORD)
    return client_app.log_in("alice@example.com")


@pytest.fixture(scope="module")
def bob(client_app: ClientApp) -> Mastodon:
    api = client_app.log_in(_new_user(client_app, "bob"))
    account = api.account_update_credentials(locked=True)
    assert account.locked is True
    return api


def _ids(items: Any) -> list[str]:
    return [str(item.id) for item in items]


def test_app_registration_returns_credentials(client_app: ClientApp) -> None:
    assert client_app.client_id
    assert client_app.client_secret
    assert client_app.client_id != client_app.client_secret


def test_instance_version_is_understood(client_app: ClientApp) -> None:
    api = client_app.api()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        version = api.retrieve_mastodon_version(fail_hard=True)
    assert api.verify_minimum_version("4.0.0", cached=True), version
    assert api.mastodon_api_version is not None, "instance v2 must carry api_versions.mastodon"
    assert not [w for w in caught if "API version" in str(w.message)], [str(w.message) for w in caught]
    v1 = api.instance_v1()
    v2 = api.instance_v2()
    assert v1.version == v2.version
    assert v2.domain
    assert api.instance().version == v2.version


def test_sign_up_returns_a_working_token(client_app: ClientApp) -> None:
    api = client_app.api()
    api.create_account("sigrid", PASSWORD, "sigrid@example.com", agreement=True)
    me = api.account_verify_credentials()
    assert me.username == "sigrid"
    assert client_app.log_in("sigrid@example.com").me().username == "sigrid"


def test_sign_up_errors_are_detailed(client_app: ClientApp, alice: Mastodon) -> None:
    api = client_app.api()
    token, error = api.create_account("alice", PASSWORD, "someone.else@example.com", agreement=True,
                                      return_detailed_error=True)
    assert token is None
    assert error["details"]["username"][0]["error"] == "ERR_TAKEN", error


def test_password_login_and_verify_credentials(alice: Mastodon) -> None:
    me = alice.account_verify_credentials()
    assert me.username == "alice"
    assert me.acct == "alice"
    assert me.source.privacy in ("public", "unlisted", "private", "direct")
    assert me.locked is False


def test_wrong_password_is_refused(client_app: ClientApp, alice: Mastodon) -> None:
    api = client_app.api()
    with pytest.raises(MastodonIllegalArgumentError):
        api.log_in(username="alice@example.com", password="not the password", allow_http=True)


def _authorization_code_login(server: LiveServer, client_app: ClientApp, email: str, redirect_uri: str) -> Mastodon:
    api = client_app.api()
    state = uuid.uuid4().hex
    url = api.auth_request_url(redirect_uris=redirect_uri, scopes=["read", "write"], state=state,
                               force_login=True, allow_http=True)
    browser = OAuthBrowser(server.base_url)
    try:
        grant = browser.authorize(url, email, PASSWORD)
    finally:
        browser.close()
    assert grant.code, grant
    if redirect_uri != OOB:
        assert grant.redirect is not None and grant.redirect.startswith(redirect_uri), grant
        assert grant.state == state, grant
    api.log_in(code=grant.code, redirect_uri=redirect_uri, scopes=["read", "write"], allow_http=True)
    return api


def test_authorization_code_flow_with_app_redirect(server: LiveServer, client_app: ClientApp) -> None:
    email = _new_user(client_app, "carla")
    api = _authorization_code_login(server, client_app, email, APP_CALLBACK)
    assert api.account_verify_credentials().username == "carla"


def test_authorization_code_flow_out_of_band(server: LiveServer, client_app: ClientApp) -> None:
    email = _new_user(client_app, "olga")
    api = _authorization_code_login(server, client_app, email, OOB)
    assert api.account_verify_credentials().username == "olga"


def test_authorization_can_be_denied(server: LiveServer, client_app: ClientApp) -> None:
    email = _new_user(client_app, "dina")
    api = client_app.api()
    url = api.auth_request_url(redirect_uris=APP_CALLBACK, scopes=["read"], state="s1", allow_http=True)
    browser = OAuthBrowser(server.base_url)
    try:
        grant = browser.authorize(url, email, PASSWORD, grant=False)
    finally:
        browser.close()
    assert grant.code is None, grant
    assert grant.error == "access_denied", grant
    assert grant.state == "s1", grant


def test_post_reply_and_context(alice: Mastodon, bob: Mastodon) -> None:
    original = alice.status_post("Who wants to talk about starlings?")
    reply = bob.status_post("@alice I do, they murmurate!", in_reply_to_id=original.id)
    assert str(reply.in_reply_to_id) == str(original.id)
    assert reply.account.username == "bob"
    assert [m.username for m in reply.mentions] == ["alice"]

    context = alice.status_context(original.id)
    assert _ids(context.descendants) == [str(reply.id)]
    assert context.ancestors == []
    context = alice.status_context(reply.id)
    assert _ids(context.ancestors) == [str(original.id)]


def test_follow_locked_account_needs_approval(client_app: ClientApp, bob: Mastodon) -> None:
    follower = client_app.log_in(_new_user(client_app, "fiona"))
    fiona_id = str(follower.me().id)
    bob_id = str(bob.me().id)

    relationship = follower.account_follow(bob_id)
    assert relationship.requested is True
    assert relationship.following is False

    assert fiona_id in _ids(bob.follow_requests())

    def notified() -> None:
        kinds = {(n.type, str(n.account.id)) for n in bob.notifications()}
        assert ("follow_request", fiona_id) in kinds, kinds

    eventually(notified)

    granted = bob.follow_request_authorize(fiona_id)
    assert granted.followed_by is True
    assert fiona_id not in _ids(bob.follow_requests())

    [relationship] = follower.account_relationships(bob_id)
    assert relationship.following is True
    assert relationship.requested is False
    assert fiona_id in _ids(bob.account_followers(bob_id))


def test_favourite_reblog_and_mention_notify_the_author(alice: Mastodon, bob: Mastodon) -> None:
    post = bob.status_post("Starlings can mimic car alarms.")
    favourited = alice.status_favourite(post.id)
    assert favourited.favourited is True
    assert favourited.favourites_count == 1
    reblog = alice.status_reblog(post.id)
    assert str(reblog.reblog.id) == str(post.id)
    assert reblog.reblog.reblogged is True
    mention = alice.status_post("@bob that is amazing")
    alice_id = str(alice.me().id)

    def notified() -> None:
        seen = {(n.type, str(n.status.id) if n.status else None) for n in bob.notifications()
                if str(n.account.id) == alice_id}
        assert ("favourite", str(post.id)) in seen, seen
        assert ("reblog", str(post.id)) in seen, seen
        assert ("mention", str(mention.id)) in seen, seen

    eventually(notified)
    assert alice_id in _ids(bob.status_favourited_by(post.id))
    assert alice_id in _ids(bob.status_reblogged_by(post.id))


def test_search_accounts_hashtags_and_statuses(alice: Mastodon, bob: Mastodon) -> None:
    word = f"murmuration{uuid.uuid4().hex[:8]}"
    tag = f"starlings{uuid.uuid4().hex[:6]}"
    post = alice.status_post(f"A {word} over the lake #{tag}")

    accounts = alice.search_v2("bob", result_type="accounts")
    assert "bob" in [a.acct for a in accounts.accounts]

    def tagged() -> None:
        found = alice.search_v2(f"#{tag}", result_type="hashtags")
        assert tag in [h.name for h in found.hashtags], found.hashtags

    eventually(tagged)

    def statuses() -> None:
        found = alice.search_v2(word, result_type="statuses")
        assert str(post.id) in _ids(found.statuses), found.statuses

    eventually(statuses)


def test_home_timeline_pages_through_link_headers(client_app: ClientApp) -> None:
    carol = client_app.log_in(_new_user(client_app, "carol"))
    posted = [str(carol.status_post(f"Starling count {n}").id) for n in range(45)]
    expected = sorted(posted, key=int, reverse=True)

    def page_through() -> tuple[list[str], list[int]]:
        ids: list[str] = []
        sizes: list[int] = []
        page = carol.timeline_home(limit=20)
        for _ in range(10):
            if not page:
                break
            ids += _ids(page)
            sizes.append(len(page))
            page = carol.fetch_next(page)
        return ids, sizes

    def complete() -> tuple[list[str], list[int]]:
        ids, sizes = page_through()
        assert set(ids) == set(posted), f"{len(set(ids) & set(posted))} of {len(posted)} seen"
        return ids, sizes

    ids, sizes = eventually(complete)
    assert ids == expected
    assert sizes == [20, 20, 5]


def test_delete_status(alice: Mastodon) -> None:
    post = alice.status_post("This one will go away")
    deleted = alice.status_delete(post.id)
    assert str(deleted.id) == str(post.id)
    with pytest.raises(MastodonNotFoundError):
        alice.status(post.id)


def test_account_statuses_and_lookup(alice: Mastodon, bob: Mastodon) -> None:
    post = alice.status_post("Looking up myself")
    found = bob.account_lookup("alice")
    assert found.username == "alice"
    assert str(post.id) in _ids(bob.account_statuses(found.id, limit=40))


def test_media_post_with_alt_text_and_focus_then_attach(alice: Mastodon) -> None:
    import io

    from PIL import Image

    picture = io.BytesIO()
    Image.new("RGB", (120, 80), (20, 120, 220)).save(picture, "JPEG")
    media = alice.media_post(picture.getvalue(), mime_type="image/jpeg", description="A blue rectangle",
                             focus=(0.25, -0.5), file_name="blue.jpg")
    # v2 answers before processing: poll GET /api/v1/media/:id until the url is there, as apps do.
    media = eventually(lambda: _processed(alice, media.id))
    post = alice.status_post("With a picture", media_ids=[media.id])
    [attached] = alice.status(post.id).media_attachments
    assert attached.description == "A blue rectangle"
    assert attached.url.endswith(".jpg") and attached.preview_url.endswith(".jpg")
    assert attached.blurhash
    assert attached.meta.original.size == "120x80" and attached.meta.small.width == 120
    assert (attached.meta.focus.x, attached.meta.focus.y) == (0.25, -0.5)


def _processed(client: Mastodon, media_id: Any) -> Any:
    media = client.media(media_id)
    assert media.url, "still processing"
    return media


@pytest.fixture(autouse=True)
def _no_server_crash(server: LiveServer) -> Iterator[None]:
    yield
    assert server.process.poll() is None, f"server exited:\n{server.log_tail()}"
