"""What each recipient is told about a new kudos.

``send_kudos`` calls ``kudos_sent`` once per new kudos, inside the sending
transaction, so notifications are recorded exactly when the kudos is:
- in the app: every recognition starts unacknowledged; the recipient's next
  page view shows a celebration or a quiet notice and acknowledges it;
- by e-mail: recipients who chose e-mail get one queued in the outbox
  (delivered later by ``kudos outbox deliver``), when e-mail is configured.

Slack listens to ``kudos.recognition.events`` for its posts and messages.
"""

from __future__ import annotations

from flask import current_app, has_app_context, render_template
from sqlalchemy import insert
from sqlalchemy.orm import Session

from kudos.outbox.models import OutboxMessage
from kudos.outbox.services import cancel_pending, email_row
from kudos.recognition.models import Kudos
from kudos.urls import external_url


def kudos_sent(session: Session, kudos: Kudos) -> None:
    """Record what each recipient should be told about ``kudos``."""
    # In-app notices need nothing more: Recognition.acknowledged_at is NULL.
    if not has_app_context() or not current_app.config.get("SMTP_URL"):
        return  # e-mail is off: nothing is queued that could never be sent
    link = external_url("recognition.show", kudos_id=kudos.id)
    settings_link = external_url("preferences.settings")
    values = " and ".join(value.name for value in kudos.values)
    rows = []
    for recipient in kudos.recipients:
        preference = recipient.preference
        if preference is None or not preference.email_opt_in or not recipient.active:
            continue
        context = {
            "kudos": kudos,
            "recipient": recipient,
            "link": link,
            "settings_link": settings_link,
            "values": values,
        }
        rows.append(
            email_row(
                kind="kudos",
                to_address=recipient.email,
                subject=f"{kudos.sender.name} thanked you" + (f" for {values}" if values else ""),
                text_body=render_template("email/kudos.txt", **context),
                html_body=render_template("email/kudos.html", **context),
                now=kudos.created_at,
                recipient_id=recipient.id,
                # The kudos is new: no message can have this key yet.
                dedupe_key=f"{_key_prefix(kudos)}{recipient.id}",
            )
        )
    if rows:
        session.execute(insert(OutboxMessage), rows)  # one statement, however many


def kudos_withdrawn(session: Session, kudos: Kudos) -> None:
    """The kudos was deleted or hidden: messages not yet sent about it are dropped."""
    cancel_pending(session, _key_prefix(kudos))


def _key_prefix(kudos: Kudos) -> str:
    return f"kudos:{kudos.id}:"
