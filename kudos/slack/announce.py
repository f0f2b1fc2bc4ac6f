"""What goes to Slack about a kudos, queued in the outbox inside the
transaction that changes the kudos, and delivered by ``kudos outbox
deliver`` (``delivery.py``): exactly once, retried while Slack is down.

The rule (PRODUCT.md, Chat): a public kudos goes to the company channel;
a team kudos never does, only to the channels of its recipients' teams
(``KUDOS_SLACK_TEAM_CHANNELS``); a private kudos only to its recipients,
by direct message. Recipients who chose Slack messages get one, and so
does anyone who asked to be left out of a channel post it would name.

Each queued message is an intent (``payload``), made into a message when
it is delivered, so it shows the kudos as it is then: the applause count,
who still wants to be named, and whether it may still be posted at all.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from flask import current_app, has_app_context
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from kudos.db import utcnow
from kudos.outbox.models import OutboxMessage
from kudos.people.models import Team
from kudos.recognition import events
from kudos.recognition.models import Kudos, Recognition
from kudos.slack.models import SlackPost

# Where each kind of post may stay, by the kudos' effective visibility.
ALLOWED_IN = {"channel": {"public"}, "team_channel": {"public", "team"}}


def enabled() -> bool:
    return has_app_context() and bool(current_app.config.get("SLACK_ENABLED"))


def key_prefix(kudos_id: int) -> str:
    """The prefix ``notifications.kudos_withdrawn`` cancels by, with e-mails."""
    return f"kudos:{kudos_id}:slack:"


def allowed(kind: str, visibility: str) -> bool:
    return kind == "direct" or visibility in ALLOWED_IN[kind]


def channels_for(session: Session, kudos: Kudos) -> list[tuple[str, str]]:
    """The channels a new kudos is posted in: ``(kind, channel id)``. The
    recipients' team names in one query (their teams are not loaded)."""
    config = current_app.config
    if kudos.visibility == "public":
        return [("channel", config["SLACK_CHANNEL"])] if config["SLACK_CHANNEL"] else []
    if kudos.visibility == "team":
        mapping = config["SLACK_TEAM_CHANNELS"]
        if not mapping:
            return []
        team_ids = {person.team_id for person in kudos.recipients if person.team_id}
        names = session.scalars(select(Team.name).where(Team.id.in_(team_ids))) if team_ids else []
        teams = {name.casefold() for name in names}
        return [
            ("team_channel", channel)
            for channel in sorted({mapping[t] for t in teams if t in mapping})
        ]
    return []


@events.kudos_sent.listen
def kudos_sent(session: Session, kudos: Kudos) -> None:
    """Queue the channel posts and direct messages of a new kudos."""
    if not enabled():
        return
    rows = []
    posts = channels_for(session, kudos)
    for kind, channel in posts:
        rows.append(
            row(
                "slack_post",
                {"kudos_id": kudos.id, "kind": kind, "channel": channel},
                to=channel,
                subject=f"Kudos {kudos.id} in {channel}",
                now=kudos.created_at,
                dedupe_key=f"{key_prefix(kudos.id)}post:{channel}",
            )
        )
    for person in kudos.recipients:
        preference = person.preference
        left_out = bool(posts) and preference is not None and not preference.in_slack_channel
        wants_message = preference is not None and preference.slack_opt_in
        if person.active and (left_out or wants_message):
            rows.append(
                row(
                    "slack_dm",
                    {"kudos_id": kudos.id, "person_id": person.id, "left_out": left_out},
                    to=person.email,
                    subject=f"Kudos {kudos.id} for {person.email}",
                    now=kudos.created_at,
                    recipient_id=person.id,
                    dedupe_key=f"{key_prefix(kudos.id)}dm:{person.id}",
                )
            )
    if rows:
        session.execute(insert(OutboxMessage), rows)


