"""The documented rules: severity of each signal, SLA clocks by severity, states and moves.

Severity (1 most severe):

* 1 — an urgent flag of danger to life or health, or of violence;
* 2 — an urgent flag of corruption or discrimination; an intake source silent for 3 days;
  delivery failures of 50 % or more on a channel in a day; a drop of 0.5 points or more;
* 3 — any other drop below the EWMA limit; a burst of one problem topic; delivery failures
  of 20–50 %;
* a signal storm (10 or more organizations of one region with the same subject in one run)
  becomes one regional incident one level more severe than its worst signal;
* by hand: the opener chooses 1–4 (4 — a minor, local problem).

SLA clocks run in elapsed hours (not working hours), so time zones and the absence of
daylight saving change nothing; they are shown in the region's local time.
"""

from __future__ import annotations

from datetime import timedelta

# severity -> (acknowledge within, resolve within); improvement.md
SLA_HOURS: dict[int, tuple[int, int]] = {1: (4, 24), 2: (24, 72), 3: (72, 240), 4: (240, 720)}
WARN_SHARE = 0.25  # warn when a quarter of the clock is left
SILENT_DAYS = 3
DELIVERY_MIN = 20
DELIVERY_SHARE = 0.2
DELIVERY_SEVERE_SHARE = 0.5
DROP_SEVERE = 0.5
STORM_ORGS = 10
REOPEN_DAYS = 30

STATES: dict[str, str] = {
    "new": "новый",
    "acknowledged": "принят",
    "in_progress": "в работе",
    "waiting": "ожидание (часы остановлены)",
    "escalated": "передан в подкомиссию",
    "resolved": "устранён",
    "closed": "закрыт",
}
OPEN = ("new", "acknowledged", "in_progress", "waiting", "escalated")

# action -> (from states, to state, comment required, Russian label)
TRANSITIONS: dict[str, tuple[frozenset[str], str, bool, str]] = {
    "acknowledge": (frozenset({"new"}), "acknowledged", False, "Принять"),
    "start": (frozenset({"acknowledged"}), "in_progress", False, "Взять в работу"),
    "wait": (frozenset({"acknowledged", "in_progress"}), "waiting", True, "Ожидание"),
    "resume": (frozenset({"waiting"}), "in_progress", False, "Продолжить работу"),
    "escalate": (
        frozenset({"new", "acknowledged", "in_progress", "waiting"}),
        "escalated",
        True,
        "Передать в подкомиссию",
    ),
    "resolve": (frozenset({"acknowledged", "in_progress"}), "resolved", True, "Устранён"),
    "reopen": (frozenset({"resolved"}), "in_progress", True, "Вернуть в работу"),
    "close": (frozenset({"resolved"}), "closed", False, "Закрыть"),
}

SEVERITIES = {1: "1 — критический", 2: "2 — высокий", 3: "3 — средний", 4: "4 — низкий"}
KINDS = {
    "indicator_drop": "падение оценки",
    "topic_burst": "всплеск проблемной темы",
    "urgent": "срочные сигналы",
    "silent_source": "источник молчит",
    "delivery_failures": "сбои доставки",
    "manual": "вручную",
}


def sla(severity: int) -> tuple[timedelta, timedelta]:
    ack, resolve = SLA_HOURS[severity]
    return timedelta(hours=ack), timedelta(hours=resolve)


def sla_case(column: str, which: int) -> str:
    """An SQL CASE giving the interval of clock ``which`` (0 ack, 1 resolve) by severity."""
    whens = " ".join(f"WHEN {s} THEN {h[which]}" for s, h in SLA_HOURS.items())
    return f"make_interval(hours => CASE {column} {whens} END)"
