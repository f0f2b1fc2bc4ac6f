"""SCIM filters as SQLAlchemy expressions, never SQL built from strings.

scim2-models parses a filter (RFC 7644 §3.4.2.2) into a syntax tree and
binds each attribute path to the resource model, case-insensitively and
with its schema URN; ``SqlFilter`` walks that tree (scim2-models'
``FilterVisitor``) and turns each comparison into a bound-parameter
expression on the column that holds the attribute. Values never become SQL
text, so any filter string is safe to run.

What each comparison means, whatever the engine:

- An attribute's case rule holds (``userName``, e-mails and names ignore
  case, in any alphabet; ids and ``externalId`` do not, also in ``sw``,
  ``co`` and ``ew``, although SQLite's LIKE ignores ASCII case).
- A missing value is no value: ``ne`` and ``not (…)`` match it, every other
  comparison doesn't, and ``pr`` means "has a value".
- An attribute the resources declare but Kudos cannot search
  (``name.givenName``) is an ``invalidFilter`` error; at the root, an
  attribute one resource type lacks has no value on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path import (
    CompareOperator,
    Comparison,
    FilterNode,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)
from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    true,
    union,
)

from kudos.people.models import Department, Person, Team
from kudos.people.services import escape_like
from kudos.scim.models import ScimGroup, ScimUser

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:user:"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:group:"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:"
# More would only be a way to make the database work hard (and SQLite
# refuses expressions nested a thousand deep).
MAX_COMPARISONS = 100

Condition = Callable[[ColumnElement[Any]], ColumnElement[bool]]


@dataclass(frozen=True)
class Attribute:
    """Where an attribute is: a column (``lowered`` when it is stored in
    lower case, as Python lowers, so that only the value is lowered), or a
    function making the condition on another table from one on a column."""

    column: Callable[[], ColumnElement[Any]] | None = None
    lowered: bool = False
    through: Callable[[Condition], ColumnElement[bool]] | None = None
    # ``eq`` in a form the database finds through its indexes.
    equals: Callable[[str], ColumnElement[bool]] | None = None


def _latest(created: Any, modified: Any) -> ColumnElement[Any]:  # noqa: ANN401 - columns
    """``meta.lastModified`` as served: the later of the two."""
    return case((modified > created, modified), else_=created)


def _user_name() -> ColumnElement[str]:
    # A person SCIM has not written yet is known by their e-mail.
    return func.coalesce(ScimUser.user_name_key, Person.email)


def _user_name_is(value: str) -> ColumnElement[bool]:
    """``userName eq``, the lookup every provider makes before creating
    someone: through the indexes on userName and e-mail, not by reading
    everyone's userName."""
    candidates = union(
        select(ScimUser.person_id).where(ScimUser.user_name_key == value),
        select(Person.id).where(Person.email == value),
    )
    return and_(Person.id.in_(candidates), _user_name() == value)


def _display_name() -> ColumnElement[str]:
    """displayName as served: what SCIM sent when it owns the name, the
    person's name otherwise."""
    scims = and_(
        ScimUser.person_id.is_not(None), Person.profile_sources["name"].as_string() == "scim"
    )
    return case((scims, ScimUser.attributes["displayName"].as_string()), else_=Person.name)


def _in_department(condition: Condition) -> ColumnElement[bool]:
    return Person.department_id.in_(select(Department.id).where(condition(Department.name)))


def _manager_is(condition: Condition) -> ColumnElement[bool]:
    manager = Person.__table__.alias("filter_manager")
    return or_(
        Person.manager_id.in_(select(manager.c.id).where(condition(manager.c.scim_id))),
        and_(ScimUser.manager_ref.is_not(None), condition(ScimUser.manager_ref)),
    )


def _member_is(condition: Condition) -> ColumnElement[bool]:
    return Team.id.in_(
        select(Person.team_id).where(Person.team_id.is_not(None), condition(Person.scim_id))
    )


