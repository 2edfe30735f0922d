"""Log output: one JSON object per line in production, readable lines in a terminal.

Every record written while a request is handled carries that request's id. The access log
(logger ``starling.access``) writes one record per request with the fields named in ACCESS_FIELDS.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

from starling.config import Settings
from starling.web.middleware.context import current_request_id

ACCESS_FIELDS = (
    "method",
    "path",
    "route",
    "status",
    "duration_ms",
    "request_id",
    "account_id",
    "priority",
    "shed",
    "shed_reason",
    "shed_state",
    "stale",
    "ratelimited",
)

# Attributes every LogRecord has; anything else on a record was passed with ``extra=``.
# uvicorn's ``color_message`` repeats the message with terminal colours.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}
_HANDLER_MARK = "_starling_handler"
_OWNED_LOGGERS = ("starling", "uvicorn", "uvicorn.error", "gunicorn.error")


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "request_id", ...extra fields}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id.get()
        if request_id is not None:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")


def make_formatter(settings: Settings) -> logging.Formatter:
    return JsonFormatter() if settings.log_format == "json" else TextFormatter()


def configure_logging(settings: Settings) -> None:
    """Send Starling's (and the server's own) logs to stderr in the configured format; safe to call twice.

    uvicorn's access log is silenced: ``starling.access`` says the same and more.
    """
    formatter = make_formatter(settings)
    for name in _OWNED_LOGGERS:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if getattr(h, _HANDLER_MARK, False)]:
            logger.removeHandler(old)
        if name != "starling" and settings.log_format != "json":
            continue  # text: the server's own format is fine
        if name != "starling":
            for old in list(logger.handlers):
                logger.removeHandler(old)
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(formatter)
        setattr(handler, _HANDLER_MARK, True)
        logger.addHandler(handler)
        logger.propagate = False
    logging.getLogger("starling").setLevel(settings.log_level.upper())
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
