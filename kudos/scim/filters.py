"""SCIM filters as SQLAlchemy expressions, never SQL built from strings.

scim2-models parses a filter (RFC 7644 §3.4.2.2) into a syntax tree and
binds each attribute path to the resource model, case-insensitively and
with its schema URN; ``SqlFilter`` walks that tree (scim2-models'
``FilterVisitor``) and turns each comparison into a bound-parameter
expression on the column that holds the attribute. Values never become SQL
text, so any filter string is safe to run.

Comparisons follow the attribute's case rule (``userName`` and e-mails
ignore case, ids and ``externalId`` do not), ``ne`` matches a missing
value, and ``pr`` means "has a value". An attribute the resources declare
but Kudos cannot search (``name.givenName``) is an ``invalidFilter`` error.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path import (
    CompareOperator,
    Comparison,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)
from sqlalchemy import ColumnElement, and_, false, func, literal, not_, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute

from kudos.people.models import Department, Person, Team
from kudos.people.services import escape_like
from kudos.scim.models import ScimGroup, ScimUser

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:user:"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:group:"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:"

Column = ColumnElement[Any] | InstrumentedAttribute[Any]


def _user_name() -> ColumnElement[str]:
    # A person SCIM has not written yet is known by their e-mail.
    return func.coalesce(ScimUser.user_name, Person.email)


def _in_department(condition: Callable[[Column], ColumnElement[bool]]) -> ColumnElement[bool]:
    return Person.department_id.in_(select(Department.id).where(condition(Department.name)))


def _manager_is(condition: Callable[[Column], ColumnElement[bool]]) -> ColumnElement[bool]:
    manager = Person.__table__.alias("filter_manager")
    return or_(
        Person.manager_id.in_(select(manager.c.id).where(condition(manager.c.scim_id))),
        condition(ScimUser.manager_ref),
    )


def _member_is(condition: Callable[[Column], ColumnElement[bool]]) -> ColumnElement[bool]:
    return Team.id.in_(
        select(Person.team_id).where(Person.team_id.is_not(None), condition(Person.scim_id))
    )


# Each searchable attribute, by its full URN (lower case): either a column,
# or a function building the condition from a condition on a column.
Target = Column | Callable[[Callable[[Column], ColumnElement[bool]]], ColumnElement[bool]]
USER_ATTRIBUTES: dict[str, Callable[[], Target]] = {
    CORE_USER + "id": lambda: Person.scim_id,
    CORE_USER + "externalid": lambda: ScimUser.external_id,
    CORE_USER + "username": _user_name,
    CORE_USER + "displayname": lambda: Person.name,
    CORE_USER + "title": lambda: Person.title,
    CORE_USER + "active": lambda: Person.active,
    CORE_USER + "emails.value": lambda: Person.email,
    CORE_USER + "meta.created": lambda: Person.created_at,
    CORE_USER + "meta.lastmodified": lambda: Person.updated_at,
    ENTERPRISE + "department": lambda: _in_department,
    ENTERPRISE + "manager.value": lambda: _manager_is,
}
GROUP_ATTRIBUTES: dict[str, Callable[[], Target]] = {
    CORE_GROUP + "id": lambda: Team.scim_id,
    CORE_GROUP + "externalid": lambda: ScimGroup.external_id,
    CORE_GROUP + "displayname": lambda: Team.name,
    CORE_GROUP + "members.value": lambda: _member_is,
    CORE_GROUP + "meta.created": lambda: Team.created_at,
    CORE_GROUP + "meta.lastmodified": lambda: func.coalesce(ScimGroup.updated_at, Team.created_at),
}
# A person's one address, as an entry of ``emails``: of type work, primary.
EMAIL_ENTRY = {"value": lambda: Person.email, "type": lambda: literal("work"), "primary": true}


class SqlFilter(FilterVisitor[ColumnElement[bool]]):
    """The SQL condition a parsed, bound filter stands for."""

    def __init__(self, scim_filter: ScimFilter[Any], attributes: dict[str, Callable[[], Target]]):
        self.filter = scim_filter
        self.attributes = attributes

    def condition(self) -> ColumnElement[bool]:
        return self.visit(self.filter.ast)

    def visit_logical_expr(self, node: LogicalExpr) -> ColumnElement[bool]:
        join = and_ if node.op == LogicalOperator.and_ else or_
        return join(*(self.visit(term) for term in node.terms))

    def visit_not(self, node: Not) -> ColumnElement[bool]:
        return not_(self.visit(node.expr))

    def visit_present(self, node: Present) -> ColumnElement[bool]:
        binding = self.filter.resolve_comparison(node.attr_path)
        return _apply(self._target(binding.urn), CompareOperator.ne, None, case_exact=True)

    def visit_comparison(self, node: Comparison) -> ColumnElement[bool]:
        binding = self.filter.resolve_comparison(node.attr_path)
        value = _typed(node.value, binding.target_type)
        return _apply(self._target(binding.urn), node.op, value, case_exact=binding.case_exact)

    def visit_value_path(self, node: ValuePath) -> ColumnElement[bool]:
        binding = self.filter.resolve(node.attr_path)
        if binding.urn.lower() != CORE_USER + "emails":
            raise InvalidFilterException(detail=f"Kudos can't filter on {node.attr_path}")
        return EmailEntryFilter().visit(node.val_filter)

    def _target(self, urn: str) -> Target:
        found = self.attributes.get(urn.lower())
        if found is None:
            raise InvalidFilterException(detail=f"Kudos can't filter on {urn.rsplit(':', 1)[-1]}")
        return found()


class EmailEntryFilter(FilterVisitor[ColumnElement[bool]]):
    """A filter inside ``emails[...]``, on the person's one address."""

    def visit_logical_expr(self, node: LogicalExpr) -> ColumnElement[bool]:
        join = and_ if node.op == LogicalOperator.and_ else or_
        return join(*(self.visit(term) for term in node.terms))

    def visit_not(self, node: Not) -> ColumnElement[bool]:
        return not_(self.visit(node.expr))

    def visit_present(self, node: Present) -> ColumnElement[bool]:
        target = self._target(node.attr_path.attr)
        return _apply(target, CompareOperator.ne, None, case_exact=True)

    def visit_comparison(self, node: Comparison) -> ColumnElement[bool]:
        name = node.attr_path.attr
        if name.lower() == "primary":
            value = _typed(node.value, bool)
            if node.op not in (CompareOperator.eq, CompareOperator.ne):
                raise InvalidFilterException(detail="primary compares with eq or ne")
            return true() if (value is True) == (node.op == CompareOperator.eq) else false()
        return _apply(self._target(name), node.op, node.value, case_exact=False)

    def visit_value_path(self, node: ValuePath) -> ColumnElement[bool]:
        raise InvalidFilterException(detail="Value filters don't nest")

    @staticmethod
    def _target(name: str) -> Column:
        found = EMAIL_ENTRY.get(name.lower())
        if found is None:
            raise InvalidFilterException(detail=f"Kudos can't filter on emails.{name}")
        return found()


