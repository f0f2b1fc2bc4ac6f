"""The Slack app, driven as Slack drives it: signed requests to the real
Bolt app at /slack/events, its Web API calls answered by a stand-in that
checks tokens, arguments and Block Kit (tests/slack_api.py)."""

from __future__ import annotations

import json
import time

import pytest
import yaml
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from kudos.recognition.models import Kudos, Reaction
from kudos.slack import handlers
from kudos.slack.models import SlackLink
from tests.slack_requests import SlackClient, slack_settings, state

ADA, BEN, CY, STRANGER = "U0ADA", "U0BEN", "U0CY", "U0STRANGER"


@pytest.fixture
def app_overrides(slack):
    return slack_settings(slack)


@pytest.fixture
def people(make, slack):
    ada = make.person(name="Ada Lovelace", email="ada@acme.example.com")
    ben = make.person(name="Ben Okafor", email="ben@acme.example.com")
    cy = make.person(name="Cy Young", email="cy@acme.example.com")
    slack.add_user(ADA, "ada@acme.example.com", "Ada Lovelace")
    slack.add_user(BEN, "Ben@Acme.example.com", "Ben Okafor")
    slack.add_user(CY, "cy@acme.example.com", "Cy Young")
    slack.add_user(STRANGER, "someone@elsewhere.example.com", "Sam Stranger")
    return {"ada": ada, "ben": ben, "cy": cy}


@pytest.fixture
def slack_client(client, slack):
    yield SlackClient(client, slack)
    # Slack accepted every call the app made: arguments, token, Block Kit.
    refused = [(c["method"], c["answered_with"]) for c in slack.calls if c["answered_with"] != "ok"]
    assert refused == []


def kudos_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Kudos))


def test_a_command_that_reads_cleanly_sends_at_once(slack_client, session, people):
    answer = slack_client.command(f"<@{BEN}|ben> :responsive: thanks for the quick fix!", user=ADA)

    assert answer.status_code == 200
    assert "Kudos sent to Ben" in answer.get_data(as_text=True)
    kudos = session.scalars(select(Kudos)).one()
    assert kudos.sender_id == people["ada"].id
    assert [person.id for person in kudos.recipients] == [people["ben"].id]
    assert kudos.message == "thanks for the quick fix!"


def opened_view(slack) -> dict:
    """The last modal the app opened, as Slack holds it (with its id)."""
    sent = slack.calls_to("views.open")[-1]["args"]["view"]
    held = [
        view for view in slack.views.values() if view.get("callback_id") == sent.get("callback_id")
    ]
    return held[-1] if held else sent


