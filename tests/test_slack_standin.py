"""The Slack stand-in (tests/slack_api.py) checks what Slack checks.

Every test talks to it through a real ``slack_sdk.WebClient``, as the app does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.client import RemoteDisconnected
from urllib.error import URLError

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, FixedValueRetryIntervalCalculator
from slack_sdk.webhook import WebhookClient

from tests.slack_api import TOKEN, SlackApi


def plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def modal(title: str = "Send kudos", **extra: object) -> dict[str, object]:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "Who helped you?"}}
    return {"type": "modal", "title": plain(title), "blocks": [section], **extra}


@pytest.fixture(scope="module")
def server() -> Iterator[SlackApi]:
    with SlackApi(token=TOKEN) as slack:
        slack.add_channel("C0KUDOS")
        slack.add_user("U0ALICE", "alice@example.com", "Alice Example")
        slack.add_user("U0GONE", "gone@example.com", "Gone Person", deleted=True)
        yield slack


@pytest.fixture
def slack(server: SlackApi) -> Iterator[SlackApi]:
    yield server
    server.reset()


@pytest.fixture
def client(slack: SlackApi) -> WebClient:
    return WebClient(token=TOKEN, base_url=slack.url, retry_handlers=[])


def error_of(call: object) -> SlackApiError:
    assert isinstance(call, SlackApiError)
    return call


def test_token_is_checked_like_slack(slack: SlackApi, client: WebClient) -> None:
    assert client.auth_test()["user_id"] == slack.bot_user_id
    with pytest.raises(SlackApiError) as wrong:
        WebClient(token="xoxb-wrong", base_url=slack.url, retry_handlers=[]).auth_test()
    assert wrong.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as missing:
        WebClient(base_url=slack.url, retry_handlers=[]).auth_test()
    assert missing.value.response["error"] == "not_authed"
    with pytest.raises(SlackApiError) as unknown:
        client.api_call("chat.sendKudos")
    assert unknown.value.response["error"] == "unknown_method"
    assert [call["token"] for call in slack.calls_to("auth.test")] == [TOKEN, "xoxb-wrong", None]


def test_socket_mode_urls_need_the_app_level_token(slack: SlackApi) -> None:
    slack.socket_url = "ws://127.0.0.1:9/link/?ticket=abc"
    app = WebClient(base_url=slack.url, retry_handlers=[])

    assert app.apps_connections_open(app_token=slack.app_token)["url"] == slack.socket_url
    with pytest.raises(SlackApiError) as bot_token:
        app.apps_connections_open(app_token=TOKEN)
    assert bot_token.value.response["error"] == "not_allowed_token_type"
    with pytest.raises(SlackApiError) as app_token:
        WebClient(token=slack.app_token, base_url=slack.url, retry_handlers=[]).auth_test()
    assert app_token.value.response["error"] == "not_allowed_token_type"
    with pytest.raises(SlackApiError) as wrong:
        app.apps_connections_open(app_token="xapp-wrong")
    assert wrong.value.response["error"] == "invalid_auth"


def test_missing_arguments_get_slacks_errors(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as no_channel:
        client.chat_postMessage(channel="", text="Thanks!")
    assert no_channel.value.response["error"] == "channel_not_found"
    with pytest.raises(SlackApiError) as unknown_channel:
        client.chat_postMessage(channel="C0NOWHERE", text="Thanks!")
    assert unknown_channel.value.response["error"] == "channel_not_found"
    with pytest.raises(SlackApiError) as no_text:  # (chat_postMessage warns before sending)
        client.api_call("chat.postMessage", json={"channel": "C0KUDOS"})
    assert no_text.value.response["error"] == "no_text"
    with pytest.raises(SlackApiError) as no_user:
        client.api_call("users.info", params={})
    assert no_user.value.response["error"] == "invalid_arguments"
    assert no_user.value.response["response_metadata"]["messages"] == [
        "[ERROR] missing required field: user"
    ]


def test_block_kit_is_checked(client: WebClient) -> None:
    button = {"type": "button", "text": plain("x" * 76), "action_id": "thank"}
    with pytest.raises(SlackApiError) as too_long:
        client.chat_postMessage(
            channel="C0KUDOS", text="hi", blocks=[{"type": "actions", "elements": [button]}]
        )
    assert too_long.value.response["error"] == "invalid_blocks"
    assert "75" in too_long.value.response["response_metadata"]["messages"][0]
    unknown_field = {"type": "section", "text": {"type": "mrkdwn", "text": "hi"}, "colour": "red"}
    with pytest.raises(SlackApiError) as unknown:
        client.chat_postMessage(channel="C0KUDOS", text="hi", blocks=[unknown_field])
    assert unknown.value.response["response_metadata"]["messages"] == [
        "[ERROR] invalid additional property: colour [json-pointer:/blocks/0]"
    ]
    with pytest.raises(SlackApiError) as too_many:
        client.chat_postMessage(channel="C0KUDOS", text="hi", blocks=[{"type": "divider"}] * 51)
    assert too_many.value.response["error"] == "invalid_blocks"


def test_modals_are_checked_opened_and_updated(slack: SlackApi, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as long_title:
        client.views_open(trigger_id="1.2.abc", view=modal("x" * 25))
    assert long_title.value.response["error"] == "invalid_arguments"
    assert "title" in long_title.value.response["response_metadata"]["messages"][0]
    text_input = {"type": "plain_text_input", "action_id": "why"}
    form = modal(blocks=[{"type": "input", "label": plain("Why?"), "element": text_input}])
    with pytest.raises(SlackApiError) as no_submit:
        client.views_open(trigger_id="1.2.abc", view=form)
    assert "needs submit" in no_submit.value.response["response_metadata"]["messages"][0]

    opened = client.views_open(trigger_id="1.2.abc", view=modal("x" * 24))["view"]
    assert opened["id"].startswith("V")
    assert opened["hash"]
    updated = client.views_update(view_id=opened["id"], view=modal("Thanks!"), hash=opened["hash"])
    assert updated["view"]["id"] == opened["id"]
    assert slack.views[opened["id"]]["title"]["text"] == "Thanks!"
    with pytest.raises(SlackApiError) as stale:
        client.views_update(view_id=opened["id"], view=modal(), hash=opened["hash"])
    assert stale.value.response["error"] == "hash_conflict"
    with pytest.raises(SlackApiError) as unknown:
        client.views_update(view_id="V0NOPE", view=modal())
    assert unknown.value.response["error"] == "not_found"

    home = {"type": "home", "blocks": [{"type": "divider"}]}
    client.views_publish(user_id="U0ALICE", view=home)
    assert slack.home_of("U0ALICE")["type"] == "home"
    with pytest.raises(SlackApiError):
        client.views_publish(user_id="U0ALICE", view=modal())


def test_message_lifecycle(slack: SlackApi, client: WebClient) -> None:
    first = client.chat_postMessage(channel="C0KUDOS", text="Thanks, Alice!")
    second = client.chat_postMessage(channel="C0KUDOS", text="And Bob!")
    assert float(first["ts"]) < float(second["ts"])
    client.chat_update(channel="C0KUDOS", ts=first["ts"], text="Thanks, Alice!!")
    assert [m["text"] for m in slack.messages_in("C0KUDOS")] == ["Thanks, Alice!!", "And Bob!"]
    client.chat_delete(channel="C0KUDOS", ts=second["ts"])
    assert [m["ts"] for m in slack.messages_in("C0KUDOS")] == [first["ts"]]
    with pytest.raises(SlackApiError) as gone:
        client.chat_update(channel="C0KUDOS", ts=second["ts"], text="again")
    assert gone.value.response["error"] == "message_not_found"
    link = client.chat_getPermalink(channel="C0KUDOS", message_ts=first["ts"])["permalink"]
    assert link == f"https://example.slack.com/archives/C0KUDOS/p{first['ts'].replace('.', '')}"


def test_direct_messages(slack: SlackApi, client: WebClient) -> None:
    dm = client.conversations_open(users="U0ALICE")["channel"]["id"]
    assert dm.startswith("D")
    assert client.conversations_open(users=["U0ALICE"])["channel"]["id"] == dm
    assert client.chat_postMessage(channel="U0ALICE", text="You got kudos")["channel"] == dm
    assert [m["text"] for m in slack.messages_in("U0ALICE")] == ["You got kudos"]
    with pytest.raises(SlackApiError) as disabled:
        client.conversations_open(users="U0GONE")
    assert disabled.value.response["error"] == "user_disabled"


def test_users(client: WebClient) -> None:
    alice = client.users_info(user="U0ALICE")["user"]
    assert alice["profile"]["email"] == "alice@example.com"
    assert alice["real_name"] == "Alice Example"
    assert alice["team_id"] == "T0KUDOS"
    assert client.users_lookupByEmail(email="Alice@Example.com")["user"]["id"] == "U0ALICE"
    assert client.users_info(user="U0GONE")["user"]["deleted"] is True
    with pytest.raises(SlackApiError) as nobody:
        client.users_info(user="U0NOBODY")
    assert nobody.value.response["error"] == "user_not_found"
    with pytest.raises(SlackApiError) as no_email:
        client.users_lookupByEmail(email="nobody@example.com")
    assert no_email.value.response["error"] == "users_not_found"


def test_rate_limit_surfaces_with_retry_after(slack: SlackApi, client: WebClient) -> None:
    slack.fail_next("chat.postMessage", "ratelimited", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as limited:
        client.chat_postMessage(channel="C0KUDOS", text="hi")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "7"
    assert limited.value.response["error"] == "ratelimited"
    client.chat_postMessage(channel="C0KUDOS", text="hi")  # the fault was used up
    answers = [call["answered_with"] for call in slack.calls_to("chat.postMessage")]
    assert answers == ["ratelimited", "ok"]


def test_dropped_connections(slack: SlackApi, client: WebClient) -> None:
    slack.fail_next("chat.postMessage", drop=True)
    with pytest.raises((URLError, ConnectionError)) as dropped:
        client.chat_postMessage(channel="C0KUDOS", text="hi")
    assert isinstance(dropped.value, RemoteDisconnected)
    slack.set_down(True)
    with pytest.raises((URLError, ConnectionError)):
        client.auth_test()
    slack.set_down(False)
    assert [call["answered_with"] for call in slack.calls] == ["dropped", "dropped"]

    # A client that retries a connection error once gets through a single drop.
    retry_once = ConnectionErrorRetryHandler(
        interval_calculator=FixedValueRetryIntervalCalculator(0)
    )
    retrying = WebClient(token=TOKEN, base_url=slack.url, retry_handlers=[retry_once])
    slack.fail_next("chat.postMessage", drop=True)
    assert retrying.chat_postMessage(channel="C0KUDOS", text="hi")["ok"]
    answers = [call["answered_with"] for call in slack.calls_to("chat.postMessage")]
    assert answers == ["dropped", "dropped", "ok"]


def test_response_url_and_waiting_for_background_work(slack: SlackApi) -> None:
    response = WebhookClient(slack.response_url("abc")).send(
        text="Sent!", response_type="ephemeral"
    )
    assert response.status_code == 200
    assert response.body == "ok"
    assert slack.responses == [
        {
            "name": "abc",
            "payload": {"text": "Sent!", "response_type": "ephemeral"},
            "answered_with": "ok",
        }
    ]
    client = WebClient(token=TOKEN, base_url=slack.url, retry_handlers=[])
    worker = threading.Thread(
        target=lambda: client.chat_postMessage(channel="C0KUDOS", text="later")
    )
    worker.start()
    [call] = slack.wait_for("chat.postMessage")
    worker.join()
    assert call["args"] == {"channel": "C0KUDOS", "text": "later"}


def test_posting_is_limited_per_conversation_with_short_bursts(
    slack: SlackApi, client: WebClient
) -> None:
    slack.add_channel("C0OTHER")
    slack.clock = lambda: 0.0  # frozen: only advance() moves it
    for n in range(3):  # a short burst is fine
        client.chat_postMessage(channel="C0KUDOS", text=f"Thanks #{n}")
    with pytest.raises(SlackApiError) as limited:
        client.chat_postMessage(channel="C0KUDOS", text="One too many")
    response = limited.value.response
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"  # when the burst's first post leaves
    assert response["error"] == "ratelimited"
    # Other conversations have windows of their own.
    client.chat_postMessage(channel="C0OTHER", text="Elsewhere")
    client.chat_postMessage(channel="U0ALICE", text="A direct message")

    slack.advance(2)
    with pytest.raises(SlackApiError) as still:
        client.chat_postMessage(channel="C0KUDOS", text="Too soon")
    assert still.value.response.headers["Retry-After"] == "1"
    slack.advance(1)
    client.chat_postMessage(channel="C0KUDOS", text="After Retry-After")

    calls = slack.calls_to("chat.postMessage")
    assert [call["answered_with"] for call in calls] == [
        *["ok"] * 3,
        "ratelimited",
        "ok",
        "ok",
        "ratelimited",
        "ok",
    ]
    assert [(call["at"], call.get("retry_after")) for call in calls if call["status"] == 429] == [
        (0.0, 3),
        (2.0, 1),
    ]
    assert len(slack.messages_in("C0KUDOS")) == 4


def test_a_users_dm_and_its_id_are_one_conversation(slack: SlackApi, client: WebClient) -> None:
    slack.clock = lambda: 0.0
    dm = client.conversations_open(users="U0ALICE")["channel"]["id"]
    client.chat_postMessage(channel="U0ALICE", text="1")
    client.chat_postMessage(channel=dm, text="2")
    client.chat_postMessage(channel="U0ALICE", text="3")
    with pytest.raises(SlackApiError) as limited:
        client.chat_postMessage(channel=dm, text="4")
    assert limited.value.response["error"] == "ratelimited"


def test_a_tiered_method_trips_after_its_count_per_minute(
    slack: SlackApi, client: WebClient
) -> None:
    slack.clock = lambda: 0.0
    limit, _ = slack.rate_limits["users.lookupByEmail"]
    assert limit == 50  # Tier 3: 50+ per minute
    for _ in range(limit // 2):
        client.users_lookupByEmail(email="alice@example.com")
    slack.advance(30)
    for _ in range(limit - limit // 2):
        client.users_lookupByEmail(email="alice@example.com")
    with pytest.raises(SlackApiError) as limited:
        client.users_lookupByEmail(email="alice@example.com")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "30"  # the first half leaves at 60
    client.users_info(user="U0ALICE")  # another method: another window

    slack.advance(29)
    with pytest.raises(SlackApiError):
        client.users_lookupByEmail(email="alice@example.com")
    slack.advance(1)  # the window slid past the first half: 25 slots are free
    for _ in range(limit // 2):
        client.users_lookupByEmail(email="alice@example.com")
    with pytest.raises(SlackApiError):
        client.users_lookupByEmail(email="alice@example.com")
    answers = [call["answered_with"] for call in slack.calls_to("users.lookupByEmail")]
    assert answers.count("ratelimited") == 3
    assert answers.count("ok") == limit + limit // 2


def test_tier_1_allows_about_one_call_a_minute(slack: SlackApi) -> None:
    slack.clock = lambda: 0.0
    slack.socket_url = "ws://127.0.0.1:9/link/?ticket=abc"
    app = WebClient(base_url=slack.url, retry_handlers=[])
    app.apps_connections_open(app_token=slack.app_token)
    with pytest.raises(SlackApiError) as limited:
        app.apps_connections_open(app_token=slack.app_token)
    assert limited.value.response.headers["Retry-After"] == "60"
    slack.advance(60)
    assert app.apps_connections_open(app_token=slack.app_token)["url"] == slack.socket_url


def test_reset_forgets_the_windows_and_the_clock(slack: SlackApi, client: WebClient) -> None:
    slack.clock = lambda: 0.0
    for _ in range(3):
        client.chat_postMessage(channel="C0KUDOS", text="hi")
    slack.reset()
    assert slack.clock is time.monotonic
    client.chat_postMessage(channel="C0KUDOS", text="a new test, a new window")


def test_posting_where_the_app_was_not_invited_is_not_in_channel(
    slack: SlackApi, client: WebClient
) -> None:
    slack.add_channel("C0LURKING", member=False)
    with pytest.raises(SlackApiError) as post:
        client.chat_postMessage(channel="C0LURKING", text="Thanks!")
    assert post.value.response["error"] == "not_in_channel"
    assert post.value.response.status_code == 200
    with pytest.raises(SlackApiError) as ephemeral:
        client.chat_postEphemeral(channel="C0LURKING", user="U0ALICE", text="Psst")
    assert ephemeral.value.response["error"] == "not_in_channel"
    assert slack.messages_in("C0LURKING") == []

    slack.add_channel("C0LURKING")  # invited
    client.chat_postMessage(channel="C0LURKING", text="Thanks!")
    assert [m["text"] for m in slack.messages_in("C0LURKING")] == ["Thanks!"]
