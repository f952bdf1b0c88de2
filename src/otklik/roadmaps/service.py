"""Roadmap rules: creation with checked dates and dependencies, role-gated transitions,
progress reports and re-planning. Knows nothing of HTTP; only flushes."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import DomainError, Forbidden, NotFound, ValidationFailed
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.identity.service import resolve_scope, scope_of
from otklik.kit.scope import Scope, ScopeKind
from otklik.registry.models import Organization
from otklik.roadmaps import repository, workflow
from otklik.roadmaps.models import Measure, MeasureReport, Roadmap, RoadmapEvent
from otklik.roadmaps.schemas import MeasureIn, ReplanIn, ReportIn, RoadmapIn

CREATORS = {Role.participant, Role.analyst}
OWNER_ROLES = {Role.participant.value, Role.analyst.value}
PLANNERS = {Role.participant, Role.analyst}


class TransitionConflict(DomainError):
    status_code = 409
    code = "transition_not_allowed"
    message = "Этот переход недоступен из текущего состояния дорожной карты."


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, field=field)


def find_cycle(edges: dict[str, list[str]]) -> list[str] | None:
    """A dependency cycle as its keys in order (first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for root in edges:
        if state.get(root):
            continue
        path: list[str] = [root]
        stack = [iter(edges.get(root, []))]
        state[root] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(edges.get(nxt, [])))
    return None


def covers(scope: Scope, roadmap: Roadmap) -> bool:
    """Would ``scope`` see ``roadmap`` (the scope filter's rule, for one row in memory)."""
    if scope.kind is ScopeKind.country:
        return True
    if scope.kind is ScopeKind.organization:
        return (
            scope.organization_id is not None and scope.organization_id == roadmap.organization_id
        )
    if scope.kind is ScopeKind.region:
        return scope.region_code is not None and scope.region_code == roadmap.region_code
    if scope.kind is ScopeKind.founder:
        return scope.founder_id is not None and scope.founder_id == roadmap.founder_id
    return False


async def _place(session: AsyncSession, user: User, spec: str | None, roadmap: Roadmap) -> None:
    """A participant's roadmap sits in its own scope; a country user names one (or none)."""
    if user.scope_kind == ScopeKind.country.value:
        if spec and spec != "country":
            target = await resolve_scope(session, Role.participant, spec)
            scope = Scope(
                target.kind, target.organization_id, target.region_code, target.founder_id
            )
        else:
            return
    else:
        scope = scope_of(user)
    if scope.kind is ScopeKind.organization and scope.organization_id is not None:
        org = await session.get(Organization, scope.organization_id)
        if org is None:
            raise _fail("scope", "Организация не найдена.")
        roadmap.organization_id = org.id
        roadmap.region_code = org.region_code
        roadmap.founder_id = org.founder_id
    elif scope.kind is ScopeKind.region:
        roadmap.region_code = scope.region_code
    elif scope.kind is ScopeKind.founder:
        roadmap.founder_id = scope.founder_id


def _check_measures(items: list[MeasureIn]) -> dict[str, list[str]]:
    keys = [m.key for m in items]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise _fail("measures", f"Ключ мероприятия «{dup}» повторяется.")
    edges: dict[str, list[str]] = {}
    for i, m in enumerate(items):
        if m.planned_start > m.planned_due:
            raise _fail(
                f"measures.{i}.planned_due",
                f"Мероприятие «{m.title}»: срок окончания раньше начала.",
            )
        unknown = [d for d in m.depends_on if d not in keys]
        if unknown:
            raise _fail(
                f"measures.{i}.depends_on",
                f"Мероприятие «{m.title}» зависит от неизвестного мероприятия «{unknown[0]}».",
            )
        if m.key in m.depends_on:
            raise _fail(f"measures.{i}.depends_on", f"Мероприятие «{m.title}» зависит от себя.")
        edges[m.key] = list(dict.fromkeys(m.depends_on))
    cycle = find_cycle(edges)
    if cycle:
        raise _fail(
            "measures",
            "Зависимости мероприятий образуют цикл: " + " → ".join(f"«{k}»" for k in cycle) + ".",
        )
    return edges