def blocks_text(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


# -- who may talk to the app ---------------------------------------------------


@pytest.mark.parametrize(
    ("how", "options"),
    [
        ("a wrong signature", {"secret": "not-the-signing-secret"}),
        ("no signature", {"signed": False}),
        ("a timestamp 5 minutes and 1 second old", {"timestamp": int(time.time()) - 301}),
    ],
)
def test_a_request_slack_did_not_sign_now_gets_401_and_writes_nothing(
    slack_client, session, slack, people, how, options
):
    answer = slack_client.command(f"<@{BEN}> :responsive: thanks!", user=ADA, **options)

    assert answer.status_code == 401, how
    assert kudos_count(session) == 0
    assert session.scalar(select(func.count()).select_from(SlackLink)) == 0
    assert slack.calls == []


def test_a_timestamp_just_under_5_minutes_old_is_accepted(slack_client, session, people):
    answer = slack_client.command(
        f"<@{BEN}> :responsive: thanks!", user=ADA, timestamp=int(time.time()) - 290
    )

    assert answer.status_code == 200
    assert kudos_count(session) == 1


def test_a_request_from_another_workspace_is_refused(slack_client, session, slack, people):
    answer = slack_client.command(f"<@{BEN}> :responsive: thanks!", user=ADA, team="T0OTHER")

    assert answer.status_code == 403
    assert kudos_count(session) == 0
    assert slack.calls == []


def test_a_slack_user_not_in_the_directory_is_told_privately(slack_client, session, slack, people):
    answer = slack_client.command(f"<@{BEN}> :responsive: thanks!", user=STRANGER)

    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    assert "not in the Kudos directory" in text
    assert "someone@elsewhere.example.com" in text
    assert kudos_count(session) == 0
    assert slack.calls_to("chat.postMessage") == []


def test_an_inactive_person_is_told_privately(slack_client, session, people):
    people["ada"].active = False
    session.commit()

    answer = slack_client.command(f"<@{BEN}> :responsive: thanks!", user=ADA)

    assert "not active" in answer.get_data(as_text=True)
    assert kudos_count(session) == 0


def test_an_unconfirmed_slack_address_never_acts_for_the_person(
    slack_client, session, slack, people
):
    slack.add_user("U0FAKEADA", "ada@acme.example.com", "Not Ada", is_email_confirmed=False)

    answer = slack_client.command(f"<@{BEN}> :responsive: thanks!", user="U0FAKEADA")

    assert "confirmed e-mail" in answer.get_data(as_text=True)
    assert kudos_count(session) == 0


def test_a_user_of_another_workspace_never_acts_for_the_person(
    slack_client, session, slack, people
):
    slack.add_user("U0GUEST", "ada@acme.example.com", "Guest Ada", team_id="T0OTHER")

    slack_client.command(f"<@{BEN}> :responsive: thanks!", user="U0GUEST")

    assert kudos_count(session) == 0


# -- sending with /kudos -----------------------------------------------------------


def test_a_retried_command_creates_one_kudos(slack_client, session, people):
    text = f"<@{BEN}|ben> :responsive: thanks for the quick fix!"

    first = slack_client.command(text, user=ADA, trigger_id="9.9.retried")
    retried = slack_client.command(
        text, user=ADA, trigger_id="9.9.retried", headers={"X-Slack-Retry-Num": "1"}
    )

    assert first.status_code == retried.status_code == 200
    assert "Kudos sent to Ben" in retried.get_data(as_text=True)
    assert kudos_count(session) == 1


def test_a_command_missing_a_value_opens_the_form_filled_in(slack_client, session, slack, people):
    answer = slack_client.command(f"<@{BEN}> thanks for the quick fix!", user=ADA)

    assert answer.status_code == 200
    assert kudos_count(session) == 0
    view = slack.calls_to("views.open")[-1]["args"]["view"]
    blocks = {block.get("block_id"): block for block in view["blocks"]}
    assert blocks["recipients"]["element"]["initial_users"] == [BEN]
    assert blocks["message"]["element"]["initial_value"] == "thanks for the quick fix!"
    assert "add a value" in blocks_text(view["blocks"])


def test_a_command_naming_an_unknown_value_says_so(slack_client, slack, people):
    slack_client.command(f"<@{BEN}> :speedy: thanks!", user=ADA)

    assert ":speedy: is not one of our values" in blocks_text(
        slack.calls_to("views.open")[-1]["args"]["view"]["blocks"]
    )


def test_help_lists_the_values(slack_client, people):
    text = slack_client.command("help", user=ADA).get_data(as_text=True)

    assert ":responsive:" in text
    assert ":clear-communicator:" in text


# -- the modal -------------------------------------------------------------------


def test_the_modal_sends_and_a_double_submission_makes_one_kudos(
    slack_client, session, slack, make, people
):
    slack_client.command("", user=ADA)
    view = opened_view(slack)
    filled = state(users=[BEN, CY], values=[make.value("caring").id], message="You both rock")

    first = slack_client.submit(view, filled, user=ADA)
    second = slack_client.submit(view, filled, user=ADA)

    assert first.status_code == second.status_code == 200
    for answer in (first, second):
        body = answer.get_json()
        assert body["response_action"] == "update"
        assert "Kudos sent to Ben and Cy" in blocks_text(body["view"]["blocks"])
    assert kudos_count(session) == 1


def _submit_expecting_errors(slack_client, slack, filled) -> dict:
    slack_client.command("", user=ADA)
    answer = slack_client.submit(opened_view(slack), filled, user=ADA)
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["response_action"] == "errors"
    return body["errors"]


@pytest.mark.parametrize(
    ("case", "field", "words"),
    [
        ("nobody", "recipients", "Choose at least one person"),
        ("yourself", "recipients", "yourself"),
        ("stranger", "recipients", "Sam Stranger isn't in the Kudos directory"),
        ("inactive", "recipients", "no longer works here"),
        ("eleven", "recipients", "at most 10"),
        ("no value", "values", "Choose the value"),
        ("four values", "values", "at most 3"),
        ("retired value", "values", "no longer in use"),
        ("no message", "message", "Write a few words"),
        ("long message", "message", "Keep it to 1000"),
        ("control characters", "message", "control characters"),
        ("odd visibility", "visibility", "public, team or private"),
    ],
)
def test_every_refusal_shows_beside_its_field(
    slack_client, session, slack, make, people, case, field, words
):
    responsive = make.value("responsive").id
    filled = {"users": [BEN], "values": [responsive], "message": "Thanks!"}
    if case == "nobody":
        filled["users"] = []
    elif case == "yourself":
        filled["users"] = [ADA]
    elif case == "stranger":
        filled["users"] = [STRANGER]
    elif case == "inactive":
        people["ben"].active = False
        session.commit()
    elif case == "eleven":
        filled["users"] = [f"U0MANY{n}" for n in range(11)]
        for n in range(11):
            make.person(email=f"many{n}@acme.example.com")
            slack.add_user(f"U0MANY{n}", f"many{n}@acme.example.com", f"Many {n}")
    elif case == "no value":
        filled["values"] = []
    elif case == "four values":
        filled["values"] = [
            make.value(slug).id for slug in ("responsive", "caring", "mentor", "ownership")
        ]
    elif case == "retired value":
        make.value("mentor").active = False
        session.commit()
        filled["values"] = [make.value("mentor").id]
    elif case == "no message":
        filled["message"] = "   "
    elif case == "long message":
        filled["message"] = "x" * 1001
    elif case == "control characters":
        filled["message"] = "Thanks\x07!"
    refused_before = refusals(field)
    errors = _submit_expecting_errors(
        slack_client,
        slack,
        state(**filled, visibility="everyone" if case == "odd visibility" else "public"),
    )

    assert words in errors[field]
    assert kudos_count(session) == 0
    assert refusals(field) - refused_before == 1  # in the metrics, as from the web and the API


def refusals(rule: str) -> float:
    return REGISTRY.get_sample_value("kudos_send_refused_total", {"rule": rule}) or 0.0


def test_the_daily_limit_shows_on_the_form(app, slack_client, session, slack, make, people):
    app.config["DAILY_KUDOS_LIMIT"] = 1
    slack_client.command(f"<@{BEN}> :responsive: first!", user=ADA)

    errors = _submit_expecting_errors(
        slack_client, slack, state(users=[CY], values=[make.value("caring").id], message="Again")
    )

    assert "daily limit" in errors["recipients"]
    assert kudos_count(session) == 1


def test_picking_recipients_shows_their_wishes_and_the_resulting_visibility(
    slack_client, session, slack, make, people
):
    from kudos.preferences.models import RecognitionPreference

    session.add(
        RecognitionPreference(
            person=people["ben"],
            audience="private",
            style="celebratory",
            best_way_to_thank="Tell my manager <3",
        )
    )
    session.commit()
    slack_client.command("", user=ADA)
    view = opened_view(slack)
    filled = state(users=[BEN], values=[], message="")

    slack_client.click(
        {"action_id": "recipients", "block_id": "recipients", "type": "multi_users_select"},
        user=ADA,
        view={**view, "state": {"values": filled}},
    )

    updated = slack.calls_to("views.update")[-1]["args"]
    assert updated["view_id"] == view["id"]
    shown = blocks_text(updated["view"]["blocks"])
    assert "Ben prefers private recognition" in shown
    assert "air horns" in shown
    assert "Tell my manager &lt;3" in shown
    assert "Overridden: Ben asked for private recognition" in shown


# -- shortcuts, App Home, the manifest ---------------------------------------------------


def test_the_message_shortcut_thanks_its_author_with_a_link_to_it(
    slack_client, session, slack, make, people
):
    slack.add_channel("C0HELP")
    slack_client.shortcut(
        "kudos_for_message",
        user=ADA,
        channel={"id": "C0HELP"},
        message={"type": "message", "user": BEN, "ts": "1764500000.000200", "text": "Fixed!"},
        message_ts="1764500000.000200",
    )

    view = opened_view(slack)
    blocks = {block.get("block_id"): block for block in view["blocks"]}
    assert blocks["recipients"]["element"]["initial_users"] == [BEN]
    link = "https://example.slack.com/archives/C0HELP/p1764500000000200"
    assert link in blocks_text(view["blocks"])
    answer = slack_client.submit(
        view,
        state(users=[BEN], values=[make.value("ownership").id], message="Saved my day"),
        user=ADA,
    )

    assert answer.get_json()["response_action"] == "update"
    assert session.scalars(select(Kudos.message)).one() == f"Saved my day\n\n{link}"


def test_the_global_shortcut_tells_a_stranger_privately(slack_client, slack, people):
    slack_client.shortcut("kudos_give", user=STRANGER)

    told = slack.calls_to("views.open")[-1]["args"]["view"]
    assert "not in the Kudos directory" in blocks_text(told["blocks"])
    assert "callback_id" not in told  # an explanation, not the form


def test_app_home_shows_what_was_received_what_is_left_and_the_top_values(
    slack_client, session, slack, make, people
):
    make.kudos(people["ben"], [people["ada"]], message="Great <review>", values=["mentor"])
    make.kudos(people["cy"], [people["ada"]], message="Thanks", values=["mentor", "caring"])
    make.kudos(people["cy"], [people["ben"]], message="Not for Ada")
    make.kudos(people["ada"], [people["ben"]])  # sent today: one less left

    for retry in ({}, {"X-Slack-Retry-Num": "1"}):  # a retried event does it again, harmlessly
        answer = slack_client.event(
            {"type": "app_home_opened", "user": ADA, "tab": "home", "channel": "D0ADA"},
            headers=retry,
        )
        assert answer.status_code == 200

    home = slack.home_of(ADA)
    shown = blocks_text(home["blocks"])
    assert "Great &lt;review&gt;" in shown
    assert "Not for Ada" not in shown
    assert "You can send *19* more kudos today." in shown
    assert "Mentor (2)" in shown
    assert "/settings/recognition" in shown
    assert "/leaderboard" in shown
    assert len(slack.calls_to("views.publish")) == 2


def test_app_home_for_a_stranger_explains(slack_client, slack, people):
    slack_client.event({"type": "app_home_opened", "user": STRANGER, "tab": "home"})

    assert "not in the Kudos directory" in blocks_text(slack.home_of(STRANGER)["blocks"])


def test_the_manifest_asks_for_what_the_app_handles(app, runner):
    app.config["BASE_URL"] = "https://kudos.acme.example.com"

    printed = runner.invoke(args=["slack", "manifest"]).output
    manifest = yaml.safe_load(printed)

    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/kudos"
    assert command["should_escape"] is True  # mentions arrive as <@U…>
    assert {
        shortcut["callback_id"]: shortcut["type"] for shortcut in manifest["features"]["shortcuts"]
    } == {
        handlers.GIVE_SHORTCUT: "global",
        handlers.MESSAGE_SHORTCUT: "message",
    }
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    urls = {
        command["url"],
        manifest["settings"]["event_subscriptions"]["request_url"],
        manifest["settings"]["interactivity"]["request_url"],
    }
    assert urls == {"https://kudos.acme.example.com/slack/events"}
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "users:read",
        "users:read.email",
    }
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True


