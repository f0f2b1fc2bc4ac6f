"""Slack direct messages as a channel beside e-mail: asked on onboarding and
settings only when Slack is on, answered and taken by the preferences API,
listed in the manager's export and in what senders read."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from kudos.audit.models import AuditEntry
from kudos.auth.tokens import create_token
from kudos.db import utcnow
from kudos.preferences.models import RecognitionPreference
from tests.conftest import sign_in

SLACK_ON = pytest.mark.parametrize("app_overrides", [{"SLACK_ENABLED": True}])
PAGES = ["/onboarding", "/settings/recognition"]
CHECKBOX_LABEL = "Send me a Slack message when I&#39;m thanked"
LEGEND = "When a public kudos for you is announced in Slack, should we name you?"
NAME_ME = "Name me in the channel post"
LEAVE_ME_OUT = "Leave me out of the post and tell me privately"

FORM = {"audience": "public", "style": "low_key", "on_leaderboards": "y"}


@pytest.fixture
def me(client, make):
    person = make.person(name="Sara Slack")
    sign_in(client, person)
    return person


@pytest.fixture
def newcomer(client, make):
    person = make.person(name="Nina Newcomer", new=True)
    sign_in(client, person)
    return person


def stored(session, person) -> RecognitionPreference | None:
    session.expire_all()
    return session.get(RecognitionPreference, person.id)


def choose(session, person, *, slack_opt_in: bool, in_slack_channel: bool) -> None:
    session.add(
        RecognitionPreference(
            person=person, slack_opt_in=slack_opt_in, in_slack_channel=in_slack_channel
        )
    )
    session.commit()


def checked(page: str, name: str, value: str | None = None) -> bool:
    """Whether the page's input ``name`` (with ``value``) is checked."""
    for tag in re.findall(r"<input[^>]*>", page):
        if f'name="{name}"' in tag and (value is None or f'value="{value}"' in tag):
            return " checked" in tag
    raise AssertionError(f"no input {name}={value} on the page")


# The pages ------------------------------------------------------------------------


@pytest.mark.parametrize("url", PAGES)
def test_slack_questions_are_not_asked_when_slack_is_off(client, newcomer, url):
    page = client.get(url).get_data(as_text=True)

    assert 'name="slack_opt_in"' not in page
    assert 'name="in_slack_channel"' not in page
    assert "Slack" not in page


@SLACK_ON
@pytest.mark.parametrize("url", PAGES)
def test_slack_questions_are_asked_when_slack_is_on(client, newcomer, url):
    page = client.get(url).get_data(as_text=True)

    assert CHECKBOX_LABEL in page
    # The two answers are one radio group, named by its legend.
    groups = {
        legend: body
        for legend, body in re.findall(
            r"<fieldset[^>]*>\s*<legend[^>]*>([^<]*)</legend>(.*?)</fieldset>", page, re.S
        )
    }
    assert LEGEND in groups
    assert NAME_ME in groups[LEGEND]
    assert LEAVE_ME_OUT in groups[LEGEND]
    assert groups[LEGEND].count('type="radio"') == 2
    # Someone new starts with the defaults: no Slack message, named in the channel.
    assert not checked(page, "slack_opt_in")
    assert checked(page, "in_slack_channel", "yes")
    assert not checked(page, "in_slack_channel", "no")


@SLACK_ON
def test_settings_show_the_stored_slack_answers(client, session, me):
    choose(session, me, slack_opt_in=True, in_slack_channel=False)

    page = client.get("/settings/recognition").get_data(as_text=True)

    assert checked(page, "slack_opt_in")
    assert checked(page, "in_slack_channel", "no")
    assert not checked(page, "in_slack_channel", "yes")


@SLACK_ON
def test_saving_settings_with_slack_on_stores_both(browser, session, me):
    response = browser.submit(
        "/settings/recognition",
        data={**FORM, "slack_opt_in": "y", "in_slack_channel": "no"},
    )

    assert response.status_code == 302
    preference = stored(session, me)
    assert (preference.slack_opt_in, preference.in_slack_channel) == (True, False)

    # Unticked and named again.
    response = browser.submit("/settings/recognition", data={**FORM, "in_slack_channel": "yes"})

    assert response.status_code == 302
    preference = stored(session, me)
    assert (preference.slack_opt_in, preference.in_slack_channel) == (False, True)


@SLACK_ON
def test_a_post_without_the_channel_answer_keeps_it(browser, session, me):
    choose(session, me, slack_opt_in=False, in_slack_channel=False)

    response = browser.submit("/settings/recognition", data={**FORM, "slack_opt_in": "y"})

    assert response.status_code == 302
    preference = stored(session, me)
    assert (preference.slack_opt_in, preference.in_slack_channel) == (True, False)


