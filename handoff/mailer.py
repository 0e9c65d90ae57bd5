"""E-mail answers to the follow-ups left out of hours, sent with aiosmtplib.

The message is French plain text addressed with « tu », like the rest of the
assistant. The SMTP server, sender and credentials come from the settings
(SMTP_HOST, SMTP_PORT, SMTP_FROM, SMTP_STARTTLS, SMTP_USERNAME,
SMTP_PASSWORD).

The recipient's address never reaches the logs or the exception messages:
SMTP servers often repeat it in their replies, so it is masked there.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Optional
from zoneinfo import ZoneInfo

import aiosmtplib

from .config import HandoffSettings
from .office_hours import DEFAULT_TIMEZONE, FRENCH_MONTHS
from .store import InvalidEmail, validate_email

__all__ = [
    "MailerError",
    "MailerNotConfigured",
    "SUBJECT",
    "build_followup_message",
    "send_followup_answer",
]

logger = logging.getLogger(__name__)

SUBJECT = "Réponse à ta question – seconde chance"
DEFAULT_TIMEOUT_SECONDS = 30.0
MASKED_ADDRESS = "<adresse masquée>"


class MailerError(Exception):
    """An e-mail could not be sent.

    Attributes:
        smtp_code: the SMTP reply code, or None for a connection error.
        reason: what failed, with the server's reply; the recipient's address is masked.
    """

    def __init__(self, reason: str, smtp_code: Optional[int] = None) -> None:
        super().__init__(f"SMTP send failed: {reason}")
        self.reason = reason
        self.smtp_code = smtp_code


class MailerNotConfigured(MailerError):
    """SMTP_HOST or SMTP_FROM is not set."""


def _quote(text: str) -> str:
    lines = text.strip().splitlines() or [""]
    return "\n".join(f"> {line}" if line else ">" for line in lines)


def _french_date(moment: datetime) -> str:
    local = moment.astimezone(ZoneInfo(DEFAULT_TIMEZONE))
    day = "1er" if local.day == 1 else str(local.day)
    return f"{day} {FRENCH_MONTHS[local.month - 1]}"


def build_followup_message(
    *,
    sender: str,
    to: str,
    answer: str,
    question: Optional[str] = None,
    asked_at: Optional[datetime] = None,
) -> EmailMessage:
    """Build the e-mail that answers a follow-up: French plain text, UTF-8.

    Args:
        sender: the From address (SMTP_FROM).
        to: the user's address.
        answer: the counsellor's answer.
        question: the user's question, quoted at the end, or None.
        asked_at: when the question was left (aware), shown as « le 7 décembre » in Paris time, or None.
    """
    asked = f" le {_french_date(asked_at)}" if asked_at is not None else ""
    parts = [
        "Bonjour,",
        f"Tu as laissé une question à « seconde chance »{asked}. Voici la réponse d'un conseiller :",
        answer.strip(),
    ]
    if question and question.strip():
        parts.append(f"Ta question :\n{_quote(question)}")
    parts += [
        "Ton adresse e-mail est effacée de nos fichiers dès l'envoi de ce message : "
        "nous ne t'écrirons pas d'autre e-mail. Pour poser une nouvelle question, "
        "reviens discuter avec l'assistant sur le site.",
        "L'équipe « seconde chance »",
    ]
    message = EmailMessage()
    message["Subject"] = SUBJECT
    message["From"] = sender
    message["To"] = to
    message["Date"] = format_datetime(datetime.now().astimezone())
    domain = sender.rsplit("@", 1)[-1].strip(" >") if "@" in sender else None
    message["Message-ID"] = make_msgid(domain=domain or None)
    message.set_content("\n\n".join(parts) + "\n", charset="utf-8")
    # After set_content, which replaces every Content-* header it finds.
    message["Content-Language"] = "fr"
    return message


def _mask(text: str, address: str) -> str:
    return re.sub(re.escape(address), MASKED_ADDRESS, text, flags=re.IGNORECASE)


async def send_followup_answer(
    settings: HandoffSettings,
    *,
    to: str,
    answer: str,
    question: Optional[str] = None,
    asked_at: Optional[datetime] = None,
    reference: Optional[object] = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> None:
    """Send the answer to a follow-up by e-mail.

    Call it before `store.answer_followup`, which erases the address: a
    failure leaves the follow-up pending.

    Args:
        settings: SMTP settings.
        to: the user's address (`Followup.email`).
        answer: the counsellor's answer.
        question: the user's question, quoted in the e-mail.
        asked_at: when the question was left.
        reference: id written in the logs in place of the address, e.g. the follow-up id.
        timeout: seconds allowed for each SMTP step.

    Raises:
        MailerNotConfigured: SMTP_HOST or SMTP_FROM is not set.
        MailerError: the address is invalid, or the server could not be reached
            or rejected the message; `reason` gives the SMTP reply with the
            address masked.
    """
    if not settings.smtp_host or not settings.smtp_from:
        raise MailerNotConfigured("SMTP_HOST and SMTP_FROM must be set to send e-mail")
    try:
        address = validate_email(to)
    except InvalidEmail as error:
        raise MailerError(str(error)) from None
    message = build_followup_message(
        sender=settings.smtp_from, to=address, answer=answer, question=question, asked_at=asked_at
    )
    try:
        await aiosmtplib.send(
            message,
            recipients=[address],
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            # False, not None: aiosmtplib's None upgrades whenever the server offers it.
            start_tls=settings.smtp_starttls,
            timeout=timeout,
        )
    except aiosmtplib.SMTPRecipientsRefused as error:
        refused = error.recipients[0] if error.recipients else None
        code = refused.code if refused is not None else None
        reason = _mask(f"recipient refused: {code} {refused.message if refused else ''}".strip(), address)
        logger.warning("Follow-up answer %s not sent: %s", reference, reason)
        raise MailerError(reason, code) from None
    except aiosmtplib.SMTPResponseException as error:
        reason = _mask(f"{error.code} {error.message}", address)
        logger.warning("Follow-up answer %s not sent: %s", reference, reason)
        raise MailerError(reason, error.code) from None
    except (aiosmtplib.SMTPException, OSError) as error:
        reason = _mask(f"{type(error).__name__}: {error}", address)
        logger.warning(
            "Follow-up answer %s not sent: %s (server %s:%s)", reference, reason, settings.smtp_host, settings.smtp_port
        )
        raise MailerError(reason) from None
    logger.info("Sent follow-up answer %s", reference)
