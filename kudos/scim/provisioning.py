"""What the identity provider's SCIM client does to the directory.

The storage (``storage.py``) turns each request into one of these calls;
they write people and teams through the same rules as every other source:
deactivation through ``kudos.people.services`` (sessions end, API tokens
revoked), reporting lines through the one cycle check, teams and
departments found by slug. Every change is audited with the actor
"provisioning", and every field SCIM writes is recorded as SCIM's
(``kudos.people.sources``), so the import, sign-in claims and the admin
console leave it alone.

A field is *sent* when the request gives it a value; a PATCH that removes
it, or a PUT that leaves out a field SCIM already owns, clears it. A PUT
that leaves out a field SCIM never set leaves it to the other sources.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scim2_models import InvalidValueException, UniquenessException
from sqlalchemy import literal, select, update
from sqlalchemy.orm import Session

from kudos.audit.services import PROVISIONING, record
from kudos.people import sources
from kudos.people.groups import NAME_MAX, GroupChangeRefused, named_group, rename_group
from kudos.people.models import Department, Person, Team, new_scim_id, plausible_address
from kudos.people.services import deactivate_people, reactivate_people
from kudos.scim.models import IDENTIFIER_LENGTH, ScimGroup, ScimUser
from kudos.text import has_control_characters, one_line, slugify

TEXT_MAX = 200  # a person's name and title


@dataclass(frozen=True)
class UserFields:
    """A User resource in Kudos' terms, checked."""

    user_name: str
    email: str
    external_id: str | None = None
    display_name: str | None = None
    name_parts: dict[str, Any] | None = None
    emails: list[dict[str, Any]] | None = None
    title: str | None = None
    department: str | None = None
    manager: str | None = None
    active: bool | None = None

    @property
    def shown_name(self) -> str | None:
        """The name Kudos shows: displayName, else the name's parts."""
        if self.display_name:
            return self.display_name
        parts = self.name_parts or {}
        if parts.get("formatted"):
            return parts["formatted"]
        joined = " ".join(
            part for part in (parts.get("givenName"), parts.get("familyName")) if part
        )
        return joined or None

    def value(self, field_name: str) -> Any:  # noqa: ANN401
        """A profile field's new value (``sources.FIELDS`` and ``active``)."""
        return {
            "name": self.shown_name,
            "title": self.title,
            "department": self.department,
            "manager": self.manager,
            "active": self.active,
        }[field_name]


@dataclass
class Changes:
    """What a write changed, for the audit entry: field -> [before, after]."""

    fields: dict[str, list[Any]] = field(default_factory=dict)

    def note(self, name: str, before: Any, after: Any) -> None:  # noqa: ANN401
        if before != after:
            self.fields[name] = [before, after]


def clean_text(value: str | None, limit: int, attribute: str) -> str | None:
    """Text as stored: line breaks and control characters become spaces (a
    stray one in a title must not stop provisioning), runs of spaces one."""
    if value is None:
        return None
    text = " ".join(one_line(value).split())
    if len(text) > limit:
        raise InvalidValueException(detail=f"{attribute} is longer than {limit} characters")
    return text or None


def identifier(value: str | None, attribute: str) -> str | None:
    """A key (userName, externalId, a manager's id): kept exactly, so one
    with control characters is refused rather than cleaned into another."""
    if value is None:
        return None
    if not value.strip() or has_control_characters(value):
        raise InvalidValueException(detail=f"{attribute} must be non-empty printable text")
    if len(value) > IDENTIFIER_LENGTH:
        raise InvalidValueException(
            detail=f"{attribute} is longer than {IDENTIFIER_LENGTH} characters"
        )
    return value


def email_address(value: str, attribute: str) -> str:
    """An address, normalised. The identity provider vouches for it, so it
    is checked as sign-in checks the provider's (one ``@``, no spaces or
    control characters), and internal domains (``corp.local``) are fine."""
    address = plausible_address(value)
    if address is None:
        raise InvalidValueException(detail=f"{attribute} is not an e-mail address: {value!r}")
    return address


