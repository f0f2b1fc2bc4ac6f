"""Who may see which kudos. Every feed, page, count, export and API call
filters through ``visible_to`` so the rule lives in one place.

- public:  everyone signed in
- team:    sender, recipients, the recipients' teams and their managers
- private: sender, recipients and the recipients' managers
Hidden (moderated) kudos are never visible in feeds.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, exists, false, or_, select
from sqlalchemy.orm import aliased

from kudos.people.models import Person
from kudos.recognition.models import Kudos, Recognition

# Made once: an alias sets up its columns when it is made, which cost more
# than the rest of a feed page's statement together.
_RECIPIENT = aliased(Person, name="recipient")


class Viewer(Protocol):
    """Whom a clause is for: a person, or bound parameters standing for
    one (a statement built once for every viewer of a kind, see
    ``feed.card_refs``)."""

    id: Any  # noqa: ANN401 - an id or a bound parameter
    team_id: Any  # noqa: ANN401 - an id, None, or a bound parameter


def visible_to(viewer: Viewer, *, include_hidden: bool = False) -> ColumnElement[bool]:
    """A WHERE clause over ``Kudos`` for what ``viewer`` may see.

    ``include_hidden`` is for moderators: hidden kudos they could otherwise see.
    """
    recipient = _RECIPIENT
    recipient_rule = or_(
        recipient.id == viewer.id,
        recipient.manager_id == viewer.id,
        and_(Kudos.visibility == "team", recipient.team_id == viewer.team_id)
        if viewer.team_id is not None
        else false(),
    )
    via_recipient = exists(
        select(Recognition.kudos_id)
        .join(recipient, recipient.id == Recognition.recipient_id)
        .where(Recognition.kudos_id == Kudos.id, recipient_rule)
    )
    audience = or_(Kudos.visibility == "public", Kudos.sender_id == viewer.id, via_recipient)
    return audience if include_hidden else and_(Kudos.hidden_at.is_(None), audience)


def can_see(viewer: Person, kudos: Kudos, *, include_hidden: bool = False) -> bool:
    """The same rule for one loaded kudos (used for single pages and e-mails)."""
    if kudos.hidden_at is not None and not include_hidden:
        return False
    if kudos.visibility == "public" or kudos.sender_id == viewer.id:
        return True
    for person in kudos.recipients:
        if person.id == viewer.id or person.manager_id == viewer.id:
            return True
        if kudos.visibility == "team" and viewer.team_id and person.team_id == viewer.team_id:
            return True
    return False
