"""Responses of a real server process checked against Mastodon's API description (OpenAPI).

For each endpoint Starling serves (the explicit list ``ENDPOINTS``), schemathesis generates requests
from the description; every response must not be a server error and must conform in status code,
content type and body schema. Each endpoint is exercised with the seeded ids of real objects (so
entities are really rendered) and with generated ones. Schema violations are allowed only when
listed, with a reason, in ``schema_baseline.json``; server errors never are.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.support.live_server import (
    Actor,
    LiveServer,
    LiveServerError,
    require_database,
    skip_or_fail,
    start_live_server,
)

pytestmark = [pytest.mark.server, pytest.mark.xdist_group("conformance-schema")]

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO_ROOT.parent / "shared" / "mastodon-openapi" / "schema.json"
BASELINE_PATH = Path(__file__).with_name("schema_baseline.json")
CHECK_NAMES = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
               "response_schema_conformance")
EXAMPLES = 12
FEW_EXAMPLES = 5


@dataclass
class Seed:
    """Objects that exist on the server, so generated requests can hit real ids."""

    server: LiveServer
    alice: Actor  # the token every request carries; locked, so follow requests reach her
    bob: Actor  # followed by alice; posts, mentions and favourites alice
    carol: Actor  # target of follow/block/mute writes
    alice_status: str = ""
    bob_status: str = ""
    reply_status: str = ""
    notification: str = ""
    media: str = ""  # alice's unattached upload
    tag: str = "starlings"
    app: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    counter: int = 0

    def api(self, actor: Actor, method: str, path: str, **kwargs: Any) -> dict[str, Any] | list[Any] | None:
        with self.server.client(actor.token) as http:
            response = http.request(method, path, **kwargs)
        if response.status_code >= 300:
            self.problems.append(f"{method} {path} {kwargs or ''} → {response.status_code}: {response.text[:300]}")
            return None
        data: dict[str, Any] | list[Any] = response.json()
        return data

    def post_status(self, actor: Actor, text: str, **extra: Any) -> str:
        data = self.api(actor, "POST", "/api/v1/statuses", json={"status": text, **extra})
        return str(data["id"]) if isinstance(data, dict) else "0"

    def fresh_status(self) -> str:
        self.counter += 1
        return self.post_status(self.alice, f"Throwaway number {self.counter}")

    def fresh_requester(self) -> str:
        """A new account that has asked to follow alice: what authorize/reject act on."""
        self.counter += 1
        requester = self.server.seed_actor(f"asker{self.counter}")
        self.api(requester, "POST", f"/api/v1/accounts/{self.alice.id}/follow")
        return requester.id


def seed(server: LiveServer) -> Seed:
    s = Seed(server, server.seed_actor("alice", locked=True), server.seed_actor("bob"), server.seed_actor("carol"))
    s.api(s.alice, "POST", f"/api/v1/accounts/{s.bob.id}/follow")
    app = s.api(s.alice, "POST", "/api/v1/apps", json={"client_name": "conformance", "scopes": "read write",
                                                          "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"})
    s.app = app if isinstance(app, dict) else {}
    s.alice_status = s.post_status(s.alice, f"Hello from alice #{s.tag}")
    s.bob_status = s.post_status(s.bob, f"Hello from bob #{s.tag} https://example.com/")
    s.reply_status = s.post_status(s.bob, "@alice hi there", in_reply_to_id=s.alice_status)
    # A status with a picture, so timelines, search and notifications render MediaAttachment entities.
    picture = s.api(s.bob, "POST", "/api/v1/media", files={"file": ("p.png", _png(), "image/png")},
                    data={"description": "A test picture", "focus": "0.2,-0.4"})
    if isinstance(picture, dict):
        s.post_status(s.bob, f"A picture #{s.tag} @alice", media_ids=[picture["id"]])
    upload = s.api(s.alice, "POST", "/api/v1/media", files={"file": ("q.png", _png(), "image/png")})
    s.media = str(upload["id"]) if isinstance(upload, dict) else "0"
    s.post_status(s.bob, "a quiet one", visibility="unlisted")
    s.post_status(s.bob, "for followers", visibility="private")
    s.api(s.bob, "POST", f"/api/v1/statuses/{s.alice_status}/favourite")
    s.api(s.bob, "POST", f"/api/v1/statuses/{s.alice_status}/reblog")
    s.api(s.alice, "POST", f"/api/v1/statuses/{s.bob_status}/favourite")
    s.api(s.alice, "POST", f"/api/v1/statuses/{s.bob_status}/bookmark")
    s.api(s.alice, "POST", f"/api/v1/statuses/{s.alice_status}/pin")
    s.api(s.alice, "PUT", f"/api/v1/statuses/{s.alice_status}", json={"status": f"Hello from alice, edited #{s.tag}"})
    s.api(s.alice, "POST", f"/api/v1/accounts/{s.carol.id}/mute")
    s.api(s.alice, "POST", f"/api/v1/accounts/{s.carol.id}/block")
    s.api(s.server.seed_actor("dave"), "POST", f"/api/v1/accounts/{s.alice.id}/follow")
    with server.client(s.alice.token) as http:
        for _ in range(100):
            response = http.get("/api/v1/notifications")
            if response.status_code != 200:
                s.problems.append(f"GET /api/v1/notifications → {response.status_code}: {response.text[:300]}")
                break
            if response.json():
                s.notification = str(response.json()[0]["id"])
                break
            time.sleep(0.1)
        else:
            s.problems.append("alice got no notification from bob's mention, favourite and reblog")
    return s


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 90, 160)).save(out, "PNG")
    return out.getvalue()


PathValues = Callable[[Seed], dict[str, str]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    real: PathValues | None = None  # path parameters that name seeded objects
    examples: int = EXAMPLES
    explicit: tuple[Callable[[Seed], dict[str, Any]], ...] = ()  # always sent once: {"query": ..., "body": ...}

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def query(params: dict[str, Any]) -> Callable[[Seed], dict[str, Any]]:
    return lambda s: {"query": params}


def body(data: dict[str, Any]) -> Callable[[Seed], dict[str, Any]]:
    return lambda s: {"body": data}


def _status(s: Seed) -> dict[str, str]:
    return {"id": s.alice_status}


def _bob_status(s: Seed) -> dict[str, str]:
    return {"id": s.bob_status}


def _bob(s: Seed) -> dict[str, str]:
    return {"id": s.bob.id}


def _carol(s: Seed) -> dict[str, str]:
    return {"id": s.carol.id}


# Reads first, then writes, then what destroys seeded objects: parametrized tests run in this order.
ENDPOINTS: tuple[Endpoint, ...] = (
    # instance and discovery
    Endpoint("GET", "/api/v1/instance"),
    Endpoint("GET", "/api/v2/instance"),
    Endpoint("GET", "/api/v1/instance/rules"),
    Endpoint("GET", "/api/v1/instance/peers"),
    Endpoint("GET", "/api/v1/instance/activity"),
    Endpoint("GET", "/api/v1/custom_emojis"),
    Endpoint("GET", "/api/v1/instance/extended_description"),
    Endpoint("GET", "/api/v1/instance/translation_languages"),
    Endpoint("GET", "/api/v1/instance/domain_blocks"),
    Endpoint("GET", "/api/v1/directory", explicit=(query({"local": "true", "order": "new"}),)),
    Endpoint("GET", "/.well-known/oauth-authorization-server"),
    Endpoint("GET", "/api/v1/trends/tags"),
    # apps and accounts
    Endpoint("GET", "/api/v1/apps/verify_credentials"),
    Endpoint("GET", "/api/v1/accounts/verify_credentials"),
    Endpoint("GET", "/api/v1/preferences"),
    Endpoint("GET", "/api/v1/accounts", explicit=(lambda s: {"query": {"id[]": [s.bob.id, s.carol.id]}},)),
    Endpoint("GET", "/api/v1/accounts/{id}", _bob),
    Endpoint("GET", "/api/v1/accounts/{id}/statuses", _bob, explicit=(query({"exclude_replies": "true"}),)),
    Endpoint("GET", "/api/v1/accounts/{id}/followers", _bob),
    Endpoint("GET", "/api/v1/accounts/{id}/following", lambda s: {"id": s.alice.id}),
    Endpoint("GET", "/api/v1/accounts/lookup", explicit=(query({"acct": "bob"}),)),
    Endpoint("GET", "/api/v1/accounts/relationships",
             explicit=(lambda s: {"query": {"id[]": [s.bob.id, s.carol.id]}},)),
    Endpoint("GET", "/api/v1/accounts/search", explicit=(query({"q": "bo"}),)),
    # statuses
    Endpoint("GET", "/api/v1/statuses", explicit=(lambda s: {"query": {"id[]": [s.alice_status, s.bob_status]}},)),
    Endpoint("GET", "/api/v1/statuses/{id}", _status),
    Endpoint("GET", "/api/v1/statuses/{id}/context", _status),
    Endpoint("GET", "/api/v1/statuses/{id}/favourited_by", _status),
    Endpoint("GET", "/api/v1/statuses/{id}/reblogged_by", _status),
    Endpoint("GET", "/api/v1/statuses/{id}/history", _status),
    Endpoint("GET", "/api/v1/statuses/{id}/source", _status),
    Endpoint("GET", "/api/v1/favourites"),
    Endpoint("GET", "/api/v1/bookmarks"),
    # relationships
    Endpoint("GET", "/api/v1/blocks"),
    Endpoint("GET", "/api/v1/mutes"),
    Endpoint("GET", "/api/v1/follow_requests"),
    # timelines, notifications, search
    Endpoint("GET", "/api/v1/timelines/home"),
    Endpoint("GET", "/api/v1/timelines/public", explicit=(query({"local": "true"}),)),
    Endpoint("GET", "/api/v1/timelines/tag/{hashtag}", lambda s: {"hashtag": s.tag}),
    Endpoint("GET", "/api/v1/notifications"),
    Endpoint("GET", "/api/v1/notifications/{id}", lambda s: {"id": s.notification}),
    Endpoint("GET", "/api/v1/notifications/unread_count"),
    Endpoint("GET", "/api/v2/search",
             explicit=(query({"q": "bob"}), query({"q": "#starlings"}), query({"q": "hello", "type": "statuses"}))),
    Endpoint("GET", "/api/v1/markers", explicit=(query({"timeline[]": ["home", "notifications"]}),)),
    Endpoint("GET", "/api/v1/media/{id}", lambda s: {"id": s.media}),
    # writes on seeded objects that leave them usable
    Endpoint("POST", "/api/v1/statuses", explicit=(body({"status": "Generated, but sensible"}),)),
    Endpoint("PUT", "/api/v1/statuses/{id}", _status, explicit=(body({"status": "Edited again #starlings"}),)),
    Endpoint("POST", "/api/v1/statuses/{id}/favourite", _bob_status),
    Endpoint("POST", "/api/v1/statuses/{id}/unfavourite", _bob_status),
    Endpoint("POST", "/api/v1/statuses/{id}/reblog", _bob_status),
    Endpoint("POST", "/api/v1/statuses/{id}/unreblog", _bob_status),
    Endpoint("POST", "/api/v1/statuses/{id}/bookmark", _bob_status),
    Endpoint("POST", "/api/v1/statuses/{id}/unbookmark", _bob_status),
    Endpoint("POST", "/api/v1/statuses/{id}/pin", _status),
    Endpoint("POST", "/api/v1/statuses/{id}/unpin", _status),
    Endpoint("POST", "/api/v1/statuses/{id}/mute", _status),
    Endpoint("POST", "/api/v1/statuses/{id}/unmute", _status),
    Endpoint("POST", "/api/v1/accounts/{id}/follow", _carol),
    Endpoint("POST", "/api/v1/accounts/{id}/unfollow", _carol),
    Endpoint("POST", "/api/v1/accounts/{id}/block", _carol),
    Endpoint("POST", "/api/v1/accounts/{id}/unblock", _carol),
    Endpoint("POST", "/api/v1/accounts/{id}/mute", _carol),
    Endpoint("POST", "/api/v1/accounts/{id}/unmute", _carol),
    Endpoint("POST", "/api/v1/accounts/{id}/remove_from_followers", _carol),
    Endpoint("POST", "/api/v1/markers", explicit=(body({"home": {"last_read_id": "1"}}),)),
    Endpoint("PUT", "/api/v1/media/{id}", lambda s: {"id": s.media},
             explicit=(body({"description": "Alt text", "focus": "0.5,0.5"}),)),
    Endpoint("POST", "/api/v2/media", examples=FEW_EXAMPLES),
    Endpoint("PATCH", "/api/v1/accounts/update_credentials", explicit=(body({"display_name": "Alice A."}),)),
    Endpoint("POST", "/api/v1/apps", explicit=(body({"client_name": "conformance",
                                                "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"}),)),
    Endpoint("POST", "/api/v1/accounts", examples=FEW_EXAMPLES),
    Endpoint("POST", "/oauth/token", examples=FEW_EXAMPLES,
             explicit=(lambda s: {"body": {"grant_type": "client_credentials", "scope": "read",
                                           "client_id": s.app.get("client_id", ""),
                                           "client_secret": s.app.get("client_secret", "")}},)),
    # consume what they act on
    Endpoint("POST", "/api/v1/follow_requests/{account_id}/authorize", lambda s: {"account_id": s.fresh_requester()},
             examples=FEW_EXAMPLES),
    Endpoint("POST", "/api/v1/follow_requests/{account_id}/reject", lambda s: {"account_id": s.fresh_requester()},
             examples=FEW_EXAMPLES),
    Endpoint("DELETE", "/api/v1/statuses/{id}", lambda s: {"id": s.fresh_status()}, examples=FEW_EXAMPLES),
    Endpoint("POST", "/api/v1/notifications/{id}/dismiss", lambda s: {"id": s.notification}, examples=FEW_EXAMPLES),
    Endpoint("POST", "/api/v1/notifications/clear", examples=FEW_EXAMPLES),
    Endpoint("POST", "/oauth/revoke", examples=FEW_EXAMPLES),
)


@dataclass(frozen=True)
class Allowed:
    endpoint: str
    check: str
    match: re.Pattern[str]
    reason: str


def load_baseline() -> list[Allowed]:
    data = json.loads(BASELINE_PATH.read_text())
    allowed = []
    for entry in data["allowed"]:
        assert entry.get("reason", "").strip(), f"baseline entry without a reason: {entry}"
        assert entry["check"] != "not_a_server_error", f"server errors cannot be baselined: {entry}"
        allowed.append(Allowed(entry["endpoint"], entry["check"], re.compile(entry.get("match", ""), re.S),
                               entry["reason"]))
    return allowed


@dataclass
class Finding:
    endpoint: str
    check: str
    message: str
    request: str
    status: int

    def allowed_by(self, baseline: list[Allowed]) -> Allowed | None:
        for entry in baseline:
            if entry.endpoint == self.endpoint and entry.check == self.check and entry.match.search(self.message):
                return entry
        return None


@pytest.fixture(scope="module")
def schema() -> Any:
    if not SCHEMA_PATH.exists():
        skip_or_fail(f"Mastodon's API description is missing at {SCHEMA_PATH}")
    import schemathesis

    return schemathesis.openapi.from_path(SCHEMA_PATH)


@pytest.fixture(scope="module")
def checks() -> dict[str, Any]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return {
        "not_a_server_error": not_a_server_error,
        "status_code_conformance": status_code_conformance,
        "content_type_conformance": content_type_conformance,
        "response_schema_conformance": response_schema_conformance,
    }


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seed]:
    require_database()
    try:
        with start_live_server(tmp_path_factory.mktemp("conformance")) as server:
            yield seed(server)
    except LiveServerError as exc:
        pytest.fail(f"live server: {exc}")


def _describe(case: Any) -> str:
    parts = [f"{case.method} {case.formatted_path}"]
    if case.query:
        parts.append(f"query={case.query!r}")
    body = getattr(case, "body", None)
    if body is not None and type(body).__name__ != "NotSet":
        parts.append(f"body={str(body)[:300]!r}")
    return " ".join(parts)


def _validate(case: Any, response: Any, checks: dict[str, Any], endpoint: Endpoint) -> list[Finding]:
    findings = []
    for name, check in checks.items():
        try:
            case.validate_response(response, checks=[check])
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            failures = getattr(exc, "exceptions", None) or [exc]
            message = "\n".join(f"{getattr(f, 'title', type(f).__name__)}: {getattr(f, 'message', str(f))}"
                                for f in failures)
            findings.append(Finding(endpoint.key, name, message[:2000], _describe(case), response.status_code))
    return findings


def exercise(endpoint: Endpoint, schema: Any, checks: dict[str, Any], s: Seed) -> tuple[list[Finding], int]:
    from schemathesis import GenerationMode

    operation = schema[endpoint.path][endpoint.method]
    findings: list[Finding] = []
    calls = 0
    headers = {"Authorization": f"Bearer {s.alice.token}"}

    def send(case: Any) -> None:
        nonlocal calls
        calls += 1
        case.headers = {**(case.headers or {}), **headers}
        try:
            response = case.call(base_url=s.server.base_url, timeout=30)
        except Exception as exc:
            findings.append(Finding(endpoint.key, "not_a_server_error", f"request failed: {exc!r}",
                                    _describe(case), 0))
            return
        findings.extend(_validate(case, response, checks, endpoint))

    for make in endpoint.explicit:
        parts = make(s)
        extra = {"body": parts["body"], "media_type": "application/json"} if "body" in parts else {}
        path_parameters = endpoint.real(s) if endpoint.real else None
        send(schema.make_case(operation=operation, path_parameters=path_parameters, query=parts.get("query"), **extra))

    @settings(max_examples=endpoint.examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE), use_real=st.booleans())
    def generated(case: Any, use_real: bool) -> None:
        if endpoint.real and use_real:
            case.path_parameters = {**(case.path_parameters or {}), **endpoint.real(s)}
        send(case)

    if endpoint.real:
        send(schema.make_case(operation=operation, path_parameters=endpoint.real(s)))
    generated()
    return findings, calls


def test_baseline_entries_have_reasons() -> None:
    entries = load_baseline()
    keys = {e.key for e in ENDPOINTS}
    for entry in entries:
        assert entry.endpoint in keys, f"baseline names an endpoint that is not exercised: {entry.endpoint}"
        assert entry.check in CHECK_NAMES, entry


def test_seed_data_was_created(seeded: Seed) -> None:
    if seeded.problems:
        pytest.fail("seeding through the API failed:\n" + "\n".join(seeded.problems), pytrace=False)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.key for e in ENDPOINTS])
def test_endpoint_conforms(endpoint: Endpoint, schema: Any, checks: dict[str, Any], seeded: Seed) -> None:
    baseline = load_baseline()
    findings, calls = exercise(endpoint, schema, checks, seeded)
    server_errors = [f for f in findings if f.check == "not_a_server_error"]
    judged = [(f, f.allowed_by(baseline)) for f in findings if f.check != "not_a_server_error"]
    unexpected = [f for f, entry in judged if entry is None]
    tolerated = sorted({(f.check, entry.reason) for f, entry in judged if entry is not None})
    for check, reason in tolerated:
        print(f"{endpoint.key}: {check} tolerated by the baseline: {reason}")
    problems = server_errors + unexpected
    if problems:
        distinct: dict[tuple[str, str], Finding] = {}
        for f in problems:
            distinct.setdefault((f.check, f.message.splitlines()[0][:200]), f)
        report = "\n\n".join(f"[{f.check}] status {f.status} for {f.request}\n{f.message}" for f in distinct.values())
        log = seeded.server.log_tail(3000) if server_errors else ""
        pytest.fail(f"{endpoint.key}: {len(problems)} of {calls} calls failed checks "
                    f"({len(distinct)} distinct)\n\n{report}\n{log}", pytrace=False)


# PostgreSQL refuses NUL in text; every such input must still get a 4xx (or be cleaned), never a 500.
NUL_PROBES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("GET", "/api/v2/search", {"params": {"q": "a\x00b"}}),
    ("GET", "/api/v1/accounts/search", {"params": {"q": "a\x00"}}),
    ("GET", "/api/v1/accounts/lookup", {"params": {"acct": "a\x00"}}),
    ("GET", "/api/v1/timelines/tag/a%00b", {}),
    ("GET", "/api/v1/timelines/home", {"params": {"max_id": "1\x00"}}),
    ("POST", "/api/v1/statuses", {"json": {"status": "a\x00b", "spoiler_text": "\x00"}}),
    ("PATCH", "/api/v1/accounts/update_credentials", {"json": {"display_name": "a\x00b", "note": "\x00"}}),
    ("POST", "/api/v1/apps", {"json": {"client_name": "a\x00b", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"}}),
    ("POST", "/oauth/token", {"data": {"grant_type": "password", "username": "a\x00", "password": "x\x00",
                                       "client_id": "x\x00", "client_secret": "y"}}),
    ("POST", "/api/v1/markers", {"json": {"home": {"last_read_id": "1\x00"}}}),
)


@pytest.mark.parametrize(("method", "path", "kwargs"), NUL_PROBES, ids=[f"{m} {p}" for m, p, _ in NUL_PROBES])
def test_nul_characters_never_cause_server_errors(method: str, path: str, kwargs: dict[str, Any],
                                                   seeded: Seed) -> None:
    with seeded.server.client(seeded.alice.token) as http:
        response = http.request(method, path, **kwargs)
    assert response.status_code < 500, f"{method} {path} {kwargs} → {response.status_code}: {response.text[:300]}"
    assert "error" in response.json() or response.status_code < 300
