"""Fuzzed SCIM filters and PATCH bodies: never a 5xx, never a partial
write, never SQL built from a value.

Filters come from a grammar (RFC 7644 §3.4.2.2: attribute paths real and
unknown, every operator, hostile string values, numbers, booleans, dates,
``and``/``or``/``not``, parentheses, value paths), mangled, or are raw
text; they go to ``/Users`` and ``/Groups`` (by GET and by POST
``.search``) with random ``startIndex``, ``count``, ``attributes`` and
``excludedAttributes``. Filters whose answer is known (on userName,
externalId, id, meta dates, a group's name and members, joined with
and/or/not) must find exactly the resources worked out from the directory
in Python. Every statement the requests send is captured: a value must
only ever be a bound parameter.

PATCH bodies (any op, path and value, broken bodies, bytes that are not
JSON) go to provisioned users and groups and to a person and a team SCIM
has not written yet: an error leaves the whole database as it was; a
success is what a GET reads back.

The deterministic tests at the end are the cases found along the way.
"""

from __future__ import annotations

import json
import operator
import re
import string
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Union

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from scim2_models import ListResponse, PatchOp, ResponseParameters, SearchRequest
from scim2_models.path import Path
from sqlalchemy import Connection, event, select
from sqlalchemy.orm import Session

