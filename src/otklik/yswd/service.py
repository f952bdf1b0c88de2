"""«Вы сказали — мы сделали»: the public entries of one organization and the review of its own.

Entries come from three places:

* released changes that touch the organization (its own change request, one of its region
  until assessed, one whose effect assessment covers it, or a measured change without a
  request that covers it): the topic of the comments it answered, what was changed, and the
  measured effect with its interval — or «эффект ещё измеряется» until the assessment has a
  verdict;
* closed incidents of the organization (or regional ones with a signal of the organization),
  except urgent flags: the subject, the actions of the incident's review;
* the organization's own entries, public only once its authority (the regional or federal
  authority whose scope holds the organization) has approved them.

Every share of comments and every score goes through the disclosure rules of the indicators
(``indicators.disclosure``, ``indicators.service``): nothing below the threshold is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.effects.service import VERDICTS
from otklik.errors import DomainError, NotFound, ValidationFailed
from otklik.identity.audit import Actor, record_audit
from otklik.indicators import service as indicators
from otklik.indicators.disclosure import ratio
from otklik.indicators.schemas import IndicatorsOut
from otklik.insights.taxonomy import load as load_taxonomy
from otklik.kit.clock import MOSCOW
from otklik.kit.scope import Scope, ScopeKind
from otklik.yswd import repository
from otklik.yswd.models import YswdEntry

SHARE_DAYS = 365  # the share of comments: the year before the change
STATES = {
    "review": "на проверке у органа власти",
    "approved": "опубликована",
    "returned": "возвращена",
}
INDICATOR_WORDS = {"overall": "общая оценка"}


class EntryConflict(DomainError):
    status_code = 409
    code = "yswd_conflict"
    message = "Запись уже проверена."


@dataclass(frozen=True)
class Entry:
    source: str  # change, measured, incident, own
    on: date | None
    topic_name: str | None
    share: float | None  # % of the organization's comments that mention the topic
    said: str
    done: str
    effect: str  # the estimate with its interval, or a plain phrase


def topic_names() -> dict[str, str]:
    return load_taxonomy().names


async def _share(
    session: AsyncSession, org_id: int, topic: str, on: date, min_n: int
) -> float | None:
    total, with_topic = await repository.topic_counts(
        session, org_id, topic, on - timedelta(days=SHARE_DAYS), on
    )
    return ratio(with_topic, total, min_n)


def _num(v: float) -> str:
    return f"{v:+.2f}".replace(".", ",")


def _effect(row: Any) -> str:
    if row.verdict in (None, "pending") or row.estimate is None:
        return VERDICTS["pending"]
    label = INDICATOR_WORDS.get(row.indicator, row.indicator)
    interval = (
        f"95\u00a0% интервал {_num(row.ci_low)} … {_num(row.ci_high)}"
        if row.ci_low is not None and row.ci_high is not None
        else "интервал не рассчитан: слишком мало организаций"
    )
    return (
        f"{label}: {_num(row.estimate)} балла ({interval}; организаций: {row.n_treated},"
        f" в сравнении: {row.n_control}) — {VERDICTS[row.verdict]}"
    )


def _change_text(row: Any) -> str:
    details = "; ".join(f"{k}: {v}" for k, v in (row.change or {}).items())
    return f"{row.title}. {details}" if details else str(row.title)


def _local(at: datetime | None) -> date | None:
    return at.astimezone(MOSCOW).date() if at else None


async def entries(session: AsyncSession, org: Any, min_n: int) -> list[Entry]:
    """Every public entry of the organization, the newest first."""
    names = topic_names()
    out: list[Entry] = []
    for c in await repository.changes(session, org.id, org.region_code):
        on = _local(c.released_at) or c.planned_release
        topic = (c.topic or {}).get("topic")
        share = await _share(session, org.id, topic, on, min_n) if topic and on else None
        said = (
            f"Граждане писали о теме «{names.get(topic, (c.topic or {}).get('name', topic))}»"
            if topic
            else "Граждане ставили низкие оценки"
        )
        out.append(
            Entry("change", on, names.get(topic) if topic else None, share, said,
                  _change_text(c), _effect(c))
        )  # fmt: skip
    for a in await repository.assessed(session, org.id):
        word = INDICATOR_WORDS.get(a.indicator, a.indicator)
        out.append(
            Entry("measured", a.released_on, None, None, f"Граждане ставили низкие оценки ({word})",
                  str(a.title), _effect(a))
        )  # fmt: skip
    for i in await repository.incidents(session, org.id, org.region_code):
        on = _local(i.closed_at or i.resolved_at)
        kind, _, code = str(i.subject).partition(":")
        topic = code if kind == "topic" else None
        share = await _share(session, org.id, topic, on, min_n) if topic and on else None
        if topic:
            said = f"Граждане стали чаще писать о теме «{names.get(topic, topic)}»"
        elif kind == "indicator":
            said = f"Снизилась оценка граждан ({INDICATOR_WORDS.get(code, code)})"
        else:
            said = str(i.title)
        review = i.review or {}
        done = str(review.get("actions") or "Причина устранена.")
        out.append(
            Entry("incident", on, names.get(topic) if topic else None, share, said, done,
                  VERDICTS["pending"])
        )  # fmt: skip
    for e in await repository.approved(session, org.id):
        share = await _share(session, org.id, e.topic, e.done_on, min_n)
        out.append(
            Entry("own", e.done_on, names.get(e.topic, e.topic), share, e.said, e.done,
                  VERDICTS["pending"])
        )  # fmt: skip
    out.sort(key=lambda x: x.on or date.min, reverse=True)
    return out


async def scores(session: AsyncSession, ogrn: str, today: date) -> IndicatorsOut:
    """The organization's figures for the current year, as the indicators service shows them
    (intervals; hidden below the threshold)."""
    return await indicators.indicators(
        session, Scope.country(), f"organization:{ogrn}", str(today.year), None, today
    )


async def public_page(session: AsyncSession, ogrn: str, today: date) -> dict[str, Any]:
    found = await repository.organization(session, ogrn)
    if found is None:
        raise NotFound("Организация не найдена.", code="organization_not_found")
    org, region_name = found
    figures = await scores(session, ogrn, today)
    return {
        "org": org,
        "region_name": region_name,
        "figures": figures,
        "entries": await entries(session, org, figures.min_n),
    }


def _clean(value: str, field: str, low: int, high: int) -> str:
    value = " ".join(value.split())
    if not low <= len(value) <= high:
        raise ValidationFailed(f"{field}: от {low} до {high} символов.", code="bad_text")
    return value


async def submit(
    session: AsyncSession,
    scope: Scope,
    actor: Actor,
    today: date,
    *,
    topic: str,
    said: str,
    done: str,
    done_on: date,
) -> YswdEntry:
    """An organization's own entry, sent to its authority for review."""
    if scope.kind is not ScopeKind.organization or scope.organization_id is None:
        raise NotFound("Запись добавляет сама организация.", code="out_of_scope")
    if topic not in topic_names():
        raise ValidationFailed("Выберите тему из списка.", code="bad_topic")
    if done_on > today or done_on < today - timedelta(days=3 * 365):
        raise ValidationFailed(
            "Дата изменения — не позже сегодняшней и не раньше трёх лет назад.", code="bad_date"
        )
    entry = YswdEntry(
        organization_id=scope.organization_id,
        topic=topic,
        said=_clean(said, "Что сказали граждане", 10, 500),
        done=_clean(done, "Что сделано", 10, 1000),
        done_on=done_on,
        state="review",
        created_by=actor.user_id,
    )
    session.add(entry)
    await session.flush()
    await record_audit(
        session, actor, "yswd.submit", "yswd_entry", str(entry.id), None, {"state": "review"}
    )
    return entry


