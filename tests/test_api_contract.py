"""The API's contract held when it moved onto pydantic models (issue 17):
nothing a client relied on in the document published before
(``data/openapi_v1_before_models.json``, the hand-written one) is missing from
the generated one, every operation has examples, and the answers are what
the models say."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema_rs import Draft202012Validator

from kudos.api import models
from kudos.api.contract import problems_of
from kudos.auth.tokens import create_token
from kudos.db import utcnow

# Answers the hand-written document listed where nothing can provoke them:
# these operations take no parameter or body that could be invalid (it
# listed the same three errors under every operation).
NEVER_ANSWERED = {"GET /kudos/{kudos_id} 422", "GET /values 422", "GET /me/preferences 422"}

BEFORE = json.loads((Path(__file__).parent / "data" / "openapi_v1_before_models.json").read_text())
METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture
def document(client) -> dict[str, Any]:
    return client.get("/api/v1/openapi.json").json


class Comparison:
    """What a client of the ``before`` document relied on that ``after`` no
    longer gives: a property, a type, a required answer field, an enum value;
    for requests, a field that became required."""

    def __init__(self, before: dict[str, Any], after: dict[str, Any]) -> None:
        self.before, self.after = before, after

    @staticmethod
    def resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def types(self, schema: dict[str, Any], document: dict[str, Any]) -> set[str]:
        """The JSON types a schema allows (``anyOf``/``oneOf`` branches together)."""
        schema = self.resolve(schema, document)
        found = schema.get("type", [])
        types = {found} if isinstance(found, str) else set(found)
        for branch in schema.get("anyOf", []) + schema.get("oneOf", []):
            types |= self.types(branch, document)
        return types

    def shaped(self, schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
        """The branch with properties or items, if the schema is a choice."""
        schema = self.resolve(schema, document)
        for branch in schema.get("anyOf", []) + schema.get("oneOf", []):
            branch = self.resolve(branch, document)
            if "properties" in branch or "items" in branch:
                return branch
        return schema

    def lost(
        self, old: dict[str, Any], new: dict[str, Any], where: str, *, answer: bool
    ) -> list[str]:
        old_types, new_types = self.types(old, self.before), self.types(new, self.after)
        old, new = self.shaped(old, self.before), self.shaped(new, self.after)
        lost = []
        # An answer may narrow (an array, never null now); a request may widen.
        narrower, wider = (new_types, old_types) if answer else (old_types, new_types)
        if old_types and new_types and not narrower <= wider:
            lost.append(f"{where}: type {sorted(old_types)} became {sorted(new_types)}")
        if "enum" in new and set(old.get("enum", [])) - set(new["enum"]):
            lost.append(f"{where}: enum {old['enum']} became {new['enum']}")
        for name, schema in old.get("properties", {}).items():
            if name not in new.get("properties", {}):
                lost.append(f"{where}.{name}: gone")
            else:
                lost += self.lost(schema, new["properties"][name], f"{where}.{name}", answer=answer)
        old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
        if answer and old_required - new_required:
            lost.append(f"{where}: no longer always answers {sorted(old_required - new_required)}")
        if not answer and new_required - old_required:
            lost.append(f"{where}: now requires {sorted(new_required - old_required)}")
        if "items" in old and "items" in new:
            lost += self.lost(old["items"], new["items"], f"{where}[]", answer=answer)
        return lost


def _json_schema(content: dict[str, Any]) -> dict[str, Any]:
    return content["application/json"]["schema"]


def _lost_operation(compare: Comparison, where: str, old: dict, new: dict) -> list[str]:
    lost = []
    parameters = {(p["name"], p["in"]): p for p in new.get("parameters", [])}
    for parameter in old.get("parameters", []):
        key = (parameter["name"], parameter["in"])
        if key not in parameters:
            lost.append(f"{where} {key}: gone")
            continue
        if parameters[key].get("required") and not parameter.get("required"):
            lost.append(f"{where} {key}: now required")
        lost += compare.lost(
            parameter["schema"], parameters[key]["schema"], f"{where} {key}", answer=False
        )
    if "requestBody" in old:
        lost += compare.lost(
            _json_schema(old["requestBody"]["content"]),
            _json_schema(new["requestBody"]["content"]),
            f"{where} body",
            answer=False,
        )
    for status, answer in old["responses"].items():
        if status not in new["responses"]:
            if f"{where} {status}" not in NEVER_ANSWERED:
                lost.append(f"{where} {status}: gone")
            continue
        for header in answer.get("headers", {}):
            if header not in new["responses"][status].get("headers", {}):
                lost.append(f"{where} {status} header {header}: gone")
        lost += compare.lost(
            _json_schema(answer["content"]),
            _json_schema(new["responses"][status]["content"]),
            f"{where} {status}",
            answer=True,
        )
    return lost


def _lost_document(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    compare = Comparison(before, after)
    lost = []
    for path, item in before["paths"].items():
        for method, operation in item.items():
            new = after["paths"].get(path, {}).get(method)
            where = f"{method.upper()} {path}"
            lost += (
                [f"{where}: gone"]
                if new is None
                else _lost_operation(compare, where, operation, new)
            )
    return lost


def test_nothing_a_client_relied_on_is_gone(document):
    assert document["openapi"] == BEFORE["openapi"]
    assert document["security"] == BEFORE["security"]
    for name, scheme in BEFORE["components"]["securitySchemes"].items():
        assert document["components"]["securitySchemes"][name].items() >= scheme.items()
    assert _lost_document(BEFORE, document) == []


def test_a_lost_field_would_be_caught(document):
    """The comparison finds what it looks for."""
    broken = json.loads(json.dumps(document))
    schemas = broken["components"]["schemas"]
    del schemas["Kudos"]["properties"]["requested_visibility"]
    schemas["NewKudos"]["required"].append("visibility")
    schemas["Preferences"]["required"].remove("onboarded")
    schemas["Leaderboard"]["properties"]["board"]["enum"] = ["given"]
    del broken["paths"]["/kudos"]["post"]["responses"]["201"]["headers"]["Location"]
    del broken["paths"]["/users"]["get"]["parameters"][0]

    lost = _lost_document(BEFORE, broken)

    assert "POST /kudos body: now requires ['visibility']" in lost
    assert "POST /kudos 201.requested_visibility: gone" in lost
    assert "GET /me/preferences 200: no longer always answers ['onboarded']" in lost
    assert "GET /leaderboard 200.board: enum ['given', 'received'] became ['given']" in lost
    assert "POST /kudos 201 header Location: gone" in lost
    assert "GET /users ('q', 'query'): gone" in lost


def test_every_operation_has_examples_that_fit_its_schemas(document):
    operations = [
        (f"{method.upper()} {path}", operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]
    assert len(operations) == 9
    for where, operation in operations:
        assert operation.get("summary"), where
        assert operation.get("operationId"), where
        contents = [
            (f"{where} {status}", answer["content"]["application/json"])
            for status, answer in operation["responses"].items()
        ]
        if "requestBody" in operation:
            contents.append(
                (f"{where} body", operation["requestBody"]["content"]["application/json"])
            )
        for label, content in contents:
            examples = (
                [content["example"]]
                if "example" in content
                else [item["value"] for item in content.get("examples", {}).values()]
            )
            assert examples, f"{label}: no example"
            schema = {**content["schema"], "components": document["components"]}
            for example in examples:
                errors = list(Draft202012Validator(schema).iter_errors(example))
                assert errors == [], f"{label}: {errors[0].message}"


def test_read_only_answers_are_marked(document):
    schemas = document["components"]["schemas"]

    for model, field in [("Kudos", "id"), ("Kudos", "created_at"), ("Kudos", "url")]:
        assert schemas[model]["properties"][field]["readOnly"] is True, (model, field)
    assert schemas["Preferences"]["properties"]["onboarded"]["readOnly"] is True


def test_the_document_says_what_the_error_format_is(document):
    error = document["components"]["schemas"]["Error"]
    detail = Comparison.resolve(error["properties"]["error"], document)

    assert error["required"] == ["error"]
    assert set(detail["required"]) == {"code", "message"}
    assert set(detail["properties"]) == {"code", "message", "fields"}


# One answer for every problem ---------------------------------------------------


@pytest.fixture
def api(client, session, make):
    """Calls to /api/v1 with a token of someone's."""
    _, raw = create_token(session, make.person(), "contract", now=utcnow())
    session.commit()
    auth = {"Authorization": f"Bearer {raw}"}

    def call(method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any):
        return client.open(
            "/api/v1" + path, method=method, headers={**auth, **(headers or {})}, **kwargs
        )

    return call


