"""A local stand-in for Slack's Socket Mode server, for tests that must not reach Slack.

In Socket Mode (docs.slack.dev/apis/events-api/using-socket-mode) the app asks
``apps.connections.open`` (with its app-level token) for a WebSocket URL,
connects, and is greeted with a ``hello``. Slack then sends each event,
command or interaction as a JSON envelope (``envelope_id``, ``type``,
``payload``); the app acknowledges it with ``{"envelope_id": ..., "payload":
...}``, the payload being what it would have answered over HTTP.

``SocketModeServer`` serves ``ws://127.0.0.1:PORT/link/?ticket=...`` (``url``;
hand it out with ``SlackApi.socket_url``), one thread per connection. It does
the RFC 6455 handshake, refusing with a 400 anything that is not a WebSocket
upgrade for that path and ticket with a valid ``Sec-WebSocket-Key``, and sends
the ``hello``. ``send(envelope)`` sends a text frame to the newest connection
(server frames are unmasked); the client's frames must be masked and whole.
Its text frames are kept in ``received``, acknowledgements by envelope id for
``wait_for_ack``. A ping gets a pong; a close frame is answered and ends the
connection. Like Slack, the server pings a client that has been quiet for
``ping_interval`` seconds: that also wakes slack_sdk's receiving thread, so its
``close()`` need not wait out its 3-second socket timeout. ``stop()`` sends
close 1001 ("going away") to connections still open and closes every socket.
What the server refused or could not read is in ``errors``.

slack_sdk's builtin client speaks plain ``ws://`` (no TLS) to any port but 443.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import hashlib
import json
import socket
import socketserver
import struct
import sys
import threading
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, section 1.3
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA
GOING_AWAY = 1001


def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for a ``Sec-WebSocket-Key``."""
    digest = hashlib.sha1((key + GUID).encode(), usedforsecurity=False).digest()  # RFC 6455
    return base64.b64encode(digest).decode()


def frame(opcode: int, data: bytes) -> bytes:
    """A final, unmasked frame: what a server sends."""
    size = len(data)
    if size < 126:
        header = struct.pack("!BB", 0x80 | opcode, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, size)
    return header + data


def envelope(kind: str, payload: dict[str, Any], **more: Any) -> dict[str, Any]:
    """An envelope as Slack sends it: ``events_api`` ones take no response payload."""
    accepts = kind != "events_api"
    message = {"envelope_id": str(uuid.uuid4()), "type": kind, "payload": payload}
    return message | {"accepts_response_payload": accepts, **more}


class _Gone(Exception):
    """The client closed the connection."""


class _Connection:
    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self.sock, self.buffer = sock, bytearray()
        self.lock = threading.Lock()  # the test thread and this connection's thread both send
        sock.settimeout(timeout)

    def send(self, opcode: int, data: bytes) -> None:
        with self.lock:
            self.sock.sendall(frame(opcode, data))

    def _fill(self, size: int) -> None:
        """At least ``size`` bytes in the buffer; a timeout leaves what came in there."""
        while len(self.buffer) < size:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise _Gone
            self.buffer += chunk

    def read_request(self) -> str:
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            self._fill(len(self.buffer) + 1)
        request = self.buffer[:end].decode("latin-1")
        del self.buffer[: end + 4]
        return request

    def read_frame(self) -> tuple[int, bytes]:
        """The next whole frame's opcode and unmasked data (TimeoutError: none yet)."""
        self._fill(2)
        first, second = self.buffer[0], self.buffer[1]
        if not first & 0x80 or not second & 0x80:
            raise ValueError("the client sent a fragmented or unmasked frame")
        size, start = second & 0x7F, 2
        if size == 126:
            self._fill(4)
            (size,), start = struct.unpack("!H", self.buffer[2:4]), 4
        elif size == 127:
            self._fill(10)
            (size,), start = struct.unpack("!Q", self.buffer[2:10]), 10
        self._fill(start + 4 + size)
        mask, data = self.buffer[start : start + 4], self.buffer[start + 4 : start + 4 + size]
        del self.buffer[: start + 4 + size]
        return first & 0x0F, bytes(byte ^ mask[i % 4] for i, byte in enumerate(data))


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        self.server.stand_in._serve(self.request)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True  # and server_close() joins them (block_on_close)
    stand_in: SocketModeServer

    def handle_error(self, request: Any, client_address: Any) -> None:  # noqa: ANN401
        self.stand_in._error(f"server error: {sys.exc_info()[1]!r}")


