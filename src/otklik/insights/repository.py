"""All SQL of the insights domain; every query for a cabinet user passes through apply_scope."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Float,
    Integer,
    Select,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.insights.models import (
    CommentAnalysis,
    InsightCorrection,
    InsightModel,
    InsightSignal,
    UrgentReview,
)
from otklik.kit.pagination import PageParams, like_pattern, order_by_param, paginate
from otklik.kit.scope import Scope, ScopeColumns, apply_scope
from otklik.registry.models import Organization
from otklik.surveys.models import Response, ResponseComment, ResponseItem

ORG_SCOPE = ScopeColumns(Organization.id, Organization.region_code, Organization.founder_id)
OVERALL = "overall"


def _overall() -> Any:
    """Each response's overall score; joined on (response_id, answered_on): the day is the
    items' partition key, so a lookup reaches one month's partition (docs/deployment.md)."""
    return (
        select(ResponseItem.response_id, ResponseItem.answered_on, ResponseItem.value)
        .where(ResponseItem.code == OVERALL)
        .subquery("overall")
    )


async def pending_comments(session: AsyncSession, limit: int) -> Sequence[Any]:
    """Comments without an analysis yet, oldest first, with the response's overall score."""
    ov = _overall()
    c, a = ResponseComment, CommentAnalysis
    stmt = (
        select(c.response_id, c.code, c.text, c.organization_id, c.answered_on, ov.c.value)
        .outerjoin(a, and_(a.response_id == c.response_id, a.code == c.code))
        .outerjoin(ov, and_(ov.c.response_id == c.response_id, ov.c.answered_on == c.answered_on))
        .where(a.response_id.is_(None))
        .order_by(c.answered_on, c.response_id, c.code)
        .limit(limit)
        .with_for_update(of=c, skip_locked=True)
    )
    return (await session.execute(stmt)).all()