import kudos.models  # noqa: F401 - every table, for the snapshots
from kudos.db import Base
from kudos.scim import views as scim_views
from tests.scim_client import ENTERPRISE, GROUP, PATCH_OP, USER, user

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
# The scimType of a 400 (RFC 7644 §3.12).
# (invalidPath: a search's attributes or excludedAttributes.)
FILTER_ERRORS = {"invalidFilter", "invalidValue", "invalidSyntax", "invalidPath"}
PATCH_ERRORS = FILTER_ERRORS | {"noTarget", "mutability", "uniqueness"}
# Each fuzzed string value carries this, so that a value written into a
# statement's text is found whatever else the value holds.
MARK = "zqxfuzzmark"
# As the other property tests, but without the explain phase: it replays a
# failure a hundred times more (~15 s) to say which lines it ran.
FUZZ: dict[str, Any] = {
    "deadline": None,
    "derandomize": True,
    "suppress_health_check": list(HealthCheck),
    "phases": [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
}


# -- the directory ---------------------------------------------------------


@pytest.fixture(autouse=True)
def models_kept() -> Iterator[list[type]]:
    """The request models scim2-server parametrizes on each request, held
    for the test. Pydantic keeps parametrized models only weakly: after
    each garbage collection the next request builds them again (~65 ms
    instead of ~5 ms a request). Held, the examples spend their time on
    requests. Nothing but speed depends on it."""
    handler = getattr(scim_views, "_handler", None)
    if handler is None:
        yield []
        return
    models = handler().service.get_models()
    every = Union[tuple(models)]  # noqa: UP007 - as scim2-server spells it
    kept: list[type] = [SearchRequest[every], ListResponse[every]]
    for model in models:
        kept += [ResponseParameters[model], SearchRequest[model], PatchOp[model], Path[model]]
    yield kept


@pytest.fixture
def directory(scim, make) -> dict[str, Any]:
    """People and teams to search and patch: provisioned ones (a manager
    and her report, an inactive person, groups) and ones SCIM has not
    written (known by e-mail, with ``%``, ``_`` and ``\\`` in addresses)."""
    for email in (
        "50%off@acme.example.com",
        "50xoff@acme.example.com",
        "a_b@acme.example.com",
        "axb@acme.example.com",
        "back\\slash@acme.example.com",
    ):
        make.person(email=email)
    make.person(name="Zoë Ünal", email="zoe@acme.example.com", title="Ünternehmerin")
    make.team("Legacy Team")
    ada = _created(
        scim.post(
            "/Users",
            user(
                "Ada@acme.example.com",
                externalId="ext-ADA",
                title="Engineer",
                name={"givenName": "Ada", "familyName": "Lovelace"},
                **{ENTERPRISE: {"department": "R&D"}},
            ),
        )
    )
    grace = _created(
        scim.post(
            "/Users",
            user(
                "grace@acme.example.com",
                externalId="ext-grace",
                displayName="Grace Hopper",
                **{ENTERPRISE: {"department": "R&D", "manager": {"value": ada["id"]}}},
            ),
        )
    )
    gone = _created(scim.post("/Users", user("gone@acme.example.com", active=False)))
    core = _created(
        scim.post(
            "/Groups",
            {
                "schemas": [GROUP],
                "displayName": "Core",
                "externalId": "grp-core",
                "members": [{"value": ada["id"]}, {"value": grace["id"]}],
            },
        )
    )
    _created(scim.post("/Groups", {"schemas": [GROUP], "displayName": "50% Club"}))
    _created(scim.post("/Groups", {"schemas": [GROUP], "displayName": "50x Club"}))
    users = _listed(scim, "/Users")
    groups = _listed(scim, "/Groups")
    return {
        "ada": ada,
        "grace": grace,
        "gone": gone,
        "core": core,
        "users": users,
        "groups": groups,
        "plain_user": next(u for u in users if u["userName"] == "zoe@acme.example.com"),
        "plain_team": next(g for g in groups if g["displayName"] == "Legacy Team"),
    }


def _created(response) -> dict[str, Any]:
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _listed(scim, path: str) -> list[dict[str, Any]]:
    response = scim.get(path, query_string={"count": "500"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["Resources"]


# -- what every answer must be -------------------------------------------


def assert_scim_answer(response, scim_types: set[str]) -> dict[str, Any]:
    """A SCIM JSON answer: 200, or a SCIM error that is the client's fault
    (4xx; a 400 says which, among ``scim_types``), never the server's."""
    assert response.status_code < 500, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/scim+json", response.mimetype
    body = json.loads(response.get_data(as_text=True))
    assert isinstance(body, dict), body
    if response.status_code >= 400:
        assert body["schemas"] == [ERROR], body
        assert str(body["status"]) == str(response.status_code), body
        if response.status_code == 400:
            assert body.get("scimType") in scim_types, body
    else:
        assert response.status_code == 200, (response.status_code, body)
    return body


@contextmanager
def sql_sent(connection: Connection) -> Iterator[list[tuple[str, str]]]:
    """Each statement sent on ``connection`` while the block runs, with its
    parameters as text (``tests/statements.py`` keeps the text only)."""
    seen: list[tuple[str, str]] = []

    def listener(_conn, _cursor, statement, parameters, *_args) -> None:
        seen.append((statement, repr(parameters).lower()))

    event.listen(connection, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", listener)


def assert_values_bound(seen: list[tuple[str, str]], values: list[str]) -> None:
    """No value is in the text of a statement: values are parameters. (A
    short value such as "a" is in any statement's text, hence the mark.)"""
    for statement, _ in seen:
        lowered = statement.lower()
        assert MARK not in lowered, statement
        for value in values:
            if len(value) >= 12:
                assert value.lower() not in lowered, (value, statement)


def database_state(session: Session) -> dict[str, list[str]]:
    """Every row of every table, as text. A refused request leaves all of
    it as it was: people (their columns, ``profile_sources``, manager,
    team, active), SCIM links, teams, departments, former slugs, tokens,
    the audit log..."""
    return {
        table.name: sorted(repr(tuple(row)) for row in session.execute(select(table)))
        for table in Base.metadata.sorted_tables
    }


@contextmanager
def rolled_back(session: Session) -> Iterator[None]:
    """What the block writes is undone afterwards, for the next example."""
    nested = session.begin_nested()
    try:
        yield
    finally:
        nested.rollback()
        # Rows loaded inside would otherwise stay in the identity map.
        session.expunge_all()


# -- filters ---------------------------------------------------------------


def any_case(word: str) -> st.SearchStrategy[str]:
    return st.lists(st.booleans(), min_size=len(word), max_size=len(word)).map(
        lambda flips: "".join(
            c.upper() if flip else c.lower() for c, flip in zip(word, flips, strict=True)
        )
    )


USER_PATHS = [
    "userName",
    "externalId",
    "id",
    "displayName",
    "title",
    "active",
    "emails",
    "emails.value",
    "emails.type",
    "emails.primary",
    "name.givenName",
    "name.familyName",
    "meta.created",
    "meta.lastModified",
    "meta.resourceType",
    "groups",
    "groups.value",
    f"{ENTERPRISE}:department",
    f"{ENTERPRISE}:manager",
    f"{ENTERPRISE}:manager.value",
    f"{ENTERPRISE}:manager.displayName",
    f"{USER}:userName",
    f"{USER}:name.givenName",
]
GROUP_PATHS = [
    "displayName",
    "externalId",
    "id",
    "members",
    "members.value",
    "members.type",
    "meta.created",
    "meta.lastModified",
    f"{GROUP}:displayName",
]
BOGUS_PATHS = [
    "bogus",
    "userName.bogus",
    "name.bogus.deeper",
    "urn:bogus:schema:attr",
    f"{ENTERPRISE}:bogus",
    "emails.value.x",
    "$ref",
    "a-b",
    "_x",
    "9lives",
]
OPERATORS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]
NASTY = [
    "",
    " ",
    '"',
    "\\",
    '\\"',
    "'",
    "''",
    "%",
    "_",
    "%_%",
    "\\%",
    "';--",
    '"; DROP TABLE person;--',
    "' OR '1'='1",
    ") OR (1=1",
    "\x00",
    "a\x00b",
    "\x1f\x7f",
    "\u2028",
    "é",
    "Ü",
    "ß",
    "İ",
    "😀",
    "\ud7ff",
    "@acme.example.com",
    "50%",
    "a_b",
    "]",
    "[",
    " and ",
    " or ",
    "not (",
]


def _json_text(text: str, ascii_only: bool) -> str:
    return json.dumps(text, ensure_ascii=ascii_only)


def _marked(before: str, after: str) -> str:
    return before + MARK + after


# A string value: hostile text around the mark, as a JSON string.
marked_text = st.builds(
    _marked,
    st.one_of(st.sampled_from(NASTY), st.text(max_size=8)),
    st.one_of(st.sampled_from(NASTY), st.text(max_size=8)),
)
string_literal = st.builds(_json_text, marked_text, st.booleans())
# A string written by hand: unescaped quotes and backslashes, raw control
# characters.
raw_string_literal = st.builds(lambda inner: f'"{inner}"', st.text(max_size=10))
number_literal = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["1e400", "-0", "0.0", "1.", ".5", "01", "1e-400", "0x10", "NaN", "Infinity"]),
)
OFFSETS = [UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=14))]
# At the ends of the calendar, where the offset takes UTC past them.
edge_dates = st.one_of(
    st.datetimes(min_value=datetime(9999, 12, 31, 10, 0, 1), timezones=st.just(OFFSETS[2])),
    st.datetimes(max_value=datetime(1, 1, 1, 13, 59), timezones=st.just(OFFSETS[1])),
)
date_literal = st.one_of(
    edge_dates.map(lambda moment: json.dumps(moment.isoformat())),
    st.datetimes(timezones=st.one_of(st.none(), st.sampled_from(OFFSETS))).map(
        lambda moment: json.dumps(moment.isoformat())
    ),
    st.sampled_from(
        [
            '"2026-01-01T00:00:00Z"',
            '"2026-01-01T00:00:00.1234567Z"',
            '"2026-02-30T00:00:00Z"',
            '"2026-01-01"',
            '"2026-01-01T00:00:00+25:00"',
            '"yesterday"',
            "1767225600",
        ]
    ),
)
literal = st.one_of(
    string_literal,
    string_literal,
    raw_string_literal,
    number_literal,
    date_literal,
    st.sampled_from(["true", "false", "null", "True", "FALSE", "Null"]),
)


@st.composite
def attribute_path(draw: st.DrawFn, paths: list[str]) -> str:
    path = draw(st.sampled_from(paths + BOGUS_PATHS))
    return draw(any_case(path)) if draw(st.booleans()) else path


