"""Managing the company's values (the admin console).

A value is never deleted: retiring it keeps every kudos tied to it, its
page, and the leaderboard and summary filters of past months; it only
stops being offered for new kudos (the send service refuses retired
values). At least one value stays active, or nobody could send kudos.
A new slug keeps the old one as a redirect (``former_slugs``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kudos.audit.services import record
from kudos.people import former_slugs
from kudos.people.models import Person
from kudos.recognition.models import Value, kudos_value
from kudos.refusals import Refused
from kudos.text import has_control_characters, slugify

KIND = "value"
NAME_MAX, SLUG_MAX, DESCRIPTION_MAX, EMOJI_MAX = 60, 60, 300, 16
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
EDITABLE = ("name", "slug", "description", "emoji")


class ValueRejected(Refused):
    """What is wrong, per field, in words for the admin."""


@dataclass(frozen=True)
class ValueFields:
    name: str
    slug: str
    description: str
    emoji: str

    @classmethod
    def cleaned(cls, name: str, slug: str, description: str, emoji: str) -> ValueFields:
        name = " ".join((name or "").split())
        return cls(
            name=name,
            slug=(slug or "").strip().lower() or slugify(name, SLUG_MAX),
            description=(description or "").strip(),
            emoji=(emoji or "").strip(),
        )


def all_values(session: Session) -> list[Value]:
    """Active ones first, each group in the order compose offers them."""
    return list(
        session.scalars(select(Value).order_by(Value.active.desc(), Value.position, Value.id))
    )


def kudos_counts(session: Session) -> dict[int, int]:
    """How many kudos carry each value (hidden ones too: they still hold it)."""
    return dict(
        session.execute(
            select(kudos_value.c.value_id, func.count()).group_by(kudos_value.c.value_id)
        ).all()
    )


def create_value(session: Session, admin: Person, fields: ValueFields) -> Value:
    """A new active value, offered last. Flushes."""
    _check(session, fields, None)
    last = session.scalar(select(func.max(Value.position))) or 0
    value = Value(**{name: getattr(fields, name) for name in EDITABLE}, position=last + 1)
    session.add(value)
    session.flush()
    record(
        session,
        admin,
        "value.created",
        target_type="value",
        target_id=value.id,
        details={name: getattr(fields, name) for name in EDITABLE},
    )
    session.flush()
    return value


def update_value(session: Session, admin: Person, value: Value, fields: ValueFields) -> bool:
    """Change what differs; returns whether anything did. Flushes."""
    _check(session, fields, value)
    changes = {
        name: [getattr(value, name), getattr(fields, name)]
        for name in EDITABLE
        if getattr(value, name) != getattr(fields, name)
    }
    if not changes:
        return False
    if "slug" in changes:
        former_slugs.forget(session, KIND, fields.slug)
        former_slugs.remember(session, KIND, value.slug, value.id)
    for name, (_before, after) in changes.items():
        setattr(value, name, after)
    record(
        session, admin, "value.updated", target_type="value", target_id=value.id, details=changes
    )
    session.flush()
    return True


def move_value(session: Session, admin: Person, value: Value, step: int) -> bool:
    """Move ``value`` one place up (-1) or down (+1) among the active values
    (the order compose offers them in). Positions are renumbered 1, 2, 3…
    so that equal or missing positions left by older data sort out."""
    active = list(
        session.scalars(select(Value).where(Value.active).order_by(Value.position, Value.id))
    )
    if value not in active:
        return False
    index = active.index(value)
    other = index + step
    if not 0 <= other < len(active):
        return False
    active[index], active[other] = active[other], active[index]
    for position, each in enumerate(active, start=1):
        each.position = position
    record(
        session,
        admin,
        "value.moved",
        target_type="value",
        target_id=value.id,
        details={"position": other + 1},
    )
    session.flush()
    return True


def retire_value(session: Session, admin: Person, value: Value) -> None:
    """No longer offered for new kudos; its history stays. Flushes."""
    if not value.active:
        return
    others = session.scalar(select(func.count()).where(Value.active, Value.id != value.id))
    if not others:
        raise ValueRejected(
            {"__all__": f"{value.name} is the only active value: add or bring back another first."}
        )
    value.active = False
    record(
        session,
        admin,
        "value.retired",
        target_type="value",
        target_id=value.id,
        details={"kudos": kudos_counts(session).get(value.id, 0)},
    )
    session.flush()


def restore_value(session: Session, admin: Person, value: Value) -> None:
    """Offered again, last in the order. Flushes."""
    if value.active:
        return
    value.active = True
    value.position = (session.scalar(select(func.max(Value.position)).where(Value.active)) or 0) + 1
    record(session, admin, "value.restored", target_type="value", target_id=value.id)
    session.flush()


def _check(session: Session, fields: ValueFields, value: Value | None) -> None:
    problems: dict[str, str] = {}
    if not fields.name:
        problems["name"] = "Give the value a name."
    elif len(fields.name) > NAME_MAX:
        problems["name"] = f"Keep it to {NAME_MAX} characters (now {len(fields.name)})."
    if not fields.slug:
        problems["slug"] = "Give it an address made of letters a–z, digits and dashes."
    elif len(fields.slug) > SLUG_MAX:
        problems["slug"] = f"Keep it to {SLUG_MAX} characters (now {len(fields.slug)})."
    elif not SLUG_PATTERN.match(fields.slug):
        problems["slug"] = (
            "Use lower-case letters a–z, digits and single dashes (e.g. clear-communicator)."
        )
    if len(fields.description) > DESCRIPTION_MAX:
        problems["description"] = (
            f"Keep it to {DESCRIPTION_MAX} characters (now {len(fields.description)})."
        )
    if len(fields.emoji) > EMOJI_MAX:
        problems["emoji"] = "One emoji (or a few characters) at most."
    for name in EDITABLE:
        if name not in problems and has_control_characters(getattr(fields, name)):
            problems[name] = "Remove the invisible control characters (line breaks, tabs)."
    own_id = value.id if value is not None else None
    if "name" not in problems:
        taken = session.scalar(
            select(Value).where(func.lower(Value.name) == fields.name.lower(), Value.id != own_id)
        )
        if taken is not None:
            problems["name"] = f"There is already a value called {taken.name}."
    if "slug" not in problems:
        taken = session.scalar(select(Value).where(Value.slug == fields.slug, Value.id != own_id))
        moved = former_slugs.target_of(session, KIND, fields.slug)
        if taken is not None:
            problems["slug"] = f"{taken.name} has this address already."
        elif moved is not None and moved != own_id:
            problems["slug"] = (
                "Old links to another value use this address (it was renamed); choose another."
            )
    if problems:
        raise ValueRejected(problems)
