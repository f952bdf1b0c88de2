"""Structured logs: one JSON object per line, personal data redacted, repeats rate-limited.

Every line carries ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message`` and, inside a
request, ``request_id`` and ``route`` (the route *template*, e.g. ``/s/{token}``, never the
raw path). The redaction filter runs on the handler, so nothing written by any library escapes
it: links to the respondent form, SNILS, e-mail addresses, phone numbers and bearer tokens are
replaced by placeholders in the message, the arguments and the traceback. Comments and other
free text are never logged by our code (a test scans the log of a representative run).

``RepeatLimiter`` keeps a failing loop (the worker while the database is down) to a few lines a
minute per kind of message, then reports how many it held back.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

LISTEN_ENV = "OTKLIK_LISTEN"  # set by ``otklik serve``: the address in the "ready" line
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
route: ContextVar[str | None] = ContextVar("route", default=None)

# (pattern, replacement), applied in order to every string that reaches the output
REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    # the respondent's single-use link, in any URL or path: /s/<token>[/...]
    (re.compile(r"/s/(?!\{token\})[^/\s?#\"'<>]+"), "/s/{token}"),
    (
        re.compile(
            r"(?i)\b(bearer|token|key|password|secret)([\"']?\s*[:=]\s*|\s+)[\"']?[^\s\"',;&]{6,}"
        ),
        r"\1\2[redacted]",
    ),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    # a token on its own (32 URL-safe characters for a link; API keys are longer): any run of
    # 24+ such characters mixing letters and digits
    (re.compile(r"(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9_-]{24,}(?![\w-])"), "[token]"),
    # SNILS with or without separators (11 digits), before phones
    (re.compile(r"(?<![\w-])\d{3}[- ]?\d{3}[- ]?\d{3}[- ]?\d{2}(?![\w-])"), "[snils]"),
    (
        re.compile(r"(?<![\w])(?:\+7|8)[\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}(?!\d)"),
        "[phone]",
    ),
)
SAFE_FIELDS = ("method", "status", "duration_ms", "job", "count", "event", "suppressed")


def redact(text: str) -> str:
    for pattern, replacement in REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class Redact(logging.Filter):
    """Renders the message with its arguments, then redacts it (and the traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RepeatLimiter(logging.Filter):
    """At most ``burst`` records of one kind (logger, message template, exception type) per
    ``window`` seconds at WARNING and above; the next one let through says how many were held
    back. Applied before ``Redact`` (it keys on the template, not the rendered message)."""

    def __init__(self, burst: int = 3, window: float = 60.0) -> None:
        super().__init__()
        self.burst = burst
        self.window = window
        self._seen: dict[tuple[str, str, str], list[float | int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        exc = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        key = (record.name, str(record.msg), exc)
        now = time.monotonic()
        state = self._seen.get(key)
        if state is None or now - state[0] >= self.window:
            held = int(state[2]) if state else 0
            self._seen[key] = [now, 1, 0]
            if len(self._seen) > 1000:  # a bounded memory, whatever the messages
                self._seen = {key: self._seen[key]}
            if held:
                record.suppressed = held
            return True
        state[1] = int(state[1]) + 1
        if state[1] <= self.burst:
            return True
        state[2] = int(state[2]) + 1
        return False


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid:
            line["request_id"] = rid
        template = getattr(record, "route", None) or route.get()
        if template:
            line["route"] = template
        for name in SAFE_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_text:
            line["exception"] = record.exc_text
        elif record.exc_info and record.exc_info[0] is not None:
            line["exception"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(line).decode()


class TextFormatter(logging.Formatter):
    """For a terminal: ``time level logger [request id] message``."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        rid = request_id.get()
        head = f"{stamp} {record.levelname:<7} {record.name}" + (f" [{rid}]" if rid else "")
        text = f"{head} {record.getMessage()}"
        if record.exc_text:
            text += "\n" + record.exc_text
        return text


def make_handler(stream: TextIO | None = None, fmt: str = "json") -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RepeatLimiter())
    handler.addFilter(Redact())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.set_name("otklik")
    return handler


def configure(level: str = "INFO", fmt: str = "json", stream: TextIO | None = None) -> None:
    """Route every logger (ours, uvicorn's, SQLAlchemy's) to one redacting handler."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if h.get_name() == "otklik":
            root.removeHandler(h)
    root.addHandler(make_handler(stream, fmt))
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "sqlalchemy", "alembic"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # ours is otklik.access
    if root.level > logging.DEBUG:  # libraries' progress chatter
        # httpx logs every URL it calls (a gateway's query string may carry a link)
        for name in ("alembic.runtime.plugins", "pymorphy3", "natasha", "sqlalchemy", "httpx"):
            logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)
