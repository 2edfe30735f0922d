"""The web interface: every page and form, through the same services as the API."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import httpx
import pytest
from sqlalchemy import delete

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.models.timelines import HomeFeedEntry
from starling.repositories.accounts import find_by_acct
from tests.conftest import MakeActor
from tests.web.html.conftest import SignIn
from tests.web.html.pages import form_posting_to, forms_posting_to, parse_forms, unlabelled_inputs

pytestmark = pytest.mark.asyncio


async def post_api(client: httpx.AsyncClient, token_headers: dict[str, str], text: str, **extra: str) -> str:
    r = await client.post("/api/v1/statuses", json={"status": text, **extra}, headers=token_headers)
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def status_ids(html: str) -> list[str]:
    return re.findall(r'<article class="st[^"]*" id="s(\d+)"', html)


async def test_anonymous_start_page_is_the_local_timeline(client: httpx.AsyncClient) -> None:
    r = await client.get("/")
    assert r.status_code == 303
    assert r.headers["location"] == "/public/local"
    r = await client.get("/public/local")
    assert r.status_code == 200
    assert "<main" in r.text and 'aria-label="Main"' in r.text
    assert "Content-Security-Policy" in r.headers and "script-src 'self'" in r.headers["content-security-policy"]


@pytest.mark.parametrize("path", ["/notifications", "/bookmarks", "/settings/profile", "/settings/applications",
                                  "/compose", "/follow_requests", "/admin"])
async def test_private_pages_send_strangers_to_sign_in(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 303
    assert r.headers["location"] == "/auth/sign_in?next=" + path


async def test_post_from_the_browser_is_seen_by_the_api(
    client: httpx.AsyncClient, make_actor: MakeActor, signed_in: SignIn
) -> None:
    alice = await make_actor("alice")
    web = await signed_in("alice")
    home = await web.get("/")
    assert home.status_code == 200
    assert unlabelled_inputs(home.text) == []
    r = await web.submit("/", "/statuses", status="Hello from the browser #garden", spoiler_text="",
                         visibility="public")
    assert r.status_code == 303
    assert re.fullmatch(r"/\?posted=(\d+)#s\1", r.headers["location"])
    api = await client.get(f"/api/v1/accounts/{alice.id}/statuses", headers=alice.headers)
    assert [s["content"] for s in api.json()] == [
        '<p>Hello from the browser <a href="http://testserver/tags/garden" class="mention hashtag" rel="tag">'
        "#<span>garden</span></a></p>"
    ] or "Hello from the browser" in api.json()[0]["content"]
    assert api.json()[0]["visibility"] == "public"
    page = await web.get("/")
    assert "Hello from the browser" in page.text


async def test_content_warning_visibility_and_idempotent_resubmission(
    client: httpx.AsyncClient, make_actor: MakeActor, signed_in: SignIn
) -> None:
    alice = await make_actor("alice")
    web = await signed_in("alice")
    page = await web.get("/")
    form = form_posting_to(page.text, "/statuses")
    data = {**form.fields, "status": "Spoilers inside", "spoiler_text": "Film ending", "visibility": "unlisted"}
    first = await web.client.post("/statuses", data=data)
    again = await web.client.post("/statuses", data=data)  # a double click sends the same form twice
    assert first.headers["location"] == again.headers["location"]
    api = (await client.get(f"/api/v1/accounts/{alice.id}/statuses", headers=alice.headers)).json()
    assert len(api) == 1
    assert api[0]["spoiler_text"] == "Film ending" and api[0]["visibility"] == "unlisted"
    home = await web.get("/")
    assert "<details><summary dir=\"auto\">Film ending</summary>" in home.text


async def test_api_post_reaches_a_follower_in_the_browser(
    client: httpx.AsyncClient, make_actor: MakeActor, signed_in: SignIn
) -> None:
    alice = await make_actor("alice")
    await make_actor("bob")
    bob = await signed_in("bob")
    r = await bob.submit("/@alice", f"/accounts/{alice.id}/follow", button=("do", "follow"))
    assert r.status_code == 303 and r.headers["location"] == "/@alice"
    profile = await bob.get("/@alice")
    assert ("do", "unfollow") in form_posting_to(profile.text, f"/accounts/{alice.id}/follow").buttons
    await post_api(client, alice.headers, "Posted with an app")
    assert "Posted with an app" in (await bob.get("/")).text
    r = await bob.submit("/@alice", f"/accounts/{alice.id}/follow", button=("do", "unfollow"))
    assert r.status_code == 303
    assert "Posted with an app" not in (await bob.get("/")).text


async def test_forms_without_this_sessions_token_are_refused(
    client: httpx.AsyncClient, make_actor: MakeActor, signed_in: SignIn
) -> None:
    alice = await make_actor("alice")
    sid = await post_api(client, alice.headers, "Target")
    web = await signed_in("alice")
    for action, data in [
        ("/statuses", {"status": "forged"}),
        (f"/statuses/{sid}/act", {"do": "favourite"}),
        ("/statuses/act", {"do": f"favourite:{sid}"}),
        (f"/statuses/{sid}/delete", {"confirm": "1"}),
        (f"/accounts/{alice.id}/follow", {"do": "follow"}),
        ("/settings/profile", {"display_name": "Forged"}),
        ("/admin/settings", {"registrations_mode": "closed"}),
    ]:
        for token in (None, "forged"):
            body = dict(data) if token is None else {**data, "csrf_token": token}
            r = await web.client.post(action, data=body)
            assert r.status_code == 403, (action, r.status_code)
            assert "Form expired" in r.text
    api = (await client.get(f"/api/v1/statuses/{sid}", headers=alice.headers)).json()
    assert api["favourites_count"] == 0
    assert len((await client.get(f"/api/v1/accounts/{alice.id}/statuses", headers=alice.headers)).json()) == 1
    creds = (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).json()
    assert creds["display_name"] == ""


async def test_a_signed_out_form_post_goes_to_sign_in(client: httpx.AsyncClient) -> None:
    page = await client.get("/public/local")
    token = re.search(r'name="csrf_token" value="([^"]+)"', (await client.get("/auth/sign_in")).text)
    assert page.status_code == 200 and token is not None
    r = await client.post("/statuses", data={"csrf_token": token.group(1), "status": "x"})
    assert r.status_code == 303 and r.headers["location"].startswith("/auth/sign_in?next=")


async def test_user_text_is_escaped_everywhere(
    client: httpx.AsyncClient, make_actor: MakeActor, signed_in: SignIn
) -> None:
    alice = await make_actor("alice")
    r = await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers, data={
        "display_name": "<img src=x onerror=alert(1)>", "note": "<script>alert(2)</script>",
        "fields_attributes[0][name]": "<b>site</b>", "fields_attributes[0][value]": "<i>x</i>",
    })
    assert r.status_code == 200, r.text
    await post_api(client, alice.headers, "<script>alert(3)</script>", spoiler_text="<u>cw</u>")
    for path in ("/@alice", "/public/local"):
        html = (await client.get(path)).text
        assert "<script>alert" not in html and "<img src=x" not in html and "<u>cw</u>" not in html
        assert "<b>site</b>" not in html and "<i>x</i>" not in html
    html = (await client.get("/@alice")).text
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in html
    assert "&lt;u&gt;cw&lt;/u&gt;" in html
    web = await signed_in("alice")
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in (await web.get("/settings/profile")).text


async def test_private_posts_stay_private(
    client: httpx.AsyncClient, make_actor: MakeActor, signed_in: SignIn
) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    await make_actor("carol")
    secret = await post_api(client, alice.headers, "Only for followers", visibility="private")
    r = await client.post(f"/api/v1/accounts/{alice.id}/follow", headers=bob.headers)
    assert r.status_code == 200
    carol = await signed_in("carol")
    for who in (client, carol.client):
        assert "Only for followers" not in (await who.get("/@alice")).text
        assert (await who.get(f"/@alice/{secret}")).status_code == 404
        assert "Only for followers" not in (await who.get("/public/local")).text
        assert "Only for followers" not in (await who.get("/@alice.rss")).text
    follower = await signed_in("bob")
    assert "Only for followers" in (await follower.get("/@alice")).text
    page = await follower.get(f"/@alice/{secret}")
    assert page.status_code == 200 and "Only for followers" in page.text
    assert "Followers only" in page.text
    r = await carol.client.post(f"/statuses/{secret}/act", data={"csrf_token": await carol.csrf(), "do": "favourite"})
    assert r.status_code == 404


async def test_like_repost_and_save_with_and_without_script(
    client: httpx.AsyncClient, make_actor: MakeActor, signed_in: SignIn
) -> None:
    alice = await make_actor("alice")
    await make_actor("bob")
    sid = await post_api(client, alice.headers, "Like me")
    bob = await signed_in("bob")
    r = await bob.submit("/public/local", "/statuses/act", button=("do", f"favourite:{sid}"))
    assert r.status_code == 303 and r.headers["location"] == f"/public/local#s{sid}"
    page = await bob.get("/public/local")
    assert ("do", f"unfavourite:{sid}") in form_posting_to(page.text, "/statuses/act").buttons
    token = await bob.csrf()
    r = await bob.client.post(f"/statuses/{sid}/act", data={"csrf_token": token, "do": "reblog"},
                              headers={"Accept": "application/json"})
    assert r.status_code == 200
    assert r.json() == {"id": sid, "favourited": True, "favourites_count": 1, "reblogged": True,
                        "reblogs_count": 1, "bookmarked": False}
    r = await bob.client.post(f"/statuses/{sid}/act", data={"csrf_token": token, "do": "bookmark"},
                              headers={"Accept": "application/json"})
    assert r.json()["bookmarked"] is True
    assert "Like me" in (await bob.get("/bookmarks")).text
    api = (await client.get(f"/api/v1/statuses/{sid}", headers=alice.headers)).json()
    assert api["favourites_count"] == 1 and api["reblogs_count"] == 1
    notes = (await (await signed_in("alice")).get("/notifications")).text
    assert "liked your post" in notes and "reposted your post" in notes
    r = await bob.client.post(f"/statuses/{sid}/act", data={"csrf_token": token, "do": "explode"})
    assert r.status_code == 404
    r = await bob.client.post("/statuses/act", data={"csrf_token": token, "do": f"explode:{sid}"})
    assert r.status_code == 404
    r = await bob.client.post("/statuses/act", data={"csrf_token": token, "do": "favourite:nothing"})
    assert r.status_code == 404


async def test_reply_and_thread(client: httpx.AsyncClient, make_actor: MakeActor, signed_in: SignIn) -> None:
    alice = await make_actor("alice")
    await make_actor("bob")
    sid = await post_api(client, alice.headers, "Start of a thread")
    bob = await signed_in("bob")
    page = await bob.get(f"/@alice/{sid}")
    assert page.status_code == 200
    reply_form = form_posting_to(page.text, "/statuses")
    assert reply_form.fields["in_reply_to_id"] == sid
    assert "@alice " in page.text
    r = await bob.submit(f"/@alice/{sid}", "/statuses", status="@alice A reply")
    assert r.status_code == 303
    reply_path = r.headers["location"]
    assert reply_path.startswith("/@bob/")
    thread = await bob.get(f"/@alice/{sid}")
    assert "A reply" in thread.text.split("Replies</h2>")[1]
    reply = await bob.get(reply_path)
    assert "Start of a thread" in reply.text.split('class="st focus"')[0]
    api = (await client.get(f"/api/v1/statuses/{sid}/context", headers=alice.headers)).json()
    assert [d["id"] for d in api["descendants"]] == [reply_path.rsplit("/", 1)[1]]
    # /compose?in_reply_to= sends to the status page's reply form
    r = await bob.get(f"/compose?in_reply_to={sid}")
    assert r.status_code == 303 and r.headers["location"] == f"/@alice/{sid}#reply"


async def test_status_address_is_canonical(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    await make_actor("bob")
    sid = await post_api(client, alice.headers, "Mine")
    r = await client.get(f"/@bob/{sid}")
    assert r.status_code == 301 and r.headers["location"] == f"/@alice/{sid}"
    assert (await client.get("/@alice/notanid")).status_code == 404
    missing = await client.get("/@nobody")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]


async def test_delete_own_status(client: httpx.AsyncClient, make_actor: MakeActor, signed_in: SignIn) -> None:
    alice = await make_actor("alice")
    await make_actor("bob")
    sid = await post_api(client, alice.headers, "Regrettable")
    bob = await signed_in("bob")
    assert forms_posting_to((await bob.get(f"/@alice/{sid}")).text, f"/statuses/{sid}/delete") == []
    r = await bob.client.post(f"/statuses/{sid}/delete", data={"csrf_token": await bob.csrf()})
    assert r.status_code == 404
    web = await signed_in("alice")
    r = await web.submit(f"/@alice/{sid}", f"/statuses/{sid}/delete")
    assert r.status_code == 303 and r.headers["location"] == "/@alice"
    assert (await client.get(f"/api/v1/statuses/{sid}")).status_code == 404


async def test_locked_account_and_follow_requests(
    client: httpx.AsyncClient, make_actor: MakeActor, signed_in: SignIn
) -> None:
    alice = await make_actor("alice", locked=True)
    bob = await make_actor("bob")
    r = await client.post(f"/api/v1/accounts/{alice.id}/follow", headers=bob.headers)
    assert r.json()["requested"] is True
    web = await signed_in("alice")
    home = await web.get("/")
    assert 'href="/follow_requests">Requests (1)' in home.text
    assert "asked to follow you" in (await web.get("/notifications")).text
    r = await web.submit("/follow_requests", f"/follow_requests/{bob.id}", button=("do", "authorize"))
    assert r.status_code == 303
    rel = (await client.get("/api/v1/accounts/relationships", params={"id[]": alice.id}, headers=bob.headers)).json()
    assert rel[0]["following"] is True
    followers = await client.get("/@alice/followers")
    assert "@bob" in followers.text
    assert "@alice" in (await client.get("/@bob/following")).text


async def test_timelines_hashtags_and_search(
    client: httpx.AsyncClient, make_actor: MakeActor, signed_in: SignIn
) -> None:
    alice = await make_actor("alice")
    await post_api(client, alice.headers, "Public about #Birds")
    await post_api(client, alice.headers, "Quiet about #Birds", visibility="unlisted")
    for path in ("/public/local", "/public"):
        html = (await client.get(path)).text
        assert "Public about" in html and "Quiet about" not in html
    tag = await client.get("/tags/birds")
    assert tag.status_code == 200 and "<title>#Birds" in tag.text and "Public about" in tag.text
    found = await client.get("/search", params={"q": "alice"})
    assert 'href="/@alice"' in found.text and "Sign in</a> to search posts" in found.text
    assert 'href="/tags/birds"' in (await client.get("/search", params={"q": "#bird"})).text
    await make_actor("bob")
    bob = await signed_in("bob")
    assert "Public about" in (await bob.get("/search", params={"q": "public"})).text
    r = await bob.submit("/tags/birds", "/tags/birds/follow", button=("do", "follow"))
    assert r.status_code == 303
    assert ("do", "unfollow") in form_posting_to((await bob.get("/tags/birds")).text, "/tags/birds/follow").buttons


async def test_profile_settings(client: httpx.AsyncClient, make_actor: MakeActor, signed_in: SignIn) -> None:
    alice = await make_actor("alice")
    web = await signed_in("alice")
    page = await web.get("/settings/profile")
    assert unlabelled_inputs(page.text) == []
    r = await web.submit("/settings/profile", "/settings/profile", display_name="Alice A.", note="Hi there",
                         field_name_0="Site", field_value_0="https://alice.example", locked="1")
    assert r.status_code == 303 and r.headers["location"] == "/settings/profile?saved=1"
    creds = (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).json()
    assert creds["display_name"] == "Alice A." and creds["locked"] is True
    assert creds["source"]["note"] == "Hi there"
    assert creds["fields"][0]["name"] == "Site"
    profile = (await client.get("/@alice")).text
    assert "Alice A." in profile and "Hi there" in profile and "<dt dir=\"auto\">Site</dt>" in profile
    r = await web.submit("/settings/profile", "/settings/profile", display_name="x" * 31)
    assert r.status_code == 422 and "Display name is too long" in r.text
    assert 'value="' + "x" * 31 + '"' in r.text
    creds = (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).json()
    assert creds["display_name"] == "Alice A."


async def test_authorised_apps_can_be_revoked(
    client: httpx.AsyncClient, make_actor: MakeActor, signed_in: SignIn
) -> None:
    alice = await make_actor("alice")
    await make_actor("bob")
    web = await signed_in("alice")
    page = await web.get("/settings/applications")
    assert "<h2>tests</h2>" in page.text
    actions = [f.action for f in parse_forms(page.text) if f.action.startswith("/settings/applications/")]
    assert len(actions) == 1
    bob = await signed_in("bob")
    r = await bob.client.post(actions[0], data={"csrf_token": await bob.csrf()})
    assert r.status_code == 404  # someone else's token
    assert (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).status_code == 200
    r = await web.submit("/settings/applications", actions[0])
    assert r.status_code == 303
    assert (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).status_code == 401
    assert "No applications" in (await web.get("/settings/applications")).text


async def test_admin_area(
    client: httpx.AsyncClient, make_actor: MakeActor, signed_in: SignIn, container: Container
) -> None:
    await make_actor("root", admin=True)
    await make_actor("bob")
    bob = await signed_in("bob")
    assert (await bob.get("/admin")).status_code == 403
    r = await bob.client.post("/admin/settings", data={"csrf_token": await bob.csrf(), "registrations_mode": "closed"})
    assert r.status_code == 403
    admin = await signed_in("root")
    assert 'href="/admin"' in (await admin.get("/")).text
    page = await admin.get("/admin")
    assert page.status_code == 200 and unlabelled_inputs(page.text) == []
    r = await admin.submit("/admin", "/admin/settings", registrations_mode="closed", description="A quiet place",
                           closed_registrations_message="Full")
    assert r.status_code == 303
    assert "Registrations are closed" in (await client.get("/auth/sign_up")).text
    assert "A quiet place" in (await client.get("/about")).text
    r = await admin.submit("/admin", "/admin/rules", text="Be kind", hint="")
    assert r.status_code == 303
    assert "Be kind" in (await client.get("/about")).text
    r = await admin.submit("/admin?acct=bob", "/admin/accounts", button=("do", "verify"), note="The Bob Foundation")
    assert r.status_code == 303
    profile = (await client.get("/@bob")).text
    assert "Verified" in profile and "The Bob Foundation" in profile
    r = await admin.submit("/admin?acct=bob", "/admin/accounts", button=("do", "verify"), note="  ")
    assert r.status_code == 422 and "needs a note" in r.text
    r = await admin.submit("/admin?acct=bob", "/admin/accounts", button=("do", "unverify"))
    assert "The Bob Foundation" not in (await client.get("/@bob")).text
    r = await admin.submit("/admin?acct=bob", "/admin/accounts", button=("do", "suspend"))
    assert r.status_code == 303
    assert (await client.get("/@bob")).status_code == 404
    async with unit_of_work(container.sessions) as session:
        account = await find_by_acct(session, "bob", container.settings.server_name)
        assert account is not None and account.suspended_at is not None
    page = await admin.get("/admin?acct=bob")
    rule_forms = [f for f in parse_forms(page.text) if f.action == "/admin/rules" and f.buttons]
    r = await admin.client.post("/admin/rules", data={**rule_forms[0].fields, "delete": rule_forms[0].buttons[0][1]})
    assert r.status_code == 303
    assert "Be kind" not in (await client.get("/about")).text


async def test_public_pages_describe_themselves(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                       data={"display_name": "Alice", "note": "Gardener"})
    sid = await post_api(client, alice.headers, "Tomatoes are ripe #garden")
    await post_api(client, alice.headers, "Not for the feed", visibility="unlisted")
    profile = await client.get("/@alice")
    assert "<title>Alice (@alice) · " in profile.text
    assert '<meta property="og:title" content="Alice (@alice)">' in profile.text
    assert '<meta property="og:description" content="Gardener">' in profile.text
    assert '<link rel="alternate" type="application/rss+xml" href="http://testserver/@alice.rss"' in profile.text
    status = await client.get(f"/@alice/{sid}")
    assert '<meta property="og:type" content="article">' in status.text
    assert f'<link rel="canonical" href="http://testserver/@alice/{sid}">' in status.text
    assert f'href="http://testserver/api/v1/statuses/{sid}"' in status.text
    assert "Tomatoes are ripe" in status.text.split("<title>")[1].split("</title>")[0]
    feed = await client.get("/@alice.rss")
    assert feed.headers["content-type"].startswith("application/rss+xml")
    channel = ET.fromstring(feed.text).find("channel")
    assert channel is not None
    items = channel.findall("item")
    assert [i.findtext("link") for i in items] == [f"http://testserver/@alice/{sid}"]
    assert "Tomatoes are ripe" in (items[0].findtext("description") or "")
    tag_feed = await client.get("/tags/garden.rss")
    assert tag_feed.status_code == 200 and "Tomatoes" in tag_feed.text
    assert (await client.get("/@nobody.rss")).status_code == 404


async def test_right_to_left_text_gets_its_direction(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    await post_api(client, alice.headers, "سلام دنیا، این یک آزمایش است", language="fa")
    html = (await client.get("/public/local")).text
    assert '<div class="ct" dir="auto" lang="fa"><p>سلام دنیا' in html


async def test_home_with_twenty_posts_is_light(
    client: httpx.AsyncClient, make_actor: MakeActor, signed_in: SignIn
) -> None:
    alice = await make_actor("alice")
    for i in range(20):
        await post_api(client, alice.headers, f"Post number {i} with a few words of text about the day #{i}day")
    web = await signed_in("alice")
    home = await web.get("/")
    assert len(status_ids(home.text)) == 20
    assets = re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js))"', home.text)
    assert sorted(assets) == ["/static/app.css", "/static/app.js"]
    weight = len(home.content)
    for asset in assets:
        weight += len((await client.get(asset)).content)
    assert weight < 40_000, weight
    assert not re.search(r'(?:src|href)="https?://(?!testserver)', home.text)


async def test_older_pages(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    ids = [await post_api(client, alice.headers, f"n{i}") for i in range(22)]
    first = await client.get("/@alice")
    older = re.search(r'href="(/@alice\?max_id=\d+)" rel="next"', first.text)
    assert older is not None
    second = await client.get(older.group(1))
    assert status_ids(second.text) == [ids[1], ids[0]]


def png(width: int = 64, height: int = 48) -> bytes:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(out, format="PNG")
    return out.getvalue()


async def test_photo_with_alt_text(client: httpx.AsyncClient, make_actor: MakeActor, signed_in: SignIn) -> None:
    alice = await make_actor("alice")
    web = await signed_in("alice")
    home = await web.get("/")
    form = form_posting_to(home.text, "/statuses")
    assert 'enctype="multipart/form-data"' in home.text and 'for="alt"' in home.text
    data = {**form.fields, "status": "Our tomatoes", "alt": "Three red <tomatoes> on a vine", "visibility": "public"}
    r = await web.client.post("/statuses", data=data, files={"media": ("tomatoes.png", png(), "image/png")})
    assert r.status_code == 303, r.text
    api = (await client.get(f"/api/v1/accounts/{alice.id}/statuses", headers=alice.headers)).json()
    media = api[0]["media_attachments"]
    assert len(media) == 1 and media[0]["description"] == "Three red <tomatoes> on a vine"
    page = (await client.get(f"/@alice/{api[0]['id']}")).text
    img = re.search(r'<img src="([^"]+)" alt="Three red &lt;tomatoes&gt; on a vine" width="(\d+)" height="(\d+)" '
                    r'loading="lazy"', page)
    assert img is not None, page
    assert "Alt text:</span> Three red &lt;tomatoes&gt; on a vine" in page
    assert (await client.get(img.group(1))).status_code == 200


async def test_bad_photo_stores_nothing(client: httpx.AsyncClient, make_actor: MakeActor, signed_in: SignIn) -> None:
    alice = await make_actor("alice")
    web = await signed_in("alice")
    form = form_posting_to((await web.get("/")).text, "/statuses")
    r = await web.client.post("/statuses", data={**form.fields, "status": "Broken"},
                              files={"media": ("x.png", b"not a picture", "image/png")})
    assert r.status_code == 422
    assert (await client.get(f"/api/v1/accounts/{alice.id}/statuses", headers=alice.headers)).json() == []


async def test_avatar_from_settings(client: httpx.AsyncClient, make_actor: MakeActor, signed_in: SignIn) -> None:
    alice = await make_actor("alice")
    web = await signed_in("alice")
    page = await web.get("/settings/profile")
    form = form_posting_to(page.text, "/settings/profile")
    r = await web.client.post("/settings/profile", data={**form.fields, "display_name": "Alice"},
                              files={"avatar": ("me.png", png(500, 500), "image/png")})
    assert r.status_code == 303, r.text
    creds = (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).json()
    assert "avatar-missing" not in creds["avatar"]
    profile = (await client.get("/@alice")).text
    assert "avatar-missing" not in profile.split('class="av"')[1][:200]


async def test_new_post_shows_at_home_before_fan_out(
    client: httpx.AsyncClient, make_actor: MakeActor, signed_in: SignIn, container: Container
) -> None:
    alice = await make_actor("alice")
    await make_actor("bob")
    sid = await post_api(client, alice.headers, "Written a moment ago")
    web = await signed_in("alice")
    async with unit_of_work(container.sessions) as session:
        await session.execute(delete(HomeFeedEntry))
    assert "Written a moment ago" not in (await web.get("/")).text
    assert "Written a moment ago" in (await web.get(f"/?posted={sid}")).text
    bob = await signed_in("bob")
    assert "Written a moment ago" not in (await bob.get(f"/?posted={sid}")).text  # only one's own post
    assert (await bob.get("/?posted=12345")).status_code == 200


async def test_post_card_for_the_script(client: httpx.AsyncClient, make_actor: MakeActor, signed_in: SignIn) -> None:
    alice = await make_actor("alice")
    await make_actor("bob")
    public = await post_api(client, alice.headers, "Card me")
    private = await post_api(client, alice.headers, "Not for bob", visibility="private")
    bob = await signed_in("bob")
    card = await bob.get(f"/statuses/{public}/card")
    assert card.status_code == 200
    assert card.text.strip().startswith(f'<article class="st" id="s{public}">')
    assert "<html" not in card.text and ("do", f"favourite:{public}") in [
        (m[0], m[1]) for m in re.findall(r'name="(do)" value="([^"]+)"', card.text)
    ]
    assert (await bob.get(f"/statuses/{private}/card")).status_code == 404
    home = await bob.get("/")
    assert 'data-stream="/api/v1/streaming/web/user"' in home.text
    assert 'data-stream="/api/v1/streaming/web/public/local"' in (await client.get("/public/local")).text
    assert "data-stream" not in (await client.get("/public/local?max_id=1")).text
    r = await bob.client.post(f"/statuses/{private}/act", data={"csrf_token": await bob.csrf(), "do": "favourite"},
                              headers={"Accept": "application/json"})
    assert r.status_code == 404 and r.json() == {"error": "Record not found"}


async def test_notifications_escape_names(client: httpx.AsyncClient, make_actor: MakeActor, signed_in: SignIn) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    await client.patch("/api/v1/accounts/update_credentials", headers=bob.headers,
                       data={"display_name": "<b>Bob</b>"})
    await client.post(f"/api/v1/accounts/{alice.id}/follow", headers=bob.headers)
    page = (await (await signed_in("alice")).get("/notifications")).text
    assert "<bdi>&lt;b&gt;Bob&lt;/b&gt;</bdi></a> followed you" in page


async def test_media_from_another_origin_is_allowed_by_the_page_policy(
    client: httpx.AsyncClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(container.settings, "media_base_url", "https://media.example/files")
    csp = (await client.get("/public/local")).headers["content-security-policy"]
    assert "img-src 'self' data: https://media.example;" in csp
    assert "media-src 'self' https://media.example;" in csp
    assert "script-src 'self'" in csp and "form-action 'self'" in csp


async def test_feeds_escape_what_they_carry(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                       data={"display_name": "A & <B>"})
    await post_api(client, alice.headers, "<script>x</script> & more", spoiler_text="<cw>")
    feed = await client.get("/@alice.rss")
    channel = ET.fromstring(feed.text).find("channel")
    assert channel is not None
    assert channel.findtext("title") == "A & <B> (@alice)"
    description = channel.find("item/description")
    assert description is not None and description.text is not None
    assert "&lt;script&gt;" in description.text and "<p>&lt;cw&gt;</p>" in description.text
