"""Renaming and merging teams and departments (the admin console).

A renamed or merged group keeps its old slug as a redirect
(``former_slugs``), and the directory import and sign-in claims that still
name the old group find the group it became, so the next import does not
bring the old one back.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kudos.audit.services import Actor, record
from kudos.people import former_slugs
from kudos.people.models import Department, Person, Team
from kudos.refusals import Refused
from kudos.text import has_control_characters, slugify

Group = Team | Department
NAME_MAX = 120


class GroupChangeRefused(Refused):
    """A name that is empty, taken or too long; a merge into itself."""


def kind_of(model: type[Team] | type[Department]) -> str:
    return "team" if model is Team else "department"


def column_of(model: type[Team] | type[Department]):  # noqa: ANN201 - a Person column
    return Person.team_id if model is Team else Person.department_id


def named_group(
    session: Session, model: type[Team] | type[Department], name: str
) -> Team | Department | None:
    """The team or department called ``name``, found by slug (or by a slug it
    had before a rename or merge in the console), created when new; None for
    a name with no letter or digit. The sources that name groups as text
    (sign-in claims, SCIM) find the same one the directory import does."""
    slug = slugify(name)
    if not slug:
        return None
    group = session.scalar(select(model).where(model.slug == slug))
    if group is None and (moved := former_slugs.target_of(session, kind_of(model), slug)):
        group = session.get(model, moved)
    if group is None:
        group = model(name=name[:NAME_MAX], slug=slug)
        session.add(group)
    return group


def groups_with_counts(
    session: Session, model: type[Team] | type[Department]
) -> list[tuple[Group, int]]:
    """Every group by name, with how many active people are in it."""
    members = (
        select(column_of(model).label("group_id"), func.count().label("members"))
        .where(Person.active)
        .group_by(column_of(model))
        .subquery()
    )
    rows = session.execute(
        select(model, func.coalesce(members.c.members, 0))
        .outerjoin(members, members.c.group_id == model.id)
        .order_by(func.lower(model.name), model.id)
    )
    return [(group, count) for group, count in rows]


def members_of(session: Session, group: Group) -> list[Person]:
    column = column_of(type(group))
    return list(
        session.scalars(
            select(Person)
            .where(column == group.id)
            .order_by(~Person.active, func.lower(Person.name))
        )
    )


def rename_group(session: Session, admin: Actor, group: Group, name: str) -> bool:
    """Give ``group`` a new name (and the slug that goes with it); returns
    whether anything changed. Flushes."""
    model = type(group)
    kind = kind_of(model)
    name = " ".join((name or "").split())
    slug = slugify(name)
    if not name:
        raise GroupChangeRefused({"name": "Give it a name."})
    if len(name) > NAME_MAX:
        raise GroupChangeRefused({"name": f"Keep it to {NAME_MAX} characters (now {len(name)})."})
    if has_control_characters(name):
        raise GroupChangeRefused({"name": "Remove the invisible control characters."})
    if not slug:
        raise GroupChangeRefused({"name": "Use at least one letter or digit."})
    if name == group.name:
        return False
    taken = session.scalar(select(model).where(model.slug == slug, model.id != group.id))
    if taken is not None:
        raise GroupChangeRefused(
            {"name": f"There is already a {kind} called {taken.name}: merge into it instead."}
        )
    before = group.name
    if slug != group.slug:
        former_slugs.forget(session, kind, slug)
        former_slugs.remember(session, kind, group.slug, group.id)
        group.slug = slug
    group.name = name
    record(
        session,
        admin,
        f"{kind}.renamed",
        target_type=kind,
        target_id=group.id,
        details={"name": [before, name]},
    )
    session.flush()
    return True


def merge_group(session: Session, admin: Person, group: Group, into: Group) -> int:
    """Move everyone in ``group`` to ``into`` and remove ``group``; returns
    how many people moved. Flushes."""
    model = type(group)
    kind = kind_of(model)
    if type(into) is not model or into.id == group.id:
        raise GroupChangeRefused({"into": f"Choose another {kind} to merge into."})
    column = column_of(model)
    moved = session.execute(
        update(Person).where(column == group.id).values({column.key: into.id})
    ).rowcount
    former_slugs.follow_merge(session, kind, group.id, into.id)
    former_slugs.remember(session, kind, group.slug, into.id)
    record(
        session,
        admin,
        f"{kind}.merged",
        target_type=kind,
        target_id=into.id,
        details={"merged": group.name, "into": into.name, "people": moved},
    )
    session.delete(group)
    session.flush()
    return moved
