"""What the Slack app does for each thing a person does in Slack.

Every handler first finds who is acting (``people.person_for``); a Slack
user Kudos does not know, or an inactive person, is told why privately,
never shown an error. Sends go through ``send_kudos`` with a key made of
Slack's id for the command or the modal, so a retried or double-submitted
request returns the kudos already made.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from kudos.db import utcnow
from kudos.extensions import db
from kudos.people.models import Person
from kudos.recognition.models import Kudos
from kudos.recognition.services import KudosRejected, toggle_reaction
from kudos.recognition.visibility import can_see
from kudos.slack import compose
from kudos.slack.delivery import SlackSender
from kudos.slack.home import OPEN_COMPOSE, home_view, stranger_view
from kudos.slack.messages import APPLAUD, LINK_PREFIX
from kudos.slack.people import NotInDirectory, person_for
from kudos.urls import external_url

log = logging.getLogger(__name__)
Handler = TypeVar("Handler", bound=Callable[..., Any])

GIVE_SHORTCUT = "kudos_give"
MESSAGE_SHORTCUT = "kudos_for_message"
HELP = (
    "Thank a colleague: `/kudos @ana :responsive: thanks for answering so fast!` "
    "(people first, then one to three values, then your message), or just `/kudos` "
    "for a form. Values: {values}."
)
# Slack's own errors while the app answers: the person is told, and nothing breaks.
SLACK_TROUBLE = (SlackApiError, SlackClientError, OSError)


def register(bolt: Any, wrap: Callable[[Handler], Handler]) -> None:  # noqa: ANN401 - a Bolt App
    """Every listener, each run through ``wrap`` (``app.in_context``)."""
    bolt.command("/kudos")(wrap(command))
    bolt.shortcut(GIVE_SHORTCUT)(wrap(give_shortcut))
    bolt.shortcut(MESSAGE_SHORTCUT)(wrap(message_shortcut))
    bolt.view(compose.CALLBACK)(wrap(submit))
    bolt.action("recipients")(wrap(update_preview))
    bolt.action("visibility")(wrap(update_preview))
    bolt.action(APPLAUD)(wrap(applaud))
    bolt.action(OPEN_COMPOSE)(wrap(open_from_home))
    bolt.action(re.compile(f"^{LINK_PREFIX}"))(just_acknowledge)
    bolt.event("app_home_opened")(wrap(home_opened))
    bolt.error(on_error)


def acting(client: WebClient, user_id: str) -> Person:
    return person_for(db.session, client, user_id, now=utcnow())


def command(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
    """``/kudos`` alone opens the form; ``/kudos @ana :value: message`` sends
    at once when it reads cleanly, and otherwise opens the form filled in."""
    text = command.get("text") or ""
    session = db.session
    values = compose.active_values(session)
    if text.strip().casefold() == "help":
        ack(text=HELP.format(values=", ".join(f":{value.slug}:" for value in values)))
        return
    try:
        sender = acting(client, command["user_id"])
    except NotInDirectory as problem:
        ack(text=str(problem))
        return
    draft = compose.parse_command(text, values)
    notice = _incomplete(draft) if text.strip() else None
    if compose.is_complete(draft):
        try:
            result = compose.send(
                session, client, sender, draft, key=f"slack-command:{command['trigger_id']}"
            )
        except KudosRejected as rejected:
            session.rollback()
            notice = "Not sent yet: " + " ".join(rejected.fields.values())
        else:
            session.commit()
            link = external_url("recognition.show", kudos_id=result.kudos.id)
            ack(text=f":white_check_mark: {compose.sent_sentence(result)} <{link}|Open it>")
            return
    ack()
    _open_modal(client, command["trigger_id"], sender, draft, notice=notice)


def _incomplete(draft: compose.Draft) -> str | None:
    missing = []
    if not draft.recipients:
        missing.append("mention the people you're thanking (@name)")
    if draft.unknown_values:
        unknown = ", ".join(f":{name}:" for name in draft.unknown_values)
        missing.append(f"{unknown} is not one of our values")
    elif not draft.value_ids:
        missing.append("add a value such as :responsive:")
    if not draft.message:
        missing.append("write a few words")
    return ("Almost there: " + "; ".join(missing) + ".") if missing else None


def _open_modal(
    client: WebClient,
    trigger_id: str,
    sender: Person,
    draft: compose.Draft,
    *,
    notice: str | None = None,
) -> None:
    session = db.session
    chosen, missing = (
        compose.recipients_of(session, client, draft) if draft.recipients else ([], [])
    )
    view = compose.modal(session, sender, draft, chosen=chosen, missing=missing, notice=notice)
    session.commit()  # the Slack users found on the way stay linked
    client.views_open(trigger_id=trigger_id, view=view)


def give_shortcut(ack: Ack, shortcut: dict[str, Any], client: WebClient) -> None:
    ack()
    sender = _acting_or_told(client, shortcut)
    if sender is not None:
        _open_modal(client, shortcut["trigger_id"], sender, compose.Draft())


def message_shortcut(ack: Ack, shortcut: dict[str, Any], client: WebClient) -> None:
    """ "Give kudos for this": the form, for the message's author, with a
    link to the message."""
    ack()
    sender = _acting_or_told(client, shortcut)
    if sender is None:
        return
    message = shortcut.get("message") or {}
    channel = (shortcut.get("channel") or {}).get("id")
    link = None
    try:
        link = client.chat_getPermalink(channel=channel, message_ts=message.get("ts"))["permalink"]
    except SLACK_TROUBLE:
        log.info("slack: no permalink for a message shortcut")
    author = message.get("user")
    draft = compose.Draft(
        recipients=[author] if author and author != shortcut["user"]["id"] else [],
        link=link if isinstance(link, str) and link.startswith("https://") else None,
    )
    _open_modal(client, shortcut["trigger_id"], sender, draft)


def open_from_home(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    ack()
    sender = _acting_or_told(client, body)
    if sender is not None:
        _open_modal(client, body["trigger_id"], sender, compose.Draft())


def submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
    """The modal's "Send kudos": sent, or the modal stays open with each
    problem beside its field."""
    session = db.session
    try:
        sender = acting(client, body["user"]["id"])
    except NotInDirectory as problem:
        ack(response_action="errors", errors={"recipients": str(problem)})
        return
    draft = compose.draft_from_view(view)
    try:
        result = compose.send(session, client, sender, draft, key=f"slack-view:{view['id']}")
    except KudosRejected as rejected:
        session.rollback()
        ack(response_action="errors", errors=compose.errors_by_block(rejected))
        return
    session.commit()
    ack(response_action="update", view=compose.confirmation(result))


def update_preview(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    """Recipients or visibility changed in the modal: show their wishes."""
    ack()
    view = body.get("view") or {}
    try:
        sender = acting(client, body["user"]["id"])
    except NotInDirectory:
        return
    session = db.session
    draft = compose.draft_from_view(view)
    chosen, missing = compose.recipients_of(session, client, draft)
    updated = compose.modal(session, sender, draft, chosen=chosen, missing=missing)
    session.commit()
    try:
        client.views_update(view_id=view["id"], hash=view.get("hash"), view=updated)
    except SlackApiError as error:  # the person changed it again meanwhile
        log.info("slack: preview not updated: %s", error.response.get("error"))


def applaud(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
    """The applause button on a channel post: as on the web, one per person."""
    ack()
    user_id = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id") or body.get("container", {}).get("channel_id")

    def tell(text: str) -> None:
        try:
            client.chat_postEphemeral(channel=channel, user=user_id, text=text)
        except SLACK_TROUBLE as error:  # nowhere else to say it; nothing was changed
            log.info("slack: could not answer a click privately: %s", type(error).__name__)

    session = db.session
    try:
        person = acting(client, user_id)
    except NotInDirectory as problem:
        session.commit()
        tell(str(problem))
        return
    kudos = session.get(Kudos, int(action["value"])) if str(action.get("value")).isdigit() else None
    if kudos is None or not can_see(person, kudos):
        tell("This kudos is no longer shown in Kudos.")
        return
    try:
        toggle_reaction(session, person, kudos, now=utcnow())
    except KudosRejected as rejected:
        tell(rejected.message)
        return
    session.commit()
    try:
        SlackSender(session, client).update_posts(kudos.id)
    except SLACK_TROUBLE as error:  # the queued refresh corrects the count later
        log.info("slack: applause count not updated now: %s", type(error).__name__)
    session.commit()


def home_opened(event: dict[str, Any], client: WebClient) -> None:
    if event.get("tab") != "home":
        return
    user_id = event["user"]
    try:
        view = home_view(db.session, acting(client, user_id))
    except NotInDirectory as problem:
        view = stranger_view(str(problem))
    db.session.commit()
    client.views_publish(user_id=user_id, view=view)


def just_acknowledge(ack: Ack) -> None:
    """A link button: Slack opens the link; the app has nothing to do."""
    ack()


def _acting_or_told(client: WebClient, body: dict[str, Any]) -> Person | None:
    """Who is acting; or, for a Slack user Kudos doesn't know, a private
    explanation in a small modal (there is no channel to answer in)."""
    try:
        return acting(client, body["user"]["id"])
    except NotInDirectory as problem:
        db.session.commit()
        client.views_open(
            trigger_id=body["trigger_id"],
            view={
                "type": "modal",
                "title": {"type": "plain_text", "text": "Kudos"},
                "close": {"type": "plain_text", "text": "Close"},
                "blocks": [
                    {"type": "section", "text": {"type": "plain_text", "text": str(problem)}}
                ],
            },
        )
        return None


def on_error(error: Exception, body: dict[str, Any]) -> None:
    log.error("slack: %s while handling %s", type(error).__name__, body.get("type"), exc_info=error)
