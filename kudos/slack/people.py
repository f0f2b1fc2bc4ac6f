"""Who is who: a Slack user is the Kudos person whose e-mail their Slack
profile carries, once Slack has confirmed that address.

The Slack user id comes from a signed request, and the e-mail from Slack
itself (``users.info``, scope ``users:read.email``), so nobody can act as
someone else by typing a name. The link is kept (``SlackLink``) and asked
again once a day, so a changed address or a deactivated Slack account
stops acting for the person within a day; a deactivated Kudos person is
refused at once, since their row is read on every request.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kudos.people.models import Person, normalize_email
from kudos.slack.models import SlackLink
from kudos.urls import base_url

log = logging.getLogger(__name__)
CHECK_AGAIN_AFTER = timedelta(days=1)


class NotInDirectory(Exception):
    """This Slack user can't act in Kudos; ``str(error)`` says why, for them,
    and ``name`` is their name in Slack, when Slack said it."""

    def __init__(self, message: str, *, name: str | None = None) -> None:
        super().__init__(message)
        self.name = name


def person_for(
    session: Session,
    client: WebClient,
    slack_user_id: str,
    *,
    now: datetime,
    active_only: bool = True,
) -> Person:
    """The person this Slack user is, or ``NotInDirectory``. Someone who
    acts must be active; a recipient may not be (``send_kudos`` says so)."""
    check = _active if active_only else _found
    link = session.get(SlackLink, slack_user_id)
    if link is not None and now - link.checked_at < CHECK_AGAIN_AFTER:
        return check(session.get(Person, link.person_id))
    try:
        user = client.users_info(user=slack_user_id)["user"]
    except (SlackApiError, SlackClientError, OSError) as error:
        if isinstance(error, SlackApiError) and error.response.get("error") == "user_not_found":
            raise NotInDirectory("Slack doesn't know this person.") from error
        if link is not None:  # Slack can't be asked now: yesterday's answer holds
            return check(session.get(Person, link.person_id))
        raise NotInDirectory(
            "Slack didn't say who this is just now. Please try again in a minute."
        ) from error
    person = _person_of(session, user)
    remember(session, slack_user_id, person, now=now)
    return check(person)


def remember(session: Session, slack_user_id: str, person: Person, *, now: datetime) -> None:
    """Link ``slack_user_id`` to ``person``, replacing either one's old link.
    Flushes. Two requests (or workers) linking the same person at once: the
    one that comes second finds the link made, and keeps it."""
    try:
        with session.begin_nested():
            session.execute(
                delete(SlackLink).where(
                    (SlackLink.person_id == person.id) | (SlackLink.slack_user_id == slack_user_id)
                )
            )
            session.add(SlackLink(slack_user_id=slack_user_id, person_id=person.id, checked_at=now))
    except IntegrityError:
        log.info("slack: %s was linked meanwhile", slack_user_id)


def linked_ids(session: Session, people: list[Person]) -> dict[int, str]:
    """The Slack user id of each of ``people`` already linked, by person id."""
    if not people:
        return {}
    rows = session.execute(
        select(SlackLink.person_id, SlackLink.slack_user_id).where(
            SlackLink.person_id.in_([person.id for person in people])
        )
    )
    return dict(rows.all())


def _person_of(session: Session, user: dict) -> Person:
    """The person a Slack ``users.info`` user is, checked as sign-in checks
    an identity: same workspace, a real person, a confirmed address."""
    profile = user.get("profile") or {}
    email = normalize_email(profile.get("email") or "")
    name = profile.get("real_name") or user.get("real_name") or user.get("name")
    if (
        user.get("deleted")
        or user.get("is_bot")
        or user.get("team_id") != current_app.config["SLACK_TEAM_ID"]
        or not user.get("is_email_confirmed")
        or not email
    ):
        raise NotInDirectory(
            "Kudos can only be used by people of this workspace with a confirmed e-mail address.",
            name=name,
        )
    person = session.scalar(select(Person).where(Person.email == email))
    if person is None:
        raise NotInDirectory(
            f"You're not in the Kudos directory yet (we looked for {email}). "
            f"Sign in once at {base_url()} or ask your Kudos admin to add you, then try again.",
            name=name,
        )
    return person


def _found(person: Person | None) -> Person:
    if person is None:
        raise NotInDirectory("This person is no longer in the Kudos directory.")
    return person


def _active(person: Person | None) -> Person:
    if person is None or not person.active:
        raise NotInDirectory(
            "Your Kudos account is not active, so you can't send or applaud kudos. "
            "Ask your Kudos admin if this is a mistake."
        )
    return person
