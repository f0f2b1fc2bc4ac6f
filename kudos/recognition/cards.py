"""Kudos cards: rendered once for every viewer, put together for each request.

A feed page asks the database one thing: which kudos the viewer may see
now, in order, each with what names its card's content (id and revision,
and the directory's generation, see ``card_versions``) and whether the
viewer applauded it (``feed.card_refs``). The cards themselves are kept per
process, in a ``PageCache`` of their own: by kudos id, at its revision,
under the directory's generation (a rename retires them all). The cards not
kept are loaded together, rendered and kept.

What depends on the viewer or the request is never in a kept card: it is
rendered with marks where the CSRF token, the reaction form's return
address, the applause state and the relative time go, and each request
fills them in. Which cards a viewer gets comes from the visibility query
every time; the cache only ever answers "what does this kudos look like".
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from flask import Flask, current_app
from markupsafe import Markup, escape
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from kudos import timeutil
from kudos.cache import DEFAULT_MAX_BYTES, MISSING, PageCache
from kudos.people.models import Person
from kudos.recognition import feed
from kudos.recognition.models import Kudos
from kudos.recognition.services import CANNOT_APPLAUD, own_part

EXTENSION = "kudos.cards"
# Kept cards take at most this share of KUDOS_CACHE_MAX_MB, beside the page cache.
SHARE = 0.25

# Where each request's parts go in a kept card. Random for each process, so
# no message or name can spell one.
_NONCE = secrets.token_hex(8)
MARKS = {
    name: Markup(f"\x00{_NONCE}:{name}\x00")  # noqa: S704 - nothing from outside
    for name in ("csrf", "here", "pressed", "label", "time", "blocked", "invite", "why")
}
_MARK = re.compile(f"\x00{_NONCE}:(\\w+)\x00")

# A card as kept: its HTML cut at the marks, text and mark names by turns.
Pieces = tuple[str, ...]


@dataclass(frozen=True)
class Viewing:
    """What a card shows that belongs to this request."""

    csrf_token: str
    here: str  # the page's address, where the reaction form comes back to
    now: datetime


@dataclass(frozen=True)
class CardPage:
    cards: list[Markup]
    older: feed.Cursor | None


def init_app(app: Flask) -> None:
    budget = app.config.get("CACHE_MAX_BYTES", DEFAULT_MAX_BYTES)
    app.extensions[EXTENSION] = PageCache(max(1, int(budget * SHARE)))


def render(kudos: Kudos) -> Pieces:
    """The card of ``kudos`` (loaded with ``feed.CARD_LOADING``), with marks."""
    macro = current_app.jinja_env.get_template("_macros/kudos.html").module.kudos_card
    return tuple(_MARK.split(str(macro(kudos, MARKS))))


def fill(
    pieces: Pieces,
    viewing: Viewing,
    *,
    kudos_id: int,
    created_at: datetime,
    reacted: bool,
    own: str | None = None,
) -> Markup:
    """``own``: ``sent`` or ``received`` when it is the viewer's own kudos,
    which they may not applaud (but may take back applause they gave before
    that rule)."""
    why = CANNOT_APPLAUD[own] if own is not None and not reacted else None
    why_id = f"kudos-{kudos_id}-why"
    parts = {
        "csrf": escape(viewing.csrf_token),
        "here": escape(viewing.here),
        "pressed": "true" if reacted else "false",
        "label": "Remove your applause" if reacted else "Applaud",
        "time": escape(timeutil.relative(created_at, viewing.now)),
        "blocked": Markup(f' disabled aria-describedby="{why_id}"') if why else "",  # noqa: S704
        "invite": escape(why or "Be the first to applaud"),
        "why": Markup('<span class="reaction-why" id="{}">{}</span>').format(why_id, why)
        if why
        else "",
    }
    html = list(pieces)
    html[1::2] = [parts[name] for name in pieces[1::2]]
    return Markup("".join(html))  # noqa: S704 - rendered by Jinja, every part escaped


def card(kudos: Kudos, viewer: Person, viewing: Viewing) -> Markup:
    """One card rendered afresh (the kudos's own page)."""
    reacted = any(reaction.person_id == viewer.id for reaction in kudos.reactions)
    return fill(
        render(kudos),
        viewing,
        kudos_id=kudos.id,
        created_at=kudos.created_at,
        reacted=reacted,
        own=own_part(viewer, kudos),
    )


def feed_page(
    session: Session,
    viewer: Person,
    viewing: Viewing,
    *,
    where: ColumnElement[bool] | None = None,
    before: feed.Cursor | None = None,
) -> CardPage:
    """A feed page's cards for ``viewer``: one statement when every card is
    kept, five when some are not, whatever the page's size."""
    refs = feed.card_refs(session, viewer, where=where, before=before)
    kept: PageCache = current_app.extensions[EXTENSION]
    generation = refs.generation
    pieces: dict[int, Pieces] = {}
    if generation is not None:
        for ref in refs.items:
            found = kept.lookup(generation, ref.kudos_id, ref.revision)
            if found is not MISSING:
                pieces[ref.kudos_id] = found
    missing = [ref.kudos_id for ref in refs.items if ref.kudos_id not in pieces]
    if missing:
        for kudos in feed.with_details(session, missing):
            pieces[kudos.id] = render(kudos)
            if generation is not None:
                # At the revision loaded with the content, which may be newer
                # than the page's: never a card older than its key.
                kept.store(generation, kudos.id, pieces[kudos.id], kudos.revision)
    cards = [
        fill(
            pieces[ref.kudos_id],
            viewing,
            kudos_id=ref.kudos_id,
            created_at=ref.created_at,
            reacted=ref.reacted,
            own=ref.own,
        )
        for ref in refs.items
        if ref.kudos_id in pieces  # not deleted since the first statement
    ]
    return CardPage(cards, refs.older)
