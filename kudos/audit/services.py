"""Writing to the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kudos.audit.models import AuditEntry
from kudos.db import utcnow
from kudos.people.models import Person

# Who did it: a person, the name of a non-person actor ("provisioning", the
# SCIM client), or None for the system and the command line.
Actor = Person | str | None
PROVISIONING = "provisioning"


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    target_type: str | None = None,
    target_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        created_at=utcnow(),
        actor_id=actor.id if isinstance(actor, Person) else None,
        actor_label=actor if isinstance(actor, str) else None,
        action=action,
        target_type=target_type,
        target_id=target_id,
        details=details or {},
    )
    session.add(entry)
    return entry
