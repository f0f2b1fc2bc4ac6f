"""A local stand-in for Slack's Web API, for tests that must not reach Slack.

``SlackApi`` serves ``http://127.0.0.1:PORT/api/<method>`` from a thread; the
app's own ``slack_sdk.WebClient(token=..., base_url=slack.url)`` talks to it as
to ``https://slack.com/api/`` (form or JSON bodies, ``Authorization: Bearer``).

Required arguments and error names follow Slack's documented methods
(docs.slack.dev/reference/methods/<method>): a missing ``channel`` is
``channel_not_found``, no text, blocks or attachments is ``no_text``, other
missing arguments are ``invalid_arguments`` ("[ERROR] missing required field:
<name>"). Block Kit goes through slack_sdk's models, Slack's limits and its
refusal of unknown properties; ``response_metadata.messages`` says what is wrong.

Every HTTP request is one entry in ``calls`` (``method``, ``args`` with JSON
fields decoded, ``token``, ``status``, ``answered_with``: ``"ok"``, the error,
or ``"dropped"``; ``at``, the rate limiter's time; ``retry_after`` when the
answer had one) and uses up one of a ``fail_next`` fault's ``times``. A
default ``WebClient`` retries a connection error once (after about a second):
``fail_next(m, drop=True)`` is invisible to it (two calls recorded, the second
answered) and ``times=2`` makes it fail; with ``retry_handlers=[]`` a client
sees every fault raw. HTTP 429 is not retried unless the client opts in.

Tokens are checked by type, as Slack does: ``apps.connections.open`` (the
Socket Mode URL) takes the app-level token (``app_token``, ``xapp-...``) and
answers with ``socket_url`` (``tests/socket_mode.py``); every other method
takes the bot token. Either known token sent where the other is needed is
``not_allowed_token_type``; any other token is ``invalid_auth``.

Rate limits are Slack's, per method (this stand-in is one workspace and one
app), as sliding windows: at most N accepted calls in any W seconds
(``RATE_LIMITS``; a test may change ``slack.rate_limits``). Over a limit the
answer is HTTP 429, ``Retry-After: <seconds until a slot frees, at least 1>``
and ``{"ok": false, "error": "ratelimited"}`` (``answered_with="ratelimited"``);
refused calls use no slot. The numbers (docs.slack.dev/apis/web-api/rate-limits
and each method's page): Tier 1 is "1+ per minute", Tier 2 "20+", Tier 3 "50+",
Tier 4 "100+"; the stand-in allows exactly the floor. ``chat.postMessage`` is
"special": about one message per second per channel, short bursts allowed,
and a workspace-wide limit of "several hundred" a minute. Here: 3 in any 3
seconds per conversation (bursts of 3, one a second on average; a user's id
and their DM are one conversation), 300 a minute in all. The limiter reads
``slack.clock()`` (``time.monotonic`` unless a test sets another, e.g.
``slack.clock = lambda: 0.0`` to freeze it) plus what ``slack.advance(seconds)``
added; ``reset()`` forgets the windows and puts the real clock back.

Channels are added with ``add_channel(id, member=...)``. The bot posting
(``chat.postMessage``, ``chat.postEphemeral``) where it is not a member is
``not_in_channel``, as for a public channel without ``chat:write.public``.
``chat.update`` and ``chat.delete`` do not check membership: Slack documents
no ``not_in_channel`` for them (its bot edits and deletes its own messages).
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

TEAM_ID = "T0KUDOS"
# Shaped like Slack's, and long enough for the run's secrets-in-logs check.
TOKEN = "xoxb-1234567890-kudos-stand-in-bot"
APP_TOKEN = "xapp-1-A0KUDOS-stand-in-app-token"
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
JSON_FIELDS = ("blocks", "attachments", "view", "metadata")
MESSAGE_BLOCKS_MAX, VIEW_BLOCKS_MAX = 50, 100
VIEW_DEFAULTS = {"private_metadata": "", "callback_id": "", "external_id": "", "close": None}
VIEW_DEFAULTS |= {"submit": None, "clear_on_close": False, "notify_on_close": False}

Args = dict[str, Any]

MINUTE = 60.0
TIER_1, TIER_2, TIER_3, TIER_4 = (1, MINUTE), (20, MINUTE), (50, MINUTE), (100, MINUTE)
SPECIAL_HUNDREDS = (300, MINUTE)  # "allows hundreds of requests per minute"
# method -> (calls, seconds): at most that many calls in any window that long.
# Tiers as each method's page on docs.slack.dev / api.slack.com gives them.
RATE_LIMITS: dict[str, tuple[int, float]] = {
    "apps.connections.open": TIER_1,  # api.slack.com's page (some copies say Tier 3)
    "auth.test": SPECIAL_HUNDREDS,
    "chat.delete": TIER_3,
    "chat.getPermalink": SPECIAL_HUNDREDS,
    "chat.postEphemeral": TIER_4,
    "chat.postMessage": (300, MINUTE),  # workspace-wide: "several hundred a minute"
    "chat.update": TIER_3,
    "conversations.open": TIER_3,
    "users.info": TIER_4,
    "users.lookupByEmail": TIER_3,
    "views.open": TIER_4,
    "views.publish": TIER_4,
    "views.update": TIER_4,
}
DEFAULT_RATE_LIMIT = TIER_2  # "most methods allow at least 20 requests per minute"
POST_PER_CONVERSATION = (3, 3.0)  # "1 per second per channel, short bursts allowed"


class SlackError(Exception):
    """An API error: the ``error`` name and optional ``[ERROR] ...`` messages."""

    def __init__(self, error: str, *messages: str) -> None:
        super().__init__(error, *messages)
        self.error, self.messages = error, list(messages)


def _check(condition: object, error: str, *messages: str) -> None:
    if not condition:
        raise SlackError(error, *messages)


def _require(args: Args, *names: str) -> None:
    for name in names:
        missing = args.get(name) in (None, "")
        _check(not missing, "invalid_arguments", f"[ERROR] missing required field: {name}")


@dataclass
class _Reply:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    retry_after: int | None = None


def _json_reply(payload: Mapping[str, Any], status: int = 200, **kw: Any) -> _Reply:
    return _Reply(status, json.dumps(payload).encode(), **kw)


def _first_difference(sent: Any, understood: Any, pointer: str) -> str | None:
    """Where ``sent`` has something slack_sdk's model did not keep (Slack refuses it)."""
    if isinstance(sent, list) and isinstance(understood, list) and len(sent) == len(understood):
        sent, understood = dict(enumerate(sent)), dict(enumerate(understood))
    if isinstance(sent, dict) and isinstance(understood, dict):
        for key, value in sent.items():
            if key not in understood:
                return f"[ERROR] invalid additional property: {key} [json-pointer:{pointer}]"
            if found := _first_difference(value, understood[key], f"{pointer}/{key}"):
                return found
        return None
    if sent == understood and type(sent) is type(understood):
        return None
    return f"[ERROR] unknown type or malformed value [json-pointer:{pointer}]"


