"""The e-mail outbox: record in the request, deliver later, never twice, never lost.

A web request only inserts a row (``queue_email``). ``deliver_due`` (run by
``kudos outbox deliver``, once or as a worker) sends due messages one at a
time: each is locked (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several
workers never pick the same one), sent, marked sent and committed before the
next. When the SMTP server is down or answers "try later", the message stays
queued and is retried with exponential backoff. A permanent refusal (5xx),
or anything else wrong with one message (it cannot be built or encoded),
marks that message failed with the reason, where
it stays for an admin to see, and delivery goes on with the next one: one
bad message never holds up the rest.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kudos.outbox.models import OutboxMessage
from kudos.progress_callback import OnProgress
from kudos.text import one_line

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
SMTP_TIMEOUT = 10


def queue_email(
    session: Session,
    *,
    kind: str,
    to_address: str,
    subject: str,
    text_body: str,
    html_body: str | None,
    now: datetime,
    recipient_id: int | None = None,
    dedupe_key: str | None = None,
) -> OutboxMessage | None:
    """Record an e-mail to send. With a ``dedupe_key`` already queued (sent
    or not), nothing is added and ``None`` is returned. Flushes."""
    if dedupe_key is not None and session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
    ):
        return None
    message = OutboxMessage(
        **email_row(
            kind=kind,
            to_address=to_address,
            subject=subject,
            text_body=text_body,
            html_body=html_body,
            now=now,
            recipient_id=recipient_id,
            dedupe_key=dedupe_key,
        )
    )
    session.add(message)
    session.flush()
    return message


def email_row(
    *,
    kind: str,
    to_address: str,
    subject: str,
    text_body: str,
    html_body: str | None,
    now: datetime,
    recipient_id: int | None = None,
    dedupe_key: str | None = None,
) -> dict[str, object]:
    """The outbox row of a new message: for ``queue_email``, and for callers
    that know their ``dedupe_key`` is new (it names a row made in this
    transaction) and insert several in one statement."""
    return {
        "kind": kind,
        "dedupe_key": dedupe_key,
        "recipient_id": recipient_id,
        # Header values: a line break in a display name must not add headers.
        "to_address": one_line(to_address),
        "subject": one_line(subject)[:300],
        "text_body": text_body,
        "html_body": html_body,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def cancel_pending(session: Session, dedupe_prefix: str) -> int:
    """Drop queued, unsent messages whose key starts with ``dedupe_prefix``
    (a kudos deleted or hidden before its e-mail went out). Flushes.

    A message a worker is sending right now is locked, and left to it
    (SKIP LOCKED): waiting for it could deadlock with a worker that waits
    for this transaction's lock on the kudos (``slack/delivery.py``), and
    it is on its way anyway; the Slack worker finds the kudos hidden then
    and deletes its post."""
    messages = session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.status == "pending",
            OutboxMessage.dedupe_key.startswith(dedupe_prefix, autoescape=True),
        )
        .with_for_update(skip_locked=True)
    ).all()
    for message in messages:
        session.delete(message)
    session.flush()
    return len(messages)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min … at most an hour between tries."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_WAIT)


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.sent} sent, {self.retrying} to retry later, {self.failed} failed."


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    use_ssl: bool
    starttls: bool
    username: str | None
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        """``smtp://user:password@host:587?starttls=true`` or ``smtps://host``."""
        parts = urlsplit(url)
        options = parse_qs(parts.query)
        use_ssl = parts.scheme == "smtps"
        return cls(
            host=parts.hostname or "localhost",
            port=parts.port or (465 if use_ssl else 25),
            use_ssl=use_ssl,
            starttls=options.get("starttls", ["false"])[0].lower() in ("1", "true", "yes"),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


def message_id(message: OutboxMessage, mail_from: str) -> str:
    """The same for every attempt at one outbox row (``make_msgid`` would add
    the time and a random number): a worker killed after the SMTP server took
    the message, and before it was marked sent, sends it again on its next
    run, and the receiving mail system can tell it is the same message. The
    row's creation time keeps ids apart across databases (staging, a restore)."""
    domain = mail_from.rsplit("@", 1)[-1].strip(" >") or "kudos.local"
    return f"<kudos-outbox-{message.id}.{message.created_at:%Y%m%d%H%M%S%f}@{domain}>"


def _email(message: OutboxMessage, mail_from: str) -> EmailMessage:
    email = EmailMessage()
    # Cleaned again: rows queued before queue_email cleaned them, or by other code.
    email["From"] = one_line(mail_from)
    email["To"] = one_line(message.to_address)
    email["Subject"] = one_line(message.subject)
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = message_id(message, mail_from)
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.text_body)
    if message.html_body:
        email.add_alternative(message.html_body, subtype="html")
    return email


