"""Turning a validated set of OpenID Connect claims into a signed-in person.

A person is found by their (issuer, subject) identity, never by e-mail alone
once linked. A first sign-in links to the directory person with the same
e-mail only when the provider vouches for that e-mail; otherwise a new
person is created (when just-in-time provisioning is on) or refused.
Claims then refresh the profile; the directory import stays the source of
truth for whatever the claims do not carry.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kudos.audit.services import record
from kudos.auth.models import Identity
from kudos.people.models import Department, Person, Team, normalize_email
from kudos.text import slugify

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClaimSettings:
    issuer: str
    auto_create: bool
    trust_email: bool
    admin_group: str | None
    claims: Mapping[str, str]  # profile field -> claim name

    @classmethod
    def from_config(cls, config: Mapping[str, Any], issuer: str) -> ClaimSettings:
        return cls(
            issuer=issuer,
            auto_create=config["OIDC_AUTO_CREATE"],
            trust_email=config["OIDC_TRUST_EMAIL"],
            admin_group=config.get("OIDC_ADMIN_GROUP"),
            claims=config["OIDC_CLAIMS"],
        )


class SignInRefused(Exception):
    """The provider vouched for someone Kudos will not let in. ``reason`` names
    the page to show (see ``auth/problems.py``)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


def sign_in_with_claims(
    session: Session, claims: Mapping[str, Any], settings: ClaimSettings, *, now: datetime
) -> tuple[Person, Identity]:
    """Find or link or create the person for these claims and refresh their
    profile. Flushes; the caller commits (or rolls back on refusal)."""
    subject = str(claims.get("sub") or "")
    if not subject:
        raise SignInRefused("invalid_token", "the ID token has no subject")
    email = _email(claims, settings)
    identity = session.scalar(
        select(Identity).where(Identity.issuer == settings.issuer, Identity.subject == subject)
    )
    if identity is None:
        person = _person_for_first_sign_in(session, claims, settings, email)
        identity = Identity(person=person, issuer=settings.issuer, subject=subject)
        session.add(identity)
        record(
            session,
            person,
            "auth.identity_linked",
            target_type="person",
            target_id=person.id,
            details={"issuer": settings.issuer, "subject": subject},
        )
    person = identity.person
    if not person.active:
        raise SignInRefused("deactivated", person.email)

    _refresh_profile(session, person, claims, settings)
    identity.email = email
    identity.last_login_at = now
    session.flush()
    return person, identity


def _email(claims: Mapping[str, Any], settings: ClaimSettings) -> str | None:
    value = claims.get(settings.claims["email"])
    if not isinstance(value, str) or "@" not in value:
        return None
    return normalize_email(value)


def _email_is_verified(claims: Mapping[str, Any], settings: ClaimSettings) -> bool:
    if settings.trust_email:
        return True
    # Some providers send the boolean as a string.
    return claims.get("email_verified") in (True, "true", "True")


def _person_for_first_sign_in(
    session: Session, claims: Mapping[str, Any], settings: ClaimSettings, email: str | None
) -> Person:
    existing = session.scalar(select(Person).where(Person.email == email)) if email else None
    if existing is not None:
        if not _email_is_verified(claims, settings):
            raise SignInRefused("email_unverified", email or "")
        return existing
    if not settings.auto_create:
        raise SignInRefused("not_in_directory", email or "")
    if email is None:
        raise SignInRefused("no_email")
    name = _text(claims, settings, "name") or email.split("@")[0]
    person = Person(email=email, name=name)
    session.add(person)
    session.flush()
    record(
        session,
        None,
        "person.created_at_sign_in",
        target_type="person",
        target_id=person.id,
        details={"email": email},
    )
    return person


def _text(claims: Mapping[str, Any], settings: ClaimSettings, field: str) -> str | None:
    name = settings.claims.get(field)
    value = claims.get(name) if name else None
    if isinstance(value, str) and value.strip():
        return value.strip()[:200]
    return None


def _refresh_profile(
    session: Session, person: Person, claims: Mapping[str, Any], settings: ClaimSettings
) -> None:
    if name := _text(claims, settings, "name"):
        person.name = name
    if title := _text(claims, settings, "title"):
        person.title = title
    if department := _text(claims, settings, "department"):
        person.department = _named_group(session, Department, department)
    if team := _text(claims, settings, "team"):
        person.team = _named_group(session, Team, team)
    if manager_email := _text(claims, settings, "manager_email"):
        _set_manager(session, person, normalize_email(manager_email))
    if settings.admin_group:
        groups = claims.get(settings.claims["groups"]) or []
        if isinstance(groups, str):
            groups = groups.split()
        person.admin_from_group = settings.admin_group in groups


def _named_group(session: Session, model: type[Department] | type[Team], name: str):  # noqa: ANN202
    slug = slugify(name)
    if not slug:
        return None
    group = session.scalar(select(model).where(model.slug == slug))
    if group is None:
        group = model(name=name[:120], slug=slug)
        session.add(group)
    return group


def _set_manager(session: Session, person: Person, manager_email: str) -> None:
    manager = session.scalar(select(Person).where(Person.email == manager_email))
    if manager is None:
        log.info(
            "sign-in: manager %s of person %s is not in the directory", manager_email, person.id
        )
        return
    # Never create a reporting cycle: walk up from the new manager.
    current, steps = manager, 0
    while current is not None and steps < 100:
        if current.id == person.id:
            log.warning("sign-in: manager claim for person %s would create a cycle", person.id)
            return
        current, steps = current.manager, steps + 1
    person.manager = manager
