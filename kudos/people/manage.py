"""An admin's changes to people: the directory page of the admin console.

Deactivation and reactivation go through ``services`` as every other path
does (sessions end, API tokens are revoked for good). Manager changes are
checked with the same reporting-line check as the directory import. Every
change is audited and recorded as the admin's in the field sources.

Fields SCIM provisioning owns (``sources.owned_by_scim``) are the identity
provider's: a change to one is refused, and a person whose ``active`` is
SCIM's is reactivated there, not here. Deactivating them stays possible,
as an emergency stop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased, joinedload

from kudos.audit.services import record
from kudos.people import sources
from kudos.people.hierarchy import cycle_from, people_in_cycles
from kudos.people.models import Department, Person, Team, normalize_email
from kudos.people.services import deactivate_person, escape_like, reactivate_person
from kudos.refusals import Refused

PAGE_SIZE = 50
STATUSES = {"active": "Active", "inactive": "Deactivated", "admins": "Admins", "all": "Everyone"}
# The placement's fields, and the form input each is changed by.
PLACEMENT_INPUTS = {"team": "team", "department": "department", "manager": "manager_email"}
SCIM_MANAGED = "Managed by your identity provider through SCIM; change it there."


class PersonChangeRefused(Refused):
    """An unknown manager, a reporting cycle, the last admin, oneself."""


@dataclass(frozen=True)
class DirectoryPage:
    people: list[Person]
    total: int
    page: int
    pages: int


def directory_page(session: Session, query: str, status: str, page: int) -> DirectoryPage:
    """People whose name, e-mail, team or department contains every word of
    ``query``, by name; ``PAGE_SIZE`` a page."""
    manager = aliased(Person, name="manager")
    stmt = (
        select(Person)
        .outerjoin(Team, Team.id == Person.team_id)
        .outerjoin(Department, Department.id == Person.department_id)
    )
    for word in [escape_like(word) for word in query.lower().split()][:5]:
        pattern = f"%{word}%"
        stmt = stmt.where(
            or_(
                func.lower(Person.name).like(pattern, escape="\\"),
                Person.email.like(pattern, escape="\\"),
                func.lower(Team.name).like(pattern, escape="\\"),
                func.lower(Department.name).like(pattern, escape="\\"),
            )
        )
    if status == "active":
        stmt = stmt.where(Person.active)
    elif status == "inactive":
        stmt = stmt.where(~Person.active)
    elif status == "admins":
        stmt = stmt.where(Person.is_admin)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    people = session.scalars(
        stmt.options(joinedload(Person.manager.of_type(manager)))
        .order_by(func.lower(Person.name), Person.id)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    return DirectoryPage(list(people), total, page, pages)


def change_placement(
    session: Session,
    admin: Person,
    person: Person,
    *,
    team: Team | None,
    department: Department | None,
    manager_email: str,
) -> list[str]:
    """Set team, department and manager; returns the fields that changed.
    Raises ``PersonChangeRefused`` for a change to a field SCIM owns, an
    unknown manager or a cycle; then nothing changes."""
    current_manager = person.manager.email if person.manager else ""
    asked = {
        "team": team != person.team,
        "department": department != person.department,
        "manager": normalize_email(manager_email) != current_manager,
    }
    refused = {
        PLACEMENT_INPUTS[field]: SCIM_MANAGED
        for field, changes in asked.items()
        if changes and sources.owned_by_scim(person, field)
    }
    if refused:
        raise PersonChangeRefused(refused)
    manager = _manager(session, person, manager_email) if asked["manager"] else person.manager
    wanted = {"team": team, "department": department, "manager": manager}
    changed = {
        field: [_label(getattr(person, field)), _label(value)]
        for field, value in wanted.items()
        if getattr(person, field) != value
    }
    if not changed:
        return []
    for field in changed:
        setattr(person, field, wanted[field])
    sources.mark(person, changed, sources.ADMIN)
    record(
        session, admin, "person.updated", target_type="person", target_id=person.id, details=changed
    )
    session.flush()
    return list(changed)


def _label(thing: Person | Team | Department | None) -> str | None:
    if thing is None:
        return None
    return thing.email if isinstance(thing, Person) else thing.name


def _manager(session: Session, person: Person, manager_email: str) -> Person | None:
    email = normalize_email(manager_email)
    if not email:
        return None
    manager = session.scalar(select(Person).where(Person.email == email))
    if manager is None:
        raise PersonChangeRefused(
            {"manager_email": f"Nobody in the directory has the e-mail {email}."}
        )
    if manager.id == person.id:
        raise PersonChangeRefused({"manager_email": f"{person.name} can't be their own manager."})
    manager_of = dict(session.execute(select(Person.id, Person.manager_id)).all())
    manager_of[person.id] = manager.id
    if people_in_cycles(manager_of, [person.id]):
        names = dict(
            session.execute(
                select(Person.id, Person.name).where(
                    Person.id.in_(cycle_from(person.id, manager_of))
                )
            ).all()
        )
        chain = " → ".join(names[each] for each in cycle_from(person.id, manager_of))
        raise PersonChangeRefused(
            {
                "manager_email": f"That would make a manager cycle: {person.name} would report "
                f"(directly or not) to themselves through {chain}."
            }
        )
    return manager


def set_admin(session: Session, admin: Person, person: Person, granted: bool) -> None:
    """Grant or remove admin rights given in Kudos. Rights from the identity
    provider's admin group are the provider's to remove; the last admin
    cannot be removed, so somebody can always run the console."""
    if person.admin_granted == granted:
        return
    if not granted:
        if person.admin_from_group:
            raise PersonChangeRefused(
                {
                    "__all__": f"{person.name} is an admin through the identity provider's "
                    "admin group; remove them from that group there."
                }
            )
        others = session.scalar(
            select(func.count()).where(Person.is_admin, Person.active, Person.id != person.id)
        )
        if not others:
            raise PersonChangeRefused(
                {"__all__": f"{person.name} is the only admin: make someone else an admin first."}
            )
    person.admin_granted = granted
    record(
        session,
        admin,
        "person.admin_granted" if granted else "person.admin_removed",
        target_type="person",
        target_id=person.id,
    )
    session.flush()


def set_active(
    session: Session, admin: Person, person: Person, active: bool, *, now: datetime
) -> bool:
    """Deactivate (sessions end, tokens revoked) or reactivate (no old
    credential comes back). An admin cannot deactivate themselves. Whether
    someone SCIM provisions is active is the identity provider's to say:
    they can be deactivated here (an emergency stop), not reactivated."""
    if not active and person.id == admin.id:
        raise PersonChangeRefused({"__all__": "You can't deactivate yourself; ask another admin."})
    if active and sources.owned_by_scim(person, "active"):
        raise PersonChangeRefused(
            {
                "__all__": f"{person.name}'s account is managed by your identity provider "
                "through SCIM; reactivate them there."
            }
        )
    if active:
        return reactivate_person(session, person, actor=admin, now=now)
    return deactivate_person(session, person, actor=admin, now=now)