@SLACK_ON
def test_a_channel_answer_that_is_not_offered_is_refused_beside_the_question(browser, session, me):
    response = browser.submit(
        "/settings/recognition", data={**FORM, "in_slack_channel": "sometimes"}
    )

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="in_slack_channel-error">Answer yes or no.</p>' in page
    assert 'aria-describedby="in_slack_channel-help in_slack_channel-error"' in page
    assert stored(session, me) is None


@pytest.mark.parametrize(
    "sent", [{}, {"slack_opt_in": "y", "in_slack_channel": "yes"}], ids=["not-sent", "crafted"]
)
def test_saving_settings_with_slack_off_keeps_the_stored_answers(browser, session, me, sent):
    choose(session, me, slack_opt_in=True, in_slack_channel=False)

    response = browser.submit(
        "/settings/recognition", data={**FORM, "audience": "team", "email_opt_in": "y", **sent}
    )

    assert response.status_code == 302
    preference = stored(session, me)
    assert (preference.audience, preference.email_opt_in) == ("team", True)
    assert (preference.slack_opt_in, preference.in_slack_channel) == (True, False)


def test_onboarding_with_slack_off_gives_the_defaults(browser, session, newcomer):
    response = browser.submit("/onboarding", data={**FORM, "action": "save"})

    assert response.status_code == 302
    preference = stored(session, newcomer)
    assert (preference.slack_opt_in, preference.in_slack_channel) == (False, True)


@SLACK_ON
def test_onboarding_with_slack_on_stores_both(browser, session, newcomer):
    response = browser.submit(
        "/onboarding",
        data={**FORM, "slack_opt_in": "y", "in_slack_channel": "no", "action": "save"},
    )

    assert response.status_code == 302
    preference = stored(session, newcomer)
    assert (preference.slack_opt_in, preference.in_slack_channel) == (True, False)
    audit = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "preferences.created")
    ).one()
    assert audit.details["slack"] is True
    assert audit.details["in_slack_channel"] is False


# The API ----------------------------------------------------------------------------


@pytest.fixture
def api(client, session, me):
    _, raw = create_token(session, me, "tests", now=utcnow())
    session.commit()
    headers = {"Authorization": f"Bearer {raw}"}

    class Api:
        def get(self):
            return client.get("/api/v1/me/preferences", headers=headers)

        def put(self, body):
            return client.put("/api/v1/me/preferences", headers=headers, json=body)

    return Api()


BODY = {"audience": "public", "style": "low_key", "email_opt_in": False, "on_leaderboards": True}


def test_the_api_answers_both_whether_or_not_slack_is_on(api, session, me):
    answer = api.get().json
    assert (answer["slack_opt_in"], answer["in_slack_channel"]) == (False, True)

    choose(session, me, slack_opt_in=True, in_slack_channel=False)

    answer = api.get().json
    assert (answer["slack_opt_in"], answer["in_slack_channel"]) == (True, False)


def test_the_api_stores_both(api, session, me):
    response = api.put({**BODY, "slack_opt_in": True, "in_slack_channel": False})

    assert response.status_code == 200
    assert (response.json["slack_opt_in"], response.json["in_slack_channel"]) == (True, False)
    preference = stored(session, me)
    assert (preference.slack_opt_in, preference.in_slack_channel) == (True, False)


@pytest.mark.parametrize("extra", [{}, {"slack_opt_in": None, "in_slack_channel": None}])
def test_a_put_without_them_keeps_the_stored_answers(api, session, me, extra):
    choose(session, me, slack_opt_in=True, in_slack_channel=False)

    response = api.put({**BODY, "audience": "team", **extra})

    assert response.status_code == 200
    assert response.json["audience"] == "team"
    assert (response.json["slack_opt_in"], response.json["in_slack_channel"]) == (True, False)
    preference = stored(session, me)
    assert (preference.slack_opt_in, preference.in_slack_channel) == (True, False)


def test_a_put_without_them_gives_someone_new_the_defaults(api, session, me):
    response = api.put(BODY)

    assert response.status_code == 200
    assert (response.json["slack_opt_in"], response.json["in_slack_channel"]) == (False, True)


@pytest.mark.parametrize("field", ["slack_opt_in", "in_slack_channel"])
@pytest.mark.parametrize("wrong", ["yes", 1, 0, [], {}])
def test_a_put_with_a_non_boolean_is_refused(api, session, me, field, wrong):
    response = api.put({**BODY, field: wrong})

    assert response.status_code == 422
    assert response.mimetype == "application/json"
    assert response.json["error"]["code"] == "invalid"
    assert response.json["error"]["fields"] == {field: "Must be true or false."}
    assert stored(session, me) is None


def test_the_document_describes_both(client):
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]

    answer, update = schemas["Preferences"], schemas["PreferencesUpdate"]
    for field in ("slack_opt_in", "in_slack_channel"):
        assert field in answer["required"]
        assert answer["properties"][field]["type"] == "boolean"
        assert answer["properties"][field]["description"]
        assert field not in update["required"]
        assert "keeps the current answer" in update["properties"][field]["description"]
