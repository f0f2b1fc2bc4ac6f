"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the e-mail tests."""

from __future__ import annotations

import email
import email.policy

from aiosmtpd.controller import Controller

from tests.oidc_provider import free_port


class Inbox:
    """Collects every message the SMTP server accepts."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def mail_settings(server: SmtpServer) -> dict[str, str]:
    """App settings that send Kudos' e-mail to ``server``."""
    return {
        "SMTP_URL": server.url,
        "MAIL_FROM": "Kudos <kudos@acme.example.com>",
        "BASE_URL": "https://kudos.acme.example.com",
    }
