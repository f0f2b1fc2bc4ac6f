"""What the compose page tells the sender before and after sending: each
recipient's privacy wish once, the visibility choices those wishes override,
one wording for managers, the kudos left today, the 10-person picker, and an
"Undo" in the confirmation while the kudos can still be taken back."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from kudos.preferences.models import RecognitionPreference
from kudos.recognition.models import Kudos
from kudos.recognition.services import delete_kudos
from tests.test_compose import send

AUCKLAND = ZoneInfo("Pacific/Auckland")


@pytest.fixture
def wishes(session, make):
    """Ana wants team-only recognition, Ben private, Cy never said."""
    ana, ben, cy = (make.person(name=name) for name in ("Ana Reyes", "Ben Okafor", "Cy Park"))
    session.add_all(
        [
            RecognitionPreference(person=ana, audience="team"),
            RecognitionPreference(person=ben, audience="private"),
        ]
    )
    session.commit()
    return ana, ben, cy


def compose_with(browser, people, visibility="public") -> str:
    """The page as it comes back without JavaScript, with these people chosen."""
    response = browser.submit(
        "/kudos/new",
        data={
            "recipients": [str(person.id) for person in people],
            "action": "search",
            "q": "",
            "visibility": visibility,
        },
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def preview_of(browser, people, visibility="public") -> str:
    """The preview the page's script asks for as choices change."""
    ids = "&".join(f"recipients={person.id}" for person in people)
    return browser.get(f"/kudos/new/preview?{ids}&visibility={visibility}").get_data(as_text=True)


def choice(page: str, value: str) -> str:
    """The label around one visibility radio button."""
    found = re.search(
        rf'<label class="visibility-choice[^"]*" data-visibility-choice="{value}">.*?</label>',
        page,
        re.S,
    )
    assert found, value
    return found.group(0)


def overridden_note(label: str) -> str | None:
    """The visible "Overridden: …" text of a choice, if it shows one."""
    note = re.search(
        r'<span class="visibility-choice__overridden" data-overridden>(.*?)</span>', label
    )
    return unescape(note.group(1)) if note else None


# Each wish once, and the choices it overrides --------------------------------------


def test_each_recipients_privacy_wish_is_stated_once(browser, signed_in, wishes):
    ana, ben, _ = wishes

    for page in (compose_with(browser, wishes), preview_of(browser, wishes)):
        assert page.count("Ana prefers") == 1
        assert page.count("Ben prefers") == 1
        assert "so their choice wins" not in page
        # Who will see it is said once too, without the wishes again.
        assert (
            page.count("It will be visible only to you, Ana, Ben and Cy and their managers.") == 1
        )


def test_the_choices_the_wishes_override_are_marked_overridden(browser, signed_in, wishes):
    ana, ben, cy = wishes

    page = compose_with(browser, [ana, cy])
    everyone, team, just_them = (choice(page, value) for value in ("public", "team", "private"))
    assert "visibility-choice--overridden" in everyone
    assert overridden_note(everyone) == "Overridden: Ana asked for team-only recognition."
    assert 'name="visibility" value="public" checked' in everyone  # still the sender's choice
    assert "disabled" not in everyone  # marked, not taken away
    for label in (team, just_them):
        assert "visibility-choice--overridden" not in label
        assert overridden_note(label) is None
        assert "data-overridden hidden" in label  # the script fills it in when it applies

    page = compose_with(browser, [ana, ben], visibility="team")
    assert overridden_note(choice(page, "public")) == (
        "Overridden: Ben asked for private recognition; Ana asked for team-only recognition."
    )
    assert overridden_note(choice(page, "team")) == "Overridden: Ben asked for private recognition."
    assert overridden_note(choice(page, "private")) is None


def test_the_preview_tells_the_script_which_choices_are_overridden(browser, signed_in, wishes):
    ana, ben, cy = wishes

    page = preview_of(browser, [ana, ben])

    assert (
        'data-overridden-public="Overridden: Ben asked for private recognition; Ana asked' in page
    )
    assert 'data-overridden-team="Overridden: Ben asked for private recognition."' in page
    assert "data-overridden-private" not in page
    assert "data-overridden-" not in preview_of(browser, [cy])


def test_nothing_is_overridden_without_recipients_or_wishes(browser, signed_in, wishes):
    page = browser.get("/kudos/new").get_data(as_text=True)
    assert "visibility-choice--overridden" not in page
    assert "If someone you thank prefers more privacy, their choice wins." in page

    assert "visibility-choice--overridden" not in compose_with(browser, [wishes[2]])


def test_managers_are_named_one_way_on_the_compose_page(browser, signed_in, wishes):
    for page in (compose_with(browser, wishes), preview_of(browser, wishes)):
        text = re.sub(r"<[^>]+>", " ", page)
        mentions = re.findall(r"(\w+ \w+) managers?\b", text)
        assert mentions, "the page names managers"
        assert {phrase.split()[-1] for phrase in mentions} == {"their"}, mentions
        assert not re.search(r"\bmanager\b", text), "one wording: their managers"


# Kudos left today ----------------------------------------------------------------


@pytest.fixture
def app_overrides():
    return {"DAILY_KUDOS_LIMIT": 5, "TIMEZONE": "Pacific/Auckland"}


def at(monkeypatch, moment: datetime) -> None:
    monkeypatch.setattr("kudos.recognition.views.utcnow", lambda: moment)


