"""What the compose page tells the sender before they send: who will see
the kudos, which visibility choices the recipients' wishes override (and
whose), and how many kudos the sender has left today."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from kudos.people.models import Person
from kudos.preferences.services import PreferenceSummary, visibility_sentence
from kudos.preferences.services import summary as preference_summary
from kudos.recognition.models import VISIBILITIES, VISIBILITY_RANK
from kudos.recognition.services import effective_visibility, preferred_audience, sent_today

# A recipient's wish, as the overridden choice names it.
WISHES = {"team": "team-only recognition", "private": "private recognition"}


@dataclass(frozen=True)
class Preview:
    """The preview for the chosen recipients and the sender's choice."""

    chosen: list[Person]
    effective: str
    # Who will see it; the recipients' wishes are not repeated here: each is
    # stated once, on the recipient's card, and named on the choices it overrides.
    visibility_sentence: str
    summaries: list[PreferenceSummary]
    overrides: dict[str, str] = field(default_factory=dict)


def preview(chosen: list[Person], requested: str) -> Preview:
    if requested not in VISIBILITY_RANK:
        requested = "public"
    effective = effective_visibility(requested, chosen)
    return Preview(
        chosen=chosen,
        effective=effective,
        # The sentence for a choice nobody overrides: the audience alone.
        visibility_sentence=visibility_sentence(effective, effective, chosen),
        summaries=[preference_summary(person) for person in chosen],
        overrides=overrides(chosen),
    )


def overrides(recipients: Sequence[Person]) -> dict[str, str]:
    """Each visibility choice some recipient's wish overrides (a choice less
    private than their wish), with whose wish and what they asked for."""
    wishes: dict[str, list[str]] = {}
    for person in recipients:
        wish = preferred_audience(person)
        if wish in WISHES:
            wishes.setdefault(wish, []).append(person.first_name)
    found = {}
    for choice in VISIBILITIES:
        stricter = [
            wish
            for wish in sorted(wishes, key=VISIBILITY_RANK.__getitem__, reverse=True)
            if VISIBILITY_RANK[wish] > VISIBILITY_RANK[choice]
        ]
        if stricter:
            reasons = [f"{join_names(wishes[wish])} asked for {WISHES[wish]}" for wish in stricter]
            found[choice] = "Overridden: " + "; ".join(reasons) + "."
    return found


def join_names(names: Sequence[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def kudos_left_today(
    session: Session, sender: Person, *, now: datetime, zone: ZoneInfo, daily_limit: int
) -> int:
    """What the daily limit leaves the sender today, in the organisation's
    zone (kudos taken back count as sent, as the limit counts them)."""
    return max(0, daily_limit - sent_today(session, sender, now=now, zone=zone))