@st.composite
def comparison(draw: st.DrawFn, paths: list[str]) -> str:
    """``attr op value`` or ``attr pr``; the value often of the attribute's
    type (a date for meta's, a boolean for active), else anything."""
    path = draw(
        st.one_of(
            attribute_path(paths),
            attribute_path(paths),
            st.sampled_from(["meta.created", "meta.lastModified", "active"]).flatmap(any_case),
        )
    )
    if draw(st.integers(0, 3)) == 0:
        return f"{path} {draw(any_case('pr'))}"
    typed = literal
    if "meta." in path.lower():
        typed = date_literal
    elif path.lower().endswith(("active", "primary")):
        typed = st.sampled_from(["true", "false", '"True"', '"false"', "null"])
    value = draw(st.one_of(typed, literal))
    return f"{path} {draw(st.sampled_from(OPERATORS).flatmap(any_case))} {value}"


def value_path(inner: st.SearchStrategy[str], paths: list[str]) -> st.SearchStrategy[str]:
    """``attr[filter]``, sometimes followed by what a filter can't hold."""
    return st.builds(
        lambda path, condition, sub: f"{path}[{condition}]{sub}",
        st.sampled_from(["emails", "members", "groups", "name", "title", "bogus", *paths]),
        inner,
        st.sampled_from(["", "", ".value", ".type", "[x]"]),
    )


def filter_expression(paths: list[str]) -> st.SearchStrategy[str]:
    """Filters from RFC 7644's grammar, nested up to five comparisons."""
    email_conditions = st.one_of(
        st.sampled_from(
            [
                'type eq "work"',
                "primary eq true",
                'primary eq "True"',
                "primary gt true",
                "value pr",
                "type pr",
                'display eq "x"',
            ]
        ),
        st.builds(lambda op, value: f"value {op} {value}", st.sampled_from(OPERATORS), literal),
    )

    def extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        keyword = st.sampled_from(["and", "or"]).flatmap(any_case)
        return st.one_of(
            st.builds(lambda a, k, b: f"{a} {k} {b}", children, keyword, children),
            st.builds(lambda a, k, b: f"({a}) {k} ({b})", children, keyword, children),
            st.builds(lambda n, a: f"{n} ({a})", any_case("not"), children),
            st.builds(lambda a: f"({a})", children),
            value_path(children | email_conditions, paths),
        )

    leaves = comparison(paths) | value_path(email_conditions, paths)
    return st.recursive(leaves, extend, max_leaves=5)


@st.composite
def mangled(draw: st.DrawFn, text: st.SearchStrategy[str]) -> str:
    """A filter with a piece cut out, or random text dropped in."""
    filter_text = draw(text)
    start = draw(st.integers(0, len(filter_text)))
    end = draw(st.integers(start, len(filter_text)))
    return filter_text[:start] + draw(st.text(max_size=4)) + filter_text[end:]


# The attributes Kudos searches, by the type of their values.
TYPED_PATHS = {
    "/Users": {
        "text": [
            "userName",
            "externalId",
            "id",
            "displayName",
            "title",
            f"{ENTERPRISE}:department",
            f"{ENTERPRISE}:manager.value",
            f"{USER}:userName",
        ],
        "date": ["meta.created", "meta.lastModified"],
    },
    "/Groups": {
        "text": ["displayName", "externalId", "id", "members", "members.value"],
        "date": ["meta.created", "meta.lastModified"],
    },
}
marked_address = st.builds(
    lambda local: json.dumps(f"{local}{MARK}@acme.example.com"),
    st.sampled_from(["", "50%", "a_b", "o'neil", "x+y"]),
)


def typed_filter(endpoint: str) -> st.SearchStrategy[str]:
    """Filters that mostly reach the database: attributes Kudos searches,
    each with a value of its type, joined with and/or/not."""
    paths = TYPED_PATHS[endpoint]
    text_paths = st.sampled_from(paths["text"]).flatmap(any_case)
    dated = st.builds(
        "{} {} {}".format,
        st.sampled_from(paths["date"]).flatmap(any_case),
        st.sampled_from(["eq", "ne", "gt", "ge", "lt", "le"]),
        date_literal,
    )
    leaves = [
        st.builds("{} {} {}".format, text_paths, st.sampled_from(OPERATORS), string_literal),
        st.builds("{} pr".format, text_paths),
        dated,
        dated,
    ]
    if endpoint == "/Users":  # active, and the person's one address
        leaves.append(
            st.builds(
                "active {} {}".format,
                st.sampled_from(["eq", "ne"]),
                st.sampled_from(["true", "false", '"True"', '"False"']),
            )
        )
        leaves.append(
            st.builds(
                "emails[{} {} {}]".format,
                st.sampled_from(["value", "type"]),
                st.sampled_from(OPERATORS),
                st.one_of(string_literal, marked_address),
            )
        )
        leaves.append(
            st.builds("emails.value {} {}".format, st.sampled_from(OPERATORS), marked_address)
        )

    def extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.builds("({}) and ({})".format, children, children),
            st.builds("({}) or ({})".format, children, children),
            st.builds("not ({})".format, children),
        )

    return st.recursive(st.one_of(*leaves), extend, max_leaves=4)


def any_filter(endpoint: str) -> st.SearchStrategy[str]:
    grammar = filter_expression(USER_PATHS if endpoint == "/Users" else GROUP_PATHS)
    typed = typed_filter(endpoint)
    return st.one_of(
        typed,
        typed,
        typed,
        grammar,
        grammar,
        mangled(grammar),
        st.text(max_size=30),
        st.sampled_from(
            ['userName eq "', "(((", ")", "not", "and", 'a eq "b" or', "[]", 'emails[type eq "w"']
        ),
    )


