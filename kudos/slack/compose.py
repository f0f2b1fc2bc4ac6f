"""The compose modal and the ``/kudos`` command line: Slack's way into
``send_kudos``, with the rules, the limit and the messages of the web.

The modal says what the compose page says once recipients are picked:
each one's preferred audience, style and "best way to thank me", and who
will see the kudos. A refused send keeps the modal open with each
problem beside its field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from kudos import timeutil
from kudos.db import utcnow
from kudos.people.models import Person
from kudos.recognition import compose, events
from kudos.recognition.models import VISIBILITIES, Value
from kudos.recognition.services import (
    MAX_MESSAGE_LENGTH,
    MAX_RECIPIENTS,
    MAX_VALUES,
    KudosRejected,
    SendResult,
    send_kudos,
)
from kudos.slack.messages import Block, context, escape, section
from kudos.slack.people import NotInDirectory, person_for
from kudos.urls import external_url

CALLBACK = "kudos_compose"
FIELDS = ("recipients", "values", "message", "visibility")
VISIBILITY_LABELS = {
    "public": ("Everyone", "The whole company, and the Kudos channel in Slack"),
    "team": ("Their team", "You, them, their teams and their managers"),
    "private": ("Just them", "You, them and their managers, by direct message"),
}
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
VALUE_TOKEN = re.compile(r":([a-z0-9][a-z0-9_-]*):", re.IGNORECASE)


@dataclass
class Draft:
    """What the sender has said so far, from the command line or the modal."""

    recipients: list[str] = field(default_factory=list)  # Slack user ids
    value_ids: list[int] = field(default_factory=list)
    message: str = ""
    visibility: str = "public"
    link: str | None = None  # the Slack message this kudos is for
    unknown_values: list[str] = field(default_factory=list)

    @property
    def full_message(self) -> str:
        return f"{self.message.strip()}\n\n{self.link}" if self.link else self.message

    def metadata(self) -> str:
        return json.dumps({"link": self.link})


def parse_command(text: str, values: list[Value]) -> Draft:
    """``@ana @ben :responsive: thanks for …``: mentions and value tokens
    first (in any order), then the message."""
    by_slug = {_token(value.slug): value for value in values}
    draft = Draft()
    rest = text.strip()
    while True:
        if match := MENTION.match(rest):
            draft.recipients.append(match.group(1))
        elif match := VALUE_TOKEN.match(rest):
            value = by_slug.get(_token(match.group(1)))
            if value is None:
                draft.unknown_values.append(match.group(1))
            else:
                draft.value_ids.append(value.id)
        else:
            break
        rest = rest[match.end() :].lstrip()
    draft.message = rest
    draft.recipients = list(dict.fromkeys(draft.recipients))
    return draft


def _token(slug: str) -> str:
    return slug.casefold().replace("_", "-")


def is_complete(draft: Draft) -> bool:
    return bool(draft.recipients and draft.value_ids and draft.message and not draft.unknown_values)


def draft_from_view(view: dict[str, Any]) -> Draft:
    """The modal's state (as Slack sends it, signed, but shaped by a client)."""
    state = view.get("state", {}).get("values", {})

    def element(block: str) -> dict[str, Any]:
        found = state.get(block, {}).get(block)
        return found if isinstance(found, dict) else {}

    value_ids = []
    for option in element("values").get("selected_options") or []:
        try:
            value_ids.append(int(option["value"]))
        except (KeyError, TypeError, ValueError):
            continue
    chosen = (element("visibility").get("selected_option") or {}).get("value")
    try:
        link = json.loads(view.get("private_metadata") or "{}").get("link")
    except (ValueError, AttributeError):
        link = None
    return Draft(
        recipients=[str(user) for user in element("recipients").get("selected_users") or []],
        value_ids=value_ids,
        message=element("message").get("value") or "",
        # Anything else is refused beside the field, as on the web.
        visibility=chosen if isinstance(chosen, str) else "public",
        link=link if isinstance(link, str) and link.startswith("https://") else None,
    )


def recipients_of(
    session: Session, client: WebClient, draft: Draft
) -> tuple[list[Person], list[str]]:
    """The people the chosen Slack users are, and the names of those who
    are not in the directory."""
    people, missing = [], []
    for user_id in draft.recipients[: MAX_RECIPIENTS + 1]:
        try:
            people.append(person_for(session, client, user_id, now=utcnow(), active_only=False))
        except NotInDirectory as problem:
            missing.append(problem.name or "Someone you chose")
    return people, missing


def send(
    session: Session, client: WebClient, sender: Person, draft: Draft, *, key: str
) -> SendResult:
    """Send ``draft`` through the one ``send_kudos``; ``key`` (from Slack's
    ids for this modal or command) makes a retry or a double submission
    return the kudos already made. Raises ``KudosRejected``."""
    people, missing = recipients_of(session, client, draft)
    if missing:
        names = compose.join_names(missing)
        verb = "isn't" if len(missing) == 1 else "aren't"
        raise _refused({"recipients": f"{names} {verb} in the Kudos directory."})
    if len(draft.recipients) > MAX_RECIPIENTS:
        raise _refused({"recipients": f"Choose at most {MAX_RECIPIENTS} people."})
    config = current_app.config
    return send_kudos(
        session,
        sender,
        [person.id for person in people],
        draft.value_ids,
        draft.full_message,
        draft.visibility,
        now=utcnow(),
        zone=timeutil.org_zone(),
        daily_limit=config["DAILY_KUDOS_LIMIT"],
        idempotency_key=key,
    )


def _refused(problems: dict[str, str]) -> KudosRejected:
    """A refusal before ``send_kudos``, told to the listeners as it tells its own."""
    events.kudos_refused.announce(list(problems))
    return KudosRejected(problems)


