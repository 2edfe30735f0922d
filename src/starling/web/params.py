"""Request parameters as Mastodon clients send them: query string, JSON, form or multipart.

Rails-style bracket keys (``media_ids[]``, ``source[privacy]``, ``fields_attributes[0][name]``) are
turned into nested values, so every handler reads one structure whatever the encoding was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import orjson
from starlette.datastructures import UploadFile
from starlette.requests import Request

from starling.domain.errors import BadRequest, Unprocessable
from starling.domain.ids import parse_id

_KEY = re.compile(r"\[([^\[\]]*)\]")
_TRUE = {"true", "1", "on", "yes", "t"}
_FALSE = {"false", "0", "off", "no", "f", ""}


def _split_key(key: str) -> list[str]:
    head, _, rest = key.partition("[")
    if not rest:
        return [key]
    return [head, *_KEY.findall("[" + rest)]


def _assign(target: dict[str, Any], path: list[str], value: Any) -> None:
    node: Any = target
    for i, part in enumerate(path):
        last = i == len(path) - 1
        nxt = None if last else path[i + 1]
        if isinstance(node, list):
            if last:
                node.append(value)
                return
            child: Any = [] if nxt == "" else {}
            node.append(child)
            node = child
            continue
        if last:
            if part in node and isinstance(node[part], list):
                node[part].append(value)
            else:
                node[part] = value
            return
        existing = node.get(part)
        if nxt == "":
            if not isinstance(existing, list):
                existing = [] if existing is None else [existing]
                node[part] = existing
        elif not isinstance(existing, dict):
            existing = {}
            node[part] = existing
        node = existing


def nest(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        _assign(out, _split_key(key), value)
    return out


class Params:
    """Typed access to merged request parameters; bad values raise 422 with a clear message."""

    def __init__(self, data: dict[str, Any]):
        self.data = data

    def __contains__(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def raw(self, key: str) -> Any:
        return self.data.get(key)

    def get_str(self, key: str, default: str | None = None, *, max_length: int | None = None) -> str | None:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool | int | float):
            value = str(value).lower() if isinstance(value, bool) else str(value)
        if not isinstance(value, str):
            raise Unprocessable(f"Validation failed: {key} must be a string", field=key)
        if max_length is not None and len(value) > max_length:
            raise Unprocessable(
                f"Validation failed: {key} is too long (maximum is {max_length} characters)", field=key
            )
        return value

    def get_bool(self, key: str, default: bool | None = None) -> bool | None:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            low = value.strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
        raise Unprocessable(f"Validation failed: {key} must be a boolean", field=key)

    def get_int(self, key: str, default: int | None = None, *, minimum: int | None = None,
            maximum: int | None = None, clamp: bool = False) -> int | None:
        value = self.data.get(key)
        if value is None or value == "":
            return default
        try:
            if isinstance(value, bool):
                raise ValueError
            n = int(value)
        except (TypeError, ValueError):
            raise Unprocessable(f"Validation failed: {key} must be an integer", field=key) from None
        if minimum is not None and n < minimum:
            if clamp:
                return minimum
            raise Unprocessable(f"Validation failed: {key} must be at least {minimum}", field=key)
        if maximum is not None and n > maximum:
            if clamp:
                return maximum
            raise Unprocessable(f"Validation failed: {key} must be at most {maximum}", field=key)
        return n

    def get_id(self, key: str) -> int | None:
        value = self.data.get(key)
        if value is None or value == "":
            return None
        parsed = parse_id(value)
        if parsed is None:
            raise Unprocessable(f"Validation failed: {key} is not a valid id", field=key)
        return parsed

    def get_list(self, key: str) -> list[Any]:
        value = self.data.get(key)
        if value is None:
            value = self.data.get(key + "[]")
        if value is None:
            return []
        if isinstance(value, list):
            return value
        if isinstance(value, dict):
            return [value[k] for k in sorted(value, key=lambda k: (len(k), k))]
        return [value]

    def get_str_list(self, key: str) -> list[str]:
        out = []
        for item in self.get_list(key):
            if isinstance(item, bool | int):
                item = str(item)
            if not isinstance(item, str):
                raise Unprocessable(f"Validation failed: {key} must be a list of strings", field=key)
            out.append(item)
        return out

    def get_id_list(self, key: str) -> list[int]:
        out = []
        for item in self.get_list(key):
            parsed = parse_id(item)
            if parsed is None:
                raise Unprocessable(f"Validation failed: {key} contains an invalid id", field=key)
            out.append(parsed)
        return out

    def get_dict(self, key: str) -> dict[str, Any]:
        value = self.data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise Unprocessable(f"Validation failed: {key} must be an object", field=key)
        return value

    def get_sub(self, key: str) -> Params:
        return Params(self.get_dict(key))

    def get_file(self, key: str) -> UploadFile | None:
        value = self.data.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, UploadFile):
            raise Unprocessable(f"Validation failed: {key} must be a file", field=key)
        return value


async def read_params(request: Request) -> Params:
    """Query string merged with the body; body values win."""
    data = nest(request.query_params.multi_items())
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if ctype == "application/json" or ctype.endswith("+json"):
            body = await request.body()
            if body.strip():
                try:
                    parsed = orjson.loads(body)
                except orjson.JSONDecodeError:
                    raise BadRequest("Malformed JSON in the request body") from None
                if not isinstance(parsed, dict):
                    raise Unprocessable("The request body must be a JSON object")
                data.update(parsed)
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            try:
                form = await request.form(max_files=8, max_fields=2000)
            except Exception as exc:
                raise BadRequest(f"Malformed form body: {exc}") from None
            data.update(nest(form.multi_items()))
    if _has_nul(data):
        raise Unprocessable("Validation failed: the request contains a NUL character", field="base")
    return Params(data)


def _has_nul(value: Any) -> bool:
    """NUL can be stored by neither database; one check here keeps it away from every query."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False