async def _checked(
    session: AsyncSession, user: User, data: RoadmapIn, roadmap: Roadmap
) -> tuple[dict[str, list[str]], dict[str, User]]:
    """Everything about a plan checked before anything is written: dates, dependencies (no
    cycles), the subject, owners who are active and see the roadmap, change requests in scope.
    Returns the dependency edges and the owners by e-mail."""
    edges = _check_measures(data.measures)
    if await repository.subject_name(session, data.subject.kind, data.subject.code) is None:
        raise _fail("subject.code", f"Предмет улучшения «{data.subject.code}» не найден в реестре.")
    owners = await repository.users_by_email(session, [m.owner.lower() for m in data.measures])
    for i, m in enumerate(data.measures):
        owner = owners.get(m.owner.lower())
        if owner is None or not owner.is_active or owner.role not in OWNER_ROLES:
            raise _fail(
                f"measures.{i}.owner",
                f"Владелец мероприятия «{m.title}» должен быть активным участником эксперимента.",
            )
        if not covers(scope_of(owner), roadmap):
            raise _fail(
                f"measures.{i}.owner",
                f"Владелец мероприятия «{m.title}» не видит эту дорожную карту (другая область).",
            )
    wanted = sorted({c for m in data.measures for c in m.change_requests})
    found = await repository.visible_change_requests(session, scope_of(user), wanted)
    for i, m in enumerate(data.measures):
        missing = [c for c in m.change_requests if c not in found]
        if missing:
            raise _fail(
                f"measures.{i}.change_requests",
                f"Запрос на изменение № {missing[0]} не найден или вне вашей области доступа.",
            )
    return edges, owners


async def _write_measures(
    session: AsyncSession,
    roadmap: Roadmap,
    data: RoadmapIn,
    edges: dict[str, list[str]],
    owners: dict[str, User],
) -> None:
    rows = [
        Measure(
            roadmap_id=roadmap.id,
            position=i + 1,
            title=m.title.strip(),
            owner_user_id=owners[m.owner.lower()].id,
            planned_start=m.planned_start,
            planned_due=m.planned_due,
            weight=m.weight,
            progress=0,
        )
        for i, m in enumerate(data.measures)
    ]
    await repository.add(session, *rows)
    ids = {m.key: row.id for m, row in zip(data.measures, rows, strict=True)}
    await repository.add_dependencies(
        session, [(ids[k], ids[d]) for k, deps in edges.items() for d in deps]
    )
    await repository.add_links(
        session,
        [(ids[m.key], c) for m in data.measures for c in dict.fromkeys(m.change_requests)],
    )


async def create(session: AsyncSession, user: User, data: RoadmapIn, now: datetime) -> Roadmap:
    """A draft roadmap with its measures and dependencies, checked before anything is written."""
    if user.role not in CREATORS:
        raise Forbidden("Дорожную карту создают участник эксперимента или аналитик.")
    _check_measures(data.measures)
    roadmap = Roadmap(
        title=data.title.strip(),
        subject_kind=data.subject.kind,
        subject_code=data.subject.code,
        owner_user_id=user.id,
        state="draft",
        report_every_days=data.report_every_days,
    )
    await _place(session, user, data.scope, roadmap)
    edges, owners = await _checked(session, user, data, roadmap)
    await repository.add(session, roadmap)
    await _write_measures(session, roadmap, data, edges, owners)
    await _event(session, roadmap.id, user, "created", None, "draft", "", now)
    return roadmap