def left_sentence(browser) -> str:
    page = browser.get("/kudos/new").get_data(as_text=True)
    return unescape(re.search(r'<p class="[^"]*" id="kudos-left">(.*?)</p>', page).group(1))


def test_the_page_says_how_many_kudos_are_left_today(
    browser, session, make, signed_in, monkeypatch
):
    """The day is the company's (Auckland's): a kudos sent the evening before
    does not count, one taken back today does."""
    now = datetime(2026, 3, 10, 9, 0, tzinfo=AUCKLAND).astimezone(UTC)
    at(monkeypatch, now)
    friend = make.person(name="Grace Hopper")
    make.kudos(signed_in, [friend], at=now - timedelta(hours=10))  # yesterday, 23:00 there
    assert left_sentence(browser) == "You can send 5 more kudos today (the daily limit is 5)."

    make.kudos(signed_in, [friend], at=now - timedelta(hours=1))
    taken_back = make.kudos(signed_in, [friend], at=now - timedelta(minutes=5))
    delete_kudos(session, signed_in, taken_back, now=now, zone=AUCKLAND)
    session.commit()

    assert left_sentence(browser) == "You can send 3 more kudos today (the daily limit is 5)."


def test_at_the_limit_the_page_says_so_before_send(browser, session, make, signed_in, monkeypatch):
    now = datetime(2026, 3, 10, 9, 0, tzinfo=AUCKLAND).astimezone(UTC)
    at(monkeypatch, now)
    friend = make.person(name="Grace Hopper")
    for minutes in range(5):
        make.kudos(signed_in, [friend], at=now - timedelta(minutes=minutes))

    assert left_sentence(browser) == (
        "You have sent 5 kudos today, the daily limit. You can send more tomorrow."
    )


# Ten people at most, said before Send ------------------------------------------------


def test_a_full_picker_says_so_and_searches_no_further(browser, session, make, signed_in):
    ten = [make.person(name=f"Person Number{n}") for n in range(10)]
    make.person(name="Eleventh Person")

    response = browser.submit(
        "/kudos/new",
        data={"recipients": [str(p.id) for p in ten], "action": "search", "q": "Eleventh"},
    )

    page = response.get_data(as_text=True)
    assert "That's 10 people, the most one kudos can thank." in unescape(page)
    assert "Eleventh Person" not in page  # no match offered to tick
    assert page.count('type="hidden" name="recipients"') == 10


def test_ticking_past_ten_is_said_before_send(browser, session, make, signed_in):
    eleven = [make.person(name=f"Person Number{n}") for n in range(11)]

    response = browser.submit(
        "/kudos/new",
        data={"recipients": [str(p.id) for p in eleven], "action": "search", "q": "nobody"},
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Choose at most 10 people: remove 1." in page
    assert 'id="recipients-error"' in page
    assert session.scalar(select(func.count()).select_from(Kudos)) == 0


# The confirmation's Undo ------------------------------------------------------------


def undo_form(page: str) -> str | None:
    found = re.search(r'<div class="flash flash--success flash--undo">.*?</div>', page, re.S)
    return found.group(0) if found else None


def test_the_confirmation_has_an_undo_that_takes_the_kudos_back(browser, session, make, signed_in):
    grace = make.person(name="Grace Hopper")
    assert send(browser, session, [grace], message="Thanks for the compiler").status_code == 302
    kudos = session.scalars(select(Kudos)).one()

    feed = browser.get("/").get_data(as_text=True)
    form = undo_form(feed)
    assert form is not None
    assert "Your kudos to Grace is on its way." in form
    assert f'action="/kudos/{kudos.id}/delete"' in form
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    assert ">Undo<" in form

    answer = browser.client.post(f"/kudos/{kudos.id}/delete", data={"csrf_token": token})

    assert answer.status_code == 302
    assert session.scalar(select(func.count()).select_from(Kudos)) == 0
    assert "Your kudos was deleted." in browser.get("/").get_data(as_text=True)


def test_the_undo_needs_the_csrf_token(browser, session, make, signed_in):
    grace = make.person(name="Grace Hopper")
    send(browser, session, [grace])
    kudos = session.scalars(select(Kudos)).one()
    assert undo_form(browser.get("/").get_data(as_text=True))

    assert browser.client.post(f"/kudos/{kudos.id}/delete").status_code == 400
    assert session.scalar(select(func.count()).select_from(Kudos)) == 1


def test_no_undo_once_the_kudos_can_no_longer_be_taken_back(
    browser, session, make, signed_in, monkeypatch
):
    """Sent twice with one form (a replay), the second time after the 15
    minutes: the confirmation has no Undo, which would only be refused."""
    grace = make.person(name="Grace Hopper")
    page = browser.get("/kudos/new").get_data(as_text=True)
    key = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', page).group(1)
    send(browser, session, [grace], idempotency_key=key)
    browser.get("/")  # the first confirmation, with its Undo

    at(monkeypatch, datetime.now(UTC) + timedelta(minutes=16))
    assert send(browser, session, [grace], idempotency_key=key).status_code == 302

    feed = browser.get("/").get_data(as_text=True)
    assert "Your kudos to Grace is on its way." in feed
    assert undo_form(feed) is None
    assert ">Undo<" not in feed


def test_the_compose_page_is_never_stored(browser, signed_in):
    """Back after sending loads the page again (a new key), and the page's
    script puts the chosen people back beside the restored message."""
    assert browser.get("/kudos/new").headers["Cache-Control"] == "no-store"