@st.composite
def search_parameters(draw: st.DrawFn, paths: list[str]) -> dict[str, str]:
    """Often none; else paging and attributes, as a client sends them or
    not (a bad one is a 400 before the filter is read)."""
    kind = draw(st.sampled_from(["none", "none", "valid", "any"]))
    if kind == "none":
        return {}
    if kind == "valid":
        number = st.integers(0, 20).map(str)
        attributes = st.lists(st.sampled_from(paths), min_size=1, max_size=3).map(",".join)
    else:
        number = st.one_of(
            st.integers(-3, 40).map(str),
            st.sampled_from(["0", "-1", "abc", "1e3", "99999999999999999999", "", " 2", "1.5"]),
        )
        attributes = st.lists(attribute_path(paths), max_size=3).map(",".join)
    parameters = {}
    for name, values in (("startIndex", number), ("count", number), ("attributes", attributes)):
        if draw(st.booleans()):
            parameters[name] = draw(values)
    # Both at once are a 400 (mutually exclusive): only when anything goes.
    if (kind == "any" or "attributes" not in parameters) and draw(st.booleans()):
        parameters["excludedAttributes"] = draw(attributes)
    return parameters


def string_values(filter_text: str) -> list[str]:
    """The JSON string values a filter holds (those that decode)."""
    values = []
    for match in re.finditer(r'"(?:[^"\\]|\\.)*"', filter_text):
        try:
            values.append(json.loads(match.group()))
        except ValueError:
            continue
    return values


def search(scim, connection: Connection, endpoint: str, filter_text: str, **options: Any):
    """Search with ``filter_text`` (by GET, or by POST ``.search`` when
    ``post``), and check the answer is SCIM's and the SQL holds no value."""
    parameters: dict[str, str] = options.get("parameters", {})
    with sql_sent(connection) as seen:
        if options.get("post"):
            body: dict[str, Any] = {"schemas": [SEARCH_REQUEST], "filter": filter_text}
            for name, value in parameters.items():
                body[name] = value.split(",") if name.endswith("ttributes") else value
            response = scim.post(endpoint + "/.search", body)
        else:
            response = scim.get(endpoint, query_string={"filter": filter_text, **parameters})
    body = assert_scim_answer(response, FILTER_ERRORS)
    values = string_values(filter_text)
    assert_values_bound(seen, values)
    if response.status_code == 200:
        assert body["schemas"] == [LIST_RESPONSE], body
        assert isinstance(body["totalResults"], int), body
        assert len(body.get("Resources", [])) <= body["totalResults"]
        kinds = {"/Groups": {"Group"}, "/Users": {"User"}}.get(endpoint, {"User", "Group"})
        for resource in body.get("Resources", []):
            assert resource["id"], resource
            assert resource.get("meta", {}).get("resourceType") in kinds, resource
        if any(MARK in value for value in values):
            # The value did reach the database: as a parameter.
            assert any(MARK in parameters for _, parameters in seen), filter_text
    return response


@settings(max_examples=150, **FUZZ)
@given(data=st.data())
def test_fuzzed_filters_answer_in_scim_and_bind_their_values(scim, connection, directory, data):
    endpoint = data.draw(st.sampled_from(["/Users", "/Groups"]), label="endpoint")
    paths = USER_PATHS if endpoint == "/Users" else GROUP_PATHS
    filter_text = data.draw(any_filter(endpoint), label="filter")
    parameters = data.draw(search_parameters(paths), label="parameters")
    post = data.draw(st.integers(0, 4), label="post") == 0
    search(scim, connection, endpoint, filter_text, parameters=parameters, post=post)


# -- filters whose answer is known ---------------------------------------

Known = tuple[str, set[str]]  # a filter, and the ids it must find

# Pieces of userNames whose LIKE wildcards must match themselves only.
WILDCARD_PIECES = ["50%", "%off", "0%o", "a_b", "_b@", "%", "_", "\\", "k\\s", "%_", "50_"]
COMPARED: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@st.composite
def known_meta_filter(draw: st.DrawFn, resources: list[dict[str, Any]]) -> Known:
    """A comparison with one resource's meta.created or meta.lastModified."""
    attribute = draw(st.sampled_from(["created", "lastModified"]))
    op = draw(st.sampled_from(sorted(COMPARED)))
    moment = draw(st.sampled_from(resources))["meta"][attribute]
    found = {
        resource["id"]
        for resource in resources
        if COMPARED[op](_moment(resource["meta"][attribute]), _moment(moment))
    }
    return f"meta.{attribute} {op} {json.dumps(moment)}", found


@st.composite
def known_user_filter(draw: st.DrawFn, users: list[dict[str, Any]]) -> Known:
    """A filter on userName, externalId, id or meta, and the ids it must
    find, worked out in Python from the users as listed."""
    chosen = draw(st.sampled_from(users))
    kind = draw(st.sampled_from(["userName", "piece", "externalId", "id", "meta"]))
    if kind == "userName":
        wanted = draw(any_case(chosen["userName"]))
        found = {u["id"] for u in users if u["userName"].lower() == wanted.lower()}
        return f"userName {draw(any_case('eq'))} {json.dumps(wanted)}", found
    if kind == "piece":
        name = chosen["userName"]
        start = draw(st.integers(0, len(name)))
        end = draw(st.integers(start, len(name)))
        op = draw(st.sampled_from(["sw", "ew", "co"]))
        piece = {"sw": name[:end], "ew": name[start:], "co": name[start:end]}[op]
        piece = draw(st.one_of(any_case(piece), st.sampled_from(WILDCARD_PIECES)))
        test = {"sw": str.startswith, "ew": str.endswith, "co": str.__contains__}[op]
        found = {u["id"] for u in users if test(u["userName"].lower(), piece.lower())}
        return f"userName {op} {json.dumps(piece)}", found
    if kind == "externalId":  # case-exact
        wanted = chosen.get("externalId") or "ext-none"
        wanted = draw(st.sampled_from([wanted, wanted.upper(), wanted.lower()]))
        found = {u["id"] for u in users if u.get("externalId") == wanted}
        return f"externalId eq {json.dumps(wanted)}", found
    if kind == "meta":
        return draw(known_meta_filter(users))
    return f"id eq {json.dumps(chosen['id'])}", {chosen["id"]}


