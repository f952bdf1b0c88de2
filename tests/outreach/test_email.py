"""The invitation e-mail over a real local SMTP server (aiosmtpd): multipart text + HTML, the
headers a mail provider expects, DKIM that verifies, the child's representative's wording,
the opt-out link honoured by the planner, and a bounce read from a Maildir undoing delivery."""

from __future__ import annotations

import base64
import re
import smtplib
import uuid
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import dkim
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox as MaildirHandler
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.outreach.bounces import parse_dsn, poll_bounces
from otklik.outreach.models import Delivery, Invitation, OutreachOutcome
from otklik.outreach.service import plan
from tests.factories import create_organization, free_port, service_record, snils
from tests.outreach.test_delivery import configured, run
from tests.outreach.test_planning import adult, send


class Raw:
    """Keeps each message as the server received it (bytes) with its envelope sender."""

    def __init__(self) -> None:
        self.got: list[tuple[str, bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.got.append((envelope.mail_from, envelope.original_content or envelope.content))
        return "250 OK"


@pytest.fixture
def raw_smtp() -> Iterator[tuple[Raw, int]]:
    box, port = Raw(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
def dkim_key(tmp_path: Path) -> tuple[Path, bytes]:
    """A private key file and the DNS TXT record that would publish its public half."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "dkim.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return path, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def mail_settings(settings: Settings, port: int, **more: Any) -> Settings:
    return configured(
        settings,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_from="Отклик <otklik@mail.example.ru>",
        smtp_security="none",
        smtp_bounce_address="bounces@mail.example.ru",
        survey_operator="Министерство здравоохранения Примерной области",
        verify_url="https://www.gosuslugi.ru",
        **more,
    )


async def test_headers_multipart_dkim_and_the_representatives_wording(
    session: AsyncSession,
    settings: Settings,
    raw_smtp: tuple[Raw, int],
    dkim_key: tuple[Path, bytes],
) -> None:
    box, port = raw_smtp
    key_file, txt = dkim_key
    s = mail_settings(settings, port, dkim_selector="otk", dkim_private_key_file=key_file)
    org = await create_organization(session)  # an outpatient clinic: healthcare
    person = snils()
    child = service_record(
        org.ogrn,
        recipient={"snils": snils(), "birth_date": "2019-01-01"},
        representatives=[
            {
                "snils": person,
                "relation": "parent",
                "portal_account_confirmed": True,
                "email": "mama@example.ru",
            }
        ],
    )
    grown = service_record(org.ogrn, recipient=adult(snils(), email="ivan@example.ru"))
    await send(session, [child, grown])
    await plan(session, s)
    assert await run(session, s) == 2
    assert len(box.got) == 2
    by_to = {}
    for mail_from, raw in box.got:
        assert mail_from == "bounces@mail.example.ru"  # bounces come back to the bounce box
        msg = message_from_bytes(raw, policy=policy.default)
        by_to[str(msg["To"])] = (raw, msg)
        assert msg["Date"]
        assert re.fullmatch(r"<[0-9a-f-]{36}@mail\.example\.ru>", str(msg["Message-ID"]))
        unsubscribe = str(msg["List-Unsubscribe"])
        assert unsubscribe.startswith(f"<{s.base_url}/unsubscribe/")
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        # the opt-out URL names no contact and no SNILS
        assert "@" not in unsubscribe.strip("<>").split("/unsubscribe/")[1]
        assert msg.get_content_type() == "multipart/alternative"
        text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
        for body in (text, html):
            assert "Министерство здравоохранения Примерной области" in body
            assert "https://www.gosuslugi.ru" in body
            assert "/s/" in body
        # self-contained HTML: no images, styles or scripts fetched from anywhere
        assert '<html lang="ru">' in html
        assert not re.search(r"<(img|link|script|iframe)\b|src=|url\(", html)
        # the signature verifies against the published key
        assert raw.startswith(b"DKIM-Signature:")
        assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: txt)
        # …and breaks when a signed header is changed on the way
        assert not dkim.verify(
            raw.replace(b"Subject:", b"Subject: FW:", 1), dnsfunc=lambda name, timeout=5: txt
        )
    parent = by_to["mama@example.ru"][1].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Ваш ребёнок недавно получил медицинскую помощь" in parent
    assert "Вы недавно получили медицинскую помощь" not in parent
    grown_up = by_to["ivan@example.ru"][1].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Вы недавно получили медицинскую помощь" in grown_up
    # accepted by the SMTP server: delivered
    invitations = (await session.scalars(select(Invitation))).all()
    assert all(i.delivered_at is not None and i.status == "delivered" for i in invitations)


async def test_the_opt_out_link_is_honoured(
    session: AsyncSession, settings: Settings, raw_smtp: tuple[Raw, int], client: AsyncClient
) -> None:
    box, port = raw_smtp
    s = mail_settings(settings, port, fatigue_organization_days=0, fatigue_week_max=100)
    person = snils()
    first, second = await create_organization(session), await create_organization(session)
    await send(session, [service_record(first.ogrn, recipient=adult(person, email="p@example.ru"))])
    await plan(session, s)
    await run(session, s)
    msg = message_from_bytes(box.got[0][1], policy=policy.default)
    url = str(msg["List-Unsubscribe"]).strip("<>")
    path = url.removeprefix(s.base_url)
    await session.commit()
    # the page asks; looking at it (a link checker does) changes nothing
    page = await client.get(path)
    assert page.status_code == 200
    assert "Отказаться от приглашений" in page.text
    forged = path[:-4] + ("AAAA" if not path.endswith("AAAA") else "BBBB")
    assert (await client.post(forged, content=b"List-Unsubscribe=One-Click")).status_code == 404
    await send(
        session, [service_record(second.ogrn, recipient=adult(person, email="p@example.ru"))]
    )
    await plan(session, s)
    tasks = (
        await session.scalars(select(OutreachOutcome).order_by(OutreachOutcome.service_record_id))
    ).all()
    assert [t.status for t in tasks] == ["planned", "planned"]  # not opted out yet
    # a mail provider's one-click POST (RFC 8058): no session, no CSRF token
    done = await client.post(
        path,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200, done.text
    assert "Вы отказались от приглашений" in done.text
    assert (await client.post(path, content=b"List-Unsubscribe=One-Click")).status_code == 200
    session.expire_all()
    # the message queued for the second organization is cancelled, not sent
    queued = (await session.scalars(select(Delivery).where(Delivery.status == "queued"))).all()
    assert queued == []
    sent_before = len(box.got)
    await run(session, s)
    assert len(box.got) == sent_before
    # a third service: the planner skips the person
    third = await create_organization(session)
    await send(session, [service_record(third.ogrn, recipient=adult(person, email="p@example.ru"))])
    await plan(session, s)
    last = (
        await session.scalars(
            select(OutreachOutcome).order_by(OutreachOutcome.service_record_id.desc())
        )
    ).first()
    assert last is not None
    assert (last.status, last.reason) == ("skipped", "opted_out")


DSN = """\
From: MAILER-DAEMON@mail.example.ru (Mail Delivery System)
To: bounces@mail.example.ru
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B0UND"

--B0UND
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not be delivered.

--B0UND
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.ru

Final-Recipient: rfc822; {to}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; 550 5.1.1 user unknown

--B0UND
Content-Type: text/rfc822-headers

From: otklik@mail.example.ru
To: {to}
Subject: =?utf-8?b?0J7RhtC10L3QuNGC0LU=?=
Message-ID: {message_id}

--B0UND--
"""


async def test_a_bounce_in_the_maildir_turns_the_e_mail_undelivered(
    session: AsyncSession, settings: Settings, raw_smtp: tuple[Raw, int], tmp_path: Path
) -> None:
    box, port = raw_smtp
    maildir = tmp_path / "bounces"
    # the bounce address's mail server: a real SMTP server delivering into a Maildir
    bounce_port = free_port()
    controller = Controller(MaildirHandler(maildir), hostname="127.0.0.1", port=bounce_port)
    controller.start()
    try:
        s = mail_settings(
            settings, port, bounce_maildir=maildir, sms_gateway_url="http://127.0.0.1:9/sms"
        )
        await send(
            session,
            [
                service_record(
                    (await create_organization(session)).ogrn,
                    recipient=adult(snils(), email="nobody@example.ru", phone="+79001112233"),
                )
            ],
        )
        await plan(session, s)
        await run(session, s)
        sent = message_from_bytes(box.got[0][1], policy=policy.default)
        invitation = (await session.scalars(select(Invitation))).one()
        assert invitation.delivered_at is not None
        assert await poll_bounces(session, s) == 0  # nothing came back yet
        with smtplib.SMTP("127.0.0.1", bounce_port) as smtp:
            for action, status in (("delayed", "4.4.1"), ("failed", "5.1.1")):
                report = DSN.format(
                    to="nobody@example.ru",
                    action=action,
                    status=status,
                    message_id=sent["Message-ID"],
                )
                smtp.sendmail("", ["bounces@mail.example.ru"], report.encode())
            # an auto-reply is no bounce
            smtp.sendmail(
                "x@example.ru",
                ["bounces@mail.example.ru"],
                b"Subject: Out of office\r\n\r\nOn holiday.\r\n",
            )
        assert await poll_bounces(session, s) == 3
        assert await poll_bounces(session, s) == 0  # read once (moved to cur/, seen)
        assert len(list((maildir / "cur").iterdir())) == 3
        session.expire_all()
        deliveries = (await session.scalars(select(Delivery).order_by(Delivery.id))).all()
        assert [(d.channel, d.status) for d in deliveries] == [
            ("email", "failed"),
            ("sms", "queued"),  # the next channel
        ]
        assert deliveries[0].delivered_at is None
        assert "5.1.1" in (deliveries[0].error or "")
        invitation = (await session.scalars(select(Invitation))).one()
        assert invitation.delivered_at is None  # no longer counted as delivered
        assert invitation.status == "sent"
    finally:
        controller.stop()


def test_parse_dsn_needs_a_failed_recipient_and_our_message_id() -> None:
    key = uuid.uuid4()
    failed = DSN.format(
        to="a@b.ru", action="failed", status="5.2.2", message_id=f"<{key}@mail.example.ru>"
    )
    got = parse_dsn(failed.encode())
    assert got is not None
    assert (got.key, got.status) == (key, "5.2.2")
    delayed = failed.replace("Action: failed", "Action: delayed")
    assert parse_dsn(delayed.encode()) is None
    foreign = DSN.format(to="a@b.ru", action="failed", status="5.1.1", message_id="<abc@x.ru>")
    assert parse_dsn(foreign.encode()) is None
    assert parse_dsn(b"Subject: hi\r\n\r\nhello\r\n") is None


def test_a_missing_dkim_key_is_a_russian_settings_error(settings: Settings, tmp_path: Path) -> None:
    from otklik.config import SettingsError
    from otklik.outreach.mail import DkimSigner

    assert DkimSigner.from_settings(settings) is None  # not configured: no signing
    no_file = settings.model_copy(update={"dkim_selector": "otk"})
    with pytest.raises(SettingsError, match="OTKLIK_DKIM_PRIVATE_KEY_FILE"):
        DkimSigner.from_settings(no_file)
    missing = no_file.model_copy(update={"dkim_private_key_file": tmp_path / "none.pem"})
    with pytest.raises(SettingsError, match="не удалось прочитать ключ DKIM"):
        DkimSigner.from_settings(missing)