def _send(settings: SmtpSettings, email: EmailMessage) -> None:
    smtp_class = smtplib.SMTP_SSL if settings.use_ssl else smtplib.SMTP
    with smtp_class(settings.host, settings.port, timeout=SMTP_TIMEOUT) as smtp:
        if settings.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        smtp.send_message(email)


# Errors that say the server is unreachable or busy: try again later.
TRANSIENT_ERRORS = (TimeoutError, smtplib.SMTPException, OSError)


def _is_permanent(error: Exception) -> bool:
    """Whether ``error`` is about this message (fail it) rather than about
    the server being down or busy right now (retry later)."""
    if not isinstance(error, TRANSIENT_ERRORS):
        return True  # the message could not be built or encoded
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    code = getattr(error, "smtp_code", None)
    return isinstance(code, int) and code >= 500


def deliver_due(
    session: Session,
    smtp_url: str,
    mail_from: str,
    *,
    now: datetime,
    limit: int = 100,
    on_progress: OnProgress | None = None,
) -> DeliveryReport:
    """Send every due e-mail, one transaction per message. Commits."""
    settings = SmtpSettings.from_url(smtp_url)

    def send(message: OutboxMessage) -> None:
        _send(settings, _email(message, mail_from))

    return deliver(
        session, "email", send, _email_failure, now=now, limit=limit, on_progress=on_progress
    )


@dataclass(frozen=True)
class Failure:
    """What a failed attempt means: give up on this message (``permanent``),
    or try again: after ``wait`` when the server said how long (a rate
    limit's Retry-After), else with backoff."""

    permanent: bool
    wait: timedelta = timedelta(0)


def _email_failure(error: Exception) -> Failure:
    return Failure(permanent=_is_permanent(error))


PHASES = {"email": "e-mails", "slack": "Slack messages"}


def deliver(
    session: Session,
    transport: str,
    send: Callable[[OutboxMessage], None],
    classify: Callable[[Exception], Failure],
    *,
    now: datetime,
    limit: int = 100,
    on_progress: OnProgress | None = None,
) -> DeliveryReport:
    """Send the due messages of one transport with ``send``, one transaction
    per message. ``classify`` says what an error means. Commits.
    ``on_progress(phase, done, total)`` hears how many of the due ones
    (at most ``limit``) were tried; another worker may take some."""
    report = DeliveryReport()
    due = (
        OutboxMessage.transport == transport,
        OutboxMessage.status == "pending",
        OutboxMessage.next_attempt_at <= now,
    )
    tell = _progress_of(session, transport, due, limit, on_progress, report)
    for _ in range(limit):
        tell()
        message = session.scalar(
            select(OutboxMessage)
            .where(*due)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if message is None:
            break
        try:
            with session.begin_nested():  # nothing half-done by ``send`` is kept
                send(message)
        except Exception as error:  # whatever it is, it must not stop the rest
            failure = classify(error)
            message.attempts += 1
            message.last_error = f"{type(error).__name__}: {error}"[:1000]
            if failure.permanent:
                message.status = "failed"
                report.failed += 1
            else:
                # Told how long to wait (a rate limit): that long; else back off.
                message.next_attempt_at = now + (failure.wait or backoff(message.attempts))
                report.retrying += 1
            report.errors.append(message.last_error)
            log.warning(
                "outbox: %s message %s not sent (attempt %s): %s",
                transport,
                message.id,
                message.attempts,
                type(error).__name__,
            )
            session.commit()
            if not failure.permanent:
                break  # the server is down or busy: stop until the next run
            continue
        message.status = "sent"
        message.sent_at = now
        message.attempts += 1
        message.last_error = None
        session.commit()
        report.sent += 1
    tell()
    return report


def _progress_of(
    session: Session,
    transport: str,
    due: tuple,
    limit: int,
    on_progress: OnProgress | None,
    report: DeliveryReport,
) -> Callable[[], None]:
    """Tells ``on_progress`` the messages tried so far, of those due (counted
    only when someone listens)."""
    if on_progress is None:
        return lambda: None
    phase = PHASES.get(transport, f"{transport} messages")
    count = session.scalar(select(func.count()).select_from(OutboxMessage).where(*due))
    total = min(count or 0, limit)
    told: list[int] = []

    def tell() -> None:
        tried = report.sent + report.retrying + report.failed
        if told[-1:] != [tried]:  # each message once, and the start
            told.append(tried)
            on_progress(phase, tried, max(total, tried))

    return tell