def test_problems_from_every_part_come_in_one_answer(api):
    """A bad header and bad fields: one 422 that names them all."""
    response = api(
        "POST",
        "/kudos",
        json={"recipients": "grace", "values": [1], "message": 5, "extra": True},
        headers={"Idempotency-Key": "a\x01b"},
    )

    assert response.status_code == 422
    assert response.json["error"]["fields"] == {
        "idempotency_key": "Must not contain control characters.",
        "recipients": "Must be a list of integers or strings.",
        "values": "Must be a list of strings.",
        "message": "Must be a string.",
        "extra": "Unknown field.",
    }


def test_every_bad_parameter_comes_in_one_answer(api):
    response = api(
        "GET",
        "/kudos",
        query_string={"limit": "0", "person": "x", "direction": "up", "team": "nope"},
    )

    assert response.status_code == 422
    assert response.json["error"]["fields"] == {
        "limit": "Must be a whole number from 1 to 100.",
        "person": "Must be a person's id.",
        "direction": "Must be one of: 'received' or 'given'.",
        "team": "No team with the slug 'nope'.",
    }


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": " 5"}, "limit"),
        ({"limit": "+5"}, "limit"),
        ({"limit": "5.0"}, "limit"),
        ({"indirect": "yes"}, "indirect"),
        ({"indirect": "1"}, "indirect"),
        ({"manager": "0"}, "manager"),
        ({"manager": str(2**31)}, "manager"),
    ],
)
def test_query_numbers_and_booleans_are_written_as_the_document_says(api, query, field):
    path = "/manager/summary" if field in ("indirect", "manager") else "/kudos"

    response = api("GET", path, query_string=query)

    assert response.status_code == 422
    assert list(response.json["error"]["fields"]) == [field]