def chosen_email(user_name: str, emails: list[dict[str, Any]] | None) -> str:
    """The person's address: the work one, else the primary one, else the
    first, else the userName when it is an address."""
    listed = [entry for entry in emails or [] if entry.get("value")]
    for entry in (
        next((e for e in listed if str(e.get("type", "")).lower() == "work"), None),
        next((e for e in listed if e.get("primary")), None),
        listed[0] if listed else None,
    ):
        if entry is not None:
            return email_address(entry["value"], "emails.value")
    if "@" in user_name:
        return email_address(user_name, "userName")
    raise InvalidValueException(
        detail="Kudos knows people by e-mail: send a work address in emails, "
        "or a userName that is an e-mail address"
    )


# -- people ------------------------------------------------------------


def user_name_taken(session: Session, key: str, *, other_than: int | None = None) -> bool:
    """Whether ``key`` (a lower-cased userName) is someone else's userName:
    a provisioned person's, or the e-mail of a person SCIM has not written
    (whose userName is their e-mail)."""
    provisioned = select(ScimUser.person_id).where(ScimUser.user_name_key == key)
    unprovisioned = select(Person.id).where(
        Person.email == key,
        Person.scim_id.is_not(None),
        ~select(ScimUser.person_id).where(ScimUser.person_id == Person.id).exists(),
    )
    for stmt in (provisioned, unprovisioned):
        if other_than is not None:
            stmt = stmt.where(
                (ScimUser.person_id if stmt is provisioned else Person.id) != other_than
            )
        if session.scalar(stmt.limit(1)) is not None:
            return True
    return False


def create_user(session: Session, fields: UserFields, *, now: datetime) -> Person:
    """Provision a person: a new one, or the person already in Kudos with
    this e-mail (from the import or a sign-in) whom SCIM now manages.
    Flushes."""
    key = fields.user_name.lower()
    if user_name_taken(session, key):
        raise UniquenessException(detail=f"userName {fields.user_name} is already taken")
    person = session.scalar(select(Person).where(Person.email == fields.email))
    if person is not None:
        _check_adoptable(session, person)
        if person.scim_id is None:  # deleted by SCIM before: a new resource
            person.scim_id = new_scim_id()
    else:
        person = Person(email=fields.email, name=fields.shown_name or fields.email.split("@")[0])
        session.add(person)
        session.flush()
    link = ScimUser(
        person_id=person.id,
        user_name=fields.user_name,
        user_name_key=key,
        external_id=fields.external_id,
        attributes={},
        created_at=now,
        updated_at=now,
    )
    session.add(link)
    changes = Changes()
    sent = {
        name
        for name in ("name", "title", "department", "manager")
        if fields.value(name) is not None
    }
    _apply(session, person, link, fields, sent | {"active"}, changes, now=now)
    record(
        session,
        PROVISIONING,
        "scim.user_created",
        target_type="person",
        target_id=person.id,
        details={"user_name": fields.user_name, **changes.fields},
    )
    _resolve_waiting_reports(session, person, link, now=now)
    session.flush()
    return person


def _check_adoptable(session: Session, person: Person) -> None:
    if session.get(ScimUser, person.id) is not None:
        raise UniquenessException(
            detail=f"{person.email} is already the e-mail of another provisioned user"
        )
    if person.unverified_sign_in:
        raise UniquenessException(
            detail=f"{person.email} belongs to an account whose sign-in service has not "
            "confirmed that address, so it is not merged with the directory"
        )