def as_utc(moment: datetime) -> datetime:
    """A dateTime without a zone is UTC (RFC 7643 §2.3.5 asks for one)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _typed(value: Any, kind: type | None) -> Any:  # noqa: ANN401 - a JSON value
    """The filter's value as the column's type: booleans from true/false
    (or Entra's "True"), dateTimes from RFC 3339 text."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise InvalidFilterException(detail=f"{value!r} is not true or false")
    if kind is datetime:
        if isinstance(value, datetime):
            return as_utc(value)
        try:
            return as_utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
        except ValueError:
            raise InvalidFilterException(detail=f"{value!r} is not a dateTime") from None
    if value is not None and not isinstance(value, str):
        raise InvalidFilterException(detail=f"{value!r} is not a string")
    return value


def _apply(
    target: Target, op: CompareOperator, value: Any, *, case_exact: bool
) -> ColumnElement[bool]:
    if callable(target) and not isinstance(target, ColumnElement | InstrumentedAttribute):
        return target(lambda column: _compare(column, op, value, case_exact=case_exact))
    return _compare(target, op, value, case_exact=case_exact)


def _compare(
    column: Column, op: CompareOperator, value: Any, *, case_exact: bool
) -> ColumnElement[bool]:
    if value is None:  # ``pr``, and eq/ne null
        present = column.is_not(None)
        return not_(present) if op == CompareOperator.eq else present
    if isinstance(value, str) and not case_exact:
        column, value = func.lower(column), value.lower()
    if op == CompareOperator.eq:
        return column == value
    if op == CompareOperator.ne:
        return or_(column.is_(None), column != value)
    if op in (CompareOperator.co, CompareOperator.sw, CompareOperator.ew):
        if not isinstance(value, str):
            raise InvalidFilterException(detail=f"{op.value} compares text")
        pattern = escape_like(value)
        pattern = {"co": f"%{pattern}%", "sw": f"{pattern}%", "ew": f"%{pattern}"}[op.value]
        return column.like(pattern, escape="\\")
    if isinstance(value, bool):
        raise InvalidFilterException(detail=f"{op.value} does not compare true or false")
    return {
        CompareOperator.gt: column > value,
        CompareOperator.ge: column >= value,
        CompareOperator.lt: column < value,
        CompareOperator.le: column <= value,
    }[op]
