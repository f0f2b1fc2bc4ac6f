"""Delivering the Slack messages queued by ``announce.py`` (``kudos outbox
deliver``): the outbox's loop, with Slack's errors read as Slack means
them. Slack unreachable, busy (``429`` with ``Retry-After``, or
``ratelimited``) or failing on its side: the message waits and is tried
again, no sooner than Slack asked. Anything about the message itself (a
channel that does not exist, a person who is not in Slack): it fails,
with the reason, for an admin to see, and the rest go on.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from kudos.db import utcnow
from kudos.outbox.models import OutboxMessage
from kudos.outbox.services import DeliveryReport, Failure, deliver
from kudos.people.models import Person
from kudos.progress_callback import OnProgress
from kudos.recognition.models import Kudos, Reaction
from kudos.slack import messages
from kudos.slack.announce import allowed, queue_deletions
from kudos.slack.models import SlackPost
from kudos.slack.people import linked_ids, remember
from kudos.urls import base_url

# Slack's own troubles, worth trying again.
TRANSIENT_ERRORS = {
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
}
# Deleting what is already gone is done.
GONE = {"message_not_found", "channel_not_found", "thread_not_found"}
DELIVERY_TIMEOUT = 10


def web_client(*, timeout: int = DELIVERY_TIMEOUT) -> WebClient:
    config = current_app.config
    return WebClient(
        token=config["SLACK_BOT_TOKEN"], base_url=config["SLACK_API_URL"], timeout=timeout
    )


def deliver_due(
    session: Session,
    client: WebClient,
    *,
    now: datetime,
    limit: int = 100,
    on_progress: OnProgress | None = None,
) -> DeliveryReport:
    """Send every due Slack message, one transaction each. Commits."""
    sender = SlackSender(session, client)
    # Messages link to the site: url_for needs a request, made from KUDOS_BASE_URL.
    with current_app.test_request_context("/", base_url=base_url()):
        return deliver(
            session,
            "slack",
            sender.send,
            classify,
            now=now,
            limit=limit,
            on_progress=on_progress,
        )


def classify(error: Exception) -> Failure:
    if isinstance(error, SlackApiError):
        response = error.response
        code = response.get("error") if isinstance(response.data, dict) else None
        if response.status_code == 429 or code == "ratelimited":
            return Failure(permanent=False, wait=timedelta(seconds=_retry_after(response)))
        if response.status_code >= 500 or code in TRANSIENT_ERRORS:
            return Failure(permanent=False)
        return Failure(permanent=True)
    # Unreachable, refused, dropped or timed out: Slack is down for us. A
    # database error (a deadlock, a lock timeout) is worth another try too.
    return Failure(permanent=not isinstance(error, OSError | TimeoutError | DBAPIError))


def _retry_after(response: Any) -> int:  # noqa: ANN401 - a SlackResponse
    raw = (response.headers or {}).get("Retry-After") or (response.headers or {}).get("retry-after")
    try:
        return max(int(raw), 1)
    except (TypeError, ValueError):
        return 60


class NotInSlack(Exception):
    """The person has no Slack account with their e-mail address."""


class SlackSender:
    """Makes one queued intent into Slack calls."""

    def __init__(self, session: Session, client: WebClient) -> None:
        self.session = session
        self.client = client

    def send(self, message: OutboxMessage) -> None:
        # As committed now, not as this long-lived session last saw it.
        self.session.expire_all()
        payload = message.payload or {}
        handler = {
            "slack_post": self.post,
            "slack_dm": self.direct,
            "slack_refresh": self.refresh,
            "slack_delete": self.delete,
        }[message.kind]
        handler(message, **payload)

    def post(self, message: OutboxMessage, *, kudos_id: int, kind: str, channel: str) -> None:
        kudos = self._kudos(kudos_id)
        if kudos is None or not allowed(kind, kudos.visibility):
            return  # hidden, deleted or narrowed before it was posted
        named = [person for person in kudos.recipients if messages.in_channel(person)]
        if not named:
            return  # nobody left who wants to be named there
        text, blocks = messages.channel_post(
            kudos, named, self._mentions(named), self._applause(kudos_id)
        )
        answer = self.client.chat_postMessage(
            channel=channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False
        )
        self._keep(kudos_id, kind, answer["channel"], answer["ts"])

    def direct(
        self, message: OutboxMessage, *, kudos_id: int, person_id: int, left_out: bool
    ) -> None:
        kudos = self._kudos(kudos_id)
        person = self.session.get(Person, person_id)
        if kudos is None or person is None or not person.active:
            return
        user_id = self._slack_id(person)
        if user_id is None:
            raise NotInSlack(f"{person.email} has no Slack account with that address")
        text, blocks = messages.direct_message(kudos, person, left_out=left_out)
        answer = self.client.chat_postMessage(
            channel=user_id, text=text, blocks=blocks, unfurl_links=False
        )
        self._keep(kudos_id, "direct", answer["channel"], answer["ts"])

    def refresh(self, message: OutboxMessage, *, kudos_id: int) -> None:
        self.update_posts(kudos_id)

    def update_posts(self, kudos_id: int) -> None:
        """Make the kudos' channel posts again: the applause count, who
        still wants to be named; deleted where the kudos may no longer be."""
        kudos = self._kudos(kudos_id)
        named = [p for p in kudos.recipients if messages.in_channel(p)] if kudos else []
        posts = self.session.scalars(
            select(SlackPost).where(SlackPost.kudos_id == kudos_id, SlackPost.kind != "direct")
        ).all()
        made: tuple[str, list[messages.Block]] | None = None
        for post in posts:
            if kudos is None or not named or not allowed(post.kind, kudos.visibility):
                self._delete(post.channel, post.ts)
                self.session.delete(post)
                continue
            made = made or messages.channel_post(
                kudos, named, self._mentions(named), self._applause(kudos_id)
            )
            self.client.chat_update(channel=post.channel, ts=post.ts, text=made[0], blocks=made[1])
        self.session.flush()

    def delete(self, message: OutboxMessage, *, channel: str, ts: str) -> None:
        self._delete(channel, ts)

    def _delete(self, channel: str, ts: str) -> None:
        try:
            self.client.chat_delete(channel=channel, ts=ts)
        except SlackApiError as error:
            if error.response.get("error") not in GONE:
                raise

    def _keep(self, kudos_id: int, kind: str, channel: str, ts: str) -> None:
        """Remember the post, unless the kudos was hidden, deleted or made
        more private while it was being posted: then its deletion is queued
        with this message marked sent (deleting it here could fail, and a
        retry would find nothing left to post, and so nothing to delete).
        The kudos row is share-locked (PostgreSQL) until this commits, so a
        moderator hiding it now waits, and then finds the post."""
        state = self.session.execute(
            select(Kudos.hidden_at, Kudos.visibility)
            .where(Kudos.id == kudos_id)
            .with_for_update(read=True)
        ).first()
        if state is None or state.hidden_at is not None or not allowed(kind, state.visibility):
            queue_deletions(self.session, [(kudos_id, channel, ts)])
            return
        self.session.add(SlackPost(kudos_id=kudos_id, kind=kind, channel=channel, ts=ts))
        self.session.flush()

    def _kudos(self, kudos_id: int) -> Kudos | None:
        kudos = self.session.get(Kudos, kudos_id)
        return kudos if kudos is not None and kudos.hidden_at is None else None

    def _applause(self, kudos_id: int) -> int:
        return self.session.scalar(
            select(func.count()).select_from(Reaction).where(Reaction.kudos_id == kudos_id)
        )

    def _mentions(self, people: list[Person]) -> dict[int, str]:
        """Slack ids of the celebratory people, for a mention that pings them."""
        wanted = [person for person in people if messages.style_of(person) == "celebratory"]
        found = linked_ids(self.session, wanted)
        for person in wanted:
            if person.id not in found and (user_id := self._slack_id(person)):
                found[person.id] = user_id
        return found

    def _slack_id(self, person: Person) -> str | None:
        """The person's Slack id: linked before, or found by their e-mail."""
        if linked := linked_ids(self.session, [person]).get(person.id):
            return linked
        try:
            user = self.client.users_lookupByEmail(email=person.email)["user"]
        except SlackApiError as error:
            if error.response.get("error") == "users_not_found":
                return None
            raise
        if user.get("deleted") or user.get("team_id") != current_app.config["SLACK_TEAM_ID"]:
            return None
        remember(self.session, user["id"], person, now=utcnow())
        return user["id"]
