"""Kudos' directory as a scim2-server storage: people are Users, teams are
Groups.

scim2-server does the protocol (validating bodies, applying PATCH
operations to the resource, ``attributes``, paging, errors); this storage
reads resources from the directory and writes them back through
``provisioning``. Every person and team is a resource, provisioned or not,
so a provider connecting to a directory that already has people finds them
by ``userName`` (their e-mail) instead of creating them twice.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import Any

from flask import g, request
from scim2_models import GroupMembership as UserGroup
from scim2_models import (
    InvalidFilterException,
    Meta,
    Name,
    NotFoundException,
    Resource,
    ResourceType,
    ResponseParameters,
    ScimFilter,
    SearchRequest,
)
from scim2_server.storage import ScimStorage, SearchPage
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from kudos.db import utcnow
from kudos.people import sources
from kudos.people.models import Person, Team
from kudos.scim import provisioning
from kudos.scim.filters import GROUP_ATTRIBUTES, USER_ATTRIBUTES, SqlFilter
from kudos.scim.models import ScimGroup, ScimUser
from kudos.scim.provisioning import TEXT_MAX, UserFields, clean_text, identifier
from kudos.scim.resources import ENTERPRISE, Email, EnterpriseUser, GroupMember, Manager

USER_FIELDS = ("name", "title", "department", "manager")


class DirectoryStorage(ScimStorage):
    """Reads and writes people and teams in ``session`` (the request's;
    the view commits or rolls back)."""

    def __init__(self, session_factory: Any, models: dict[str, type[Resource[Any]]]) -> None:  # noqa: ANN401
        self.session_factory = session_factory
        self.models = models

    @property
    def session(self) -> Session:
        return self.session_factory()

    # -- reading ---------------------------------------------------------

    def get(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        response_parameters: ResponseParameters[Any] | None = None,
    ) -> Resource[Any]:
        if resource_type.name == "User":
            return self.user(self._person(resource_id))
        return self.group(self._team(resource_id))

    def _person(self, resource_id: str) -> Person:
        person = self.session.scalar(
            _for_writing(select(Person).where(Person.scim_id == resource_id))
        )
        if person is None:
            raise NotFoundException(detail=f"No user has the id {resource_id}")
        return person

    def _team(self, resource_id: str) -> Team:
        team = self.session.scalar(_for_writing(select(Team).where(Team.scim_id == resource_id)))
        if team is None:
            raise NotFoundException(detail=f"No group has the id {resource_id}")
        return team

    def search(
        self,
        resource_types: list[ResourceType],
        search_request: SearchRequest[Any],
        *,
        position: Any = None,  # noqa: ANN401 - cursors are not announced
    ) -> SearchPage:
        """One page of the matching resources, ordered by type (Users, then
        Groups, for a search at the root) and then by creation."""
        at_root = len(resource_types) > 1
        queries = [
            (resource_type.name, self._query(resource_type, search_request, at_root=at_root))
            for resource_type in resource_types
        ]
        totals = [
            self.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
            for _, stmt in queries
        ]
        skip = max(search_request.start_index or 1, 1) - 1
        room = search_request.count
        resources: list[Resource[Any]] = []
        for (name, stmt), total in zip(queries, totals, strict=True):
            if room is not None and len(resources) >= room:
                break
            if skip >= total:
                skip -= total
                continue
            model = Person if name == "User" else Team
            page = stmt.order_by(model.id).offset(skip)
            if room is not None:
                page = page.limit(room - len(resources))
            skip = 0
            found = list(self.session.scalars(page).unique())
            resources += self.users(found) if name == "User" else [self.group(t) for t in found]
        return SearchPage(total=sum(totals), resources=resources)

    def _query(
        self, resource_type: ResourceType, search_request: SearchRequest[Any], *, at_root: bool
    ) -> Select[Any]:
        """The resources of one type a search matches (at the root, an
        attribute this type lacks has no value on it: RFC 7644 §3.4.2.1)."""
        is_user = resource_type.name == "User"
        stmt = (
            select(Person)
            .outerjoin(ScimUser, ScimUser.person_id == Person.id)
            .where(Person.scim_id.is_not(None))
            if is_user
            else select(Team)
            .outerjoin(ScimGroup, ScimGroup.team_id == Team.id)
            .where(Team.scim_id.is_not(None))
        )
        if search_request.filter is None:
            return stmt
        try:
            scim_filter = ScimFilter[self.models[resource_type.name]](str(search_request.filter))
            attributes = USER_ATTRIBUTES if is_user else GROUP_ATTRIBUTES
            return stmt.where(SqlFilter(scim_filter, attributes, at_root=at_root).condition())
        except (ValueError, TypeError, OverflowError) as exc:
            raise InvalidFilterException(detail=str(exc)) from None

    def user(self, person: Person) -> Resource[Any]:
        return self.users([person])[0]

    def users(self, people: list[Person]) -> list[Resource[Any]]:
        """User resources for ``people``, in a few queries whatever their number."""
        ids = [person.id for person in people]
        links = {
            link.person_id: link
            for link in self.session.scalars(
                select(ScimUser).where(ScimUser.person_id.in_(ids))
            ).unique()
        }
        manager_ids = {person.manager_id for person in people if person.manager_id}
        managers = {
            manager.id: manager
            for manager in self.session.scalars(select(Person).where(Person.id.in_(manager_ids)))
        }
        return [
            self._user(person, links.get(person.id), managers.get(person.manager_id or 0))
            for person in people
        ]

    def _user(self, person: Person, link: ScimUser | None, manager: Person | None) -> Resource[Any]:
        attributes = link.attributes if link is not None else {}
        name_is_scims = link is not None and sources.owned_by_scim(person, "name")
        user = self.models["User"](
            id=person.scim_id,
            external_id=link.external_id if link else None,
            user_name=link.user_name if link else person.email,
            display_name=attributes.get("displayName") if name_is_scims else person.name,
            name=Name.model_validate(attributes["name"]) if attributes.get("name") else None,
            title=person.title,
            active=person.active,
            emails=[Email.model_validate(entry) for entry in attributes["emails"]]
            if attributes.get("emails")
            else [Email(value=person.email, type="work", primary=True)],
            groups=[
                UserGroup(
                    value=person.team.scim_id,
                    ref=f"Groups/{person.team.scim_id}",
                    display=person.team.name,
                    type="direct",
                )
            ]
            if person.team is not None and person.team.scim_id
            else None,
            meta=_meta("User", person.created_at, person.updated_at),
        )
        manager_value = None
        if manager is not None and manager.scim_id:
            # No displayName: a read-only part would make a PATCH that
            # replaces the manager a change to something read-only.
            manager_value = Manager(value=manager.scim_id, ref=f"Users/{manager.scim_id}")
        elif link is not None and link.manager_ref:
            manager_value = Manager(value=link.manager_ref)
        department = person.department.name if person.department else None
        if department or manager_value:
            user[EnterpriseUser] = EnterpriseUser(department=department, manager=manager_value)
        return user

    def group(self, team: Team) -> Resource[Any]:
        link = self.session.get(ScimGroup, team.id)
        members = self.session.execute(
            select(Person.scim_id)
            .where(Person.team_id == team.id, Person.scim_id.is_not(None))
            .order_by(Person.id)
        ).all()
        return self.models["Group"](
            id=team.scim_id,
            external_id=link.external_id if link else None,
            display_name=team.name,
            members=[
                GroupMember(value=scim_id, ref=f"Users/{scim_id}", type="User")
                for (scim_id,) in members
            ]
            or None,
            meta=_meta("Group", team.created_at, link.updated_at if link else team.created_at),
        )

    # -- writing ---------------------------------------------------------

    def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        now = utcnow()
        if resource_type.name == "User":
            person = provisioning.create_user(self.session, user_fields(resource), now=now)
            return self.user(person)
        members = provisioning.members_by_id(self.session, _member_ids(resource))
        team = provisioning.create_group(
            self.session,
            resource.display_name,
            identifier(resource.external_id, "externalId"),
            members,
            now=now,
        )
        return self.group(team)

    def update(
        self,
        resource_type: ResourceType,
        resource: Resource[Any],
        *,
        expected_version: str | None = None,
    ) -> Resource[Any]:
        now = utcnow()
        if resource_type.name == "User":
            person = self._person(resource.id)
            before = user_fields(self.user(person))
            fields = _kept_on_put(before, _formatted_kept_derived(before, user_fields(resource)))
            provisioning.update_user(
                self.session, person, fields, written=_written(person, before, fields), now=now
            )
            return self.user(person)
        team = self._team(resource.id)
        members = provisioning.members_by_id(self.session, _member_ids(resource))
        provisioning.update_group(
            self.session,
            team,
            resource.display_name,
            identifier(resource.external_id, "externalId"),
            members,
            now=now,
        )
        return self.group(team)

    def delete(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        expected_version: str | None = None,
    ) -> None:
        now = utcnow()
        if resource_type.name == "User":
            provisioning.delete_user(self.session, self._person(resource_id), now=now)
        else:
            provisioning.delete_group(self.session, self._team(resource_id), now=now)


def _for_writing(stmt: Select[Any]) -> Select[Any]:
    """A PUT, PATCH or DELETE reads its resource locked (PostgreSQL), so two
    changes to one group wait for each other: each applies its operations
    to the members the other committed, and none is lost."""
    if request.method in ("PUT", "PATCH", "DELETE"):
        return stmt.with_for_update(of=stmt.column_descriptions[0]["entity"])
    return stmt


def _written(person: Person, before: UserFields, after: UserFields) -> set[str]:
    """The fields a write makes SCIM's: those a PATCH named (set or
    removed); for a PUT, those it gives a value, and those it leaves out
    that SCIM owns (cleared: the owner says they are empty). A PUT that
    leaves out a field SCIM never set leaves it to the other sources."""
    if request.method == "PATCH":
        return set(g.get("scim_patched", ())) & {*USER_FIELDS, "active"}
    given = {name for name in (*USER_FIELDS, "active") if after.value(name) is not None}
    emptied = {
        name
        for name in USER_FIELDS
        if name not in given
        and before.value(name) is not None
        and sources.owned_by_scim(person, name)
    }
    return given | emptied


def patched_fields(operations: list[Any]) -> set[str]:
    """The Kudos fields a PATCH's operations name (``title``, ``name.givenName``,
    the enterprise ``manager``, or the keys of a path-less value)."""
    names: set[str] = set()
    for operation in operations:
        if operation.path is not None:
            names.add(str(operation.path))
        elif isinstance(operation.value, dict):
            for key, value in operation.value.items():
                if key.lower() == ENTERPRISE.lower() and isinstance(value, dict):
                    names.update(f"{ENTERPRISE}:{sub}" for sub in value)
                else:
                    names.add(key)
    fields = {field for name in names if (field := _field_of(name))}
    if any(name.lower() == ENTERPRISE.lower() for name in names):
        fields |= {"department", "manager"}  # the whole extension
    return fields


def _field_of(attribute: str) -> str | None:
    name = attribute.lower()
    if name.startswith(ENTERPRISE.lower() + ":"):
        name = name[len(ENTERPRISE) + 1 :]
    name = re.split(r"[.\[]", name, maxsplit=1)[0]
    return {
        "displayname": "name",
        "name": "name",
        "title": "title",
        "active": "active",
        "department": "department",
        "manager": "manager",
    }.get(name)


def _formatted_kept_derived(before: UserFields, after: UserFields) -> UserFields:
    """A ``name.formatted`` that was the given and family names joined stays
    so when a client changes the parts alone (Entra ID's family name update
    leaves the old ``formatted`` in place)."""
    old, new = before.name_parts or {}, after.name_parts or {}
    derived = " ".join(filter(None, (old.get("givenName"), old.get("familyName"))))
    parts_changed = (old.get("givenName"), old.get("familyName")) != (
        new.get("givenName"),
        new.get("familyName"),
    )
    if not (old.get("formatted") and old["formatted"] == derived == new.get("formatted")):
        return after
    if not parts_changed:
        return after
    formatted = " ".join(filter(None, (new.get("givenName"), new.get("familyName"))))
    return replace(after, name_parts={**new, "formatted": formatted or None})


def _kept_on_put(before: UserFields, after: UserFields) -> UserFields:
    """A PUT without ``externalId`` keeps the one stored: Okta's profile
    updates leave it out, and managers may be named by it."""
    if request.method == "PUT" and after.external_id is None:
        return replace(after, external_id=before.external_id)
    return after


def _meta(kind: str, created: datetime, modified: datetime) -> Meta:
    return Meta(resource_type=kind, created=created, last_modified=max(created, modified))


def _member_ids(resource: Resource[Any]) -> list[str]:
    return [member.value for member in resource.members or [] if member.value]


def user_fields(resource: Resource[Any]) -> UserFields:
    """A User resource, checked, in Kudos' terms."""
    user_name = identifier(resource.user_name, "userName")
    if user_name is None:
        raise provisioning.InvalidValueException(detail="userName is required")
    emails = [entry.model_dump() for entry in resource.emails or []]
    enterprise = resource[EnterpriseUser]
    manager = enterprise.manager.value if enterprise and enterprise.manager else None
    name_parts = resource.name.model_dump() if resource.name else None
    return UserFields(
        user_name=user_name,
        email=provisioning.chosen_email(user_name, emails),
        external_id=identifier(resource.external_id, "externalId"),
        display_name=clean_text(resource.display_name, TEXT_MAX, "displayName"),
        name_parts={
            key: clean_text(value, TEXT_MAX, f"name.{key}") for key, value in name_parts.items()
        }
        if name_parts
        else None,
        emails=emails or None,
        title=clean_text(resource.title, TEXT_MAX, "title"),
        department=clean_text(
            enterprise.department if enterprise else None, provisioning.NAME_MAX, "department"
        ),
        manager=identifier(manager, "manager.value"),
        active=resource.active,
    )