def update_user(
    session: Session,
    person: Person,
    fields: UserFields,
    *,
    written: Iterable[str],
    now: datetime,
) -> Person:
    """Write a User's new state: the ``written`` fields (those a PATCH
    named, those a PUT gives a value or leaves out when SCIM owns them)
    become SCIM's; userName, externalId and the e-mail follow ``fields``.
    Flushes."""
    link = session.get(ScimUser, person.id)
    key = fields.user_name.lower()
    if user_name_taken(session, key, other_than=person.id):
        raise UniquenessException(detail=f"userName {fields.user_name} is already taken")
    changes = Changes()
    if link is None:  # a person from the import or sign-in, now provisioned
        _check_adoptable(session, person)
        link = ScimUser(person_id=person.id, attributes={}, created_at=now)
        session.add(link)
    changes.note("userName", link.user_name, fields.user_name)
    changes.note("externalId", link.external_id, fields.external_id)
    link.user_name, link.user_name_key = fields.user_name, key
    link.external_id = fields.external_id
    if fields.email != person.email:
        other = session.scalar(select(Person.id).where(Person.email == fields.email))
        if other is not None:
            raise UniquenessException(detail=f"{fields.email} is another person's e-mail")
        changes.note("email", person.email, fields.email)
        person.email = fields.email
    _apply(session, person, link, fields, set(written), changes, now=now)
    link.updated_at = now
    if changes.fields:
        record(
            session,
            PROVISIONING,
            "scim.user_updated",
            target_type="person",
            target_id=person.id,
            details=changes.fields,
        )
    _resolve_waiting_reports(session, person, link, now=now)
    session.flush()
    return person


def _apply(
    session: Session,
    person: Person,
    link: ScimUser,
    fields: UserFields,
    written: set[str],
    changes: Changes,
    *,
    now: datetime,
) -> None:
    """Set the ``written`` fields from ``fields`` (None clears), and mark
    them as SCIM's."""
    attributes = dict(link.attributes or {})
    attributes["emails"] = fields.emails
    if "name" in written:
        attributes["displayName"] = fields.display_name
        attributes["name"] = fields.name_parts
        shown = fields.shown_name or fields.email.split("@")[0]
        changes.note("name", person.name, shown)
        person.name = shown
    link.attributes = {key: value for key, value in attributes.items() if value is not None}
    if "title" in written:
        changes.note("title", person.title, fields.title)
        person.title = fields.title
    if "department" in written:
        department = named_group(session, Department, fields.department or "")
        changes.note("department", person.department and person.department.name, fields.department)
        person.department = department
    if "manager" in written:
        _set_manager(session, person, link, fields.manager, changes)
    owned = written & {"name", "title", "department", "manager"}
    if "active" in written and fields.active is not None:
        owned.add("active")
        if fields.active != person.active:
            changes.note("active", person.active, fields.active)
            session.flush()
            change = reactivate_people if fields.active else deactivate_people
            change(session, [person.id], actor=PROVISIONING, now=now)
            session.refresh(person)
    if owned:
        sources.mark(person, owned, sources.SCIM)


def _set_manager(
    session: Session, person: Person, link: ScimUser, ref: str | None, changes: Changes
) -> None:
    """Set the manager SCIM names by id, or by externalId; one not known yet
    is kept in ``manager_ref`` and set when they arrive."""
    before = person.manager.scim_id if person.manager else link.manager_ref
    manager = _person_known_as(session, ref) if ref else None
    if manager is not None and manager.id == person.id:
        raise InvalidValueException(detail="A person can't be their own manager")
    if manager is not None:
        _refuse_cycle(session, person, manager)
    person.manager = manager
    link.manager_ref = ref if ref and manager is None else None
    changes.note("manager", before, ref)


def _person_known_as(session: Session, ref: str) -> Person | None:
    """The person whose SCIM id is ``ref``, else the provisioned person whose
    externalId is (a provider that names managers by its own ids)."""
    person = session.scalar(select(Person).where(Person.scim_id == ref))
    if person is not None:
        return person
    return session.scalar(
        select(Person)
        .join(ScimUser, ScimUser.person_id == Person.id)
        .where(ScimUser.external_id == ref, Person.scim_id.is_not(None))
        .order_by(Person.id)
        .limit(1)
    )