# -- configuration ---------------------------------------------------------------


def load(**environ):
    import config

    return config.load(environ, instance_path="instance")


@pytest.mark.parametrize("app_overrides", [{}])
def test_slack_is_off_until_its_three_settings_are_there(client):
    assert load()["SLACK_ENABLED"] is False
    assert client.post("/slack/events", data="{}").status_code == 404


def test_a_partial_or_wrong_slack_configuration_lists_every_problem():
    import config

    with pytest.raises(config.ConfigError) as raised:
        load(
            KUDOS_SLACK_BOT_TOKEN="xoxp-a-user-token",
            KUDOS_SLACK_CHANNEL="#kudos",
            KUDOS_SLACK_TEAM_CHANNELS="Platform=C0PLAT,Design",
            KUDOS_SLACK_APP_TOKEN="xoxb-not-an-app-token",
        )

    problems = "\n".join(raised.value.problems)
    assert "KUDOS_SLACK_SIGNING_SECRET, KUDOS_SLACK_TEAM_ID as well" in problems
    assert "bot token (xoxb-…)" in problems
    assert "app-level token (xapp-…)" in problems
    assert "channel id such as C0123ABCD, not '#kudos'" in problems
    assert "not 'Design'" in problems


def test_a_complete_slack_configuration_turns_it_on():
    settings = load(
        KUDOS_SLACK_BOT_TOKEN="xoxb-1-2-abc",
        KUDOS_SLACK_SIGNING_SECRET="secret",
        KUDOS_SLACK_TEAM_ID="T0KUDOS",
        KUDOS_SLACK_TEAM_CHANNELS="Platform=C0PLAT, Design = G0DESIGN",
    )

    assert settings["SLACK_ENABLED"] is True
    assert settings["SLACK_TEAM_CHANNELS"] == {"platform": "C0PLAT", "design": "G0DESIGN"}
    assert settings["SLACK_API_URL"] == "https://slack.com/api/"


