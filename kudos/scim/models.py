"""What SCIM provisioning adds to the directory: the provisioning client's
tokens, and what the identity provider said about the people and teams it
manages beyond the directory's own columns.

Every person and team has a SCIM id (``Person.scim_id``, ``Team.scim_id``),
so a provider connecting to a directory that already has people finds them
(by ``userName``) rather than creating them again. A ``ScimUser`` or
``ScimGroup`` row exists once the provider has written that person or team:
it is *provisioned*, and SCIM owns the fields it sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kudos.db import Base, UTCDateTime, utcnow
from kudos.people.models import Person, Team

# Long enough for any identifier the providers send (Okta's and Entra's are
# far shorter); the same limit as an e-mail address.
IDENTIFIER_LENGTH = 320


class ScimToken(Base):
    """The provisioning client's bearer token: only its SHA-256 is stored,
    like a personal API token's, but it belongs to no person and opens
    nothing but ``/scim/v2``."""

    __tablename__ = "scim_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ScimUser(Base):
    """A provisioned person: their ``userName`` (unique, compared without
    case through ``user_name_key``), the provider's ``externalId``, a
    manager reference not resolved yet, and the attributes kept only to
    give back what the provider sent (``name``'s parts, ``emails``,
    ``displayName``)."""

    __tablename__ = "scim_user"
    # The few waiting for their manager to arrive, found as each person
    # arrives: an index of those only (a full one is all NULLs, and SQLite's
    # planner, after ANALYZE, then reads the whole table instead).
    __table_args__ = (
        Index(
            "ix_scim_user_manager_ref",
            "manager_ref",
            postgresql_where=text("manager_ref IS NOT NULL"),
            sqlite_where=text("manager_ref IS NOT NULL"),
        ),
    )

    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    user_name: Mapped[str] = mapped_column(String(IDENTIFIER_LENGTH))
    user_name_key: Mapped[str] = mapped_column(String(IDENTIFIER_LENGTH), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(IDENTIFIER_LENGTH), index=True)
    # The manager's ``value`` as sent, while no person has it as SCIM id or
    # externalId: set as the manager when that person arrives.
    manager_ref: Mapped[str | None] = mapped_column(String(IDENTIFIER_LENGTH))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person] = relationship(lazy="joined", innerjoin=True)


class ScimGroup(Base):
    """A provisioned team (a SCIM group): its membership is the provider's."""

    __tablename__ = "scim_group"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("team.id", ondelete="CASCADE"), primary_key=True
    )
    external_id: Mapped[str | None] = mapped_column(String(IDENTIFIER_LENGTH), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    team: Mapped[Team] = relationship(lazy="joined", innerjoin=True)
