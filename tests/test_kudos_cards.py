"""Kudos cards are rendered once for every viewer and kept until something
they show changes; each request fills in its own parts. The HTML is what
the pages showed before cards were kept, every change shows at once for
every viewer, and a kept card never reaches someone who may not see it."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import render_template_string
from flask_login import login_user
from sqlalchemy import select, update

from kudos.db import utcnow
from kudos.extensions import db
from kudos.people.directory import import_directory
from kudos.people.models import Person
from kudos.recognition import cards, feed
from kudos.recognition.card_versions import DirectoryGeneration
from kudos.recognition.models import Kudos, Value
from kudos.recognition.services import hide_kudos, restore_kudos
from tests.conftest import sign_in
from tests.statements import statements

UTC = ZoneInfo("UTC")

# The card as the pages rendered it before cards were kept, for whoever is signed in.
BEFORE = (Path(__file__).parent / "data" / "kudos_card_before.html").read_text()

CSRF_FIELD = re.compile(r'(name="csrf_token" value=")[^"]*(")')


def without_csrf(html: str) -> str:
    return CSRF_FIELD.sub(r"\1…\2", html)


@pytest.fixture
def org(make):
    platform, sales = make.team("Platform"), make.team("Sales")
    boss = make.person(name="Bo Boss", team=platform)
    return {
        "sender": make.person(name="Sam Sender", team=sales),
        "recipient": make.person(name="Rita Recipient", team=platform, manager=boss),
        "teammate": make.person(name="Tia Teammate", team=platform),
        "boss": boss,
        "stranger": make.person(name="Xan Stranger", team=sales),
        "admin": make.person(name="Ada Admin", admin_granted=True),
    }


@pytest.fixture
def other(app):
    """A second browser on the same app, and so the same kept cards."""
    return app.test_client()


def card_of(page: str, kudos_id: int) -> str | None:
    """The card of one kudos on a page, if it is there."""
    match = re.search(
        rf'<article class="kudos-card[^"]*" id="kudos-{kudos_id}".*?</article>', page, re.S
    )
    return match.group(0) if match else None


def card_on(client, url: str, kudos_id: int) -> str | None:
    response = client.get(url)
    assert response.status_code == 200
    return card_of(response.get_data(as_text=True), kudos_id)


def react(client, url: str, kudos_id: int):  # noqa: ANN201
    """Applaud (or take it back) with the card's own form, as a browser would."""
    card = card_on(client, url, kudos_id)
    fields = dict(re.findall(r'name="(csrf_token|next)" value="([^"]*)"', card))
    return client.post(
        f"/kudos/{kudos_id}/react", data={name: unescape(value) for name, value in fields.items()}
    )


def title_of(card: str) -> str:
    return unescape(re.search(r'class="reaction-button"[^>]*title="([^"]*)"', card, re.S).group(1))


def pressed(card: str) -> bool:
    return re.search(r'aria-pressed="(true|false)"', card).group(1) == "true"


# The HTML is what it was --------------------------------------------------------


@pytest.fixture
def variety(session, make, org):
    """Cards of every shape: one or several recipients and values, a badge,
    applause or none, a message with markup and line breaks."""
    now = utcnow()
    plain = make.kudos(org["sender"], [org["recipient"]], at=now - timedelta(days=3))
    team = make.kudos(
        org["sender"],
        [org["recipient"], org["teammate"], org["boss"]],
        message='Fixed <b>"prod"</b> & stayed late\nThank you!',
        values=["responsive", "caring", "ownership"],
        visibility="team",
        at=now - timedelta(hours=5),
    )
    private = make.kudos(
        org["boss"], [org["teammate"]], visibility="private", at=now - timedelta(minutes=20)
    )
    return plain, team, private