def _refuse_cycle(session: Session, person: Person, manager: Person) -> None:
    """Refuse ``manager`` for ``person`` when ``person`` is above them: the
    chain of managers from ``manager`` up (one recursive query, however big
    the company) would then come back to ``person``."""
    session.flush()
    chain = managers_above(session, manager.id)
    if person.id in chain:
        path = [person.id, *chain[: chain.index(person.id) + 1]]
        emails = dict(
            session.execute(select(Person.id, Person.email).where(Person.id.in_(path))).all()
        )
        raise InvalidValueException(
            detail="That manager would make a reporting cycle: "
            + " → ".join(emails[each] for each in path)
        )


def managers_above(session: Session, person_id: int, *, limit: int = 200) -> list[int]:
    """``person_id`` and their managers, bottom up, until someone with no
    manager (or ``limit`` steps, should the data already hold a cycle)."""
    up = (
        select(Person.id, Person.manager_id, literal(0).label("depth"))
        .where(Person.id == person_id)
        .cte("up", recursive=True)
    )
    above = Person.__table__.alias("above")
    up = up.union_all(
        select(above.c.id, above.c.manager_id, up.c.depth + 1)
        .join(up, above.c.id == up.c.manager_id)
        .where(up.c.depth < limit)
    )
    return list(session.scalars(select(up.c.id).order_by(up.c.depth)))


def _resolve_waiting_reports(
    session: Session, person: Person, link: ScimUser, *, now: datetime
) -> None:
    """People whose manager was named before this person arrived (by this
    SCIM id or externalId) get them as manager now; one whose reporting line
    would become a cycle keeps waiting."""
    refs = [ref for ref in (person.scim_id, link.external_id) if ref]
    if not refs:
        return
    session.flush()
    waiting = session.scalars(
        select(ScimUser).where(
            ScimUser.manager_ref.is_not(None),  # the partial index's condition
            ScimUser.manager_ref.in_(refs),
            ScimUser.person_id != person.id,
        )
    ).all()
    for report_link in waiting:
        report = report_link.person
        try:
            _refuse_cycle(session, report, person)
        except InvalidValueException:
            continue
        report.manager = person
        report_link.manager_ref = None
        report_link.updated_at = now
        sources.mark(report, ["manager"], sources.SCIM)
        record(
            session,
            PROVISIONING,
            "scim.user_updated",
            target_type="person",
            target_id=report.id,
            details={"manager": [None, person.scim_id]},
        )


def delete_user(session: Session, person: Person, *, now: datetime) -> None:
    """DELETE: the person is deactivated (sessions end, tokens revoked) and
    leaves SCIM (no id, their userName free); their kudos stay. Flushes."""
    deactivate_people(session, [person.id], actor=PROVISIONING, now=now)
    link = session.get(ScimUser, person.id)
    if link is not None:
        session.delete(link)
    record(
        session,
        PROVISIONING,
        "scim.user_deleted",
        target_type="person",
        target_id=person.id,
        details={"scim_id": person.scim_id},
    )
    session.execute(update(Person).where(Person.id == person.id).values(scim_id=None))
    session.flush()
    session.expire(person)


# -- teams -------------------------------------------------------------


def team_name(display_name: str | None) -> str:
    name = clean_text(display_name, NAME_MAX, "displayName")
    if not name or not slugify(name):
        raise InvalidValueException(detail="displayName needs at least one letter or digit")
    return name


def members_by_id(session: Session, member_ids: Iterable[str]) -> set[int]:
    """The people these SCIM ids are (their ids); an unknown one is refused
    by name."""
    wanted = sorted(set(member_ids))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 500):
        found.update(
            session.execute(
                select(Person.scim_id, Person.id).where(
                    Person.scim_id.in_(wanted[start : start + 500])
                )
            ).all()
        )
    unknown = [scim_id for scim_id in wanted if scim_id not in found]
    if unknown:
        raise InvalidValueException(
            detail="members must be users of this service; unknown: " + ", ".join(unknown[:10])
        )
    return set(found.values())


