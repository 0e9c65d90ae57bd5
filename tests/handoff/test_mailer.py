"""Tests of handoff.mailer against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import logging
import socket

import pytest
from aiosmtpd.controller import Controller

from handoff.config import load_settings
from handoff.mailer import SUBJECT, MailerError, MailerNotConfigured, send_followup_answer
from tests.handoff.conftest import utc

ADDRESS = "jeune.test@example.org"
ANSWER = "Bonjour ! La Mission locale de Villeurbanne t'accueille sans rendez-vous le mercredi. Bon courage, Zoé"


class RecordingHandler:
    """Stores each message; rejects recipients listed in `rejected` the way Postfix does."""

    def __init__(self) -> None:
        self.envelopes = []
        self.rejected = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.rejected:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@pytest.fixture
def settings(smtp_server):
    _handler, port = smtp_server
    return dataclasses.replace(
        load_settings({"HANDOFF_SECRET_KEY": "k"}),
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_from="seconde chance <ne-pas-repondre@seconde-chance.example>",
    )


async def send(settings, **options):
    options.setdefault("to", ADDRESS)
    options.setdefault("answer", ANSWER)
    await send_followup_answer(settings, timeout=5, reference=7, **options)


async def test_mail_envelope(settings, smtp_server):
    handler, _port = smtp_server
    await send(settings)
    assert len(handler.envelopes) == 1
    assert handler.envelopes[0].rcpt_tos == [ADDRESS]
    assert handler.envelopes[0].mail_from == "ne-pas-repondre@seconde-chance.example"


async def test_mail_headers(settings, smtp_server):
    handler, _port = smtp_server
    await send(settings)
    message = email.message_from_bytes(handler.envelopes[0].content, policy=email.policy.default)
    assert message["Subject"] == SUBJECT
    assert message["To"] == ADDRESS
    assert message["From"].addresses[0].addr_spec == "ne-pas-repondre@seconde-chance.example"
    assert message["Message-ID"].endswith("@seconde-chance.example>")
    assert message["Date"] is not None
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message["Content-Language"] == "fr"


async def test_mail_french_body(settings, smtp_server):
    handler, _port = smtp_server
    # 23:30 UTC on 30 November is 00:30 on 1 December in Paris.
    await send(settings, question="Comment reprendre mes études ?\nJ'ai 17 ans.", asked_at=utc(2026, 11, 30, 23, 30))
    message = email.message_from_bytes(handler.envelopes[0].content, policy=email.policy.default)
    body = message.get_content().replace("\r\n", "\n")
    assert body.startswith("Bonjour,")
    assert ANSWER in body
    assert "le 1er décembre" in body
    assert "> Comment reprendre mes études ?\n> J'ai 17 ans." in body
    assert "Ton adresse e-mail est effacée" in body


async def test_mail_rejected_recipient(settings, smtp_server, caplog):
    handler, _port = smtp_server
    handler.rejected.add(ADDRESS)
    with caplog.at_level(logging.DEBUG, logger="handoff.mailer"):
        with pytest.raises(MailerError) as caught:
            await send(settings)
    assert caught.value.smtp_code == 550
    assert "User unknown" in caught.value.reason
    assert ADDRESS not in str(caught.value)
    assert ADDRESS not in caplog.text


async def test_mail_server_down(settings):
    down = dataclasses.replace(settings, smtp_port=free_port())
    with pytest.raises(MailerError) as caught:
        await send(down)
    assert caught.value.smtp_code is None


async def test_mail_not_configured(settings):
    with pytest.raises(MailerNotConfigured):
        await send(dataclasses.replace(settings, smtp_host=None))


async def test_mail_invalid_address(settings, smtp_server):
    handler, _port = smtp_server
    with pytest.raises(MailerError):
        await send(settings, to="victime@example.org, autre@example.org")
    assert handler.envelopes == []
