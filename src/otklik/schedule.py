"""Every periodic job, in one place: ``Periodic(name, interval in seconds, job, label)``.

A job returns how much it did; the worker runs it again at once while it keeps finding work
(for a few seconds at most), so a backlog drains without waiting for the next interval. The
label is what the administrator reads on ``/admin/jobs``.

Any number of workers on any number of hosts share this schedule through the table
``job_schedule`` (``otklik/jobs``): a worker starts a job only after moving its ``next_due`` on
to its next period in one statement, so each job starts at most once per interval in all, and
each run is written to ``job_runs`` (see ``worker.py`` and docs/deployment.md). Each run is a
task of its own, so a long batch of one job does not delay the start of another. The queue
sweeps (an interval of seconds) are safe in N copies anyway: they claim their rows with
``FOR UPDATE SKIP LOCKED``; a sweep that keeps finding work drains in one worker while the next
period's start goes to another, so a backlog is worked by several workers at once.

Why not Procrastinate, which the design names for periodic and ad-hoc jobs: every job here is a
periodic sweep over a queue that is already rows in our own tables (claimed with
``FOR UPDATE SKIP LOCKED``, enqueued in the same transaction as the data), so a job runner would
add its own schema, a second worker model and a second way to fail. What it would add for
periodic work (each period run once across workers, a record of each run) is two small tables
and one claim statement here, with the history the administrator reads in our own pages and
the same retention rules as the rest of our data. Procrastinate's periodic tasks also defer one
job per period into its queue, which a worker then picks up: two hops where one will do, and
its queue would keep a row per period of every second-by-second sweep. Take Procrastinate when
an ad-hoc job appears that is not a sweep (e.g. a one-off report export triggered from a page).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.demo.citizens import answer_invitations
from otklik.demo.improvement import from_evidence
from otklik.demo.triage import review_some
from otklik.exchange.tasks import transfer_to_iasmkgu
from otklik.identity.service import purge_expired
from otklik.improvement.repository import notify
from otklik.improvement.tasks import send_notifications
from otklik.incidents.tasks import open_incidents
from otklik.indicators.tasks import flag_drops, fold_queue
from otklik.insights.tasks import analyse_comments, triage_urgent
from otklik.intake.service import purge_expired_contacts, purge_stream_rejections
from otklik.jobs.tasks import prune_history
from otklik.kit.ratelimit import sweep_rate_buckets
from otklik.opendata.tasks import build_files
from otklik.ops.partitions import maintain_partitions
from otklik.outreach.bounces import poll_bounces
from otklik.outreach.tasks import deliver_messages, plan_invitations, queue_reminders
from otklik.reports.tasks import build_reports, queue_quarterly
from otklik.roadmaps.tasks import recompute_risk
from otklik.surveys.service import purge_drafts
from otklik.surveys.tasks import mask_comments

Job = Callable[[AsyncSession, Settings], Awaitable[int]]


class Periodic(NamedTuple):
    name: str  # "package.job": the key of its row in job_schedule and job_runs
    interval: int  # seconds: it starts at most once per interval across every worker
    job: Job
    label: str  # Russian, for the administrator's page


async def urgent_triage(session: AsyncSession, settings: Settings) -> int:
    """New urgent flags into the triage queue, their authorities e-mailed (improvement outbox)."""
    notices = await triage_urgent(session, settings)
    await notify(session, notices)
    return len(notices)


P = Periodic
# The demo's jobs do nothing outside the demo; poll_bounces nothing without
# OTKLIK_BOUNCE_MAILDIR; mask_comments turns sealed raw comments into masked ones within seconds;
# queue_quarterly acts once, at a quarter's end; opendata/store.py says when files are built.
SCHEDULE: list[Periodic] = [
    P("identity.purge_expired_sessions", 3600, purge_expired, "Удаление истёкших сессий"),
    P("intake.purge_expired_contacts", 3600, purge_expired_contacts, "Удаление старых контактов"),
    P(
        "intake.purge_stream_rejections",
        3600,
        purge_stream_rejections,
        "Очистка отметок об отклонённых сообщениях потока",
    ),
    P("indicators.fold_queue", 1, fold_queue, "Учёт новых ответов в показателях"),
    P("outreach.plan_invitations", 1, plan_invitations, "Планирование приглашений"),
    P("outreach.deliver_messages", 1, deliver_messages, "Отправка сообщений"),
    P("outreach.queue_reminders", 60, queue_reminders, "Постановка напоминаний"),
    P("outreach.poll_bounces", 60, poll_bounces, "Разбор недоставленных писем"),
    P("surveys.purge_drafts", 3600, purge_drafts, "Удаление незавершённых анкет"),
    P("surveys.mask_comments", 1, mask_comments, "Маскирование данных в комментариях"),
    P("demo.answer_invitations", 5, answer_invitations, "Демонстрация: ответы граждан"),
    P("insights.analyse_comments", 30, analyse_comments, "Анализ текста комментариев"),
    P("insights.triage_urgent", 30, urgent_triage, "Срочные сигналы: очередь разбора"),
    P("demo.review_urgent", 60, review_some, "Демонстрация: разбор срочных сигналов"),
    P("indicators.flag_drops", 3600, flag_drops, "Поиск резких снижений показателей"),
    P("improvement.send_notifications", 10, send_notifications, "Уведомления об улучшениях"),
    P("demo.improvement_from_evidence", 60, from_evidence, "Демонстрация: предложения"),
    P("roadmaps.recompute_risk", 3600, recompute_risk, "Пересчёт рисков дорожных карт"),
    P("incidents.open_incidents", 60, open_incidents, "Открытие инцидентов"),
    P("exchange.transfer_to_iasmkgu", 60, transfer_to_iasmkgu, "Передача анкет в ИАС МКГУ"),
    P("reports.queue_quarterly", 3600, queue_quarterly, "Постановка квартальных отчётов"),
    P("reports.build_reports", 5, build_reports, "Формирование квартальных отчётов"),
    P("opendata.build_files", 600, build_files, "Сборка файлов открытых данных"),
    P("jobs.prune_history", 3600, prune_history, "Очистка истории фоновых задач"),
    P("kit.sweep_rate_buckets", 600, sweep_rate_buckets, "Очистка полных корзин ограничений"),
    P("ops.maintain_partitions", 3600, maintain_partitions, "Помесячные разделы таблиц"),
]
