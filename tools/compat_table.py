"""Regenerate the endpoint tables of docs/COMPATIBILITY.md from Mastodon's OpenAPI description.

Every method and path of the description gets one row, grouped by resource. The document is the
record of each row's state: a row already in it keeps its state and notes, a new endpoint gets
the state planned below (or "not yet"), and endpoints the description dropped disappear.

    python tools/compat_table.py                    # print the tables
    python tools/compat_table.py --write            # rewrite them in docs/COMPATIBILITY.md
    python tools/compat_table.py --check            # exit 1 when the document is out of date

The description (``schema.json`` of abraham/mastodon-openapi) is not part of this repository:
pass ``--schema`` or set ``STARLING_OPENAPI_SCHEMA``; the default is
``../shared/mastodon-openapi/schema.json`` next to the checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DOC = ROOT / "docs" / "COMPATIBILITY.md"
DEFAULT_SCHEMA = ROOT.parent / "shared" / "mastodon-openapi" / "schema.json"

START = "<!-- compat-table:start -->"
END = "<!-- compat-table:end -->"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
DONE, NOT_YET = "done", "not yet"
EMPTY_NOTE = "always [] ({why})"

STREAMING_NOTE = "SSE and the /api/v1/streaming WebSocket; resumable (docs/STREAMING.md)"

# Endpoints this release serves, as planned; anything absent is "not yet".
PLANNED: dict[tuple[str, str], tuple[str, str]] = {
    **{key: (DONE, "") for key in [
        ("POST", "/api/v1/apps"),
        ("GET", "/api/v1/apps/verify_credentials"),
        ("GET", "/oauth/authorize"),
        ("POST", "/oauth/token"),
        ("POST", "/oauth/revoke"),
        ("POST", "/api/v1/accounts"),
        ("GET", "/api/v1/accounts"),
        ("GET", "/api/v1/accounts/verify_credentials"),
        ("PATCH", "/api/v1/accounts/update_credentials"),
        ("GET", "/api/v1/accounts/{id}"),
        ("GET", "/api/v1/accounts/lookup"),
        ("POST", "/api/v1/accounts/{id}/follow"),
        ("POST", "/api/v1/accounts/{id}/unfollow"),
        ("POST", "/api/v1/accounts/{id}/remove_from_followers"),
        ("POST", "/api/v1/accounts/{id}/block"),
        ("POST", "/api/v1/accounts/{id}/unblock"),
        ("POST", "/api/v1/accounts/{id}/mute"),
        ("POST", "/api/v1/accounts/{id}/unmute"),
        ("GET", "/api/v1/accounts/relationships"),
        ("GET", "/api/v1/accounts/{id}/followers"),
        ("GET", "/api/v1/accounts/{id}/following"),
        ("GET", "/api/v1/accounts/{id}/statuses"),
        ("GET", "/api/v1/accounts/search"),
        ("GET", "/api/v1/follow_requests"),
        ("POST", "/api/v1/follow_requests/{account_id}/authorize"),
        ("POST", "/api/v1/follow_requests/{account_id}/reject"),
        ("GET", "/api/v1/blocks"),
        ("GET", "/api/v1/mutes"),
        ("GET", "/api/v1/statuses"),
        ("GET", "/api/v1/statuses/{id}"),
        ("DELETE", "/api/v1/statuses/{id}"),
        ("GET", "/api/v1/statuses/{id}/history"),
        ("GET", "/api/v1/statuses/{id}/source"),
        ("GET", "/api/v1/statuses/{id}/context"),
        ("POST", "/api/v1/statuses/{id}/favourite"),
        ("POST", "/api/v1/statuses/{id}/unfavourite"),
        ("POST", "/api/v1/statuses/{id}/reblog"),
        ("POST", "/api/v1/statuses/{id}/unreblog"),
        ("POST", "/api/v1/statuses/{id}/bookmark"),
        ("POST", "/api/v1/statuses/{id}/unbookmark"),
        ("POST", "/api/v1/statuses/{id}/pin"),
        ("POST", "/api/v1/statuses/{id}/unpin"),
        ("GET", "/api/v1/statuses/{id}/favourited_by"),
        ("GET", "/api/v1/statuses/{id}/reblogged_by"),
        ("GET", "/api/v1/bookmarks"),
        ("GET", "/api/v1/favourites"),
        ("GET", "/api/v1/timelines/home"),
        ("GET", "/api/v1/timelines/public"),
        ("GET", "/api/v1/timelines/tag/{hashtag}"),
        ("GET", "/api/v1/notifications"),
        ("GET", "/api/v1/notifications/{id}"),
        ("POST", "/api/v1/notifications/{id}/dismiss"),
        ("POST", "/api/v1/notifications/clear"),
        ("GET", "/api/v1/notifications/unread_count"),
        ("GET", "/api/v1/markers"),
        ("POST", "/api/v1/markers"),
        ("GET", "/api/v2/search"),
        ("GET", "/api/v1/instance"),
        ("GET", "/api/v2/instance"),
        ("GET", "/api/v1/instance/rules"),
        ("GET", "/api/v1/instance/extended_description"),
        ("GET", "/api/v1/instance/translation_languages"),
        ("GET", "/api/v1/preferences"),
        ("GET", "/api/v1/directory"),
    ]},
    ("GET", "/.well-known/oauth-authorization-server"): (DONE, "no userinfo_endpoint until /oauth/userinfo is served"),
    ("POST", "/api/v1/statuses"): ("partial — no poll or scheduled_at yet", ""),
    ("PUT", "/api/v1/statuses/{id}"): ("partial — no poll or media_attributes yet", ""),
    ("POST", "/api/v2/media"): (DONE, "202 while processing (a job); docs/MEDIA.md"),
    ("POST", "/api/v1/media"): (DONE, "images processed at once; video and audio answer 202"),
    ("GET", "/api/v1/media/{id}"): (DONE, "206 while processing, 422 when the file was refused"),
    ("PUT", "/api/v1/media/{id}"): (DONE, "description and focus of unattached media; no thumbnail"),
    ("DELETE", "/api/v1/media/{id}"): (DONE, "unattached media only"),
    ("DELETE", "/api/v1/profile/avatar"): (DONE, ""),
    ("DELETE", "/api/v1/profile/header"): (DONE, ""),
    ("GET", "/api/v1/instance/domain_blocks"): (DONE, EMPTY_NOTE.format(why="no domain is blocked")),
    ("GET", "/api/v1/instance/peers"): (DONE, "domains of known remote accounts; [] until federation"),
    ("GET", "/api/v1/custom_emojis"): (DONE, EMPTY_NOTE.format(why="no custom emoji")),
    ("GET", "/api/v1/announcements"): (DONE, EMPTY_NOTE.format(why="no announcements")),
    ("GET", "/api/v1/trends/tags"): (DONE, EMPTY_NOTE.format(why="trends are off")),
    ("GET", "/api/v1/trends/statuses"): (DONE, EMPTY_NOTE.format(why="trends are off")),
    ("GET", "/api/v1/trends/links"): (DONE, EMPTY_NOTE.format(why="trends are off")),
    ("GET", "/api/v1/suggestions"): (DONE, EMPTY_NOTE.format(why="no suggestions")),
    ("GET", "/api/v2/suggestions"): (DONE, EMPTY_NOTE.format(why="no suggestions")),
    ("GET", "/api/v1/instance/activity"): (NOT_YET, "login counts are not recorded"),
    ("GET", "/api/v1/streaming/health"): (DONE, ""),
    **{("GET", f"/api/v1/streaming/{path}"): (DONE, STREAMING_NOTE)
       for path in ("user", "user/notification", "public", "public/local", "public/remote", "hashtag",
                    "hashtag/local", "list")},
    ("GET", "/api/v1/streaming/direct"): ("partial — conversation events carry the status's conversation id", ""),
}

# Why a whole resource is "not yet", shown beside each of its rows.
NOT_YET_NOTES: dict[str, str] = {}

# Served outside the OpenAPI description.
EXTRA: list[tuple[str, str, str, str]] = [
    ("GET", "/.well-known/webfinger", DONE, "acct: URIs and profile addresses"),
    ("GET", "/.well-known/host-meta", DONE, "XML"),
    ("GET", "/.well-known/nodeinfo", DONE, ""),
    ("GET", "/nodeinfo/2.0", DONE, "protocols is [] until federation"),
    ("GET", "/api/v1/trends", DONE, EMPTY_NOTE.format(why="trends are off")),
]


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    group: str
    deprecated: bool
    state: str
    notes: str


_ROW = re.compile(
    r"^\|\s*(?P<method>[A-Z]+)\s*\|\s*`(?P<path>[^`]+)`[^|]*\|\s*(?P<state>[^|]*?)\s*\|\s*(?P<notes>.*?)\s*\|$"
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def recorded(doc: str) -> dict[tuple[str, str], tuple[str, str]]:
    """The state and notes of every row already in the document."""
    if START not in doc or END not in doc:
        return {}
    section = doc.split(START, 1)[1].split(END, 1)[0]
    rows: dict[tuple[str, str], tuple[str, str]] = {}
    for line in section.splitlines():
        m = _ROW.match(line.strip())
        if m and m.group("method") in METHODS:
            rows[(m.group("method"), m.group("path"))] = (m.group("state"), m.group("notes").replace("\\|", "|"))
    return rows


def _planned(method: str, path: str, group: str) -> tuple[str, str]:
    if (method, path) in PLANNED:
        return PLANNED[(method, path)]
    return NOT_YET, NOT_YET_NOTES.get(group, "")


def schema_rows(schema: dict[str, object], known: dict[tuple[str, str], tuple[str, str]]) -> list[Row]:
    paths = schema.get("paths")
    if not isinstance(paths, dict):
        raise SystemExit("the OpenAPI description has no paths")
    rows = []
    for path, operations in paths.items():
        for method in METHODS:
            op = operations.get(method.lower())
            if not isinstance(op, dict):
                continue
            tags = op.get("tags") or ["other"]
            group = str(tags[0])
            state, notes = known.get((method, path)) or _planned(method, path, group)
            rows.append(Row(method, path, group, bool(op.get("deprecated")), state, notes))
    return rows


def extra_rows(known: dict[tuple[str, str], tuple[str, str]]) -> list[Row]:
    return [
        Row(method, path, "discovery", False, *(known.get((method, path)) or (state, notes)))
        for method, path, state, notes in EXTRA
    ]


def _table(rows: list[Row]) -> list[str]:
    lines = ["| Method | Path | State | Notes |", "|---|---|---|---|"]
    for row in sorted(rows, key=lambda r: (r.path, METHODS.index(r.method))):
        path = f"`{row.path}`" + (" (deprecated)" if row.deprecated else "")
        lines.append(f"| {row.method} | {path} | {_cell(row.state)} | {_cell(row.notes)} |")
    return lines


def _summary(rows: list[Row]) -> str:
    done = sum(1 for r in rows if r.state == DONE)
    partial = sum(1 for r in rows if r.state.startswith("partial"))
    return (
        f"{len(rows)} endpoints in the description: {done} done, {partial} partial, "
        f"{len(rows) - done - partial} not yet."
    )


def render(rows: list[Row], extras: list[Row]) -> str:
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(row.group, []).append(row)
    lines = [START, "", _summary(rows), ""]
    for group in sorted(groups):
        lines += [f"### {group}", "", *_table(groups[group]), ""]
    lines += ["### Outside the OpenAPI description", "", *_table(extras), "", END]
    return "\n".join(lines)


def updated_document(doc: str, schema: dict[str, object]) -> str:
    known = recorded(doc)
    tables = render(schema_rows(schema, known), extra_rows(known))
    if START in doc and END in doc:
        before, rest = doc.split(START, 1)
        after = rest.split(END, 1)[1]
        return before + tables + after
    return doc.rstrip("\n") + "\n\n" + tables + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schema", type=Path, default=Path(os.environ.get("STARLING_OPENAPI_SCHEMA", DEFAULT_SCHEMA)))
    parser.add_argument("--doc", type=Path, default=DEFAULT_DOC)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite the tables in the document")
    mode.add_argument("--check", action="store_true", help="fail when the document is out of date")
    args = parser.parse_args(argv)
    if not args.schema.is_file():
        print(f"OpenAPI description not found at {args.schema} (use --schema)", file=sys.stderr)
        return 2
    schema = json.loads(args.schema.read_text(encoding="utf-8"))
    doc = args.doc.read_text(encoding="utf-8") if args.doc.is_file() else ""
    new = updated_document(doc, schema)
    if args.check:
        if new != doc:
            print(f"{args.doc} is out of date: run tools/compat_table.py --write", file=sys.stderr)
            return 1
        return 0
    if args.write:
        args.doc.parent.mkdir(parents=True, exist_ok=True)
        args.doc.write_text(new, encoding="utf-8")
        return 0
    known = recorded(doc)
    print(render(schema_rows(schema, known), extra_rows(known)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