class SocketModeServer:
    """Slack's Socket Mode server on 127.0.0.1 (see the module docstring)."""

    def __init__(self, *, app_id: str = "A0KUDOS", ping_interval: float = 0.1) -> None:
        self.app_id, self.ping_interval = app_id, ping_interval
        self.ticket = uuid.uuid4().hex
        self.received: list[dict[str, Any]] = []  # the client's text frames, decoded
        self.errors: list[str] = []
        self.pings = 0  # from the client
        self._acks: dict[str, dict[str, Any]] = {}
        self._connections: list[_Connection] = []
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> SocketModeServer:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.stand_in = self
        serve = functools.partial(self._server.serve_forever, poll_interval=0.05)
        self._thread = threading.Thread(target=serve, daemon=True)  # stop() waits a poll
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._stopping.set()
        self._server.shutdown()  # no new connections
        with self._changed:
            still_open = list(self._connections)
        for connection in still_open:
            with contextlib.suppress(OSError):  # already gone
                connection.send(CLOSE, struct.pack("!H", GOING_AWAY))
        self._server.server_close()  # waits for the connections' threads, which close them
        self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> SocketModeServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "SocketModeServer is not started"
        port = self._server.server_address[1]
        return f"ws://127.0.0.1:{port}/link/?ticket={self.ticket}&app_id={self.app_id}"

    # -- what the test does ------------------------------------------------------

    def send(self, message: dict[str, Any]) -> str | None:
        """Send an envelope (or ``hello``, ``disconnect``) to the newest
        connection; its envelope id, to wait for the ack."""
        with self._changed:
            assert self._connections, "no Socket Mode client is connected"
            connection = self._connections[-1]
        connection.send(TEXT, json.dumps(message).encode())
        return message.get("envelope_id")

    def wait_for_ack(self, envelope_id: str, timeout: float = 5) -> dict[str, Any]:
        """The client's acknowledgement of an envelope, once it came."""
        with self._changed:
            if not self._changed.wait_for(lambda: envelope_id in self._acks, timeout):
                raise AssertionError(f"no ack for {envelope_id} in {timeout}s: {self.received}")
            return self._acks[envelope_id]

    def wait_for_clients(self, count: int, timeout: float = 5) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._connections) == count, timeout):
                raise AssertionError(f"{len(self._connections)} client(s), not {count}")

    # -- serving -------------------------------------------------------------------

    def _error(self, problem: str) -> None:
        with self._changed:
            self.errors.append(problem)

    def _serve(self, sock: socket.socket) -> None:
        connection = _Connection(sock, self.ping_interval)
        try:
            if self._handshake(connection):
                self._converse(connection)
        except (_Gone, ConnectionError):
            pass  # the client went away
        except ValueError as problem:
            self._error(str(problem))
        finally:
            with self._changed:
                if connection in self._connections:
                    self._connections.remove(connection)
                self._changed.notify_all()
        # socketserver closes the socket after this returns

    def _handshake(self, connection: _Connection) -> bool:
        while True:
            try:
                request = connection.read_request()
                break
            except TimeoutError:
                if self._stopping.is_set():
                    return False
        request_line, *lines = request.split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        key = headers.get("sec-websocket-key", "")
        if problem := self._handshake_problem(request_line, headers, key):
            self._error(f"handshake refused: {problem}")
            refusal = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            connection.sock.sendall(refusal.encode())
            return False
        accept = (
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n"
        )
        with self._changed, connection.lock:  # nothing is sent before the hello
            self._connections.append(connection)
            self._changed.notify_all()
            hello = {
                "type": "hello",
                "num_connections": len(self._connections),
                "debug_info": {"host": "applink-stand-in", "approximate_connection_time": 18060},
                "connection_info": {"app_id": self.app_id},
            }
            connection.sock.sendall(accept.encode() + frame(TEXT, json.dumps(hello).encode()))
        return True

    def _handshake_problem(self, request_line: str, headers: dict[str, str], key: str) -> str:
        method, _, rest = request_line.partition(" ")
        target = urlsplit(rest.rpartition(" ")[0])
        tokens = {token.strip().lower() for token in headers.get("connection", "").split(",")}
        try:
            key_ok = len(base64.b64decode(key, validate=True)) == 16
        except binascii.Error:
            key_ok = False
        checks = {
            "not a GET": method == "GET",
            f"not {urlsplit(self.url).path}": target.path == urlsplit(self.url).path,
            "wrong ticket": parse_qs(target.query).get("ticket") == [self.ticket],
            "no Upgrade: websocket": headers.get("upgrade", "").lower() == "websocket",
            "no Connection: Upgrade": "upgrade" in tokens,
            "not Sec-WebSocket-Version: 13": headers.get("sec-websocket-version") == "13",
            "bad Sec-WebSocket-Key": key_ok,
        }
        return ", ".join(problem for problem, ok in checks.items() if not ok)

    def _converse(self, connection: _Connection) -> None:
        while not self._stopping.is_set():
            try:
                opcode, data = connection.read_frame()
            except TimeoutError:  # quiet for ping_interval: ping, as Slack does
                connection.send(PING, str(time.time()).encode())
                continue
            if opcode == TEXT:
                self._received(data)
            elif opcode == PING:
                with self._changed:
                    self.pings += 1
                connection.send(PONG, data)
            elif opcode == CLOSE:
                connection.send(CLOSE, data[:2])
                return
            elif opcode != PONG:
                raise ValueError(f"the client sent an unexpected frame (opcode {opcode:#x})")

    def _received(self, data: bytes) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            self._error(f"the client sent a text frame that is not JSON: {data[:100]!r}")
            return
        with self._changed:
            self.received.append(message)
            if isinstance(message, dict) and "envelope_id" in message:
                self._acks[message["envelope_id"]] = message
            self._changed.notify_all()