# Each searchable attribute, by its full URN in lower case.
USER_ATTRIBUTES: dict[str, Attribute] = {
    CORE_USER + "id": Attribute(lambda: Person.scim_id),
    CORE_USER + "externalid": Attribute(lambda: ScimUser.external_id),
    CORE_USER + "username": Attribute(_user_name, lowered=True, equals=_user_name_is),
    CORE_USER + "displayname": Attribute(_display_name),
    CORE_USER + "title": Attribute(lambda: Person.title),
    CORE_USER + "active": Attribute(lambda: Person.active),
    CORE_USER + "emails.value": Attribute(lambda: Person.email, lowered=True),
    CORE_USER + "meta.created": Attribute(lambda: Person.created_at),
    CORE_USER + "meta.lastmodified": Attribute(
        lambda: _latest(Person.created_at, Person.updated_at)
    ),
    ENTERPRISE + "department": Attribute(through=_in_department),
    ENTERPRISE + "manager.value": Attribute(through=_manager_is),
}
GROUP_ATTRIBUTES: dict[str, Attribute] = {
    CORE_GROUP + "id": Attribute(lambda: Team.scim_id),
    CORE_GROUP + "externalid": Attribute(lambda: ScimGroup.external_id),
    CORE_GROUP + "displayname": Attribute(lambda: Team.name),
    CORE_GROUP + "members.value": Attribute(through=_member_is),
    CORE_GROUP + "meta.created": Attribute(lambda: Team.created_at),
    CORE_GROUP + "meta.lastmodified": Attribute(
        lambda: _latest(Team.created_at, func.coalesce(ScimGroup.updated_at, Team.created_at))
    ),
}
# A person's one address, as an entry of ``emails``: of type work, primary.
EMAIL_ENTRY: dict[str, Attribute] = {
    "value": Attribute(lambda: Person.email, lowered=True),
    "type": Attribute(lambda: literal("work"), lowered=True),
}
MISSING = Attribute(lambda: null())


class SqlFilter(FilterVisitor[ColumnElement[bool]]):
    """The SQL condition a parsed, bound filter stands for. ``at_root``: an
    attribute this resource type lacks has no value (RFC 7644 §3.4.2.1)."""

    def __init__(
        self,
        scim_filter: ScimFilter[Any],
        attributes: dict[str, Attribute],
        *,
        at_root: bool = False,
    ) -> None:
        self.filter = scim_filter
        self.attributes = attributes
        self.at_root = at_root

    def condition(self) -> ColumnElement[bool]:
        if _comparisons(self.filter.ast) > MAX_COMPARISONS:
            raise InvalidFilterException(
                detail=f"A filter may have at most {MAX_COMPARISONS} comparisons"
            )
        return self.visit(self.filter.ast)

    def visit_logical_expr(self, node: LogicalExpr) -> ColumnElement[bool]:
        join = and_ if node.op == LogicalOperator.and_ else or_
        return join(*(self.visit(term) for term in node.terms))

    def visit_not(self, node: Not) -> ColumnElement[bool]:
        return _negated(self.visit(node.expr))

    def visit_present(self, node: Present) -> ColumnElement[bool]:
        attribute, _ = self._attribute(node)
        return _apply(attribute, CompareOperator.ne, None, case_exact=True)

    def visit_comparison(self, node: Comparison) -> ColumnElement[bool]:
        attribute, binding = self._attribute(node)
        if binding is None:
            return _apply(attribute, node.op, node.value, case_exact=True)
        value = _typed(node.value, binding.target_type)
        return _apply(attribute, node.op, value, case_exact=binding.case_exact)

    def visit_value_path(self, node: ValuePath) -> ColumnElement[bool]:
        try:
            binding = self.filter.resolve(node.attr_path)
        except InvalidFilterException:
            if self.at_root:
                return false()
            raise
        if binding.urn.lower() != CORE_USER + "emails":
            raise InvalidFilterException(detail=f"Kudos can't filter on {node.attr_path}")
        return EmailEntryFilter().visit(node.val_filter)

    def _attribute(self, node: Comparison | Present) -> tuple[Attribute, Any]:
        try:
            binding = self.filter.resolve_comparison(node.attr_path)
        except InvalidFilterException:
            if self.at_root:
                return MISSING, None
            raise
        found = self.attributes.get(binding.urn.lower())
        if found is None:
            raise InvalidFilterException(
                detail=f"Kudos can't filter on {binding.urn.rsplit(':', 1)[-1]}"
            )
        return found, binding


class EmailEntryFilter(FilterVisitor[ColumnElement[bool]]):
    """A filter inside ``emails[...]``, on the person's one address."""

    def visit_logical_expr(self, node: LogicalExpr) -> ColumnElement[bool]:
        join = and_ if node.op == LogicalOperator.and_ else or_
        return join(*(self.visit(term) for term in node.terms))

    def visit_not(self, node: Not) -> ColumnElement[bool]:
        return _negated(self.visit(node.expr))

    def visit_present(self, node: Present) -> ColumnElement[bool]:
        if node.attr_path.attr.lower() == "primary":
            return true()
        return _apply(
            self._attribute(node.attr_path.attr), CompareOperator.ne, None, case_exact=True
        )

    def visit_comparison(self, node: Comparison) -> ColumnElement[bool]:
        name = node.attr_path.attr
        if name.lower() == "primary":
            value = _typed(node.value, bool)
            if node.op not in (CompareOperator.eq, CompareOperator.ne):
                raise InvalidFilterException(detail="primary compares with eq or ne")
            return true() if value is (node.op == CompareOperator.eq) else false()
        value = _typed(node.value, str)
        return _apply(self._attribute(name), node.op, value, case_exact=False)

    def visit_value_path(self, node: ValuePath) -> ColumnElement[bool]:
        raise InvalidFilterException(detail="Value filters don't nest")

    @staticmethod
    def _attribute(name: str) -> Attribute:
        found = EMAIL_ENTRY.get(name.lower())
        if found is None:
            raise InvalidFilterException(detail=f"Kudos can't filter on emails.{name}")
        return found


