"""Saving how a person likes to be recognised, and reading it back for others.

The onboarding page, the settings page and the API all save through
``save_preferences``, so the rules for each field live here once, and a
changed audience reaches the kudos the person already received.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kudos.audit.services import record
from kudos.db import valid_ids
from kudos.people.models import Person
from kudos.preferences.models import (
    BEST_WAY_MAX_LENGTH,
    MAX_FAVOURITE_VALUES,
    STYLES,
    FavouriteValue,
    RecognitionPreference,
)
from kudos.recognition.models import VISIBILITIES, Value
from kudos.recognition.services import refresh_visibility
from kudos.refusals import Refused

AUDIENCE_CHOICE = "Choose who should see praise for you: public, team or private."
STYLE_CHOICE = "Choose a quiet pat on the back (low_key) or air horns (celebratory)."
AUDIENCE_LABELS = {
    "public": "everyone",
    "team": "their team",
    "private": "just them and their manager",
}


class PreferencesRejected(Refused):
    """A choice outside the ones offered, or a "best way to thank me" too long."""


@dataclass(frozen=True)
class PreferenceChoices:
    audience: str
    style: str
    email_opt_in: bool
    on_leaderboards: bool
    favourite_value_ids: Sequence[int]
    best_way_to_thank: str | None
    # A Slack direct message for each kudos.
    slack_opt_in: bool = False
    # Named in the company channel's post of a public kudos; if not, left out
    # of the post and told by Slack direct message instead.
    in_slack_channel: bool = True


def stored_slack_choices(preference: RecognitionPreference | None) -> dict[str, bool]:
    """The Slack answers as they are now (the defaults for someone new): what
    a save that does not ask them keeps, when Slack is off or an API client
    leaves them out."""
    if preference is None:
        return {"slack_opt_in": False, "in_slack_channel": True}
    return {
        "slack_opt_in": preference.slack_opt_in,
        "in_slack_channel": preference.in_slack_channel,
    }


def check_preferences(
    session: Session, choices: PreferenceChoices
) -> tuple[dict[int, Value], str | None]:
    """Check every field; return the favourite values by id and the cleaned
    "best way to thank me", or raise ``PreferencesRejected`` with a message
    per bad field. Reads only."""
    problems: dict[str, str] = {}
    if choices.audience not in VISIBILITIES:
        problems["audience"] = AUDIENCE_CHOICE
    if choices.style not in STYLES:
        problems["style"] = STYLE_CHOICE
    for name in ("email_opt_in", "slack_opt_in", "in_slack_channel", "on_leaderboards"):
        if not isinstance(getattr(choices, name), bool):
            problems[name] = "Answer yes or no."
    wanted = list(dict.fromkeys(choices.favourite_value_ids))
    values = {
        value.id: value
        for value in session.scalars(
            select(Value).where(Value.id.in_(valid_ids(wanted)), Value.active)
        )
    }
    # Counted as sent: four picks are too many even when two are the same.
    if len(choices.favourite_value_ids) > MAX_FAVOURITE_VALUES:
        problems["favourite_values"] = f"Pick up to {MAX_FAVOURITE_VALUES} values."
    elif len(values) < len(wanted):
        problems["favourite_values"] = "Pick values from the list."
    sent_way = choices.best_way_to_thank or ""
    best_way = sent_way.strip() or None
    if len(sent_way) > BEST_WAY_MAX_LENGTH:
        problems["best_way_to_thank"] = (
            f"Keep it to {BEST_WAY_MAX_LENGTH} characters (now {len(sent_way)})."
        )
    elif best_way is not None and any(ord(ch) < 32 for ch in best_way):
        problems["best_way_to_thank"] = "Use one line of plain text."
    if problems:
        raise PreferencesRejected(problems)
    return values, best_way


def save_preferences(
    session: Session, person: Person, choices: PreferenceChoices, *, now: datetime
) -> RecognitionPreference:
    """Check every field, then create or update the person's preferences.
    Raises ``PreferencesRejected`` with a message per bad field. Flushes."""
    values, best_way = check_preferences(session, choices)
    wanted = list(dict.fromkeys(choices.favourite_value_ids))

    preference = person.preference
    created = preference is None
    if created:
        preference = RecognitionPreference(person=person, created_at=now)
        session.add(preference)
    preference.audience = choices.audience
    preference.style = choices.style
    preference.email_opt_in = choices.email_opt_in
    preference.slack_opt_in = choices.slack_opt_in
    preference.in_slack_channel = choices.in_slack_channel
    preference.on_leaderboards = choices.on_leaderboards
    preference.best_way_to_thank = best_way
    preference.updated_at = now
    preference.favourites = [
        FavouriteValue(value=values[value_id], position=position)
        for position, value_id in enumerate(wanted, start=1)
    ]
    session.flush()
    # Kudos already received follow the new audience at once, everywhere.
    refresh_visibility(session, person.id)
    record(
        session,
        person,
        "preferences.saved" if not created else "preferences.created",
        target_type="person",
        target_id=person.id,
        details={
            "audience": preference.audience,
            "style": preference.style,
            "email": preference.email_opt_in,
            "slack": preference.slack_opt_in,
            "in_slack_channel": preference.in_slack_channel,
            "leaderboards": preference.on_leaderboards,
        },
    )
    return preference


def postpone_onboarding(session: Session, person: Person, *, now: datetime) -> None:
    person.onboarding_postponed_at = now
    session.flush()


def needs_onboarding(person: Person) -> bool:
    return person.preference is None and person.onboarding_postponed_at is None


@dataclass(frozen=True)
class PreferenceSummary:
    """Sentences a sender reads about how a colleague likes to be recognised."""

    person: Person
    audience: str
    style: str
    favourite_values: list[Value]
    best_way_to_thank: str | None
    known: bool

    @property
    def audience_sentence(self) -> str:
        name = self.person.first_name
        if self.audience == "private":
            return (
                f"{name} prefers private recognition: only {name} and their managers "
                "(and you) will see it."
            )
        if self.audience == "team":
            return (
                f"{name} prefers recognition within their team: their teammates and "
                "their managers (and you) will see it."
            )
        return f"{name} is happy for everyone to see praise."

    @property
    def style_sentence(self) -> str:
        if self.style == "celebratory":
            return "Loves a celebration: air horns and balloons."
        return "Prefers a quiet pat on the back."


def summary(person: Person) -> PreferenceSummary:
    preference = person.preference
    if preference is None:
        return PreferenceSummary(person, "public", "low_key", [], None, known=False)
    return PreferenceSummary(
        person,
        preference.audience,
        preference.style,
        preference.favourite_values,
        preference.best_way_to_thank,
        known=True,
    )


def visibility_sentence(requested: str, effective: str, recipients: Sequence[Person]) -> str:
    """What the sender reads before sending: who will see this kudos, and why
    when a recipient's preference made it more private."""
    names = _join([person.first_name for person in recipients]) or "them"
    if effective == "public":
        audience = "Everyone at the company will see it."
    elif effective == "team":
        audience = f"It will be visible to you, {names}, their teams and their managers."
    else:
        audience = f"It will be visible only to you, {names} and their managers."
    stricter = [
        person
        for person in recipients
        if person.preference is not None and person.preference.audience == effective
    ]
    if effective != requested and stricter:
        who = _join([person.first_name for person in stricter])
        verb = "prefers" if len(stricter) == 1 else "prefer"
        kind = "private" if effective == "private" else "team-only"
        return f"{who} {verb} {kind} recognition, so their choice wins. {audience}"
    return audience


def _join(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]