def block_problems(blocks: list[Any], pointer: str, limit: int) -> list[str]:
    """Slack's objections to a list of Block Kit blocks (empty if it accepts them)."""
    if len(blocks) > limit:
        return [f"[ERROR] no more than {limit} items allowed [json-pointer:{pointer}]"]
    problems = []
    for index, raw in enumerate(blocks):
        where = f"{pointer}/{index}"
        try:
            block = Block.parse(raw) if isinstance(raw, dict) else None
            if block is None:
                kind = raw.get("type") if isinstance(raw, dict) else raw
                problems.append(f"[ERROR] unknown block type: {kind!r} [json-pointer:{where}]")
                continue
            understood = block.to_dict()  # validates the block and everything in it
        except Exception as exc:  # whatever slack_sdk cannot model, Slack refuses
            problems.append(f"[ERROR] {exc} [json-pointer:{where}]")
            continue
        if problem := _first_difference(raw, understood, where):
            problems.append(problem)
    return problems


def view_problems(view: Any, kinds: tuple[str, ...]) -> list[str]:
    """Slack's objections to a view object (empty if it accepts it)."""
    if not isinstance(view, dict):
        return ["[ERROR] must provide an object [json-pointer:/view]"]
    if view.get("type") not in kinds:
        return [f"[ERROR] type must be one of {', '.join(kinds)} [json-pointer:/view/type]"]
    problems = [
        f"[ERROR] invalid additional property: {key} [json-pointer:/view]"
        for key in sorted(set(view) - View.attributes)
    ]
    for key in ("title", "submit", "close"):
        text = view.get(key)
        if text is not None and (not isinstance(text, dict) or text.get("type") != "plain_text"):
            problems.append(f"[ERROR] must be a plain_text object [json-pointer:/view/{key}]")
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        return [*problems, "[ERROR] missing required field: blocks [json-pointer:/view]"]
    if view["type"] == "modal":
        if "title" not in view:
            problems.append("[ERROR] missing required field: title [json-pointer:/view]")
        inputs = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
        if inputs and "submit" not in view:
            problems.append("[ERROR] a modal with input blocks needs submit [json-pointer:/view]")
    problems += block_problems(blocks, "/view/blocks", VIEW_BLOCKS_MAX)
    if not problems:
        try:
            View(**view).to_dict()  # title, submit, close <= 24, private_metadata, ...
        except Exception as exc:
            problems.append(f"[ERROR] {exc} [json-pointer:/view]")
    return problems