@pytest.mark.parametrize("url", ["/", "/teams/platform?utm_source=x%22%3C&y=1", "/values/caring"])
def test_each_viewer_gets_the_html_the_pages_showed_before(app, session, org, variety, url):
    plain, team, _ = variety
    clients = {}
    for name in ("teammate", "boss"):
        clients[name] = app.test_client()
        sign_in(clients[name], org[name])
    assert react(clients["teammate"], "/", team.id).status_code == 302
    assert react(clients["boss"], "/", plain.id).status_code == 302

    for _round in range(2):  # rendered, then kept
        for name, client in clients.items():
            page = client.get(url).get_data(as_text=True)
            with app.test_request_context(url):
                viewer = db.session.get(Person, org[name].id)
                login_user(viewer)
                where = {
                    "/": None,
                    "/values/caring": feed.with_value(make_value_id(session, "caring")),
                }.get(url, feed.for_team(viewer.team_id))
                before = render_template_string(
                    BEFORE, items=feed.feed_page(db.session, viewer, where=where).items
                )
            assert before.count("<article") >= 1
            assert without_csrf(before.strip()) in without_csrf(page), name


def make_value_id(session, slug: str) -> int:
    return session.scalar(select(Value.id).where(Value.slug == slug))


def test_the_kudos_page_shows_the_card_as_before(app, client, org, variety):
    _, team, _ = variety
    sign_in(client, org["teammate"])
    page = client.get(f"/kudos/{team.id}?from=feed").get_data(as_text=True)
    with app.test_request_context(f"/kudos/{team.id}?from=feed"):
        login_user(db.session.get(Person, org["teammate"].id))
        items = [feed.kudos_with_details(db.session, team.id)]
        before = render_template_string(BEFORE, items=items)
    assert without_csrf(before.strip()) in without_csrf(page)


# The viewer's parts --------------------------------------------------------------


def test_two_viewers_of_one_kept_card_each_get_their_own_parts(app, client, other, make, org):
    kudos = make.kudos(org["sender"], [org["recipient"]])
    sign_in(client, org["teammate"])
    sign_in(other, org["stranger"])
    assert react(client, "/", kudos.id).status_code == 302
    kept = app.extensions[cards.EXTENSION]

    mine = card_on(client, "/teams/platform?page=a", kudos.id)
    entries = len(kept)
    theirs = card_on(other, "/", kudos.id)

    assert len(kept) == entries  # the same card for both
    assert pressed(mine)
    assert "Remove your applause (1 so far)" in mine
    assert not pressed(theirs)
    assert "Applaud (1 so far)" in theirs
    assert f'name="next" value="/teams/platform?page=a#kudos-{kudos.id}"' in mine
    assert f'name="next" value="/#kudos-{kudos.id}"' in theirs

    # Each token works for its own viewer: the stranger's applause counts.
    answer = react(other, "/", kudos.id)
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"/#kudos-{kudos.id}"
    assert "Remove your applause (2 so far)" in card_on(other, "/", kudos.id)
    assert "Remove your applause (2 so far)" in card_on(client, "/", kudos.id)


def test_the_time_is_told_afresh_for_every_request(app, client, session, make, org, monkeypatch):
    kudos = make.kudos(org["sender"], [org["recipient"]], at=utcnow() - timedelta(minutes=5))
    sign_in(client, org["teammate"])
    assert ">5 minutes ago</time>" in card_on(client, "/", kudos.id)

    later = utcnow() + timedelta(hours=2)
    monkeypatch.setattr("kudos.recognition.views.utcnow", lambda: later)
    assert ">2 hours ago</time>" in card_on(client, "/", kudos.id)


# Every change shows at once, for every viewer -------------------------------------


@pytest.fixture
def two_viewers(client, other, org):
    sign_in(client, org["teammate"])
    sign_in(other, org["stranger"])
    return client, other


def both(two_viewers, kudos_id: int, url: str = "/") -> list[str | None]:
    return [card_on(viewer, url, kudos_id) for viewer in two_viewers]


def test_applause_by_someone_else_shows_at_once(client, make, org, two_viewers):
    kudos = make.kudos(org["sender"], [org["recipient"]])
    assert all("Be the first to applaud" in card for card in both(two_viewers, kudos.id))
    applauder = client.application.test_client()
    sign_in(applauder, org["boss"])

    react(applauder, "/", kudos.id)

    for card in both(two_viewers, kudos.id):
        assert title_of(card) == "Bo Boss"
        assert "Applaud (1 so far)" in card

    react(applauder, "/", kudos.id)

    for card in both(two_viewers, kudos.id):
        assert title_of(card) == "Be the first to applaud"
        assert '<span class="visually-hidden">Applaud</span>' in card  # no "(0 so far)"
        assert "<span data-reaction-count hidden></span>" in card