def errors_by_block(rejected: KudosRejected) -> dict[str, str]:
    """Each problem beside its field; one about the whole kudos (the daily
    limit) beside the first."""
    errors: dict[str, str] = {}
    for name, text in rejected.fields.items():
        block = name if name in FIELDS else "recipients"
        errors[block] = f"{errors[block]} {text}" if block in errors else text
    return errors


def sent_sentence(result: SendResult) -> str:
    kudos = result.kudos
    names = compose.join_names([person.first_name for person in kudos.recipients])
    audience = {
        "public": "Everyone can see it.",
        "team": "Their teams and managers can see it.",
        "private": "Only they and their managers can see it.",
    }[kudos.visibility]
    return f"Kudos sent to {names}. {audience} They'll be told the way they like."


def active_values(session: Session) -> list[Value]:
    return list(session.scalars(select(Value).where(Value.active).order_by(Value.position)))


def modal(
    session: Session,
    sender: Person,
    draft: Draft,
    *,
    chosen: list[Person] | None = None,
    missing: list[str] | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
    """The compose modal, filled in with ``draft``; with the preview of
    the ``chosen`` recipients' wishes when there are any."""
    values = active_values(session)
    blocks: list[Block] = []
    if notice:
        blocks.append(section(f":warning: {escape(notice)}"))
    recipients: dict[str, Any] = {
        "type": "multi_users_select",
        "action_id": "recipients",
        "max_selected_items": MAX_RECIPIENTS,
        "placeholder": _text("Who helped you?"),
    }
    if draft.recipients:
        recipients["initial_users"] = draft.recipients[:MAX_RECIPIENTS]
    blocks.append(_input("recipients", "Who are you thanking?", recipients, dispatch=True))
    blocks.extend(_preview(chosen or [], missing or [], draft.visibility))
    options = [_option(f"{value.emoji} {value.name}".strip(), str(value.id)) for value in values]
    chosen_values = [option for option in options if int(option["value"]) in draft.value_ids]
    value_select: dict[str, Any] = {
        "type": "multi_static_select",
        "action_id": "values",
        "options": options,
        "max_selected_items": MAX_VALUES,
        "placeholder": _text("Pick 1 to 3 values"),
    }
    if chosen_values:
        value_select["initial_options"] = chosen_values
    blocks.append(_input("values", "Which values did they show?", value_select))
    room = MAX_MESSAGE_LENGTH - (len(draft.link) + 2 if draft.link else 0)
    message: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "message",
        "multiline": True,
        "max_length": room,
        "placeholder": _text("What did they do, and what difference did it make?"),
    }
    if draft.message:
        message["initial_value"] = draft.message[:room]
    blocks.append(_input("message", "Your message", message))
    if draft.link:
        blocks.append(context(f"A link to <{draft.link}|the Slack message> is added to it."))
    visibility_options = [
        _option(label, name, description)
        for name, (label, description) in VISIBILITY_LABELS.items()
    ]
    blocks.append(
        _input(
            "visibility",
            "Who can see it?",
            {
                "type": "radio_buttons",
                "action_id": "visibility",
                "options": visibility_options,
                "initial_option": visibility_options[
                    VISIBILITIES.index(draft.visibility) if draft.visibility in VISIBILITIES else 0
                ],
            },
            dispatch=True,
        )
    )
    left = compose.kudos_left_today(
        session,
        sender,
        now=utcnow(),
        zone=timeutil.org_zone(),
        daily_limit=current_app.config["DAILY_KUDOS_LIMIT"],
    )
    blocks.append(context(f"You can send {left} more kudos today."))
    return {
        "type": "modal",
        "callback_id": CALLBACK,
        "title": _text("Give kudos"),
        "submit": _text("Send kudos"),
        "close": _text("Cancel"),
        "private_metadata": draft.metadata(),
        "blocks": blocks,
    }


def _preview(chosen: list[Person], missing: list[str], requested: str) -> list[Block]:
    """What the compose page shows beside the chosen recipients."""
    blocks: list[Block] = []
    for name in missing:
        blocks.append(context(f":warning: {escape(name)} isn't in the Kudos directory."))
    if not chosen:
        return blocks
    shown = compose.preview(chosen, requested)
    for summary in shown.summaries:
        lines = [f"*{escape(summary.person.name)}*: {escape(summary.audience_sentence)}"]
        lines.append(escape(summary.style_sentence))
        if summary.best_way_to_thank:
            lines.append(f"Best way to thank them: {escape(summary.best_way_to_thank)}")
        blocks.append(context("\n".join(lines)))
    sentence = shown.visibility_sentence
    if requested in shown.overrides:
        sentence = f"{shown.overrides[requested]} {sentence}"
    blocks.append(section(f":eyes: {escape(sentence)}"))
    return blocks


def confirmation(result: SendResult) -> dict[str, Any]:
    link = external_url("recognition.show", kudos_id=result.kudos.id)
    return {
        "type": "modal",
        "callback_id": "kudos_sent",
        "title": _text("Kudos sent"),
        "close": _text("Done"),
        "blocks": [
            section(f":white_check_mark: {escape(sent_sentence(result))}"),
            context(f"<{link}|Open it in Kudos>"),
        ],
    }


def _text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def _option(label: str, value: str, description: str | None = None) -> dict[str, Any]:
    option: dict[str, Any] = {"text": _text(label[:75]), "value": value}
    if description:
        option["description"] = _text(description[:75])
    return option


def _input(block_id: str, label: str, element: dict[str, Any], *, dispatch: bool = False) -> Block:
    block = {"type": "input", "block_id": block_id, "label": _text(label), "element": element}
    if dispatch:
        block["dispatch_action"] = True
    return block