async def review(
    session: AsyncSession,
    scope: Scope,
    actor: Actor,
    now: datetime,
    entry_id: int,
    *,
    approve: bool,
    reason: str = "",
) -> YswdEntry:
    """The authority approves an entry (it becomes public) or returns it with a reason."""
    if scope.kind not in (ScopeKind.region, ScopeKind.founder):
        raise NotFound("Запись проверяет орган власти организации.", code="out_of_scope")
    entry = await repository.entry_for_update(session, scope, entry_id)
    if entry is None:
        raise NotFound("Запись не найдена или вне вашей области доступа.", code="out_of_scope")
    if entry.state != "review":
        raise EntryConflict(f"Запись уже {STATES[entry.state]}.")
    reason = " ".join(reason.split())
    if not approve and not 5 <= len(reason) <= 1000:
        raise ValidationFailed(
            "Укажите причину возврата (от 5 до 1000 символов).", code="no_reason"
        )
    entry.state = "approved" if approve else "returned"
    entry.return_reason = "" if approve else reason
    entry.reviewed_by = actor.user_id
    entry.reviewed_at = now
    await session.flush()
    await record_audit(
        session, actor, "yswd.approve" if approve else "yswd.return", "yswd_entry",
        str(entry.id), {"state": "review"}, {"state": entry.state},
    )  # fmt: skip
    return entry


async def cabinet(session: AsyncSession, scope: Scope) -> dict[str, Any]:
    """The organization's own entries, or the authority's queue of entries to review."""
    if scope.kind is ScopeKind.organization and scope.organization_id is not None:
        org = await repository.organization_in_scope(session, scope, scope.organization_id)
        return {
            "org": org,
            "own": await repository.own(session, scope.organization_id),
            "queue": [],
        }
    return {"org": None, "own": [], "queue": await repository.for_review(session, scope)}