def _comparisons(node: FilterNode) -> int:
    if isinstance(node, LogicalExpr):
        return sum(_comparisons(term) for term in node.terms)
    if isinstance(node, Not):
        return _comparisons(node.expr)
    if isinstance(node, ValuePath):
        return _comparisons(node.val_filter)
    return 1


def _negated(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """``not``, where SQL's unknown (a comparison with a missing value) is
    false, so that ``not`` matches the resources without the attribute."""
    return not_(func.coalesce(condition, false()))


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
        try:
            moment = (
                value
                if isinstance(value, datetime)
                else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            )
            return as_utc(moment)
        except (ValueError, OverflowError):
            raise InvalidFilterException(detail=f"{value!r} is not a dateTime") from None
    if value is not None and not isinstance(value, str):
        raise InvalidFilterException(detail=f"{value!r} is not a string")
    return value


def _apply(
    attribute: Attribute, op: CompareOperator, value: Any, *, case_exact: bool
) -> ColumnElement[bool]:
    if op == CompareOperator.ne and value is not None:
        # Not equal: everything ``eq`` doesn't match, missing values included.
        return _negated(_apply(attribute, CompareOperator.eq, value, case_exact=case_exact))
    if attribute.equals is not None and op == CompareOperator.eq and isinstance(value, str):
        return attribute.equals(value.lower() if attribute.lowered else value)
    if attribute.through is not None:
        return attribute.through(
            lambda column: _compare(column, op, value, case_exact=case_exact, lowered=False)
        )
    column = attribute.column() if attribute.column is not None else null()
    return _compare(column, op, value, case_exact=case_exact, lowered=attribute.lowered)


def _compare(
    column: ColumnElement[Any],
    op: CompareOperator,
    value: Any,  # noqa: ANN401
    *,
    case_exact: bool,
    lowered: bool,
) -> ColumnElement[bool]:
    if value is None:  # ``pr``, and eq/ne null
        present = (
            and_(column.is_not(None), column != "") if _is_text(column) else column.is_not(None)
        )
        return _negated(present) if op == CompareOperator.eq else present
    if not isinstance(value, str):
        return _ordered(column, op, value)
    if op in (CompareOperator.co, CompareOperator.sw, CompareOperator.ew):
        return _like(column, op, value, case_exact=case_exact, lowered=lowered)
    if case_exact:
        return _ordered(column, op, value)
    if lowered:
        return _ordered(column, op, value.lower())
    # SQL's lower() lowers ASCII only (SQLite, PostgreSQL in the C locale):
    # a value is found at least by its own spelling.
    return or_(_ordered(column, op, value), _ordered(func.lower(column), op, value.lower()))


def _is_text(column: ColumnElement[Any]) -> bool:
    try:
        return column.type.python_type is str
    except NotImplementedError:
        return False


def _ordered(column: ColumnElement[Any], op: CompareOperator, value: Any) -> ColumnElement[bool]:  # noqa: ANN401
    if isinstance(value, bool) and op not in (CompareOperator.eq,):
        raise InvalidFilterException(detail=f"{op.value} does not compare true or false")
    return {
        CompareOperator.eq: lambda: column == value,
        CompareOperator.gt: lambda: column > value,
        CompareOperator.ge: lambda: column >= value,
        CompareOperator.lt: lambda: column < value,
        CompareOperator.le: lambda: column <= value,
    }[op]()


def _like(
    column: ColumnElement[Any], op: CompareOperator, value: str, *, case_exact: bool, lowered: bool
) -> ColumnElement[bool]:
    """co, sw, ew: LIKE with the value's wildcards made literal."""
    patterns = {"co": "%{}%", "sw": "{}%", "ew": "%{}"}[op.value]
    if case_exact:
        # SQLite's LIKE ignores ASCII case: replace() does not.
        pattern = patterns.format(escape_like(value))
        exact = func.replace(column, value, "") != column if value else true()
        if op == CompareOperator.sw:
            exact = func.substr(column, 1, len(value)) == value
        elif op == CompareOperator.ew:
            exact = func.substr(column, func.length(column) - len(value) + 1) == value
        return and_(column.like(pattern, escape="\\"), exact)
    lowered_pattern = patterns.format(escape_like(value.lower()))
    if lowered:
        return column.like(lowered_pattern, escape="\\")
    return or_(
        column.like(patterns.format(escape_like(value)), escape="\\"),
        func.lower(column).like(lowered_pattern, escape="\\"),
    )