@st.composite
def known_group_filter(draw: st.DrawFn, groups: list[dict[str, Any]]) -> Known:
    chosen = draw(st.sampled_from(groups))
    kind = draw(st.sampled_from(["displayName", "sw", "members", "id", "meta"]))
    if kind == "displayName":
        wanted = draw(any_case(chosen["displayName"]))
        found = {g["id"] for g in groups if g["displayName"].lower() == wanted.lower()}
        return f"displayName eq {json.dumps(wanted)}", found
    if kind == "sw":
        piece = draw(st.sampled_from(["50%", "50_", "50", "%", "_", "core", "C"]))
        found = {g["id"] for g in groups if g["displayName"].lower().startswith(piece.lower())}
        return f"displayName sw {json.dumps(piece)}", found
    if kind == "members":
        member = draw(st.sampled_from([m["value"] for g in groups for m in g.get("members", [])]))
        path = draw(st.sampled_from(["members", "members.value"]))
        found = {g["id"] for g in groups if member in [m["value"] for m in g.get("members", [])]}
        return f"{path} eq {json.dumps(member)}", found
    if kind == "meta":
        return draw(known_meta_filter(groups))
    return f"id eq {json.dumps(chosen['id'])}", {chosen["id"]}


@st.composite
def combined(
    draw: st.DrawFn, known: st.SearchStrategy[Known], every: set[str], depth: int = 2
) -> Known:
    """Known filters joined with and, or and not, and what they find."""
    how = draw(st.sampled_from(["leaf", "not", "not", "and", "or"] if depth else ["leaf"]))
    if how == "leaf":
        return draw(known)
    one = draw(combined(known, every, depth - 1))
    if how == "not":
        return f"not ({one[0]})", every - one[1]
    other = draw(combined(known, every, depth - 1))
    if how == "and":
        return f"({one[0]}) and ({other[0]})", one[1] & other[1]
    return f"({one[0]}) or ({other[0]})", one[1] | other[1]


@settings(max_examples=100, **FUZZ)
@given(data=st.data())
def test_filters_with_a_known_answer_find_exactly_it(scim, connection, directory, data):
    endpoint = data.draw(st.sampled_from(["/Users", "/Groups"]), label="endpoint")
    resources = directory["users" if endpoint == "/Users" else "groups"]
    every = {resource["id"] for resource in resources}
    known = known_user_filter(resources) if endpoint == "/Users" else known_group_filter(resources)
    filter_text, expected = data.draw(combined(known, every), label="filter and ids")
    post = data.draw(st.booleans(), label="post")
    response = search(
        scim, connection, endpoint, filter_text, parameters={"count": "500"}, post=post
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert {resource["id"] for resource in body.get("Resources", [])} == expected, filter_text
    assert body["totalResults"] == len(expected), filter_text


# -- PATCH -----------------------------------------------------------------

huge_text = st.builds(
    lambda piece, times: piece * times,
    st.sampled_from(["a", "é", "\x00", " ", "%", "😀", "a\n"]),
    st.integers(10_001, 12_000),
)
# Text a provider would send, and text none should.
plain_text = st.one_of(
    st.sampled_from(["Ada", "Ada Lovelace", "Engineering", "R&D", "Staff Engineer", "ext-77"]),
    st.text(string.ascii_letters + " -", min_size=1, max_size=12),
    st.just(f"Marked {MARK}"),
)
texts = st.one_of(
    plain_text,
    plain_text,
    plain_text,
    marked_text,
    st.sampled_from(NASTY),
    st.text(max_size=12),
    st.text(st.characters(max_codepoint=0x9F), max_size=6),  # control characters
    huge_text,
)
addresses = st.one_of(
    st.sampled_from(
        [
            "ada@acme.example.com",
            "Ada.New@acme.example.com",
            "grace@acme.example.com",  # another provisioned user's
            "GRACE@ACME.EXAMPLE.COM",
            "zoe@acme.example.com",  # a person SCIM has not written
            "new@acme.example.com",
            "50%off@acme.example.com",
            "not an address",
            "a@b",
            "@acme.example.com",
            "x@acme.example.com\x00",
            "zoë@acme.example.com",
            "ÄDA@acme.example.com",
        ]
    ),
    st.builds(lambda local: f"{local}@acme.example.com", st.text(max_size=8)),
    texts,
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(
            st.one_of(
                st.sampled_from(["value", "type", "primary", "display", "$ref"]),
                st.text(max_size=6),
            ),
            children,
            max_size=3,
        ),
    ),
    max_leaves=6,
)
OPS = ["add", "replace", "remove", "Add", "Replace", "Remove", "ADD", "REPLACE", "REMOVE"]
BAD_OPS = ["move", "copy", "test", "", " add", "delete", "ADD "]
MALFORMED_PATHS = [
    "",
    " ",
    ".",
    "[",
    "]",
    "emails[",
    'emails[type eq "work"',
    'emails[type eq "work"]]',
    "emails[]",
    'emails[type eq "work"]..value',
    "emails[bogus eq 1].value",
    'emails[type eq "work"].bogus',
    'emails[type eq "work"][value pr]',
    "name..givenName",
    "name.",
    f"{ENTERPRISE}:",
    f"{ENTERPRISE}:manager.value.x",
    "urn:",
    'userName eq "x"',
    "members[value eq]",
    'members[value eq "x"].display.x',
]


def manager_values(ids: list[str]) -> st.SearchStrategy[Any]:
    """A manager as the providers send it: an id, ``{"value": id}``, or a
    list of one (Entra)."""
    named = st.one_of(st.sampled_from(ids), texts)
    return st.one_of(
        named,
        st.builds(lambda value: {"value": value}, named),
        st.builds(lambda value: [value], named),
        st.builds(lambda value: [{"value": value}], named),
        st.builds(lambda value: {"value": value, "displayName": "x"}, named),
    )


def email_entries() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"value": addresses},
        optional={
            "type": st.one_of(st.sampled_from(["work", "home", "Work", "other"]), texts),
            "primary": st.one_of(st.booleans(), scalars),
            "display": texts,
        },
    )


