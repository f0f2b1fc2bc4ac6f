"""Run the real OpenID provider (devtools/oidc-provider) and walk through it.

The provider is panva's oidc-provider on Node.js, started on a free port on
127.0.0.1 with users from a JSON file that tests may rewrite between
sign-ins. ``ProviderBrowser`` plays the person at the provider: it follows
redirects, fills in the provider's own login form and hands the final
redirect back to Kudos (the Flask test client).
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

ROOT = Path(__file__).resolve().parent.parent
PROVIDER_DIR = ROOT / "devtools" / "oidc-provider"
# Kudos' address as registered at the provider. Tests set KUDOS_BASE_URL to
# it; the Flask test client itself needs no real server.
KUDOS_URL = "http://127.0.0.1:5000"
CLIENT_ID = "kudos-tests"
CLIENT_SECRET = "kudos-tests-secret-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Provider:
    def __init__(self, issuer: str, users_file: Path) -> None:
        self.issuer = issuer
        self.users_file = users_file

    def set_users(self, users: dict[str, dict[str, Any]]) -> None:
        self.users_file.write_text(json.dumps(users))

    def app_settings(self, **overrides: object) -> dict[str, object]:
        return {
            "OIDC_ISSUER": self.issuer,
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_SCOPES": "openid email profile groups",
            "BASE_URL": KUDOS_URL,
            **overrides,
        }


@contextmanager
def running_provider(workdir: Path, redirect_bases: list[str] | None = None) -> Iterator[Provider]:
    node = shutil.which("node")
    if node is None or not (PROVIDER_DIR / "node_modules" / "oidc-provider").exists():
        raise RuntimeError(
            "The test OpenID provider is not installed: run `npm ci` in devtools/oidc-provider "
            "(scripts/test does it)."
        )
    bases = redirect_bases or [KUDOS_URL]
    port = free_port()
    users_file = workdir / "users.json"
    users_file.write_text("{}")
    config = workdir / "provider.json"
    config.write_text(
        json.dumps(
            {
                "port": port,
                "usersFile": str(users_file),
                "clients": [
                    {
                        "client_id": CLIENT_ID,
                        "client_secret": CLIENT_SECRET,
                        "redirect_uris": [f"{base}/auth/callback" for base in bases],
                        "post_logout_redirect_uris": [f"{base}/login" for base in bases],
                    }
                ],
            }
        )
    )
    log = (workdir / "provider.log").open("w")
    process = subprocess.Popen(
        [node, "server.mjs", str(config)], cwd=PROVIDER_DIR, stdout=log, stderr=subprocess.STDOUT
    )
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "the test OpenID provider did not start: "
                        + (workdir / "provider.log").read_text()
                    ) from None
                time.sleep(0.1)
        yield Provider(issuer, users_file)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


class ProviderBrowser:
    """A person's browser at the provider (its own cookies), handing each
    redirect that leaves the provider to Kudos' test client."""

    def __init__(self, kudos_client) -> None:  # noqa: ANN001
        self.kudos = kudos_client
        self.http = requests.Session()

    def follow(self, url: str, *, method: str = "GET", data: dict | None = None):  # noqa: ANN201
        """Follow redirects at the provider; stop at the first page, or at
        a redirect back to Kudos (returned as a Kudos path)."""
        while True:
            if url.startswith(KUDOS_URL):
                return url[len(KUDOS_URL) :]
            response = self.http.request(method, url, data=data, allow_redirects=False, timeout=10)
            if response.is_redirect:
                url = urljoin(url, response.headers["Location"])
                method, data = "GET", None
                continue
            return response

    def start(self, next_url: str = "") -> str:
        """Press "Sign in" in Kudos; return the provider URL it sends us to."""
        page = self.kudos.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        response = self.kudos.post("/login", data={"csrf_token": token, "next": next_url})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response.headers["Location"]

    def sign_in(self, login: str, next_url: str = ""):  # noqa: ANN201
        """The whole journey; returns Kudos' response to the callback."""
        login_page = self.follow(self.start(next_url))
        form = re.search(r'<form[^>]*action="([^"]+)"', login_page.text)
        assert form, login_page.text
        callback = self.follow(
            urljoin(login_page.url, form.group(1)),
            method="POST",
            data={"prompt": "login", "login": login, "password": "secret"},
        )
        assert isinstance(callback, str), f"provider did not send us back: {callback.text}"
        self.last_callback = callback
        return self.kudos.get(callback)

    def cancel(self):  # noqa: ANN201
        """Start signing in, then press the provider's "Cancel" link."""
        login_page = self.follow(self.start())
        abort = re.search(r'href="([^"]*/abort)"', login_page.text)
        assert abort, login_page.text
        callback = self.follow(urljoin(login_page.url, abort.group(1)))
        assert isinstance(callback, str), callback.text
        return self.kudos.get(callback)
