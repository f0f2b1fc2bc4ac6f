"""``/scim/v2`` against the external compliance checker, scim2-tester, over
real HTTP: Kudos under gunicorn on 127.0.0.1 (2 workers of 2 threads), on a
committed database of this module's own on the suite's engine (a migrated
file on SQLite; on PostgreSQL a database created here and dropped after).

Every check must be a SUCCESS: no ERROR, and nothing SKIPPED. The tally is
pinned too, so a checker run that silently checks nothing fails.

The rate limits are off, as for the suite's other gunicorn tests
(``tests/faults.py``); the checker's run is counted against the default
provisioning limit instead, so a run at that limit would pass as well.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

import httpx2
import limits
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server
from sqlalchemy import make_url
from sqlalchemy.orm import Session

import config
from kudos.auth.tokens import create_token as create_api_token
from kudos.db import make_engine, utcnow
from kudos.people.models import Person
from kudos.scim.tokens import create_token as create_scim_token
from tests.faults import ROOT, gunicorn, migrate
from tests.pgserver import database_of_its_own
from tests.scim_client import MEDIA_TYPE

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
# What scim2-tester 0.5 runs against Kudos (78 checks): the discovery
# endpoints and a random URL, then create, read, list, search, replace,
# PATCH add, remove and replace, and delete, on each resource type. Fewer
# means checks were left out.
EXPECTED_CHECKS = {"discovery": 25, "User": 35, "Group": 18}


@pytest.fixture(scope="module")
def own_database(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database of this module's own, on the suite's engine."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        own = f"sqlite:///{tmp_path_factory.mktemp('scim') / 'kudos-scim.sqlite3'}"
        migrate(own)
        yield own
        return
    with database_of_its_own(database_url, "kudos_scim") as own:
        migrate(own)
        yield own


@pytest.fixture(scope="module")
def tokens(own_database: str) -> dict[str, str]:
    """A provisioning token, and a person's API token, committed."""
    engine = make_engine(own_database)
    now = utcnow()
    with Session(engine) as session:
        _, provisioning = create_scim_token(session, "scim2-tester", now=now)
        person = Person(
            email="grace@acme.example.com", name="Grace Hopper", onboarding_postponed_at=now
        )
        session.add(person)
        session.flush()
        _, personal = create_api_token(session, person, "laptop", now=now)
        session.commit()
    engine.dispose()
    return {"provisioning": provisioning, "personal": personal}


@pytest.fixture(scope="module")
def server(own_database: str) -> Iterator[str]:
    """Kudos under gunicorn; its address (``KUDOS_BASE_URL`` too)."""
    with gunicorn(own_database, workers=2, threads=2) as (base, log):
        yield base
        assert "Traceback" not in log.read_text(), log.read_text()


def http(base: str, headers: dict[str, str], **hooks: list[Callable[..., object]]) -> httpx2.Client:
    # trust_env=False: straight to 127.0.0.1, whatever proxy the machine has.
    return httpx2.Client(
        base_url=base, headers=headers, event_hooks=hooks, trust_env=False, timeout=30
    )


def test_every_compliance_check_passes_over_http(server, tokens):
    sent: list[httpx2.Request] = []
    headers = {"Authorization": f"Bearer {tokens['provisioning']}"}

    with http(f"{server}/scim/v2", headers, request=[sent.append]) as client:
        results = check_server(SyncSCIMClient(client))

    failed = [
        f"{result.status.name} {result.resource_type or 'discovery'} {result.title}: "
        f"{result.reason}"
        for result in results
        if result.status != Status.SUCCESS
    ]
    assert not failed, "\n".join(["checks that did not pass:", *failed])
    tally = Counter(result.resource_type or "discovery" for result in results)
    assert all(tally[kind] >= least for kind, least in EXPECTED_CHECKS.items()), tally
    # A run at the default provisioning limit would not be refused either.
    default = config.load({}, instance_path=str(ROOT))["RATELIMIT_SCIM"]
    assert 0 < len(sent) < limits.parse(default).amount, (len(sent), default)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer kudos_scim_not-a-token", "Basic a3Vkb3M6a3Vkb3M=", "personal"],
    ids=["no token", "wrong token", "basic", "personal API token"],
)
def test_only_a_provisioning_token_opens_scim(server, tokens, authorization):
    if authorization == "personal":
        authorization = f"Bearer {tokens['personal']}"
    headers = {"Authorization": authorization} if authorization else {}

    with http(server, headers) as client:
        answer = client.get("/scim/v2/Users")

    assert answer.status_code == 401
    assert answer.headers["Content-Type"].split(";")[0] == MEDIA_TYPE
    assert answer.json()["schemas"] == [ERROR_SCHEMA]
    assert answer.json()["status"] == "401"
    assert answer.headers["WWW-Authenticate"].startswith("Bearer ")


def test_a_provisioning_token_opens_nothing_else(server, tokens):
    with http(server, {"Authorization": f"Bearer {tokens['provisioning']}"}) as client:
        assert client.get("/scim/v2/Users").status_code == 200
        answer = client.get("/api/v1/values")

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorized"