async def update(
    session: AsyncSession, user: User, roadmap_id: int, data: RoadmapIn, now: datetime
) -> Roadmap:
    """A new plan for a draft (its owner or an analyst): the title, subject, report period and
    the whole list of measures are replaced, checked exactly as on creation, before anything is
    written. Once the WG has approved it, dates change only by re-planning a measure (the
    baseline stays, so the slip shows)."""
    if user.role not in CREATORS:
        raise Forbidden("Дорожную карту изменяют участник эксперимента или аналитик.")
    roadmap = await visible(session, user, roadmap_id)
    if user.role == Role.participant and user.id != roadmap.owner_user_id:
        raise Forbidden("Изменять дорожную карту может её владелец или аналитик.")
    if not await repository.lock_draft(session, roadmap.id):
        raise TransitionConflict(
            f"Дорожная карта в состоянии «{workflow.STATE_LABELS[roadmap.state]}»: план "
            "меняется целиком только в черновике. После одобрения сроки мероприятия меняют "
            "перепланированием (базовый план сохраняется).",
            code="roadmap_locked",
            state=roadmap.state,
        )
    edges, owners = await _checked(session, user, data, roadmap)
    roadmap.title = data.title.strip()
    roadmap.subject_kind = data.subject.kind
    roadmap.subject_code = data.subject.code
    roadmap.report_every_days = data.report_every_days
    await repository.drop_measures(session, roadmap.id)
    await _write_measures(session, roadmap, data, edges, owners)
    n = len(data.measures)
    await _event(
        session, roadmap.id, user, "edited", None, None, f"План изменён: {n} мероприятий", now
    )
    return roadmap


async def _event(
    session: AsyncSession,
    roadmap_id: int,
    user: User | None,
    kind: str,
    source: str | None,
    target: str | None,
    comment: str,
    now: datetime,
    measure_id: int | None = None,
) -> None:
    await repository.add(
        session,
        RoadmapEvent(
            roadmap_id=roadmap_id,
            measure_id=measure_id,
            at=now,
            actor_user_id=user.id if user else None,
            actor_label=user.email if user else "система",
            kind=kind,
            from_state=source,
            to_state=target,
            comment=comment,
        ),
    )


async def visible(session: AsyncSession, user: User, roadmap_id: int) -> Roadmap:
    roadmap = await repository.visible_roadmap(session, scope_of(user), roadmap_id)
    if roadmap is None:
        raise NotFound("Дорожная карта не найдена или вне вашей области доступа.")
    return roadmap


async def transition(
    session: AsyncSession, user: User, roadmap_id: int, target: str, comment: str, now: datetime
) -> Roadmap:
    """Move the roadmap; 409 if not allowed from its state (or another user moved it first)."""
    roadmap = await visible(session, user, roadmap_id)
    step = workflow.find(roadmap.state, target)
    if step is None:
        raise TransitionConflict(
            f"Из состояния «{workflow.STATE_LABELS[roadmap.state]}» нельзя перейти "
            f"в «{workflow.STATE_LABELS.get(target, target)}».",
            state=roadmap.state,
        )
    if user.role not in step.roles:
        raise Forbidden("Этот переход выполняет другая роль.")
    if (
        step.target == "active"
        and user.role == Role.participant
        and user.id != roadmap.owner_user_id
    ):
        raise Forbidden("Начать выполнение может владелец дорожной карты или аналитик.")
    if step.comment_required and not comment.strip():
        raise ValidationFailed("Укажите причину возврата.", field="comment")
    if target == "completed" and await repository.unfinished_measures(session, roadmap.id):
        raise TransitionConflict(
            "Завершить дорожную карту можно, когда все мероприятия выполнены на 100\u00a0%.",
            state=roadmap.state,
        )
    source = roadmap.state
    if not await repository.move_state(session, roadmap.id, source, target, now):
        raise TransitionConflict(
            "Состояние дорожной карты уже изменил другой пользователь. Обновите страницу."
        )
    if target == "subcommission_approved":
        await repository.take_baseline(session, roadmap.id)
    await _event(session, roadmap.id, user, "transition", source, target, comment.strip(), now)
    await session.refresh(roadmap)
    return roadmap


