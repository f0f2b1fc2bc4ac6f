"""Rate limits: sign-in per address, the API per token, sending and the
costly pages per person. Each runs on the in-memory counters and on a real
Redis server; a 429 says when to come back."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from redis import Redis

from kudos import create_app
from kudos.auth.tokens import create_token, hash_token
from kudos.db import utcnow
from kudos.extensions import limiter
from kudos.ratelimit import SweptMemoryStorage
from tests.conftest import TEST_SECRET_KEY, sign_in
from tests.pgserver import free_port
from tests.test_compose import send as send_from_page

ROOT = Path(__file__).resolve().parent.parent
# Nothing listens here: the provider is "unreachable", quickly.
NO_PROVIDER = {
    "OIDC_ISSUER": f"http://127.0.0.1:{free_port()}",
    "OIDC_CLIENT_ID": "kudos",
    "OIDC_CLIENT_SECRET": "secret",
}
LIMITS = {
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_SIGN_IN": "3 per minute",
    "RATELIMIT_SEND": "2 per minute",
    "RATELIMIT_PAGES": "3 per minute",
    "RATELIMIT_API": "4 per minute",
    **NO_PROVIDER,
}


@pytest.fixture(params=["memory", "redis"])
def storage(request) -> str:
    if request.param == "memory":
        return "memory://"
    return request.getfixturevalue("redis_url")


@pytest.fixture
def app_overrides(storage):
    # Keys of this test's own: both engines' runs share one Redis server.
    namespace = secrets.token_hex(8)
    yield {**LIMITS, "RATELIMIT_STORAGE_URI": storage, "RATELIMIT_NAMESPACE": namespace}
    if storage.startswith("redis"):
        # Counted in Redis indeed, not in the in-memory fallback.
        assert Redis.from_url(storage).keys(f"*{namespace}*")


def from_address(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


def assert_limited(response, *, json_api: bool = False) -> int:
    assert response.status_code == 429
    wait = int(response.headers["Retry-After"])
    assert 1 <= wait <= 60
    if json_api:
        assert response.json["error"]["code"] == "rate_limited"
    else:
        assert "Slow down a little" in response.get_data(as_text=True)
    return wait


def login_csrf(client, address: str) -> str:
    page = client.get("/login", **from_address(address)).get_data(as_text=True)
    return page.split('name="csrf_token" value="')[1].split('"')[0]


def test_starting_sign_in_is_limited_per_address(client):
    token = login_csrf(client, "10.0.0.1")
    for _ in range(3):
        response = client.post("/login", data={"csrf_token": token}, **from_address("10.0.0.1"))
        assert response.status_code != 429
    assert_limited(client.post("/login", data={"csrf_token": token}, **from_address("10.0.0.1")))

    other = client.post("/login", data={"csrf_token": token}, **from_address("10.0.0.2"))
    assert other.status_code != 429
    # Only starting sign-in is limited: the sign-in page itself is not.
    assert client.get("/login", **from_address("10.0.0.1")).status_code == 200


def test_the_sign_in_callback_is_limited_per_address(client):
    for _ in range(3):
        assert (
            client.get("/auth/callback?code=x&state=y", **from_address("10.0.0.3")).status_code
            != 429
        )
    assert_limited(client.get("/auth/callback?code=x&state=y", **from_address("10.0.0.3")))
    assert client.get("/auth/callback", **from_address("10.0.0.4")).status_code != 429


def api_client(client, session, person):
    _, raw = create_token(session, person, "script", now=utcnow())
    session.commit()
    return lambda path: client.get("/api/v1" + path, headers={"Authorization": f"Bearer {raw}"})


def test_the_api_is_limited_per_token(client, session, make):
    ann = make.person()
    first, second = api_client(client, session, ann), api_client(client, session, ann)
    for _ in range(4):
        assert first("/values").status_code == 200
    assert_limited(first("/values"), json_api=True)
    assert_limited(first("/leaderboard"), json_api=True)  # every endpoint, one count

    assert second("/values").status_code == 200  # another token of the same person
    # Wrong tokens are refused before anything is counted.
    for _ in range(6):
        bad = client.get("/api/v1/values", headers={"Authorization": "Bearer kudos_wrong"})
        assert bad.status_code == 401


def stored_keys(app, storage: str) -> list[str]:
    prefix = app.config["RATELIMIT_NAMESPACE"]
    if storage.startswith("redis"):
        return [key.decode() for key in Redis.from_url(storage).keys(f"*{prefix}*")]
    return [key for key in limiter.storage.storage if prefix in key]


def test_the_raw_token_is_never_a_key(app, client, session, make, storage):
    _, raw = create_token(session, make.person(), "script", now=utcnow())
    session.commit()
    assert (
        client.get("/api/v1/values", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    )
    keys = stored_keys(app, storage)
    assert [key for key in keys if hash_token(raw) in key]
    assert not [key for key in keys if raw in key]


def test_sending_is_limited_per_person_from_pages_and_api_together(
    browser, client, session, make, signed_in
):
    grace = make.person(name="Grace Hopper", email="grace@acme.example.com")
    # Searching for people in the form is not sending.
    browser.submit("/kudos/new", data={"action": "search", "q": "gra"})
    assert send_from_page(browser, session, [grace]).status_code == 302
    _, raw = create_token(session, signed_in, "script", now=utcnow())
    session.commit()
    body = {"recipients": [grace.email], "values": ["caring"], "message": "Thanks"}
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.post("/api/v1/kudos", json=body, headers=headers).status_code == 201

    page = send_from_page(browser, session, [grace], message="Third")
    assert_limited(page)
    assert "daily limit" not in page.get_data(as_text=True)
    api = client.post("/api/v1/kudos", json=body, headers=headers)
    assert_limited(api, json_api=True)

    sign_in(client, grace)  # someone else sends as usual
    assert send_from_page(browser, session, [signed_in]).status_code == 302


def test_the_costly_pages_are_limited_per_person_and_page(client, make):
    ann, ben = make.person(), make.person()
    sign_in(client, ann)
    for _ in range(3):
        assert client.get("/leaderboard").status_code == 200
    assert_limited(client.get("/leaderboard"))
    assert_limited(client.get("/leaderboard?month=2020-01"))
    assert client.get("/").status_code == 200  # another page, its own count

    sign_in(client, ben)
    assert client.get("/leaderboard").status_code == 200


def test_the_daily_limit_is_a_different_429_that_says_when(client, session, make, app):
    app.config["DAILY_KUDOS_LIMIT"] = 1
    app.config["TIMEZONE"] = "Pacific/Auckland"
    ann, ben = make.person(), make.person(email="ben@acme.example.com")
    _, raw = create_token(session, ann, "script", now=utcnow())
    session.commit()
    body = {"recipients": [ben.email], "values": ["caring"], "message": "Thanks"}
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.post("/api/v1/kudos", json=body, headers=headers).status_code == 201

    response = client.post("/api/v1/kudos", json=body, headers=headers)
    assert response.status_code == 429
    assert response.json["error"]["code"] == "daily_limit"
    assert 1 <= int(response.headers["Retry-After"]) <= 25 * 3600  # Auckland's midnight


@pytest.fixture
def short_window(app):
    app.config["RATELIMIT_PAGES"] = "2 per second"


def test_a_limit_resets_after_its_window(client, make, short_window):
    sign_in(client, make.person())
    for _ in range(2):
        assert client.get("/leaderboard").status_code == 200
    wait = assert_limited(client.get("/leaderboard"))
    assert wait == 1
    time.sleep(1.1)
    assert client.get("/leaderboard").status_code == 200


SECOND_SERVER = """
import json, sys
from kudos import create_app
settings = json.loads(sys.argv[1])
app = create_app(settings)
client = app.test_client()
statuses = [
    client.get("/auth/callback", environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code
    for _ in range(3)
]
print(json.dumps(statuses))
"""


def test_two_servers_sharing_redis_share_the_limit(redis_url):
    """Another process, as a second server would be: its three sign-in
    callbacks from one address leave none for this one."""
    settings = {
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET_KEY,
        **LIMITS,
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_NAMESPACE": secrets.token_hex(8),
    }
    assert 429 not in json.loads(run_python(SECOND_SERVER, settings))

    here = create_app(settings).test_client()
    assert_limited(here.get("/auth/callback", **from_address("10.9.9.9")))
    assert here.get("/auth/callback", **from_address("10.9.9.8")).status_code != 429
    # Each with its own memory instead, the limit would not be shared.
    alone = create_app({**settings, "RATELIMIT_STORAGE_URI": "memory://"}).test_client()
    assert alone.get("/auth/callback", **from_address("10.9.9.9")).status_code != 429


REDIS_DOWN = """
import json, sys
from kudos import create_app
app = create_app(json.loads(sys.argv[1]))
client = app.test_client()
page = client.get("/login").get_data(as_text=True)
token = page.split('name="csrf_token" value="')[1].split('"')[0]
statuses = [client.post("/login", data={"csrf_token": token}).status_code for _ in range(4)]
print(json.dumps(statuses))
"""


def test_sign_in_still_works_and_is_limited_when_redis_is_down():
    """Counted in memory until Redis answers again, rather than a 500. In a
    process of its own: Flask-Limiter remembers a dead storage."""
    settings = {
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET_KEY,
        **LIMITS,
        "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{free_port()}/0",
    }
    statuses = json.loads(run_python(REDIS_DOWN, settings))
    assert 500 not in statuses[:3]
    assert statuses[3] == 429


def run_python(code: str, settings: dict) -> str:
    return subprocess.run(
        [sys.executable, "-c", code, json.dumps(settings)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def test_in_memory_counters_are_swept_without_a_thread_per_request(monkeypatch):
    """Counters for addresses never seen again do not pile up in memory."""
    monkeypatch.setattr(SweptMemoryStorage, "SWEEP_EVERY", 0.05)
    store = SweptMemoryStorage()
    store.incr("address:10.0.0.1", expiry=0.05)
    time.sleep(0.1)
    threads = threading.active_count()
    store.incr("address:10.0.0.2", expiry=60)

    assert "address:10.0.0.1" not in store.storage
    assert store.get("address:10.0.0.2") == 1
    assert threading.active_count() == threads


def test_behind_a_proxy_the_address_is_the_forwarded_one():
    settings = {"TESTING": True, "SECRET_KEY": TEST_SECRET_KEY, **LIMITS}
    proxied = create_app({**settings, "TRUSTED_PROXIES": 1}).test_client()
    via_proxy = {"REMOTE_ADDR": "127.0.0.1"}

    def callback(client, forwarded_for: str):
        return client.get(
            "/auth/callback",
            environ_base=via_proxy,
            headers={"X-Forwarded-For": forwarded_for},
        )

    for _ in range(3):
        assert callback(proxied, "203.0.113.7").status_code != 429
    assert_limited(callback(proxied, "203.0.113.7"))
    assert callback(proxied, "203.0.113.8").status_code != 429

    # Without a trusted proxy the header is ignored: nobody picks an address.
    direct = create_app(settings).test_client()
    for number in range(3):
        assert callback(direct, f"198.51.100.{number}").status_code != 429
    assert_limited(callback(direct, "198.51.100.99"))
