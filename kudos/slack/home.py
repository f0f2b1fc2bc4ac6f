"""App Home: the kudos a person received lately, what they can still send
today, the values they are thanked for most, and the way to the web."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from kudos import timeutil
from kudos.db import utcnow
from kudos.people.models import Person
from kudos.recognition.compose import kudos_left_today
from kudos.recognition.models import Kudos, Recognition, Value, kudos_value
from kudos.slack.messages import Block, context, escape, section, value_names
from kudos.urls import external_url

OPEN_COMPOSE = "open_compose"
RECENT = 5
EXCERPT = 280


def home_view(session: Session, person: Person) -> dict[str, Any]:
    zone = timeutil.org_zone()
    left = kudos_left_today(
        session,
        person,
        now=utcnow(),
        zone=zone,
        daily_limit=current_app.config["DAILY_KUDOS_LIMIT"],
    )
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Your kudos"}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"You can send *{left}* more kudos today."},
            "accessory": {
                "type": "button",
                "action_id": OPEN_COMPOSE,
                "style": "primary",
                "text": {"type": "plain_text", "text": "Give kudos"},
            },
        },
        {"type": "divider"},
        section("*Received lately*"),
    ]
    received = _received(session, person)
    if not received:
        blocks.append(context("No kudos yet. They'll show here when colleagues thank you."))
    for kudos in received:
        when = timeutil.to_local(kudos.created_at, zone).strftime("%-d %b")
        excerpt = kudos.message if len(kudos.message) <= EXCERPT else kudos.message[:EXCERPT] + "…"
        link = external_url("recognition.show", kudos_id=kudos.id)
        blocks.append(
            section(
                f"*{escape(kudos.sender.name)}* for {value_names(kudos)} · <{link}|{when}>\n"
                f"{escape(excerpt)}"
            )
        )
    top = _top_values(session, person)
    if top:
        listed = ", ".join(
            f"{value.emoji} {escape(value.name)} ({count})".strip() for value, count in top
        )
        blocks += [{"type": "divider"}, section(f"*What you're thanked for most:* {listed}")]
    blocks += [
        {"type": "divider"},
        {
            "type": "actions",
            "block_id": "links",
            "elements": [
                _link("link_preferences", "How I like to be recognised", "preferences.settings"),
                _link("link_leaderboard", "Leaderboard", "leaderboard.page"),
            ],
        },
    ]
    return {"type": "home", "blocks": blocks}


def stranger_view(reason: str) -> dict[str, Any]:
    """App Home for a Slack user Kudos does not know."""
    return {
        "type": "home",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Kudos"}},
            section(escape(reason)),
        ],
    }


def _received(session: Session, person: Person) -> list[Kudos]:
    """The newest kudos ``person`` received that are still shown."""
    return list(
        session.scalars(
            select(Kudos)
            .join(Recognition, Recognition.kudos_id == Kudos.id)
            .where(Recognition.recipient_id == person.id, Kudos.hidden_at.is_(None))
            .order_by(Kudos.created_at.desc(), Kudos.id.desc())
            .limit(RECENT)
            .options(joinedload(Kudos.sender), selectinload(Kudos.values))
        )
    )


def _top_values(session: Session, person: Person) -> list[tuple[Value, int]]:
    count = func.count().label("count")
    rows = session.execute(
        select(Value, count)
        .join(kudos_value, kudos_value.c.value_id == Value.id)
        .join(Kudos, Kudos.id == kudos_value.c.kudos_id)
        .join(Recognition, Recognition.kudos_id == Kudos.id)
        .where(Recognition.recipient_id == person.id, Kudos.hidden_at.is_(None))
        .group_by(Value.id)
        .order_by(count.desc(), Value.position)
        .limit(3)
    )
    return [(value, total) for value, total in rows]


def _link(action_id: str, label: str, endpoint: str) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label},
        "url": external_url(endpoint),
    }
