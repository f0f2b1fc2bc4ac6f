"""What the recognition package announces to the packages above it.

Recognition sits below the integrations (STYLE.md, "Layering"): a kudos
sent, taken back or hidden, applauded, or made more private by a
recipient's new wishes must reach the Slack app, which recognition may not
import. The services announce these here; listeners run in the same
transaction, after the change is flushed, and only flush. ``kudos.slack.
announce`` listens (``create_app`` imports it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, ParamSpec, TypeVar

Params = ParamSpec("Params")
Result = TypeVar("Result")


class Hook(Generic[Params, Result]):
    """One kind of news, and the handlers that listen to it."""

    def __init__(self) -> None:
        self.handlers: list[Callable[Params, Result]] = []

    def listen(self, handler: Callable[Params, Result]) -> Callable[Params, Result]:
        """Register ``handler`` (once, however often its module is imported)."""
        if handler not in self.handlers:
            self.handlers.append(handler)
        return handler

    def announce(self, *args: Params.args, **kwargs: Params.kwargs) -> list[Result]:
        return [handler(*args, **kwargs) for handler in self.handlers]


# (session, kudos): a new kudos, with its recipients and values loaded.
kudos_sent: Hook[..., None] = Hook()
# (rules): a send was refused; the rules it broke (field names, or a code
# such as daily_limit).
kudos_refused: Hook[..., None] = Hook()
# (session, kudos): hidden or deleted. Handlers return details for the audit entry.
kudos_withdrawn: Hook[..., dict[str, Any]] = Hook()
# (session, kudos): someone applauded, or took their applause back.
applause_changed: Hook[..., None] = Hook()
# (session, recipient_id): a recipient's preferences changed; their kudos' visibility follows.
audience_changed: Hook[..., None] = Hook()