async def decide(
    session: AsyncSession,
    user: User,
    roadmap_id: int,
    target: str | None,
    note: str,
    now: datetime,
) -> Roadmap:
    """A body's decision recorded at its meeting: ``target`` moves the roadmap (through the
    same role-gated transition as the roadmap's page); None (the WG did not approve a draft)
    leaves it in its draft, with the decision and its reason on the timeline."""
    if target is not None:
        return await transition(session, user, roadmap_id, target, note, now)
    roadmap = await visible(session, user, roadmap_id)
    if roadmap.state != "draft" or user.role != Role.wg_secretary:
        raise TransitionConflict(
            f"Дорожная карта в состоянии «{workflow.STATE_LABELS[roadmap.state]}»: "
            "это решение к ней не применяется.",
            state=roadmap.state,
        )
    await _event(session, roadmap.id, user, "decision", "draft", "draft", note, now)
    return roadmap


async def report(
    session: AsyncSession,
    user: User,
    roadmap_id: int,
    measure_id: int,
    data: ReportIn,
    now: datetime,
    today: date,
) -> MeasureReport:
    """A participant's progress report on their own measure of an active roadmap."""
    roadmap = await visible(session, user, roadmap_id)
    measure = await repository.measure_of(session, roadmap.id, measure_id)
    if measure is None:
        raise NotFound("Мероприятие не найдено.")
    if measure.owner_user_id != user.id:
        raise Forbidden("Отчёт о ходе представляет владелец мероприятия.")
    if roadmap.state != "active":
        raise TransitionConflict("Отчёты принимаются, пока дорожная карта выполняется.")
    if measure.progress == 100:
        raise TransitionConflict("Мероприятие уже выполнено.")
    forecast = today if data.percent == 100 else data.forecast_due
    if data.percent < 100 and forecast < today:
        raise _fail("forecast_due", "Прогнозная дата не может быть в прошлом.")
    if forecast < measure.planned_start:
        raise _fail("forecast_due", "Прогнозная дата раньше начала мероприятия.")
    row = MeasureReport(
        measure_id=measure.id,
        author_user_id=user.id,
        reported_at=now,
        percent=data.percent,
        text=data.text.strip(),
        problems=data.problems.strip(),
        forecast_due=forecast,
    )
    measure.progress = data.percent
    measure.forecast_due = forecast
    measure.last_report_at = now
    measure.completed_on = today if data.percent == 100 else None
    await repository.add(session, row)
    await _event(
        session,
        roadmap.id,
        user,
        "report",
        None,
        None,
        f"{data.percent}\u00a0%: {row.text}",
        now,
        measure.id,
    )
    return row


async def replan(
    session: AsyncSession,
    user: User,
    roadmap_id: int,
    measure_id: int,
    data: ReplanIn,
    now: datetime,
) -> Measure:
    """New planned dates; the baseline stays, so the slip stays visible."""
    roadmap = await visible(session, user, roadmap_id)
    if user.role not in PLANNERS:
        raise Forbidden("Перепланирование выполняют участник эксперимента или аналитик.")
    if roadmap.state == "completed":
        raise TransitionConflict("Завершённую дорожную карту не перепланируют.")
    measure = await repository.measure_of(session, roadmap.id, measure_id)
    if measure is None:
        raise NotFound("Мероприятие не найдено.")
    if data.planned_start > data.planned_due:
        raise _fail("planned_due", "Срок окончания раньше начала.")
    before = f"{measure.planned_start:%d.%m.%Y}–{measure.planned_due:%d.%m.%Y}"
    after = f"{data.planned_start:%d.%m.%Y}–{data.planned_due:%d.%m.%Y}"
    measure.planned_start = data.planned_start
    measure.planned_due = data.planned_due
    await session.flush()
    await _event(
        session,
        roadmap.id,
        user,
        "replan",
        None,
        None,
        f"{before} → {after}: {data.comment}",
        now,
        measure.id,
    )
    return measure
