"""Every indicator query. Unit aggregates read the rollup and pass the scope filter."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, ParamSpec, TypeVar, TypeVarTuple

from sqlalchemy import (
    ColumnElement,
    Date,
    Float,
    Select,
    String,
    True_,
    and_,
    any_,
    cast,
    column,
    delete,
    func,
    literal,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy import Integer as SaInteger
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.indicators import rollup
from otklik.indicators.models import (
    IndicatorCountry,
    IndicatorRollup,
    IndicatorSummary,
    MethodologyVersion,
    Signal,
)
from otklik.intake.models import ServiceRecord
from otklik.kit.clock import MOSCOW
from otklik.kit.scope import Scope, ScopeColumns, ScopeKind, apply_scope
from otklik.outreach.models import Invitation
from otklik.registry.models import (
    Founder,
    LifeSituation,
    Organization,
    OrganizationType,
    Region,
    Service,
)
from otklik.surveys.models import Response, ResponseComment, ResponseItem

P = ParamSpec("P")
T = TypeVar("T")
Ts = TypeVarTuple("Ts")
_MEMO = "otklik.indicators.memo"


@contextmanager
def memo(session: AsyncSession) -> Iterator[None]:
    """Within the block, the unit reads marked ``per_request`` run once per arguments: a page
    that asks for the same counts several times (a landing: its window, its figures, their
    protection and trend) reads them once. Only around read-only work (a page's)."""
    session.info[_MEMO] = {}
    try:
        yield
    finally:
        session.info.pop(_MEMO, None)


def remembered_in(session: AsyncSession) -> dict[Any, Any] | None:
    """The reads remembered so far inside ``memo`` (None: outside it)."""
    return session.info.get(_MEMO)


def per_request(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """``fn(session, scope, unit, *more)``, remembered inside ``memo``."""

    @functools.wraps(fn)
    async def read(*args: P.args, **kwargs: P.kwargs) -> T:
        session, scope, unit, *more = args
        remembered = session.info.get(_MEMO)  # type: ignore[attr-defined]
        if remembered is None:
            return await fn(*args, **kwargs)
        key = (
            fn.__name__,
            scope,
            id(unit.orgs),  # type: ignore[attr-defined]
            unit.service_code,  # type: ignore[attr-defined]
            unit.life_situation_code,  # type: ignore[attr-defined]
            *(tuple(a) if isinstance(a, list) else a for a in more),
            *sorted(kwargs.items()),
        )
        if key not in remembered:  # the unit is kept with its result: its id stays its own
            remembered[key] = (unit, await fn(*args, **kwargs))
        return remembered[key][1]  # type: ignore[no-any-return]

    return read


ORG_SCOPE = ScopeColumns(Organization.id, Organization.region_code, Organization.founder_id)


def of_unit(stmt: Select[*Ts], column: Any, scope: Scope, orgs: ColumnElement[bool]) -> Select[*Ts]:
    """``stmt`` restricted to the rows whose organization id ``column`` is one of the unit's
    organizations (``orgs``) in ``scope``. The whole country joins the organizations; anything
    narrower names its organizations as an array of ids (``= ANY(ARRAY(SELECT id ...))``), so
    the rows are read through an index leading with the organization, one range per
    organization, not by scanning every organization's rows and joining a few of them."""
    if scope.kind is ScopeKind.country and isinstance(orgs, True_):
        return stmt.join(Organization, Organization.id == column)
    ids = apply_scope(select(Organization.id).where(orgs), scope, ORG_SCOPE)
    return stmt.where(column == any_(func.array(ids.scalar_subquery())))


COUNT_COLUMNS = rollup.COUNT_COLUMNS


def whole_country(scope: Scope, unit: UnitFilter) -> bool:
    """The unit is every organization, seen by a country-wide scope, by the answers' own
    organization (not a service or life situation): its whole months and years are the
    country's rows (``indicator_country``), kept beside the summary."""
    return scope.kind is ScopeKind.country and isinstance(unit.orgs, True_) and not unit.by_answer


@dataclass(frozen=True)
class UnitFilter:
    """Which organizations (and, for service units, which answers) a unit covers."""

    orgs: ColumnElement[bool]
    service_code: str | None = None
    life_situation_code: str | None = None

    @property
    def by_answer(self) -> bool:
        return self.service_code is not None or self.life_situation_code is not None


def grain_for(start: date, end: date) -> str | None:
    """The rollup grain whose rows tile [start, end] exactly: y, m, or None (read answers)."""
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31):
        return "y"
    if start.day == 1 and (end + timedelta(days=1)).day == 1:
        return "m"
    return None


def counts_source(start: date, end: date) -> Any:
    """Rows shaped like the rollup (organization_id, day, code, n, total, n0..n5, isum, isumsq)
    for the days: the rollup's rows of the right grain, or the answers themselves otherwise."""
    grain = grain_for(start, end)
    if grain is None:
        return _answer_rows(UnitFilter(true()), start, end)
    r = IndicatorRollup
    return (
        select(
            r.organization_id,
            r.day,
            r.code,
            *(r.__table__.c[c] for c in COUNT_COLUMNS),
            r.isum,
            r.isumsq,
        )
        .where(r.grain == grain, r.day.between(start, end), r.code != rollup.SERVED)
        .subquery("rollup")
    )


def moscow_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """A closed range of Moscow days as a half-open range of instants."""
    return (
        datetime.combine(start, time(), MOSCOW),
        datetime.combine(end + timedelta(days=1), time(), MOSCOW),
    )


async def get_methodology(session: AsyncSession, version: str | None) -> MethodologyVersion | None:
    stmt = select(MethodologyVersion)
    if version is None:
        stmt = stmt.order_by(MethodologyVersion.is_default.desc(), MethodologyVersion.version)
    else:
        stmt = stmt.where(MethodologyVersion.version == version)
    return (await session.scalars(stmt.limit(1))).first()


async def ensure_methodology(
    session: AsyncSession, version: str, title: str, definition: dict[str, Any]
) -> bool:
    """Add the built-in methodology version if missing (the default when none is); True when
    it was added. An existing version is never changed: figures must stay reproducible."""
    has_default = await session.scalar(
        select(MethodologyVersion.version).where(MethodologyVersion.is_default).limit(1)
    )
    stmt = (
        pg_insert(MethodologyVersion)
        .values(version=version, title=title, definition=definition, is_default=not has_default)
        .on_conflict_do_nothing(index_elements=[MethodologyVersion.version])
        .returning(MethodologyVersion.version)
    )
    return (await session.scalar(stmt)) is not None


def _answer_rows(unit: UnitFilter, start: date, end: date) -> Any:
    """Rollup-shaped rows computed from answers: for service and life-situation units, and for
    ranges that are not whole months or years."""
    cond: list[ColumnElement[bool]] = [Response.answered_on.between(start, end)]
    if unit.service_code is not None:
        cond.append(Response.service_code == unit.service_code)
    if unit.life_situation_code is not None:
        cond.append(Response.life_situation_code == unit.life_situation_code)
    zero = (literal(0.0).label("isum"), literal(0.0).label("isumsq"))
    items = select(
        ResponseItem.organization_id,
        ResponseItem.answered_on.label("day"),
        ResponseItem.code,
        literal(1).label("n"),
        ResponseItem.value.label("total"),
        *(cast(ResponseItem.value == v, SaInteger).label(f"n{v}") for v in range(6)),
        *zero,
    )
    if unit.by_answer:
        # the day too: an item repeats its response's answered_on, the partition key, so each
        # response is looked up in its own month's partition only (docs/deployment.md)
        items = items.join(
            Response,
            and_(
                Response.id == ResponseItem.response_id,
                Response.answered_on == ResponseItem.answered_on,
            ),
        ).where(*cond)
    else:  # items repeat the day: no join needed
        items = items.where(ResponseItem.answered_on.between(start, end))
    heads = select(
        Response.organization_id,
        Response.answered_on.label("day"),
        literal("*").label("code"),
        literal(1).label("n"),
        literal(1).label("total"),
        *(literal(0).label(f"n{v}") for v in range(6)),
        *zero,
    ).where(*cond)
    integrals = _respondent_integrals(unit, cond, start, end)
    return union_all(items, heads, integrals).subquery("answers")


# The integral weights of the default methodology version (as the rollup's triggers use them).
INTEGRAL_WEIGHTS = (
    text(rollup.WEIGHTS).columns(column("code", String), column("w", Float)).subquery("weights")
)


def _respondent_integrals(
    unit: UnitFilter, cond: list[ColumnElement[bool]], start: date, end: date
) -> Select[Any]:
    """Rollup-shaped ``*integral`` rows: one per questionnaire, its own integral as ``isum``."""
    ri, w = ResponseItem, INTEGRAL_WEIGHTS
    per: Any = (
        select(
            func.min(ri.organization_id).label("organization_id"),
            func.min(ri.answered_on).label("day"),
            (func.sum(w.c.w * ri.value) / func.sum(w.c.w)).label("v"),
        )
        .join(w, w.c.code == ri.code)
        .where(w.c.w > 0)
        .group_by(ri.response_id)
    )
    if unit.by_answer:
        per = per.join(
            Response, and_(Response.id == ri.response_id, Response.answered_on == ri.answered_on)
        ).where(*cond)
    else:
        per = per.where(ri.answered_on.between(start, end))
    p = per.subquery("per_response")
    return select(
        p.c.organization_id,
        p.c.day,
        literal("*integral").label("code"),
        literal(1).label("n"),
        literal(0).label("total"),
        *(literal(0).label(f"n{v}") for v in range(6)),
        p.c.v.label("isum"),
        (p.c.v * p.c.v).label("isumsq"),
    )


@per_request
async def item_counts(
    session: AsyncSession, scope: Scope, unit: UnitFilter, start: date, end: date
) -> dict[str, dict[str, int]]:
    """Per item code: n, total and n0..n5 over the unit and days (``*`` = responses)."""
    grain = grain_for(start, end)
    if grain is not None and whole_country(scope, unit):
        c = IndicatorCountry.__table__.c
        stmt = (
            select(c.code, *(func.sum(c[k]).label(k) for k in COUNT_COLUMNS))
            .where(c.grain == grain, c.day.between(start, end), c.code != rollup.SERVED)
            .group_by(c.code)
        )
        rows = (await session.execute(stmt)).all()
        return {r.code: {k: int(getattr(r, k) or 0) for k in COUNT_COLUMNS} for r in rows}
    src = _answer_rows(unit, start, end) if unit.by_answer else counts_source(start, end)
    stmt = select(src.c.code, *(func.sum(src.c[c]).label(c) for c in COUNT_COLUMNS))
    stmt = of_unit(stmt, src.c.organization_id, scope, unit.orgs).group_by(src.c.code)
    rows = (await session.execute(stmt)).all()
    return {r.code: {c: int(getattr(r, c) or 0) for c in COUNT_COLUMNS} for r in rows}


@per_request
async def item_means(
    session: AsyncSession,
    scope: Scope,
    unit: UnitFilter,
    start: date,
    end: date,
    codes: list[str],
) -> dict[str, dict[str, int]]:
    """``item_counts`` reduced to what a mean needs (per code: ``n`` and ``total``) for
    ``codes``: from the summary's rows when the codes are the summary's and the days are whole
    months or a year (ten columns of one row per organization and month, not ten rows);
    otherwise from ``item_counts``."""
    grain = grain_for(start, end)
    if unit.by_answer or grain is None or not set(codes) <= SUMMARY_MONTH_CODES.keys():
        counts = await item_counts(session, scope, unit, start, end)
        return {c: {"n": v["n"], "total": v["total"]} for c, v in counts.items() if c in codes}
    if whole_country(scope, unit):  # the country's rows: the same sums
        row = (await session.execute(_country_sums(grain, start, end, codes))).one()
        if not row[0]:  # no rows of the summary's codes: as the summary, no codes
            return {}
        row = row[1:]
    else:
        t = IndicatorSummary.__table__.c
        sums = [func.sum(t[col]) for c in codes for col in SUMMARY_MONTH_CODES[c]]
        stmt = select(*sums).where(t.grain == grain, t.day.between(start, end))
        row = (await session.execute(of_unit(stmt, t.organization_id, scope, unit.orgs))).one()
        if row[0] is None:  # no rows: as the rollup, no codes
            return {}
    return {
        c: {"n": int(row[2 * i]), "total": 0 if c == "*integral" else int(row[2 * i + 1])}
        for i, c in enumerate(codes)
    }


@per_request
async def monthly_counts(
    session: AsyncSession,
    scope: Scope,
    unit: UnitFilter,
    start: date,
    end: date,
    codes: list[str] | None = None,
    *,
    summary: bool = True,
) -> list[Any]:
    """Per month and item code: n and total (the rollup's months, or the answers for service
    and life-situation units). Codes the summary holds are read from the summary (one row per
    organization and month, through its organization index: ``summary_months``) unless
    ``summary`` is False (tests compare the two)."""
    summed = codes is not None and set(codes) <= SUMMARY_MONTH_CODES.keys()
    if summary and summed and not unit.by_answer and codes is not None:
        return await summary_months(session, scope, unit, start, end, codes)
    if unit.by_answer:
        a = _answer_rows(unit, start, end)
        month: Any = func.date_trunc("month", a.c.day)
        code, n, total = a.c.code, a.c.n, a.c.total
        oid = a.c.organization_id
        where: list[ColumnElement[bool]] = []
    else:
        d = IndicatorRollup
        month, code, n, total, oid = d.day, d.code, d.n, d.total, d.organization_id
        where = [d.grain == "m", d.day.between(start, end)]
    if codes is not None:
        where.append(code.in_(codes))
    label = cast(month, Date).label("month")
    stmt = select(
        label, code.label("code"), func.sum(n).label("n"), func.sum(total).label("total")
    ).where(*where)
    stmt = of_unit(stmt, oid, scope, unit.orgs).group_by(label, code).order_by(label)
    return list((await session.execute(stmt)).all())


# The rollup codes a summary row holds: per code, its (n, total) columns in the summary.
SUMMARY_MONTH_CODES: dict[str, tuple[str, str]] = {
    "*": ("resp", "resp"),
    "*integral": ("ri_n", "ri_n"),  # the rollup's total of "*integral" rows is 0
    **{c: (f"n_{c}", f"s_{c}") for c in rollup.SUMMARY_CODES},
}


async def summary_months(
    session: AsyncSession,
    scope: Scope,
    unit: UnitFilter,
    start: date,
    end: date,
    codes: list[str],
) -> list[MonthCount]:
    """``monthly_counts`` of codes the summary holds, from its month rows: per month and code,
    n and total. A code appears in each month the unit has a summary row (its n may be 0, as a
    rollup row's may), which is each month the unit has rollup rows."""
    if whole_country(scope, unit):  # the country's rows: the same sums
        stmt = _country_sums("m", start, end, codes, by_month=True)
        rows = [(r[0], *r[2:]) for r in await session.execute(stmt) if r[1]]
    else:
        t = IndicatorSummary.__table__.c
        sums = [func.sum(t[col]) for c in codes for col in SUMMARY_MONTH_CODES[c]]
        stmt = select(t.day, *sums).where(t.grain == "m", t.day.between(start, end))
        stmt = of_unit(stmt, t.organization_id, scope, unit.orgs).group_by(t.day).order_by(t.day)
        rows = list(await session.execute(stmt))
    out = []
    for r in rows:
        for i, c in enumerate(codes):
            total = 0 if c == "*integral" else int(r[2 + 2 * i])  # as the rollup's row
            out.append(MonthCount(r[0], c, int(r[1 + 2 * i]), total))
    return out


# the rollup codes a summary row is made of (a summary row exists where one of them does)
_SUMMARY_ROW_CODES = ("*", "*integral", *rollup.SUMMARY_CODES)


def _country_sums(
    grain: str, start: date, end: date, codes: list[str], *, by_month: bool = False
) -> Select[Any]:
    """The summary's sums (``SUMMARY_MONTH_CODES``: per code n and total) over every
    organization, from the country's rows: first the count of the rows a summary row is made
    of (0: the summary has no row there), then per code its n and total (0 when absent)."""
    c = IndicatorCountry.__table__.c
    sums: list[Any] = [func.count()]
    for code in codes:
        n = func.coalesce(func.sum(c.n).filter(c.code == code), 0)
        total = n if code == "*" else func.coalesce(func.sum(c.total).filter(c.code == code), 0)
        sums += [n, total]
    where = [c.grain == grain, c.day.between(start, end), c.code.in_(_SUMMARY_ROW_CODES)]
    if not by_month:
        return select(*sums).where(*where)
    return select(c.day, *sums).where(*where).group_by(c.day).order_by(c.day)


@dataclass(frozen=True)
class MonthCount:
    """A row of ``monthly_counts``."""

    month: date
    code: str
    n: int
    total: int


async def daily_counts(
    session: AsyncSession, scope: Scope, unit: UnitFilter, start: date, end: date
) -> list[int]:
    """Answers per day and item code (``*`` = questionnaires) of a unit, from the answers."""
    a = _answer_rows(unit, start, end)
    stmt = (
        select(func.sum(a.c.n))
        .join(Organization, Organization.id == a.c.organization_id)
        .where(unit.orgs)
        .group_by(a.c.day, a.c.code)
    )
    return [int(n) for n in await session.scalars(apply_scope(stmt, scope, ORG_SCOPE))]


def _record_conditions(unit: UnitFilter) -> list[ColumnElement[bool]]:
    cond = [unit.orgs]
    if unit.service_code is not None:
        cond.append(ServiceRecord.service_code == unit.service_code)
    if unit.life_situation_code is not None:
        cond.append(ServiceRecord.life_situation_code == unit.life_situation_code)
    return cond


async def record_counts(
    session: AsyncSession, scope: Scope, unit: UnitFilter, start: date, end: date, timely_days: int
) -> tuple[int, int, int]:
    """Distinct recipients (person keys) served in the period, their service records, and how
    many records arrived within ``timely_days``."""
    lo, hi = moscow_bounds(start, end)
    sr = ServiceRecord
    late = sr.received_at <= sr.served_at + timedelta(days=timely_days)
    stmt = (
        select(func.count(func.distinct(sr.person_key)), func.count(), func.count().filter(late))
        .select_from(sr)
        .join(Organization, Organization.id == sr.organization_id)
        .where(sr.served_at >= lo, sr.served_at < hi, *_record_conditions(unit))
    )
    row = (await session.execute(apply_scope(stmt, scope, ORG_SCOPE))).one()
    return int(row[0]), int(row[1]), int(row[2])


@per_request
async def responses_by_service_date(
    session: AsyncSession, scope: Scope, unit: UnitFilter, start: date, end: date
) -> int:
    """Questionnaires about services provided in the period (by service date, whenever they
    were answered): the numerator of coverage, on the same dates as its denominator."""
    grain = grain_for(start, end)
    if grain is not None and not unit.by_answer:  # whole months: the rollup's ``*served`` rows
        if whole_country(scope, unit):
            c = IndicatorCountry.__table__.c
            rows: Any = select(func.sum(c.n)).where(c.grain == grain)
            rows = rows.where(c.day.between(start, end), c.code == rollup.SERVED)
        else:
            r = IndicatorRollup
            rows = select(func.sum(r.n)).where(r.grain == grain, r.day.between(start, end))
            rows = of_unit(rows.where(r.code == rollup.SERVED), r.organization_id, scope, unit.orgs)
        return int(await session.scalar(rows) or 0)
    cond: list[ColumnElement[bool]] = [Response.served_on.between(start, end)]
    if unit.service_code is not None:
        cond.append(Response.service_code == unit.service_code)
    if unit.life_situation_code is not None:
        cond.append(Response.life_situation_code == unit.life_situation_code)
    stmt = select(func.count()).select_from(Response).where(*cond)
    return int(await session.scalar(of_unit(stmt, Response.organization_id, scope, unit.orgs)) or 0)


async def invitation_counts(
    session: AsyncSession, scope: Scope, unit: UnitFilter, start: date, end: date
) -> tuple[int, float | None, float | None]:
    """Invitations delivered in the period; median and p95 hours from record to invitation."""
    lo, hi = moscow_bounds(start, end)
    inv, sr = Invitation, ServiceRecord
    hours = func.extract("epoch", inv.sent_at - sr.received_at) / 3600.0
    sent = and_(inv.sent_at >= lo, inv.sent_at < hi)
    stmt: Select[Any] = (
        select(
            func.count().filter(inv.delivered_at >= lo, inv.delivered_at < hi),
            func.percentile_cont(0.5).within_group(hours).filter(sent),
            func.percentile_cont(0.95).within_group(hours).filter(sent),
        )
        .select_from(inv)
        .join(sr, sr.id == inv.service_record_id)
        .join(Organization, Organization.id == inv.organization_id)
        .where(
            (inv.delivered_at >= lo) | sent,
            inv.created_at < hi,
            *_record_conditions(unit),
        )
    )
    row = (await session.execute(apply_scope(stmt, scope, ORG_SCOPE))).one()
    return int(row[0]), _float(row[1]), _float(row[2])


def _float(v: Any) -> float | None:
    return None if v is None else float(v)


async def comments(
    session: AsyncSession,
    scope: Scope,
    organization_id: int,
    start: date,
    end: date,
    *,
    q: str,
    score: int | None,
    limit: int,
    offset: int,
) -> tuple[list[Any], int]:
    """Masked comments of one organization, newest first, with the answer's overall score."""
    c = ResponseComment
    overall = (
        select(ResponseItem.value)
        .where(
            ResponseItem.response_id == c.response_id,
            ResponseItem.answered_on == c.answered_on,
            ResponseItem.code == "overall",
        )
        .scalar_subquery()
    )
    stmt: Select[Any] = (
        select(c.answered_on, c.text, overall.label("score"))
        .join(Organization, Organization.id == c.organization_id)
        .where(c.organization_id == organization_id, c.answered_on.between(start, end))
    )
    if q:
        from otklik.kit.pagination import like_pattern

        stmt = stmt.where(c.text.ilike(like_pattern(q)))
    if score is not None:
        stmt = stmt.where(overall == score)
    stmt = apply_scope(stmt, scope, ORG_SCOPE)
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    page = stmt.order_by(c.answered_on.desc(), c.response_id).limit(limit).offset(offset)
    return list((await session.execute(page)).all()), int(total or 0)


async def weekly_scores(session: AsyncSession, code: str, start: date, end: date) -> list[Any]:
    """Per organization and ISO week: n, sum and sum of squares of one item (for control charts).

    A job-level read over the whole country (no cabinet user behind it), from the answers.
    """
    ri = ResponseItem
    week = func.date_trunc("week", ri.answered_on).label("week")
    stmt = (
        select(
            ri.organization_id,
            week,
            func.count().label("n"),
            func.sum(ri.value).label("total"),
            func.sum(ri.value * ri.value).label("sumsq"),
        )
        .where(ri.code == code, ri.answered_on.between(start, end))
        .group_by(ri.organization_id, week)
        .order_by(ri.organization_id, week)
    )
    return list((await session.execute(stmt)).all())


async def organization_ogrns(session: AsyncSession, ids: list[int]) -> dict[int, str]:
    rows = await session.execute(
        select(Organization.id, Organization.ogrn).where(Organization.id.in_(ids))
    )
    return {int(r[0]): str(r[1]) for r in rows}


async def add_signals(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Insert signals; one already recorded for the same kind, unit and period is kept."""
    if not rows:
        return 0
    stmt = pg_insert(Signal).values(rows).on_conflict_do_nothing().returning(Signal.id)
    return len((await session.execute(stmt)).all())


# The first day the raw answers are whole from (rows before it were dropped by retention).
HORIZON = text(
    "SELECT max(dropped_before) FROM partition_horizon "
    "WHERE table_name IN ('responses', 'response_items')"
)


async def fold_queue(session: AsyncSession, limit: int = rollup.FOLD_LIMIT) -> int:
    """Fold a batch of the queue into the rollup (and so the summary); returns the rollup rows
    written, 0 when the queue is empty or another fold is running."""
    if not (await session.execute(text(rollup.FOLD_LOCK))).scalar_one():
        return 0
    result = await session.execute(text(rollup.FOLD), {"limit": limit})
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def queued(session: AsyncSession) -> int:
    """Rows waiting in the queue."""
    return int((await session.execute(text(rollup.QUEUED))).scalar_one())


async def rebuild_rollup(session: AsyncSession, start: date, end: date) -> int:
    """Recompute the rollup and the summary of the whole years around [start, end] from the
    answers, set-based, in the caller's transaction.

    Whole years, because a year's and a month's rows depend on every day in them. Years whose
    raw answers retention has dropped in part or in full (``partition_horizon``, kept by the
    job ``ops.maintain_partitions``) are left as the folds summed them: rebuilt from what
    is left they would lose the dropped answers. The queued rows the reading statement counted
    are dropped (``rollup.rebuild_months`` and the statements after it). Returns the rollup rows
    of the rebuilt days (only those that differed were written).
    """
    start, end = date(start.year, 1, 1), date(end.year, 12, 31)
    dropped = (await session.execute(HORIZON)).scalar_one_or_none()
    if dropped is not None and start < dropped:
        start = date(dropped.year + (dropped != date(dropped.year, 1, 1)), 1, 1)
    if start > end:
        return 0
    days = {"start": start, "end": end}
    await session.execute(text(rollup.FOLD_WAIT))  # no fold adds to the days meanwhile
    # the summary is applied once from the rebuilt rows, not row by row by its triggers
    await session.execute(text(rollup.SUMMARY_OFF), {"on": "on"})
    for setting in rollup.REBUILD_SETTINGS:
        await session.execute(text(setting))
    months = await session.execute(text(rollup.rebuild_months(start, end)), days)
    await session.execute(text(rollup.REBUILD_ANALYZE))
    years = await session.execute(text(rollup.REBUILD_YEARS))
    await session.execute(text(rollup.REBUILD_DEQUEUE))
    await session.execute(text(rollup.REBUILD_APPLY_WORK_MEM))
    await session.execute(text(rollup.REBUILD_APPLY), days)
    await session.execute(text(rollup.SUMMARY_REBUILD), days)
    await session.execute(delete(IndicatorCountry).where(IndicatorCountry.day.between(start, end)))
    await session.execute(text(rollup.COUNTRY_REBUILD))
    await session.execute(text("DROP TABLE indicator_rebuild"))
    await session.execute(text(rollup.SUMMARY_OFF), {"on": "off"})
    # rows rebuilt: the month rows (the first statement's, less its row of queued rows) and
    # the year rows
    return int(months.rowcount) - 1 + int(years.rowcount)  # type: ignore[attr-defined]


async def find_unit(session: AsyncSession, kind: str, key: str) -> tuple[str, Any] | None:
    """The Russian name and the id of a unit's target, or None when there is no such unit."""
    if kind == "organization":
        org = (
            await session.execute(
                select(Organization.short_name, Organization.id).where(Organization.ogrn == key)
            )
        ).first()
        return (str(org[0]), int(org[1])) if org else None
    if kind == "founder":
        f = (
            await session.execute(select(Founder.short_name, Founder.id).where(Founder.code == key))
        ).first()
        return (str(f[0]), int(f[1])) if f else None
    model: Any = {
        "region": (Region, Region.code, Region.name),
        "type": (OrganizationType, OrganizationType.code, OrganizationType.name),
        "service": (Service, Service.code, Service.name),
        "life_situation": (LifeSituation, LifeSituation.code, LifeSituation.name),
    }.get(kind)
    if model is None:
        return None
    name = await session.scalar(select(model[2]).where(model[1] == key))
    return (str(name), key) if name is not None else None


async def organization_in_scope(session: AsyncSession, scope: Scope, organization_id: int) -> bool:
    stmt = apply_scope(
        select(Organization.id).where(Organization.id == organization_id), scope, ORG_SCOPE
    )
    return (await session.scalar(stmt)) is not None


@per_request
async def integral_moments(
    session: AsyncSession, scope: Scope, unit: UnitFilter, start: date, end: date
) -> tuple[int, float, float]:
    """Respondents with an integral, the sum and the sum of squares of their own integrals."""
    grain = grain_for(start, end)
    if grain is not None and whole_country(scope, unit):
        c = IndicatorCountry.__table__.c
        stmt = select(func.sum(c.n), func.sum(c.isum), func.sum(c.isumsq)).where(
            c.grain == grain, c.day.between(start, end), c.code == "*integral"
        )
        row = (await session.execute(stmt)).one()
        return int(row[0] or 0), float(row[1] or 0.0), float(row[2] or 0.0)
    src = _answer_rows(unit, start, end) if unit.by_answer else counts_source(start, end)
    stmt = select(func.sum(src.c.n), func.sum(src.c.isum), func.sum(src.c.isumsq)).where(
        src.c.code == "*integral"
    )
    row = (await session.execute(of_unit(stmt, src.c.organization_id, scope, unit.orgs))).one()
    return int(row[0] or 0), float(row[1] or 0.0), float(row[2] or 0.0)


async def founder_code(session: AsyncSession, founder_id: int) -> str | None:
    """The public code of a founder (its page's address)."""
    code = await session.scalar(select(Founder.code).where(Founder.id == founder_id))
    return None if code is None else str(code)
