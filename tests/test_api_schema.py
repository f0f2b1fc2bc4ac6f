"""The OpenAPI document matches the endpoints: schemathesis generates requests
from it and checks every answer (no 5xx, documented status codes, content
types, headers and bodies that match the schemas), then generates requests
that break the document and checks that each one is refused."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.checks import negative_data_rejection

from kudos.auth.tokens import create_token
from kudos.db import utcnow
from kudos.recognition.services import toggle_reaction

OPERATIONS = 9
CHECKS = {
    GenerationMode.POSITIVE: [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
    ],
    # Invalid requests must be refused (4xx) and still answer in the documented format.
    GenerationMode.NEGATIVE: [
        not_a_server_error,
        negative_data_rejection,
        content_type_conformance,
        response_schema_conformance,
    ],
}
# Enough to reach every status an operation documents; about 10 s in all.
EXAMPLES = {GenerationMode.POSITIVE: 40, GenerationMode.NEGATIVE: 25}


@dataclass
class Seeded:
    headers: dict[str, str]
    # Requests that reach the success answers, which random data hardly ever
    # does (a random recipient does not exist): fixed parts per operation.
    valid: dict[str, list[dict]]


@pytest.fixture
def seeded(session, make):
    """A token for someone with kudos to read, so list and get answers hold
    real items (with values, reactions and every visibility), not just []."""
    team = make.team("Platform")
    person = make.person(name="Schema Tester", team=team)
    grace = make.person(name="Grace Hopper", team=team, title="Rear admiral")
    alan = make.person(name="Alan Turing")
    # The token's owner manages Grace, so the summary answers with real numbers.
    grace.manager = person
    session.commit()
    public = make.kudos(grace, [person, alan], values=["mentor", "caring"])
    make.kudos(person, [grace], visibility="team", message="<b>Thanks</b> 🎉")
    private = make.kudos(alan, [person], visibility="private")
    # An onlooker applauds (the sender and the recipients may not).
    toggle_reaction(session, make.person(name="Ada Onlooker"), public, now=utcnow())
    _, raw = create_token(session, person, "schemathesis", now=utcnow())
    session.commit()
    send = {"values": ["mentor"], "message": "Thanks!"}
    return Seeded(
        headers={"Authorization": f"Bearer {raw}"},
        valid={
            "POST /kudos": [
                {"body": {**send, "recipients": [grace.id]}},
                {"body": {**send, "recipients": [alan.email], "visibility": "team"}},
            ],
            "GET /manager/summary": [
                {"query": {}},
                {"query": {"month": "2026-10", "indirect": "true"}},
            ],
            "GET /kudos/{kudos_id}": [
                {"path_parameters": {"kudos_id": kudos.id}} for kudos in (public, private)
            ],
        },
    )


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_does_what_its_document_says(app, seeded, mode):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    # Unknown query parameters are ignored, as most APIs do; not a violation.
    schema.config.generation.update(allow_extra_parameters=False)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == OPERATIONS

    for operation in operations:
        fixed = seeded.valid.get(operation.label, []) if mode == GenerationMode.POSITIVE else []
        strategy = st.one_of(
            operation.as_strategy(generation_mode=mode),
            *(operation.as_strategy(generation_mode=mode, **parts) for parts in fixed),
        )

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES[mode],
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def conforms(case):
            case.call_and_validate(headers=seeded.headers, checks=CHECKS[mode])

        conforms()