def _parse(query: str, headers: Mapping[str, str], body: bytes) -> tuple[Args, str | None]:
    """The arguments (JSON fields decoded, nulls dropped) and the token sent."""
    args: Args = dict(parse_qsl(query, keep_blank_values=True))
    token = args.pop("token", None)
    content_type = headers.get("Content-Type", "").split(";")[0].strip().lower()
    if body and content_type == "application/json":
        try:
            decoded = json.loads(body)
        except ValueError:
            raise SlackError("invalid_json") from None
        _check(isinstance(decoded, dict), "json_not_object")
        decoded.pop("token", None)  # Slack reads a JSON request's token from the header only
        args.update(decoded)
    elif body and content_type in ("application/x-www-form-urlencoded", ""):
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        token = form.pop("token", token)
        args.update(form)
    elif body:
        raise SlackError("invalid_form_data", f"[ERROR] the stand-in cannot read {content_type}")
    for field in JSON_FIELDS:
        if isinstance(args.get(field), str):
            with contextlib.suppress(ValueError):  # else left as text, for the checks to refuse
                args[field] = json.loads(args[field])
    authorization = headers.get("Authorization", "")
    if authorization.startswith("Bearer "):
        token = authorization.removeprefix("Bearer ").strip() or token
    return {k: v for k, v in args.items() if v is not None}, token


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        reply = self.server.api._serve(url.path, url.query, dict(self.headers.items()), body)
        if reply is None:  # dropped: close the connection without a response
            self.close_connection = True
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        if reply.retry_after is not None:
            self.send_header("Retry-After", str(reply.retry_after))
        self.end_headers()
        self.wfile.write(reply.body)

    do_GET = do_POST  # Slack takes GET too

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: SlackApi