def user_values(directory: dict[str, Any]) -> dict[str, st.SearchStrategy[Any]]:
    """Each User path, and values that fit it (or nearly: texts are hostile)."""
    ids = [
        directory["grace"]["id"],  # Ada's report: a cycle for Ada
        directory["ada"]["id"],
        directory["gone"]["id"],
        directory["plain_user"]["id"],
        directory["core"]["id"],  # a group
        "ext-grace",
        "nobody-yet",
    ]
    managers = manager_values(ids)
    name = st.fixed_dictionaries(
        {},
        optional={"givenName": texts, "familyName": texts, "formatted": texts, "bogus": texts},
    )
    enterprise = st.fixed_dictionaries({}, optional={"department": texts, "manager": managers})
    return {
        "userName": st.one_of(addresses, texts),
        "displayName": texts,
        "title": texts,
        "active": st.one_of(
            st.booleans(), st.sampled_from(["True", "False", "false", "yes", 1, 0, None])
        ),
        "externalId": st.one_of(texts, st.sampled_from(["ext-grace", "ext-ADA", "ext-new"])),
        "name": name,
        "name.givenName": texts,
        "name.familyName": texts,
        "name.formatted": texts,
        "emails": st.one_of(st.lists(email_entries(), max_size=3), email_entries()),
        'emails[type eq "work"].value': addresses,
        'emails[type eq "home"].value': addresses,
        'emails[type eq "work"]': email_entries(),
        "emails[primary eq true].value": addresses,
        'emails[value eq "Ada@acme.example.com"].type': texts,
        "emails.value": addresses,
        f"{ENTERPRISE}:department": texts,
        f"{ENTERPRISE}:manager": managers,
        f"{ENTERPRISE}:manager.value": st.one_of(st.sampled_from(ids), texts),
        ENTERPRISE: enterprise,
        "groups": st.lists(st.fixed_dictionaries({"value": st.sampled_from(ids)}), max_size=2),
        "id": texts,
        "meta.lastModified": st.sampled_from(["2026-01-01T00:00:00Z", "never"]),
        "schemas": st.lists(st.sampled_from([USER, ENTERPRISE, "urn:bogus"]), max_size=2),
        "bogus": json_values,
        "name.bogus": texts,
        "urn:bogus:schema:attr": json_values,
        f"{ENTERPRISE}:bogus": json_values,
    }


def group_values(directory: dict[str, Any]) -> dict[str, st.SearchStrategy[Any]]:
    """Each Group path, and values that fit it."""
    ids = [
        directory["ada"]["id"],
        directory["grace"]["id"],
        directory["gone"]["id"],
        directory["plain_user"]["id"],
        directory["core"]["id"],  # a group, not a user
        "nobody",
    ]
    member = st.fixed_dictionaries(
        {"value": st.one_of(st.sampled_from(ids), texts)},
        optional={
            "display": texts,
            "$ref": texts,
            "type": st.sampled_from(["User", "Group", "bogus"]),
        },
    )
    values = {
        "displayName": st.one_of(
            texts,
            st.sampled_from(["Core", "core", "50% Club", "Legacy Team", "New Team", "!!!", "  "]),
        ),
        "externalId": texts,
        "members": st.one_of(st.lists(member, max_size=3), member),
        "members.value": st.one_of(st.sampled_from(ids), texts),
        "id": texts,
        "schemas": st.lists(st.sampled_from([GROUP, "urn:bogus"]), max_size=2),
        "bogus": json_values,
        'members[value sw ""]': json_values,
    }
    for each in ids:
        values[f"members[value eq {json.dumps(each)}]"] = json_values
    return values


@st.composite
def patch_operation(
    draw: st.DrawFn, values: dict[str, st.SearchStrategy[Any]], *, clean: bool
) -> Any:
    """An operation: when ``clean``, a well-formed one whose value fits its
    path (which the directory's rules may still refuse); else anything."""
    op = draw(
        st.sampled_from(OPS)
        if clean
        else st.one_of(
            st.sampled_from(OPS),
            st.sampled_from(BAD_OPS),
            st.sampled_from([None, 1, ["add"], {"op": "add"}]),
        )
    )
    style = draw(
        st.sampled_from(
            ["path", "path", "path", "no path"] if clean else ["path", "no path", "bad", "random"]
        )
    )
    operation: dict[str, Any] = {"op": op}
    if style == "path":
        path = draw(st.sampled_from(sorted(values)))
        operation["path"] = draw(any_case(path)) if draw(st.integers(0, 4)) == 0 else path
        operation["value"] = draw(
            values[path] if clean else st.one_of(values[path], json_values, huge_text)
        )
    elif style == "no path":
        top = sorted(name for name in values if "." not in name and "[" not in name)
        attributes = st.sets(st.sampled_from(top), min_size=1, max_size=3).flatmap(
            lambda chosen: st.fixed_dictionaries({name: values[name] for name in sorted(chosen)})
        )
        operation["value"] = draw(attributes if clean else st.one_of(attributes, json_values))
    else:
        operation["path"] = draw(
            st.sampled_from(MALFORMED_PATHS) if style == "bad" else st.text(max_size=12)
        )
        operation["value"] = draw(json_values)
    if clean:
        if op.lower() == "remove" and operation.get("path") != "members":
            operation.pop("value")  # only Entra's removal of members names them
            operation.setdefault("path", draw(st.sampled_from(sorted(values))))
        return operation
    for key in ("op", "path", "value"):
        if key in operation and draw(st.integers(0, 3)) == 0:
            del operation[key]
    if draw(st.integers(0, 3)) == 0:
        operation[draw(st.sampled_from(["from", "Path", "VALUE", "extra"]))] = draw(json_values)
    if draw(st.integers(0, 5)) == 0:
        return draw(json_values)  # not an object
    return operation