async def insert_analyses(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        stmt = pg_insert(CommentAnalysis).values(rows).on_conflict_do_nothing()
        await session.execute(stmt)


def _month(col: Any) -> Any:
    return func.to_char(col, "YYYY-MM")


async def topic_stats(
    session: AsyncSession,
    scope: Scope,
    org_ids: Sequence[int],
    start: date,
    end: date,
    by: str = "topic",
) -> Sequence[Any]:
    """Per organization, month and topic (or life situation + topic): n, mean, variance of the
    overall score over responses whose comments mention the topic."""
    ov = _overall()
    a = CommentAnalysis
    mention = (
        select(
            a.response_id,
            a.answered_on,
            func.unnest(a.topics).label("topic"),
        )
        .where(a.organization_id.in_(org_ids), a.answered_on >= start, a.answered_on < end)
        .distinct()
        .subquery("mention")
    )
    key = Response.life_situation_code if by == "situation" else literal_column("''")
    stmt = (
        select(
            Response.organization_id,
            _month(Response.answered_on).label("period"),
            key.label("situation"),
            mention.c.topic,
            func.count().label("n"),
            func.avg(ov.c.value).label("mean"),
            func.coalesce(func.var_samp(ov.c.value), 0).label("var"),
        )
        .join(
            mention,
            and_(
                mention.c.response_id == Response.id,
                mention.c.answered_on == Response.answered_on,
            ),
        )
        .join(ov, and_(ov.c.response_id == Response.id, ov.c.answered_on == Response.answered_on))
        .join(Organization, Organization.id == Response.organization_id)
        .group_by(Response.organization_id, "period", "situation", mention.c.topic)
    )
    return (await session.execute(apply_scope(stmt, scope, ORG_SCOPE))).all()


async def score_totals(
    session: AsyncSession,
    scope: Scope,
    org_ids: Sequence[int],
    start: date,
    end: date,
    by: str = "topic",
) -> Sequence[Any]:
    """Per organization and month (or life situation): n, mean, variance of the overall score."""
    ov = _overall()
    key = Response.life_situation_code if by == "situation" else literal_column("''")
    stmt = (
        select(
            Response.organization_id,
            _month(Response.answered_on).label("period"),
            key.label("situation"),
            func.count().label("n"),
            func.avg(ov.c.value).label("mean"),
            func.coalesce(func.var_samp(ov.c.value), 0).label("var"),
        )
        .join(ov, and_(ov.c.response_id == Response.id, ov.c.answered_on == Response.answered_on))
        .join(Organization, Organization.id == Response.organization_id)
        .where(
            Response.organization_id.in_(org_ids),
            Response.answered_on >= start,
            Response.answered_on < end,
        )
        .group_by(Response.organization_id, "period", "situation")
    )
    return (await session.execute(apply_scope(stmt, scope, ORG_SCOPE))).all()


async def examples(
    session: AsyncSession, scope: Scope, org_id: int, start: date, end: date, per_topic: int
) -> Sequence[Any]:
    """Up to ``per_topic`` masked comments per topic, the most negative first."""
    a, c = CommentAnalysis, ResponseComment
    ranked_q = (
        select(
            func.unnest(a.topics).label("topic"),
            c.text,
            a.answered_on,
            a.sentiment,
        )
        .join(c, and_(c.response_id == a.response_id, c.code == a.code))
        .join(Organization, Organization.id == a.organization_id)
        .where(a.organization_id == org_id, a.answered_on >= start, a.answered_on < end)
    )
    ranked = apply_scope(ranked_q, scope, ORG_SCOPE).subquery("ranked")
    numbered = select(
        ranked,
        func.row_number()
        .over(
            partition_by=ranked.c.topic,
            order_by=[(ranked.c.sentiment == "negative").desc(), ranked.c.answered_on.desc()],
        )
        .label("k"),
    ).subquery("numbered")
    stmt = select(numbered.c.topic, numbered.c.text, numbered.c.answered_on).where(
        numbered.c.k <= per_topic
    )
    return (await session.execute(stmt)).all()


async def visible_organization(
    session: AsyncSession, scope: Scope, org_id: int
) -> Organization | None:
    stmt = apply_scope(select(Organization).where(Organization.id == org_id), scope, ORG_SCOPE)
    return (await session.execute(stmt)).scalar_one_or_none()


OVERVIEW_SORTS = ("urgent", "negative", "comments", "name")


async def overview(
    session: AsyncSession, scope: Scope, start: date, end: date, params: PageParams
) -> tuple[list[Any], int]:
    """Organizations in scope with analysed comments in the period: counts and urgent flags,
    searchable by name or OGRN, sorted by ``params.sort`` (most urgent first by default)."""
    a = CommentAnalysis
    comments = func.count().label("comments")
    negative = func.count().filter(a.sentiment == "negative").label("negative")
    urgent_n = func.count().filter(a.urgent).label("urgent")
    stmt = cast(
        Select[Any],
        select(Organization.id, Organization.short_name, comments, negative, urgent_n)
        .join(a, a.organization_id == Organization.id)
        .where(a.answered_on >= start, a.answered_on < end)
        .group_by(Organization.id, Organization.short_name),
    )
    if params.q:
        pattern = like_pattern(params.q)
        stmt = stmt.where(
            or_(Organization.short_name.ilike(pattern), Organization.ogrn.like(pattern))
        )
    columns: dict[str, Any] = {
        "urgent": urgent_n,
        "negative": negative,
        "comments": comments,
        "name": Organization.short_name,
    }
    stmt, _ = order_by_param(stmt, params.sort, columns, "-urgent")
    stmt = stmt.order_by(comments.desc(), Organization.id)
    return await paginate(session, apply_scope(stmt, scope, ORG_SCOPE), params, scalars=False)


async def urgent(
    session: AsyncSession, scope: Scope, org_id: int | None, limit: int
) -> Sequence[Any]:
    """Urgent-risk comments in scope (any time, newest first), whatever the thresholds."""
    a, c = CommentAnalysis, ResponseComment
    stmt = (
        select(
            a.response_id,
            a.code,
            a.organization_id,
            Organization.short_name,
            a.answered_on,
            a.urgent_kind,
            c.text,
        )
        .join(Organization, Organization.id == a.organization_id)
        .join(c, and_(c.response_id == a.response_id, c.code == a.code))
        .where(a.urgent, (a.organization_id == org_id) if org_id is not None else true())
        .order_by(a.answered_on.desc())
        .limit(limit)
    )
    return (await session.execute(apply_scope(stmt, scope, ORG_SCOPE))).all()


async def latest_day(session: AsyncSession, scope: Scope) -> date | None:
    a = CommentAnalysis
    stmt = select(func.max(a.answered_on)).join(Organization, Organization.id == a.organization_id)
    return (await session.execute(apply_scope(stmt, scope, ORG_SCOPE))).scalar_one_or_none()


async def comments(
    session: AsyncSession,
    scope: Scope,
    org_id: int,
    start: date,
    end: date,
    limit: int,
    offset: int,
) -> Sequence[Any]:
    a, c, ov = CommentAnalysis, ResponseComment, _overall()
    stmt = (
        select(
            a.response_id,
            a.code,
            c.text,
            a.topics,
            a.sentiment,
            a.urgent,
            a.answered_on,
            ov.c.value.label("overall"),
        )
        .join(c, and_(c.response_id == a.response_id, c.code == a.code))
        .outerjoin(ov, and_(ov.c.response_id == a.response_id, ov.c.answered_on == a.answered_on))
        .join(Organization, Organization.id == a.organization_id)
        .where(a.organization_id == org_id, a.answered_on >= start, a.answered_on < end)
        .order_by(a.answered_on.desc(), a.response_id, a.code)
        .limit(limit)
        .offset(offset)
    )
    return (await session.execute(apply_scope(stmt, scope, ORG_SCOPE))).all()


async def analysis(
    session: AsyncSession, response_id: uuid.UUID, code: str
) -> CommentAnalysis | None:
    return await session.get(CommentAnalysis, (response_id, code), with_for_update=True)


async def correct(
    session: AsyncSession,
    row: CommentAnalysis,
    topics: list[str],
    taxonomy_version: str,
    user_id: int | None,
) -> None:
    await session.execute(
        insert(InsightCorrection).values(
            response_id=row.response_id,
            code=row.code,
            topics=topics,
            previous_topics=row.topics,
            taxonomy_version=taxonomy_version,
            user_id=user_id,
        )
    )
    await session.execute(
        update(CommentAnalysis)
        .where(CommentAnalysis.response_id == row.response_id, CommentAnalysis.code == row.code)
        .values(topics=topics, model_version="corrected", analysed_at=func.now())
    )


async def corrected_examples(session: AsyncSession) -> Sequence[Any]:
    """The latest correction of each comment, with its text and overall score."""
    ov = _overall()
    k = InsightCorrection
    newest = select(func.max(k.id)).group_by(k.response_id, k.code)
    latest = (
        select(k.response_id, k.code, k.topics, k.taxonomy_version)
        .where(k.id.in_(newest))
        .subquery("latest")
    )
    c = ResponseComment
    stmt = (
        select(c.text, latest.c.topics, latest.c.taxonomy_version, ov.c.value)
        .join(latest, and_(latest.c.response_id == c.response_id, latest.c.code == c.code))
        .outerjoin(ov, and_(ov.c.response_id == c.response_id, ov.c.answered_on == c.answered_on))
    )
    return (await session.execute(stmt)).all()


async def replace_signals(
    session: AsyncSession, pairs: Sequence[tuple[int, str]], rows: list[dict[str, Any]]
) -> None:
    """Replace the signals of the given (organization, period) pairs by ``rows``."""
    s = InsightSignal
    for_pairs = func.row(s.organization_id, s.period).in_([func.row(o, p) for o, p in pairs])
    await session.execute(delete(s).where(s.kind.in_(("problem", "rising")), for_pairs))
    if rows:
        await session.execute(insert(s).values(rows))


async def store_model(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(update(InsightModel).values(active=False))
    await session.execute(insert(InsightModel).values(**values, active=True))


async def active_model(session: AsyncSession) -> tuple[str, bytes] | None:
    stmt = select(InsightModel.version, InsightModel.blob).where(InsightModel.active)
    row = (await session.execute(stmt)).first()
    return (str(row[0]), bytes(row[1])) if row else None


async def active_model_version(session: AsyncSession) -> str | None:
    stmt = select(InsightModel.version).where(InsightModel.active)
    return (await session.execute(stmt)).scalar_one_or_none()


async def problem_summary(
    session: AsyncSession, scope: Scope, periods: Sequence[str], limit: int = 10
) -> Sequence[Any]:
    """The problem topics of the organizations in scope over the months ``periods``
    (``YYYY-MM``): per topic, organizations where it is a problem, answers mentioning it and
    the mean effect on the overall score (from the stored signals, nothing recomputed)."""
    s = InsightSignal
    topic = s.payload["topic"].astext
    stmt = (
        select(
            topic.label("topic"),
            func.min(s.payload["name"].astext).label("name"),
            func.count(func.distinct(s.organization_id)).label("organizations"),
            func.sum(s.payload["n_with"].astext.cast(Integer)).label("answers"),
            func.avg(s.payload["diff"].astext.cast(Float)).label("diff"),
        )
        .join(Organization, Organization.id == s.organization_id)
        .where(s.kind == "problem", s.period.in_(list(periods)))
        .group_by(topic)
        .order_by(func.count(func.distinct(s.organization_id)).desc(), topic)
        .limit(limit)
    )
    return (await session.execute(apply_scope(stmt, scope, ORG_SCOPE))).all()


async def situation_topics(
    session: AsyncSession, scope: Scope, start: date, end: date, min_n: int
) -> Sequence[Any]:
    """Per life situation and topic, in scope and the days ``start``..``end`` (inclusive):
    negative comments mentioning the topic and all comments of the situation; only pairs with
    at least ``min_n`` negative comments (a small count is never shown)."""
    a = CommentAnalysis
    mention = (
        select(
            Response.life_situation_code.label("situation"),
            func.unnest(a.topics).label("topic"),
            a.response_id,
        )
        .join(Response, and_(Response.id == a.response_id, Response.answered_on == a.answered_on))
        .join(Organization, Organization.id == a.organization_id)
        .where(
            a.answered_on.between(start, end),
            a.sentiment == "negative",
            Response.life_situation_code.is_not(None),
        )
    )
    sub = apply_scope(mention, scope, ORG_SCOPE).subquery("mention")
    stmt = (
        select(
            sub.c.situation, sub.c.topic, func.count(func.distinct(sub.c.response_id)).label("n")
        )
        .group_by(sub.c.situation, sub.c.topic)
        .having(func.count(func.distinct(sub.c.response_id)) >= min_n)
        .order_by(sub.c.situation, func.count(func.distinct(sub.c.response_id)).desc(), sub.c.topic)
    )
    return (await session.execute(stmt)).all()


async def monthly_comments(
    session: AsyncSession, scope: Scope, org_id: int | None = None
) -> dict[str, int]:
    """Analysed comments per month (``YYYY-MM``) in scope (and of one organization)."""
    a = CommentAnalysis
    month = func.to_char(a.answered_on, literal_column("'YYYY-MM'"))
    stmt = (
        select(month.label("month"), func.count())
        .join(Organization, Organization.id == a.organization_id)
        .group_by(month)
    )
    if org_id is not None:
        stmt = stmt.where(a.organization_id == org_id)
    return {
        str(mo): int(n)
        for mo, n in (await session.execute(apply_scope(stmt, scope, ORG_SCOPE))).all()
    }


async def analysis_progress(session: AsyncSession, scope: Scope) -> tuple[int, int]:
    """Comments in scope already analysed and all comments in scope (the backlog's progress)."""
    c, a = ResponseComment, CommentAnalysis
    stmt = (
        select(func.count(a.response_id), func.count())
        .select_from(c)
        .join(Organization, Organization.id == c.organization_id)
        .outerjoin(a, and_(a.response_id == c.response_id, a.code == c.code))
    )
    done, total = (await session.execute(apply_scope(stmt, scope, ORG_SCOPE))).one()
    return int(done or 0), int(total or 0)


# ---------------------------------------------------------------- urgent triage


async def enqueue_urgent(
    session: AsyncSession, now: datetime, sla_hours: dict[str, int], limit: int
) -> Sequence[Any]:
    """Put flagged comments that are not yet in the triage queue into it (state new, due
    ``now`` plus the kind's SLA hours); returns the new rows."""
    a, r = CommentAnalysis, UrgentReview
    longest = max(sla_hours.values())
    due = case(
        *((a.urgent_kind == k, literal(now + timedelta(hours=h))) for k, h in sla_hours.items()),
        else_=literal(now + timedelta(hours=longest)),
    )
    fresh = (
        select(
            a.response_id,
            a.code,
            a.organization_id,
            a.urgent_kind,
            literal(now),
            due,
        )
        .where(
            a.urgent,
            ~select(r.response_id).where(r.response_id == a.response_id, r.code == a.code).exists(),
        )
        .order_by(a.analysed_at)
        .limit(limit)
    )
    cols = ["response_id", "code", "organization_id", "kind", "flagged_at", "due_at"]
    inserted = (
        pg_insert(r)
        .from_select(cols, fresh)
        .on_conflict_do_nothing()
        .returning(r.response_id, r.code, r.organization_id, r.kind)
    )
    return (await session.execute(inserted)).all()


async def authority_recipients(session: AsyncSession, org_ids: Sequence[int]) -> Sequence[Any]:
    """(organization id, short name, user id) of the authority users over each organization:
    the regional authority of its region and the users scoped to its founder."""
    o, u = Organization, User
    stmt = (
        select(o.id, o.short_name, u.id)
        .join(
            u,
            or_(
                and_(
                    u.role == Role.regional_authority.value,
                    u.scope_region_code == o.region_code,
                ),
                and_(u.scope_kind == "founder", u.scope_founder_id == o.founder_id),
            ),
        )
        .where(o.id.in_(org_ids), u.is_active)
    )
    return (await session.execute(stmt)).all()


async def mark_notified(
    session: AsyncSession, keys: Sequence[tuple[uuid.UUID, str]], now: datetime
) -> None:
    r = UrgentReview
    for response_id, code in keys:
        await session.execute(
            update(r).where(r.response_id == response_id, r.code == code).values(notified_at=now)
        )


async def triage_queue(
    session: AsyncSession, scope: Scope, state: str | None, limit: int, offset: int
) -> Sequence[Any]:
    """The triage queue in scope: unreviewed first by due time, then reviewed, newest first."""
    r, c, ov = UrgentReview, ResponseComment, _overall()
    stmt = (
        select(
            r.response_id,
            r.code,
            r.organization_id,
            Organization.short_name,
            r.kind,
            r.state,
            r.flagged_at,
            r.due_at,
            r.notified_at,
            r.reviewed_at,
            c.text,
            ov.c.value.label("score"),
        )
        .join(Organization, Organization.id == r.organization_id)
        .join(c, and_(c.response_id == r.response_id, c.code == r.code))
        .outerjoin(ov, and_(ov.c.response_id == r.response_id, ov.c.answered_on == c.answered_on))
        .where((r.state == state) if state else true())
        .order_by((r.state != "new"), r.due_at, r.reviewed_at.desc())
        .limit(limit)
        .offset(offset)
    )
    return (await session.execute(apply_scope(stmt, scope, ORG_SCOPE))).all()


async def triage_item(
    session: AsyncSession, scope: Scope, response_id: uuid.UUID, code: str
) -> UrgentReview | None:
    r = UrgentReview
    stmt = (
        select(r)
        .join(Organization, Organization.id == r.organization_id)
        .where(r.response_id == response_id, r.code == code)
        .with_for_update(of=r)
    )
    return (await session.scalars(apply_scope(stmt, scope, ORG_SCOPE))).one_or_none()


async def set_review(
    session: AsyncSession,
    response_id: uuid.UUID,
    code: str,
    state: str,
    kind: str,
    user_id: int | None,
    now: datetime,
) -> None:
    r = UrgentReview
    await session.execute(
        update(r)
        .where(r.response_id == response_id, r.code == code)
        .values(state=state, kind=kind, reviewed_by=user_id, reviewed_at=now)
    )


async def review_labels(session: AsyncSession) -> Sequence[Any]:
    """Reviewed flags as training labels: masked text, overall score, state, kind."""
    r, c = UrgentReview, ResponseComment
    ov = _overall()
    stmt = (
        select(c.text, ov.c.value, r.state, r.kind)
        .join(c, and_(c.response_id == r.response_id, c.code == r.code))
        .outerjoin(ov, and_(ov.c.response_id == r.response_id, ov.c.answered_on == c.answered_on))
        .where(r.state != "new")
        .order_by(r.reviewed_at)
    )
    return (await session.execute(stmt)).all()
