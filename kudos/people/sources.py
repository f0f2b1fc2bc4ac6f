"""Where a person's profile fields came from, and what will set them next.

Four sources write the same fields: the directory import (CSV, from the
command line or the admin console), the identity provider's claims at each
sign-in, an admin's manual change, and SCIM provisioning. Each write
records its source per field in ``Person.profile_sources``, so the admin
console can say where a value came from and warn that the next import or
sign-in will overwrite a manual change.

Between the first three, the later write wins. A field SCIM has set is
SCIM's (``owned_by_scim``): the import, sign-in claims and the admin
console leave it alone, so the identity provider's directory is not
fought over. SCIM also owns ``active`` for the people it manages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from kudos.people.models import Person

IMPORT, SIGN_IN, ADMIN, SCIM = "import", "sso", "admin", "scim"
# Set by SCIM, which no longer owns it (``kudos scim release``).
SCIM_RELEASED = "scim_released"
SOURCE_NAMES = {
    IMPORT: "directory import",
    SIGN_IN: "sign-in (identity provider)",
    ADMIN: "changed by an admin",
    SCIM: "SCIM provisioning (identity provider)",
    SCIM_RELEASED: "SCIM provisioning, since handed back",
}
# The profile fields the sources share (the CSV's columns but the e-mail).
FIELDS = ("name", "title", "department", "team", "manager")
# Which sign-in claim setting carries each field (``KUDOS_OIDC_CLAIM_<FIELD>``).
CLAIM_OF = {
    "name": "name",
    "title": "title",
    "department": "department",
    "team": "team",
    "manager": "manager_email",
}


def recorded(person: Person, fields: Iterable[str], source: str) -> dict[str, str]:
    """``person``'s sources with ``fields`` now set by ``source`` (a new
    dict: JSON columns notice a new value, not a change in place)."""
    return {**(person.profile_sources or {}), **dict.fromkeys(fields, source)}


def mark(person: Person, fields: Iterable[str], source: str) -> None:
    person.profile_sources = recorded(person, fields, source)


def source_of(person: Person, field: str) -> str | None:
    return (person.profile_sources or {}).get(field)


def owned_by_scim(person: Person, field: str) -> bool:
    """Whether SCIM set ``field`` (or ``"active"``) last, so that no other
    source may change it."""
    return source_of(person, field) == SCIM


def overwritten_by(
    field: str, claims: Mapping[str, str], sso_on: bool, *, person: Person | None = None
) -> list[str]:
    """What will set ``field`` (of ``person``, when given) next, in words,
    for the admin console."""
    if person is not None and owned_by_scim(person, field):
        return [
            "only the identity provider, through SCIM provisioning (the directory import, "
            "sign-in and this console leave it alone)"
        ]
    next_writers = ["the next directory import that lists this person"]
    if sso_on and claims.get(CLAIM_OF[field]):
        next_writers.append(
            f"their next sign-in, when the provider sends “{claims[CLAIM_OF[field]]}”"
        )
    return next_writers
