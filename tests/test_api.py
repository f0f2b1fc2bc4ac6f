"""The JSON API v1 with personal tokens: every endpoint, every bad input."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kudos.auth.tokens import create_token, revoke_token
from kudos.db import utcnow
from kudos.preferences.models import RecognitionPreference
from kudos.recognition.models import Kudos, Value


@pytest.fixture
def me(make):
    return make.person(name="Ada Lovelace", email="ada@acme.example.com")


@pytest.fixture
def token(session, me):
    _, raw = create_token(session, me, "tests", now=utcnow())
    session.commit()
    return raw


@pytest.fixture
def api(client, token):
    """A tiny API client: api.get(path), api.post(path, json=...)."""

    class Api:
        headers = {"Authorization": f"Bearer {token}"}

        def get(self, path, **kwargs):
            return client.get("/api/v1" + path, headers=self.headers, **kwargs)

        def post(self, path, *, headers=None, **kwargs):
            return client.post(
                "/api/v1" + path, headers={**self.headers, **(headers or {})}, **kwargs
            )

        def put(self, path, **kwargs):
            return client.put("/api/v1" + path, headers=self.headers, **kwargs)

    return Api()


@pytest.fixture
def colleague(make):
    return make.person(name="Grace Hopper", email="grace@acme.example.com")


def kudos_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Kudos))


def new_kudos(colleague, **changes):
    body = {
        "recipients": [colleague.id],
        "values": ["responsive"],
        "message": "Thanks for the fast answer!",
        "visibility": "public",
    }
    body.update(changes)
    return body


# Authentication ----------------------------------------------------------------


@pytest.mark.parametrize(
    "header", [None, "Bearer", "Bearer kudos_wrong", "Basic abc", "Bearer " + "x" * 300]
)
def test_missing_or_wrong_tokens_get_401(client, header):
    headers = {"Authorization": header} if header else {}

    response = client.get("/api/v1/values", headers=headers)

    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_gets_401(api, session, me):
    from kudos.auth.models import ApiToken

    token_id = session.scalar(select(ApiToken.id))
    revoke_token(session, me, token_id, now=utcnow())
    session.commit()

    assert api.get("/values").status_code == 401


def test_an_expired_token_gets_401(client, session, me):
    _, raw = create_token(
        session, me, "old", now=utcnow(), expires_at=utcnow() - timedelta(minutes=1)
    )
    session.commit()

    response = client.get("/api/v1/values", headers={"Authorization": f"Bearer {raw}"})

    assert response.status_code == 401


def test_a_deactivated_persons_token_gets_401(api, session, me):
    me.active = False
    session.commit()

    assert api.get("/values").status_code == 401


def test_the_session_cookie_does_not_authenticate_the_api(client, me):
    from tests.conftest import sign_in

    sign_in(client, me)

    assert client.get("/api/v1/values").status_code == 401


def test_only_the_hash_of_a_token_is_stored(session, token):
    from kudos.auth.models import ApiToken

    stored = session.scalars(select(ApiToken)).one()
    assert token not in (stored.token_hash, stored.prefix)
    assert len(stored.token_hash) == 64
    assert token.startswith(stored.prefix)


# Reading -----------------------------------------------------------------------


def test_values_and_users(api, make, colleague):
    make.person(name="Grace Gone", active=False)

    values = api.get("/values").json["items"]
    users = api.get("/users?q=grace").json["items"]

    assert [value["slug"] for value in values][:2] == ["responsive", "caring"]
    assert users == [
        {
            "id": colleague.id,
            "name": "Grace Hopper",
            "email": "grace@acme.example.com",
            "title": None,
            "team": None,
            "department": None,
        }
    ]
    assert api.get("/users").json == {"items": []}
    assert api.get("/users?limit=99").status_code == 422


def test_list_and_get_respect_visibility(api, make, me, colleague):
    stranger = make.person()
    public = make.kudos(colleague, [me], message="Public thanks")
    private = make.kudos(colleague, [stranger], message="Private thanks", visibility="private")

    listed = api.get("/kudos").json

    assert [item["message"] for item in listed["items"]] == ["Public thanks"]
    assert listed["next"] is None
    assert api.get(f"/kudos/{public.id}").json["sender"] == {
        "id": colleague.id,
        "name": "Grace Hopper",
    }
    hidden = api.get(f"/kudos/{private.id}")
    assert hidden.status_code == 404
    assert hidden.json["error"]["code"] == "not_found"


def test_list_filters_and_pages_with_a_cursor(api, make, me, colleague):
    team = make.team("Platform")
    teammate = make.person(team=team)
    now = utcnow()
    for n in range(5):
        make.kudos(
            colleague,
            [teammate],
            message=f"Team {n}",
            values=["mentor"],
            at=now - timedelta(minutes=n),
        )
    make.kudos(me, [colleague], message="Mine", at=now)

    first = api.get("/kudos?team=platform&limit=2").json
    second = api.get(f"/kudos?team=platform&limit=2&before={first['next']}").json

    assert [item["message"] for item in first["items"]] == ["Team 0", "Team 1"]
    assert [item["message"] for item in second["items"]] == ["Team 2", "Team 3"]
    given = api.get(f"/kudos?person={me.id}&direction=given").json["items"]
    assert [item["message"] for item in given] == ["Mine"]
    assert len(api.get("/kudos?value=mentor").json["items"]) == 5


def test_pages_do_not_shift_while_new_kudos_arrive(api, make, me, colleague):
    start = utcnow() - timedelta(hours=1)
    minute = timedelta(minutes=1)
    # "Old 1" and "Old 2" share a timestamp across the page boundary: the id breaks the tie.
    moments = [start, start - minute, start - minute, start - 2 * minute]
    for n, moment in enumerate(moments):
        make.kudos(colleague, [me], message=f"Old {n}", at=moment)

    first = api.get("/kudos?limit=2").json
    for n in range(3):
        make.kudos(colleague, [me], message=f"New {n}", at=utcnow())
    second = api.get(f"/kudos?limit=2&before={first['next']}").json

    assert [item["message"] for item in first["items"]] == ["Old 0", "Old 2"]
    assert [item["message"] for item in second["items"]] == ["Old 1", "Old 3"]
    assert second["next"] is None
    assert [item["message"] for item in api.get("/kudos?limit=3").json["items"]] == [
        "New 2",
        "New 1",
        "New 0",
    ]


def test_person_filter_is_received_unless_asked_for_given(api, make, me, colleague):
    make.kudos(colleague, [me], message="To me")
    make.kudos(me, [colleague], message="From me")

    received = api.get(f"/kudos?person={me.id}").json["items"]
    given = api.get(f"/kudos?person={me.id}&direction=given").json["items"]

    assert [item["message"] for item in received] == ["To me"]
    assert [item["message"] for item in given] == ["From me"]


def test_team_kudos_are_seen_by_the_recipients_team_only(api, client, session, make, me):
    me.team = make.team()
    session.commit()
    teammate, stranger = make.person(team=me.team), make.person()
    kudos = make.kudos(make.person(), [teammate], message="Team thanks", visibility="team")
    _, strangers_token = create_token(session, stranger, "theirs", now=utcnow())
    session.commit()
    as_stranger = {"Authorization": f"Bearer {strangers_token}"}

    assert api.get(f"/kudos/{kudos.id}").json["visibility"] == "team"
    assert [item["id"] for item in api.get("/kudos").json["items"]] == [kudos.id]
    assert client.get(f"/api/v1/kudos/{kudos.id}", headers=as_stranger).status_code == 404
    assert client.get("/api/v1/kudos", headers=as_stranger).json["items"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("team=nope", "team"),
        ("value=nope", "value"),
        ("person=abc", "person"),
        ("direction=sideways", "direction"),
        ("before=garbage", "before"),
        ("before=999999999999999999.1", "before"),  # past year 9999
        ("before=1.99999999999999999999", "before"),  # an id no column holds
        ("person=0", "person"),
    ],
)
def test_bad_list_parameters_get_422_with_the_field(api, query, field):
    response = api.get(f"/kudos?{query}")

    assert response.status_code == 422
    assert field in response.json["error"]["fields"]


# Sending -----------------------------------------------------------------------


def test_sending_kudos(api, session, me, colleague):
    response = api.post("/kudos", json=new_kudos(colleague, values=["responsive", "mentor"]))

    assert response.status_code == 201
    body = response.json
    assert response.headers["Location"] == f"http://localhost/api/v1/kudos/{body['id']}"
    assert body["sender"]["id"] == me.id
    assert [person["id"] for person in body["recipients"]] == [colleague.id]
    assert [value["slug"] for value in body["values"]] == ["responsive", "mentor"]
    assert body["url"].endswith(f"/kudos/{body['id']}")
    assert kudos_count(session) == 1


def test_recipients_may_be_given_by_email(api, colleague):
    response = api.post("/kudos", json=new_kudos(colleague, recipients=["GRACE@acme.example.com"]))

    assert response.status_code == 201
    assert response.json["recipients"][0]["id"] == colleague.id


def test_a_null_visibility_means_public(api, colleague):
    response = api.post("/kudos", json=new_kudos(colleague, visibility=None))

    assert (response.status_code, response.json["visibility"]) == (201, "public")


def test_the_token_is_checked_before_the_body(client, session, colleague):
    response = client.post("/api/v1/kudos", data="not json", content_type="text/plain")

    assert response.status_code == 401
    assert kudos_count(session) == 0


def test_the_effective_visibility_is_returned(api, session, colleague):
    session.add(RecognitionPreference(person=colleague, audience="team"))
    session.commit()

    body = api.post("/kudos", json=new_kudos(colleague)).json

    assert (body["requested_visibility"], body["visibility"]) == ("public", "team")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"recipients": []}, "recipients"),
        ({"recipients": "grace"}, "recipients"),
        ({"recipients": [True]}, "recipients"),
        ({"recipients": ["nobody@acme.example.com"]}, "recipients"),
        ({"recipients": [999999]}, "recipients"),
        ({"message": ""}, "message"),
        ({"message": "   \n "}, "message"),
        ({"message": "x" * 1001}, "message"),
        ({"message": 42}, "message"),
        ({"message": "nul\x00byte"}, "message"),
        ({"values": ["care\x00"]}, "values"),
        ({"recipients": ["a\x00@acme.example.com"]}, "recipients"),
        # JSON may carry a lone UTF-16 surrogate, which no database can store.
        ({"message": "thanks \ud800"}, "message"),
        ({"recipients": ["a\udfff@acme.example.com"]}, "recipients"),
        ({"values": ["mentor\ud800"]}, "values"),
        ({"visibility": ["public"]}, "visibility"),
        ({"values": []}, "values"),
        ({"values": ["responsive", "caring", "mentor", "ownership"]}, "values"),
        ({"values": ["no-such-value"]}, "values"),
        ({"visibility": "everyone"}, "visibility"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_kudos_get_422_with_a_message_per_field(api, session, colleague, changes, field):
    response = api.post("/kudos", json=new_kudos(colleague, **changes))

    assert response.status_code == 422
    assert field in response.json["error"]["fields"]
    assert kudos_count(session) == 0


def test_every_problem_of_a_kudos_comes_in_one_answer(api, session, colleague):
    response = api.post(
        "/kudos",
        json={
            "recipients": [colleague.id, "nobody@acme.example.com"],
            "values": ["responsive", "no-such-value"],
            "visibility": "everyone",
            "surprise": 1,
        },  # and no message
    )

    assert response.status_code == 422
    assert response.json["error"]["fields"] == {
        "surprise": "Unknown field.",
        "message": "This field is required.",
        "recipients": "Not in the directory: nobody@acme.example.com",
        "values": "Unknown values: no-such-value",
        "visibility": "Choose who can see this kudos: public, team or private.",
    }
    assert kudos_count(session) == 0


def test_a_shape_problem_comes_with_the_rules_broken_by_other_fields(api, session, me):
    response = api.post(
        "/kudos", json={"recipients": [me.id], "values": "caring", "message": "x" * 1001}
    )

    assert response.status_code == 422
    assert response.json["error"]["fields"] == {
        "values": "Must be a list of strings.",
        "recipients": "You can't send kudos to yourself, but it's a nice thought.",
        "message": "Keep it to 1000 characters (now 1001).",
    }
    assert kudos_count(session) == 0


def test_self_inactive_and_too_many_recipients_are_refused(api, session, make, me):
    cases = {
        "self": [me.id],
        "inactive": [make.person(active=False).id],
        "eleven": [make.person().id for _ in range(11)],
    }
    for name, recipients in cases.items():
        response = api.post(
            "/kudos", json={"recipients": recipients, "values": ["caring"], "message": "Hi"}
        )
        assert response.status_code == 422, name
        assert "recipients" in response.json["error"]["fields"], name
    assert kudos_count(session) == 0


def test_an_inactive_value_is_refused(api, session, colleague):
    session.scalars(select(Value).where(Value.slug == "caring")).one().active = False
    session.commit()

    response = api.post("/kudos", json=new_kudos(colleague, values=["caring"]))

    assert response.status_code == 422
    assert (
        response.json["error"]["fields"]["values"]
        == "One of the chosen values is no longer in use."
    )


def test_text_comes_back_exactly_as_sent(api, colleague):
    message = "<script>alert(1)</script> 🎉 شكراً جزيلاً\nתודה רבה"

    body = api.post("/kudos", json=new_kudos(colleague, message=message)).json

    assert body["message"] == message  # escaping is the HTML layer's job


def test_malformed_bodies(api, session, colleague):
    not_json = api.post("/kudos", data="recipients=1", content_type="text/plain")
    broken = api.post("/kudos", data="{not json", content_type="application/json")
    not_object = api.post("/kudos", data="[1, 2]", content_type="application/json")
    deep = api.post("/kudos", data="[" * 100_000, content_type="application/json")
    huge = api.post(
        "/kudos",
        data=json.dumps(new_kudos(colleague, message="x" * 2_000_000)),
        content_type="application/json",
    )

    assert (not_json.status_code, not_json.json["error"]["code"]) == (415, "unsupported_media_type")
    assert (broken.status_code, broken.json["error"]["code"]) == (400, "invalid_json")
    assert (deep.status_code, deep.json["error"]["code"]) == (400, "invalid_json")
    assert not_object.status_code == 422
    assert (huge.status_code, huge.json["error"]["code"]) == (413, "too_large")
    assert kudos_count(session) == 0


def test_an_idempotency_key_replays_instead_of_sending_twice(api, session, colleague):
    headers = {"Idempotency-Key": "retry-123"}

    first = api.post("/kudos", json=new_kudos(colleague), headers=headers)
    second = api.post("/kudos", json=new_kudos(colleague), headers=headers)
    conflict = api.post("/kudos", json=new_kudos(colleague, message="Different"), headers=headers)
    too_long = api.post("/kudos", json=new_kudos(colleague), headers={"Idempotency-Key": "k" * 129})
    nul = api.post("/kudos", json=new_kudos(colleague), headers={"Idempotency-Key": "a\x00b"})

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.headers["Idempotent-Replayed"] == "true"
    assert first.json["id"] == second.json["id"]
    assert conflict.status_code == 409
    assert conflict.json["error"]["code"] == "idempotency_conflict"
    assert too_long.status_code == 400
    assert (nul.status_code, list(nul.json["error"]["fields"])) == (400, ["idempotency_key"])
    assert kudos_count(session) == 1


@pytest.fixture
def app_overrides():
    return {"DAILY_KUDOS_LIMIT": 2}


def test_past_the_daily_limit_the_api_answers_429(api, session, colleague):
    for _ in range(2):
        assert api.post("/kudos", json=new_kudos(colleague)).status_code == 201

    response = api.post("/kudos", json=new_kudos(colleague))

    assert response.status_code == 429
    assert response.json["error"]["code"] == "daily_limit"
    assert 1 <= int(response.headers["Retry-After"]) <= 24 * 3600  # until midnight
    assert kudos_count(session) == 2


def test_unknown_api_paths_and_methods_answer_json(api):
    missing = api.get("/nothing")
    wrong_method = api.post("/values", json={})

    assert (missing.status_code, missing.json["error"]["code"]) == (404, "not_found")
    assert (wrong_method.status_code, wrong_method.json["error"]["code"]) == (
        405,
        "method_not_allowed",
    )


@pytest.mark.parametrize(
    ("method", "path", "allowed", "said"),
    [
        ("delete", "/kudos", {"GET", "POST"}, "This address accepts GET or POST only, not DELETE."),
        ("patch", "/me/preferences", {"GET", "PUT"}, "accepts GET or PUT only, not PATCH."),
        ("post", "/kudos/1", {"GET"}, "This address accepts GET only, not POST."),
        ("put", "/openapi.json", {"GET"}, "This address accepts GET only, not PUT."),
    ],
)
def test_a_405_says_which_methods_the_address_accepts(client, token, method, path, allowed, said):
    response = getattr(client, method)(
        "/api/v1" + path, headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 405
    assert response.mimetype == "application/json"
    assert response.json["error"]["code"] == "method_not_allowed"
    assert said in response.json["error"]["message"]
    assert set(response.headers["Allow"].split(", ")) == {*allowed, "HEAD", "OPTIONS"}


def test_a_405_page_gives_the_allow_header_too(client):
    response = client.delete("/healthz")

    assert response.status_code == 405
    assert response.mimetype == "text/html"
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


# Preferences -------------------------------------------------------------------


def test_reading_and_changing_my_preferences(api, session, me):
    assert api.get("/me/preferences").json["onboarded"] is False

    response = api.put(
        "/me/preferences",
        json={
            "audience": "private",
            "style": "celebratory",
            "email_opt_in": True,
            "on_leaderboards": False,
            "favourite_values": ["mentor"],
            "best_way_to_thank": "Coffee",
        },
    )

    assert response.status_code == 200
    assert response.json == {
        "audience": "private",
        "style": "celebratory",
        "email_opt_in": True,
        "slack_opt_in": False,
        "in_slack_channel": True,
        "on_leaderboards": False,
        "favourite_values": ["mentor"],
        "best_way_to_thank": "Coffee",
        "onboarded": True,
    }
    session.expire_all()
    assert session.get(RecognitionPreference, me.id).audience == "private"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"audience": "world"}, "audience"),
        ({"style": "loud"}, "style"),
        ({"email_opt_in": "yes"}, "email_opt_in"),
        ({"on_leaderboards": None}, "on_leaderboards"),
        ({"favourite_values": ["a", "b"]}, "favourite_values"),
        ({"favourite_values": ["mentor", "caring", "integrity", "ownership"]}, "favourite_values"),
        # What the document forbids is refused as sent, before any clean-up.
        ({"favourite_values": ["mentor"] * 4}, "favourite_values"),
        ({"best_way_to_thank": "x" * 281}, "best_way_to_thank"),
        ({"best_way_to_thank": " " * 281}, "best_way_to_thank"),
        ({"best_way_to_thank": 5}, "best_way_to_thank"),
    ],
)
def test_bad_preferences_get_422(api, session, me, changes, field):
    body = {
        "audience": "team",
        "style": "low_key",
        "email_opt_in": False,
        "on_leaderboards": True,
        **changes,
    }

    response = api.put("/me/preferences", json=body)

    assert response.status_code == 422
    assert field in response.json["error"]["fields"]
    assert session.get(RecognitionPreference, me.id) is None


def test_every_problem_of_preferences_comes_in_one_answer(api, session, me):
    response = api.put(
        "/me/preferences",
        json={
            "audience": "world",
            "email_opt_in": "yes",
            "on_leaderboards": True,
            "favourite_values": ["mentor", "no-such-value"],
            "best_way_to_thank": "x" * 281,
            "colour": "blue",
        },  # and no style
    )

    assert response.status_code == 422
    assert response.json["error"]["fields"] == {
        "colour": "Unknown field.",
        "style": "This field is required.",
        "email_opt_in": "Must be true or false.",
        "favourite_values": "Unknown values: no-such-value",
        "audience": "Choose who should see praise for you: public, team or private.",
        "best_way_to_thank": "Keep it to 280 characters (now 281).",
    }
    assert session.get(RecognitionPreference, me.id) is None


@pytest.mark.parametrize("onboarded", [False, True])
def test_a_preferences_answer_can_be_sent_back_unchanged(api, session, me, onboarded):
    if onboarded:
        changed = {"audience": "team", "style": "celebratory", "email_opt_in": True}
        first = {**api.get("/me/preferences").json, **changed, "favourite_values": ["mentor"]}
        assert api.put("/me/preferences", json=first).status_code == 200
    answer = api.get("/me/preferences").json
    assert answer["onboarded"] is onboarded

    response = api.put("/me/preferences", json=answer)

    assert response.status_code == 200
    assert response.json == {**answer, "onboarded": True}  # read-only: ignored, not refused
    assert api.get("/me/preferences").json == response.json


def test_read_only_fields_are_ignored_whatever_they_hold(api, session, me):
    body = {"audience": "team", "style": "low_key", "email_opt_in": False}
    response = api.put(
        "/me/preferences", json={**body, "on_leaderboards": True, "onboarded": "nonsense"}
    )

    assert response.status_code == 200
    assert response.json["onboarded"] is True


def test_the_document_marks_read_only_fields(client):
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]

    assert schemas["Preferences"]["properties"]["onboarded"]["readOnly"] is True
    # Accepted on the way in (and ignored), so a GET answer is a valid PUT body.
    assert "onboarded" in schemas["PreferencesUpdate"]["properties"]


# The document ------------------------------------------------------------------


def test_the_openapi_document_is_public_and_lists_every_endpoint(client):
    document = client.get("/api/v1/openapi.json").json

    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {
        "/kudos",
        "/kudos/{kudos_id}",
        "/leaderboard",
        "/manager/summary",
        "/values",
        "/users",
        "/me/preferences",
    }


def test_best_way_to_thank_is_measured_as_sent(client, session, make):
    person = make.person(name="Long Whitespace")
    _, raw = create_token(session, person, "test", now=utcnow())
    session.commit()

    response = client.put(
        "/api/v1/me/preferences",
        headers={"Authorization": f"Bearer {raw}"},
        json={
            "audience": "public",
            "style": "low_key",
            "email_opt_in": False,
            "on_leaderboards": True,
            "best_way_to_thank": "Tea" + "\u001d" * 300,  # trims to 3 characters
        },
    )

    assert response.status_code == 422
    assert "best_way_to_thank" in response.json["error"]["fields"]
