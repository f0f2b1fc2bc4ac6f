"""People, teams and departments: the company directory."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    exists,
    false,
    or_,
    text,
    true,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from kudos.db import Base, UTCDateTime, utcnow
from kudos.text import one_line

if TYPE_CHECKING:
    from kudos.preferences.models import RecognitionPreference


def first_name_of(name: str, email: str) -> str:
    """What a greeting calls someone: the first word of their name, or
    their e-mail address when the name has none."""
    return name.split()[0] if name.split() else email


def initials_of(name: str) -> str:
    """The letters on an avatar: Ada Lovelace is AL, Cher is CH."""
    parts = [part for part in name.split() if part[:1].isalpha()]
    if not parts:
        return ""
    if len(parts) == 1:
        return parts[0][:2].upper()
    return (parts[0][0] + parts[-1][0]).upper()


def new_scim_id() -> str:
    """A SCIM id: random, so it says nothing about how many people there are
    and never equals an identifier the provider chose (an employee number)."""
    return str(uuid.uuid4())


class NamedGroup:
    """Columns shared by teams and departments: a unique name and URL slug."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    slug: Mapped[str] = mapped_column(String(140), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.slug}>"


class FormerSlug(Base):
    """An address that moved: a value, team or department renamed (or a team
    or department merged into another) keeps its old slug here, so old links
    redirect and a directory import naming the old team finds the new one."""

    __tablename__ = "former_slug"
    __table_args__ = (
        UniqueConstraint("kind", "slug"),
        CheckConstraint("kind IN ('value', 'team', 'department')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    slug: Mapped[str] = mapped_column(String(140))
    target_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Department(NamedGroup, Base):
    __tablename__ = "department"


class Team(NamedGroup, Base):
    __tablename__ = "team"

    # Its id as a SCIM group (``kudos.scim``).
    scim_id: Mapped[str | None] = mapped_column(String(36), unique=True, default=new_scim_id)


class Person(UserMixin, Base):
    """An employee. E-mail is stored lower-cased, which makes it unique
    case-insensitively on every engine with a plain unique constraint."""

    __tablename__ = "person"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        CheckConstraint("manager_id IS NULL OR manager_id <> id", name="not_own_manager"),
        # The few people who left: leaderboard ranks and summary aggregates
        # leave them out without reading the whole directory.
        Index(
            "ix_person_inactive",
            "id",
            postgresql_where=text("NOT active"),
            sqlite_where=text("NOT active"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(200))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="SET NULL"), index=True
    )
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("team.id", ondelete="SET NULL"), index=True
    )
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), index=True
    )
    # Admin rights come from two places: granted in Kudos (``kudos admins add``)
    # and from the identity provider's admin group, refreshed at each sign-in.
    admin_granted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    admin_from_group: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # ``active`` rather than ``is_active``: Flask-Login's UserMixin owns that name.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The last sign-in came with an e-mail address the identity provider had
    # not confirmed (written by ``auth.services``): the directory import will
    # not take this person over, since the address may not be theirs.
    unverified_sign_in: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Bumped to end every open session of this person (sign out everywhere,
    # deactivation); the session cookie carries the version it was made with.
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Set when the person chose "later" on onboarding; the reminder stays.
    onboarding_postponed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Where each profile field last came from, {"team": "import", ...}: see
    # ``kudos.people.sources``. Missing fields were never set by anyone.
    profile_sources: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, server_default="{}")
    # Their id as a SCIM user (``kudos.scim``); none once the provisioning
    # client deleted them (deactivated, gone from SCIM, their kudos kept).
    scim_id: Mapped[str | None] = mapped_column(String(36), unique=True, default=new_scim_id)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    department: Mapped[Department | None] = relationship(lazy="joined", innerjoin=False)
    team: Mapped[Team | None] = relationship(lazy="joined", innerjoin=False)
    manager: Mapped[Person | None] = relationship(remote_side=[id], lazy="select")
    preference: Mapped[RecognitionPreference | None] = relationship(
        back_populates="person", lazy="select"
    )

    @hybrid_property
    def is_admin(self) -> bool:
        return self.admin_granted or self.admin_from_group

    @is_admin.inplace.expression
    @classmethod
    def _is_admin_expression(cls) -> ColumnElement[bool]:
        return or_(cls.admin_granted, cls.admin_from_group)

    @property
    def is_active(self) -> bool:  # Flask-Login: inactive people cannot sign in
        return self.active

    def get_id(self) -> str:
        # The session version makes old cookies invalid after "sign out everywhere".
        return f"{self.id}:{self.session_version}"

    @property
    def initials(self) -> str:
        return initials_of(self.name) or self.email[:1].upper()

    @property
    def first_name(self) -> str:
        return first_name_of(self.name, self.email)

    def __repr__(self) -> str:
        return f"<Person {self.email}>"


_report = Person.__table__.alias("report")
# Whether anybody active reports to this person (the "Team summary" link).
# Deferred: loaded only where asked for, such as with the signed-in person
# (``auth.sessions.load_person``), so no page pays an extra query for it.
Person.has_reports = column_property(
    exists()
    .where(_report.c.manager_id == Person.__table__.c.id, _report.c.active)
    .correlate_except(_report),
    deferred=True,
)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def plausible_address(value: str) -> str | None:
    """An e-mail address an identity provider sent, normalised, or None. It
    is a key (it finds people), so one with spaces or control characters
    inside is not cleaned into another address but refused. Internal
    domains (``corp.local``) are fine: the provider vouches for them."""
    address = normalize_email(value)
    if address.count("@") != 1 or " " in address or len(address) > 320:
        return None
    if one_line(address) != address:  # control characters, line breaks
        return None
    local, domain = address.split("@")
    return address if local and domain else None