def test_a_hidden_card_leaves_and_a_restored_one_comes_back(session, make, org, two_viewers):
    kudos = make.kudos(org["sender"], [org["recipient"]])
    assert all(both(two_viewers, kudos.id))
    revisions = [kudos.revision]

    hide_kudos(session, org["admin"], kudos, "Names a patient", now=utcnow(), zone=UTC)
    session.commit()
    revisions.append(kudos.revision)
    assert both(two_viewers, kudos.id) == [None, None]

    restore_kudos(session, org["admin"], kudos, zone=UTC)
    session.commit()
    revisions.append(kudos.revision)
    assert all(both(two_viewers, kudos.id))
    assert len(set(revisions)) == 3  # each changed what the card is


def test_through_the_admin_pages_too(client, make, org, two_viewers):
    kudos = make.kudos(org["sender"], [org["recipient"]])
    assert all(both(two_viewers, kudos.id))
    admin = client.application.test_client()
    sign_in(admin, org["admin"])
    token = re.search(r'name="csrf_token" value="([^"]+)"', admin.get("/").get_data(as_text=True))

    answer = admin.post(
        f"/admin/kudos/{kudos.id}/hide",
        data={"csrf_token": token.group(1), "reason": "Names a patient"},
    )
    assert answer.status_code == 302
    assert both(two_viewers, kudos.id) == [None, None]

    answer = admin.post(f"/admin/kudos/{kudos.id}/restore", data={"csrf_token": token.group(1)})
    assert answer.status_code == 302
    assert all(both(two_viewers, kudos.id))


def test_a_narrowing_recipient_takes_the_card_from_others_at_once(
    app, client, other, browser, make, org
):
    kudos = make.kudos(org["sender"], [org["recipient"]])
    sign_in(other, org["stranger"])
    sender = app.test_client()
    sign_in(sender, org["sender"])
    assert card_on(other, "/", kudos.id) is not None
    assert "Team only" not in card_on(sender, "/", kudos.id)

    sign_in(client, org["recipient"])
    answer = browser.submit("/settings/recognition", data={"audience": "team", "style": "low_key"})
    assert answer.status_code == 302

    assert card_on(other, "/", kudos.id) is None  # kept, but no longer theirs to see
    assert card_on(other, "/values/responsive", kudos.id) is None
    assert 'class="visibility"' in card_on(sender, "/", kudos.id)
    assert "Team only" in card_on(sender, "/", kudos.id)


def test_a_sender_renamed_by_the_directory_import_shows_at_once(session, make, org, two_viewers):
    kudos = make.kudos(org["sender"], [org["recipient"]])
    assert all(">Sam Sender</a>" in card for card in both(two_viewers, kudos.id))

    import_directory(
        session,
        b"email,name,title,department,team,manager_email\n"
        + f"{org['sender'].email},Samantha Quist,,,Sales,\n".encode(),
    )
    session.commit()

    for card in both(two_viewers, kudos.id):
        assert ">Samantha Quist</a>" in card
        assert "Sam Sender" not in card
        assert 'data-hue="{}">SQ</span>'.format(org["sender"].id % 8) in card


def test_renamed_recipients_and_applauders_show_at_once(session, make, org, two_viewers):
    kudos = make.kudos(org["sender"], [org["recipient"]])
    react(two_viewers[0], "/", kudos.id)
    assert all("Rita Recipient" in card for card in both(two_viewers, kudos.id))

    org["recipient"].name = "Rita Ng"  # as a sign-in's claims or an admin would
    org["teammate"].name = "Tia Tran"
    session.commit()

    for card in both(two_viewers, kudos.id):
        assert ">Rita Ng</a>" in card
        assert title_of(card) == "Tia Tran"


@pytest.mark.parametrize("how", ["orm", "bulk"])
def test_a_renamed_value_shows_at_once(session, make, org, two_viewers, how):
    kudos = make.kudos(org["sender"], [org["recipient"]], values=["responsive"])
    assert all("Responsive</a>" in card for card in both(two_viewers, kudos.id))

    if how == "orm":
        make.value("responsive").name = "Quick to answer"
    else:
        session.execute(
            update(Value).where(Value.slug == "responsive").values(name="Quick to answer")
        )
    session.commit()

    for card in both(two_viewers, kudos.id):
        assert "Quick to answer</a>" in card
        assert "Responsive" not in card