@st.composite
def patch_body(draw: st.DrawFn, values: dict[str, st.SearchStrategy[Any]]) -> bytes:
    """A PATCH request body: mostly a PatchOp of clean operations, else one
    with broken operations, a broken envelope, JSON that is no PatchOp, or
    bytes that are not JSON."""
    shape = draw(st.integers(0, 19))
    if shape == 0:
        return draw(st.binary(max_size=40))
    if shape == 1:
        return json.dumps(draw(json_values)).encode()
    clean = draw(st.integers(0, 3)) > 0
    operations = draw(
        st.lists(patch_operation(values, clean=clean), min_size=1, max_size=3 if clean else 4)
    )
    body: dict[str, Any] = {"schemas": [PATCH_OP], "Operations": operations}
    if not clean:
        if shape == 2:
            body["schemas"] = draw(
                st.sampled_from([[], ["urn:bogus"], PATCH_OP, [PATCH_OP, USER], None])
            )
        elif shape == 3:
            del body["schemas"]
        elif shape == 4:
            body[draw(st.sampled_from(["operations", "OPERATIONS"]))] = body.pop("Operations")
        elif shape == 5:
            body["Operations"] = draw(st.one_of(json_values, st.just([])))
        elif shape == 6:
            body[draw(st.sampled_from(["id", "meta", "bogus", "schemas "]))] = draw(json_values)
    encoded = json.dumps(body, ensure_ascii=draw(st.booleans()))
    if shape == 7 and not clean:  # cut short
        encoded = encoded[: draw(st.integers(0, len(encoded) - 1))]
    return encoded.encode("utf-16" if shape == 8 and not clean else "utf-8")


content_types = st.sampled_from(
    ["application/scim+json"] * 16
    + ["application/json", "application/scim+json; charset=utf-8", "text/plain"]
)


def without_last_modified(resource: dict[str, Any]) -> dict[str, Any]:
    meta = {key: value for key, value in resource.get("meta", {}).items() if key != "lastModified"}
    return {**resource, "meta": meta}