class SlackApi:
    """Slack's Web API on 127.0.0.1 (see the module docstring)."""

    def __init__(
        self, token: str = TOKEN, *, team_id: str = TEAM_ID, app_token: str = APP_TOKEN
    ) -> None:
        self.token, self.team_id, self.app_token = token, team_id, app_token
        self.socket_url: str | None = None  # what apps.connections.open hands out
        self.bot_user_id, self.bot_id, self.app_id = "U0KUDOSBOT", "B0KUDOSBOT", "A0KUDOS"
        self.calls: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []  # what was posted to response_url(...)
        self.views: dict[str, dict[str, Any]] = {}  # view id -> view (modals and home tabs)
        self._lock = threading.RLock()
        self._users: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, bool] = {}  # channel id -> the bot is a member
        self._dms: dict[str, str] = {}  # user id -> D id
        self._messages: dict[str, dict[str, dict[str, Any]]] = {}  # channel -> ts -> message
        self._homes: dict[str, dict[str, Any]] = {}  # user id -> home view
        self._faults: dict[str, list[tuple[_Reply | None, str]]] = {}  # method -> next answers
        self._down = False
        self.rate_limits = dict(RATE_LIMITS)
        self.clock: Callable[[], float] = time.monotonic  # what the rate limiter reads
        self._skew = 0.0  # added by advance()
        self._windows: dict[tuple[str, ...], deque[float]] = {}  # key -> accepted calls
        self._epoch, self._serial = int(time.time()), itertools.count(1)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.add_user(self.bot_user_id, "kudos@bots.invalid", "Kudos", team_id, is_bot=True)

    def start(self) -> SlackApi:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.api = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = self._thread = None

    def __enter__(self) -> SlackApi:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "SlackApi is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/"

    def response_url(self, name: str) -> str:
        return self.url.removesuffix("/api/") + f"/response/{name}"

    # -- set-up and faults -----------------------------------------------------

    def add_user(
        self,
        user_id: str,
        email: str,
        name: str = "Test User",
        team_id: str = TEAM_ID,
        deleted: bool = False,
        is_bot: bool = False,
        is_email_confirmed: bool = True,
    ) -> dict[str, Any]:
        profile = {"real_name": name, "display_name": name}
        if not is_bot:  # bot users have no e-mail address in Slack
            profile["email"] = email
        user = {"id": user_id, "team_id": team_id, "name": email.split("@")[0], "real_name": name}
        user |= {"deleted": deleted, "is_bot": is_bot, "is_email_confirmed": is_email_confirmed}
        with self._lock:
            self._users[user_id] = user | {"profile": profile}
            return copy.deepcopy(self._users[user_id])

    def add_channel(self, channel_id: str, *, member: bool = True) -> None:
        """A channel; ``member=False``: the app was not invited (``not_in_channel``)."""
        with self._lock:
            self._channels[channel_id] = member

    def advance(self, seconds: float) -> None:
        """Move the rate limiter's clock on (no real waiting)."""
        with self._lock:
            self._skew += seconds

    def now(self) -> float:
        """The rate limiter's time: ``clock()`` plus what ``advance`` added."""
        return self.clock() + self._skew

    def fail_next(
        self,
        method: str,
        error: str | None = None,
        *,
        status: int = 200,
        retry_after: int | None = None,
        drop: bool = False,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests to ``method`` with ``error`` (or drop them)."""
        error = error or ("ratelimited" if status == 429 else "fatal_error")
        body = {"ok": False, "error": error}
        reply = None if drop else _json_reply(body, status, retry_after=retry_after)
        entry = (reply, "dropped" if drop else error)
        with self._lock:  # one entry per HTTP request, retries included
            self._faults.setdefault(method, []).extend([entry] * times)

    def set_down(self, down: bool = True) -> None:
        """While down, every request (API and response_url) has its connection dropped."""
        with self._lock:
            self._down = down

    def reset(self) -> None:
        """Forget calls, responses, messages, views, faults, the Socket Mode URL
        and the rate limits' windows (limits and clock back to the defaults);
        keep users and channels."""
        with self._lock:
            for store in (self.calls, self.responses, self.views, self._messages, self._homes):
                store.clear()
            self._faults.clear()
            self._down = False
            self.socket_url = None
            self._windows.clear()
            self.rate_limits = dict(RATE_LIMITS)
            self.clock, self._skew = time.monotonic, 0.0

    # -- inspection ------------------------------------------------------------

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(call) for call in self.calls if call["method"] == method]

    def messages_in(self, channel: str) -> list[dict[str, Any]]:
        """The channel's messages now (after updates and deletes); a user id means their DM."""
        with self._lock:
            channel = self._dms.get(channel, channel)
            return copy.deepcopy(list(self._messages.get(channel, {}).values()))

    def home_of(self, user_id: str) -> dict[str, Any] | None:
        with self._lock:
            return copy.deepcopy(self._homes.get(user_id))

    def wait_for(self, method: str, count: int = 1, timeout: float = 5) -> list[dict[str, Any]]:
        """Wait until ``count`` calls to ``method`` were recorded (work in other threads)."""
        deadline = time.monotonic() + timeout
        while len(calls := self.calls_to(method)) < count:
            if time.monotonic() > deadline:
                seen = [call["method"] for call in self.calls]
                raise AssertionError(f"{len(calls)} call(s) to {method}, not {count}; saw {seen}")
            time.sleep(0.01)
        return calls

    # -- serving ---------------------------------------------------------------

    def _serve(self, path: str, query: str, headers: dict[str, str], body: bytes) -> _Reply | None:
        if path.startswith("/response/"):
            return self._serve_response_url(path.removeprefix("/response/"), body)
        method = path.removeprefix("/api/")
        with self._lock:  # recorded before the client can see an answer
            call: dict[str, Any] = {"method": method, "args": {}, "token": None}
            call["at"] = self.now()  # the rate limiter's time
            self.calls.append(call)
            try:
                call["args"], call["token"] = _parse(query, headers, body)
                parse_error = None
            except SlackError as exc:
                parse_error = exc
            reply, call["answered_with"] = self._answer(method, call, parse_error)
            call["status"] = reply.status if reply else None
            if reply is not None and reply.retry_after is not None:
                call["retry_after"] = reply.retry_after
            return reply

    def _answer(
        self, method: str, call: dict[str, Any], parse_error: SlackError | None
    ) -> tuple[_Reply | None, str]:
        if self._down:
            return None, "dropped"
        if faults := self._faults.get(method):
            return faults.pop(0)
        handler = getattr(self, f"_api_{method.replace('.', '_')}", None)
        try:
            _check(re.fullmatch(r"[a-z]+(\.[A-Za-z]+)+", method) and handler, "unknown_method")
            if parse_error is not None:
                raise parse_error
            _check(call["token"], "not_authed")
            _check(call["token"] in (self.token, self.app_token), "invalid_auth")
            wanted = self.app_token if method in APP_TOKEN_METHODS else self.token
            _check(call["token"] == wanted, "not_allowed_token_type")
            if (retry_after := self._rate_limited(method, call["args"])) is not None:
                body = {"ok": False, "error": "ratelimited"}
                return _json_reply(body, 429, retry_after=retry_after), "ratelimited"
            return _json_reply({"ok": True, **handler(call["args"])}), "ok"
        except SlackError as exc:
            failure = exc
        except Exception as exc:  # a bug in the stand-in: say so
            failure = SlackError("fatal_error", f"stand-in crashed: {exc!r}")
        error: Args = {"ok": False, "error": failure.error}
        if failure.error == "unknown_method":
            error["req_method"] = method
        if failure.messages:
            error["response_metadata"] = {"messages": failure.messages}
        return _json_reply(error), failure.error

    def _serve_response_url(self, name: str, body: bytes) -> _Reply | None:
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = {"unparsed": body.decode("utf-8", "replace")}
        with self._lock:
            answered = "dropped" if self._down else "ok"
            self.responses.append({"name": name, "payload": payload, "answered_with": answered})
            return None if self._down else _Reply(200, b"ok", "text/html")

    # -- rate limits -----------------------------------------------------------

    def _rate_limited(self, method: str, args: Args) -> int | None:
        """Seconds to wait if ``method`` is over a limit now, else ``None`` (and
        the call takes a slot in each of its windows)."""
        windows = [((method,), self.rate_limits.get(method, DEFAULT_RATE_LIMIT))]
        if method == "chat.postMessage" and isinstance(args.get("channel"), str):
            conversation = self._conversation_key(args["channel"])
            windows.append(((method, conversation), POST_PER_CONVERSATION))
        now = self.now()
        waits = [wait for key, limit in windows if (wait := self._wait(key, limit, now))]
        if waits:
            return max(waits)
        for key, _ in windows:
            self._windows.setdefault(key, deque()).append(now)
        return None

    def _wait(self, key: tuple[str, ...], limit: tuple[int, float], now: float) -> int | None:
        calls, seconds = limit
        window = self._windows.setdefault(key, deque())
        while window and window[0] <= now - seconds:
            window.popleft()  # out of the window
        if len(window) < calls:
            return None
        return max(math.ceil(window[0] + seconds - now), 1)  # when the oldest leaves

    def _conversation_key(self, channel: str) -> str:
        """A user's id and their DM's D id are one conversation."""
        by_dm = {dm: user_id for user_id, dm in self._dms.items()}
        user_id = by_dm.get(channel, channel)
        return f"dm:{user_id}" if user_id in self._users else channel

    # -- helpers for the methods -----------------------------------------------

    def _next_ts(self) -> str:
        n = next(self._serial) * 100
        return f"{self._epoch + n // 1_000_000}.{n % 1_000_000:06d}"

    def _dm_with(self, user_id: str) -> str:
        return self._dms.setdefault(user_id, f"D{len(self._dms) + 1:08d}")

    def _conversation(self, channel: Any, *, user_ids: bool = True, member: bool = False) -> str:
        """Where a message goes: a channel (with ``member``, one the bot is in),
        or a user's DM (by its D id, or the user's id)."""
        _check(channel and isinstance(channel, str), "channel_not_found")
        if channel in self._channels:
            _check(self._channels[channel] or not member, "not_in_channel")
            return channel
        by_dm = {dm: user_id for user_id, dm in self._dms.items()}
        user = self._users.get(by_dm.get(channel, channel if user_ids else ""))
        _check(user, "channel_not_found")
        _check(not user["is_bot"], "cannot_dm_bot")
        _check(not user["deleted"], "is_archived")
        return self._dm_with(user["id"])

    def _check_content(self, args: Args) -> None:
        _check(any(args.get(key) for key in ("text", "blocks", "attachments")), "no_text")
        if "blocks" in args:
            _check(isinstance(args["blocks"], list), "invalid_blocks_format")
            problems = block_problems(args["blocks"], "/blocks", MESSAGE_BLOCKS_MAX)
            _check(not problems, "invalid_blocks", *problems)
        _check(isinstance(args.get("attachments", []), list), "invalid_attachments")
        if (metadata := args.get("metadata")) is not None:
            event_type = isinstance(metadata, dict) and isinstance(metadata.get("event_type"), str)
            payload = event_type and isinstance(metadata.get("event_payload"), dict)
            _check(payload, "invalid_metadata_format")

    def _message(self, args: Args) -> tuple[str, dict[str, Any]]:
        # chat.update and chat.delete need a DM's D id, not the user's id
        channel = self._conversation(args.get("channel"), user_ids=False)
        ts = args.get("ts")
        message = self._messages.get(channel, {}).get(ts) if isinstance(ts, str) else None
        _check(message, "message_not_found")
        return channel, message

    def _store_view(self, view: Any, kinds: tuple[str, ...], old: Args | None) -> Args:
        problems = view_problems(view, kinds)
        _check(not problems, "invalid_arguments", *problems)
        view_id = old["id"] if old else f"V{next(self._serial):08d}"
        stored = {"team_id": self.team_id, **VIEW_DEFAULTS, "previous_view_id": None, **view}
        stored |= {"id": view_id, "root_view_id": old["root_view_id"] if old else view_id}
        stored |= {"app_id": self.app_id, "bot_id": self.bot_id, "state": {"values": {}}}
        stored["hash"] = f"{int(time.time())}.{next(self._serial):08x}"
        self.views[view_id] = copy.deepcopy(stored)
        return {"view": stored}

    def _view_with_external_id(self, external_id: str) -> Args | None:
        return next((v for v in self.views.values() if v.get("external_id") == external_id), None)

    # -- the methods: _api_<method name with "." as "_"> -------------------------

    def _api_apps_connections_open(self, args: Args) -> Args:
        url = self.socket_url
        _check(url, "fatal_error", "[ERROR] the stand-in has no Socket Mode server: set socket_url")
        return {"url": url}

    def _api_auth_test(self, args: Args) -> Args:
        url, team, user = "https://example.slack.com/", "Kudos Test", "kudos"
        ids = {"team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": self.bot_id}
        return {"url": url, "team": team, "user": user, **ids, "is_enterprise_install": False}

    def _api_chat_postMessage(self, args: Args) -> Args:
        channel = self._conversation(args.get("channel"), member=True)
        self._check_content(args)
        ts = self._next_ts()
        message = {"type": "message", "channel": channel, "ts": ts, "user": self.bot_user_id}
        message |= {"bot_id": self.bot_id, "app_id": self.app_id, "team": self.team_id}
        message["text"] = args.get("text", "")
        for key in ("blocks", "attachments", "metadata", "thread_ts"):
            if key in args:
                message[key] = args[key]
        self._messages.setdefault(channel, {})[ts] = message
        return {"channel": channel, "ts": ts, "message": copy.deepcopy(message)}

    def _api_chat_update(self, args: Args) -> Args:
        channel, message = self._message(args)
        self._check_content(args)
        if "text" in args and "blocks" not in args:
            message.pop("blocks", None)  # Slack drops the old blocks when only text is given
        message |= {k: args[k] for k in ("text", "blocks", "attachments", "metadata") if k in args}
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        result = {"channel": channel, "ts": message["ts"], "text": message["text"]}
        return result | {"message": copy.deepcopy(message)}

    def _api_chat_delete(self, args: Args) -> Args:
        channel, message = self._message(args)
        del self._messages[channel][message["ts"]]
        return {"channel": channel, "ts": message["ts"]}

    def _api_chat_postEphemeral(self, args: Args) -> Args:
        self._conversation(args.get("channel"), member=True)
        _require(args, "user")
        _check(args["user"] in self._users, "user_not_found")
        self._check_content(args)
        return {"message_ts": self._next_ts()}

    def _api_chat_getPermalink(self, args: Args) -> Args:
        channel = self._conversation(args.get("channel"))
        _require(args, "message_ts")
        ts = str(args["message_ts"]).replace(".", "")
        return {
            "channel": channel,
            "permalink": f"https://example.slack.com/archives/{channel}/p{ts}",
        }

    def _api_conversations_open(self, args: Args) -> Args:
        if args.get("channel"):
            _check(args["channel"] in self._dms.values(), "channel_not_found")
            return {"channel": {"id": args["channel"]}}
        users = [u.strip() for u in str(args.get("users", "")).split(",") if u.strip()]
        _check(users, "users_list_not_supplied")
        _check(len(users) == 1, "invalid_arguments", "[ERROR] the stand-in opens 1:1 DMs only")
        user = self._users.get(users[0])
        _check(user, "user_not_found")
        _check(not user["deleted"], "user_disabled")
        return {"channel": {"id": self._dm_with(user["id"])}}

    def _api_views_open(self, args: Args) -> Args:
        _require(args, "trigger_id", "view")
        view = args["view"]
        external_id = view.get("external_id") if isinstance(view, dict) else None
        taken = external_id and self._view_with_external_id(external_id)
        _check(not taken, "duplicate_external_id")
        return self._store_view(view, ("modal",), None)

    def _api_views_update(self, args: Args) -> Args:
        _require(args, "view")
        view_id, external_id = args.get("view_id"), args.get("external_id")
        one = bool(view_id) != bool(external_id)
        _check(
            one, "invalid_arguments", "[ERROR] exactly one of view_id or external_id is required"
        )
        old = self.views.get(view_id) if view_id else self._view_with_external_id(external_id)
        _check(old, "not_found")
        _check(args.get("hash") in (None, "", old["hash"]), "hash_conflict")
        return self._store_view(args["view"], (old["type"],), old)

    def _api_views_publish(self, args: Args) -> Args:
        _require(args, "user_id", "view")
        old = self._homes.get(args["user_id"])
        _check(not old or args.get("hash") in (None, "", old["hash"]), "hash_conflict")
        result = self._store_view(args["view"], ("home",), old)
        self._homes[args["user_id"]] = self.views[result["view"]["id"]]
        return result

    def _api_users_info(self, args: Args) -> Args:
        _require(args, "user")
        _check(args["user"] in self._users, "user_not_found")
        return {"user": copy.deepcopy(self._users[args["user"]])}

    def _api_users_lookupByEmail(self, args: Args) -> Args:
        _require(args, "email")
        email = str(args["email"]).strip().lower()
        found = [u for u in self._users.values() if u["profile"].get("email", "").lower() == email]
        _check(found, "users_not_found")
        return {"user": copy.deepcopy(found[0])}
