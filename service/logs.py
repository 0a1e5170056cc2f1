"""Structured logs: one JSON object per line, with the request id of the request that logged it.

Every record becomes `{"time", "level", "logger", "message", ...}`; the access log adds
`request_id, method, route, path, status, duration_ms` (see observability.py), and any record
logged while a request is being handled carries that request's `request_id` (a context
variable, so concurrent requests on one event loop do not mix).
"""

from __future__ import annotations

import contextvars
import datetime as _dt
import logging
import sys
from typing import TextIO

import msgspec

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "timeline_request_id", default=None
)

# Fields an access-log record carries as `extra=`; copied into the JSON object when present.
EXTRA_FIELDS = ("request_id", "method", "route", "path", "status", "duration_ms")

_encoder = msgspec.json.Encoder()


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON (UTC time, ISO 8601, milliseconds)."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = _dt.datetime.fromtimestamp(record.created, _dt.UTC)
        doc: dict[str, object] = {
            "time": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in EXTRA_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                doc[name] = value
        if "request_id" not in doc:
            request_id = REQUEST_ID.get()
            if request_id is not None:
                doc["request_id"] = request_id
        if record.exc_info:
            doc["error"] = self.formatException(record.exc_info)
        return _encoder.encode(doc).decode()


def configure_logging(level: str = "info", stream: TextIO | None = None) -> logging.Handler:
    """Send every log record of this process to `stream` (standard error) as JSON lines.

    Called once per server worker process by `app_from_env`; replaces the root logger's
    handlers so nothing is printed twice.
    """
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler


def granian_log_config(level: str = "info") -> dict[str, object]:
    """The server's own log records (start, stop, worker crashes) as JSON on standard error
    too, for `Granian(log_dictconfig=...)`."""
    handler = {"formatter": "json", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "service.logs.JsonFormatter"}},
        "handlers": {"json": handler},
        "loggers": {
            "_granian": {"handlers": ["json"], "level": level.upper(), "propagate": False},
            "granian.access": {"handlers": ["json"], "level": "INFO", "propagate": False},
        },
    }
