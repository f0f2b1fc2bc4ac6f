"""Turning a validated set of OpenID Connect claims into a signed-in person.

A person is found by their (issuer, subject) identity, never by e-mail alone
once linked. A first sign-in needs an e-mail address the provider vouches
for (``email_verified``, or ``KUDOS_OIDC_TRUST_EMAIL``): an unverified
address never creates a person nor links to one, so nobody can claim an
address in advance and inherit the directory entry that arrives later.
With a verified address it links to the person with that e-mail, unless
that person already has another identity at the same issuer (the provider
gave the address to someone else: refused, audited); an identity from
another issuer may link (moving to a new provider). Otherwise a new person
is created (when just-in-time provisioning is on) or refused.
Claims then refresh the profile; the directory import stays the source of
truth for whatever the claims do not carry, and fields SCIM provisioning
owns are left to it.
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
from kudos.people import sources
from kudos.people.groups import named_group
from kudos.people.models import Department, Person, Team, plausible_address
from kudos.text import has_control_characters, one_line

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

    def __init__(
        self, reason: str, detail: str = "", *, audit: Mapping[str, Any] | None = None
    ) -> None:
        self.reason = reason
        self.detail = detail
        # What to write to the audit log once the sign-in is rolled back
        # (see ``record_refusal``); None for refusals not worth auditing.
        self.audit = audit
        super().__init__(f"{reason}: {detail}" if detail else reason)


def record_refusal(session: Session, refused: SignInRefused) -> None:
    """Audit a refused sign-in, after its transaction was rolled back."""
    if refused.audit is not None:
        record(session, None, f"auth.refused.{refused.reason}", **refused.audit)
        session.flush()


def sign_in_with_claims(
    session: Session, claims: Mapping[str, Any], settings: ClaimSettings, *, now: datetime
) -> tuple[Person, Identity]:
    """Find or link or create the person for these claims and refresh their
    profile. Flushes; the caller commits (or rolls back on refusal)."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise SignInRefused("invalid_token", "the ID token has no subject")
    # OpenID Connect: at most 255 ASCII characters. Not cleaned like other
    # claims: it is the key to the account, so a strange one is refused.
    if len(subject) > 255 or has_control_characters(subject):
        raise SignInRefused("invalid_token", "the ID token's subject is malformed")
    email = _email(claims, settings)
    verified = _email_is_verified(claims, settings)
    identity = session.scalar(
        select(Identity).where(Identity.issuer == settings.issuer, Identity.subject == subject)
    )
    if identity is None:
        person = _person_for_first_sign_in(session, claims, settings, email, subject)
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
    person.unverified_sign_in = not verified
    identity.last_login_at = now
    person.last_sign_in_at = now
    session.flush()
    return person, identity


def _email(claims: Mapping[str, Any], settings: ClaimSettings) -> str | None:
    value = claims.get(settings.claims["email"])
    return plausible_address(value) if isinstance(value, str) else None


def _email_is_verified(claims: Mapping[str, Any], settings: ClaimSettings) -> bool:
    if settings.trust_email:
        return True
    # Some providers send the boolean as a string; nothing else counts (1 is
    # not True here, whatever Python's ``==`` says).
    value = claims.get("email_verified")
    return value is True or value in ("true", "True")


def _person_for_first_sign_in(
    session: Session,
    claims: Mapping[str, Any],
    settings: ClaimSettings,
    email: str | None,
    subject: str,
) -> Person:
    if email is None:
        raise SignInRefused("no_email")
    # Checked before anything else, even whether a person has this address:
    # an unverified address must neither create a person (who would later be
    # merged with the directory entry for that address) nor find one.
    if not _email_is_verified(claims, settings):
        raise SignInRefused(
            "email_unverified",
            f"{email}: the provider did not set email_verified "
            "(set KUDOS_OIDC_TRUST_EMAIL=true only if it checks every address)",
        )
    existing = session.scalar(select(Person).where(Person.email == email))
    if existing is not None:
        _check_not_reassigned(session, existing, settings.issuer, subject)
        return existing
    if not settings.auto_create:
        raise SignInRefused("not_in_directory", email)
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


def _check_not_reassigned(session: Session, person: Person, issuer: str, subject: str) -> None:
    """A second account at the same provider with this person's address
    means the provider gave the address to someone else (a leaver's address
    reused, a renamed account): refused, not linked silently. An identity
    from another issuer is the same person moving to a new provider."""
    other = session.scalar(
        select(Identity.subject)
        .where(Identity.person_id == person.id, Identity.issuer == issuer)
        .order_by(Identity.id)
        .limit(1)
    )
    if other is not None:
        raise SignInRefused(
            "email_reassigned",
            f"{person.email} already belongs to another account at this provider",
            audit={
                "target_type": "person",
                "target_id": person.id,
                "details": {"issuer": issuer, "subject": subject, "linked_subject": other},
            },
        )


def _text(claims: Mapping[str, Any], settings: ClaimSettings, field: str) -> str | None:
    """A profile claim as stored text. Control characters (CR, LF, NUL, DEL,
    ...) become spaces rather than refusing the sign-in: the provider's data
    is not the person's fault, and a stray line break in a job title must not
    lock anyone out, but it must never reach a page, a header or a log."""
    name = settings.claims.get(field)
    value = claims.get(name) if name else None
    if not isinstance(value, str):
        return None
    value = " ".join(one_line(value).split())
    return value[:200] or None


def _refresh_profile(
    session: Session, person: Person, claims: Mapping[str, Any], settings: ClaimSettings
) -> None:
    """Set the fields the claims carry, but those SCIM owns (its provisioning
    speaks for the same provider, and is not fought over)."""
    before = {field: _field(person, field) for field in sources.FIELDS}
    ours = {field for field in sources.FIELDS if not sources.owned_by_scim(person, field)}
    if "name" in ours and (name := _text(claims, settings, "name")):
        person.name = name
    if "title" in ours and (title := _text(claims, settings, "title")):
        person.title = title
    if "department" in ours and (department := _text(claims, settings, "department")):
        person.department = named_group(session, Department, department)
    if "team" in ours and (team := _text(claims, settings, "team")):
        person.team = named_group(session, Team, team)
    manager_claim = claims.get(settings.claims["manager_email"])
    if (
        "manager" in ours
        and isinstance(manager_claim, str)
        and (manager_email := plausible_address(manager_claim))
    ):
        _set_manager(session, person, manager_email)
    changed = [field for field in sources.FIELDS if _field(person, field) != before[field]]
    if changed:
        sources.mark(person, changed, sources.SIGN_IN)
    if settings.admin_group:
        person.admin_from_group = settings.admin_group in _groups(claims, settings)


def _field(person: Person, field: str) -> object:
    """A profile field as compared for its source: groups by identity."""
    value = getattr(person, field)
    return value if isinstance(value, str | None) else id(value)


def _groups(claims: Mapping[str, Any], settings: ClaimSettings) -> list[str]:
    """Group names as the provider sent them (a list, or one space-separated
    string). Compared exactly, never cleaned: "kudos-admins\n" is not the
    admin group. Anything else (a number, an object) counts as no groups."""
    groups = claims.get(settings.claims["groups"]) or []
    if isinstance(groups, str):
        return groups.split()
    if isinstance(groups, list):
        return [group for group in groups if isinstance(group, str)]
    return []


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