def test_socket_mode_needs_an_app_token(runner, people):
    result = runner.invoke(args=["slack", "run"])

    assert result.exit_code == 1
    assert "KUDOS_SLACK_APP_TOKEN" in result.output


def test_socket_mode_runs_the_same_handlers_outside_any_web_request(app, slack, people):
    """What ``kudos slack run`` hands Bolt for each Socket Mode envelope:
    no HTTP request, no signature (the WebSocket is authenticated)."""
    from slack_bolt.request import BoltRequest

    bolt = app.extensions["kudos.slack"]
    body = {
        "type": "event_callback",
        "team_id": "T0KUDOS",
        "event": {"type": "app_home_opened", "user": ADA, "tab": "home"},
    }

    response = bolt.dispatch(BoltRequest(body=body, mode="socket_mode"))

    assert response.status == 200
    assert "Your kudos" in blocks_text(slack.home_of(ADA)["blocks"])


@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("payload=notjson", "application/x-www-form-urlencoded"),
        ("{not json", "application/json"),
        (
            'payload={"team":{"id":"T0KUDOS"},"user":{"id":"U0ADA"}}',
            "application/x-www-form-urlencoded",
        ),
        ("", "application/x-www-form-urlencoded"),
    ],
)
def test_a_body_that_is_not_slacks_is_refused_without_a_500(
    slack_client, session, body, content_type, signed
):
    answer = slack_client.post(body, content_type, signed=signed)

    assert answer.status_code in {400, 401, 403, 404}
    assert kudos_count(session) == 0


def test_a_click_from_someone_slack_does_not_know_changes_nothing(
    slack_client, session, slack, people
):
    answer = slack_client.click(
        {"action_id": "kudos_applaud", "value": "1", "type": "button"},
        user="U0GHOST",
        channel={"id": "C0KUDOS"},
    )

    assert answer.status_code == 200  # Slack refusing the private answer breaks nothing
    assert slack.calls[0]["answered_with"] == "user_not_found"
    assert session.scalar(select(func.count()).select_from(Reaction)) == 0
    slack.reset()  # the refusals above were the point
