"""What the people package announces to the packages above it.

People sit below sign-in and API tokens (see STYLE.md, "Layering"), so
deactivating someone cannot call ``kudos.auth`` directly. It announces the
deactivation instead; handlers run in the same transaction, after the
people are written, and only flush. ``kudos.auth.tokens`` listens (it is
imported by every app; tests of the service import it too).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from kudos.audit.services import Actor


class DeactivationHandler(Protocol):
    def __call__(
        self,
        session: Session,
        person_ids: Sequence[int],
        *,
        actor: Actor,
        now: datetime,
    ) -> None: ...


_on_deactivation: list[DeactivationHandler] = []


def on_deactivation(handler: DeactivationHandler) -> DeactivationHandler:
    """Register ``handler`` (once, however often its module is imported)."""
    if handler not in _on_deactivation:
        _on_deactivation.append(handler)
    return handler


def people_deactivated(
    session: Session, person_ids: Sequence[int], *, actor: Actor, now: datetime
) -> None:
    for handler in list(_on_deactivation):
        handler(session, person_ids, actor=actor, now=now)
