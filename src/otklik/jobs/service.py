"""What a run of a periodic job leaves in its history, and the rule of which runs are kept.

A failure is kept as the exception's class and a detail that carries no data: the SQLSTATE and
constraint of a database error, the code of a domain error, the line of our code that raised.
Never the message: a message may quote a comment, a name, an e-mail or a phone (it goes to the
log, whose handler redacts what it can).
"""

from __future__ import annotations

import os
import socket
import traceback
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from otklik.errors import DomainError

# Runs of a job due at least this often are kept only when they did something or failed.
FREQUENT_SECONDS = 60
KEEP_DAYS = 30
# A failed run is tried again after this long (or its interval, if shorter), not a period later.
RETRY_SECONDS = 60
_SRC = Path(__file__).resolve().parents[1]  # src/otklik


@dataclass(frozen=True)
class Run:
    job: str
    worker: str
    scheduled_at: datetime | None  # when its period began (None: not known, an older run)
    started_at: datetime
    finished_at: datetime
    duration_ms: int
    done: int
    error: str | None = None
    error_detail: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


def worker_id() -> str:
    """``host:pid`` of this process, as the history names it."""
    return f"{socket.gethostname()}:{os.getpid()}"[-120:]


def worth_keeping(interval: int, done: int, failed: bool) -> bool:
    """Every run of an hourly or daily job; a second-by-second sweep's only if it did or failed."""
    return interval >= FREQUENT_SECONDS or done > 0 or failed


def describe_error(exc: BaseException) -> tuple[str, str | None]:
    """(class, detail) of a failure, neither holding data the job worked on."""
    cls = type(exc)
    name = (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )
    details: list[str] = []
    if isinstance(exc, DomainError):
        details.append(f"code {exc.code}")
    if isinstance(exc, DBAPIError):
        orig = exc.orig
        sqlstate = getattr(orig, "sqlstate", None)
        diag = getattr(orig, "diag", None)
        constraint = getattr(diag, "constraint_name", None)
        table = getattr(diag, "table_name", None)
        details += [f"SQLSTATE {sqlstate}"] if sqlstate else []
        details += [f"table {table}"] if table else []
        details += [f"constraint {constraint}"] if constraint else []
    where = _raised_at(exc)
    if where:
        details.append(where)
    return name[-120:], ("; ".join(details)[:200] or None)


def _raised_at(exc: BaseException) -> str | None:
    """The innermost line of our own code in the traceback: ``outreach/tasks.py:120``."""
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename)
        if path.is_relative_to(_SRC):
            found = f"{path.relative_to(_SRC)}:{frame.lineno}"
    return found