@events.kudos_withdrawn.listen
def kudos_withdrawn(session: Session, kudos: Kudos) -> dict[str, int]:
    """The kudos was hidden or deleted: queue the deletion of every message
    posted about it, and tell the moderation audit how many."""
    if not enabled():
        return {}
    posts = session.scalars(select(SlackPost).where(SlackPost.kudos_id == kudos.id)).all()
    deleted = _retract(session, list(posts))
    return {"slack_posts_deleted": deleted} if deleted else {}


@events.audience_changed.listen
def audience_changed(session: Session, recipient_id: int) -> None:
    """A recipient changed their preferences: posts of kudos now more
    private than where they were posted are deleted, and the others are
    made again (they may no longer want to be named)."""
    if not enabled():
        return
    received = select(Recognition.kudos_id).where(Recognition.recipient_id == recipient_id)
    posts = session.execute(
        select(SlackPost, Kudos.visibility)
        .join(Kudos, Kudos.id == SlackPost.kudos_id)
        .where(SlackPost.kudos_id.in_(received), SlackPost.kind != "direct")
    ).all()
    _retract(session, [post for post, visibility in posts if not allowed(post.kind, visibility)])
    for kudos_id in sorted(
        {post.kudos_id for post, visibility in posts if allowed(post.kind, visibility)}
    ):
        refresh(session, kudos_id)


@events.applause_changed.listen
def applause_changed(session: Session, kudos: Kudos) -> None:
    """Someone applauded (or stopped): the posts' counts are made again."""
    if not enabled():
        return
    posted = session.scalar(
        select(SlackPost.id)
        .where(SlackPost.kudos_id == kudos.id, SlackPost.kind != "direct")
        .limit(1)
    )
    if posted is not None:
        refresh(session, kudos.id)


def refresh(session: Session, kudos_id: int) -> None:
    """Queue one update of the kudos' channel posts, unless one is waiting
    already: many applause in a row make one update. An update a worker
    is making right now (locked) may have counted before this change, so
    then another is queued."""
    prefix = f"{key_prefix(kudos_id)}refresh:"
    waiting = session.scalar(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == "pending",
            OutboxMessage.dedupe_key.startswith(prefix, autoescape=True),
        )
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if waiting is not None:
        return
    session.execute(
        insert(OutboxMessage),
        [
            row(
                "slack_refresh",
                {"kudos_id": kudos_id},
                to="posts",
                subject=f"Kudos {kudos_id} posts",
                now=utcnow(),
                dedupe_key=f"{prefix}{secrets.token_hex(8)}",
            )
        ],
    )


def _retract(session: Session, posts: list[SlackPost]) -> int:
    """Queue the deletion of ``posts`` and forget them."""
    if posts:
        queue_deletions(session, [(post.kudos_id, post.channel, post.ts) for post in posts])
        for post in posts:
            session.delete(post)
        session.flush()
    return len(posts)


def queue_deletions(session: Session, posts: list[tuple[int, str, str]]) -> None:
    """Queue the deletion of these ``(kudos id, channel, ts)`` messages. Not
    keyed by kudos: the kudos may be gone by the time they are delivered."""
    now = utcnow()
    session.execute(
        insert(OutboxMessage),
        [
            row(
                "slack_delete",
                {"channel": channel, "ts": ts},
                to=channel,
                subject=f"Delete the post of kudos {kudos_id}",
                now=now,
                dedupe_key=f"slack-delete:{channel}:{ts}",
            )
            for kudos_id, channel, ts in posts
        ],
    )


def row(
    kind: str,
    payload: dict[str, object],
    *,
    to: str,
    subject: str,
    now: datetime,
    dedupe_key: str,
    recipient_id: int | None = None,
) -> dict[str, object]:
    return {
        "kind": kind,
        "transport": "slack",
        "payload": payload,
        "dedupe_key": dedupe_key,
        "recipient_id": recipient_id,
        "to_address": to,
        "subject": subject,
        "text_body": "",
        "html_body": None,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
