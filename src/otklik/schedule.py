"""Every periodic job, in one place: (name, interval in seconds, job).

A job returns how much it did; the worker runs it again at once while it keeps finding work
(for a few seconds at most), so a backlog drains without waiting for the next interval.

Why not Procrastinate, which the design names for periodic and ad-hoc jobs: every job here is a
periodic sweep over a queue that is already rows in our own tables (claimed with
``FOR UPDATE SKIP LOCKED``, enqueued in the same transaction as the data), so a job runner would
add its own schema, a second worker model and a second way to fail, and would schedule
nothing that this list and ``worker.py`` (about 60 lines) do not. Take Procrastinate when an
ad-hoc job appears that is not a sweep (e.g. a one-off report export triggered from a page).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

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
from otklik.indicators.tasks import flag_drops
from otklik.insights.tasks import analyse_comments, triage_urgent
from otklik.intake.service import purge_expired_contacts
from otklik.opendata.tasks import build_files
from otklik.outreach.bounces import poll_bounces
from otklik.outreach.tasks import deliver_messages, plan_invitations, queue_reminders
from otklik.reports.tasks import build_reports, queue_quarterly
from otklik.roadmaps.tasks import recompute_risk
from otklik.surveys.service import purge_drafts
from otklik.surveys.tasks import mask_comments

Job = Callable[[AsyncSession, Settings], Awaitable[int]]


async def urgent_triage(session: AsyncSession, settings: Settings) -> int:
    """New urgent flags into the triage queue, their authorities e-mailed (improvement outbox)."""
    notices = await triage_urgent(session, settings)
    await notify(session, notices)
    return len(notices)


SCHEDULE: list[tuple[str, int, Job]] = [
    ("identity.purge_expired_sessions", 3600, purge_expired),
    ("intake.purge_expired_contacts", 3600, purge_expired_contacts),
    ("outreach.plan_invitations", 1, plan_invitations),
    ("outreach.deliver_messages", 1, deliver_messages),
    ("outreach.queue_reminders", 60, queue_reminders),
    ("outreach.poll_bounces", 60, poll_bounces),  # does nothing without OTKLIK_BOUNCE_MAILDIR
    ("surveys.purge_drafts", 3600, purge_drafts),
    ("surveys.mask_comments", 1, mask_comments),  # sealed raw comments -> masked, within seconds
    ("demo.answer_invitations", 5, answer_invitations),  # does nothing outside the demo
    ("insights.analyse_comments", 30, analyse_comments),
    ("insights.triage_urgent", 30, urgent_triage),
    ("demo.review_urgent", 60, review_some),  # does nothing outside the demo
    ("indicators.flag_drops", 3600, flag_drops),
    ("improvement.send_notifications", 10, send_notifications),
    ("demo.improvement_from_evidence", 60, from_evidence),  # does nothing outside the demo
    ("roadmaps.recompute_risk", 3600, recompute_risk),
    ("incidents.open_incidents", 60, open_incidents),
    ("exchange.transfer_to_iasmkgu", 60, transfer_to_iasmkgu),
    ("reports.queue_quarterly", 3600, queue_quarterly),  # at a quarter's end, once
    ("reports.build_reports", 5, build_reports),
    ("opendata.build_files", 600, build_files),  # opendata/store.py: when files are built
]
