"""Monthly partitions: created ahead, rows routed to their month, strays moved out of the
DEFAULT partition, old months dropped after retention, uniqueness kept, the job idempotent."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from pydantic import ValidationError
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.indicators import repository as indicators_repository
from otklik.indicators.tasks import drain
from otklik.intake.service import ingest
from otklik.ops import partitions
from otklik.ops.partitions import (
    TABLES,
    RetentionViolation,
    add_months,
    cutoff,
    maintain_partitions,
)
from otklik.outreach import repository as outreach_repository
from otklik.outreach.citizen import LinkGone
from otklik.outreach.models import Delivery, key_time
from otklik.schedule import SCHEDULE
from otklik.surveys import service
from otklik.surveys.models import Response, ResponseItem
from tests.factories import create_organization, create_source, service_record
from tests.outreach.test_planning import VAULT
from tests.surveys.helpers import child, form, invite

NOW = datetime(2027, 6, 15, 10, 0, tzinfo=UTC)


async def _names(session: AsyncSession, table: str) -> set[str]:
    return set((await partitions.months(session, _table(table))).values())


def _table(name: str) -> partitions.Table:
    return next(t for t in TABLES if t.name == name)


async def _where(session: AsyncSession, table: str, condition: str, **params: Any) -> list[str]:
    rows = await session.execute(
        text(f"SELECT tableoid::regclass::text FROM {table} WHERE {condition}"),  # noqa: S608
        params,
    )
    return [r[0] for r in rows]


async def _response(
    session: AsyncSession, org_id: int, day: date, rid: uuid.UUID | None = None
) -> uuid.UUID:
    rid = rid or uuid.uuid4()
    await session.execute(
        text(
            "INSERT INTO responses (id, questionnaire_version, organization_id, "
            "organization_type_code, region_code, founder_id, service_code, served_on, "
            "answered_on, channel, respondent, age_band, answers) "
            "SELECT :id, '2025.1', o.id, o.type_code, o.region_code, o.founder_id, 'x', :d, :d, "
            "'log', 'recipient', '30-39', '{}' FROM organizations o WHERE o.id = :o"
        ),
        {"id": rid, "d": day, "o": org_id},
    )
    await session.execute(
        text(
            "INSERT INTO response_items (response_id, code, value, organization_id, answered_on) "
            "VALUES (:id, 'overall', 5, :o, :d), (:id, 'staff', 4, :o, :d)"
        ),
        {"id": rid, "d": day, "o": org_id},
    )
    await drain(session)  # the worker's fold: the rollup counts it
    return rid


async def _rollup(session: AsyncSession, org_id: int) -> list[tuple[Any, ...]]:
    rows = await session.execute(
        text(
            "SELECT grain, day, code, n, total FROM indicator_rollup "
            "WHERE organization_id = :o ORDER BY 1, 2, 3"
        ),
        {"o": org_id},
    )
    return [tuple(r) for r in rows]


def test_cutoff_keeps_the_current_and_two_previous_years() -> None:
    # the default retention and the smallest allowed one keep 1 January two years back
    assert Settings(env="test").retention_months >= 36
    for at in (datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 12, 31, 23, 59, tzinfo=UTC)):
        assert cutoff(at, 36) <= date(at.year - 2, 1, 1)
    assert cutoff(NOW, 48) == date(2023, 6, 1)
    assert add_months(date(2027, 11, 1), 3) == date(2028, 2, 1)
    assert add_months(date(2027, 1, 1), -13) == date(2025, 12, 1)
    with pytest.raises(ValidationError, match="retention_months"):
        Settings(env="test", retention_months=24)


async def test_the_job_creates_the_coming_months_and_is_idempotent(
    session: AsyncSession, settings: Settings
) -> None:
    assert "ops.maintain_partitions" in {p.name for p in SCHEDULE}
    with time_machine.travel(NOW, tick=False):
        done = await maintain_partitions(session, settings)
        assert done > 0
        for table in TABLES:
            names = await _names(session, table.name)
            for month in ("202706", "202707", "202708", "202709"):
                assert f"{table.name}_p{month}" in names
            assert f"{table.name}_p202710" not in names
        # a second run finds everything in place
        assert await maintain_partitions(session, settings) == 0
    with time_machine.travel(datetime(2027, 7, 1, 0, 0, tzinfo=UTC), tick=False):
        assert await maintain_partitions(session, settings) == len(TABLES)  # October each
        assert "responses_p202710" in await _names(session, "responses")


async def test_months_are_moscow_months(session: AsyncSession, settings: Settings) -> None:
    # 23:30 UTC on 30 June is 02:30 on 1 July in Moscow: answers are dated July (answered_on is
    # a Moscow date), so July is this month and October the third month ahead
    late = datetime(2027, 6, 30, 23, 30, tzinfo=UTC)
    await partitions.maintain(session, late, settings.retention_months)
    assert "responses_p202710" in await _names(session, "responses")
    assert cutoff(late, 48) == date(2023, 7, 1)


async def test_rows_route_into_their_month(session: AsyncSession, settings: Settings) -> None:
    org = await create_organization(session)
    await partitions.maintain(session, NOW, settings.retention_months)
    rid = await _response(session, org.id, date(2027, 7, 31))
    assert await _where(session, "responses", "id = :id", id=rid) == ["responses_p202707"]
    assert (
        await _where(session, "response_items", "response_id = :id", id=rid)
        == ["response_items_p202707"] * 2
    )


async def test_stray_rows_are_moved_out_of_the_default_partition_and_reported(
    session: AsyncSession, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    org = await create_organization(session)
    rid = await _response(session, org.id, date(2031, 3, 10))  # no partition for 2031
    assert await _where(session, "responses", "id = :id", id=rid) == ["responses_default"]
    before = await _rollup(session, org.id)
    assert before  # the triggers counted it
    with caplog.at_level(logging.WARNING, logger="otklik.ops.partitions"):
        report = await partitions.maintain(session, NOW, settings.retention_months)
    assert report.moved == 3  # the response and its two items
    assert "responses_p203103" in report.created
    assert any("default partition" in r.getMessage() for r in caplog.records)
    assert await _where(session, "responses", "id = :id", id=rid) == ["responses_p203103"]
    assert set(await _where(session, "response_items", "response_id = :id", id=rid)) == {
        "response_items_p203103"
    }
    for table in ("responses", "response_items"):
        empty = await session.execute(text(f"SELECT count(*) FROM {table}_default"))  # noqa: S608
        assert empty.scalar_one() == 0
    # moving is not answering again: nothing queued, nothing counted twice
    assert await indicators_repository.queued(session) == 0
    await drain(session)
    assert await _rollup(session, org.id) == before
    again = await partitions.maintain(session, NOW, settings.retention_months)
    assert (again.created, again.dropped, again.moved) == ([], [], 0)


async def test_retention_drops_only_months_past_it_and_keeps_the_rollup(
    session: AsyncSession, settings: Settings
) -> None:
    org = await create_organization(session)
    await partitions.maintain(session, NOW, settings.retention_months)
    # at NOW the cutoff is 1 June 2023 (48 months); on 1 July 2027 it is 1 July 2023
    old = await _response(session, org.id, date(2023, 6, 30))
    kept = await _response(session, org.id, date(2023, 7, 1))
    await session.execute(
        text(
            "INSERT INTO response_comments (response_id, code, text, organization_id, "
            "answered_on) VALUES (:id, 'comment', 'Хорошо', :o, '2023-06-30')"
        ),
        {"id": old, "o": org.id},
    )
    await partitions.maintain(session, NOW, settings.retention_months)  # both months created
    rollup = await _rollup(session, org.id)
    report = await partitions.maintain(session, NOW, settings.retention_months)
    assert report.dropped == []  # June 2023 ends after the cutoff
    with time_machine.travel(datetime(2027, 7, 1, 0, 0, tzinfo=UTC), tick=False):
        report = await partitions.maintain(session, datetime.now(UTC), settings.retention_months)
    assert sorted(report.dropped) == ["response_items_p202306", "responses_p202306"]
    assert await _where(session, "responses", "id = ANY(:ids)", ids=[old, kept]) == [
        "responses_p202307"
    ]
    comments = await session.execute(
        text("SELECT count(*) FROM response_comments WHERE response_id = :id"), {"id": old}
    )
    assert comments.scalar_one() == 0
    # dropping is not deleting: the rollup still counts the dropped answers
    assert await _rollup(session, org.id) == rollup
    horizon = await session.execute(
        text("SELECT dropped_before FROM partition_horizon WHERE table_name = 'responses'")
    )
    assert horizon.scalar_one() == date(2023, 7, 1)
    # a rebuild leaves 2023 (partly dropped) as the triggers summed it
    await indicators_repository.rebuild_rollup(session, date(2023, 1, 1), date(2023, 12, 31))
    assert await _rollup(session, org.id) == rollup


async def test_a_partition_with_young_rows_is_never_dropped(
    session: AsyncSession, settings: Settings
) -> None:
    await partitions.maintain(session, NOW, settings.retention_months)
    with pytest.raises(RetentionViolation):
        await partitions.drop_month(
            session, _table("responses"), date(2027, 6, 1), date(2027, 6, 1)
        )
    assert "responses_p202706" in await _names(session, "responses")


async def test_one_response_per_record_even_across_months(
    session: AsyncSession, settings: Settings
) -> None:
    org = await create_organization(session)
    first, second = await invite(session, settings, [child(org.ogrn)], org=org)
    await partitions.maintain(session, NOW, settings.retention_months)
    form_a = await service.open_form(session, first)
    form_b = await service.open_form(session, second)
    assert form_a is not None
    assert form_b is not None
    fields = list(form().items())
    await service.submit(session, settings, form_a, fields, answered_on=date(2027, 6, 30))
    # the record's other link, answered "next month": its response would land in another
    # partition; the record's lock still refuses it
    with pytest.raises(LinkGone):
        await service.submit(session, settings, form_b, fields, answered_on=date(2027, 7, 1))
    n = await session.scalar(select(func.count()).select_from(Response))
    assert n == 1


async def test_a_response_key_is_unique_within_its_month(
    session: AsyncSession, settings: Settings
) -> None:
    org = await create_organization(session)
    await partitions.maintain(session, NOW, settings.retention_months)
    rid = await _response(session, org.id, date(2027, 6, 3))
    with pytest.raises(IntegrityError):
        async with session.begin_nested():
            await _response(session, org.id, date(2027, 6, 3), rid)
    n = await session.scalar(select(func.count()).select_from(ResponseItem))
    assert n == 2


async def test_a_timestamptz_key_is_cut_at_moscow_midnight(session: AsyncSession) -> None:
    # 21:30 UTC on 30 June is 00:30 on 1 July in Moscow: the row belongs to July's partition
    await session.execute(
        text("CREATE TABLE scratch (id bigint, at timestamptz NOT NULL) PARTITION BY RANGE (at)")
    )
    await session.execute(text("CREATE TABLE scratch_default PARTITION OF scratch DEFAULT"))
    june_end = datetime(2027, 6, 30, 21, 30, tzinfo=UTC)
    await session.execute(
        text("INSERT INTO scratch VALUES (1, :a), (2, :b)"),
        {"a": june_end, "b": datetime(2027, 6, 30, 20, 59, tzinfo=UTC)},
    )
    table = partitions.Table("scratch", "at", timestamptz=True)
    assert await partitions.default_rows(session, table) == {
        date(2027, 6, 1): 1,
        date(2027, 7, 1): 1,
    }
    assert await partitions.create_month(session, table, date(2027, 7, 1)) == 1
    assert await partitions.create_month(session, table, date(2027, 6, 1)) == 1
    assert await _where(session, "scratch", "id = 1") == ["scratch_p202707"]
    assert await _where(session, "scratch", "id = 2") == ["scratch_p202706"]


# --- service records and invitations: key tables carry the global uniqueness ---

MSK = "Europe/Moscow"


async def _record(
    session: AsyncSession, org_id: int, received_at: datetime, record_id: str | None = None
) -> int:
    """A record (its key row, the row, a contact; the queue's trigger adds its task), as
    intake writes it: one statement."""
    row = await session.execute(
        text(
            """
            WITH k AS (
              INSERT INTO service_record_keys (source_id, record_id, received_at)
              VALUES (0, :rid, :at) RETURNING id
            ), r AS (
              INSERT INTO service_records (id, source_id, record_id, content_hash,
                organization_id, service_code, served_at, received_at, person_key, age_band,
                is_minor, channel)
              SELECT k.id, 0, :rid, 'h', :o, 'x', :at, :at, 'p', '30-39', false, 'api' FROM k
            ), c AS (
              INSERT INTO contacts (service_record_id, position, person_key,
                portal_account_confirmed, has_email, has_phone, sealed, expires_at)
              SELECT k.id, 0, 'p', true, true, false, 's', :at FROM k
            )
            SELECT id FROM k
            """
        ),
        {"rid": record_id or f"R-{uuid.uuid4()}", "at": received_at, "o": org_id},
    )
    return int(row.scalar_one())


async def _invitation(
    session: AsyncSession, record: int, org_id: int, created_at: datetime, token: bytes
) -> int:
    """An invitation (its key row, the row, a delivery), as the planner writes it."""
    row = await session.execute(
        text(
            """
            WITH k AS (
              INSERT INTO invitation_keys (token_hash, public_id, service_record_id, created_at)
              VALUES (:t, gen_random_uuid(), :r, :at) RETURNING id, public_id
            ), i AS (
              INSERT INTO invitations (id, public_id, service_record_id, person_key,
                organization_id, token_hash, created_at, expires_at)
              SELECT k.id, k.public_id, :r, 'p', :o, :t, :at, :at FROM k
            ), d AS (
              INSERT INTO deliveries (invitation_id, kind, channel, next_attempt_at)
              SELECT k.id, 'invite', 'log', :at FROM k
            )
            SELECT id FROM k
            """
        ),
        {"r": record, "o": org_id, "at": created_at, "t": token},
    )
    return int(row.scalar_one())


async def _count(session: AsyncSession, sql: str, **params: Any) -> int:
    return int((await session.execute(text(sql), params)).scalar_one())


async def test_records_and_invitations_route_into_their_month_with_their_keys(
    session: AsyncSession, settings: Settings
) -> None:
    org = await create_organization(session)
    await invite(session, settings, org=org)
    await partitions.maintain(session, NOW, settings.retention_months)
    late = datetime(2027, 6, 30, 21, 30, tzinfo=UTC)  # 00:30 on 1 July in Moscow
    record = await _record(session, org.id, late)
    await _invitation(session, record, org.id, late, b"late")
    assert await _where(session, "service_records", "id = :id", id=record) == [
        "service_records_p202707"
    ]
    assert await _where(session, "invitations", "service_record_id = :id", id=record) == [
        "invitations_p202707"
    ]
    # every row is in the partition of its key's month, and has its key row with that key
    for table, key, keys in (
        ("service_records", "received_at", "service_record_keys"),
        ("invitations", "created_at", "invitation_keys"),
    ):
        misplaced = await _count(
            session,
            f"SELECT count(*) FROM {table} t LEFT JOIN {keys} k ON k.id = t.id "  # noqa: S608
            f"WHERE t.organization_id = :o AND (k.{key} IS DISTINCT FROM t.{key} OR "
            f"t.tableoid::regclass::text <> '{table}_p' || to_char(t.{key} AT TIME ZONE "
            f"'{MSK}', 'YYYYMM'))",
            o=org.id,
        )
        assert misplaced == 0
        assert (
            await _count(
                session,
                f"SELECT count(*) FROM {table} WHERE organization_id = :o",  # noqa: S608
                o=org.id,
            )
            >= 2
        )


async def test_stray_records_and_invitations_leave_the_default_partition_once(
    session: AsyncSession, settings: Settings
) -> None:
    org = await create_organization(session)
    far = datetime(2031, 3, 10, 12, tzinfo=UTC)  # no partition for 2031
    record = await _record(session, org.id, far)
    await _invitation(session, record, org.id, far, b"far")
    assert await _where(session, "service_records", "id = :id", id=record) == [
        "service_records_default"
    ]
    tasks = await _count(session, "SELECT count(*) FROM outreach_tasks")
    report = await partitions.maintain(session, NOW, settings.retention_months)
    assert report.moved >= 2
    assert {"service_records_p203103", "invitations_p203103"} <= set(report.created)
    assert await _where(session, "service_records", "id = :id", id=record) == [
        "service_records_p203103"
    ]
    assert await _where(session, "invitations", "service_record_id = :id", id=record) == [
        "invitations_p203103"
    ]
    # moving is not inserting or deleting: no second task, the key rows and dependents stay
    assert await _count(session, "SELECT count(*) FROM outreach_tasks") == tasks
    assert await _count(session, "SELECT count(*) FROM service_record_keys WHERE id = :r", r=record)
    assert await _count(
        session, "SELECT count(*) FROM invitation_keys WHERE service_record_id = :r", r=record
    )
    assert await _count(
        session,
        "SELECT count(*) FROM deliveries d JOIN invitation_keys k ON k.id = d.invitation_id "
        "WHERE k.service_record_id = :r",
        r=record,
    )


async def test_retention_drops_records_invitations_their_keys_and_dependents(
    session: AsyncSession, settings: Settings
) -> None:
    org = await create_organization(session)
    await partitions.maintain(session, NOW, settings.retention_months)
    june = datetime(2023, 6, 30, 12, tzinfo=UTC)
    july = datetime(2023, 6, 30, 21, 30, tzinfo=UTC)  # 1 July in Moscow
    old = await _record(session, org.id, june)
    kept = await _record(session, org.id, july)
    invitations = {
        "old": [
            await _invitation(session, old, org.id, june, b"old"),
            await _invitation(session, old, org.id, july, b"late"),  # next month, old record
        ],
        "kept": [await _invitation(session, kept, org.id, july, b"kept")],
    }
    await partitions.maintain(session, NOW, settings.retention_months)  # the 2023 months
    assert (await partitions.maintain(session, NOW, settings.retention_months)).dropped == []
    with time_machine.travel(datetime(2027, 7, 1, 0, 0, tzinfo=UTC), tick=False):
        report = await partitions.maintain(session, datetime.now(UTC), settings.retention_months)
    assert {"service_records_p202306", "invitations_p202306"} <= set(report.dropped)
    left = {}
    for name, record in {"old": old, "kept": kept}.items():
        left[name] = [
            await _count(
                session,
                f"SELECT count(*) FROM {table} WHERE {column} = :r",  # noqa: S608
                r=record,
            )
            for table, column in (
                ("service_records", "id"),
                ("service_record_keys", "id"),
                ("contacts", "service_record_id"),
                ("outreach_tasks", "service_record_id"),
                ("invitations", "service_record_id"),
                ("invitation_keys", "service_record_id"),
            )
        ]
        left[name].append(
            await _count(
                session,
                "SELECT count(*) FROM deliveries WHERE invitation_id = ANY(:r)",
                r=invitations[name],
            )
        )
    # the month's records and invitations with their keys, contacts, tasks and deliveries;
    # the July invitation of a June record went with its record
    assert left["old"] == [0, 0, 0, 0, 0, 0, 0]
    assert left["kept"] == [1, 1, 1, 1, 1, 1, 1]
    # the job never drops a month with young rows
    with pytest.raises(RetentionViolation):
        await partitions.drop_month(
            session, _table("invitations"), date(2027, 6, 1), date(2027, 6, 1)
        )


async def test_a_record_resent_after_the_month_changed_is_still_a_duplicate(
    session: AsyncSession, settings: Settings
) -> None:
    org = await create_organization(session)
    await partitions.maintain(session, NOW, settings.retention_months)
    source, _ = await create_source(session)
    record = service_record(org.ogrn, served_at="2027-06-30T18:00:00+00:00")
    first = await ingest(
        session,
        source.id,
        [record],
        vault=VAULT,
        retention_days=45,
        channel="api",
        received_at=datetime(2027, 6, 30, 20, 0, tzinfo=UTC),
    )
    again = await ingest(
        session,
        source.id,
        [record],
        vault=VAULT,
        retention_days=45,
        channel="api",
        received_at=datetime(2027, 6, 30, 21, 30, tzinfo=UTC),  # July in Moscow
    )
    assert (first.accepted, again.accepted, again.duplicates) == (1, 0, 1)
    rows = await _where(session, "service_records", "record_id = :r", r=record["record_id"])
    assert rows == ["service_records_p202706"]


async def test_a_token_and_a_public_id_stay_unique_across_months(
    session: AsyncSession, settings: Settings
) -> None:
    org = await create_organization(session)
    await partitions.maintain(session, NOW, settings.retention_months)
    record = await _record(session, org.id, NOW)
    await _invitation(session, record, org.id, NOW, b"token")
    with pytest.raises(IntegrityError):
        async with session.begin_nested():
            await _invitation(session, record, org.id, datetime(2027, 7, 15, tzinfo=UTC), b"token")
    public_id = await session.scalar(text("SELECT public_id FROM invitation_keys LIMIT 1"))
    with pytest.raises(IntegrityError):
        async with session.begin_nested():
            await session.execute(
                text(
                    "INSERT INTO invitation_keys (token_hash, public_id, service_record_id, "
                    "created_at) VALUES ('other', :p, :r, :at)"
                ),
                {"p": public_id, "r": record, "at": datetime(2027, 8, 1, tzinfo=UTC)},
            )
    assert (
        await _count(
            session, "SELECT count(*) FROM invitations WHERE service_record_id = :r", r=record
        )
        == 1
    )


async def _delivery(session: AsyncSession, at: datetime, key: str = "delivery_key(:at)") -> Any:
    """A delivery made at ``at`` (its key encoding ``at`` unless ``key`` says otherwise)."""
    rows = await session.execute(
        text(
            "INSERT INTO deliveries (invitation_id, kind, channel, idempotency_key,"  # noqa: S608
            f" next_attempt_at, created_at) VALUES (1, 'invite', 'portal', {key}, :at, :at)"
            " RETURNING id, idempotency_key"
        ),
        {"at": at},
    )
    return rows.one()


async def test_deliveries_route_by_moscow_month_strays_move_and_old_months_go(
    session: AsyncSession, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    await partitions.maintain(session, NOW, settings.retention_months)
    # 21:30 UTC on 30 June is 00:30 on 1 July in Moscow
    july = await _delivery(session, datetime(2027, 6, 30, 21, 30, tzinfo=UTC))
    assert await _where(session, "deliveries", "id = :id", id=july.id) == ["deliveries_p202707"]
    stray = await _delivery(session, datetime(2031, 3, 10, tzinfo=UTC))
    old = await _delivery(session, datetime(2023, 6, 30, 20, 59, tzinfo=UTC))  # Moscow June
    kept = await _delivery(session, datetime(2023, 6, 30, 21, 0, tzinfo=UTC))  # Moscow July
    assert set(await _where(session, "deliveries", "id = ANY(:ids)", ids=[stray.id, old.id])) == {
        "deliveries_default"
    }
    with caplog.at_level(logging.WARNING, logger="otklik.ops.partitions"):
        report = await partitions.maintain(session, NOW, settings.retention_months)
    assert report.moved == 3
    assert {"deliveries_p203103", "deliveries_p202306", "deliveries_p202307"} <= set(report.created)
    assert await _where(session, "deliveries", "id = :id", id=stray.id) == ["deliveries_p203103"]
    empty = await session.execute(text("SELECT count(*) FROM deliveries_default"))
    assert empty.scalar_one() == 0
    with time_machine.travel(datetime(2027, 7, 1, 0, 0, tzinfo=UTC), tick=False):
        report = await partitions.maintain(session, datetime.now(UTC), settings.retention_months)
    assert "deliveries_p202306" in report.dropped
    left = await _where(session, "deliveries", "id = ANY(:ids)", ids=[old.id, kept.id])
    assert left == ["deliveries_p202307"]


async def test_a_delivery_key_is_unique_across_months_and_names_its_month(
    session: AsyncSession, settings: Settings
) -> None:
    await partitions.maintain(session, NOW, settings.retention_months)
    june, july = (
        datetime(2027, 6, 20, 8, 0, 0, 123456, tzinfo=UTC),
        datetime(2027, 7, 2, tzinfo=UTC),
    )
    first = await _delivery(session, june)
    assert key_time(first.idempotency_key) == june
    found = await outreach_repository.delivery_by_key(session, first.idempotency_key)
    assert found is not None
    assert (found.id, found.created_at) == (first.id, june)
    # the same key in another month (or another microsecond) is refused: a key names its time
    for at in (july, june + timedelta(microseconds=1)):
        with pytest.raises(IntegrityError, match="ck_deliveries_key_time"):
            async with session.begin_nested():
                await _delivery(session, at, key=f"'{first.idempotency_key}'")
    with pytest.raises(IntegrityError, match="idempotency_key_created_at"):
        async with session.begin_nested():
            await _delivery(session, june, key=f"'{first.idempotency_key}'")
    # a random key (not made by the database with its row) is refused too
    with pytest.raises(IntegrityError, match="ck_deliveries_key_time"):
        async with session.begin_nested():
            await _delivery(session, june, key=f"'{uuid.uuid4()}'")
    n = await session.scalar(select(func.count()).select_from(Delivery))
    assert n == 1


async def test_deleting_an_invitation_deletes_its_deliveries(
    session: AsyncSession, settings: Settings
) -> None:
    org = await create_organization(session)
    await invite(session, settings, [child(org.ogrn)], org=org)
    assert await session.scalar(select(func.count()).select_from(Delivery)) == 2
    await session.execute(
        text("DELETE FROM invitations WHERE id = (SELECT min(id) FROM invitations)")
    )
    assert await session.scalar(select(func.count()).select_from(Delivery)) == 1
