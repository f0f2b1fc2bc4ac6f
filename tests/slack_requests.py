"""Slack's side of the tests: requests to ``/slack/events`` signed as Slack
signs them (v0: HMAC-SHA256 of ``v0:<timestamp>:<body>`` with the signing
secret), shaped as Slack's documented payloads, and the app's settings
pointing its Web API client at the stand-in (``tests/slack_api.py``)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

from flask.testing import FlaskClient

from tests.slack_api import TEAM_ID, TOKEN, SlackApi

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "C0KUDOS"
TEAM_CHANNEL = "C0PLATFORM"
_ids = itertools.count(1)


def slack_settings(api: SlackApi, **more: object) -> dict[str, object]:
    return {
        "SLACK_ENABLED": True,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_TEAM_ID": TEAM_ID,
        "SLACK_APP_TOKEN": None,
        "SLACK_CHANNEL": CHANNEL,
        "SLACK_TEAM_CHANNELS": {"platform": TEAM_CHANNEL},
        "SLACK_API_URL": api.url,
        **more,
    }


def signature(body: str, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256)
    return "v0=" + digest.hexdigest()


class SlackClient:
    """Sends what Slack sends when a person uses the app."""

    def __init__(self, client: FlaskClient, api: SlackApi) -> None:
        self.client = client
        self.api = api

    def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str = SIGNING_SECRET,
        signed: bool = True,
        headers: dict[str, str] | None = None,
    ):  # noqa: ANN201
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        sent = {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp}
        if signed:
            sent["X-Slack-Signature"] = signature(body, stamp, secret)
        return self.client.post("/slack/events", data=body, headers={**sent, **(headers or {})})

    def command(
        self,
        text: str,
        *,
        user: str,
        team: str = TEAM_ID,
        trigger_id: str | None = None,
        **options: Any,
    ):  # noqa: ANN201
        form = {
            "token": "deprecated-verification-token",
            "team_id": team,
            "team_domain": "acme",
            "channel_id": CHANNEL,
            "channel_name": "kudos",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/kudos",
            "text": text,
            "api_app_id": "A0KUDOS",
            "response_url": self.api.response_url(f"command-{next(_ids)}"),
            "trigger_id": trigger_id or f"{next(_ids)}.1234.abcdef",
        }
        return self.post(urlencode(form), "application/x-www-form-urlencoded", **options)

    def interact(self, payload: dict[str, Any], **options: Any):  # noqa: ANN201
        payload = {"team": {"id": TEAM_ID, "domain": "acme"}, "api_app_id": "A0KUDOS", **payload}
        body = urlencode({"payload": json.dumps(payload)})
        return self.post(body, "application/x-www-form-urlencoded", **options)

    def event(self, event: dict[str, Any], *, team: str = TEAM_ID, **options: Any):  # noqa: ANN201
        body = {
            "token": "deprecated-verification-token",
            "team_id": team,
            "api_app_id": "A0KUDOS",
            "type": "event_callback",
            "event_id": f"Ev{next(_ids):08d}",
            "event_time": int(time.time()),
            "event": event,
        }
        return self.post(json.dumps(body), "application/json", **options)

    def shortcut(self, callback_id: str, *, user: str, **more: Any):  # noqa: ANN201
        return self.interact(
            {
                "type": "message_action" if "message" in more else "shortcut",
                "callback_id": callback_id,
                "trigger_id": f"{next(_ids)}.1234.abcdef",
                "user": {"id": user, "team_id": TEAM_ID},
                **more,
            }
        )

    def submit(self, view: dict[str, Any], state: dict[str, Any], *, user: str, **options: Any):  # noqa: ANN201
        """Submit ``view`` (as the stand-in holds it) with the fields filled in."""
        submitted = {**view, "state": {"values": state}}
        return self.interact(
            {
                "type": "view_submission",
                "user": {"id": user, "team_id": TEAM_ID},
                "view": submitted,
                "trigger_id": f"{next(_ids)}.1234.abcdef",
            },
            **options,
        )

    def click(self, action: dict[str, Any], *, user: str, **more: Any):  # noqa: ANN201
        return self.interact(
            {
                "type": "block_actions",
                "user": {"id": user, "team_id": TEAM_ID},
                "trigger_id": f"{next(_ids)}.1234.abcdef",
                "actions": [action],
                **more,
            }
        )


def state(
    *, users: list[str], values: list[int], message: str, visibility: str = "public"
) -> dict[str, Any]:
    """A compose modal's ``state.values`` as Slack sends it."""
    return {
        "recipients": {"recipients": {"type": "multi_users_select", "selected_users": users}},
        "values": {
            "values": {
                "type": "multi_static_select",
                "selected_options": [{"value": str(value)} for value in values],
            }
        },
        "message": {"message": {"type": "plain_text_input", "value": message}},
        "visibility": {
            "visibility": {"type": "radio_buttons", "selected_option": {"value": visibility}}
        },
    }
