from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("compat_table", ROOT / "tools" / "compat_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


compat = _load()

SCHEMA = {
    "paths": {
        "/api/v1/instance": {"get": {"tags": ["instance"], "deprecated": True}},
        "/api/v1/lists": {"get": {"tags": ["lists"]}, "post": {"tags": ["lists"]}},
        "/api/v2/media": {"post": {"tags": ["media"]}},
        "/api/v1/statuses": {"post": {"tags": ["statuses"]}},
    }
}


def test_first_run_uses_the_plan() -> None:
    doc = compat.updated_document("# Title\n", SCHEMA)
    assert doc.startswith("# Title\n")
    assert "| GET | `/api/v1/instance` (deprecated) | done |  |" in doc
    assert "| POST | `/api/v1/lists` | not yet |  |" in doc
    assert "| POST | `/api/v2/media` | done | 202 while processing (a job); docs/MEDIA.md |" in doc
    assert "| POST | `/api/v1/statuses` | partial — no poll or scheduled_at yet |  |" in doc
    assert "5 endpoints in the description: 2 done, 1 partial, 2 not yet." in doc
    assert doc.index("### instance") < doc.index("### lists") < doc.index("### media")


def test_states_written_in_the_document_are_kept_and_dropped_endpoints_go() -> None:
    doc = compat.updated_document("# Title\n", SCHEMA)
    edited = doc.replace("| POST | `/api/v1/lists` | not yet |  |", "| POST | `/api/v1/lists` | done | a \\| b |")
    smaller = {"paths": {k: v for k, v in SCHEMA["paths"].items() if k != "/api/v2/media"}}
    again = compat.updated_document(edited, smaller)
    assert "| POST | `/api/v1/lists` | done | a \\| b |" in again
    assert "/api/v2/media" not in again
    assert compat.updated_document(again, smaller) == again


def test_committed_document_lists_every_endpoint() -> None:
    schema_path = compat.DEFAULT_SCHEMA
    if not schema_path.is_file():
        pytest.skip("the Mastodon OpenAPI description is not available")
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    doc = (ROOT / "docs" / "COMPATIBILITY.md").read_text(encoding="utf-8")
    assert compat.updated_document(doc, schema) == doc
