"""Socket Mode end to end: what ``kudos slack run`` starts (Bolt's
``SocketModeHandler`` on slack_sdk's builtin client) gets a WebSocket URL
from the Web API stand-in with the app-level token, connects to a local
Socket Mode server (tests/socket_mode.py) and answers the envelopes Slack
sends over it, running the handlers in the client's own threads.

The handlers share the test's database connection (tests/conftest.py), which
is not for two threads at once: the test waits for an envelope's ack (sent
once its handler is done) before it reads the database again, and the client
runs one handler at a time (``concurrency=1``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import pytest
from slack_bolt.adapter.socket_mode import SocketModeHandler
from sqlalchemy import select

from kudos.recognition.models import Kudos
from tests.slack_api import APP_TOKEN, TEAM_ID, SlackApi
from tests.slack_requests import CHANNEL, slack_settings
from tests.socket_mode import SocketModeServer, envelope

ADA, BEN = "U0ADA", "U0BEN"


@pytest.fixture
def app_overrides(slack):
    return slack_settings(slack, SLACK_APP_TOKEN=APP_TOKEN)


@pytest.fixture
def people(make, slack):
    ada = make.person(name="Ada Lovelace", email="ada@acme.example.com")
    ben = make.person(name="Ben Okafor", email="ben@acme.example.com")
    slack.add_user(ADA, "ada@acme.example.com", "Ada Lovelace")
    slack.add_user(BEN, "ben@acme.example.com", "Ben Okafor")
    return {"ada": ada, "ben": ben}


@pytest.fixture
def socket_mode(
    app, slack: SlackApi, caplog: pytest.LogCaptureFixture
) -> Iterator[SocketModeServer]:
    """Slack's Socket Mode server, with the app connected to it as ``kudos
    slack run`` connects (``connect()``, not the blocking ``start()``).
    Afterwards: the app disconnects and the server stops, cleanly."""
    with SocketModeServer() as server:
        slack.socket_url = server.url
        handler = SocketModeHandler(
            app.extensions["kudos.slack"], app.config["SLACK_APP_TOKEN"], concurrency=1
        )
        try:
            handler.connect()
            assert handler.client.is_connected()
            assert [call["token"] for call in slack.calls_to("apps.connections.open")] == [
                APP_TOKEN
            ]
            yield server
        finally:
            # slack_sdk's message processor waits up to 1 s for a message
            # before it looks at ``closed``: give it one (None is skipped).
            handler.client.closed = True
            handler.client.message_queue.put(None)
            handler.close()
        server.wait_for_clients(0)  # the server saw the client go
    assert server.errors == []
    assert server.pings >= 1  # slack_sdk pings as it connects, and got its pong
    refused = [(c["method"], c["answered_with"]) for c in slack.calls if c["answered_with"] != "ok"]
    assert refused == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_opening_the_app_home_over_socket_mode_publishes_it(socket_mode, slack, people):
    event = {"type": "app_home_opened", "user": ADA, "channel": "D0ADA", "tab": "home"}
    body = {
        "token": "deprecated-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": "A0KUDOS",
        "event": event | {"event_ts": f"{time.time():.6f}"},
        "type": "event_callback",
        "event_id": "Ev0SOCKET1",
        "event_time": int(time.time()),
    }

    sent = socket_mode.send(envelope("events_api", body, retry_attempt=0, retry_reason=""))

    assert socket_mode.wait_for_ack(sent) == {"envelope_id": sent}
    slack.wait_for("views.publish")
    assert "Your kudos" in json.dumps(slack.home_of(ADA)["blocks"])


def test_a_slash_command_over_socket_mode_sends_kudos_and_answers_in_the_ack(
    socket_mode, slack, session, people
):
    command = {
        "token": "deprecated-verification-token",
        "team_id": TEAM_ID,
        "team_domain": "acme",
        "channel_id": CHANNEL,
        "channel_name": "kudos",
        "user_id": ADA,
        "user_name": "ada",
        "command": "/kudos",
        "text": f"<@{BEN}|ben> :responsive: thanks for the fix!",
        "api_app_id": "A0KUDOS",
        "is_enterprise_install": "false",
        "response_url": slack.response_url("x"),
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
    }

    sent = socket_mode.send(envelope("slash_commands", command))

    ack = socket_mode.wait_for_ack(sent)  # the handler is done: the database is the test's again
    assert "Kudos sent to Ben" in ack["payload"]["text"]
    kudos = session.scalars(select(Kudos)).one()
    assert kudos.sender_id == people["ada"].id
    assert [person.id for person in kudos.recipients] == [people["ben"].id]
    assert kudos.message == "thanks for the fix!"