def test_other_changes_to_people_keep_the_cards(app, session, make, org, two_viewers):
    kudos = make.kudos(org["sender"], [org["recipient"]])
    both(two_viewers, kudos.id)
    generation = session.scalar(select(DirectoryGeneration.token))

    org["sender"].title = "Head of Sales"
    session.commit()
    import_directory(  # the same names again, another manager
        session,
        b"email,name,title,department,team,manager_email\n"
        + f"{org['boss'].email},Bo Boss,,,Platform,\n".encode()
        + f"{org['sender'].email},Sam Sender,,,Sales,{org['boss'].email}\n".encode(),
    )
    session.commit()

    assert session.scalar(select(DirectoryGeneration.token)) == generation


def test_sending_and_applauding_write_no_shared_row(app, client, session, make, org):
    generation = session.scalar(select(DirectoryGeneration.token))
    first = make.kudos(org["sender"], [org["recipient"]])
    second = make.kudos(org["boss"], [org["teammate"]])
    revisions = {kudos.id: kudos.revision for kudos in (first, second)}
    sign_in(client, org["stranger"])
    react(client, "/", first.id)

    assert session.scalar(select(DirectoryGeneration.token)) == generation
    session.expire_all()
    assert session.get(Kudos, second.id).revision == revisions[second.id]
    assert session.get(Kudos, first.id).revision != revisions[first.id]


# Privacy ------------------------------------------------------------------------------


def test_a_kept_card_never_reaches_a_viewer_outside_its_audience(app, client, other, make, org):
    kudos = make.kudos(org["sender"], [org["recipient"]], visibility="private")
    sign_in(client, org["boss"])  # the recipient's manager: in the audience
    sign_in(other, org["teammate"])
    assert card_on(client, "/", kudos.id) is not None
    assert len(app.extensions[cards.EXTENSION]) == 1

    for url in ("/", "/teams/platform", f"/people/{org['recipient'].id}", "/values/responsive"):
        assert card_on(other, url, kudos.id) is None, url


# What a page costs ---------------------------------------------------------------------


def page_statements(client, connection, url: str = "/") -> list[str]:
    client.get(url)  # every card rendered and kept
    with statements(connection) as seen:
        assert client.get(url).status_code == 200
    return seen


# The signed-in person's token read (``kudos/cache.py``) and the page's
# one statement: which kudos, their revisions and the viewer's applause.
KEPT_PAGE_STATEMENTS = 2


def test_a_page_of_kept_cards_costs_the_same_statements_whatever_its_size(
    client, connection, make, org, monkeypatch
):
    for number in range(25):
        make.kudos(org["sender"], [org["recipient"]], message=f"Thanks number {number}")
    sign_in(client, org["stranger"])

    full = page_statements(client, connection)
    monkeypatch.setattr(feed, "PAGE_SIZE", 5)
    small = page_statements(client, connection)

    assert client.get("/").get_data(as_text=True).count("<article") == 5
    assert len(full) == len(small) == KEPT_PAGE_STATEMENTS, full


def test_cards_not_kept_are_loaded_together(client, connection, make, org, monkeypatch):
    for number in range(25):
        make.kudos(org["sender"], [org["recipient"], org["boss"]], message=f"Thanks {number}")
    sign_in(client, org["stranger"])
    client.get(f"/people/{org['stranger'].id}")  # signed in, nothing kept yet

    with statements(connection) as full:
        client.get("/")
    client.application.extensions[cards.EXTENSION] = cards.PageCache(1_000_000)
    monkeypatch.setattr(feed, "PAGE_SIZE", 5)
    with statements(connection) as small:
        client.get("/")

    # The page, then the kudos with their senders, recipients, values and applause.
    assert len(full) == len(small) == KEPT_PAGE_STATEMENTS + 4, full


def test_kept_cards_have_their_own_share_of_the_cache_size(app):
    kept = app.extensions[cards.EXTENSION]
    assert kept.max_bytes == app.config["CACHE_MAX_BYTES"] // 4