def patch(scim, session: Session, connection: Connection, path: str, body: Any, **options: Any):
    """PATCH ``body`` (bytes as they are, else as JSON): an error changes
    nothing in the database; a success is what a GET reads back."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    content_type = options.get("content_type", "application/scim+json")
    before = database_state(session)
    with sql_sent(connection) as seen:
        response = scim.request("PATCH", path, data, headers={"Content-Type": content_type})
    answer = assert_scim_answer(response, PATCH_ERRORS)
    assert_values_bound(seen, [MARK] if MARK.encode() in data else [])
    if response.status_code >= 400:
        assert database_state(session) == before, answer
    else:
        read = scim.get(path)
        assert read.status_code == 200, read.get_json()
        assert without_last_modified(read.get_json()) == without_last_modified(answer)
    return response


@settings(max_examples=150, **FUZZ)
@given(data=st.data())
def test_fuzzed_user_patches_write_all_or_nothing(scim, session, connection, directory, data):
    target = data.draw(st.sampled_from(["ada", "ada", "grace", "gone", "plain_user"]))
    body = data.draw(patch_body(user_values(directory)), label="body")
    content_type = data.draw(content_types, label="content type")
    with rolled_back(session):
        path = f"/Users/{directory[target]['id']}"
        patch(scim, session, connection, path, body, content_type=content_type)


@settings(max_examples=100, **FUZZ)
@given(data=st.data())
def test_fuzzed_group_patches_write_all_or_nothing(scim, session, connection, directory, data):
    target = data.draw(st.sampled_from(["core", "core", "plain_team"]))
    body = data.draw(patch_body(group_values(directory)), label="body")
    content_type = data.draw(content_types, label="content type")
    with rolled_back(session):
        path = f"/Groups/{directory[target]['id']}"
        patch(scim, session, connection, path, body, content_type=content_type)


# -- cases found along the way -------------------------------------------


def _ids(response) -> set[str]:
    return {resource["id"] for resource in response.get_json().get("Resources", [])}


@pytest.mark.parametrize("endpoint", ["/Users", "/Groups"])
@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"])
def test_a_date_that_leaves_the_calendar_in_utc_is_the_clients_error(
    scim, connection, endpoint, moment
):
    # A 500: filters.as_utc turns the parsed value to UTC with
    # datetime.astimezone, whose OverflowError ("date value out of range")
    # is neither a SCIM error nor a ValueError the storage turns into one.
    search(scim, connection, endpoint, f'meta.lastModified gt "{moment}"')


def test_a_long_filter_is_answered_not_blamed_on_load(scim, connection, directory):
    # On SQLite, 995 or more terms make "Expression tree is too large"
    # (an OperationalError), answered 503 "Kudos is very busy" with
    # Retry-After: a client retries the same filter for ever.
    filter_text = " or ".join([f'userName eq "nobody{n}@acme.example.com"' for n in range(1000)])
    search(scim, connection, "/Users", filter_text)


def test_not_matches_the_people_without_the_attribute(scim, connection, directory):
    # "ne matches a missing value", but "not (eq)" did not: NOT NULL is NULL.
    zoe, grace = directory["plain_user"]["id"], directory["grace"]["id"]
    for filter_text, missing in [
        ('not (externalId eq "ext-ADA")', zoe),  # SCIM never wrote Zoë
        ('not (title eq "Engineer")', grace),  # Grace has no title
        (f'not ({ENTERPRISE}:department eq "R&D")', zoe),
        (f'not ({ENTERPRISE}:manager.value eq "someone")', zoe),
    ]:
        response = search(scim, connection, "/Users", filter_text, parameters={"count": "500"})
        assert missing in _ids(response), filter_text


def test_a_user_name_with_non_ascii_letters_is_found_by_its_own_value(scim, connection):
    # userName and displayName ignore case: the value is lowered in Python,
    # the column by SQL's lower(), which lowers ASCII only on SQLite and on
    # PostgreSQL in the C locale, so "ÉMILE" no longer equals itself. The
    # providers look a user up by userName before creating them: they
    # would not find Émile and create him again (409).
    emile = _created(scim.post("/Users", user("ÉMILE@acme.example.com")))
    equipe = _created(scim.post("/Groups", {"schemas": [GROUP], "displayName": "Équipe"}))
    found = search(scim, connection, "/Users", 'userName eq "ÉMILE@acme.example.com"')
    assert _ids(found) == {emile["id"]}
    found = search(scim, connection, "/Groups", 'displayName eq "Équipe"')
    assert _ids(found) == {equipe["id"]}


def test_case_exact_attributes_keep_their_case_in_sw_co_ew(scim, connection, directory):
    # externalId is case-exact (``eq`` is), but SQLite's LIKE ignores the
    # case of ASCII letters: "EXT-" found "ext-ADA" there.
    for filter_text in ['externalId sw "EXT-"', 'externalId co "EXT"', 'externalId ew "-ada"']:
        assert _ids(search(scim, connection, "/Users", filter_text)) == set(), filter_text


def test_display_name_filters_match_the_display_name_served(scim, connection, directory):
    # Ada was provisioned with name parts and no displayName: her User has
    # none, yet the filter (on the name Kudos shows) finds her.
    for filter_text in ["displayName pr", 'displayName eq "Ada Lovelace"']:
        response = search(scim, connection, "/Users", filter_text, parameters={"count": "500"})
        for resource in response.get_json()["Resources"]:
            assert resource.get("displayName"), (filter_text, resource)


def test_a_group_is_found_by_its_own_last_modified(scim, connection, directory):
    # The filter reads the SCIM link's updated_at, which is older than the
    # team's created_at that meta.lastModified shows for a new group.
    core = directory["core"]
    filter_text = f'meta.lastModified ge "{core["meta"]["lastModified"]}"'
    assert core["id"] in _ids(search(scim, connection, "/Groups", filter_text))


def test_a_search_at_the_root_reads_a_missing_attribute_as_no_value(scim, connection, directory):
    # RFC 7644 §3.4.2.1: an attribute a resource type lacks has no value
    # there. A Group has no userName, so the whole filter was dropped for
    # Groups instead of that comparison being false.
    core = directory["core"]["id"]
    for filter_text in [
        'displayName eq "Core" or userName eq "nobody@acme.example.com"',
        'not (userName eq "nobody@acme.example.com")',
    ]:
        response = search(scim, connection, "/", filter_text, parameters={"count": "500"})
        assert core in _ids(response), filter_text


def test_like_wildcards_in_a_filter_match_themselves(scim, connection, directory):
    by_name = {u["userName"]: u["id"] for u in directory["users"]}
    for filter_text, names in [
        ('userName sw "50%"', ["50%off@acme.example.com"]),
        ('userName sw "a_b"', ["a_b@acme.example.com"]),
        ('userName co "%O"', ["50%off@acme.example.com"]),
        ('userName co "\\\\"', ["back\\slash@acme.example.com"]),
        ('displayName sw "50%"', []),
    ]:
        found = search(scim, connection, "/Users", filter_text)
        assert _ids(found) == {by_name[name] for name in names}, filter_text
    groups = search(scim, connection, "/Groups", 'displayName sw "50%"')
    assert [g["displayName"] for g in groups.get_json()["Resources"]] == ["50% Club"]


@pytest.mark.parametrize(
    "value", ["a\x00b", "';--", '"', "\\", "%", "_", "\u2028", f"' OR '1'='1 {MARK}"]
)
def test_hostile_filter_values_are_bound_and_answered(scim, connection, value):
    _created(scim.post("/Users", user("ada@acme.example.com", title="O'Neil 100%")))
    # NUL is a 400 invalidValue on PostgreSQL (a DataError), nothing on SQLite.
    for filter_text in [f"userName eq {json.dumps(value)}", f"title co {json.dumps(value)}"]:
        search(scim, connection, "/Users", filter_text)
        search(scim, connection, "/Users", filter_text, post=True)


def test_deep_filters_are_refused_or_answered(scim, connection, directory):
    nested = search(scim, connection, "/Users", "not (" * 300 + "userName pr" + ")" * 300)
    assert nested.status_code == 400
    assert nested.get_json()["scimType"] == "invalidFilter"
    bracketed = search(scim, connection, "/Users", "(" * 2000 + "userName pr" + ")" * 2000)
    assert bracketed.status_code == 200


def test_a_patch_whose_last_operation_is_refused_writes_nothing(
    scim, session, connection, directory
):
    # The title is set and the new department created (and flushed, by
    # the cycle check's query) before the manager makes a reporting
    # cycle: all of it goes, audit entry and all.
    response = patch(
        scim,
        session,
        connection,
        f"/Users/{directory['ada']['id']}",
        {
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "replace", "path": "title", "value": "Chief"},
                {"op": "replace", "path": "active", "value": False},
                {"op": "add", "path": f"{ENTERPRISE}:department", "value": "Brand New"},
                {
                    "op": "replace",
                    "path": f"{ENTERPRISE}:manager",
                    "value": directory["grace"]["id"],
                },
            ],
        },
    )
    assert response.status_code == 400
    assert "cycle" in response.get_json()["detail"]


def test_a_group_patch_naming_an_unknown_member_writes_nothing(
    scim, session, connection, directory
):
    response = patch(
        scim,
        session,
        connection,
        f"/Groups/{directory['core']['id']}",
        {
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "replace", "path": "displayName", "value": "Renamed Core"},
                {"op": "add", "path": "members", "value": [{"value": directory["gone"]["id"]}]},
                {"op": "add", "path": "members", "value": [{"value": "nobody"}]},
            ],
        },
    )
    assert response.status_code == 400


def test_a_patch_taking_another_persons_address_writes_nothing(
    scim, session, connection, directory
):
    response = patch(
        scim,
        session,
        connection,
        f"/Users/{directory['ada']['id']}",
        {
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "replace", "path": "title", "value": "Chief"},
                {"op": "replace", "path": "userName", "value": "ada.l@acme.example.com"},
                {
                    "op": "replace",
                    "path": 'emails[type eq "work"].value',
                    "value": "zoe@acme.example.com",
                },
            ],
        },
    )
    assert response.status_code == 409
    assert response.get_json()["scimType"] == "uniqueness"


@pytest.mark.parametrize(
    "body", [b"", b"\xff\xfe", b"{", b'{"schemas": [', b"[]", b"null", b'"PatchOp"', b"1e999"]
)
def test_a_patch_body_that_is_no_patch_op_is_refused(scim, session, connection, body):
    ada = _created(scim.post("/Users", user("ada@acme.example.com")))
    response = patch(scim, session, connection, f"/Users/{ada['id']}", body)
    assert response.status_code == 400