def create_group(
    session: Session,
    display_name: str | None,
    external_id: str | None,
    members: set[int],
    *,
    now: datetime,
) -> Team:
    """Provision a team: a new one, or the team of that name already in
    Kudos. Its members move into it. Flushes."""
    name = team_name(display_name)
    team = session.scalar(select(Team).where(Team.slug == slugify(name)))
    if team is not None and (team.scim_id is None or session.get(ScimGroup, team.id) is not None):
        raise UniquenessException(detail=f"There is already a group called {team.name}")
    if team is None:
        team = Team(name=name, slug=slugify(name))
        session.add(team)
        session.flush()
    session.add(ScimGroup(team_id=team.id, external_id=external_id, created_at=now, updated_at=now))
    moved = _set_members(session, team, members)
    record(
        session,
        PROVISIONING,
        "scim.group_created",
        target_type="team",
        target_id=team.id,
        details={"name": name, "members": moved},
    )
    session.flush()
    return team


def update_group(
    session: Session,
    team: Team,
    display_name: str | None,
    external_id: str | None,
    members: set[int],
    *,
    now: datetime,
) -> Team:
    """Rename a team and set its members: people added move into it, people
    left out leave it (for no team). Flushes."""
    link = session.get(ScimGroup, team.id)
    if link is None:
        link = ScimGroup(team_id=team.id, created_at=now)
        session.add(link)
    name = team_name(display_name)
    try:
        rename_group(session, PROVISIONING, team, name)
    except GroupChangeRefused as refused:
        raise UniquenessException(detail=next(iter(refused.fields.values()))) from None
    link.external_id = external_id
    link.updated_at = now
    moved = _set_members(session, team, members)
    if moved["joined"] or moved["left"]:
        record(
            session,
            PROVISIONING,
            "scim.group_updated",
            target_type="team",
            target_id=team.id,
            details=moved,
        )
    session.flush()
    return team


def _set_members(session: Session, team: Team, wanted: set[int]) -> dict[str, int]:
    """Make ``members`` the team's provisioned people: newcomers move in
    (leaving their old team: a person is in one), the others leave it."""
    current = set(
        session.scalars(
            select(Person.id).where(Person.team_id == team.id, Person.scim_id.is_not(None))
        )
    )
    joined, left = sorted(wanted - current), sorted(current - wanted)
    for ids, team_id in ((joined, team.id), (left, None)):
        for start in range(0, len(ids), 500):
            for person in session.scalars(
                select(Person).where(Person.id.in_(ids[start : start + 500]))
            ):
                person.team_id = team_id
                sources.mark(person, ["team"], sources.SCIM)
    return {"joined": len(joined), "left": len(left)}


def delete_group(session: Session, team: Team, *, now: datetime) -> None:
    """DELETE: the team's members leave it and it leaves SCIM; the team
    itself stays, with its old kudos. Flushes."""
    _set_members(session, team, set())
    link = session.get(ScimGroup, team.id)
    if link is not None:
        session.delete(link)
    record(
        session,
        PROVISIONING,
        "scim.group_deleted",
        target_type="team",
        target_id=team.id,
        details={"scim_id": team.scim_id},
    )
    team.scim_id = None
    session.flush()


def release_fields(session: Session) -> tuple[int, int]:
    """Hand every field SCIM owns back to the other sources (the company
    stopped provisioning): each stays as it is, recorded as set by SCIM
    before, and the next import, sign-in or admin change may set it again.
    Returns (people, fields). Flushes."""
    changes = []
    fields = 0
    for person_id, recorded_sources in session.execute(select(Person.id, Person.profile_sources)):
        owned = [
            name for name, source in (recorded_sources or {}).items() if source == sources.SCIM
        ]
        if owned:
            fields += len(owned)
            released = {**recorded_sources, **dict.fromkeys(owned, sources.SCIM_RELEASED)}
            changes.append({"id": person_id, "profile_sources": released})
    for start in range(0, len(changes), 500):
        session.execute(update(Person), changes[start : start + 500])
    record(session, None, "scim.released", details={"people": len(changes), "fields": fields})
    session.flush()
    return len(changes), fields
