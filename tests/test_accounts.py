"""Who may become whom: sign-in claims against the directory, in every order
an attacker would try (the service; ``test_sso.py`` does it through the
real provider), and claims cleaned of control characters."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

import config
from kudos.audit.models import AuditEntry
from kudos.auth.models import Identity
from kudos.auth.services import (
    ClaimSettings,
    SignInRefused,
    record_refusal,
    sign_in_with_claims,
)
from kudos.people.directory import DirectoryImportError, import_directory
from kudos.people.models import Person

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ISSUER = "https://login.acme.example.com"
NEW_ISSUER = "https://id.acme.example.com"
VP = "vera@acme.example.com"
HEADER = "email,name,title,department,team,manager_email\n"
# The real VP arrives by the directory import, with reports.
DIRECTORY = HEADER + (
    f"{VP},Vera Price,VP Sales,Sales,Sales Leadership,\n"
    f"rep@acme.example.com,Raj Patel,Account Executive,Sales,Field Sales,{VP}\n"
)


def settings(**changes: object) -> ClaimSettings:
    values = {
        "issuer": ISSUER,
        "auto_create": True,
        "trust_email": False,
        "admin_group": "kudos-admins",
        "claims": config.CLAIM_DEFAULTS,
        **changes,
    }
    return ClaimSettings(**values)


def claims(subject: str, **changes: object) -> dict[str, object]:
    values = {"sub": subject, "email": VP, "email_verified": True, "name": "Vera Price"}
    values.update(changes)
    return {name: value for name, value in values.items() if value is not None}


def sign_in(session, subject: str, *, using: ClaimSettings | None = None, **changes: object):
    """Sign in as the callback does: commit, or roll back and audit the refusal."""
    try:
        person, _ = sign_in_with_claims(
            session, claims(subject, **changes), using or settings(), now=NOW
        )
    except SignInRefused as refused:
        session.rollback()
        record_refusal(session, refused)
        session.commit()
        return refused.reason
    session.commit()
    return person


def directory_import(session, text: str = DIRECTORY) -> None:
    import_directory(session, text.encode())
    session.commit()


def people_with(session, email: str) -> list[Person]:
    session.expire_all()
    return list(session.scalars(select(Person).where(Person.email == email)))


def identities(session) -> list[tuple[str, str, str]]:
    rows = session.execute(
        select(Identity.issuer, Identity.subject, Person.email).join(Person).order_by(Identity.id)
    )
    return [tuple(row) for row in rows]


# An unverified address never makes nor finds a person ------------------------


@pytest.mark.parametrize("verified", [None, False, "false", "yes", 1])
def test_an_unverified_address_creates_nobody(session, verified):
    assert sign_in(session, "attacker", email_verified=verified) == "email_unverified"

    assert people_with(session, VP) == []
    assert identities(session) == []


def test_the_operator_may_trust_every_address_the_provider_sends(session):
    person = sign_in(session, "vera", using=settings(trust_email=True), email_verified=None)

    assert person.email == VP
    assert not person.unverified_sign_in
    assert identities(session) == [(ISSUER, "vera", VP)]


def test_sign_in_first_then_import_then_the_real_person(session):
    assert sign_in(session, "attacker", email_verified=False) == "email_unverified"
    directory_import(session)
    (vp,) = people_with(session, VP)
    assert sign_in(session, "attacker", email_verified=False) == "email_unverified"

    assert sign_in(session, "vera") == vp

    assert identities(session) == [(ISSUER, "vera", VP)]
    assert people_with(session, "rep@acme.example.com")[0].manager_id == vp.id


def test_import_first_then_an_unverified_sign_in(session):
    directory_import(session)

    assert sign_in(session, "attacker", email_verified=False) == "email_unverified"

    assert identities(session) == []
    assert sign_in(session, "vera").email == VP


def test_a_second_account_at_the_same_provider_cannot_take_an_address(session):
    directory_import(session)
    vp = sign_in(session, "vera")

    assert sign_in(session, "someone-else") == "email_reassigned"

    assert identities(session) == [(ISSUER, "vera", VP)]
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "auth.refused.email_reassigned")
    ).one()
    assert (entry.target_type, entry.target_id) == ("person", vp.id)
    assert entry.details == {"issuer": ISSUER, "subject": "someone-else", "linked_subject": "vera"}
    # The first account still signs in.
    assert sign_in(session, "vera") == vp


def test_an_account_at_another_provider_links_when_it_confirms_the_address(session):
    vp = sign_in(session, "vera")

    moved = sign_in(session, "vera-at-new-idp", using=settings(issuer=NEW_ISSUER))

    assert moved == vp
    assert identities(session) == [(ISSUER, "vera", VP), (NEW_ISSUER, "vera-at-new-idp", VP)]
    # ... but not when it does not.
    assert (
        sign_in(session, "other", using=settings(issuer="https://x.example"), email_verified=False)
        == "email_unverified"
    )


# Defence in depth: the import does not take over an unconfirmed account -------


def test_the_import_refuses_a_person_whose_last_sign_in_was_unconfirmed(session, make):
    # An account made by an older version from an unverified address, whose
    # owner signs in again with the same unconfirmed address.
    legacy = make.person(email=VP, name="Not Vera")
    session.add(Identity(person=legacy, issuer=ISSUER, subject="attacker"))
    session.commit()
    assert sign_in(session, "attacker", email_verified=False) == legacy

    with pytest.raises(DirectoryImportError) as caught:
        import_directory(session, DIRECTORY.encode())
    session.rollback()

    assert [str(problem) for problem in caught.value.problems] == [
        f"line 2: {VP} belongs to an account whose sign-in service has not confirmed that "
        "address, so it is not merged with the directory; have IT confirm the address and the "
        "person sign in again, or leave the row out"
    ]
    assert people_with(session, VP)[0].title is None
    assert people_with(session, "rep@acme.example.com") == []


def test_a_confirmed_sign_in_clears_the_mark(session, make):
    person = make.person(email=VP)
    session.add(Identity(person=person, issuer=ISSUER, subject="vera"))
    session.commit()
    sign_in(session, "vera", email_verified=False)
    assert people_with(session, VP)[0].unverified_sign_in

    sign_in(session, "vera")
    directory_import(session)

    assert not people_with(session, VP)[0].unverified_sign_in
    assert people_with(session, VP)[0].title == "VP Sales"


# Claims are data -------------------------------------------------------------


def test_control_characters_in_profile_claims_become_spaces(session, make):
    boss = make.person(email="boss@acme.example.com")

    person = sign_in(
        session,
        "vera",
        name="Vera\r\nBcc: all@acme.example.com\x00",
        title="VP\x7fSales\t",
        department="Sa\x1bles",
        team="Lead\nership",
        manager_email="boss@acme.example.com",
    )

    session.refresh(person)
    assert person.name == "Vera Bcc: all@acme.example.com"
    assert person.title == "VP Sales"
    assert (person.department.name, person.team.name) == ("Sa les", "Lead ership")
    assert person.manager_id == boss.id


@pytest.mark.parametrize(
    "manager", ["boss@acme.example.com\r\nBcc: x@evil.example", "boss\x00@acme.example.com"]
)
def test_a_manager_address_with_control_characters_is_ignored(session, make, manager):
    make.person(email="boss@acme.example.com")

    person = sign_in(session, "vera", manager_email=manager)

    assert person.manager_id is None


@pytest.mark.parametrize(
    "email", [f"{VP}\r\nBcc: x@evil.example", "vera\x00@acme.example.com", "ve ra@acme.example.com"]
)
def test_an_address_with_control_characters_is_no_address(session, email):
    assert sign_in(session, "vera", email=email) == "no_email"

    assert session.scalar(select(func.count()).select_from(Person)) == 0


@pytest.mark.parametrize("subject", ["vera\nroot", "vera\x00", "x" * 256])
def test_a_malformed_subject_is_refused(session, subject):
    assert sign_in(session, subject) == "invalid_token"

    assert identities(session) == []


@pytest.mark.parametrize(
    ("groups", "admin"),
    [
        (["staff", "kudos-admins"], True),
        ("staff kudos-admins", True),
        (["kudos-admins\x00"], False),
        ([42, {"name": "kudos-admins"}], False),
        (42, False),
        ({"kudos-admins": True}, False),
    ],
)
def test_group_claims_of_any_shape_never_break_sign_in(session, groups, admin):
    person = sign_in(session, "vera", groups=groups)

    assert person.is_admin is admin


# The manager claim never makes a reporting cycle ---------------------------------


def test_a_manager_claim_that_would_make_a_cycle_is_ignored_and_logged(session, make, caplog):
    vera = make.person(email=VP)
    # 99 people report, one under the other, to Vera; the claim names the last.
    chain = [vera]
    for _ in range(99):
        chain.append(make.person(manager=chain[-1]))
    caplog.set_level(logging.INFO, logger="kudos.auth.services")

    person = sign_in(session, "vera", manager_email=chain[-1].email)

    session.refresh(person)
    assert person.id == vera.id
    assert person.manager_id is None
    assert f"manager claim for person {vera.id} would create a cycle" in caplog.text


def test_a_manager_from_outside_the_directory_is_logged_and_left_out(session, caplog):
    caplog.set_level(logging.INFO, logger="kudos.auth.services")

    person = sign_in(session, "vera", manager_email="nobody@acme.example.com")

    assert person.manager_id is None
    assert (
        f"manager nobody@acme.example.com of person {person.id} is not in the directory"
        in caplog.text
    )


# What the operator reads, and profile claims kept to the columns' sizes -----------


def refusal(session, subject: str, *, using: ClaimSettings | None = None, **changes: object):
    with pytest.raises(SignInRefused) as refused:
        sign_in_with_claims(session, claims(subject, **changes), using or settings(), now=NOW)
    session.rollback()
    return refused.value.reason, refused.value.detail


def test_each_refusal_tells_the_operator_why_in_the_log(session, make):
    """The detail goes to the log line of the refusal (``problem_page``)."""
    assert refusal(session, "vera", email=None) == ("no_email", "")
    assert refusal(session, "vera", email_verified=False) == (
        "email_unverified",
        f"{VP}: the provider did not set email_verified "
        "(set KUDOS_OIDC_TRUST_EMAIL=true only if it checks every address)",
    )
    assert refusal(session, "vera", using=settings(auto_create=False)) == (
        "not_in_directory",
        VP,
    )
    make.person(email=VP)
    session.commit()
    assert sign_in(session, "vera").email == VP
    assert refusal(session, "someone-else") == (
        "email_reassigned",
        f"{VP} already belongs to another account at this provider",
    )


def test_the_settings_come_from_the_configuration():
    configured = {
        "OIDC_AUTO_CREATE": False,
        "OIDC_TRUST_EMAIL": True,
        "OIDC_ADMIN_GROUP": "admins",
        "OIDC_CLAIMS": {**config.CLAIM_DEFAULTS, "name": "display_name"},
    }
    assert ClaimSettings.from_config(configured, ISSUER) == ClaimSettings(
        issuer=ISSUER,
        auto_create=False,
        trust_email=True,
        admin_group="admins",
        claims={**config.CLAIM_DEFAULTS, "name": "display_name"},
    )


def test_without_a_name_claim_a_new_person_is_named_after_their_address(session):
    person = sign_in(session, "vera", name=None)

    assert person.name == "vera"


def test_colleagues_at_the_same_provider_each_link_their_own_account(session):
    directory_import(session)
    vera = sign_in(session, "vera")

    raj = sign_in(session, "raj", email="rep@acme.example.com", name="Raj Patel")

    assert raj.email == "rep@acme.example.com" != vera.email
    assert identities(session) == [
        (ISSUER, "vera", VP),
        (ISSUER, "raj", "rep@acme.example.com"),
    ]


def test_profile_claims_are_cut_to_what_the_directory_holds(session):
    person = sign_in(session, "vera", title="T" * 250, department="D" * 150, team="E" * 150)

    session.refresh(person)
    assert person.title == "T" * 200
    assert (person.department.name, person.team.name) == ("D" * 120, "E" * 120)


@pytest.mark.parametrize("subject", [None, "", 42])
def test_an_id_token_without_a_subject_is_refused(session, subject):
    assert refusal(session, "vera", sub=subject) == ("invalid_token", "the ID token has no subject")
    assert session.scalar(select(func.count()).select_from(Person)) == 0


def test_a_subject_of_exactly_255_characters_is_accepted(session):
    assert sign_in(session, "x" * 255).email == VP
    assert refusal(session, "y" * 256) == ("invalid_token", "the ID token's subject is malformed")


@pytest.mark.parametrize(
    "email", [42, ["vera@acme.example.com"], "@acme.example.com", "vera@", "vera"]
)
def test_a_claim_that_is_not_an_address_is_no_address(session, email):
    assert sign_in(session, "vera", email=email) == "no_email"


def test_an_address_may_be_320_characters_and_no_more(session):
    domain = "@acme.example.com"
    longest = "v" * (320 - len(domain)) + domain

    assert sign_in(session, "vera", email=longest).email == longest
    assert sign_in(session, "raj", email="r" + longest) == "no_email"


@pytest.mark.parametrize("verified", ["true", "True"])
def test_email_verified_may_come_as_a_string(session, verified):
    assert sign_in(session, "vera", email_verified=verified).email == VP


def test_a_person_created_at_sign_in_is_audited(session):
    person = sign_in(session, "vera")

    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "person.created_at_sign_in")
    ).one()
    assert (entry.actor_id, entry.target_type, entry.target_id) == (None, "person", person.id)
    assert entry.details == {"email": VP}
    linked = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "auth.identity_linked")
    ).one()
    assert (linked.actor_id, linked.target_type, linked.target_id) == (
        person.id,
        "person",
        person.id,
    )
    assert linked.details == {"issuer": ISSUER, "subject": "vera"}


def test_the_same_subject_at_another_provider_is_another_account(session):
    directory_import(session)
    vera = sign_in(session, "shared-subject")

    raj = sign_in(
        session,
        "shared-subject",
        using=settings(issuer=NEW_ISSUER),
        email="rep@acme.example.com",
        name="Raj Patel",
    )

    assert (vera.email, raj.email) == (VP, "rep@acme.example.com")


def test_a_deactivated_person_is_refused_with_their_address_in_the_log(session, make):
    make.person(email=VP, active=False)
    session.commit()

    assert refusal(session, "vera") == ("deactivated", VP)