def test_an_id_in_the_path_is_checked_before_the_model(api):
    assert api("GET", f"/kudos/{2**31}").status_code == 404
    assert api("GET", "/kudos/0").status_code == 404


def test_a_failed_validation_tells_problems_not_pydantic(app):
    """The translation covers what pydantic can say about these models: no
    message of pydantic's own reaches a client."""
    cases = [
        (models.NewKudos, {"recipients": [None], "values": None, "message": [], "visibility": 3}),
        (models.PreferencesUpdate, {"audience": 1, "style": None, "email_opt_in": "true"}),
        (models.UsersQuery, {"limit": "21", "q": "a\x00"}),
        (models.SummaryQuery, {"manager": "-1", "indirect": "on"}),
    ]
    for model, data in cases:
        with pytest.raises(Exception) as caught:  # noqa: PT011 - pydantic's ValidationError
            model.model_validate(data)
        problems = problems_of(model, caught.value)
        assert problems, model
        for name, message in problems.items():
            assert "Input should" not in message, (name, message)
            assert "pydantic" not in message, (name, message)


# Answers -------------------------------------------------------------------------


@pytest.fixture
def seeded_headers(session, make):
    team = make.team("Platform")
    person = make.person(name="Contract Tester", team=team)
    grace = make.person(name="Grace Hopper", team=team, title="Rear admiral")
    grace.manager = person
    session.commit()
    make.kudos(grace, [person], values=["mentor"])
    _, raw = create_token(session, person, "contract", now=utcnow())
    session.commit()
    return {"Authorization": f"Bearer {raw}"}


def test_answers_keep_their_fields_in_the_order_and_form_clients_saw(
    client, seeded_headers, document
):
    """The answers are the JSON they were: keys sorted (Flask's JSON), times
    in UTC with a Z, no field the document does not name."""
    answers = {
        "/api/v1/kudos": "KudosPage",
        "/api/v1/values": "Values",
        "/api/v1/users?q=grace": "Users",
        "/api/v1/me/preferences": "Preferences",
        "/api/v1/leaderboard?board=received": "Leaderboard",
        "/api/v1/manager/summary": "ManagerSummary",
    }
    for url, name in answers.items():
        response = client.get(url, headers=seeded_headers)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        assert body == json.dumps(response.json, sort_keys=True, separators=(",", ":")) + "\n"
        schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
        assert list(Draft202012Validator(schema).iter_errors(response.json)) == [], url
    kudos = client.get("/api/v1/kudos", headers=seeded_headers).json["items"][0]
    assert kudos["created_at"].endswith("Z")
